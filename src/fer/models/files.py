"""Model files: loaded with Keras' safe mode on, computing in float32; saved without optimizer state, atomically."""

import os
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from fer.data.labels import IMAGE_SIZE, NUM_CLASSES
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
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a Keras model file (a .keras file is a zip archive; this is not one)")
    import fer.models.temperature  # noqa: F401 - registers TemperatureScaling: a calibrated model saved loads back

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; each means the same to the user
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{path}: cannot be loaded as a Keras model ({reason})") from None
    check_model_shape(model, path)
    check_probabilities(model, path)
    if any(variable.dtype == "float16" for variable in model.weights):
        model = with_dtype(model, "float32")
    return model


def check_model_shape(model: keras.Model, path: Path) -> None:
    """A FER-2013 model takes (N, 48, 48, 1) and returns (N, 7); anything else would give wrong labels silently."""
    inputs, outputs = model.inputs or [], model.outputs or []
    expected_input, expected_output = (None, IMAGE_SIZE, IMAGE_SIZE, 1), (None, NUM_CLASSES)
    shapes = [tuple(tensor.shape) for tensor in inputs], [tuple(tensor.shape) for tensor in outputs]
    if shapes != ([expected_input], [expected_output]):
        raise DataError(
            f"{path}: takes {describe(shapes[0])} and returns {describe(shapes[1])}; a FER-2013 model takes "
            f"{describe([expected_input])} gray faces and returns {NUM_CLASSES} class probabilities"
        )


def check_probabilities(model: keras.Model, path: Path) -> None:
    """The outputs must be probabilities (a softmax head): a model ending in raw scores would be read as such."""
    probe = np.linspace(0, 255, 2 * IMAGE_SIZE * IMAGE_SIZE, dtype=np.float32).reshape(2, IMAGE_SIZE, IMAGE_SIZE, 1)
    outputs = keras.ops.convert_to_numpy(model(probe, training=False))
    if not (np.all(outputs >= -1e-6) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3)):
        raise DataError(f"{path}: its outputs are not class probabilities (they do not sum to 1: no softmax)")


def describe(shapes: list[tuple]) -> str:
    return " and ".join("(N, " + ", ".join(str(size) for size in shape[1:]) + ")" for shape in shapes) or "nothing"


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
