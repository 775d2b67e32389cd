"""The timeline of a video: each face track's seven emotion probabilities over time, as a figure."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from fer.atomic import atomic_file
from fer.data.labels import EMOTIONS
from fer.errors import DataError
from fer.inference.video import track_summary

MAX_TRACKS = 8  # the longest-seen tracks get a panel each; a crowd would make the figure unreadable


def plot_timeline(predictions: pd.DataFrame, max_tracks: int = MAX_TRACKS, min_confidence: float = 0.0) -> plt.Figure:
    """One panel per track (the max_tracks seen in most frames): its seven probabilities against time; its title's
    label as track_summary gives it with min_confidence."""
    summary = track_summary(predictions, min_confidence)
    if summary.empty:
        figure, axes = plt.subplots(figsize=(10, 2.5))
        axes.text(0.5, 0.5, "no face found", ha="center", va="center", fontsize=14)
        axes.axis("off")
        return figure
    shown = summary.nlargest(max_tracks, "frames", keep="first").sort_values("track")
    figure, panels = plt.subplots(
        len(shown), 1, figsize=(10, 2.6 * len(shown)), sharex=True, squeeze=False, layout="constrained"
    )
    for axes, track in zip(panels[:, 0], shown.itertuples()):
        faces = predictions[predictions["track"] == track.track].sort_values("time_s")
        marker = "o" if len(faces) <= 60 else None
        for index, emotion in enumerate(EMOTIONS):
            axes.plot(faces["time_s"], faces[f"p_{emotion}"], marker=marker, markersize=3, color=f"C{index}")
        axes.set(ylim=(0, 1), ylabel="probability")
        axes.set_title(f"track {track.track}: mostly {track.label} ({track.frames} frames)", loc="left")
        axes.grid(alpha=0.3)
    panels[-1, 0].set_xlabel("time (s)")
    figure.legend(panels[0, 0].get_lines(), EMOTIONS, loc="outside right upper")
    if len(shown) < len(summary):
        figure.suptitle(f"the {len(shown)} tracks seen longest, of {len(summary)}")
    return figure


def write_timeline(predictions: pd.DataFrame, path: str | Path, min_confidence: float = 0.0) -> Path:
    """Save plot_timeline's figure to path, in the format its suffix names (.png, .pdf, .svg); DataError if not."""
    path = Path(path)
    figure = plot_timeline(predictions, min_confidence=min_confidence)
    try:
        image_format = path.suffix.lstrip(".").lower() or "png"
        if image_format not in figure.canvas.get_supported_filetypes():
            raise DataError(f"{path}: cannot write a figure as .{image_format} (use .png, .pdf or .svg)")
        with atomic_file(path) as handle:
            figure.savefig(handle, format=image_format, dpi=110, bbox_inches="tight")
    except OSError as error:
        raise DataError(f"{path}: cannot write ({error.strerror or error})") from None
    finally:
        plt.close(figure)
    return path
