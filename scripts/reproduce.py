"""Run the notebooks top to bottom with papermill: the whole study, its figures and its table.

python scripts/reproduce.py [--data DIR] [--quick]      (make reproduce)
"""

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
import papermill

from fer.data.locations import default_data_dir, is_sample
from scripts.repository import NOTEBOOK_DIR, README, REPO_ROOT, STUDY_RUN_DIRS, output_root, shown

NOTEBOOKS = (
    "csv_pipeline.ipynb",
    "image_pipeline.ipynb",
    "comparison.ipynb",
    "real_photos.ipynb",
    "your_experiment.ipynb",
)
# What TensorFlow logs as it starts, before absl's logging reads TF_CPP_MIN_LOG_LEVEL (the oneDNN notice on CPUs
# where oneDNN is on by default): absl's warning about it, and its info lines ("I0000 00:00:17... port.cc:153] ...").
TENSORFLOW_STARTUP_LINE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\] "
)


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
    data_dir = Path(data).resolve() if data else checkout_data_dir()
    root = Path(output).resolve() if output else output_root(data_dir, quick)
    executed_dir = NOTEBOOK_DIR if root == REPO_ROOT else root / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    print(describe_data(data_dir) + f" Outputs go to {root}.", flush=True)
    # Paths relative to the repository, where the notebooks run, so the committed ones name no folder of this machine.
    parameters = {"data_dir": str(shown(data_dir)), "output_root": str(shown(root)), "quick": quick}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the kernels inherit it: no TensorFlow start-up lines
    for name in notebooks:
        print(f"Running notebooks/{name} ...", flush=True)
        papermill.execute_notebook(
            NOTEBOOK_DIR / name, executed_dir / name, parameters=parameters, cwd=str(REPO_ROOT), progress_bar=False
        )
        executed = nbformat.read(executed_dir / name, as_version=4)
        relative_papermill_paths(executed)
        drop_tensorflow_startup_lines(executed)
        nbformat.write(executed, executed_dir / name)
    print(f"Done. Executed notebooks are in {executed_dir}.")
    if root == REPO_ROOT:
        from scripts.markdown import update_section

        update_section(README, "reproduce", reproduce_summary())
    return root


def reproduce_summary() -> str:
    """The README's lines on make reproduce: how long the committed notebooks took to run, how long their models
    took to train, and what they scored (the notebooks' papermill records and the runs' metrics.json)."""
    from fer.training.config import read_config
    from fer.training.records import read_metrics, timing
    from scripts.markdown import fill

    seconds = {
        Path(name).stem: nbformat.read(NOTEBOOK_DIR / name, 4).metadata["papermill"]["duration"] for name in NOTEBOOKS
    }
    runs = {title: read_metrics(STUDY_RUN_DIRS[name]) for name, title in (("csv_cnn", "CSV"), ("image_cnn", "image"))}
    seed = read_config(STUDY_RUN_DIRS["csv_cnn"]).seed
    return fill("reproduce.md", {"seconds": seconds, "runs": runs, "seed": seed, "timing": timing})


def relative_papermill_paths(executed: nbformat.NotebookNode) -> None:
    """papermill records the notebook's absolute paths in its metadata: keep them relative to the repository."""
    recorded = executed.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if recorded.get(key):
            recorded[key] = str(shown(Path(recorded[key])))


def drop_tensorflow_startup_lines(executed: nbformat.NotebookNode) -> None:
    """Keep TensorFlow's start-up log lines, which vary with the CPU, out of the saved outputs; its errors stay."""
    for cell in executed.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                kept = [line for line in output.text.splitlines(True) if not TENSORFLOW_STARTUP_LINE.match(line)]
                if not kept:
                    continue
                output.text = "".join(kept)
            outputs.append(output)
        if "outputs" in cell:
            cell.outputs = outputs


def checkout_data_dir() -> Path:
    """$FER_DATA, else this checkout's data/fer2013 when the full data is there, else its bundled sample."""
    return default_data_dir(REPO_ROOT).resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the notebooks top to bottom.")
    parser.add_argument("--data", help="default: $FER_DATA, else data/fer2013, else the bundled sample")
    parser.add_argument("--quick", action="store_true", help="one epoch on a few images, to check that all runs")
    args = parser.parse_args(argv)
    reproduce(data=args.data, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
