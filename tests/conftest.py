"""Shared fixtures: tiny synthetic data in both forms, the full data set where it exists, and a copy of the checkout
with fresh virtual environments to install it into."""

import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.data.labels import EMOTIONS, USAGES

if "PYTEST_XDIST_WORKER" in os.environ:
    # Two workers on two cores: TensorFlow's thread pools, each as large as the machine, would fight for it (two
    # processes predicting at once took 18% longer with them than with one thread each). Subprocesses inherit it.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "fer2013"
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def full_data_cache(tmp_path_factory) -> Path:
    """One parse cache for every test of the full data: it is parsed once per session, not once per test."""
    return tmp_path_factory.mktemp("full_data_cache")


@pytest.fixture(autouse=True)
def isolated_cache(request, tmp_path_factory, monkeypatch):
    """Each test parses afresh into its own cache, except a test of the full data (one shared cache), or where
    FER_TEST_KEEP_CACHE asks for the user's."""
    if "FER_TEST_KEEP_CACHE" in os.environ:
        return
    if "full_data_dir" in request.fixturenames:
        monkeypatch.setenv("FER_CACHE_DIR", str(request.getfixturevalue("full_data_cache")))
    else:
        monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def synthetic_faces(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images whose brightness pattern depends on the label, so that a model can learn them."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(EMOTIONS)
    usages = np.array([USAGES[i % 3] for i in range(count // len(EMOTIONS)) for _ in EMOTIONS])[:count]
    images = rng.integers(0, 60, size=(count, 48, 48), dtype=np.uint8)
    for index, label in enumerate(labels):
        images[index, label * 6 : label * 6 + 6, :] += 180
    return images, labels, usages


def write_csv(path: Path, images, labels, usages) -> Path:
    lines = ["emotion,pixels,Usage"]
    lines += [
        f"{label},{' '.join(map(str, image.ravel()))},{usage}" for image, label, usage in zip(images, labels, usages)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_folders(root: Path, images, labels, usages) -> Path:
    for index, (image, label, usage) in enumerate(zip(images, labels, usages)):
        folder = root / ("train" if usage == "Training" else "test") / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{usage}_{index}.png")
    return root


@pytest.fixture
def tiny_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "fer2013.csv", *synthetic_faces(63))


@pytest.fixture
def tiny_folders(tmp_path) -> Path:
    return write_folders(tmp_path / "images", *synthetic_faces(63))


@pytest.fixture(scope="session")
def full_data_dir(tmp_path_factory) -> Path:
    """A directory with the full FER-2013 in both forms: $FER_DATA, or made from ../shared/fer2013."""
    if "FER_DATA" in os.environ:
        return Path(os.environ["FER_DATA"])
    if not SHARED_DATA.is_dir():
        pytest.skip("the full FER-2013 is not here (set FER_DATA or put it in ../shared/fer2013)")
    target = tmp_path_factory.mktemp("fer2013")
    shutil.copy(SHARED_DATA / "fer2013.csv.gz", target / "fer2013.csv.gz")
    with zipfile.ZipFile(SHARED_DATA / "images.zip") as archive:
        archive.extractall(target)
    return target


@pytest.fixture(scope="session")
def shipped_probabilities(full_data_dir, tmp_path_factory):
    """probabilities(name, split, raw=False): a shipped model's onnxruntime probabilities on a split of the full data,
    computed once per session, by whichever pytest-xdist worker asks first, and read from its file by the others."""
    import fcntl

    from fer.data.datasets import load_data
    from fer.inference.runtime import batched_probabilities
    from fer.models.pretrained import load_pretrained

    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if "PYTEST_XDIST_WORKER" in os.environ else shared  # the workers' common folder

    def probabilities(name: str, split: str, raw: bool = False) -> np.ndarray:
        path = shared / f"probabilities_{name}_{split}_{'raw' if raw else 'calibrated'}.npy"
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                faces = load_data(full_data_dir, form="csv")[split].images  # in a test: its FER_CACHE_DIR
                probabilities = batched_probabilities(load_pretrained(name, runtime="onnx", raw=raw), faces)
                np.save(path.with_suffix(".partial.npy"), probabilities)
                os.replace(path.with_suffix(".partial.npy"), path)  # a worker killed mid-write leaves no file
        return np.load(path)

    return probabilities


WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src")  # not runs/, which a trainer may be rewriting


@pytest.fixture(scope="session")
def checkout_copy(tmp_path_factory) -> Path:
    """The checkout's files that a wheel is built from (WHEEL_SOURCES), tracked and untracked but not ignored:
    building in the checkout itself would leave build/ there, and a stale build/ can carry deleted modules into the
    wheel."""
    destination = tmp_path_factory.mktemp("checkout")
    git_files = ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run([*git_files, "--", *WHEEL_SOURCES], capture_output=True) if shutil.which("git") else None
    if listed is None or listed.returncode != 0:  # not a git checkout: all of it
        for name in WHEEL_SOURCES:
            copy = shutil.copytree if (REPO_ROOT / name).is_dir() else shutil.copy
            copy(REPO_ROOT / name, destination / name)
        return destination
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO_ROOT / name
        if source.exists():  # not the tracked files deleted from the work tree
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, destination / name)
    return destination


def checked_output(*command, cwd: Path, env: dict | None = None) -> str:
    """The command's stdout; the test fails with all it printed if the command fails."""
    words = [str(word) for word in command]
    finished = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        pytest.fail(
            f"{shlex.join(words)} exited with {finished.returncode}:\n{finished.stdout}{finished.stderr}", pytrace=False
        )
    return finished.stdout


@pytest.fixture(scope="session")
def fresh_venv():
    """Makes a new virtual environment in a folder, with the latest pip, and gives its bin/; each is removed at the
    end of the session, as it holds up to gigabytes."""
    made = []

    def make(folder: Path) -> Path:
        made.append(folder)
        checked_output(sys.executable, "-m", "venv", folder, cwd=folder.parent)
        checked_output(folder / "bin" / "pip", "install", "--quiet", "--upgrade", "pip", cwd=folder.parent)
        return folder / "bin"

    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)
