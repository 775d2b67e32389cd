"""Write files so that a killed run never leaves one that looks complete but is not, to where the user points:
a symlink is followed to its target (and stays a link), a FIFO or device is written to, not replaced."""

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file handle to a temporary file beside path's target, renamed onto it when the block succeeds;
    where path is (or links to) a FIFO, a device or a socket, a handle to it, written in place."""
    path = Path(os.path.realpath(check_output_name(path)))
    if path.exists() and not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
        with open(path, "wb") as handle:
            yield handle
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            yield handle
        os.chmod(handle.name, 0o666 & ~current_umask())  # mkstemp makes 0600; give the mode open() would
        os.replace(handle.name, path)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def check_output_name(path: str | Path) -> Path:
    """path as a Path; a DataError when it is empty or names a folder (an existing one, or ending in a slash)."""
    from fer.errors import DataError

    text = os.fspath(path)
    if not text:
        raise DataError("an empty file name; give the file to write")
    if text.endswith(os.sep) or os.path.basename(text) in (".", "..") or Path(text).is_dir():
        raise DataError(f"{text}: is a folder; give a file name")
    if os.path.islink(text) and not os.path.exists(os.path.realpath(text)):
        try:
            os.stat(text)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise DataError(f"{text}: a symbolic link loop; give a file name") from None
    return Path(text)


def same_file_keys(path: str | Path) -> set:
    """What identifies path's file: its resolved path and, where it exists, its device and inode (a hard link)."""
    keys: set = {os.path.realpath(path)}
    try:
        status = os.stat(path)
        keys.add((status.st_dev, status.st_ino))
    except (OSError, ValueError):
        pass
    return keys


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    with atomic_file(path) as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Write text to path atomically, as UTF-8; file names that are not UTF-8 keep their own bytes."""
    write_bytes(path, text.encode("utf-8", "surrogateescape"))


def write_json(path: str | Path, value: object) -> None:
    """Write value as indented JSON, atomically."""
    write_text(path, json.dumps(value, indent=2) + "\n")
