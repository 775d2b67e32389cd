"""Emotions over time: fer.predict_video's frames per second on 640x480 and 1280x720 clips, every frame analysed,
with the shipped and the fast model (on onnxruntime); photos batched against one at a time.

    python benchmarks/video_throughput.py [--frames 96] [--photos 16] [--rounds 3]

The inputs are made from docs/astronaut.jpg (no public video is available offline): a camera
slowly panning and zooming over it. One at a time is fer's photo path (`predict_photo`, one model
call per photo); batched is the video path's (the same detection and crops, then one model call
for the faces of many images). The variants take turns; each one's fastest round is kept, and every
round is printed, with the faces found by searching every frame whole beside those of the real-time
search. The output replaces this script's section of benchmarks/README.md.
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
from fer.inference.runtime import load_classifier
from fer.inference.video import classify, faces_in_frame, predict_video
from fer.training.machine import cpu_summary

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTO = REPO_ROOT / "docs" / "astronaut.jpg"
SIZE = (640, 480)
SIZES = ((640, 480), (1280, 720))
CLIP_FPS = 24


def frames(count: int, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """RGB frames of size: a camera slowly panning and zooming over the photo, the face always in view."""
    photo = Image.open(PHOTO).convert("RGB")
    zoom = size[0] / SIZE[0]
    images = []
    for index in range(count):
        step = index % 48
        side = round((800 + 2 * step) * zoom)
        left, top = round(3 * step * zoom), round(2 * step * zoom)
        window = (left, top, left + size[0], top + size[1])
        images.append(np.asarray(photo.resize((side, side), Image.Resampling.BILINEAR).crop(window)))
    return images


def write_clip(path: Path, images: list[np.ndarray]) -> Path:
    size = (images[0].shape[1], images[0].shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), CLIP_FPS, size)
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
    models = {"shipped": default_model(), "fast": load_classifier("fast")}
    load = os.getloadavg()[0]
    lines = [f"{cpu_summary()}, onnxruntime; load average {load:.1f} at the start"]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for size in SIZES:
            clip = write_clip(scratch / f"clip_{size[0]}.mp4", frames(frame_count, size))
            for model in models.values():
                predict_video(write_clip(scratch / "warm_up.mp4", frames(2, size)), model=model)  # first calls
            variants = {
                name: lambda model=model, clip=clip: predict_video(clip, model=model) for name, model in models.items()
            }
            times, results = rounds_of(variants, rounds)
            whole = predict_video(clip, model=models["fast"], whole_frame_every=1)
            lines.append(
                f"clip: {size[0]}x{size[1]}, {frame_count} frames at {CLIP_FPS} fps, from "
                f"{PHOTO.relative_to(REPO_ROOT)}; every frame analysed; faces found: {len(results['shipped'])} "
                f"(every frame searched whole: {len(whole)})"
            )
            for name in models:
                seconds = min(times[name])
                lines.append(
                    f"  {name} model: {frame_count / seconds:6.1f} frames/s, {frame_count / CLIP_FPS / seconds:5.2f}x "
                    f"real time at {CLIP_FPS} fps (rounds: {', '.join(f'{value:.2f}' for value in times[name])} s)"
                )
        photos = []
        for index, image in enumerate(frames(photo_count)):
            photos.append(scratch / f"photo_{index:03d}.jpg")
            Image.fromarray(image).save(photos[-1], quality=92)
        model = models["shipped"]
        photo_times, photo_results = rounds_of(
            {"one": lambda: one_at_a_time(photos, model), "batched": lambda: batched(photos, model)}, rounds
        )
    assert photo_results["one"] == photo_results["batched"], "both paths must name the same emotions"

    def rounds_text(times: list[float]) -> str:
        return ", ".join(f"{seconds:.2f}" for seconds in times)

    single, together = min(photo_times["one"]), min(photo_times["batched"])
    return lines + [
        f"photos: {photo_count} JPEGs {SIZE[0]}x{SIZE[1]} made the same way; {len(photo_results['one'])} faces found; "
        "shipped model",
        f"one at a time (predict_photo): {single:6.2f} s  ({photo_count / single:5.1f} photos/s; "
        f"rounds: {rounds_text(photo_times['one'])} s)",
        f"batched (one model call):      {together:6.2f} s  ({photo_count / together:5.1f} photos/s; "
        f"rounds: {rounds_text(photo_times['batched'])} s)",
        f"photos per second, batched / one at a time: {single / together:.2f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96, help="frames in each clip")
    parser.add_argument("--photos", type=int, default=16, help="photos in the folder")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each variant; the fastest is kept")
    args = parser.parse_args()
    lines = report(args.frames, args.photos, args.rounds)
    command = " ".join(["python -m benchmarks.video_throughput", *sys.argv[1:]])
    publish("video-throughput", "6. Emotions over time in a video", command, lines)


if __name__ == "__main__":
    main()
