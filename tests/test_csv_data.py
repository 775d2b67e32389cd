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


def test_errors_are_value_errors():
    assert issubclass(DataError, ValueError)


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
