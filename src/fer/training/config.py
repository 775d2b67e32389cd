"""A training run's settings, checked before anything is read or written; saved as config.json."""

import dataclasses
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fer.data.locations import default_data_dir
from fer.errors import DataError
from fer.models.registry import model_spec

LR_SCHEDULES = ("constant", "cosine", "plateau")
OPTIMIZERS = ("adam", "sgd")  # sgd: momentum 0.9 with Nesterov's correction, as the strongest FER-2013 recipes


@dataclass
class TrainConfig:
    """Everything a run depends on; paths are relative to the current directory unless absolute."""

    # a name in fer.models.registry (or registered with fer.register_model), "package.module:function", or a builder
    # function or an uncompiled keras.Model object (resolved() registers it and keeps its name)
    model: str = "csv_cnn"
    data: str | None = None  # a CSV, a folder root, or a directory holding either; None: default_data_dir()
    run_dir: str | None = None  # None: runs/<model>
    epochs: int | None = None  # None: the model's registered default (the study's for its pipelines)
    batch_size: int = 64
    learning_rate: float = 1e-3
    # "cosine": decays to 0 over the run; "plateau": halved after 5 epochs without a better PublicTest accuracy
    lr_schedule: str = "constant"
    optimizer: str = "adam"  # or "sgd"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    mixup: float = 0.0  # MixUp's alpha: each training face blended with another of its epoch; 0 is off
    random_erasing: float = 0.0  # the chance that a training face has a random rectangle filled with one gray level
    # Knowledge distillation: the teacher's models (run directories or .keras files, comma-separated) and the
    # weight of their probabilities, averaged over each face and its mirror, in the training targets; 0 is off
    teacher: str = ""
    distill: float = 0.0
    seed: int = 42
    max_train_images: int | None = None  # a random subset, for quick runs
    augment: bool | None = None  # None: the model's registered default; True or False turns its augmentation on or off
    model_source: str | None = None  # filled in: where a model from outside the package came from, "module:function"

    def resolved(self) -> "TrainConfig":
        """A checked copy with defaults filled in and paths made portable; DataError on a bad setting."""
        self = dataclasses.replace(self, model=model_name(self.model))
        check(self)
        spec = model_spec(self.model)
        epochs = self.epochs if self.epochs is not None else spec.epochs
        run_dir = self.run_dir if self.run_dir is not None else f"runs/{self.model}"
        data = self.data if self.data is not None else str(default_data_dir())
        blocked = next((folder for folder in Path(run_dir).resolve().parents if folder.is_file()), None)
        if blocked or Path(run_dir).is_file():
            raise DataError(f"{run_dir}: cannot be a run directory ({blocked or run_dir} is a file)")
        teacher = ",".join(portable(path) for path in teacher_paths(self.teacher))
        return dataclasses.replace(
            self,
            epochs=epochs,
            data=portable(data),
            run_dir=portable(run_dir),
            teacher=teacher,
            model_source=spec.source,
        )


def model_name(model) -> str:
    """The registry's name for config.model: a name as it is; a builder function or a keras.Model object registered
    (a function under "module:function" unless fer.register_model named it; an object as "object:<its name>")."""
    if isinstance(model, str):
        return model
    from fer.models.registry import MODELS, register_builder

    registered = next((spec.name for spec in MODELS.values() if spec.builder is model), None)
    if registered:
        return registered
    if hasattr(model, "fit") and hasattr(model, "get_config"):  # a keras.Model: fit trains it, as keras.Model.fit
        network = model
        source = f"a keras.Model object named {model.name!r}, given to fer.train (give it again to resume)"
        return register_builder(lambda input_shape, num_classes: network, f"object:{model.name}", source=source).name
    if callable(model) and hasattr(model, "__qualname__"):
        return register_builder(model, f"{model.__module__}:{model.__qualname__}").name
    if callable(model):  # a functools.partial, a callable object: nothing names it
        raise DataError(f"model {model!r} has no name; register it with fer.register_model('a_name')(builder)")
    raise DataError(f"model must be a name, a builder function or a keras.Model, not {type(model).__name__}")


def teacher_paths(teacher: str) -> list[str]:
    """The teacher's model paths, from the comma-separated setting."""
    return [path.strip() for path in teacher.split(",") if path.strip()]


def check(config: TrainConfig) -> None:
    if config.run_dir is not None and not str(config.run_dir).strip():
        raise DataError("the run directory is empty; give a folder for the run (--run-dir)")
    try:
        model_spec(config.model)
    except ValueError as error:
        raise DataError(str(error)) from None
    if config.augment is not None and not isinstance(config.augment, bool):
        raise DataError(f"augment must be True, False or None (the model's default), not {config.augment!r}")
    if config.optimizer not in OPTIMIZERS:
        raise DataError(f"unknown optimizer {config.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    if config.lr_schedule not in LR_SCHEDULES:
        raise DataError(f"unknown lr_schedule {config.lr_schedule!r}; expected one of {', '.join(LR_SCHEDULES)}")
    for name in ("epochs", "batch_size", "max_train_images"):
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DataError(f"{name} must be a positive whole number, not {value!r}")
    if not (math.isfinite(config.learning_rate) and config.learning_rate > 0):
        raise DataError(f"learning_rate must be a positive number, not {config.learning_rate!r}")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        raise DataError(f"seed must be a whole number in 0 .. 2**32 - 1, not {config.seed!r}")
    if not 0 <= config.label_smoothing < 1:
        raise DataError(f"label_smoothing must be in [0, 1), not {config.label_smoothing!r}")
    for name in ("weight_decay", "mixup"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise DataError(f"{name} must be a number >= 0, not {value!r}")
    if not (isinstance(config.random_erasing, int | float) and 0 <= config.random_erasing <= 1):
        raise DataError(f"random_erasing must be a chance in [0, 1], not {config.random_erasing!r}")
    if isinstance(config.distill, bool) or not isinstance(config.distill, int | float) or not 0 <= config.distill <= 1:
        raise DataError(f"distill must be in [0, 1], not {config.distill!r}")
    if not isinstance(config.teacher, str):
        raise DataError(f"teacher must be model paths separated by commas, not {config.teacher!r}")
    if bool(config.distill) != bool(teacher_paths(config.teacher)):
        raise DataError("distill and teacher go together: a weight > 0 needs a teacher, and a teacher a weight")
    if teacher_paths(config.teacher) and any(not path.strip() for path in config.teacher.split(",")):
        raise DataError(f"teacher {config.teacher!r}: an empty entry between commas")
    for path in teacher_paths(config.teacher):
        model_file = Path(path) / "model.keras" if Path(path).is_dir() else Path(path)
        if not model_file.is_file():
            raise DataError(f"teacher {path}: no such model file or run directory with a model.keras")
        if not holds_keras_config(model_file):
            raise DataError(f"teacher {model_file}: not a Keras model file (a .keras zip archive with its config.json)")


def holds_keras_config(path: Path) -> bool:
    """Whether path is a zip archive with a config.json, as every .keras file is (checked without Keras)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def portable(path: str) -> str:
    """The path relative to the current directory when it lies inside it, else absolute."""
    absolute, here = Path(path).resolve(), Path.cwd().resolve()
    return str(absolute.relative_to(here)) if absolute.is_relative_to(here) else str(absolute)


def read_config(run_dir: Path) -> TrainConfig | None:
    """The config.json saved in run_dir (fields this version does not know are left out), or None."""
    saved = run_dir / "config.json"
    try:
        values = json.loads(saved.read_text())
    except (OSError, ValueError):
        return None
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{key: value for key, value in values.items() if key in known})
