import gzip
import shutil

import numpy as np
import pytest

import fer
from fer.data import csv_form as csv_data
from fer.errors import DataError
from tests.conftest import synthetic_faces, write_csv


def test_csv_parses_into_usages_with_shapes_and_labels(tiny_csv):
    images, labels, usages = synthetic_faces(63)
    data = fer.load_csv(tiny_csv)
    assert set(data) == {"Training", "PublicTest", "PrivateTest"}
    for usage in data:
        assert data[usage].images.shape == ((usages == usage).sum(), 48, 48, 1)
        assert data[usage].images.dtype == np.uint8
        np.testing.assert_array_equal(data[usage].images[..., 0], images[usages == usage])
        np.testing.assert_array_equal(data[usage].labels, labels[usages == usage])


def test_gzipped_csv_gives_the_same_arrays(tiny_csv, tmp_path):
    gz = tmp_path / "fer2013.csv.gz"
    with open(tiny_csv, "rb") as source, gzip.open(gz, "wb") as target:
        shutil.copyfileobj(source, target)
    plain, zipped = fer.load_csv(tiny_csv), fer.load_csv(gz)
    for usage in plain:
        np.testing.assert_array_equal(plain[usage].images, zipped[usage].images)


def test_second_load_comes_from_the_cache(tiny_csv, monkeypatch):
    first = fer.load_csv(tiny_csv)

    def fail(path):
        raise AssertionError("parsed again despite the cache")

    monkeypatch.setattr(csv_data, "parse_csv", fail)
    second = fer.load_csv(tiny_csv)
    np.testing.assert_array_equal(first["Training"].images, second["Training"].images)


def test_changed_content_is_parsed_again(tiny_csv):
    fer.load_csv(tiny_csv)
    text = tiny_csv.read_text().replace("\n0,", "\n1,", 1)
    tiny_csv.write_text(text)
    assert fer.load_csv(tiny_csv)["Training"].labels[0] == 1


def corrupt(path, line: int, column: str, value: str):
    rows = path.read_text().splitlines()
    emotion, pixels, usage = rows[line - 1].split(",")
    fields = {"emotion": emotion, "pixels": pixels, "Usage": usage}
    fields[column] = value
    rows[line - 1] = ",".join(fields[name] for name in ("emotion", "pixels", "Usage"))
    path.write_text("\n".join(rows) + "\n")


def pixels_with(token: str, count: int = 2304) -> str:
    return " ".join(["7"] * (count - 1) + [token])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("pixels", pixels_with("7", 2000), "line 5: 2000 pixel values, expected 2304"),
        ("pixels", pixels_with("7", 2305), "line 5: 2305 pixel values, expected 2304"),
        ("pixels", pixels_with("abc"), "line 5: pixel 2304 is 'abc', not a whole number"),
        ("pixels", pixels_with("1.5"), "line 5: pixel 2304 is '1.5', not a whole number"),
        ("pixels", pixels_with("300"), "line 5: pixel value 300 is outside 0..255"),
        ("pixels", pixels_with("-3"), "line 5: pixel value -3 is outside 0..255"),
        ("pixels", "", "line 5: 0 pixel values"),
        ("emotion", "7", "line 5: emotion '7' is not a label 0..6"),
        ("emotion", "happy", "line 5: emotion 'happy' is not a label 0..6"),
        ("Usage", "Validation", "line 5: Usage 'Validation' is unknown"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tiny_csv, column, value, message):
    corrupt(tiny_csv, 5, column, value)
    with pytest.raises(DataError) as error:
        fer.load_csv(tiny_csv)
    assert str(tiny_csv) in str(error.value)
    assert message in str(error.value)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "no_usage.csv"
    path.write_text("emotion,pixels\n0," + pixels_with("1") + "\n")
    with pytest.raises(DataError, match="missing column.*Usage"):
        fer.load_csv(path)


def test_empty_file_and_header_only_are_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        fer.load_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("emotion,pixels,Usage\n")
    with pytest.raises(DataError, match="header but no rows"):
        fer.load_csv(header_only)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        fer.load_csv(tmp_path / "nowhere.csv")


def test_a_bad_row_does_not_poison_the_cache(tiny_csv):
    good = tiny_csv.read_text()
    corrupt(tiny_csv, 3, "emotion", "9")
    with pytest.raises(DataError):
        fer.load_csv(tiny_csv)
    tiny_csv.write_text(good)
    assert len(fer.load_csv(tiny_csv)["Training"]) == 21


def test_write_csv_helper_round_trips(tmp_path):
    path = write_csv(tmp_path / "x.csv", *synthetic_faces(14))
    assert sum(len(split) for split in fer.load_csv(path).values()) == 14


def faces_csv(path, rows: list[str]):
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    return path


def row(pixels: list[str], label: int = 3, usage: str = "Training") -> str:
    return f"{label},{' '.join(pixels)},{usage}"


def test_a_short_row_and_a_long_row_are_not_recut_into_two_faces(tmp_path):
    full = [str(value % 256) for value in range(48 * 48)]
    path = faces_csv(tmp_path / "fer2013.csv", [row(full), row(full[:-1]), row(full + ["9"]), row(full)])
    with pytest.raises(DataError, match=r"fer2013.csv, line 3: 2303 pixel values, expected 2304"):
        fer.load_csv(path)


@pytest.mark.parametrize("value", ["4294967301", "4294967296", "18446744073709551621", "99999999999999999999999"])
def test_a_value_past_the_integer_range_is_not_wrapped_into_0_to_255(tmp_path, value):
    pixels = ["1"] * (48 * 48)
    pixels[10] = value
    path = faces_csv(tmp_path / "fer2013.csv", [row(["2"] * (48 * 48)), row(pixels)])
    with pytest.raises(DataError, match=r"line 3: pixel value \d+ is outside 0..255 \(pixel 11\)"):
        fer.load_csv(path)


def test_error_lines_are_the_files_own_lines_after_blank_lines(tmp_path):
    good = row(["5"] * (48 * 48))
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels,Usage\n\n{good}\n   \n\n{good}\n{row(['5'] * (48 * 48), label=9)}\n")
    with pytest.raises(DataError, match=r"fer2013.csv, line 7: emotion '9' is not a label"):
        fer.load_csv(path)


def test_the_first_bad_line_is_named_whichever_column_is_wrong(tmp_path):
    pixels = ["5"] * (48 * 48)
    path = faces_csv(tmp_path / "fer2013.csv", [row(pixels), row(pixels[:-1]), row(pixels, usage="Test")])
    with pytest.raises(DataError, match=r"line 3: 2303 pixel values"):
        fer.load_csv(path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b""),
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
        lambda path: path.write_bytes(path.read_bytes()[:100] + bytes(50) + path.read_bytes()[150:]),
        lambda path: path.write_text("not a zip file at all"),
        lambda path: __import__("numpy").savez(path.with_suffix(""), something=np.arange(3)),
        lambda path: __import__("numpy").savez(
            path.with_suffix(""),
            **{f"{usage}_{part}": np.zeros((1, 2) if part == "images" else 1, np.uint8)
               for usage in ("Training", "PublicTest", "PrivateTest") for part in ("images", "labels")},
        ),
    ],
    ids=["empty", "truncated", "corrupt-bytes", "not-a-zip", "foreign-arrays", "wrong-shapes"],
)
def test_a_damaged_cache_entry_is_rebuilt_with_one_warning(tiny_csv, damage, capsys):
    from fer.data.cache import cache_dir

    first = fer.load_csv(tiny_csv)
    (entry,) = cache_dir().glob("*.npz")
    damage(entry)
    capsys.readouterr()
    again = fer.load_csv(tiny_csv)
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "damaged cache entry" in warning and str(entry) in warning
    for usage in first:
        np.testing.assert_array_equal(first[usage].images, again[usage].images)
    capsys.readouterr()
    fer.load_csv(tiny_csv)
    assert capsys.readouterr().err == "", "the entry was replaced by a good one"


def test_a_cache_that_cannot_be_written_still_gives_the_data(tiny_csv, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("FER_CACHE_DIR", str(blocker / "cache"))
    data = fer.load_csv(tiny_csv)
    assert len(data["Training"]) > 0
    assert "cannot write the cache" in capsys.readouterr().err


def test_files_written_atomically_get_the_usual_mode(tmp_path):
    import os

    from fer.atomic import write_text

    write_text(tmp_path / "written.txt", "x")
    (tmp_path / "plain.txt").write_text("x")
    assert os.stat(tmp_path / "written.txt").st_mode == os.stat(tmp_path / "plain.txt").st_mode
