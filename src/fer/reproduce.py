"""Run the notebooks top to bottom with papermill: the whole study, its figures and its table."""

from pathlib import Path

import papermill

from fer.paths import REPO_ROOT, default_data_dir, is_sample, output_root

NOTEBOOKS = ("csv_pipeline.ipynb", "image_pipeline.ipynb", "comparison.ipynb", "real_photos.ipynb")
NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def describe_data(data_dir: Path) -> str:
    """A sentence saying which data a run uses."""
    if is_sample(data_dir):
        return f"Using the bundled SAMPLE ({data_dir}): a check that everything runs; its numbers mean nothing."
    return f"Using the full FER-2013 at {data_dir}."


def reproduce(
    data: str | Path | None = None,
    quick: bool = False,
    output: str | Path | None = None,
    notebooks: tuple[str, ...] = NOTEBOOKS,
) -> Path:
    """Execute the notebooks; in place on the full data, else into outputs/ (or output). Returns the output root."""
    data_dir = Path(data).resolve() if data else default_data_dir().resolve()
    root = Path(output).resolve() if output else output_root(data_dir, quick)
    executed_dir = NOTEBOOK_DIR if root == REPO_ROOT else root / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    print(describe_data(data_dir) + f" Outputs go to {root}.", flush=True)
    parameters = {"data_dir": str(data_dir), "output_root": str(root), "quick": quick}
    for name in notebooks:
        print(f"Running notebooks/{name} ...", flush=True)
        papermill.execute_notebook(
            NOTEBOOK_DIR / name, executed_dir / name, parameters=parameters, cwd=str(NOTEBOOK_DIR), progress_bar=False
        )
    print(f"Done. Executed notebooks are in {executed_dir}.")
    return root
