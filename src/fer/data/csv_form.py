"""Load the CSV form of FER-2013 (columns emotion, pixels, Usage; plain or .gz)."""

import gzip
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from fer.data.cache import cached_splits, digest_files
from fer.data.labels import IMAGE_SIZE, NUM_CLASSES, PIXELS_PER_IMAGE, USAGES
from fer.data.splits import Splits, splits_from_arrays
from fer.errors import DataError

REQUIRED_COLUMNS = ("emotion", "pixels", "Usage")
FIRST_DATA_LINE = 2  # line 1 is the header


def load_csv(path: str | Path, use_cache: bool = True) -> Splits:
    """Load fer2013.csv(.gz) into per-Usage gray images (N, 48, 48, 1) uint8 and labels."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if not use_cache:
        return parse_csv(path)
    return cached_splits(f"csv-{digest_files([path])}", lambda: parse_csv(path))


def parse_csv(path: Path) -> Splits:
    """Parse the CSV with vectorized NumPy/pandas operations; raise DataError on bad rows."""
    frame = read_frame(path)
    labels = parse_labels(path, frame["emotion"])
    usages = parse_usages(path, frame["Usage"])
    pixels = parse_pixels(path, frame["pixels"])
    images = pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
    return splits_from_arrays(images, labels, usages)


def read_frame(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError, gzip.BadGzipFile, zlib.error, EOFError) as error:
        raise DataError(f"{path}: cannot be read as CSV ({error})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header has {', '.join(frame.columns)}")
    if frame.empty:
        raise DataError(f"{path}: the file has a header but no rows")
    return frame


def line_of(row: int) -> int:
    return row + FIRST_DATA_LINE


def parse_labels(path: Path, emotion: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(emotion.str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0) | (numbers < 0) | (numbers >= NUM_CLASSES)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataError(
            f"{path}, line {line_of(row)}: emotion {emotion.iloc[row]!r} is not a label 0..{NUM_CLASSES - 1}"
        )
    return numbers.to_numpy().astype(np.int64)


def parse_usages(path: Path, usage: pd.Series) -> np.ndarray:
    usage = usage.str.strip()
    bad = ~usage.isin(USAGES)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataError(
            f"{path}, line {line_of(row)}: Usage {usage.iloc[row]!r} is unknown; expected one of {', '.join(USAGES)}"
        )
    return usage.to_numpy()


def parse_pixels(path: Path, pixels: pd.Series) -> np.ndarray:
    """All rows' pixel strings parsed in one NumPy call; a row-by-row scan only to locate an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # older NumPy warns, not raises, on a non-number
        try:
            values = np.fromstring(" ".join(pixels.to_numpy()), dtype=np.int32, sep=" ")
        except (DeprecationWarning, ValueError):
            values = None
    if values is None or values.size != len(pixels) * PIXELS_PER_IMAGE:
        raise locate_pixel_error(path, pixels)
    values = values.reshape(len(pixels), PIXELS_PER_IMAGE)
    bad = ((values < 0) | (values > 255)).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row][(values[row] < 0) | (values[row] > 255)][0]
        raise DataError(f"{path}, line {line_of(row)}: pixel value {value} is outside 0..255")
    return values.astype(np.uint8)


def locate_pixel_error(path: Path, pixels: pd.Series) -> DataError:
    for row, text in enumerate(pixels):
        tokens = text.split()
        for position, token in enumerate(tokens, start=1):
            if not token.lstrip("-").isdigit():
                return DataError(f"{path}, line {line_of(row)}: pixel {position} is {token!r}, not a whole number")
        if len(tokens) != PIXELS_PER_IMAGE:
            return DataError(
                f"{path}, line {line_of(row)}: {len(tokens)} pixel values, expected {PIXELS_PER_IMAGE} (48x48)"
            )
    return DataError(f"{path}: the pixels column could not be parsed")
