"""Write files so that a killed run never leaves one that looks complete but is not."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file handle to a temporary file beside path, renamed into place when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            yield handle
        os.chmod(handle.name, 0o666 & ~current_umask())  # mkstemp makes 0600; give the mode open() would
        os.replace(handle.name, path)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to path atomically."""
    with atomic_file(path) as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Write text to path atomically."""
    write_bytes(path, text.encode())


def write_json(path: str | Path, value: object) -> None:
    """Write value as indented JSON, atomically."""
    write_text(path, json.dumps(value, indent=2) + "\n")
