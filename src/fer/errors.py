"""Errors for user mistakes: the CLI prints them as one line, without a traceback."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError


class DataError(ValueError):
    """Input data that cannot be used; the message names the file, line or image."""


@contextmanager
def reading_image(path: str | Path) -> Iterator[None]:
    """Turn Pillow's errors while reading the image at path into DataErrors that name it."""
    try:
        yield
    except DataError:
        raise
    except Image.DecompressionBombError as error:
        raise DataError(f"{path}: image too large ({error})") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image (no known image format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: unreadable image ({error})") from None
