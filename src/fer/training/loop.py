"""Train a model from a config and write a complete run directory."""

import dataclasses
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from fer.atomic import atomic_file, write_json, write_text
from fer.data.datasets import epoch_batches, load_data, subsample, validation_dataset
from fer.data.labels import EMOTIONS
from fer.data.locations import is_sample
from fer.errors import DataError
from fer.evaluation.metrics import classification_report_text, evaluate, predictions_frame
from fer.models.architectures import build_model
from fer.models.files import load_model, save_model
from fer.models.registry import model_spec
from fer.training.config import TrainConfig, read_config, teacher_paths
from fer.training.distillation import cached_teacher_probabilities, load_teacher, training_targets
from fer.training.machine import describe_machine, machine_summary

RUN_FILES = (
    "config.json",
    "history.csv",
    "model.keras",
    "metrics.json",
    "predictions.csv",
    "classification_report.txt",
)
TEACHER_CACHE = "teacher_probabilities.npy"
HOLDS_OUT_PRIVATE_TEST = "holds_out_private_test"  # a run started with private_test=False finishes so however resumed
PARTIAL_FILES = (
    TEACHER_CACHE,
    HOLDS_OUT_PRIVATE_TEST,
    "best_checkpoint.keras",
    "training_log.csv",
    "training_clock.json",
    "random_state.npz",
    "plateau_state.json",
)


def is_complete(run_dir: Path, config: TrainConfig) -> bool:
    """Whether run_dir holds every file of a finished run made with exactly this config (a run that held
    PrivateTest out has no classification report of it)."""
    try:
        held_out = json.loads((run_dir / "metrics.json").read_text()).get("held_out", [])
    except (OSError, ValueError):
        return False
    needed = [name for name in RUN_FILES if not (held_out and name == "classification_report.txt")]
    return all((run_dir / name).is_file() for name in needed) and same_config(run_dir, config)


def same_config(run_dir: Path, config: TrainConfig) -> bool:
    """Whether run_dir's config.json trains exactly as this config (wherever the run directory now lies)."""
    saved = read_config(run_dir)
    return saved is not None and dataclasses.replace(saved, run_dir=config.run_dir) == config


def refuse_writing_over_inputs(run_dir: Path, config: TrainConfig) -> None:
    """A DataError when a file this run writes would be one of its inputs (its data, a teacher's model), by path,
    link or hard link: --overwrite removes, and every run rewrites, the files a run writes."""
    from fer.atomic import same_file_keys

    written = [run_dir / name for name in (*RUN_FILES, *PARTIAL_FILES, LOCK_FILE)]
    inputs = [Path(config.data), *(Path(path) for path in teacher_paths(config.teacher))]
    inputs += [path / "model.keras" for path in inputs if path.is_dir()]
    taken = {key for path in inputs for key in same_file_keys(path)}
    for path in written:
        if same_file_keys(path) & taken:
            raise DataError(f"{path}: an input of this run (--data or --teacher); choose another --run-dir")


def holds_another_run(run_dir: Path, config: TrainConfig) -> bool:
    """Whether run_dir holds files of a run (finished or not) made with a different config."""
    if not run_dir.exists():
        return False
    present = [name for name in (*RUN_FILES, *PARTIAL_FILES, "backup") if (run_dir / name).exists()]
    return bool(present) and not same_config(run_dir, config)


BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")  # what keras.callbacks.BackupAndRestore writes
LOCK_FILE = "trainer.lock"  # one trainer per run directory at a time


def clear_run(run_dir: Path) -> None:
    """Remove the files a run writes, by name, and nothing else: a folder the user pointed at keeps its own files."""
    remove_backup(run_dir)
    for name in (*PARTIAL_FILES, *RUN_FILES):
        (run_dir / name).unlink(missing_ok=True)


def remove_backup(run_dir: Path) -> None:
    """BackupAndRestore's files, and its folder once empty."""
    backup = run_dir / "backup"
    for name in BACKUP_FILES:
        for path in (backup / name, backup / f"{name}.bkp"):
            path.unlink(missing_ok=True)
    if backup.is_dir() and not any(backup.iterdir()):
        backup.rmdir()


@contextmanager
def sole_trainer(run_dir: Path) -> Iterator[None]:
    """Hold run_dir's lock file while training: a second trainer is refused, naming the process that holds it. The
    lock is the kernel's (flock), so a killed trainer's lock is released with it and the next one takes it over."""
    lock = run_dir / LOCK_FILE
    if lock.is_symlink() or lock.exists() and not (lock.is_file() and lock.read_bytes().startswith(b"process ")):
        raise DataError(f"{lock}: not a lock file fer wrote; it is left as it is: choose another --run-dir")
    handle = open(lock, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(handle.fileno()).st_ino != os.stat(lock).st_ino:  # unlinked by a trainer that just finished
            raise BlockingIOError
    except (BlockingIOError, FileNotFoundError):
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DataError(f"{run_dir}: another trainer is running in it ({holder}); wait for it or stop it") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        (run_dir / LOCK_FILE).unlink(missing_ok=True)  # while still held: the next trainer starts a new one
        handle.close()


def train(
    config: TrainConfig,
    overwrite: bool = False,
    strategy: tf.distribute.Strategy | None = None,
    private_test: bool = True,
) -> Path:
    """Train, select the epoch with the best PublicTest accuracy, evaluate, and write the run directory.

    A finished run with the same config is reused unless overwrite is set; an unfinished
    one resumes from its last completed epoch. strategy: a tf.distribute strategy (for example
    MirroredStrategy over several GPUs) to train under; by default the current one. private_test=False
    holds PrivateTest out: the run is scored on PublicTest alone, as a registered candidate is until the
    selection is made (release_private_test scores it then).
    """
    config = config.resolved()
    run_dir = Path(config.run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise DataError(f"{run_dir}: the run directory is a file")
    if not overwrite and is_complete(run_dir, config):
        print(f"Reusing the finished run in {run_dir} (same config); pass overwrite=True to train again.")
        return run_dir
    if not overwrite and holds_another_run(run_dir, config):
        what = "a run with a different config.json" if (run_dir / "config.json").exists() else "files a run writes"
        raise DataError(f"{run_dir} holds {what}; choose another --run-dir, or pass --overwrite to replace them")
    data = load_data(config.data, form=model_spec(config.model).data_form)
    for usage in ("Training", "PublicTest", "PrivateTest"):
        if len(data[usage]) == 0:
            raise DataError(f"{config.data}: no {usage} images; training needs Training, PublicTest and PrivateTest")
    teacher = load_teacher(config.teacher)  # before anything is written: a teacher that does not load stops here
    refuse_writing_over_inputs(run_dir, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    with sole_trainer(run_dir):
        return train_in(run_dir, config, data, teacher, overwrite, strategy, private_test)


def train_in(run_dir, config, data, teacher, overwrite, strategy, private_test) -> Path:
    """train's work once run_dir is this process's alone (checked again: another trainer may have just finished)."""
    if not overwrite and is_complete(run_dir, config):
        print(f"Reusing the finished run in {run_dir} (same config); pass overwrite=True to train again.")
        return run_dir
    if overwrite:
        clear_run(run_dir)
    for name in RUN_FILES:  # the same config, not finished: only its partial files (to resume from) are kept
        (run_dir / name).unlink(missing_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(config))
    private_test = private_test and not (run_dir / HOLDS_OUT_PRIVATE_TEST).is_file()
    if not private_test:
        write_text(run_dir / HOLDS_OUT_PRIVATE_TEST, "PrivateTest is held out until the selection\n")

    training_faces = subsample(data["Training"], config.max_train_images, config.seed)
    targets = None
    if config.distill:
        probabilities = cached_teacher_probabilities(run_dir / TEACHER_CACHE, teacher, training_faces.images)
        targets = training_targets(training_faces.labels, probabilities, config.distill)
    keras.utils.set_random_seed(config.seed)
    training, steps_per_epoch = epoch_batches(
        training_faces,
        config.batch_size,
        config.seed,
        first_epoch=epochs_backed_up(run_dir / "backup"),
        epochs=config.epochs,
        mixup=config.mixup,
        targets=targets,
        random_erasing=config.random_erasing,
    )
    with (strategy or tf.distribute.get_strategy()).scope():
        model = build_model(config.model, augment=config.augment)
        model.compile(
            optimizer=optimizer(config, steps_per_epoch),
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
        # kept until the results are written (below), so a run stopped while writing them does not start over
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False),
        RandomStateBackup(run_dir / "random_state.npz"),
        BestModelCheckpoint(checkpoint, best_logged_accuracy(log, checkpoint)),
        keras.callbacks.CSVLogger(str(log), append=True),
    ]
    if config.lr_schedule == "plateau":
        callbacks.insert(1, ResumablePlateau(run_dir / "plateau_state.json"))
    # shuffle=False: epoch_batches orders every epoch itself.
    model.fit(
        training,
        validation_data=validation,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=2,
        shuffle=False,
    )

    history = pd.read_csv(log).drop_duplicates("epoch", keep="last")
    best_model = load_model(checkpoint)
    best_epoch = int(history["val_accuracy"].idxmax())
    write_results(run_dir, best_model, data, config, history, best_epoch, clock.state, private_test)
    for partial in PARTIAL_FILES:
        (run_dir / partial).unlink(missing_ok=True)
    remove_backup(run_dir)
    return run_dir


def epochs_backed_up(backup: Path) -> int:
    """How many epochs BackupAndRestore has saved in backup (the epoch it will resume at); 0 when none."""
    try:
        return int(json.loads((backup / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


class BestModelCheckpoint(keras.callbacks.Callback):
    """The model at its best PublicTest accuracy so far, saved as save_model saves it: without the optimizer's state,
    a third of keras.callbacks.ModelCheckpoint's file, which an unfinished run committed to git carries."""

    def __init__(self, path: Path, best_so_far: float | None):
        super().__init__()
        self.path, self.best = path, -np.inf if best_so_far is None else best_so_far

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.best:
            self.best = logs["val_accuracy"]
            save_model(self.model, self.path)


class RandomStateBackup(keras.callbacks.Callback):
    """Saves the model's random-number states (dropout, augmentation) at each epoch's end, and restores them.

    BackupAndRestore saves the weights and the optimizer but not these: without them a resumed run
    would replay its first epoch's dropout masks, and its training metrics would drift from an
    uninterrupted run's.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def random_states(self) -> list:
        weights = {id(weight) for weight in self.model.weights}
        return [variable for variable in self.model.variables if id(variable) not in weights]

    def on_train_begin(self, logs=None):
        if not self.path.is_file():
            return
        with np.load(self.path, allow_pickle=False) as stored:
            for index, state in enumerate(self.random_states()):
                state.assign(stored[str(index)])

    def on_epoch_end(self, epoch, logs=None):
        states = {str(index): keras.ops.convert_to_numpy(state) for index, state in enumerate(self.random_states())}
        with atomic_file(self.path) as handle:
            np.savez(handle, **states)


def optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam, or SGD with Nesterov momentum; Keras applies weight_decay decoupled (weights shrink lr x decay a step)."""
    rate, decay = learning_rate(config, steps_per_epoch), config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=decay)
    return keras.optimizers.Adam(rate, weight_decay=decay)


class ResumablePlateau(keras.callbacks.ReduceLROnPlateau):
    """Multiplies the learning rate by FACTOR after PATIENCE epochs without a better PublicTest accuracy; its
    counters are saved at each epoch's end and restored, so a resumed run lowers the rate when an uninterrupted one
    would (BackupAndRestore restores the rate itself, with the optimizer)."""

    FACTOR, PATIENCE = 0.5, 5  # halved after 5 epochs without a better PublicTest accuracy (the model card reads them)
    COUNTERS = ("wait", "best", "cooldown_counter")

    def __init__(self, path: Path):
        super().__init__(monitor="val_accuracy", mode="max", factor=self.FACTOR, patience=self.PATIENCE, verbose=1)
        self.path = path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.path.is_file():
            for name, value in json.loads(self.path.read_text()).items():
                setattr(self, name, value)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        write_json(self.path, {name: float(getattr(self, name)) for name in self.COUNTERS})


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The configured learning rate: constant, or cosine-decayed to 0 over all training steps."""
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=config.epochs * steps_per_epoch)
    return config.learning_rate


class EpochClock(keras.callbacks.Callback):
    """Adds up the seconds spent in each epoch, wall clock and this process's CPU time, across restarts,
    and counts the epochs trained on each machine (a long run resumes on whatever machine comes next).

    The CPU seconds are what a run costs whatever else shares the machine; a clock file from before
    they were counted starts them at 0, and "cpu_epochs" says how many epochs they cover.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.machine = machine_summary(describe_machine())
        self.state = {"seconds": 0.0, "epochs": 0, "cpu_seconds": 0.0, "cpu_epochs": 0, "machines": {}}
        if path.is_file():
            self.state |= json.loads(path.read_text())

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.cpu_started = time.monotonic(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.state = {
            "seconds": self.state["seconds"] + time.monotonic() - self.started,
            "epochs": self.state["epochs"] + 1,
            "cpu_seconds": self.state["cpu_seconds"] + time.process_time() - self.cpu_started,
            "cpu_epochs": self.state["cpu_epochs"] + 1,
            "machines": self.state["machines"] | {self.machine: self.state["machines"].get(self.machine, 0) + 1},
        }
        write_json(self.path, self.state)


def best_logged_accuracy(log: Path, checkpoint: Path) -> float | None:
    """On resuming, the best PublicTest accuracy so far, so the best checkpoint is only replaced by a better one."""
    if not (log.is_file() and checkpoint.is_file()):
        return None
    return float(pd.read_csv(log)["val_accuracy"].max())


def write_results(run_dir, model, data, config, history, best_epoch, clock_state, private_test) -> None:
    """Write the run's files; metrics.json last, so that its presence means the run finished."""
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    save_model(model, run_dir / "model.keras")
    metrics = {
        "model": config.model,
        "data": config.data,
        "data_is_sample": is_sample(config.data),
        "epochs": config.epochs,
        "selected_epoch": int(history.loc[best_epoch, "epoch"]) + 1,
        "selected_on": "PublicTest accuracy",
        "train_seconds": round(clock_state["seconds"], 1),
        "timed_epochs": clock_state["epochs"],
        "train_cpu_seconds": round(clock_state["cpu_seconds"], 1),
        "cpu_timed_epochs": clock_state["cpu_epochs"],
        "epochs_by_machine": clock_state["machines"],
        "machine": describe_machine(),
        "held_out": [] if private_test else ["PrivateTest"],
    }
    write_evaluation(run_dir, model, data, metrics)


def write_evaluation(run_dir: Path, model: keras.Model, data, metrics: dict) -> None:
    """The run's predictions.csv, its PrivateTest classification_report.txt and metrics.json with every split's
    scores, metrics.json last; of PublicTest alone where PrivateTest is held out (metrics["held_out"])."""
    private_test = "PrivateTest" not in metrics["held_out"]
    usages = ("PublicTest", "PrivateTest") if private_test else ("PublicTest",)
    predictions = predictions_frame(model, data, usages)
    write_text(run_dir / "predictions.csv", predictions.to_csv(index=False, float_format="%.6f"))
    if private_test:
        private = predictions[predictions.usage == "PrivateTest"]
        predicted = private[[f"p_{name}" for name in EMOTIONS]].to_numpy().argmax(axis=1)
        report = classification_report_text(data["PrivateTest"].labels, predicted)
        write_text(run_dir / "classification_report.txt", report)
    splits = ("PrivateTest", "PublicTest+PrivateTest", "PublicTest") if private_test else ("PublicTest",)
    write_json(run_dir / "metrics.json", metrics | {"splits": evaluate(model, data, splits)})


def release_private_test(run_dir: Path, data) -> None:
    """Score a finished run that held PrivateTest out (a registered candidate, once the selection is made) on
    every split, as a run that never held it out is scored."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    write_evaluation(run_dir, load_model(run_dir), data, metrics | {"held_out": []})
