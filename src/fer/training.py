"""Train a model from a config and write a complete run directory."""

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from fer.atomic import write_json, write_text
from fer.datasets import load_data, subsample, to_dataset, validation_dataset
from fer.errors import DataError
from fer.evaluation import classification_report_text, evaluate, predictions_frame
from fer.labels import EMOTIONS
from fer.machine import describe_machine
from fer.model_files import load_model, save_model
from fer.models import build_model
from fer.paths import REPO_ROOT, is_sample

STUDY_EPOCHS = {"csv_cnn": 15, "image_cnn": 30, "fer_net": 28}
DATA_FORM = {"csv_cnn": "csv", "image_cnn": "folders", "fer_net": "csv"}
LR_SCHEDULES = ("constant", "cosine")
RUN_FILES = (
    "config.json",
    "history.csv",
    "model.keras",
    "metrics.json",
    "predictions.csv",
    "classification_report.txt",
)


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as config.json in the run directory."""

    model: str = "csv_cnn"  # "csv_cnn" (reads the CSV form) or "image_cnn" (reads the folders)
    data: str = "data/sample"  # a CSV, a folder root, or a directory holding either
    run_dir: str = "runs/csv_cnn"
    epochs: int | None = None  # None: the study's (15 for csv_cnn, 30 for image_cnn)
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"  # "constant", or "cosine": decays to 0 over the run
    label_smoothing: float = 0.0
    seed: int = 42
    max_train_images: int | None = None  # a random subset, for quick runs

    def resolved(self) -> "TrainConfig":
        """A copy with defaults filled in and paths made absolute."""
        epochs = self.epochs if self.epochs is not None else STUDY_EPOCHS.get(self.model, 15)
        return dataclasses.replace(self, epochs=epochs, data=portable(self.data), run_dir=portable(self.run_dir))


def portable(path: str) -> str:
    """The path relative to the repository when it lies inside it, else absolute."""
    absolute = Path(path).resolve()
    return str(absolute.relative_to(REPO_ROOT)) if absolute.is_relative_to(REPO_ROOT) else str(absolute)


def same_config(run_dir: Path, config: TrainConfig) -> bool:
    """Whether run_dir's config.json trains exactly as this config (wherever the run directory now lies)."""
    saved = run_dir / "config.json"
    if not saved.is_file():
        return False
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    saved_config = TrainConfig(**{key: value for key, value in json.loads(saved.read_text()).items() if key in known})
    return dataclasses.replace(saved_config, run_dir=config.run_dir) == config


def is_complete(run_dir: Path, config: TrainConfig) -> bool:
    """Whether run_dir holds every file of a finished run made with exactly this config."""
    return all((run_dir / name).is_file() for name in RUN_FILES) and same_config(run_dir, config)


def clear_partial_run(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    for name in ("best_checkpoint.keras", "training_log.csv", "training_clock.json"):
        (run_dir / name).unlink(missing_ok=True)


def train(config: TrainConfig, overwrite: bool = False, strategy: tf.distribute.Strategy | None = None) -> Path:
    """Train, select the epoch with the best PublicTest accuracy, evaluate, and write the run directory.

    A finished run with the same config is reused unless overwrite is set; an unfinished
    one resumes from its last completed epoch. strategy: a tf.distribute strategy (for example
    MirroredStrategy over several GPUs) to train under; by default the current one.
    """
    config = config.resolved()
    run_dir = REPO_ROOT / config.run_dir
    if not overwrite and is_complete(run_dir, config):
        print(f"Reusing the finished run in {run_dir} (same config); pass overwrite=True to train again.")
        return run_dir
    data = load_data(REPO_ROOT / config.data, form=DATA_FORM.get(config.model, "auto"))
    for usage in ("Training", "PublicTest", "PrivateTest"):
        if len(data[usage]) == 0:
            raise DataError(f"{config.data}: no {usage} images; training needs Training, PublicTest and PrivateTest")
    run_dir.mkdir(parents=True, exist_ok=True)
    if overwrite or not same_config(run_dir, config):
        clear_partial_run(run_dir)  # a killed run resumes only under the same config
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(config))

    keras.utils.set_random_seed(config.seed)
    training = to_dataset(
        subsample(data["Training"], config.max_train_images, config.seed), config.batch_size, config.seed
    )
    with (strategy or tf.distribute.get_strategy()).scope():
        model = build_model(config.model)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate(config, steps_per_epoch=len(training))),
            loss=keras.losses.CategoricalCrossentropy(
                label_smoothing=config.label_smoothing, reduction="mean_with_sample_weight"
            ),
            weighted_metrics=["accuracy"],  # the padding of the validation batches has weight 0
        )
    validation = validation_dataset(data["PublicTest"], 256)
    checkpoint = run_dir / "best_checkpoint.keras"
    log = run_dir / "training_log.csv"
    clock = EpochClock(run_dir / "training_clock.json")
    callbacks = [
        clock,
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.ModelCheckpoint(
            checkpoint,
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_logged_accuracy(log, checkpoint),
        ),
        keras.callbacks.CSVLogger(str(log), append=True),
    ]
    # shuffle=False: the tf.data pipeline already reshuffles every epoch.
    model.fit(training, validation_data=validation, epochs=config.epochs, callbacks=callbacks, verbose=2, shuffle=False)

    history = pd.read_csv(log).drop_duplicates("epoch", keep="last")
    best_model = load_model(checkpoint)
    best_epoch = int(history["val_accuracy"].idxmax())
    write_results(run_dir, best_model, data, config, history, best_epoch, clock.state, checkpoint)
    log.unlink()
    clock.path.unlink()
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return run_dir


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The configured learning rate: constant, or cosine-decayed to 0 over all training steps."""
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=config.epochs * steps_per_epoch)
    raise ValueError(f"unknown lr_schedule {config.lr_schedule!r}; expected one of {', '.join(LR_SCHEDULES)}")


class EpochClock(keras.callbacks.Callback):
    """Adds up the seconds spent in each epoch, across restarts, in a small JSON file."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.state = json.loads(path.read_text()) if path.is_file() else {"seconds": 0.0, "epochs": 0}

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.state = {
            "seconds": self.state["seconds"] + time.monotonic() - self.started,
            "epochs": self.state["epochs"] + 1,
        }
        write_json(self.path, self.state)


def best_logged_accuracy(log: Path, checkpoint: Path) -> float | None:
    """On resuming, the best PublicTest accuracy so far, so the best checkpoint is only replaced by a better one."""
    if not (log.is_file() and checkpoint.is_file()):
        return None
    return float(pd.read_csv(log)["val_accuracy"].max())


def write_results(run_dir, model, data, config, history, best_epoch, clock_state, checkpoint) -> None:
    """Write the run's files; metrics.json last, so that its presence means the run finished."""
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    predictions = predictions_frame(model, data)
    write_text(run_dir / "predictions.csv", predictions.to_csv(index=False, float_format="%.6f"))
    private = predictions[predictions.usage == "PrivateTest"]
    predicted = private[[f"p_{name}" for name in EMOTIONS]].to_numpy().argmax(axis=1)
    write_text(run_dir / "classification_report.txt", classification_report_text(data["PrivateTest"].labels, predicted))
    save_model(model, run_dir / "model.keras")
    checkpoint.unlink()
    metrics = {
        "model": config.model,
        "data": config.data,
        "data_is_sample": is_sample(REPO_ROOT / config.data),
        "epochs": config.epochs,
        "selected_epoch": int(history.loc[best_epoch, "epoch"]) + 1,
        "selected_on": "PublicTest accuracy",
        "train_seconds": round(clock_state["seconds"], 1),
        "timed_epochs": clock_state["epochs"],
        "machine": describe_machine(),
        "splits": evaluate(model, data, ("PrivateTest", "PublicTest+PrivateTest", "PublicTest")),
    }
    write_json(run_dir / "metrics.json", metrics)
