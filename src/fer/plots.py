"""Figures: the confusion-matrix heatmap and the accuracy-and-loss curves."""

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fer.data.labels import EMOTIONS


def plot_confusion_matrix(matrix, path: str | Path | None = None, title: str = "Confusion matrix") -> plt.Figure:
    """Heatmaps of the confusion matrix: counts, and rows normalized to recall. Saved to path if given."""
    counts = np.asarray(matrix)
    normalized = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, 6))
    for axes, values, fmt, subtitle in ((left, counts, "d", "counts"), (right, normalized, ".2f", "row-normalized")):
        sns.heatmap(
            values, annot=True, fmt=fmt, cmap="Blues", xticklabels=EMOTIONS, yticklabels=EMOTIONS, ax=axes, cbar=False
        )
        axes.set(xlabel="predicted", ylabel="true", title=f"{title} ({subtitle})")
    figure.tight_layout()
    save(figure, path)
    return figure


def plot_history(history: pd.DataFrame | str | Path, path: str | Path | None = None, title: str = "") -> plt.Figure:
    """Accuracy and loss per epoch, training against validation (PublicTest). Saved to path if given."""
    if not isinstance(history, pd.DataFrame):
        history = pd.read_csv(history)
    epochs = history["epoch"] + 1
    figure, (accuracy_axes, loss_axes) = plt.subplots(1, 2, figsize=(12, 4.5))
    for axes, metric in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
        axes.plot(epochs, history[metric], marker="o", label="training")
        axes.plot(epochs, history[f"val_{metric}"], marker="o", label="validation (PublicTest)")
        axes.set(xlabel="epoch", ylabel=metric, title=f"{title} {metric}".strip())
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    save(figure, path)
    return figure


def save(figure: plt.Figure, path: str | Path | None) -> None:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110, bbox_inches="tight")


def plot_attention_by_emotion(attention: dict, path: str | Path | None = None) -> plt.Figure:
    """One panel per emotion: the mean face with the mean Grad-CAM heatmap over it."""
    figure, axes = plt.subplots(1, len(attention), figsize=(2.4 * len(attention), 2.8))
    for panel, (name, maps) in zip(np.atleast_1d(axes), attention.items()):
        panel.imshow(maps["face"], cmap="gray")
        # Each emotion's mean map scaled to its own peak: the figure compares where, not how strongly.
        attention = maps["attention"] / max(float(maps["attention"].max()), 1e-12)
        panel.imshow(attention, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        panel.set_title(name)
        panel.axis("off")
    figure.tight_layout()
    save(figure, path)
    return figure


def plot_reliability(curves: dict[str, dict[str, dict]], path: str | Path | None = None) -> plt.Figure:
    """Reliability diagrams, one panel per model: accuracy against mean confidence per confidence bin, for each of
    its probability kinds (e.g. raw, calibrated; fer.evaluation.calibration.reliability's points), with the
    diagonal a calibrated model would follow. Saved to path if given."""
    figure, panels = plt.subplots(1, len(curves), figsize=(3.6 * len(curves), 3.8), squeeze=False, sharey=True)
    for axes, (model, kinds) in zip(panels[0], curves.items()):
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
        for kind, points in kinds.items():
            axes.plot(points["confidence"], points["accuracy"], marker="o", markersize=3, label=kind)
        axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)", title=model)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize="small")
    panels[0, 0].set_ylabel("accuracy")
    figure.tight_layout()
    save(figure, path)
    return figure


def plot_risk_coverage(curves: dict[str, dict], path: str | Path | None = None) -> plt.Figure:
    """Accuracy against the share of faces answered, answering the most confident first, one line per model
    (fer.evaluation.calibration.risk_coverage's points). Saved to path if given."""
    figure, axes = plt.subplots(figsize=(5.5, 4))
    for model, points in curves.items():
        axes.plot(points["coverage"], points["accuracy"], label=model)
    axes.set(xlim=(0, 1), xlabel="share of faces answered (most confident first)", ylabel="accuracy on them")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    save(figure, path)
    return figure


def plot_accuracy_against_hours(points: list[dict], path: str | Path | None = None) -> plt.Figure:
    """PublicTest accuracy against training hours, a colour per registration (each point's "registration"); filled
    where "hours" are CPU-hours ("cpu" true), hollow where only wall-clock time was recorded; a point with a "role"
    (the shipped or fast choice) is named on the figure. Saved to path if given."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    middle = max(point["hours"] for point in points) / 2
    colours = dict(
        zip(dict.fromkeys(point["registration"] for point in points), itertools.cycle(plt.get_cmap("tab10").colors))
    )
    for point in points:
        colour, chosen = colours[point["registration"]], bool(point.get("role"))
        filled = colour if point["cpu"] else "none"
        marker, size = ("*", 120) if chosen else ("o", 30)
        axes.scatter(point["hours"], point["accuracy"], s=size, marker=marker, edgecolors=colour, facecolors=filled)
        if chosen:
            label = f"{point['role']}: " + point["name"].replace(" + ", " +\n")
            side = 1 if point["hours"] < middle else -1  # toward the middle, so the name stays inside the axes
            axes.annotate(label, (point["hours"], point["accuracy"]), xytext=(8 * side, 0), textcoords="offset points",
                          ha="left" if side > 0 else "right", va="top", fontsize="x-small")  # fmt: skip
    for registration, colour in colours.items():
        axes.scatter([], [], color=colour, s=30, label=registration)
    axes.scatter([], [], facecolors="none", edgecolors="grey", s=30, label="wall-clock hours (no CPU time recorded)")
    axes.set(xlabel="training CPU-hours (a distilled network's leave out its teachers')", ylabel="PublicTest accuracy")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    figure.tight_layout()
    save(figure, path)
    return figure
