import dataclasses
import itertools
import json

import keras
import numpy as np
import pandas as pd
import pytest

import fer
from fer.training.loop import RUN_FILES, is_complete


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One run trained once for the module's tests, which leave it as they found it."""
    from tests.conftest import synthetic_faces, write_folders

    root = tmp_path_factory.mktemp("finished_run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_CACHE_DIR", str(root / "cache"))
        data = write_folders(root / "images", *synthetic_faces(63))
        config = fer.TrainConfig(model="image_cnn", data=str(data), run_dir=str(root / "run"), epochs=2, batch_size=16)
        yield config, fer.train(config)


@pytest.mark.slow
def test_train_writes_a_complete_run_directory(finished_run):
    config, run_dir = finished_run
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "backup").exists()
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["epochs"] == 2 and saved["model"] == "image_cnn"
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.epoch) == [0, 1]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(history.columns)
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert len(predictions) == 42 and set(predictions.usage) == {"PublicTest", "PrivateTest"}
    assert predictions.filter(like="p_").sum(axis=1).round(3).eq(1).all()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    private = metrics["splits"]["PrivateTest"]
    assert private["n"] == 21
    private_rows = predictions[predictions.usage == "PrivateTest"]
    assert private["accuracy"] == pytest.approx((private_rows.true == private_rows.predicted).mean())
    assert metrics["splits"]["PublicTest+PrivateTest"]["n"] == 42
    assert 1 <= metrics["selected_epoch"] <= 2


@pytest.mark.slow
def test_a_finished_run_is_reused_and_a_partial_one_is_not(finished_run, monkeypatch):
    config, run_dir = finished_run
    assert is_complete(run_dir, config.resolved())
    monkeypatch.setattr("fer.training.loop.load_data", lambda *a, **k: pytest.fail("trained again"))
    assert fer.train(config) == run_dir
    metrics = (run_dir / "metrics.json").read_bytes()
    (run_dir / "metrics.json").unlink()
    try:
        assert not is_complete(run_dir, config.resolved())
    finally:
        (run_dir / "metrics.json").write_bytes(metrics)


@pytest.mark.slow
def test_evaluate_reproduces_the_run_metrics(finished_run):
    config, run_dir = finished_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    again = fer.evaluate(fer.load_model(run_dir), fer.load_data(config.data, form="folders"))
    assert again["PrivateTest"] == metrics["splits"]["PrivateTest"]


def test_training_without_publictest_images_is_a_clear_error(tmp_path):
    from fer.errors import DataError
    from tests.conftest import synthetic_faces, write_csv

    images, labels, usages = synthetic_faces(21)
    usages[usages == "PublicTest"] = "Training"
    path = write_csv(tmp_path / "fer2013.csv", images, labels, usages)
    with pytest.raises(DataError, match="no PublicTest images"):
        fer.train(fer.TrainConfig(data=str(path), run_dir=str(tmp_path / "run"), epochs=1))


def test_cosine_schedule_decays_to_zero_and_unknown_schedules_are_refused():
    from fer.training.loop import learning_rate

    config = fer.TrainConfig(epochs=3, lr_schedule="cosine").resolved()
    schedule = learning_rate(config, steps_per_epoch=10)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(30)) == pytest.approx(0, abs=1e-9)
    assert learning_rate(fer.TrainConfig(epochs=3).resolved(), 10) == 1e-3
    with pytest.raises(fer.DataError, match="unknown lr_schedule 'step'"):
        fer.TrainConfig(epochs=3, lr_schedule="step").resolved()


def test_a_moved_run_or_an_older_config_file_still_counts_as_the_same_run(tmp_path):
    from fer.training.loop import same_config

    config = fer.TrainConfig(model="csv_cnn", data=str(tmp_path), run_dir=str(tmp_path / "elsewhere")).resolved()
    older = json.loads(json.dumps(config.__dict__))
    older.pop("lr_schedule")  # written before the field existed: its default applies
    older["run_dir"] = "somewhere/else"
    (tmp_path / "config.json").write_text(json.dumps(older))
    assert same_config(tmp_path, config)
    older["epochs"] = 3
    (tmp_path / "config.json").write_text(json.dumps(older))
    assert not same_config(tmp_path, config)


def trained_predictions(data, run_dir, seed: int) -> pd.DataFrame:
    config = fer.TrainConfig(model="csv_cnn", data=str(data), run_dir=str(run_dir), epochs=2, batch_size=32, seed=seed)
    fer.train(config)
    return pd.read_csv(run_dir / "predictions.csv")


@pytest.mark.slow
def test_the_same_seed_gives_the_same_predictions_and_another_seed_does_not(tmp_path):
    from tests.conftest import SAMPLE_DATA_DIR

    data = SAMPLE_DATA_DIR / "fer2013.csv"
    first = trained_predictions(data, tmp_path / "first", seed=3)
    again = trained_predictions(data, tmp_path / "again", seed=3)
    other = trained_predictions(data, tmp_path / "other", seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert not first.filter(like="p_").equals(other.filter(like="p_"))


@pytest.mark.slow
def test_a_run_that_holds_privatetest_out_is_scored_on_it_only_when_released_and_then_as_any_run(tmp_path, capsys):
    from scripts.ship_model import publish_record

    from fer.cli import main
    from fer.training.loop import release_private_test
    from fer.training.records import write_figures
    from tests.conftest import SAMPLE_DATA_DIR

    data = SAMPLE_DATA_DIR / "fer2013.csv"
    settings = {"model": "csv_cnn", "data": str(data), "epochs": 2, "batch_size": 32, "seed": 3}
    scored = fer.train(fer.TrainConfig(**settings, run_dir=str(tmp_path / "scored")))
    held = fer.TrainConfig(**settings, run_dir=str(tmp_path / "held"))
    log_epoch = keras.callbacks.CSVLogger.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        log_epoch(self, epoch, logs)
        raise KeyboardInterrupt

    keras.callbacks.CSVLogger.on_epoch_end = stop_after_first_epoch
    try:
        with pytest.raises(KeyboardInterrupt):
            fer.train(held, private_test=False)
    finally:
        keras.callbacks.CSVLogger.on_epoch_end = log_epoch
    run_dir = fer.train(held)  # resumed without saying so: the run still holds PrivateTest out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert list(metrics["splits"]) == ["PublicTest"] and metrics["held_out"] == ["PrivateTest"]
    assert set(pd.read_csv(run_dir / "predictions.csv").usage) == {"PublicTest"}
    assert not (run_dir / "classification_report.txt").exists()
    assert is_complete(run_dir, held.resolved())
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                *(f"--{key.replace('_', '-')}={value}" for key, value in settings.items()),
                f"--run-dir={run_dir}",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Reusing the finished run" in printed and '"PublicTest"' in printed and "PrivateTest" not in printed
    with pytest.raises(fer.DataError, match="PrivateTest is held out until the selection"):
        write_figures(run_dir)

    # as ship_model publishes a candidate's record after the selection: copied, then scored on PrivateTest
    record = tmp_path / "record"
    publish_record(run_dir, record, fer.load_data(str(data)))
    released = json.loads((record / "metrics.json").read_text())
    assert (
        released["held_out"] == [] and released["splits"] == json.loads((scored / "metrics.json").read_text())["splits"]
    )
    for name in ("predictions.csv", "classification_report.txt"):
        assert (record / name).read_text() == (scored / name).read_text(), name
    assert len(list((record / "images").glob("*.png"))) == 2
    assert json.loads((run_dir / "metrics.json").read_text())["held_out"] == ["PrivateTest"]  # the run itself as it was
    release_private_test(run_dir, fer.load_data(str(data)))
    assert (run_dir / "predictions.csv").read_text() == (scored / "predictions.csv").read_text()


def test_mixup_blends_each_face_and_its_label_with_the_same_weight_and_resumes_the_same():
    from fer.data.datasets import epoch_batches
    from fer.data.splits import LabeledImages

    count = 20
    values = 10.0 * np.arange(count)
    split = LabeledImages(np.repeat(values, 48 * 48).reshape(count, 48, 48, 1).astype(np.uint8), np.arange(count) % 7)
    batches, _ = epoch_batches(split, batch_size=8, seed=3, first_epoch=0, epochs=2, mixup=0.4)
    batches = [(images.numpy(), labels.numpy()) for images, labels in batches]
    blend_weights = []
    for images, labels in batches:
        for image, label in zip(images, labels):
            assert np.ptp(image) < 1e-3  # every pixel blended with the same weight
            assert label.sum() == pytest.approx(1)
            value = image.flat[0]
            found = False
            for first, second in itertools.permutations(range(count), 2):
                weight = (value - values[second]) / (values[first] - values[second])
                expected = np.zeros(7)
                expected[first % 7] += weight
                expected[second % 7] += 1 - weight
                if -1e-4 <= weight <= 1 + 1e-4 and np.allclose(label, expected, atol=1e-4):
                    found = True
                    blend_weights.append(min(weight, 1 - weight))
            assert found, f"face of value {value} with label {label} is no blend of two faces with one weight"
    assert max(blend_weights) > 0.1  # faces are really blended
    resumed, _ = epoch_batches(split, batch_size=8, seed=3, first_epoch=1, epochs=2, mixup=0.4)
    for (images, labels), (resumed_images, resumed_labels) in zip(batches[3:], resumed, strict=True):
        np.testing.assert_array_equal(images, resumed_images.numpy())
        np.testing.assert_array_equal(labels, resumed_labels.numpy())


def test_random_erasing_fills_one_rectangle_per_chosen_face_with_one_level_and_resumes_the_same():
    from fer.data.datasets import epoch_batches
    from fer.data.splits import LabeledImages

    count = 64
    images = np.random.default_rng(0).integers(0, 256, (count, 48, 48, 1)).astype(np.uint8)
    split = LabeledImages(images, np.arange(count) % 7)
    batches, _ = epoch_batches(split, batch_size=16, seed=5, first_epoch=0, epochs=2, random_erasing=0.5)
    batches = [(images.numpy(), labels.numpy()) for images, labels in batches]
    plain, _ = epoch_batches(split, batch_size=16, seed=5, first_epoch=0, epochs=2)
    erased_faces, areas = 0, []
    for (erased, labels), (original, plain_labels) in zip(batches, plain, strict=True):
        np.testing.assert_array_equal(labels, plain_labels.numpy())  # erasing leaves the targets as they were
        for after, before in zip(erased, original.numpy()):
            changed = np.argwhere(after[..., 0] != before[..., 0])
            if len(changed) == 0:
                continue
            erased_faces += 1
            (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0) + 1
            box = after[top:bottom, left:right, 0]
            assert np.ptp(box) == 0  # one gray level over the whole rectangle
            outside = np.ones((48, 48), bool)
            outside[top:bottom, left:right] = False
            np.testing.assert_array_equal(after[..., 0][outside], before[..., 0][outside])
            areas.append(box.size / 48**2)
    assert 0.3 * 2 * count < erased_faces < 0.7 * 2 * count  # about half the faces, in each of two epochs
    assert 0.015 < min(areas) and max(areas) < 0.4
    resumed, _ = epoch_batches(split, batch_size=16, seed=5, first_epoch=1, epochs=2, random_erasing=0.5)
    for (images, labels), (resumed_images, resumed_labels) in zip(batches[4:], resumed, strict=True):
        np.testing.assert_array_equal(images, resumed_images.numpy())
        np.testing.assert_array_equal(labels, resumed_labels.numpy())


def test_distillation_targets_blend_label_and_teacher_and_reach_the_batches_mixed_up_as_labels_are():
    from fer.data.datasets import epoch_batches
    from fer.data.splits import LabeledImages
    from fer.training.distillation import training_targets

    count = 12
    labels = np.arange(count) % 7
    teacher = np.random.default_rng(0).dirichlet(np.ones(7), size=count).astype(np.float32)
    targets = training_targets(labels, teacher, weight=0.25)
    np.testing.assert_allclose(targets.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(targets[np.arange(count), labels], 0.75 + 0.25 * teacher[np.arange(count), labels])
    np.testing.assert_array_equal(training_targets(labels, teacher, weight=1.0), teacher)

    values = 10.0 * np.arange(count)
    split = LabeledImages(np.repeat(values, 48 * 48).reshape(count, 48, 48, 1).astype(np.uint8), labels)
    batches, _ = epoch_batches(split, batch_size=5, seed=3, first_epoch=0, epochs=1, targets=targets)
    for images, batch_targets in batches:
        faces = (images.numpy()[:, 0, 0, 0] / 10).round().astype(int)
        np.testing.assert_array_equal(batch_targets.numpy(), targets[faces])
    mixed, _ = epoch_batches(split, batch_size=5, seed=3, first_epoch=0, epochs=1, mixup=0.4, targets=targets)
    plain, _ = epoch_batches(split, batch_size=5, seed=3, first_epoch=0, epochs=1, mixup=0.4)
    for (images, batch_targets), (plain_images, plain_labels) in zip(mixed, plain, strict=True):
        np.testing.assert_array_equal(images.numpy(), plain_images.numpy())  # the same faces and weights
        assert not np.allclose(batch_targets.numpy(), plain_labels.numpy())  # blended from the teacher's targets


def test_distillation_settings_are_checked_before_anything_is_read(tmp_path):
    not_a_model = tmp_path / "teacher.keras"
    not_a_model.write_text("epoch,accuracy\n")
    for setting, message in (
        ({"distill": 0.5}, "distill and teacher go together"),
        ({"teacher": str(tmp_path)}, "distill and teacher go together"),
        ({"distill": 1.5, "teacher": str(tmp_path)}, r"distill must be in \[0, 1\]"),
        ({"distill": 0.5, "teacher": f"{tmp_path / 'gone.keras'}"}, "gone.keras: no such model file"),
        ({"distill": 0.5, "teacher": str(tmp_path)}, "no such model file or run directory"),
        ({"distill": 0.5, "teacher": str(not_a_model)}, "not a Keras model file"),
        ({"distill": 0.5, "teacher": f"{not_a_model}, ,{not_a_model}"}, "an empty entry between commas"),
    ):
        with pytest.raises(fer.DataError, match=message):
            fer.TrainConfig(**setting).resolved()


def test_a_teacher_that_does_not_load_stops_the_run_before_anything_is_written(tiny_csv, tmp_path):
    import zipfile

    broken = tmp_path / "teacher.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{}")
    run_dir = tmp_path / "run"
    with pytest.raises(fer.DataError, match="teacher.keras: cannot be loaded as a Keras model"):
        fer.train(fer.TrainConfig(data=str(tiny_csv), run_dir=str(run_dir), teacher=str(broken), distill=0.5))
    assert not run_dir.exists()


@pytest.mark.slow
def test_a_distilled_run_trains_on_its_teachers_cached_probabilities_and_resumes_with_them(tiny_csv, tmp_path):
    from fer.training.distillation import load_teacher, teacher_probabilities
    from fer.training.loop import TEACHER_CACHE

    teacher = fer.train(fer.TrainConfig(data=str(tiny_csv), run_dir=str(tmp_path / "teacher"), epochs=1))
    config = fer.TrainConfig(
        data=str(tiny_csv), run_dir=str(tmp_path / "student"), epochs=2, teacher=str(teacher), distill=0.5
    )
    log_epoch = keras.callbacks.CSVLogger.on_epoch_end
    cached = []

    def stop_after_first_epoch(self, epoch, logs=None):
        log_epoch(self, epoch, logs)
        cached.append(np.load(tmp_path / "student" / TEACHER_CACHE))
        raise KeyboardInterrupt

    keras.callbacks.CSVLogger.on_epoch_end = stop_after_first_epoch
    try:
        with pytest.raises(KeyboardInterrupt):
            fer.train(config)
    finally:
        keras.callbacks.CSVLogger.on_epoch_end = log_epoch
    training = fer.load_data(str(tiny_csv))["Training"]
    np.testing.assert_allclose(cached[0], teacher_probabilities(load_teacher(str(teacher)), training.images), atol=1e-6)
    run_dir = fer.train(config)
    assert (run_dir / "metrics.json").is_file() and not (run_dir / TEACHER_CACHE).exists()
    assert json.loads((run_dir / "config.json").read_text())["teacher"] == str(teacher)
    undistilled = fer.train(dataclasses.replace(config, run_dir=str(tmp_path / "plain"), teacher="", distill=0.0))
    # the same faces in the same order: only the targets differ, so the training losses do
    distilled_loss, plain_loss = (pd.read_csv(run / "history.csv")["loss"][0] for run in (run_dir, undistilled))
    assert abs(distilled_loss - plain_loss) > 1e-3


def test_the_plateau_schedule_counts_on_across_a_restart(tmp_path):
    from fer.training.loop import ResumablePlateau

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")

    def epochs(accuracies, first_epoch):
        callback = ResumablePlateau(tmp_path / "plateau_state.json")
        callback.set_model(model)
        callback.on_train_begin()
        for epoch, accuracy in enumerate(accuracies, start=first_epoch):
            callback.on_epoch_end(epoch, {"val_accuracy": accuracy})
        return float(model.optimizer.learning_rate)

    assert epochs([0.5, 0.5, 0.5], first_epoch=0) == pytest.approx(0.01)
    # 5 epochs without a better accuracy in all, 3 before the restart and 3 after (the first was the best)
    assert epochs([0.5, 0.5, 0.5], first_epoch=3) == pytest.approx(0.005)


def test_unknown_optimizers_and_bad_recipe_numbers_are_refused():
    for setting, message in (
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"weight_decay": -1e-4}, "weight_decay must be a number >= 0"),
        ({"mixup": float("nan")}, "mixup must be a number >= 0"),
        ({"random_erasing": 1.5}, r"random_erasing must be a chance in \[0, 1\]"),
    ):
        with pytest.raises(fer.DataError, match=message):
            fer.TrainConfig(**setting).resolved()


def test_candidate_progress_counts_epochs_best_publictest_and_cpu_time_of_every_state_of_run(tmp_path):
    from fer.training.records import run_progress as progress

    running, finished, fresh = tmp_path / "running", tmp_path / "finished", tmp_path / "fresh"
    for run in (running, finished, fresh):
        run.mkdir()
    log = pd.DataFrame({"epoch": [0, 1, 2], "accuracy": [0.3, 0.5, 0.6], "val_accuracy": [0.40, 0.55, 0.52]})
    log.to_csv(running / "training_log.csv", index=False)
    (running / "training_clock.json").write_text(json.dumps({"seconds": 3000.0, "cpu_seconds": 5400.0}))
    assert progress(running, 80) == (
        "running: 3 of 80 epochs, best PublicTest accuracy 0.5500 (epoch 2), 1.50 CPU-hours",
        5400.0,
    )
    log.to_csv(finished / "history.csv", index=False)
    (finished / "metrics.json").write_text(json.dumps({"train_cpu_seconds": 7200.0, "epochs": 3}))
    assert progress(finished, 3)[0] == (
        "finished: 3 of 3 epochs, finished, best PublicTest accuracy 0.5500 (epoch 2), 2.00 CPU-hours"
    )
    (fresh / "training_log.csv").touch()  # a run that has just started
    assert progress(fresh, 60) == ("fresh: 0 of 60 epochs, 0.00 CPU-hours", 0.0)


@pytest.mark.parametrize(
    ("registrations", "message"),
    [
        (["r2", "r1"], "in the order registered (r1, r2)"),
        (["r1", "r1"], "once each"),
        (["r1", "r_unknown"], "no registration r_unknown (registered: r0, r1"),
    ],
)
def test_train_candidates_takes_known_registrations_once_each_in_registration_order(registrations, message):
    import subprocess
    import sys

    from scripts.repository import REPO_ROOT

    command = [sys.executable, "-m", "scripts.train_candidates", *registrations, "--progress"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("train_candidates: ") and message in line
