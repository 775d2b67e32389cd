"""A training run killed part-way leaves nothing that looks finished, and resumes where it stopped."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import pandas as pd
import pytest

import fer
from fer.training.machine import describe_machine, machine_summary

KILL_AFTER_EPOCH = textwrap.dedent(
    """
    import json, os, signal, sys
    import keras
    import fer

    log_epoch = keras.callbacks.CSVLogger.on_epoch_end

    def log_then_die(self, epoch, logs=None):
        log_epoch(self, epoch, logs)
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

    keras.callbacks.CSVLogger.on_epoch_end = log_then_die
    fer.train(fer.TrainConfig(**json.loads(sys.argv[1])))
    """
)


def epochs_trained(monkeypatch) -> list[int]:
    """The list that each epoch trained from now on appends itself to."""
    epochs_run = []
    log_epoch = keras.callbacks.CSVLogger.on_epoch_end

    def count_epochs(self, epoch, logs=None):
        epochs_run.append(epoch)
        log_epoch(self, epoch, logs)

    monkeypatch.setattr(keras.callbacks.CSVLogger, "on_epoch_end", count_epochs)
    return epochs_run


@pytest.mark.slow
def test_killed_run_resumes_and_ends_with_all_epochs(tiny_csv, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    config = {"model": "csv_cnn", "data": str(tiny_csv), "run_dir": str(run_dir), "epochs": 4, "batch_size": 16}
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_EPOCH, json.dumps(config)], timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()
    assert len(pd.read_csv(run_dir / "training_log.csv")) == 2
    import keras

    # the best epoch's model, for inference: the optimizer's state is the backup's alone (committed runs carry both)
    assert getattr(keras.saving.load_model(run_dir / "best_checkpoint.keras"), "optimizer", None) is None

    epochs_run = epochs_trained(monkeypatch)
    monkeypatch.setattr("fer.training.loop.machine_summary", lambda machine: "the next session's machine")
    fer.train(fer.TrainConfig(**config))
    assert epochs_run == [2, 3]
    assert list(pd.read_csv(run_dir / "history.csv").epoch) == [0, 1, 2, 3]
    assert (run_dir / "metrics.json").is_file() and not (run_dir / "backup").exists()
    assert not os.path.exists(run_dir / "training_log.csv")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["timed_epochs"] == 4
    first_machine = machine_summary(describe_machine())
    assert metrics["epochs_by_machine"] == {first_machine: 2, "the next session's machine": 2}


@pytest.mark.slow
def test_a_run_stopped_while_writing_its_results_writes_them_without_training_again(tiny_csv, tmp_path, monkeypatch):
    import fer.training.loop as loop

    run_dir = tmp_path / "run"
    config = fer.TrainConfig(data=str(tiny_csv), run_dir=str(run_dir), epochs=3, batch_size=16)
    write_evaluation = loop.write_evaluation

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "write_evaluation", stopped)
    with pytest.raises(KeyboardInterrupt):
        fer.train(config)
    assert not (run_dir / "metrics.json").exists()
    monkeypatch.setattr(loop, "write_evaluation", write_evaluation)
    epochs_run = epochs_trained(monkeypatch)
    fer.train(config)
    assert epochs_run == []
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["timed_epochs"] == 3 and list(pd.read_csv(run_dir / "history.csv").epoch) == [0, 1, 2]
    assert not (run_dir / "backup").exists() and not (run_dir / "best_checkpoint.keras").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe",
    [{}, {"optimizer": "sgd", "learning_rate": 0.01, "weight_decay": 5e-4, "lr_schedule": "plateau", "mixup": 0.2}],
    ids=["adam", "sgd-plateau-mixup"],
)
def test_a_resumed_run_has_the_history_of_an_uninterrupted_one(tiny_csv, tmp_path, recipe):
    """Weights, optimizer, batch order, mixup partners and dropout masks all continue where the killed run stopped."""
    config = {"model": "csv_cnn", "data": str(tiny_csv), "epochs": 4, "batch_size": 16, **recipe}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_EPOCH, json.dumps({**config, "run_dir": str(tmp_path / "resumed")})]
    )
    assert killed.returncode == -signal.SIGKILL
    fer.train(fer.TrainConfig(**config, run_dir=str(tmp_path / "resumed")))
    fer.train(fer.TrainConfig(**config, run_dir=str(tmp_path / "straight")))
    resumed, straight = (pd.read_csv(tmp_path / name / "history.csv") for name in ("resumed", "straight"))
    pd.testing.assert_frame_equal(resumed, straight, check_exact=False, rtol=1e-5)

