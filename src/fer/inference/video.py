"""Emotions over time in a video: sampled frames, faces followed from frame to frame, classified in batches."""

import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from fer.data.labels import EMOTIONS
from fer.errors import DataError, input_problem
from fer.inference.face_finder import WHOLE_FRAME_EVERY, FaceFinder, SearchedFrame
from fer.inference.faces import crop_face, detect_faces
from fer.inference.photos import MAX_PIXELS, bounded
from fer.inference.predict import check_min_confidence, confident_label, model_or_default
from fer.inference.runtime import class_probabilities
from fer.inference.tracks import FaceTracker

MAX_FRAME_PIXELS = MAX_PIXELS  # refuse larger frames before decoding any: memory stays bounded, as for photos
DETECTION_SIDE = 640  # larger frames are shrunk to this many pixels a side to find faces; crops come from full size
BATCH_FACES = 64  # faces from consecutive frames classified in one model call
PROGRESS_MIN_FRAMES = 10  # a progress bar for fewer analysed frames would only flicker
DEFAULT_FPS = 25.0  # annotated copies of videos whose container gives no frame rate
STILL_IMAGE_FORMATS = ["JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF", "JPEG2000", "PPM", "ICO"]
PROBABILITY_COLUMNS = [f"p_{name}" for name in EMOTIONS]
COLUMNS = ["path", "frame", "time_s", "track", "x", "y", "w", "h", "label", *PROBABILITY_COLUMNS]
TRACK_COLORS = [(0, 220, 0), (0, 165, 255), (255, 128, 0), (203, 0, 255), (0, 255, 255), (255, 255, 0)]  # BGR

Frame = tuple[int, float, np.ndarray]

# FFmpeg's log lines ("moov atom not found", a line per damaged block) would bury the one-line DataError.
# AV_LOG_QUIET; OpenCV reads it once, when it first uses FFmpeg in the process, hence at import.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class IncompleteVideoError(DataError):
    """Frames of the video could not be decoded (truncated or corrupt); it is raised after the frames that could.

    predict_video fills predictions with the rows of the frames analysed before the error.
    """

    def __init__(self, message: str, frames_decoded: int, frame_count: int):
        super().__init__(message)
        self.frames_decoded = frames_decoded
        self.frame_count = frame_count
        self.predictions: pd.DataFrame | None = None


@dataclass(frozen=True)
class VideoInfo:
    """What the container says before any frame is decoded; fps and frame_count are None where it does not say."""

    path: Path
    width: int
    height: int
    fps: float | None
    frame_count: int | None


def read_frames(path: str | Path, every: int = 1, fps: float | None = None) -> Iterator[Frame]:
    """Yield (frame number, time in seconds, RGB uint8 array) for every Nth frame, or about fps frames a second.

    Raises DataError (on first iteration) for a missing file, a file that is not a video, a video
    without a decodable frame or with frames over MAX_FRAME_PIXELS; IncompleteVideoError after the
    last good frame when the container promised more frames than could be decoded.
    """
    check_sampling(every, fps)
    with open_video(path) as (capture, info):
        for number, seconds, bgr in decoded_frames(capture, info, every, fps):
            yield number, seconds, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def predict_video(
    path: str | Path,
    every: int = 1,
    fps: float | None = None,
    model=None,
    progress: bool = False,
    whole_frame_every: int = WHOLE_FRAME_EVERY,
    min_confidence: float = 0.0,
) -> pd.DataFrame:
    """One row per face per analysed frame: path, frame, time_s, track, box x, y, w, h (original pixels), label, p_*.

    Each frame is processed as fer.predict processes a photo, except that faces are looked for on a
    copy at most DETECTION_SIDE pixels a side, and in real time: the whole frame is searched every
    whole_frame_every analysed frames, and in between each face near its last box (FaceFinder; 1
    searches every frame whole). Faces keep a track id across frames (FaceTracker: IoU, Hungarian
    matching) and are classified BATCH_FACES at a time, in one model call. Rows are in frame order.
    model, min_confidence: as fer.predict's (None is the shipped model, on onnxruntime); progress=True shows a
    tqdm bar when stderr is a terminal.
    Errors as read_frames; an IncompleteVideoError carries the rows analysed before it in .predictions.
    """
    check_sampling(every, fps)
    min_confidence = check_min_confidence(min_confidence)
    if isinstance(whole_frame_every, bool) or not isinstance(whole_frame_every, int) or whole_frame_every < 1:
        raise DataError(f"whole_frame_every must be a whole number, 1 or more (got {whole_frame_every!r})")
    model = model_or_default(model)
    finder, tracker = FaceFinder(whole_frame_every), FaceTracker()
    rows: list[dict] = []
    pending: list[tuple[dict, np.ndarray]] = []  # faces found, waiting for the next batched model call
    with open_video(path) as (capture, info), progress_bar(info, every, fps, progress) as bar:
        try:
            for number, seconds, bgr in decoded_frames(capture, info, every, fps):
                frame = searched_frame(number, seconds, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                late = finder.find(frame)
                tracks = tracker.update([original_box(frame, box) for box in frame.boxes])
                for index, (box, track) in enumerate(zip(frame.boxes, tracks)):
                    pending.append(face_row(path, frame, box, track))
                    pending += [face_row(path, earlier, found, track) for earlier, found in late.get(index, [])]
                if len(pending) >= BATCH_FACES:
                    rows += classify(model, pending, min_confidence)
                    pending = []
                bar.update()
        except IncompleteVideoError as error:
            error.predictions = as_table(rows + classify(model, pending, min_confidence))
            raise
    return as_table(rows + classify(model, pending, min_confidence))


def track_summary(predictions: pd.DataFrame, min_confidence: float = 0.0) -> pd.DataFrame:
    """Per track: frames seen, first and last time, dominant emotion (argmax of the mean probabilities, "uncertain"
    where that mean is below min_confidence), the means."""
    grouped = predictions.groupby("track", sort=True)
    summary = grouped.agg(frames=("frame", "size"), first_s=("time_s", "min"), last_s=("time_s", "max"))
    means = grouped[PROBABILITY_COLUMNS].mean()
    summary["label"] = [confident_label(row, min_confidence) for row in means.to_numpy()]
    return summary.join(means.round(4)).reset_index()


def write_annotated_video(
    path: str | Path,
    predictions: pd.DataFrame,
    output_path: str | Path,
    every: int = 1,
    fps: float | None = None,
) -> Path:
    """Copy the video with each face's box, track id and label drawn; returns the file written.

    Every decodable frame of the input is written, at its frame rate, so the copy has the input's
    frame count; each shows the boxes of the nearest analysed frame (give the every or fps that
    predict_video used). mp4v into the .mp4 asked for, or MJPG into .avi beside it where OpenCV
    has no mp4v encoder (and for an .avi asked for). DataError when it cannot be written.
    """
    check_sampling(every, fps)
    faces_by_frame: dict[int, list[dict]] = {}
    for face in predictions.to_dict("records"):
        faces_by_frame.setdefault(int(face["frame"]), []).append(face)
    with open_video(path) as (capture, info), video_writer(Path(output_path), info) as (writer, written):
        require_frame_rate(info, fps)
        try:
            for number, _, bgr in decoded_frames(capture, info, 1, None):
                source = nearest_analysed_frame(number, info, every, fps)
                draw_faces(bgr, faces_by_frame.get(source, []))
                writer.write(bgr)
        except IncompleteVideoError:
            pass  # predict_video reports it; the copy holds the frames that could be decoded
    return written


def check_sampling(every: int, fps: float | None) -> None:
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise DataError(f"every must be a whole number of frames, 1 or more (got {every!r})")
    if fps is None:
        return
    if every != 1:
        raise DataError("sample with every or with fps, not both")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not math.isfinite(fps) or fps <= 0:
        raise DataError(f"fps must be a positive number of frames per second (got {fps!r})")


def is_sampled(number: int, video_fps: float | None, every: int, fps: float | None) -> bool:
    """Whether frame number is analysed: every Nth, or the first frame at or after each 1/fps seconds."""
    if fps is None:
        return number % every == 0
    if number == 0 or fps >= video_fps:
        return True
    step = fps / video_fps
    return math.floor(number * step + 1e-9) != math.floor((number - 1) * step + 1e-9)


def expected_samples(info: VideoInfo, every: int, fps: float | None) -> int | None:
    if info.frame_count is None or (fps is not None and info.fps is None):
        return None
    if fps is None:
        return math.ceil(info.frame_count / every)
    if fps >= info.fps:
        return info.frame_count
    return math.floor((info.frame_count - 1) * fps / info.fps + 1e-9) + 1


def sampled_around(number: int, video_fps: float | None, every: int, fps: float | None) -> tuple[int, int]:
    """The analysed frames at or before number, and after it: computed, not searched, so that any sampling ends."""
    if fps is None or fps >= video_fps:
        previous = number - number % (every if fps is None else 1)
        return previous, previous + (every if fps is None else 1)
    step = fps / video_fps  # is_sampled: frame n is the first at or after each 1/fps seconds
    if not step > 1e-12:  # no second analysed frame within any video's length
        return 0, sys.maxsize
    count = math.floor(number * step + 1e-9)  # analysed frames after frame 0, up to number
    previous = 0 if count == 0 else math.ceil((count - 1e-9) / step)
    following = math.ceil((count + 1 - 1e-9) / step)
    for _ in range(3):  # rounding: a step or two at most, and never a search
        if previous > 0 and not is_sampled(previous, video_fps, every, fps):
            previous -= 1
        if not is_sampled(following, video_fps, every, fps):
            following += 1
    return previous, max(following, number + 1)


def nearest_analysed_frame(number: int, info: VideoInfo, every: int, fps: float | None) -> int:
    previous, following = sampled_around(number, info.fps, every, fps)
    if previous == number:
        return number
    beyond_the_end = info.frame_count is not None and following >= info.frame_count
    return previous if beyond_the_end or number - previous <= following - number else following


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """Keep OpenCV's own warnings off stderr while opening a file: a bad one is reported as one DataError line."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[cv2.VideoCapture, VideoInfo]]:
    """An open capture and its VideoInfo, checked before any frame is decoded; DataErrors name the file."""
    path = Path(path)
    problem = input_problem(path)
    if problem:
        raise DataError(f"{path}: {problem}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file, not a video")
    refuse_still_image(path)
    with quiet_opencv(), name_opencv_can_take(path) as usable:
        capture = cv2.VideoCapture(str(usable), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise DataError(f"{path}: not a video OpenCV can read (unknown format, or cut off before its index)")
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > MAX_FRAME_PIXELS:
            raise DataError(f"{path}: frames too large ({width}x{height} pixels; at most {MAX_FRAME_PIXELS:,})")
        if width <= 0 or height <= 0:
            raise DataError(f"{path}: not a video OpenCV can read (no picture size)")
        video_fps = capture.get(cv2.CAP_PROP_FPS)
        frame_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        yield (
            capture,
            VideoInfo(
                path=path,
                width=width,
                height=height,
                fps=float(video_fps) if math.isfinite(video_fps) and video_fps > 0 else None,
                frame_count=int(frame_count) if 0 < frame_count < 2**40 else None,
            ),
        )
    finally:
        capture.release()


@contextmanager
def name_opencv_can_take(path: Path) -> Iterator[Path]:
    """path, or where its name is not UTF-8 (OpenCV's VideoCapture crashes the process on such names) a symbolic
    link to it with a plain name, in a temporary folder removed afterwards."""
    try:
        str(path).encode("utf-8")
        yield path
        return
    except UnicodeEncodeError:
        pass
    with tempfile.TemporaryDirectory(prefix="fer-video-") as folder:
        link = Path(folder) / f"video{path.suffix.encode('ascii', 'replace').decode()}"
        os.symlink(os.path.abspath(path), link)
        yield link


def refuse_still_image(path: Path) -> None:
    """FFmpeg reads a JPEG as a one-frame video; a photo given as a video is a mistake worth naming."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=STILL_IMAGE_FORMATS) as image:
                still, image_format = getattr(image, "n_frames", 1) == 1, image.format
    except Image.DecompressionBombError:
        still, image_format = True, "very large"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return
    if still:
        raise DataError(f"{path}: a still image ({image_format}), not a video")


def decoded_frames(capture: cv2.VideoCapture, info: VideoInfo, every: int, fps: float | None) -> Iterator[Frame]:
    """(number, seconds, BGR array) of the sampled frames; the others are only grabbed, not converted."""
    require_frame_rate(info, fps)
    decoded = 0
    while capture.grab():
        number, decoded = decoded, decoded + 1
        if not is_sampled(number, info.fps, every, fps):
            continue
        ok, bgr = capture.retrieve()
        if not ok:
            decoded -= 1
            break
        seconds = number / info.fps if info.fps else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        yield number, seconds, bgr
    if decoded == 0:
        raise DataError(f"{info.path}: no frame could be decoded (a video without frames, or a corrupt one)")
    # Containers without a frame index give an estimate (duration x frame rate): allow it to be a little off.
    if info.frame_count is not None and info.frame_count - decoded > max(1, info.frame_count // 100):
        raise IncompleteVideoError(
            f"{info.path}: only {decoded} of {info.frame_count} frames could be decoded (truncated or corrupt "
            f"video); results cover those {decoded}",
            frames_decoded=decoded,
            frame_count=info.frame_count,
        )


def require_frame_rate(info: VideoInfo, fps: float | None) -> None:
    if fps is not None and info.fps is None:
        raise DataError(f"{info.path}: the video has no frame rate; sample with every=N instead of fps")


def progress_bar(info: VideoInfo, every: int, fps: float | None, wanted: bool) -> tqdm:
    total = expected_samples(info, every, fps)
    shown = wanted and sys.stderr.isatty() and (total is None or total > PROGRESS_MIN_FRAMES)
    return tqdm(total=total, desc=info.path.name, unit="frame", file=sys.stderr, disable=not shown, leave=False)


def searched_frame(number: int, seconds: float, rgb: np.ndarray) -> SearchedFrame:
    """The frame in gray at full size (its faces' crops) and at most DETECTION_SIDE a side (where they are found)."""
    photo = bounded(Image.fromarray(rgb), "frame")
    gray = photo.image.convert("L")
    shrink = min(1.0, DETECTION_SIDE / max(gray.size))
    small = np.asarray(gray)
    if shrink < 1:
        size = (round(gray.width * shrink), round(gray.height * shrink))
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    return SearchedFrame(number, seconds, gray, photo.scale, small, shrink)


def gray_box(frame: SearchedFrame, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return box if frame.shrink == 1 else tuple(int(round(value / frame.shrink)) for value in box)


def original_box(frame: SearchedFrame, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return tuple(int(round(value * frame.scale)) for value in gray_box(frame, box))


def face_row(path, frame: SearchedFrame, box, track: int) -> tuple[dict, np.ndarray]:
    """A face's row (without its label) and its 48x48 crop."""
    x, y, width, height = original_box(frame, box)
    row = {"path": str(path), "frame": frame.number, "time_s": round(frame.seconds, 3), "track": track}
    return {**row, "x": x, "y": y, "w": width, "h": height}, crop_face(frame.gray, gray_box(frame, box))


def faces_in_frame(rgb: np.ndarray) -> tuple[list[tuple[int, int, int, int]], list[np.ndarray]]:
    """Boxes in the frame's pixels and 48x48 crops of its faces, found and cropped as fer.predict does a photo."""
    frame = searched_frame(0, 0.0, rgb)
    boxes = detect_faces(frame.small)
    return [original_box(frame, box) for box in boxes], [crop_face(frame.gray, gray_box(frame, box)) for box in boxes]


def classify(model, pending: list[tuple[dict, np.ndarray]], min_confidence: float = 0.0) -> list[dict]:
    """The faces' rows with label and probabilities, from one model call on all their crops."""
    if not pending:
        return []
    faces = np.stack([crop for _, crop in pending])[..., np.newaxis].astype(np.float32)
    probabilities = class_probabilities(model, faces)
    return [
        {
            **face,
            "label": confident_label(row, min_confidence),
            **{column: round(float(p), 4) for column, p in zip(PROBABILITY_COLUMNS, row)},
        }
        for (face, _), row in zip(pending, probabilities)
    ]


def as_table(rows: list[dict]) -> pd.DataFrame:
    """The rows in frame order (a face found late comes after its frame's others)."""
    integers = dict.fromkeys(["frame", "track", "x", "y", "w", "h"], "int64")
    floats = dict.fromkeys(["time_s", *PROBABILITY_COLUMNS], "float64")
    table = pd.DataFrame(rows, columns=COLUMNS).astype({**integers, **floats})
    return table.sort_values("frame", kind="stable").reset_index(drop=True)


@contextmanager
def video_writer(output_path: Path, info: VideoInfo) -> Iterator[tuple[cv2.VideoWriter, Path]]:
    """A writer to a file in a temporary folder, copied to output_path (fer.atomic: a link is followed, a FIFO or a
    device written to, a regular file replaced atomically) when the block succeeds. OpenCV never sees the output's
    own name, which may not be UTF-8 (its writer crashes the process on such names)."""
    from fer.atomic import atomic_file, check_output_name

    try:
        check_output_name(output_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{output_path}: cannot write there ({error.strerror or error})") from None
    choices = [(output_path, "MJPG")] if output_path.suffix.lower() == ".avi" else [(output_path, "mp4v")]
    if output_path.suffix.lower() != ".avi":
        choices.append((output_path.with_suffix(".avi"), "MJPG"))
    try:  # beside the output where OpenCV can take its folder's name (no second copy in a small /tmp)
        str(output_path.parent.resolve()).encode("utf-8")
        scratch_parent = output_path.parent
    except UnicodeEncodeError:
        scratch_parent = None
    with tempfile.TemporaryDirectory(prefix=".fer-annotated-", dir=scratch_parent) as folder:
        for final, codec in choices:
            partial = Path(folder) / f"partial{final.suffix.lower()}"
            with quiet_opencv():
                writer = cv2.VideoWriter(
                    str(partial), cv2.VideoWriter_fourcc(*codec), info.fps or DEFAULT_FPS, (info.width, info.height)
                )
            if writer.isOpened():
                break
            writer.release()
        else:
            raise DataError(f"{output_path}: cannot write a video (no mp4v or MJPG encoder)")
        try:
            yield writer, final
            writer.release()
            with open(partial, "rb") as source, atomic_file(final) as target:
                shutil.copyfileobj(source, target, 1 << 20)
        except OSError as error:
            raise DataError(f"{final}: cannot write ({error.strerror or error})") from None
        finally:
            writer.release()


def draw_faces(bgr: np.ndarray, faces: list[dict]) -> None:
    """Draw each face's box and '#track label p' on the frame, in place, in its track's colour."""
    longest_side = max(bgr.shape[:2])
    line = max(2, longest_side // 250)
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.45, longest_side / 1100)
    for face in faces:
        x, y, width, height = (int(face[key]) for key in ("x", "y", "w", "h"))
        colour = TRACK_COLORS[(int(face["track"]) - 1) % len(TRACK_COLORS)]
        cv2.rectangle(bgr, (x, y), (x + width, y + height), colour, line)
        text = f"#{face['track']} {face['label']} {max(face[column] for column in PROBABILITY_COLUMNS):.2f}"
        (text_width, text_height), baseline = cv2.getTextSize(text, font, font_scale, 1)
        top = max(0, y - text_height - baseline - 2 * line)
        cv2.rectangle(bgr, (x, top), (x + text_width + 2 * line, top + text_height + baseline + line), (0, 0, 0), -1)
        cv2.putText(bgr, text, (x + line, top + text_height + line), font, font_scale, colour, 1, cv2.LINE_AA)
