"""Every model this package trains, defined once: builder, study epochs, data form, titles; and the way in for
networks defined outside the package (fer.register_model, or "package.module:function")."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class ModelSpec:
    name: str
    # a function of fer.models.architectures, by name (it imports Keras), called (name, input_shape, num_classes);
    # or a user's function, called (input_shape, num_classes), returning an uncompiled keras.Model
    builder: str | Callable
    epochs: int  # the default number of epochs: the study's for its two pipelines
    data_form: str  # "csv" or "folders": which form of FER-2013 it trains on
    title: str
    figure_suffix: str  # images/confusion_matrix_<suffix>.png, as in the study's folders
    reported: dict[str, float] | None = None  # the original study's own PrivateTest figures (cited, not measured)
    width: float = 1.0  # fer_net's filters per layer, as a fraction of its 32, 64, 128, 256
    augment: bool = False  # by default, the image pipeline's augmentation (fer_net: its own shifts and flips)
    source: str | None = None  # where a user's builder came from, "module:function"; None for the package's own


MODELS = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "csv_cnn",
            "build_study_cnn",
            15,
            "csv",
            "CSV pipeline",
            "csv",
            {"accuracy": 0.59, "macro_f1": 0.52, "weighted_f1": 0.58},
        ),
        ModelSpec(
            "image_cnn",
            "build_study_cnn",
            30,
            "folders",
            "Image pipeline",
            "image",
            {"accuracy": 0.59, "macro_f1": 0.51, "weighted_f1": 0.57},
            augment=True,
        ),
        ModelSpec("fer_net", "build_fer_net", 28, "csv", "fer_net", "fer_net", augment=True),
        ModelSpec(
            "fer_net_slim", "build_fer_net", 28, "csv", "fer_net, 0.75 width", "fer_net_slim", width=0.75, augment=True
        ),
        ModelSpec(
            "fer_net_half", "build_fer_net", 28, "csv", "fer_net, 0.5 width", "fer_net_half", width=0.5, augment=True
        ),
    )
}
MODEL_NAMES = tuple(MODELS)  # the package's own
DATA_FORMS = ("csv", "folders")


def register_model(
    name: str | None = None,
    *,
    epochs: int = 30,
    data_form: str = "csv",
    title: str | None = None,
    augment: bool = False,
) -> Callable:
    """Decorator: register builder(input_shape, num_classes) -> uncompiled keras.Model under name (by default the
    function's name), so that fer.train, fer train --model and fer evaluate take it as they take the package's own.

        @fer.register_model("my_net", epochs=30, data_form="csv")
        def my_net(input_shape, num_classes):
            ...

    augment=True puts the image pipeline's augmentation in front of it (TrainConfig.augment changes it per run).
    """

    def register(builder: Callable) -> Callable:
        register_builder(builder, name or builder.__name__, epochs, data_form, title, augment)
        return builder

    return register


def register_builder(
    builder: Callable,
    name: str,
    epochs: int = 30,
    data_form: str = "csv",
    title: str | None = None,
    augment: bool = False,
    source: str | None = None,
) -> ModelSpec:
    """Register builder under name; source says where it came from (by default its "module:qualified name")."""
    if name in MODEL_NAMES:
        raise ValueError(f"model {name!r} is one of the package's own; register yours under another name")
    if data_form not in DATA_FORMS:
        raise ValueError(f"data_form must be one of {', '.join(DATA_FORMS)}, not {data_form!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive whole number, not {epochs!r}")
    source = source or f"{getattr(builder, '__module__', '?')}:{getattr(builder, '__qualname__', '?')}"
    suffix = "".join(character if character.isalnum() else "_" for character in name)
    spec = ModelSpec(name, builder, epochs, data_form, title or name, suffix, augment=augment, source=source)
    MODELS[name] = spec
    return spec


def model_spec(name: str) -> ModelSpec:
    """The registered model called name, or the builder "package.module:function" (imported, and registered under
    that name unless it registered itself); a ValueError naming the known ones otherwise."""
    if name in MODELS:
        return MODELS[name]
    if isinstance(name, str) and ":" in name:
        module_name, _, function_name = name.partition(":")
        try:
            builder = getattr(import_module(module_name), function_name)
        except (ImportError, AttributeError, ValueError) as error:
            raise ValueError(f"model {name!r}: cannot import {function_name} from {module_name} ({error})") from None
        registered = next((spec for spec in MODELS.values() if spec.builder is builder), None)
        return registered or register_builder(builder, name)
    raise ValueError(
        f"unknown model {name!r}; expected one of {', '.join(MODELS)}, or a builder as package.module:function"
    )
