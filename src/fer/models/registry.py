"""Every model this package trains, defined once: builder, study epochs, data form, titles."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: str  # a function of fer.models.architectures, looked up when the model is built (it imports Keras)
    epochs: int  # the default number of epochs: the study's for its two pipelines
    data_form: str  # "csv" or "folders": which form of FER-2013 it trains on
    title: str
    figure_suffix: str  # images/confusion_matrix_<suffix>.png, as in the study's folders
    reported: dict[str, float] | None = None  # the original study's own PrivateTest figures (cited, not measured)
    width: float = 1.0  # fer_net's filters per layer, as a fraction of its 32, 64, 128, 256


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
        ),
        ModelSpec("fer_net", "build_fer_net", 28, "csv", "fer_net", "fer_net"),
        ModelSpec("fer_net_slim", "build_fer_net", 28, "csv", "fer_net, 0.75 width", "fer_net_slim", width=0.75),
        ModelSpec("fer_net_half", "build_fer_net", 28, "csv", "fer_net, 0.5 width", "fer_net_half", width=0.5),
    )
}
MODEL_NAMES = tuple(MODELS)


def model_spec(name: str) -> ModelSpec:
    """The registered model called name; a ValueError naming the known ones otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return MODELS[name]
