"""Read any common photo (path, PIL image or array) as an upright image of bounded size."""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fer.data.grayscale import to_8bit
from fer.errors import DataError, reading_image

MAX_SIDE = 2048  # photos are decoded (JPEG) or shrunk to at most this many pixels a side
MAX_PIXELS = 100_000_000  # refuse larger images before decoding them: memory stays bounded
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Photo:
    """An RGB photo at most MAX_SIDE a side, and the factor from its pixels to the original's."""

    image: Image.Image
    scale: float
    name: str


def read_photo(source: "str | Path | Image.Image | np.ndarray") -> Photo:
    """Open a photo with EXIF rotation applied, flattened onto white if transparent, as RGB."""
    if isinstance(source, np.ndarray):
        return bounded(from_array(source), "array")
    if isinstance(source, Image.Image):
        return bounded(source, getattr(source, "filename", "") or "image")
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with reading_image(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # sizes are checked below
            image = Image.open(path)
        with image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise DataError(f"{path}: image too large ({width}x{height} pixels; at most {MAX_PIXELS:,})")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG decodes at a reduced scale: less memory
            photo = bounded(ImageOps.exif_transpose(image), str(path), original_side=max(width, height))
            photo.image.load()
            return photo


def from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise DataError(f"array of shape {array.shape}: expected HxW gray, HxWx3 RGB or HxWx4 RGBA")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def bounded(image: Image.Image, name: str, original_side: int | None = None) -> Photo:
    """The image as RGB, shrunk to at most MAX_SIDE a side; original_side is the source's longest side."""
    original_side = original_side or max(image.size)
    image = to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, "white")
        image.alpha_composite(rgba)
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return Photo(image=image, scale=original_side / max(image.size), name=name)


def expand_image_paths(paths: list[str], extra_suffixes: set[str] = frozenset()) -> list[Path]:
    """Files as given; folders replaced by the image files (and files with extra_suffixes) directly inside, sorted."""
    expanded, wanted = [], IMAGE_SUFFIXES | set(extra_suffixes)
    for path in map(Path, paths):
        if path.is_dir():
            found = (p for p in path.iterdir() if p.suffix.lower() in wanted and not p.name.startswith("."))
            expanded.extend(sorted(found))  # hidden files left half-written by other programs are skipped
        else:
            expanded.append(path)
    return expanded
