"""Facial emotion recognition on FER-2013: loaders, models, training, evaluation, inference and plots.

The public names below are imported on first use, so that `import fer` (and `fer --help`) stay fast.
"""

from importlib import import_module

PUBLIC = {
    "EMOTIONS": "fer.data.labels",
    "DataError": "fer.errors",
    "OnnxModel": "fer.inference.runtime",
    "TrainConfig": "fer.training.config",
    "build_model": "fer.models.architectures",
    "compare": "fer.evaluation.compare",
    "register_model": "fer.models.registry",
    "evaluate": "fer.evaluation.metrics",
    "load_csv": "fer.data.csv_form",
    "load_data": "fer.data.datasets",
    "load_image_folders": "fer.data.image_folders",
    "load_model": "fer.models.files",
    "load_pretrained": "fer.models.pretrained",
    "predict": "fer.inference.predict",
    "predict_video": "fer.inference.video",
    "train": "fer.training.loop",
}
__all__ = sorted(PUBLIC)


def __getattr__(name: str):
    if name not in PUBLIC:
        raise AttributeError(f"module 'fer' has no attribute {name!r}")
    return getattr(import_module(PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *PUBLIC})
