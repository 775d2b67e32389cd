"""The model shipped inside the package; MODEL_CARD.md says how it was made and how well it does."""

from importlib import resources
from pathlib import Path

import keras

from fer.models.files import load_model

PRETRAINED_NAME = "the shipped model (MODEL_CARD.md)"
PRETRAINED_FILE = ("weights", "fer_model.keras")
MAX_MODEL_BYTES = 10_000_000  # the shipped file's limit: it travels inside the wheel


def pretrained_path() -> Path:
    """Where the installed package keeps the shipped model file."""
    path = Path(str(resources.files("fer.models").joinpath(*PRETRAINED_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the shipped model is missing from this installation of fer")
    return path


def load_pretrained() -> keras.Model:
    """The shipped model: a batch of 48x48x1 gray values 0..255 (float) in, 7 probabilities in FER-2013 order out.

    The file stores its weights in float16 to fit more networks; load_model computes in float32 with them.
    """
    return load_model(pretrained_path())
