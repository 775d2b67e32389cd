"""A disk cache of parsed data sets, keyed by the content of their source, in .npz (no pickle)."""

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from fer.atomic import atomic_file
from fer.data.labels import USAGES
from fer.data.splits import LabeledImages, Splits

CACHE_FORMAT_VERSION = "1"


def cache_dir() -> Path:
    """Where parsed data sets are kept: $FER_CACHE_DIR, else ~/.cache/fer."""
    return Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "fer"))


def digest_files(paths: Iterable[Path], root: Path | None = None) -> str:
    """SHA-256 over the names (relative to root) and bytes of the given files."""
    digest = hashlib.sha256(CACHE_FORMAT_VERSION.encode())
    for path in paths:
        name = path.relative_to(root) if root else path.name
        digest.update(str(name).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cached_splits(key: str, parse: Callable[[], Splits]) -> Splits:
    """Return the splits stored under key, or parse them and store them for next time."""
    path = cache_dir() / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {usage: LabeledImages(stored[f"{usage}_images"], stored[f"{usage}_labels"]) for usage in USAGES}
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache entry is parsed again and replaced
    splits = parse()
    save_splits(splits, path)
    return splits


def save_splits(splits: Splits, path: Path) -> None:
    """Write the splits to path as .npz, atomically (write, then rename)."""
    arrays = {}
    for usage, split in splits.items():
        arrays[f"{usage}_images"] = split.images
        arrays[f"{usage}_labels"] = split.labels
    with atomic_file(path) as handle:
        np.savez(handle, **arrays)
