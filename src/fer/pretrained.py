"""The model shipped inside the package: fer_net trained on FER-2013's Training split, chosen on PublicTest."""

from importlib import resources
from pathlib import Path

import keras

from fer.model_files import load_model

PRETRAINED_NAME = "fer_net (shipped)"
PRETRAINED_FILE = ("weights", "fer_net.keras")


def pretrained_path() -> Path:
    """Where the installed package keeps the shipped model file."""
    path = Path(str(resources.files("fer").joinpath(*PRETRAINED_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the shipped model is missing from this installation of fer")
    return path


def load_pretrained() -> keras.Model:
    """The shipped model: a batch of 48x48x1 gray values 0..255 (float) in, 7 probabilities in FER-2013 order out."""
    return load_model(pretrained_path())
