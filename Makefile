# Two entry points for a fresh machine; each makes its own virtual environment.
#   make reproduce   install, then run the three notebooks (full data if in place, else the sample)
#   make test        install, then run the tests, the install check and the dependency floors among them
PYTHON ?= python3
VENV ?= .venv
STAMP = $(VENV)/.installed

.PHONY: reproduce test test-fast install-test sample lint floors demo-screenshot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[train,notebooks,dev,demo]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/python -m scripts.reproduce

# Everything CI runs: the tests, among them the wheel in fresh environments (tests/test_install.py) and the
# lowest allowed dependencies (tests/test_floors.py); --dist loadfile keeps each file on one worker, so those two
# can run side by side.
test: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadfile

# For development, after every change: everything but the tests that train, run the notebooks, install into fresh
# environments or need the full data.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not slow and not real_data" -n 2 --dist loadfile

# The wheel built, installed into fresh venvs outside the checkout, and used from another folder.
install-test: $(STAMP)
	$(VENV)/bin/pytest tests/test_install.py

# The dependency floors, tested: fresh venvs with every dependency at the lowest version pyproject.toml
# allows, used from outside the checkout (a few minutes).
floors: $(STAMP)
	$(VENV)/bin/pytest tests/test_floors.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts

# The README's screenshot of fer demo, taken by the browser test (headless Chromium: apt-get install chromium
# chromium-driver).
demo-screenshot: $(STAMP)
	FER_DEMO_SCREENSHOT=docs/demo.png $(VENV)/bin/pytest tests/test_demo_browser.py

sample: $(STAMP)
	$(VENV)/bin/python scripts/make_sample.py --source ../shared/fer2013/images.zip

clean:
	rm -rf $(VENV) outputs
