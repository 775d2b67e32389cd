"""Model files: loaded with Keras' safe mode on, computing in float32; saved without optimizer state, atomically."""

import os
import tempfile
import zipfile
from pathlib import Path

import keras

from fer.errors import DataError
from fer.models.architectures import with_dtype


def load_model(path: str | Path) -> keras.Model:
    """Load a .keras file, or a run directory's model.keras, with Keras' safe mode on.

    A file that stores float16 weights (the shipped one does, to save space) computes in float32
    with them: faster on a CPU, and the same numbers whichever command loads it.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot be loaded as a Keras model ({error})") from None
    if any(variable.dtype == "float16" for variable in model.weights):
        model = with_dtype(model, "float32")
    return model


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save model for inference (weights and architecture, no optimizer state), write-then-rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inference_model = type(model).from_config(model.get_config())  # uncompiled: no optimizer state
    inference_model.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        temporary = Path(scratch) / path.name
        inference_model.save(temporary)
        os.replace(temporary, path)
    return path
