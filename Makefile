# Two entry points for a fresh machine; each makes its own virtual environment.
#   make reproduce   install, then run the three notebooks (full data if in place, else the sample)
#   make test        install, then run the tests
PYTHON ?= python3
VENV ?= .venv
STAMP = $(VENV)/.installed

.PHONY: reproduce test test-fast sample lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/python -m scripts.reproduce

test: $(STAMP)
	$(VENV)/bin/pytest

# For development: everything but the tests that train or run the notebooks.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts

sample: $(STAMP)
	$(VENV)/bin/python scripts/make_sample.py --source ../shared/fer2013/images.zip

clean:
	rm -rf $(VENV) outputs
