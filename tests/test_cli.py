import json
import os
import subprocess
import sys

import pytest

import fer
from fer.cli import main


def run_fer(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "fer.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_bad_data_prints_one_line_without_a_traceback_or_tensorflows_log_lines(tmp_path):
    model_path = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model_path)
    bad = tmp_path / "fer2013.csv"
    bad.write_text("emotion,pixels,Usage\n9,1 2 3,Training\n")
    quiet_by_itself = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    result = run_fer("evaluate", "--model", str(model_path), "--data", str(bad), env=quiet_by_itself)
    assert result.returncode == 2
    assert result.stderr == f"fer evaluate: error: {bad}, line 2: emotion '9' is not a label 0..6\n"


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.keras"), "--data", str(tmp_path)]) == 2
    assert "none.keras: no such model file" in capsys.readouterr().err


def test_evaluate_prints_metrics_as_json(tmp_path, tiny_csv, capsys):
    model_path = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model_path)
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model_path),
                "--data",
                str(tiny_csv),
                "--split",
                "PrivateTest",
                "--split",
                "PublicTest+PrivateTest",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["splits"]["PrivateTest"]["n"] == 21
    assert printed["splits"]["PublicTest+PrivateTest"]["n"] == 42


def test_unknown_split_is_a_clear_error(tmp_path, tiny_csv, capsys):
    model_path = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model_path)
    assert main(["evaluate", "--model", str(model_path), "--data", str(tiny_csv), "--split", "Validation"]) == 2
    assert "unknown split 'Validation'" in capsys.readouterr().err


@pytest.mark.slow
def test_train_command_writes_a_run(tmp_path, tiny_csv, capsys):
    run_dir = tmp_path / "run"
    assert (
        main(["train", "--model", "csv_cnn", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1"]) == 0
    )
    assert (run_dir / "metrics.json").is_file()
    assert '"accuracy"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--lr-schedule", "step"],
        ["train", "--strategy", "tpu"],
        ["evaluate", "--tta", "five-crop"],
    ],
)
def test_usage_mistakes_exit_non_zero(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0


def test_an_unknown_model_name_is_one_line_naming_the_known_ones_and_the_module_form(capsys):
    assert main(["train", "--model", "resnet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unknown model 'resnet'" in error and "package.module:function" in error
    assert all(name in error for name in ("csv_cnn", "image_cnn", "fer_net"))


def test_a_file_that_is_no_model_is_a_clear_error(tmp_path, tiny_csv, capsys):
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("not a model")
    assert main(["evaluate", "--model", str(not_a_model), "--data", str(tiny_csv)]) == 2
    assert "notes.keras: not a Keras model file" in capsys.readouterr().err


def test_model_names_a_shipped_model_and_one_not_in_this_installation_is_a_clear_error(
    tmp_path, tiny_csv, capsys, monkeypatch
):
    from fer.models import pretrained

    assert main(["evaluate", "--model", "shipped", "--data", str(tiny_csv)]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == pretrained.PRETRAINED_NAME
    monkeypatch.setitem(pretrained.PRETRAINED_FILES, "fast", "not_in_this_wheel.keras")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fast").mkdir()  # a folder called like a shipped model does not hide it; ./fast names the folder
    assert main(["evaluate", "--model", "fast", "--data", str(tiny_csv)]) != 0
    assert "has no 'fast' model (this release ships no fast network; use 'shipped'" in capsys.readouterr().err
    assert main(["evaluate", "--model", "./fast", "--data", str(tiny_csv)]) != 0
    assert "no such model file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no pretrained model 'best'; expected one of shipped, fast"):
        fer.load_pretrained("best")
