"""Where things live in this checkout of the repository (the installed package knows none of it)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
TEMPLATES = DOCS / "templates"  # one per generated document or section, filled by scripts.markdown.fill
RESULTS_DOC = DOCS / "results.md"  # the paired tests and their conclusion, beside the README's tables
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
STUDY_RUN_DIRS = {"csv_cnn": REPO_ROOT / "CSV_Based_Model", "image_cnn": REPO_ROOT / "Image_Based_Model"}
PRETRAINED_RUN_DIR = REPO_ROOT / "Pretrained_Model"  # evaluation.json, the selection files, each member's record
MODEL_CARD = REPO_ROOT / "MODEL_CARD.md"
SHIPPED_MODEL_FILE = REPO_ROOT / "src" / "fer" / "models" / "weights" / "fer_model.keras"
FAST_MODEL_FILE = SHIPPED_MODEL_FILE.with_name("fer_fast.keras")  # fer.models.pretrained.PRETRAINED_FILES["fast"]
SHIPPED_FILES = {"shipped": SHIPPED_MODEL_FILE, "fast": FAST_MODEL_FILE}  # as fer.load_pretrained(name) loads them
RESULTS_DIR = REPO_ROOT / "results"


def output_root(data_dir: Path, quick: bool = False) -> Path:
    """Where a notebook run writes its model folders and results: the repository itself only for a full-data run.

    Sample and quick runs go under outputs/, so they never overwrite the committed results.
    """
    from fer.data.locations import is_sample

    if quick:
        return REPO_ROOT / "outputs" / "quick"
    return REPO_ROOT / "outputs" / "sample" if is_sample(data_dir) else REPO_ROOT


def shown(path: Path) -> Path:
    """path relative to the repository when it lies inside it (as notebooks and READMEs show it), else as it is."""
    absolute = Path(path).resolve()
    return absolute.relative_to(REPO_ROOT) if absolute.is_relative_to(REPO_ROOT) else Path(path)
