"""Load the CSV form of FER-2013 (columns emotion, pixels, Usage; plain or .gz)."""

import bz2
import csv
import gzip
import io
import lzma
import re
import warnings
import zipfile
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
# A valid row is under 10,000 characters (2,304 values of at most 3 digits, separators, a label and a Usage);
# a longer line is refused before pandas parses anything, reading at most this many bytes of it at a time.
MAX_LINE_BYTES = 65_536
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
ASCII_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
ROW_END = -1  # no pixel value; marks the end of each row in the one string parsed


def load_csv(path: str | Path, use_cache: bool = True) -> Splits:
    """Load fer2013.csv(.gz) into per-Usage gray images (N, 48, 48, 1) uint8 and labels."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a CSV file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if not use_cache:
        return parse_csv(path)
    return cached_splits(f"csv-{digest_files([path])}", lambda: parse_csv(path))


def parse_csv(path: Path) -> Splits:
    """Parse the CSV with vectorized NumPy/pandas operations; a DataError names the first bad line."""
    frame = read_frame(path)
    parsed, errors = [], []
    for parse, column in ((parse_labels, "emotion"), (parse_usages, "Usage"), (parse_pixels, "pixels")):
        try:
            parsed.append(parse(path, frame[column]))
        except RowError as error:
            errors.append(error)
    if errors:
        raise min(errors, key=lambda error: error.line)
    labels, usages, pixels = parsed
    images = pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
    return splits_from_arrays(images, labels, usages)


class RowError(DataError):
    """A bad row: the message names the file and the physical line the row starts on."""

    def __init__(self, path: Path, row: int, problem: str):
        self.line = line_of(path, row)
        super().__init__(f"{path}, line {self.line}: {problem}")


def check_line_lengths(path: Path) -> None:
    """A DataError naming the first line longer than MAX_LINE_BYTES (lines end at \\n, \\r\\n or a lone \\r, as
    pandas reads them), read in blocks of 1 MiB: memory stays bounded whatever the line."""
    with open_bytes(path) as handle:
        number, length, after_return = 1, 0, False
        while block := handle.read(1 << 20):
            codes = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero((codes == 10) | (codes == 13))
            start = 0
            for end in ends:
                length += end - start
                if length > MAX_LINE_BYTES:
                    break
                newline_after_return = codes[end] == 10 and after_return and end == start
                number += 0 if newline_after_return else 1  # \r\n is one line end
                after_return, length, start = codes[end] == 13, 0, end + 1
            else:
                length += len(codes) - start
                after_return = after_return and start == len(codes)
            if length > MAX_LINE_BYTES:
                raise DataError(
                    f"{path}, line {number}: longer than {MAX_LINE_BYTES:,} bytes, which no FER-2013 row is"
                )


def read_frame(path: Path) -> pd.DataFrame:
    """The CSV's rows as strings, blank lines dropped; the index is each row's position among the file's records."""
    encoding = text_encoding(path)
    try:
        check_line_lengths(path)
        with open_bytes(path) as handle:  # decompressed as check_line_lengths read it
            frame = read_rows(handle, encoding)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}, line {first_undecodable_line(path, encoding)}: not {encoding} text") from None
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        gzip.BadGzipFile,
        zlib.error,
        lzma.LZMAError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
    ) as error:
        reason = " ".join(str(error).split())  # pandas' messages end in a newline: keep the error one line
        raise DataError(f"{path}: cannot be read as CSV ({reason})") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    repeated = [column for column in frame.columns if re.fullmatch(r"(emotion|pixels|Usage)\.\d+", column)]
    if repeated:
        raise DataError(f"{path}: the header repeats a column ({', '.join(repeated)})")
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header has {', '.join(frame.columns)}")
    blank = (frame["emotion"].str.strip() == "") & (frame["Usage"].str.strip() == "")
    blank[blank] = frame.loc[blank, "pixels"].str.strip() == ""  # only these few: the pixels are long strings
    frame = frame[~blank.to_numpy()]
    if frame.empty:
        raise DataError(f"{path}: the file has a header but no rows")
    return frame


def read_rows(handle, encoding: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields dropped: refuse, not truncate
        return pd.read_csv(
            handle,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            skip_blank_lines=False,
            encoding=encoding,
            index_col=False,  # a row with an extra field is an error, not a row index
            compression=None,
        )


def open_bytes(path: Path):
    """The file's bytes, decompressed by its suffix (.gz, .bz2, .xz, or a .zip of one file), as pandas would."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [name for name in archive.namelist() if not name.endswith("/")]
        if len(members) != 1:
            archive.close()
            raise DataError(f"{path}: a .zip of {len(members)} files; expected one CSV inside")
        return archive.open(members[0])
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix, open)
    return opener(path, "rb")


def text_encoding(path: Path) -> str:
    """UTF-16 or UTF-8 by the file's byte-order mark; UTF-8 without one."""
    try:
        with open_bytes(path) as handle:
            start = handle.read(4)
    except (gzip.BadGzipFile, zlib.error, EOFError, OSError, lzma.LZMAError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot be read ({error})") from None
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig" if start.startswith(b"\xef\xbb\xbf") else "utf-8"


def first_undecodable_line(path: Path, encoding: str) -> int | str:
    """The number of the first line that does not decode (slow; only after a decoding error)."""
    if encoding == "utf-16":
        return "?"
    with open_bytes(path) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return number
    return "?"


def line_of(path: Path, row: int) -> int:
    """The physical line (1-based, as an editor counts) that data row number row starts on: a quoted field may span
    lines. Read again with the csv module, which splits records as pandas does (only on an error)."""
    try:
        with open_bytes(path) as handle:
            text = io.TextIOWrapper(handle, encoding=text_encoding(path), newline="")
            reader = csv.reader(text, skipinitialspace=True)  # as pandas reads it
            start = 1
            for record, _ in enumerate(reader):
                if record == row + 1:  # record 0 is the header
                    return start
                start = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError, OSError, EOFError, zlib.error):
        pass
    return row + FIRST_DATA_LINE


def parse_labels(path: Path, emotion: pd.Series) -> np.ndarray:
    text = emotion.str.strip()
    whole = text.str.fullmatch(r"[+-]?[0-9]{1,3}")  # written as a whole number, as the pixels must be
    numbers = pd.to_numeric(text.where(whole), errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers >= NUM_CLASSES)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise RowError(path, emotion.index[row], f"emotion {emotion.iloc[row]!r} is not a label 0..{NUM_CLASSES - 1}")
    return numbers.to_numpy().astype(np.int64)


def parse_usages(path: Path, usage: pd.Series) -> np.ndarray:
    usage = usage.str.strip()
    bad = ~usage.isin(USAGES)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        known = ", ".join(USAGES)
        raise RowError(path, usage.index[row], f"Usage {usage.iloc[row]!r} is unknown; expected one of {known}")
    return usage.to_numpy()


def parse_pixels(path: Path, pixels: pd.Series) -> np.ndarray:
    """All rows' pixel strings parsed in one NumPy call; each row must hold exactly 48x48 integers 0..255.

    A -1 after every row marks where it ends, so a short row followed by a long one cannot be re-cut
    into two rows of the right length; a row-by-row scan runs only to locate an error.
    """
    rows = len(pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # older NumPy warns, not raises, on a non-number
        try:
            # int64: a value past int32 is not wrapped round into 0..255 (past int64, NumPy saturates)
            values = np.fromstring(f" {ROW_END} ".join(pixels.to_numpy()) + f" {ROW_END}", dtype=np.int64, sep=" ")
        except (DeprecationWarning, ValueError):
            values = None
    expected_ends = np.arange(1, rows + 1) * (PIXELS_PER_IMAGE + 1) - 1
    if values is None or values.size != expected_ends[-1] + 1 or not (values[expected_ends] == ROW_END).all():
        raise locate_pixel_error(path, pixels)
    values = values.reshape(rows, PIXELS_PER_IMAGE + 1)[:, :PIXELS_PER_IMAGE]
    bad = ((values < 0) | (values > 255)).any(axis=1)
    if bad.any():
        raise locate_pixel_error(path, pixels)
    return values.astype(np.uint8)


def locate_pixel_error(path: Path, pixels: pd.Series) -> RowError:
    for row, text in zip(pixels.index, pixels):
        tokens = [token for token in ASCII_WHITESPACE.split(text) if token]  # as NumPy: a no-break space is no gap
        for position, token in enumerate(tokens, start=1):
            if not WHOLE_NUMBER.fullmatch(token):
                return RowError(path, row, f"pixel {position} is {token!r}, not a whole number")
        if len(tokens) != PIXELS_PER_IMAGE:
            return RowError(path, row, f"{len(tokens)} pixel values, expected {PIXELS_PER_IMAGE} (48x48)")
        for position, token in enumerate(tokens, start=1):
            if not 0 <= int(token) <= 255:
                return RowError(path, row, f"pixel value {int(token)} is outside 0..255 (pixel {position})")
    return RowError(path, pixels.index[0], "the pixels could not be parsed")
