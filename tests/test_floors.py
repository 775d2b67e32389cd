"""The dependency floors, tested: fer installed into fresh virtual environments with every dependency at the lowest
version pyproject.toml allows, then used from a folder outside the checkout (a few minutes). The pins are read from
pyproject.toml itself, so they cannot disagree with it; a floor that is not a release with a wheel for this Python,
cannot be installed together with the others, or does not work fails the test."""

import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT, SAMPLE_DATA_DIR, checked_output
from tests.test_demo import first_line, free_port

pytestmark = pytest.mark.slow

SMILING = REPO_ROOT / "docs" / "astronaut.jpg"
FLOOR_OPERATORS = {">=", "~=", "==", "==="}
DEMO_CLIENT = """
import sys
from gradio_client import Client, handle_file

client = Client(sys.argv[1], verbose=False, download_files=False)
print(client.predict(handle_file(sys.argv[2]), "shipped", api_name="/photo")[3])
"""
WRITE_CLIP = """
import sys
import cv2

frame = cv2.imread(sys.argv[1])
writer = cv2.VideoWriter("clip.avi", cv2.VideoWriter_fourcc(*"MJPG"), 5, (frame.shape[1], frame.shape[0]))
assert writer.isOpened(), "OpenCV cannot write an MJPG video"
for _ in range(6):
    writer.write(frame)
writer.release()
"""
# statsmodels.api loads its compiled modules, which must work with this numpy.
HEATMAP_AND_MCNEMAR = """
import json
import sys
import statsmodels.api
from statsmodels.stats.contingency_tables import mcnemar
from fer.plots import plot_confusion_matrix

plot_confusion_matrix(json.loads(sys.argv[1]), "confusion.png")
print(mcnemar([[10, 2], [9, 4]], exact=True).pvalue)
"""


def floor_pins(*extras: str) -> list[str]:
    """`name==X [; marker]` for each dependency of the base install and the extras, X its floor in pyproject.toml."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [line for extra in extras for line in project["optional-dependencies"][extra]]
    pins, unbounded = [], []
    for requirement in map(Requirement, lines):
        floor = next((spec.version for spec in requirement.specifier if spec.operator in FLOOR_OPERATORS), None)
        if floor is None:
            unbounded.append(str(requirement))
        else:
            pins.append(f"{requirement.name}=={floor}" + (f" ; {requirement.marker}" if requirement.marker else ""))
    if unbounded:
        raise ValueError(
            f"pyproject.toml: no floor (>=) in {', '.join(unbounded)}: every dependency needs a tested floor"
        )
    return pins


def install_at_floors(fresh_venv: Callable[[Path], Path], folder: Path, source: Path, *extras: str) -> Path:
    """bin/ of a fresh environment in folder with fer from source and the extras, every dependency at its floor."""
    constraints = folder / "floors.txt"
    constraints.write_text("\n".join(floor_pins(*extras)) + "\n")
    # Binaries only for the pinned packages (all the extras but dev): a floor must have a wheel for this Python.
    pinned = ",".join(sorted({pin.split("==")[0] for pin in floor_pins("train", "notebooks", "demo")}))
    bin_folder = fresh_venv(folder / "venv")
    target = f"{source}[{','.join(extras)}]" if extras else str(source)
    checked_output(
        bin_folder / "pip", "install", "--quiet", f"--only-binary={pinned}", "-c", constraints, target, cwd=folder
    )
    return bin_folder


@pytest.fixture(scope="module")
def base(fresh_venv, checkout_copy, tmp_path_factory) -> Path:
    return install_at_floors(fresh_venv, tmp_path_factory.mktemp("base"), checkout_copy)


@pytest.fixture(scope="module")
def demo(fresh_venv, checkout_copy, tmp_path_factory) -> Path:
    return install_at_floors(fresh_venv, tmp_path_factory.mktemp("demo"), checkout_copy, "demo")


@pytest.fixture(scope="module")
def full(fresh_venv, checkout_copy, tmp_path_factory) -> Path:
    """bin/ of the environment with the train and notebooks extras."""
    return install_at_floors(fresh_venv, tmp_path_factory.mktemp("full"), checkout_copy, "train", "notebooks")


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outside")


@pytest.fixture(scope="module")
def full_env(full, tmp_path_factory) -> dict:
    """The environment for the full install: headless plots, Jupyter's kernels from that install, and a data cache of
    its own, so that the CSV is parsed at the floors (module fixtures come before the autouse isolated_cache)."""
    jupyter = {"JUPYTER_PATH": str(full.parent / "share" / "jupyter"), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    cache = {"FER_CACHE_DIR": str(tmp_path_factory.mktemp("floors_cache"))}
    return {**os.environ, "MPLBACKEND": "Agg", **jupyter, **cache}


@pytest.fixture(scope="module")
def scores(full, outside, full_env) -> dict:
    """fer evaluate on the sample's PrivateTest, with bootstrap intervals (scipy's rng argument)."""
    sample = SAMPLE_DATA_DIR / "fer2013.csv"
    printed = checked_output(
        full / "fer", "evaluate", "--data", sample, "--split", "PrivateTest", "--intervals", cwd=outside, env=full_env
    )
    return json.loads(printed)["splits"]["PrivateTest"]


def test_the_base_install_at_its_floors_finds_the_astronaut_happy(base, outside):
    printed = checked_output(base / "fer", "predict", SMILING, cwd=outside)
    assert re.search(r"\bhappy\b", printed), f"fer predict on the astronaut printed:\n{printed}"


def test_fer_demo_at_its_floors_answers_a_photo_and_stops_cleanly(demo, outside, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [demo / "fer", "demo", "--port", str(port)],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
        cwd=outside,
    )
    try:
        started = first_line(server)
        summary = checked_output(demo / "python", "-c", DEMO_CLIENT, f"http://127.0.0.1:{port}/", SMILING, cwd=outside)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert summary.startswith("1 face: #1 happy"), f"fer demo ({started.strip()}) answered the astronaut: {summary}"
    assert server.returncode == 0, f"fer demo exited with {server.returncode} when asked to stop"
    assert not os.listdir(tmp_path), f"fer demo left files behind: {os.listdir(tmp_path)}"


def test_the_full_install_at_its_floors_loads_the_pretrained_model(full, outside, full_env):
    checked_output(full / "fer", "--version", cwd=outside, env=full_env)
    code = "import fer; print(fer.load_pretrained().output_shape)"
    shape = checked_output(full / "python", "-c", code, cwd=outside, env=full_env)
    assert "(None, 7)" in shape, f"the pretrained model's output shape is {shape.strip()}, not (None, 7)"


def test_the_full_install_at_its_floors_finds_the_astronaut_happy(full, outside, full_env):
    printed = checked_output(full / "fer", "predict", SMILING, cwd=outside, env=full_env)
    assert re.search(r"\bhappy\b", printed), f"fer predict on the astronaut printed:\n{printed}"


def test_the_full_install_at_its_floors_scores_with_intervals(scores):
    low, high = scores["accuracy_ci95"]
    assert scores["n"] > 0 and low <= scores["accuracy"] <= high, f"fer evaluate --intervals gave {scores}"


def test_the_full_install_at_its_floors_predicts_a_video_with_a_table_and_a_plot(full, outside, full_env):
    """OpenCV writes and reads the video, scipy matches faces across frames, tqdm, pandas (--csv), matplotlib."""
    checked_output(full / "python", "-c", WRITE_CLIP, SMILING, cwd=outside, env=full_env)
    printed = checked_output(
        full / "fer", "predict", "clip.avi", "--csv", "rows.csv", "--plot", "timeline.png", cwd=outside, env=full_env
    )
    assert re.search(r"\bhappy\b", printed), f"fer predict on a video of the astronaut printed:\n{printed}"
    rows = pd.read_csv(outside / "rows.csv")
    assert len(rows) > 0 and (outside / "timeline.png").stat().st_size > 0, (
        "fer predict on a video wrote no rows or plot"
    )


def test_the_full_install_at_its_floors_draws_a_heatmap_and_runs_mcnemars_test(full, outside, full_env, scores):
    checked_output(
        full / "python", "-c", HEATMAP_AND_MCNEMAR, json.dumps(scores["confusion_matrix"]), cwd=outside, env=full_env
    )


def test_papermill_at_its_floor_runs_a_notebook_on_the_full_installs_kernel(full, outside, full_env):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nimport fer\nprint(sys.prefix)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, outside / "check.ipynb")
    quietly_with_this_kernel = ["--kernel", "python3", "--no-progress-bar"]
    checked_output(
        full / "papermill", "check.ipynb", "executed.ipynb", *quietly_with_this_kernel, cwd=outside, env=full_env
    )
    ran_in = nbformat.read(outside / "executed.ipynb", as_version=4).cells[0].outputs[0]["text"].strip()
    prefix = checked_output(full / "python", "-c", "import sys; print(sys.prefix)", cwd=outside).strip()
    assert ran_in == prefix, f"the notebook ran in {ran_in}, not in the full install's {prefix}"
