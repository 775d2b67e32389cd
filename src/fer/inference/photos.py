"""Read any common photo (path, PIL image or array) as an upright image of bounded size."""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fer.data.grayscale import to_8bit
from fer.errors import DataError, input_problem, reading_image

MAX_SIDE = 2048  # photos are decoded (JPEG) or shrunk to at most this many pixels a side
MAX_PIXELS = 100_000_000  # refuse larger images before decoding them: memory stays bounded
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Photo:
    """An RGB photo at most MAX_SIDE a side, and the factor from its pixels to the original's."""

    image: Image.Image
    scale: float
    name: str
    frame_count: int = 1  # an animated GIF or a multi-page TIFF holds more than one; only the first is read


def read_photo(source: "str | Path | Image.Image | np.ndarray") -> Photo:
    """Open a photo with EXIF rotation applied, flattened onto white if transparent, as RGB."""
    if isinstance(source, np.ndarray):
        return bounded(from_array(source), "array")
    if isinstance(source, Image.Image):
        with reading_image(getattr(source, "filename", "") or "image"):
            return bounded(source, getattr(source, "filename", "") or "image")
    if not isinstance(source, str | Path):
        raise DataError(f"a {type(source).__name__}: expected a path, a PIL image or a numpy array")
    path = Path(source)
    problem = input_problem(path)
    if problem:
        raise DataError(f"{path}: {problem}")
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
            photo.frame_count = getattr(image, "n_frames", 1)
            return photo




def from_array(array: np.ndarray) -> Image.Image:
    """An image from an array: HxW gray, HxWx3 RGB or HxWx4 RGBA, of

    - uint8 (0..255) or uint16 (0..65535, divided by 257 as 16-bit images are), or other integers in 0..255;
    - floats in 0..1 (as matplotlib.pyplot.imread returns) when none is above 1, else in 0..255.

    A DataError for anything else (bool, negative, not finite, integers over 255 or floats over 255)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise DataError(f"array of shape {array.shape}: expected HxW gray, HxWx3 RGB or HxWx4 RGBA")
    if array.size == 0:
        raise DataError(f"array of shape {array.shape}: an empty image")
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:  # either byte order
        array = np.rint(array / 257.0)
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise DataError(f"array of {array.dtype}: holds NaN or infinite values")
        if array.min() >= 0 and array.max() <= 1:
            array = np.rint(array * 255.0)
    elif array.dtype.kind not in "ui":
        raise DataError(f"array of {array.dtype}: expected uint8, uint16, other integers 0..255, or floats")
    if array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
        low, high = array.min(), array.max()
        raise DataError(
            f"array of {array.dtype} with values {low:g}..{high:g}: expected 0..255 (uint16: 0..65535; floats: 0..1)"
        )
    return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))


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
        try:
            found = [p for p in path.iterdir() if p.suffix.lower() in wanted and not p.name.startswith(".")]
        except OSError:  # not a folder, or one that cannot be listed: the input itself, whose reading says why
            expanded.append(path)
            continue
        # hidden files left half-written by other programs are skipped; a folder with nothing to read stays, to be
        # reported as such
        expanded.extend(sorted(found) or [path])
    return expanded
