"""A disk cache of parsed data sets, keyed by the content of their source, in .npz (no pickle)."""

import hashlib
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from fer.atomic import atomic_file
from fer.data.labels import IMAGE_SIZE, NUM_CLASSES, USAGES
from fer.data.splits import LabeledImages, Splits

CACHE_FORMAT_VERSION = "2"  # 2: each entry names its key


def cache_dir() -> Path:
    """Where parsed data sets are kept: $FER_CACHE_DIR, else ~/.cache/fer."""
    return Path(os.environ.get("FER_CACHE_DIR") or Path.home() / ".cache" / "fer")


def digest_files(paths: Iterable[Path], root: Path | None = None) -> str:
    """SHA-256 over the names (relative to root) and bytes of the given files."""
    digest = hashlib.sha256(CACHE_FORMAT_VERSION.encode())
    for path in paths:
        name = os.fsencode(path.relative_to(root) if root else path.name)  # any name, UTF-8 or not
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # each name and content preceded by its length: no two different sets of files give the same bytes
            digest.update(len(name).to_bytes(8, "big") + name + size.to_bytes(8, "big"))
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cached_splits(key: str, parse: Callable[[], Splits]) -> Splits:
    """Return the splits stored under key, or parse them and store them for next time.

    A damaged or foreign entry is ignored, parsed again and replaced, with one warning line on stderr;
    a cache that cannot be written is warned about and skipped.
    """
    path = cache_dir() / f"{key}.npz"
    if path.exists():
        try:
            return read_splits(path, key)
        except Exception as error:  # noqa: BLE001 - whatever is wrong with the file, the source is parsed again
            warn(f"{path}: damaged cache entry ({type(error).__name__}: {error}); parsing the source again")
    splits = parse()
    try:
        save_splits(splits, path, key)
    except OSError as error:
        warn(f"{path}: cannot write the cache ({error}); the data is not cached")
    return splits


def warn(message: str) -> None:
    print(f"fer: warning: {message}", file=sys.stderr)


def read_splits(path: Path, key: str) -> Splits:
    """The splits stored at path under key, checked: uint8 48x48x1 images, labels 0..6, one label per image.

    Never unpickled. The entry must name the key it was stored under: a file copied or renamed into
    place is not taken for the parse of another source.
    """
    expected = sorted(["key", *(f"{usage}_{part}" for usage in USAGES for part in ("images", "labels"))])
    with np.load(path, allow_pickle=False) as stored:
        if sorted(stored.files) != expected:
            raise ValueError(f"holds {', '.join(stored.files) or 'nothing'}, not the three splits")
        if str(stored["key"]) != key:
            raise ValueError("it was stored for another source")
        splits = {usage: LabeledImages(stored[f"{usage}_images"], stored[f"{usage}_labels"]) for usage in USAGES}
    for usage, split in splits.items():
        images, labels = split.images, split.labels
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
            raise ValueError(f"{usage} images are {images.dtype} {images.shape}, not uint8 (N, 48, 48, 1)")
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            raise ValueError(f"{usage} labels are {labels.dtype} {labels.shape}, not {len(images)} integers")
        if len(labels) and not (0 <= labels.min() and labels.max() < NUM_CLASSES):
            raise ValueError(f"{usage} labels lie outside 0..{NUM_CLASSES - 1}")
    return splits


def save_splits(splits: Splits, path: Path, key: str) -> None:
    """Write the splits to path as .npz, with the key they are stored under, atomically (write, then rename)."""
    arrays = {"key": np.array(key)}
    for usage, split in splits.items():
        arrays[f"{usage}_images"] = split.images
        arrays[f"{usage}_labels"] = split.labels
    with atomic_file(path) as handle:
        np.savez(handle, **arrays)
