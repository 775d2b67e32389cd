"""Loading the full CSV: fer.load_csv cold and cached against a naive per-row split() parse, in one run.

python -m benchmarks.load_csv [path/to/fer2013.csv(.gz)]   # default: $FER_DATA, else data/fer2013
"""

import csv
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.readme_section import publish
from fer.data.datasets import CSV_NAMES
from fer.data.locations import default_data_dir


def naive_load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The usual tutorial loop: one row at a time, pixels.split() into a float array."""
    opener = gzip.open if path.suffix == ".gz" else open
    images, labels = [], []
    with opener(path, "rt") as handle:
        for row in csv.DictReader(handle):
            images.append(np.array(row["pixels"].split(), dtype="float32").reshape(48, 48, 1))
            labels.append(int(row["emotion"]))
    return np.stack(images), np.array(labels)


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> None:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        path = next(default_data_dir() / name for name in CSV_NAMES if (default_data_dir() / name).is_file())
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FER_CACHE_DIR"] = cache  # an empty cache: the first load is cold
        from fer.data.csv_form import load_csv

        naive_seconds, (naive_images, _) = timed(lambda: naive_load(path))
        cold_seconds, ours = timed(lambda: load_csv(path))
        cached_seconds, _ = timed(lambda: load_csv(path))
    rows = sum(len(split) for split in ours.values())
    assert rows == len(naive_images), "both parsers must read every row"
    lines = [
        f"file: {path} ({rows} rows); load average {os.getloadavg()[0]:.1f} at the end",
        f"naive per-row split():  {naive_seconds:7.2f} s",
        f"fer.load_csv, cold:     {cold_seconds:7.2f} s   naive/cold   = {naive_seconds / cold_seconds:6.1f}x",
        f"fer.load_csv, cached:   {cached_seconds:7.2f} s   naive/cached = {naive_seconds / cached_seconds:6.1f}x",
    ]
    publish("load-csv", "1. Loading the full CSV", "python -m benchmarks.load_csv", lines)


if __name__ == "__main__":
    main()
