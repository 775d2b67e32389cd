"""Where things live: the data, the bundled sample, the model folders."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FULL_DATA_DIR = REPO_ROOT / "data" / "fer2013"
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"
CSV_MODEL_DIR = REPO_ROOT / "CSV_Based_Model"
IMAGE_MODEL_DIR = REPO_ROOT / "Image_Based_Model"
RESULTS_TABLE = REPO_ROOT / "results" / "results_table.md"


def default_data_dir() -> Path:
    """$FER_DATA if set, else data/fer2013 when the full data set is there, else the bundled sample."""
    if "FER_DATA" in os.environ:
        return Path(os.environ["FER_DATA"])
    if any(FULL_DATA_DIR.glob("fer2013.csv*")) or (FULL_DATA_DIR / "train").is_dir():
        return FULL_DATA_DIR
    return SAMPLE_DATA_DIR


def is_sample(data_dir: Path) -> bool:
    """Whether data_dir is the small bundled sample rather than the full data set."""
    return Path(data_dir).resolve() == SAMPLE_DATA_DIR.resolve()


def output_root(data_dir: Path, quick: bool = False) -> Path:
    """Where a run writes its model folders and results: the repository itself only for a full-data run.

    Sample and quick runs go under outputs/, so they never overwrite the committed results.
    """
    if quick:
        return REPO_ROOT / "outputs" / "quick"
    return REPO_ROOT / "outputs" / "sample" if is_sample(data_dir) else REPO_ROOT
