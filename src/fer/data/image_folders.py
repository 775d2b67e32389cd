"""Load the image-folder form of FER-2013: train/<emotion>/*.jpg and test/<emotion>/*.jpg."""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fer.data.cache import cached_splits, digest_files
from fer.data.grayscale import to_gray_48
from fer.data.labels import EMOTIONS, FOLDER_TO_LABEL, USAGES
from fer.data.splits import Splits, splits_from_arrays
from fer.errors import DataError, input_problem, reading_image

# Files whose name has no Usage prefix take their folder's Usage.
FOLDER_USAGE = {"train": "Training", "test": "PrivateTest"}


def load_image_folders(root: str | Path, use_cache: bool = True) -> Splits:
    """Load root/train and root/test into per-Usage gray images (N, 48, 48, 1) uint8 and labels.

    PublicTest and PrivateTest images in test/ are told apart by their file-name prefix.
    """
    root = Path(root)
    files = list_image_files(root)
    if not use_cache:
        return decode_files(root, files)
    return cached_splits(f"folders-{digest_files(files, root)}", lambda: decode_files(root, files))


def list_image_files(root: Path) -> list[Path]:
    """Every file under root/{train,test}/<emotion>/, after checking the folder layout."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    files = []
    for part in FOLDER_USAGE:
        part_dir = root / part
        if not part_dir.is_dir():
            raise DataError(f"{root}: no {part}/ folder; expected {part}/<emotion>/ with one folder per emotion")
        for folder in sorted(p for p in part_dir.iterdir() if not p.name.startswith(".")):
            if not folder.is_dir():
                continue
            if folder.name not in FOLDER_TO_LABEL:
                raise DataError(f"{folder}: folder named like no emotion; expected one of {', '.join(EMOTIONS)}")
        for emotion in EMOTIONS:
            folder = part_dir / emotion
            if not folder.is_dir():
                raise DataError(f"{part_dir}: missing class folder {emotion}/")
            entries = sorted(folder.iterdir())
            for entry in entries:  # nothing inside a class folder is skipped without a word, but hidden files
                if entry.is_dir():
                    raise DataError(f"{entry}: a folder inside class folder {emotion}/; put its images in {folder}")
            entries = [entry for entry in entries if not entry.name.startswith(".")]  # .DS_Store, half-written files
            for entry in entries:
                problem = input_problem(entry)
                if problem:
                    raise DataError(f"{entry}: {problem}")
            images = entries
            if not images:
                raise DataError(f"{folder}: folder has no images")
            files.extend(images)
    return files


def usage_of(path: Path) -> str:
    prefix = path.name.split("_", 1)[0]
    return prefix if prefix in USAGES else FOLDER_USAGE[path.parent.parent.name]


def decode_files(root: Path, files: list[Path]) -> Splits:
    images = np.stack([read_gray_48(path) for path in files])[..., np.newaxis]
    labels = np.array([FOLDER_TO_LABEL[path.parent.name] for path in files], dtype=np.int64)
    usages = np.array([usage_of(path) for path in files])
    return splits_from_arrays(images, labels, usages)


def read_gray_48(path: Path) -> np.ndarray:
    """Decode one image as 48x48 gray uint8; colour or other sizes are converted."""
    with reading_image(path), Image.open(io.BytesIO(path.read_bytes())) as image:
        if getattr(image, "n_frames", 1) > 1:
            raise DataError(f"{path}: {image.n_frames} frames in one image; a FER-2013 face is a single image")
        return to_gray_48(ImageOps.exif_transpose(image))
