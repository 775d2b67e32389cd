"""What the demo page shows, computed without a server: a photo's faces, a webcam frame, a video's face tracks.

Each reuses fer predict's own steps (read_photo and predict_photo for photos; faces_in_frame and classify, a video
frame's, for webcam frames; predict_video, track_summary and plot_timeline for videos) and raises a DataError that
names the upload as it was uploaded, for a bad one.
"""

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fer.data.labels import EMOTIONS
from fer.errors import DataError
from fer.inference.photos import Photo, read_photo
from fer.inference.predict import model_or_default, predict_photo
from fer.inference.timeline import plot_timeline
from fer.inference.video import (
    IncompleteVideoError,
    classify,
    draw_faces,
    faces_in_frame,
    open_video,
    predict_video,
    track_summary,
)

MODELS = ("shipped", "fast")
MAX_VIDEO_SECONDS = 60  # the page takes clips; fer predict takes videos of any length
VIDEO_ANALYSED_FPS = 10.0  # frames analysed per second of video: enough for the timeline, quick to answer
MAX_CHART_FACES = 6  # bar charts for the largest faces; the table lists them all
FRAME_RATE_WINDOW_S = 3.0  # the webcam stream's frames per second, over its last few seconds
FACE_COLUMNS = ["face", "label", *EMOTIONS, "x", "y", "w", "h"]

# OpenCV's cascade classifier (fer.inference.faces.face_cascade) is one object per process and not thread-safe, and
# pyplot's figures are global: the server runs handlers in threads, so these steps take turns.
ONE_AT_A_TIME = threading.Lock()


@dataclass
class PhotoResult:
    """A photo's faces: the photo with them drawn, a row and a bar chart per face, one line for the page."""

    annotated: np.ndarray
    faces: pd.DataFrame
    chart: Figure | None
    summary: str


@dataclass
class VideoResult:
    """A video's face tracks: the timeline figure, a row per track, the CSV of every face, one line for the page."""

    timeline: Figure
    tracks: pd.DataFrame
    csv: Path
    summary: str


@cache
def model_named(name: str):
    """The shipped or the fast model on onnxruntime, loaded once per process."""
    if name not in MODELS:
        raise DataError(f"no model {name!r}; choose {' or '.join(MODELS)}")
    return model_or_default(name)


def uploaded(payload) -> tuple[Path, str]:
    """The server's copy of an upload (Gradio's file data, or a path) and the name it was uploaded as."""
    if isinstance(payload, str | Path) and str(payload):
        return Path(payload), Path(payload).name
    if isinstance(payload, dict) and payload.get("path"):
        path = Path(payload["path"])
        return path, payload.get("orig_name") or path.name
    raise DataError("nothing was uploaded")


@contextmanager
def named_as(path: Path, name: str) -> Iterator[None]:
    """DataErrors that name the upload as the user knows it, not by the server's temporary copy."""
    try:
        yield
    except DataError as error:
        raise DataError(str(error).replace(str(path), name)) from None


def find_faces(source: "str | Path | np.ndarray", model_name: str) -> tuple[Photo, list[dict]]:
    """The photo as read and fer.predict's faces in it."""
    photo = read_photo(source)
    model = model_named(model_name)
    with ONE_AT_A_TIME:
        return photo, predict_photo(photo, model)


def analyse_photo(path: str | Path, model_name: str = "shipped", name: str | None = None) -> PhotoResult:
    """An uploaded photo's faces, drawn, tabled and charted."""
    path = Path(path)
    with named_as(path, name or path.name):
        photo, faces = find_faces(path, model_name)
    return PhotoResult(drawn(photo, faces), faces_table(faces), probability_chart(faces), photo_summary(faces, photo))


def analyse_frame(
    frame: np.ndarray, model_name: str, times: tuple[float, ...], clock=time.monotonic
) -> tuple[np.ndarray, str, tuple[float, ...]]:
    """A webcam frame with its faces drawn, the frames per second the stream reaches, and the times of its recent
    frames (kept by the page between frames).

    Faces are found and classified as a video's frame is (fer.inference.video: searched at most DETECTION_SIDE
    pixels a side, cropped at full size), each frame on its own.
    """
    rgb = np.asarray(read_photo(frame).image)
    model = model_named(model_name)
    with ONE_AT_A_TIME:
        boxes, crops = faces_in_frame(rgb)
        found = [
            ({"track": number, **dict(zip("xywh", box))}, crop)
            for number, (box, crop) in enumerate(zip(boxes, crops), 1)
        ]
        faces = classify(model, found)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    draw_faces(bgr, faces)
    now = clock()
    times = tuple(moment for moment in (*times, now) if now - moment <= FRAME_RATE_WINDOW_S)
    rate = frame_rate(times)
    labels = ", ".join(f"#{face['track']} {face['label']}" for face in faces) or "no face"
    said = "measuring frames per second" if rate is None else f"{rate:.1f} frames per second"
    return np.ascontiguousarray(bgr[..., ::-1]), f"{said}; {labels}", times


def frame_rate(times: tuple[float, ...]) -> float | None:
    """Frames per second from the times frames were answered; None until two frames apart in time."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def analyse_video(path: str | Path, folder: Path, model_name: str = "shipped", name: str | None = None) -> VideoResult:
    """An uploaded clip's face tracks over time, about VIDEO_ANALYSED_FPS frames a second; its CSV written in folder.

    A truncated or corrupt clip gives the frames decoded before the damage, and says so.
    """
    path, note = Path(path), ""
    name = name or path.name
    with named_as(path, name):
        video_fps = clip_frame_rate(path)
        model = model_named(model_name)
        with ONE_AT_A_TIME:
            try:
                predictions = predict_video(path, fps=VIDEO_ANALYSED_FPS if video_fps else None, model=model)
            except IncompleteVideoError as error:
                predictions, note = error.predictions, str(error).replace(str(path), name)
            timeline = plot_timeline(predictions)
    predictions["path"] = name
    csv = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(name).stem)[:80] or 'video'}_faces.csv"
    predictions.to_csv(csv, index=False)
    tracks = track_summary(predictions)
    return VideoResult(timeline, tracks, csv, video_summary(predictions, tracks, note))


def clip_frame_rate(path: Path) -> float | None:
    """The video's frame rate, None where its container gives none; a DataError for a file that is not a video,
    or a clip longer than MAX_VIDEO_SECONDS."""
    with open_video(path) as (_, info):
        if info.fps and info.frame_count and info.frame_count / info.fps > MAX_VIDEO_SECONDS:
            raise DataError(
                f"{path}: {info.frame_count / info.fps:.0f} s long; this page takes clips of up to "
                f"{MAX_VIDEO_SECONDS} s (fer predict takes videos of any length)"
            )
        return info.fps


def drawn(photo: Photo, faces: list[dict]) -> np.ndarray:
    """The photo (RGB) with each face's box, number and label drawn, as fer predict --annotate draws a video's."""
    bgr = np.ascontiguousarray(np.asarray(photo.image)[..., ::-1])
    rows = []
    for number, face in enumerate(faces, start=1):
        x, y, width, height = (int(round(value / photo.scale)) for value in face["box"])
        probabilities = {f"p_{emotion}": face["probabilities"][emotion] for emotion in EMOTIONS}
        rows.append({"x": x, "y": y, "w": width, "h": height, "track": number, "label": face["label"], **probabilities})
    draw_faces(bgr, rows)
    return np.ascontiguousarray(bgr[..., ::-1])


def faces_table(faces: list[dict]) -> pd.DataFrame:
    """A row per face: its number (as drawn), label, the seven probabilities and its box in the photo's pixels."""
    rows = [
        {"face": number, "label": face["label"], **face["probabilities"], **dict(zip("xywh", face["box"]))}
        for number, face in enumerate(faces, start=1)
    ]
    return pd.DataFrame(rows, columns=FACE_COLUMNS)


def probability_chart(faces: list[dict]) -> Figure | None:
    """A bar chart of the seven probabilities per face (the MAX_CHART_FACES largest), the label's bar in green."""
    if not faces:
        return None
    shown = faces[:MAX_CHART_FACES]
    figure = Figure(figsize=(5.5, 0.5 + 2.2 * len(shown)), layout="constrained")
    panels = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    for number, (axes, face) in enumerate(zip(panels, shown), start=1):
        values = [face["probabilities"][emotion] for emotion in EMOTIONS]
        axes.barh(EMOTIONS, values, color=["tab:green" if e == face["label"] else "tab:gray" for e in EMOTIONS])
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_title(f"face {number}: {face['label']} {max(values):.2f}", loc="left")
        axes.grid(axis="x", alpha=0.3)
    panels[-1].set_xlabel("probability")
    if len(faces) > len(shown):
        figure.suptitle(f"the {len(shown)} largest of {len(faces)} faces")
    return figure


def photo_summary(faces: list[dict], photo: Photo) -> str:
    """One line: each face's number, label and probability, or that none was found."""
    said = ", ".join(
        f"#{number} {face['label']} {max(face['probabilities'].values()):.2f}"
        for number, face in enumerate(faces, start=1)
    )
    text = f"{len(faces)} face{'s' * (len(faces) != 1)}: {said}" if faces else "no face found"
    if photo.frame_count > 1:  # an animated GIF or a multi-page TIFF
        text += f" (the first of its {photo.frame_count} frames was analysed)"
    return text


def video_summary(predictions: pd.DataFrame, tracks: pd.DataFrame, note: str = "") -> str:
    """One line: the face tracks and their dominant emotions, or that no face was found; and any note."""
    if tracks.empty:
        text = "no face found in the analysed frames"
    else:
        said = ", ".join(
            f"#{track.track} mostly {track.label} ({track.frames} frames)" for track in tracks.itertuples()
        )
        count = f"{len(tracks)} face track{'s' * (len(tracks) != 1)}"
        text = f"{predictions['frame'].nunique()} analysed frames with faces; {count}: {said}"
    return f"{text}. {note}" if note else text
