"""The models shipped inside the package; MODEL_CARD.md says how they were made and how well they do."""

from importlib import resources
from pathlib import Path

import keras

from fer.models.files import load_model

PRETRAINED_FILES = {
    "shipped": "fer_model.keras",  # the most accurate model that fits in MAX_MODEL_BYTES
    "fast": "fer_fast.keras",  # one network, no slower per face than the PyPI fer package's
}
PRETRAINED_NAME = "the shipped model (MODEL_CARD.md)"
MAX_MODEL_BYTES = 10_000_000  # the shipped file's limit: it travels inside the wheel


def pretrained_path(name: str = "shipped") -> Path:
    """Where the installed package keeps the model called name ("shipped" or "fast")."""
    if name not in PRETRAINED_FILES:
        raise ValueError(f"no pretrained model {name!r}; expected one of {', '.join(PRETRAINED_FILES)}")
    path = Path(str(resources.files("fer.models").joinpath("weights", PRETRAINED_FILES[name])))
    if not path.is_file():
        why = "this release ships no fast network; use 'shipped'" if name == "fast" else "reinstall fer"
        raise FileNotFoundError(f"{path}: this installation of fer has no {name!r} model ({why}; MODEL_CARD.md)")
    return path


def load_pretrained(name: str = "shipped") -> keras.Model:
    """A shipped model: a batch of 48x48x1 gray values 0..255 (float) in, 7 probabilities in FER-2013 order out.

    "shipped" is the most accurate; "fast" is one network, for when time per face matters more.
    The files store their weights in float16; load_model computes in float32 with them.
    """
    return load_model(pretrained_path(name))
