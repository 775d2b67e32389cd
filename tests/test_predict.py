import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fer
from fer.cli import PREDICT_SOME_FAILED, main
from fer.errors import DataError
from fer.inference.photos import read_photo
from fer.inference.predict import predict

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"  # NASA portrait of Eileen Collins, public domain
NO_FACE = Path(__file__).with_name("no_face_cat.jpg")


@pytest.fixture(scope="module")
def untrained_model():
    return fer.build_model("csv_cnn")


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A small PNG whose header claims width x height: opening it is cheap, decoding it would not be."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    path.write_bytes(bytes(data))
    return path


def test_a_face_is_found_boxed_and_given_seven_probabilities(untrained_model):
    faces = predict(SMILING, untrained_model)
    assert len(faces) == 1
    x, y, width, height = faces[0]["box"]
    assert 150 < x < 200 and 40 < y < 90 and 80 < width < 120
    assert list(faces[0]["probabilities"]) == list(fer.EMOTIONS)
    assert sum(faces[0]["probabilities"].values()) == pytest.approx(1, abs=1e-3)


def test_photo_without_a_face_gives_no_faces(untrained_model):
    assert predict(NO_FACE, untrained_model) == []


def test_path_pil_image_and_array_give_the_same_faces(untrained_model):
    image = Image.open(SMILING)
    from_path = predict(SMILING, untrained_model)
    assert predict(image, untrained_model) == from_path
    assert predict(np.asarray(image), untrained_model) == from_path


def test_gray_rgba_and_large_photos_are_read(tmp_path, untrained_model):
    rgb = Image.open(SMILING)
    gray = rgb.convert("L")
    rgba = rgb.convert("RGBA")
    large = rgb.resize((3072, 3072))
    for name, image in (("gray.png", gray), ("rgba.png", rgba), ("large.jpg", large)):
        image.save(tmp_path / name)
        faces = predict(tmp_path / name, untrained_model)
        assert len(faces) == 1, name
    # Boxes are in the original image's pixels, even when the photo was shrunk to read it.
    assert predict(tmp_path / "large.jpg", untrained_model)[0]["box"][2] > 500


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (200, 100), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_photo(tmp_path / "rotated.jpg").image.size == (100, 200)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jpg", "missing.jpg: no such file"),
        (lambda d: (d / "notes.jpg").write_text("hello") and d / "notes.jpg", "notes.jpg: not an image"),
        (
            lambda d: (d / "cut.jpg").write_bytes(SMILING.read_bytes()[:3000]) and d / "cut.jpg",
            "cut.jpg: unreadable image",
        ),
        (lambda d: png_header_only(d / "huge.png", 12_000, 12_000), "huge.png: image too large (12000x12000 pixels"),
        (lambda d: png_header_only(d / "bomb.png", 50_000, 50_000), "bomb.png: image too large"),
    ],
)
def test_bad_photos_get_clear_errors(tmp_path, make, message):
    with pytest.raises(DataError) as error:
        read_photo(make(tmp_path))
    assert message in str(error.value)


def test_cli_reports_bad_images_and_still_processes_the_others(tmp_path, capsys):
    model_path = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model_path)
    (tmp_path / "notes.jpg").write_text("hello")
    png_header_only(tmp_path / "huge.png", 50_000, 50_000)
    args = ["predict", str(tmp_path / "notes.jpg"), str(SMILING), str(tmp_path / "huge.png"), str(NO_FACE)]
    code = main([*args, "--model", str(model_path), "--json", "--annotate", str(tmp_path / "annotated")])
    assert code == PREDICT_SOME_FAILED
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "notes.jpg: not an image" in captured.err
    records = json.loads(captured.out)
    assert [len(record["faces"]) for record in records] == [0, 1, 0, 0]
    assert "error" in records[0] and "error" in records[2]
    assert records[3]["note"] == "no face found"
    assert (tmp_path / "annotated" / "astronaut_annotated.png").is_file()
    assert sorted(path.name for path in (tmp_path / "annotated").iterdir()) == [
        "astronaut_annotated.png",
        "no_face_cat_annotated.png",
    ]


def test_cli_table_and_success_exit_code(tmp_path, capsys):
    model_path = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model_path)
    assert main(["predict", str(SMILING.parent), "--model", str(model_path)]) == 0
    table = capsys.readouterr().out
    (face,) = predict(SMILING)  # the box depends on OpenCV's cascade; the table must show the one it found
    assert "astronaut.jpg" in table and ", ".join(map(str, face["box"])) in table
    x, y, width, height = face["box"]
    assert 150 < x + width / 2 < 300 and 50 < y + height / 2 < 200  # the face in the photo, not elsewhere


def test_the_default_model_calls_a_smiling_face_happy():
    faces = predict(SMILING)
    assert [face["label"] for face in faces] == ["happy"]
