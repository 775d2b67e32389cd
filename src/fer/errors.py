"""Errors for user mistakes: the CLI prints them as one line, without a traceback."""

import errno
import os
import stat
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


FILE_KINDS = {stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device"}


def input_problem(path: Path) -> str | None:
    """Why path cannot be read as an input file (a missing file, a broken link or a link loop, a folder, a FIFO or
    a device, an unreadable file), or None; reading a FIFO or a device could block or never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if os.path.islink(path) else "no such file"
    except OSError as error:
        return "a symbolic link loop" if error.errno == errno.ELOOP else f"cannot be read ({error.strerror})"
    except ValueError as error:  # a NUL in the name
        return f"not a usable file name ({error})"
    if stat.S_ISDIR(mode):
        return "a folder, not a file" if os.access(path, os.R_OK | os.X_OK) else "a folder that cannot be listed"
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in FILE_KINDS.items() if test(mode)), "a socket")
        return f"not a regular file ({kind})"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None
