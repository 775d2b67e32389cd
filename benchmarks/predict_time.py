"""Time fer predict on a 512x512 photo: the whole command, one predict() call, and the model alone.

    python -m benchmarks.predict_time [photo]   # default: docs/astronaut.jpg (512x512)
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import fer
from benchmarks.readme_section import publish
from fer.inference.faces import crop_face, detect_faces
from fer.inference.photos import read_photo
from fer.inference.predict import default_model

REPEATS = 20


def median_seconds(function, repeats: int = REPEATS) -> float:
    function()  # warm-up: graph tracing and caches are not what a repeated call pays
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    photo_path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "docs" / "astronaut.jpg"
    model = default_model()
    photo = read_photo(photo_path)
    gray = photo.image.convert("L")
    face = crop_face(gray, detect_faces(np.asarray(gray))[0])[None, ..., None].astype(np.float32)

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fer.cli", "predict", str(photo_path)], check=True, capture_output=True)
    command = time.perf_counter() - started
    call = median_seconds(lambda: fer.predict(photo_path, model))
    detection = median_seconds(lambda: detect_faces(np.asarray(read_photo(photo_path).image.convert("L"))))
    model_alone = median_seconds(lambda: model(face, training=False))

    lines = [
        f"photo: {photo_path} ({photo.image.width}x{photo.image.height}); load average {os.getloadavg()[0]:.1f}",
        f"fer predict command (new process, imports, model load): {command * 1000:8.1f} ms",
        f"fer.predict(path), warm, median of {REPEATS}:               {call * 1000:8.1f} ms",
        f"  read + face detection alone:                          {detection * 1000:8.1f} ms",
        f"  model alone on the 48x48 face:                        {model_alone * 1000:8.1f} ms",
        f"model share of a warm predict() call: {model_alone / call:.1%}",
    ]
    publish("predict-time", "5. fer predict on a 512x512 photo", "python -m benchmarks.predict_time", lines)


if __name__ == "__main__":
    main()
