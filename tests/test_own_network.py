"""A network defined outside the package (here, in this test file), trained, resumed, evaluated and compared under
the study's protocol, without editing the package (issue 29)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from keras import layers

import fer
from fer.cli import main
from fer.errors import DataError
from tests.test_resume import KILL_AFTER_EPOCH

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_builder(input_shape, num_classes):
    """A small network of a user's own: gray 0..255 in, class probabilities out."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Rescaling(1 / 255),
            layers.Conv2D(8, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.2),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="tiny",
    )


@keras.saving.register_keras_serializable(package="test_own_network")
class Brighten(layers.Layer):
    """A custom layer: adds a learned offset to every pixel."""

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(), initializer="zeros", name="offset")

    def call(self, inputs):
        return inputs + self.offset


def custom_builder(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    features = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(Brighten()(layers.Rescaling(1 / 255)(inputs))))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(features), name="custom")


@pytest.mark.slow
def test_a_network_from_a_test_file_trains_by_module_and_function_is_killed_resumes_and_is_evaluated(
    tiny_csv, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    config = {"model": "tests.test_own_network:tiny_builder", "data": str(tiny_csv), "run_dir": str(run_dir)}
    config |= {"epochs": 4, "batch_size": 16}
    killed = subprocess.run(  # through the API, killed after its second epoch
        [sys.executable, "-c", KILL_AFTER_EPOCH, json.dumps(config)], cwd=REPO_ROOT, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(pd.read_csv(run_dir / "training_log.csv")) == 2 and not (run_dir / "metrics.json").exists()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == config["model_source"] == "tests.test_own_network:tiny_builder"

    arguments = ["train", "--model", config["model"], "--data", str(tiny_csv), "--run-dir", str(run_dir)]
    assert main([*arguments, "--epochs", "4", "--batch-size", "16"]) == 0  # resumed from the command line
    history = pd.read_csv(run_dir / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert json.loads((run_dir / "metrics.json").read_text())["selected_on"] == "PublicTest accuracy"
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run_dir), "--data", str(tiny_csv)]) == 0
    scores = json.loads(capsys.readouterr().out)["splits"]["PrivateTest"]
    recorded = json.loads((run_dir / "metrics.json").read_text())["splits"]["PrivateTest"]
    assert (scores["n"], scores["confusion_matrix"]) == (recorded["n"], recorded["confusion_matrix"])


@pytest.mark.slow
def test_a_builder_a_registered_name_and_a_model_object_train_through_the_api(tiny_csv, tmp_path):
    fer.register_model("tiny_registered", epochs=1, data_form="csv")(tiny_builder)
    for name, model in (
        ("function", tiny_builder),
        ("registered", "tiny_registered"),
        ("object", tiny_builder((48, 48, 1), 7)),
    ):
        run_dir = fer.train(fer.TrainConfig(model=model, data=str(tiny_csv), run_dir=str(tmp_path / name), epochs=1))
        config = json.loads((run_dir / "config.json").read_text())
        assert config["model_source"].startswith(
            "tests.test_own_network:tiny_builder" if name != "object" else "a keras.Model object named 'tiny'"
        ), config
        assert fer.load_model(run_dir).output_shape == (None, 7)
    # the same config again reuses the finished run, as for the package's own models
    config = fer.TrainConfig(model=tiny_builder, data=str(tiny_csv), run_dir=str(tmp_path / "function"), epochs=1)
    again = fer.train(config)
    assert again == tmp_path / "function"


def test_augmentation_is_a_setting_the_package_models_keep_theirs_and_a_users_model_turns_on():
    def augmented(model):
        return any(isinstance(layer, layers.RandomRotation) for layer in model.layers)

    assert augmented(fer.build_model("image_cnn")) and not augmented(fer.build_model("csv_cnn"))
    assert augmented(fer.build_model("csv_cnn", augment=True)) and not augmented(
        fer.build_model("image_cnn", augment=False)
    )
    assert augmented(fer.build_model("fer_net")) and not augmented(fer.build_model("fer_net", augment=False))
    user = fer.build_model("tests.test_own_network:tiny_builder", augment=True)
    assert augmented(user) and not augmented(fer.build_model("tests.test_own_network:tiny_builder"))
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(user(faces, training=False), user.layers[-1](faces, training=False), atol=1e-6)


def test_a_network_with_a_custom_serializable_layer_saves_and_loads_in_safe_mode(tmp_path):
    from fer.models.files import save_model

    model = fer.build_model("tests.test_own_network:custom_builder")
    model.layers[2].offset.assign(3.0)
    save_model(model, tmp_path / "custom.keras")
    loaded = fer.load_model(tmp_path / "custom.keras")  # safe_mode=True inside
    assert any(isinstance(layer, Brighten) for layer in loaded.layers)
    faces = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded(faces), model(faces), atol=1e-6)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("tests.test_own_network:missing", "cannot import missing"),
        ("no_such_package.module:function", "cannot import function"),
        ("not_registered", "unknown model 'not_registered'"),
    ],
)
def test_unknown_models_are_one_clear_error_before_anything_is_read(bad, message, tmp_path):
    with pytest.raises(DataError, match=message):
        fer.TrainConfig(model=bad, data=str(tmp_path / "missing.csv"), run_dir=str(tmp_path / "run")).resolved()
    assert not (tmp_path / "run").exists()


def finished_record(run_dir: Path, selected_on: str, private: bool) -> Path:
    run_dir.mkdir()
    fer.build_model("csv_cnn").save(run_dir / "model.keras")
    splits = {"PublicTest": {"accuracy": 0.5}} | ({"PrivateTest": {"accuracy": 0.61234}} if private else {})
    (run_dir / "metrics.json").write_text(json.dumps({"selected_on": selected_on, "splits": splits}))
    return run_dir


def test_compare_refuses_runs_whose_epoch_was_not_chosen_on_publictest(tmp_path, tiny_csv):
    chosen = finished_record(tmp_path / "chosen", "PublicTest accuracy", private=False)
    on_private = finished_record(tmp_path / "on_private", "PrivateTest accuracy", private=True)
    with pytest.raises(DataError, match="its epoch was not chosen on PublicTest"):
        fer.compare(chosen, on_private, data=tiny_csv)
    bare = tmp_path / "bare.keras"
    fer.build_model("csv_cnn").save(bare)
    with pytest.raises(DataError, match="nothing says its epoch was chosen on PublicTest"):
        fer.compare(chosen, bare, data=tiny_csv)


def test_compare_says_which_privatetest_figures_were_public_before(tmp_path, tiny_csv, capsys):
    held_out = finished_record(tmp_path / "held_out", "PublicTest accuracy", private=False)
    public = finished_record(tmp_path / "public", "PublicTest accuracy", private=True)
    assert main(["compare", str(held_out), str(public), "--data", str(tiny_csv)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["already_public"] == [f"{public}: its PrivateTest accuracy (0.6123) was already in its metrics.json"]
    assert captured.err.count("\n") == 1 and str(held_out) not in captured.err
    assert result["n"] == result["both_right"] + result["only_a_right"] + result["only_b_right"] + result["both_wrong"]


@pytest.mark.real_data
def test_fer_compare_on_two_committed_runs_reproduces_the_readmes_paired_test(full_data_dir, capsys):
    published = pd.read_csv(REPO_ROOT / "results" / "significance.csv").set_index(["a", "b"])
    row = published.loc[("csv_cnn_seed42", "image_cnn_seed42")]
    os.chdir(REPO_ROOT)
    assert main(["compare", "CSV_Based_Model", "Image_Based_Model", "--data", str(full_data_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mcnemar_p"] == pytest.approx(row["mcnemar_p"], rel=1e-9)
    assert result["difference_ci95"] == pytest.approx([row["difference_ci95_low"], row["difference_ci95_high"]])
    assert (result["only_a_right"], result["only_b_right"]) == (row["only_a_right"], row["only_b_right"])


def test_a_run_compared_with_itself_agrees_everywhere(tmp_path, tiny_csv):
    chosen = finished_record(tmp_path / "chosen", "PublicTest accuracy", private=True)
    result = fer.compare(chosen, chosen, data=tiny_csv)
    assert result["only_a_right"] == result["only_b_right"] == 0 and result["mcnemar_p"] == 1.0
    assert len(result["already_public"]) == 1


def test_bad_augment_values_and_nameless_builders_are_one_clear_error(capsys):
    import functools

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--augment", "yes"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(DataError, match="has no name"):
        fer.TrainConfig(model=functools.partial(tiny_builder)).resolved()
