"""Where the data is: --data, else $FER_DATA, else data/fer2013 or data/sample under the current directory."""

import os
from pathlib import Path

SAMPLE_MARKER = "SAMPLE.md"  # the bundled sample says what it is; no full copy of FER-2013 holds this file


def default_data_dir(root: Path = Path(".")) -> Path:
    """$FER_DATA if set; else root/data/fer2013 when it holds the data, else root/data/sample (a checkout's sample).

    root is the current folder unless given. Both fallbacks only make sense in a checkout of the
    repository; elsewhere pass --data or set FER_DATA.
    """
    if "FER_DATA" in os.environ:
        return Path(os.environ["FER_DATA"])
    full, sample = root / "data" / "fer2013", root / "data" / "sample"
    if any(full.glob("fer2013.csv*")) or (full / "train").is_dir() or not sample.is_dir():
        return full
    return sample


def is_sample(data: str | Path) -> bool:
    """Whether data (a directory, or a file in one) is the small bundled sample rather than the full data set."""
    data = Path(data)
    folder = data if data.is_dir() else data.parent
    return (folder / SAMPLE_MARKER).is_file()
