"""Bad input gets one clear line and never costs finished work: train, evaluate, predict, export, model files."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import fer
from fer.cli import PREDICT_SOME_FAILED, main
from fer.training.loop import RUN_FILES

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"


def finished_run(run_dir: Path, data: Path) -> dict[str, bytes]:
    """A run directory as a finished run leaves it (its files' contents do not matter here)."""
    run_dir.mkdir(parents=True)
    config = {"model": "csv_cnn", "data": str(data), "run_dir": str(run_dir), "epochs": 15, "seed": 42}
    contents = {name: f"finished {name}".encode() for name in RUN_FILES}
    contents["config.json"] = json.dumps(config).encode()
    for name, content in contents.items():
        (run_dir / name).write_bytes(content)
    return contents


def test_train_refuses_a_folder_holding_another_finished_run_and_leaves_it_byte_identical(tiny_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    before = finished_run(run_dir, tiny_csv)
    code = main(["train", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1", "--seed", "7"])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "different config" in error and "--overwrite" in error
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()} == before


def test_each_model_has_its_own_default_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folders = {fer.TrainConfig(model=name, data=".").resolved().run_dir for name in ("csv_cnn", "image_cnn", "fer_net")}
    assert len(folders) == 3


@pytest.mark.parametrize(
    "option, value",
    [
        ("--epochs", "0"),
        ("--batch-size", "0"),
        ("--max-train-images", "0"),
        ("--epochs", "-3"),
        ("--learning-rate", "0"),
    ],
)
def test_train_checks_its_arguments_before_reading_or_writing_anything(tmp_path, option, value, capsys):
    run_dir = tmp_path / "run"
    code = main(["train", "--data", str(tmp_path / "missing.csv"), "--run-dir", str(run_dir), option, value])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "positive" in error
    assert not run_dir.exists()


def one_face_and_a_model(folder: Path, usage: str) -> tuple[Path, Path]:
    """A CSV holding one face of the given Usage, and an untrained model file."""
    data = folder / "fer2013.csv"
    data.write_text(f"emotion,pixels,Usage\n3,{' '.join(['100'] * 2304)},{usage}\n")
    return data, saved(fer.build_model("csv_cnn"), folder / "model.keras")


def test_evaluate_on_data_without_the_asked_split_is_one_line(tmp_path, capsys):
    data, model = one_face_and_a_model(tmp_path, "Training")
    assert main(["evaluate", "--data", str(data), "--model", str(model)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(data) in error and "no PrivateTest images" in error


def test_evaluate_on_a_single_face_gives_scores_and_no_interval(tmp_path, capsys):
    data, model = one_face_and_a_model(tmp_path, "PrivateTest")
    assert main(["evaluate", "--data", str(data), "--model", str(model), "--intervals"]) == 0
    scores = json.loads(capsys.readouterr().out)["splits"]["PrivateTest"]
    assert scores["n"] == 1 and scores["accuracy_ci95"] is None


def saved(model: keras.Model, path: Path) -> Path:
    model.save(path)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: path.write_text("just text") and path, "not a Keras model file"),
        (
            lambda path: saved(keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                                                 keras.layers.Dense(7, activation="softmax")]), path),
            "takes (N, 32, 32, 1)",
        ),
        (
            lambda path: saved(keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                                                 keras.layers.Dense(3, activation="softmax")]), path),
            "returns (N, 3)",
        ),
    ],
    ids=["text-file", "wrong-input", "three-classes"],
)
def test_a_model_that_does_not_fit_is_refused_in_one_line_naming_the_file(tmp_path, make, message, capsys):
    model = make(tmp_path / "model.keras")
    assert main(["predict", str(SMILING), "--model", str(model)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(model) in error and message in error


def test_predict_prints_its_results_even_when_the_annotate_folder_cannot_be_made(tmp_path, capsys):
    model = saved(fer.build_model("csv_cnn"), tmp_path / "model.keras")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code = main(["predict", str(SMILING), "--model", str(model), "--json", "--annotate", str(blocker / "out")])
    assert code == PREDICT_SOME_FAILED
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)[0]["faces"]) == 1
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1
    assert f"{blocker / 'out'}: cannot make the folder" in captured.err


def test_two_photos_of_one_name_get_two_annotated_copies(tmp_path):
    model = saved(fer.build_model("csv_cnn"), tmp_path / "model.keras")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "face.jpg").write_bytes(SMILING.read_bytes())
    out = tmp_path / "out"
    args = ["predict", str(tmp_path / "a" / "face.jpg"), str(tmp_path / "b"), "--model", str(model)]
    assert main([*args, "--annotate", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["face_2_annotated.png", "face_annotated.png"]


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_export_to_a_place_that_cannot_be_written_is_one_line(tmp_path, where, capsys):
    model = saved(fer.build_model("csv_cnn"), tmp_path / "model.keras")
    (tmp_path / "a_file").write_text("")
    output = tmp_path / "a_file" / "m.tflite" if where == "under-a-file" else tmp_path
    assert main(["export", "--model", str(model), "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(output) in error


def gray_face() -> np.ndarray:
    return np.asarray(Image.open(SMILING).convert("L").resize((96, 96)))


@pytest.mark.parametrize(
    "image",
    [
        lambda face: Image.fromarray(face.astype(np.uint16) * 257),  # 16-bit gray PNG
        lambda face: Image.fromarray(face.astype(np.int32)),  # 32-bit integer TIFF holding 8-bit values
        lambda face: Image.fromarray(face.astype(np.float32) / 255),  # float TIFF in 0..1
        lambda face: Image.fromarray(face).convert("P"),
        lambda face: Image.merge("LA", [Image.fromarray(face), Image.fromarray(np.full_like(face, 255))]),
    ],
    ids=["I;16", "I", "F", "P", "LA"],
)
def test_every_image_mode_gives_the_same_gray_face_as_its_8_bit_equivalent(tmp_path, image):
    from fer.data.grayscale import to_gray_48
    from fer.inference.photos import read_photo

    face = gray_face()
    path = tmp_path / "face.tif"
    image(face).save(path)
    expected = to_gray_48(Image.fromarray(face))
    np.testing.assert_array_equal(to_gray_48(Image.open(path)), expected)
    np.testing.assert_array_equal(np.asarray(read_photo(path).image.convert("L")), face)


def test_a_model_that_returns_raw_scores_is_refused(tmp_path, capsys):
    logits = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    model = saved(logits, tmp_path / "logits.keras")
    assert main(["predict", str(SMILING), "--model", str(model)]) == 2
    assert "not class probabilities" in capsys.readouterr().err


def test_annotated_copies_never_replace_an_input_or_another_output(tmp_path, capsys):
    model = saved(fer.build_model("csv_cnn"), tmp_path / "model.keras")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(SMILING.read_bytes())
    (folder / "a.png").write_bytes(SMILING.read_bytes())
    users_file = folder / "a_annotated.png"  # the user's own photo, under the name a.jpg's copy would take
    Image.open(SMILING).convert("L").save(users_file)
    users_bytes = users_file.read_bytes()
    csv_output = folder / "a_2_annotated.png"  # the name the second copy would take
    args = ["predict", str(folder), "--model", str(model), "--annotate", str(folder), "--csv", str(csv_output)]
    assert main(args) == 0
    assert users_file.read_bytes() == users_bytes
    assert csv_output.read_text().startswith("path,frame")
    written = sorted(path.name for path in folder.iterdir())
    copies = ["a_3_annotated.png", "a_4_annotated.png", "a_annotated_annotated.png"]
    assert written == sorted(["a.jpg", "a.png", "a_annotated.png", csv_output.name, *copies])


@pytest.mark.parametrize(
    "option, value",
    [("--seed", "-1"), ("--seed", str(2**32)), ("--learning-rate", "inf"), ("--learning-rate", "nan")],
)
def test_train_refuses_seeds_and_rates_keras_cannot_use_before_writing(tmp_path, option, value, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path), "--run-dir", str(run_dir), option, value]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not run_dir.exists()


def test_a_run_directory_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    assert main(["train", "--data", str(tmp_path), "--run-dir", str(tmp_path / "a_file" / "run")]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "row",
    ["3,PIXELS,Training,extra", "x,3,PIXELS,Training", "3,PIXELS,Training,"],
    ids=["extra-field", "leading-field", "trailing-comma"],
)
def test_a_row_with_more_fields_than_the_header_is_refused(tmp_path, row, capsys):
    pixels = " ".join(["5"] * 2304)
    data = tmp_path / "fer2013.csv"
    data.write_text(f"emotion,pixels,Usage\n{row.replace('PIXELS', pixels)}\n3,{pixels},PrivateTest\n")
    with pytest.raises(fer.DataError, match="cannot be read as CSV"):
        fer.load_csv(data)


@pytest.mark.parametrize("token", ["--5", "+-5", "٣", "5.0", "1e2"])
def test_odd_pixel_tokens_are_named_not_crashed_on(tmp_path, token):
    pixels = ["5"] * 2304
    pixels[7] = token
    data = tmp_path / "fer2013.csv"
    data.write_text(f"emotion,pixels,Usage\n3,{' '.join(pixels)},Training\n")
    with pytest.raises(fer.DataError, match="line 2: pixel 8 is .* not a whole number"):
        fer.load_csv(data)
