"""A run directory read back: a finished run's metrics, summary line and figures; how far an unfinished one has got."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from fer.errors import DataError
from fer.models.registry import model_spec
from fer.plots import plot_confusion_matrix, plot_history


def read_metrics(run_dir: str | Path) -> dict:
    """The metrics.json of a finished run."""
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def private_test_metrics(run_dir: str | Path) -> dict:
    """A finished run's metrics, for what reports PrivateTest; DataError where the run holds it out."""
    metrics = read_metrics(run_dir)
    if "PrivateTest" not in metrics["splits"]:
        raise DataError(f"{run_dir}: PrivateTest is held out until the selection (release_private_test scores it then)")
    return metrics


def write_figures(run_dir: str | Path) -> dict[str, Path]:
    """Write images/confusion_matrix_<suffix>.png and images/accuracy_vs_loss_<suffix>.png in the run directory."""
    run_dir = Path(run_dir)
    metrics = private_test_metrics(run_dir)
    spec = model_spec(metrics["model"])
    suffix = spec.figure_suffix
    paths = {
        "confusion_matrix": run_dir / "images" / f"confusion_matrix_{suffix}.png",
        "accuracy_vs_loss": run_dir / "images" / f"accuracy_vs_loss_{suffix}.png",
    }
    name = spec.title
    figures = [
        plot_confusion_matrix(
            metrics["splits"]["PrivateTest"]["confusion_matrix"], paths["confusion_matrix"], f"{name}, PrivateTest"
        ),
        plot_history(run_dir / "history.csv", paths["accuracy_vs_loss"], name),
    ]
    for figure in figures:
        plt.close(figure)  # saved as files, which a notebook then shows
    return paths


def summary_line(run_dir: str | Path) -> str:
    """One line with the headline PrivateTest numbers of a run."""
    metrics = private_test_metrics(run_dir)
    private = metrics["splits"]["PrivateTest"]
    return (
        f"{metrics['model']}: PrivateTest accuracy {private['accuracy']:.4f}, macro F1 {private['macro_f1']:.4f}, "
        f"weighted F1 {private['weighted_f1']:.4f} (n={private['n']}; epoch {metrics['selected_epoch']} of "
        f"{metrics['epochs']}, chosen on {metrics['selected_on']}; {timing(metrics)})"
    )


def fully_timed(metrics: dict) -> bool:
    """Whether train_seconds covers every epoch (a resumed run times only the epochs after the restart)."""
    return metrics.get("timed_epochs", metrics["epochs"]) == metrics["epochs"]


def timing(metrics: dict) -> str:
    minutes = metrics["train_seconds"] / 60
    if fully_timed(metrics):
        return f"trained in {minutes:.1f} min"
    return (
        f"the last {metrics['timed_epochs']} epochs took {minutes:.1f} min; "
        "the run was resumed and its first epochs were not timed"
    )


def run_progress(run_dir: Path, epochs: int) -> tuple[str, float]:
    """One line on how far a run, finished or not, has got (PublicTest only: nothing of PrivateTest), and its CPU
    seconds so far."""
    finished = (run_dir / "metrics.json").is_file()
    log = run_dir / ("history.csv" if finished else "training_log.csv")
    history = pd.read_csv(log) if log.is_file() and log.stat().st_size else pd.DataFrame()
    clock = run_dir / "training_clock.json"
    if finished:
        cpu_seconds = read_metrics(run_dir).get("train_cpu_seconds", 0.0)
    else:
        cpu_seconds = json.loads(clock.read_text()).get("cpu_seconds", 0.0) if clock.is_file() else 0.0
    line = f"{run_dir.name}: {len(history)} of {epochs} epochs" + (", finished" if finished else "")
    if len(history):
        best = history["val_accuracy"].idxmax()
        line += f", best PublicTest accuracy {history['val_accuracy'][best]:.4f} (epoch {history['epoch'][best] + 1})"
    return line + f", {cpu_seconds / 3600:.2f} CPU-hours", cpu_seconds
