"""Emotions over time: fer.predict_video's frames per second on a 640x480 clip; photos batched against one at a time.

    python benchmarks/video_throughput.py [--frames 48] [--photos 16] [--rounds 3]

Both inputs are made from docs/astronaut.jpg (no public video is available offline): a camera
slowly panning and zooming over it. One at a time is fer's photo path (`predict_photo`, one model
call per photo); batched is the video path's (the same detection and crops, then one model call
for the faces of many images). The variants take turns; each one's fastest round is kept, and every
round is printed. The output replaces this script's section of benchmarks/README.md.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from benchmarks.readme_section import publish
from fer.inference.photos import read_photo
from fer.inference.predict import default_model, predict_photo
from fer.inference.video import classify, faces_in_frame, predict_video, read_frames
from fer.training.machine import describe_machine, machine_summary

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTO = REPO_ROOT / "docs" / "astronaut.jpg"
SIZE = (640, 480)
CLIP_FPS = 24


def frames(count: int) -> list[np.ndarray]:
    """RGB 640x480 frames: a camera slowly panning and zooming over the photo, the face always in view."""
    photo = Image.open(PHOTO).convert("RGB")
    images = []
    for index in range(count):
        step = index % 48
        side = 800 + 2 * step
        window = (3 * step, 2 * step, 3 * step + SIZE[0], 2 * step + SIZE[1])
        images.append(np.asarray(photo.resize((side, side), Image.Resampling.BILINEAR).crop(window)))
    return images


def write_clip(path: Path, images: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), CLIP_FPS, SIZE)
    for image in images:
        writer.write(np.ascontiguousarray(image[..., ::-1]))
    writer.release()
    return path


def one_at_a_time(paths: list[Path], model) -> list[str]:
    return [face["label"] for path in paths for face in predict_photo(read_photo(path), model)]


def batched(paths: list[Path], model) -> list[str]:
    pending = []
    for path in paths:
        _, crops = faces_in_frame(np.asarray(read_photo(path).image))
        pending += [({}, crop) for crop in crops]
    return [face["label"] for face in classify(model, pending)]


def rounds_of(variants: dict, rounds: int) -> tuple[dict[str, list[float]], dict]:
    """Seconds per round of each variant, the variants taking turns; and each one's last result."""
    times, results = {name: [] for name in variants}, {}
    for _ in range(rounds):
        for name, run in variants.items():
            started = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - started)
    return times, results


def report(frame_count: int, photo_count: int, rounds: int) -> list[str]:
    model = default_model()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        clip = write_clip(scratch / "clip.mp4", frames(frame_count))
        photos = []
        for index, image in enumerate(frames(photo_count)):
            photos.append(scratch / f"photo_{index:03d}.jpg")
            Image.fromarray(image).save(photos[-1], quality=92)
        predict_video(write_clip(scratch / "warm_up.mp4", frames(2)), model=model)  # first calls trace and allocate
        video_times, video_results = rounds_of({"video": lambda: predict_video(clip, model=model)}, rounds)
        started = time.perf_counter()
        for _, _, rgb in read_frames(clip):
            faces_in_frame(rgb)
        finding = time.perf_counter() - started
        photo_times, photo_results = rounds_of(
            {"one": lambda: one_at_a_time(photos, model), "batched": lambda: batched(photos, model)}, rounds
        )
    assert photo_results["one"] == photo_results["batched"], "both paths must name the same emotions"
    video_times, faces = video_times["video"], len(video_results["video"])

    def rounds_text(times: list[float]) -> str:
        return ", ".join(f"{seconds:.1f}" for seconds in times)

    video_seconds = min(video_times)
    single, together = min(photo_times["one"]), min(photo_times["batched"])
    return [
        f"{machine_summary(describe_machine())}; load average {load:.1f} at the start",
        f"clip: {SIZE[0]}x{SIZE[1]}, {frame_count} frames at {CLIP_FPS} fps ({frame_count / CLIP_FPS:.1f} s), "
        f"from {PHOTO.relative_to(REPO_ROOT)}; {faces} faces found; shipped model, every frame analysed",
        f"fer.predict_video:           {video_seconds:6.2f} s  ({frame_count / video_seconds:5.1f} frames/s; "
        f"rounds: {rounds_text(video_times)} s)",
        f"  decoding and finding faces alone, one round: {finding:.2f} s",
        f"real time / processing time: {frame_count / CLIP_FPS / video_seconds:.2f}x",
        f"photos: {photo_count} JPEGs {SIZE[0]}x{SIZE[1]} made the same way; {len(photo_results['one'])} faces found",
        f"one at a time (predict_photo): {single:6.2f} s  ({photo_count / single:5.1f} photos/s; "
        f"rounds: {rounds_text(photo_times['one'])} s)",
        f"batched (one model call):      {together:6.2f} s  ({photo_count / together:5.1f} photos/s; "
        f"rounds: {rounds_text(photo_times['batched'])} s)",
        f"photos per second, batched / one at a time: {single / together:.2f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="frames in the 640x480 clip")
    parser.add_argument("--photos", type=int, default=16, help="photos in the folder")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each variant; the fastest is kept")
    args = parser.parse_args()
    lines = report(args.frames, args.photos, args.rounds)
    command = " ".join(["python -m benchmarks.video_throughput", *sys.argv[1:]])
    publish("video-throughput", "6. Emotions over time in a video", command, lines)


if __name__ == "__main__":
    main()
