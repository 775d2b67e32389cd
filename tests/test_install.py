"""The wheel as a user gets it: built from a copy of this checkout, installed into fresh virtual environments outside
it, and used from another folder. The base install alone runs on onnxruntime without TensorFlow; with the train
extra, the Keras path gives the same predictions, and evaluate, train and load_pretrained work."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, SAMPLE_DATA_DIR, checked_output
from tests.test_layout import REPOSITORY_LAYOUT

pytestmark = pytest.mark.slow

WHEEL_LIMIT_BYTES = 30_000_000
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"
NO_FACE = Path(__file__).with_name("no_face_cat.jpg")
TRAIN_EXTRA_HINT = 'pip install "fer2013-study[train]"'
SAME_IN_BOTH = ["path", "frame", "track", "x", "y", "w", "h", "label"]  # the CSV columns, all but the probabilities
PROBABILITY_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def wheel(checkout_copy, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    checked_output(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", folder, checkout_copy, cwd=folder
    )
    (built,) = folder.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def base(wheel, fresh_venv, tmp_path_factory) -> Path:
    """bin/ of a fresh environment with the wheel alone."""
    bin_folder = fresh_venv(tmp_path_factory.mktemp("base") / "venv")
    checked_output(bin_folder / "pip", "install", "--quiet", wheel, cwd=wheel.parent)
    return bin_folder


@pytest.fixture(scope="module")
def full(wheel, fresh_venv, tmp_path_factory) -> Path:
    """bin/ of a fresh environment with the wheel and its train extra."""
    bin_folder = fresh_venv(tmp_path_factory.mktemp("full") / "venv")
    checked_output(bin_folder / "pip", "install", "--quiet", f"{wheel}[train]", cwd=wheel.parent)
    return bin_folder


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the checkout to run fer in: photos/ (a face and no face) and clip.avi (the face, then its
    mirror image)."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "photos").mkdir()
    for photo in (SMILING, NO_FACE):
        shutil.copy(photo, folder / "photos")
    frame = cv2.imread(str(SMILING))
    writer = cv2.VideoWriter(
        str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (frame.shape[1], frame.shape[0])
    )
    assert writer.isOpened(), "OpenCV cannot write an MJPG video"
    for index in range(12):
        writer.write(frame if index < 8 else frame[:, ::-1].copy())
    writer.release()
    return folder


def predictions(fer: Path, outside: Path, name: str, *model: str) -> tuple[list[dict], pd.DataFrame]:
    """fer predict's JSON records and CSV rows for the photos and the clip."""
    printed = checked_output(
        fer, "predict", *model, "photos", "clip.avi", "--csv", f"{name}.csv", "--json", cwd=outside
    )
    return json.loads(printed), pd.read_csv(outside / f"{name}.csv")


def boxes_and_labels(records: list[dict]) -> list[tuple]:
    return [(record["path"], face["box"], face["label"]) for record in records for face in record.get("faces", [])]


def test_the_wheel_is_under_30_mb(wheel):
    size = wheel.stat().st_size
    assert size < WHEEL_LIMIT_BYTES, f"{wheel.name} is {size / 1e6:.1f} MB; it must stay under 30 MB"


def test_the_base_install_has_no_tensorflow(base, outside):
    imported = subprocess.run([base / "python", "-c", "import tensorflow"], cwd=outside, capture_output=True)
    assert imported.returncode != 0, "the base install has TensorFlow; it must not need it"


def test_the_base_install_tells_its_version(base, outside):
    checked_output(base / "fer", "--version", cwd=outside)


@pytest.mark.parametrize("model", ["shipped", "fast"])
def test_the_base_install_finds_the_astronaut_happy(base, outside, model):
    printed = checked_output(base / "fer", "predict", "--model", model, SMILING, cwd=outside)
    assert " happy " in printed, f"fer predict --model {model} on the astronaut printed:\n{printed}"


def test_the_base_install_plots_a_videos_timeline(base, outside):
    checked_output(base / "fer", "predict", "clip.avi", "--plot", "timeline.png", "--quiet", cwd=outside)


def test_the_base_installs_evaluate_says_in_one_line_that_it_needs_the_train_extra(base, outside):
    finished = subprocess.run(
        [base / "fer", "evaluate", "--data", SAMPLE_DATA_DIR], cwd=outside, capture_output=True, text=True
    )
    said = finished.stdout + finished.stderr
    assert finished.returncode == 2 and said.count("\n") == 1 and TRAIN_EXTRA_HINT in said, (
        f"the base install's fer evaluate must exit with 2 and say in one line that it needs the train extra; "
        f"it exited with {finished.returncode} and said:\n{said}"
    )


def test_onnxruntime_and_keras_give_the_same_faces_labels_and_probabilities(base, full, outside):
    onnx_records, onnx_rows = predictions(base / "fer", outside, "onnx")
    keras_file = checked_output(
        full / "python",
        "-c",
        "from fer.models.pretrained import pretrained_path; print(pretrained_path())",
        cwd=outside,
    ).strip()
    keras_records, keras_rows = predictions(full / "fer", outside, "keras", "--model", keras_file)
    assert boxes_and_labels(onnx_records) == boxes_and_labels(keras_records), (
        "the photos' boxes or labels differ between onnxruntime and Keras"
    )
    pd.testing.assert_frame_equal(onnx_rows[SAME_IN_BOTH], keras_rows[SAME_IN_BOTH])
    probabilities = [column for column in onnx_rows if column.startswith("p_")]
    difference = np.abs(onnx_rows[probabilities].to_numpy() - keras_rows[probabilities].to_numpy()).max()
    assert difference <= PROBABILITY_TOLERANCE + 1e-9, (
        f"onnxruntime's and Keras's probabilities differ by {difference:.1e} (at most {PROBABILITY_TOLERANCE})"
    )


def test_the_train_extra_evaluates_the_sample(full, outside):
    printed = checked_output(full / "fer", "evaluate", "--data", SAMPLE_DATA_DIR, "--split", "PrivateTest", cwd=outside)
    assert "n" in json.loads(printed)["splits"]["PrivateTest"], f"fer evaluate printed no count of faces:\n{printed}"


def test_the_train_extra_trains_on_the_sample(full, outside, tmp_path):
    one_short_epoch = ["--epochs", "1", "--max-train-images", "64"]
    checked_output(
        full / "fer", "train", "--data", SAMPLE_DATA_DIR, "--run-dir", tmp_path, *one_short_epoch, cwd=outside
    )
    assert (tmp_path / "metrics.json").is_file(), "fer train finished without writing metrics.json"


def test_the_train_extra_loads_the_pretrained_model(full, outside):
    checked_output(full / "python", "-c", "import fer; fer.load_pretrained()", cwd=outside)


def test_the_installed_package_does_not_refer_to_the_repository_layout(base, outside):
    installed = Path(checked_output(base / "python", "-c", "import fer; print(fer.__path__[0])", cwd=outside).strip())
    offenders = [
        f"{path.relative_to(installed)}:{number}: {line.strip()}"
        for path in sorted(installed.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if REPOSITORY_LAYOUT.search(line)
    ]
    assert not offenders, "the installed package refers to the repository's layout:\n" + "\n".join(offenders)


def test_the_repositorys_scripts_are_not_installed(base, outside):
    imported = subprocess.run([base / "python", "-c", "import scripts"], cwd=outside, capture_output=True)
    assert imported.returncode != 0, "the repository's scripts/ were installed with the wheel"
