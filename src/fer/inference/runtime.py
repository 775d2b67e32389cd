"""Classifying 48x48 faces on ONNX Runtime, without TensorFlow; Keras models are accepted too (the research path)."""

from pathlib import Path

import numpy as np

from fer.data.labels import IMAGE_SIZE, NUM_CLASSES
from fer.errors import DataError

ONNX_INPUT = "faces"  # (N, 48, 48, 1) float32 gray 0..255; the output is (N, 7) probabilities in FER-2013 order
# The shipped files' two outputs: the probabilities scaled by the model's fitted temperature (the first, what fer
# predict gives), and the networks' own probabilities before it (fer predict --raw).
CALIBRATED_OUTPUT, RAW_OUTPUT = "probabilities", "raw_probabilities"
SMALLEST_PROBABILITY = 1e-12  # temperature scaling takes the log of probabilities clipped here: finite, argmax kept
TRAIN_EXTRA = 'pip install "fer2013-study[train]"'


class OnnxModel:
    """A FER-2013 model on onnxruntime: called on (N, 48, 48, 1) float32 gray 0..255, returns (N, 7) probabilities."""

    def __init__(self, path: str | Path, check_shape: bool = True, raw: bool = False):
        """check_shape=False accepts another model's shapes (a benchmark's peer). raw: a shipped file's
        probabilities before temperature scaling (RAW_OUTPUT); a file without that output has only its own."""
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such model file")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its warnings about unused initializers would bury our one-line errors
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own kinds; each means the same here
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DataError(f"{self.path}: cannot be loaded as an ONNX model ({reason})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shapes = [tuple(tensor.shape[1:]) for tensor in inputs], [tuple(tensor.shape[1:]) for tensor in outputs]
        names = [tensor.name for tensor in outputs]
        # one output of probabilities, or a shipped file's two: calibrated first, then raw (by name, so that
        # another model's second output, say its logits, is not taken for probabilities)
        outputs_known = shapes[1] == [(NUM_CLASSES,)] or names == [CALIBRATED_OUTPUT, RAW_OUTPUT]
        if check_shape and (shapes[0] != [(IMAGE_SIZE, IMAGE_SIZE, 1)] or not outputs_known):
            raise DataError(
                f"{self.path}: takes {shapes[0]} and returns {shapes[1]} per face; a FER-2013 model takes "
                f"({IMAGE_SIZE}, {IMAGE_SIZE}, 1) gray faces and returns {NUM_CLASSES} class probabilities"
            )
        self.input_name = inputs[0].name
        self.output_name = RAW_OUTPUT if raw and RAW_OUTPUT in names else names[0]

    def __call__(self, faces: np.ndarray, training: bool = False) -> np.ndarray:
        """The faces' probabilities; training is accepted (and must be False) so that code written for Keras runs."""
        if training:
            raise ValueError("an ONNX model is for inference only (training=False)")
        return self.session.run([self.output_name], {self.input_name: np.asarray(faces, np.float32)})[0]

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.path)!r})"


def class_probabilities(model, faces: np.ndarray) -> np.ndarray:
    """(N, 7) probabilities of (N, 48, 48, 1) float32 faces from an OnnxModel or a Keras model."""
    if isinstance(model, OnnxModel):
        return model(faces)
    # A direct call: a Keras model's predict builds a data pipeline per call, costlier than the model on a few faces.
    probabilities = model(faces, training=False)
    if isinstance(probabilities, np.ndarray):
        return probabilities
    import keras  # a Keras model's tensor: Keras is installed

    return keras.ops.convert_to_numpy(probabilities)


def batched_probabilities(model, faces: np.ndarray, batch: int = 512) -> np.ndarray:
    """class_probabilities of any number of faces, batch at a time: (N, 7)."""
    faces = np.asarray(faces, np.float32)
    return np.concatenate(
        [class_probabilities(model, faces[start : start + batch]) for start in range(0, len(faces), batch)]
    )


def load_classifier(model=None, raw: bool = False):
    """What fer.predict and fer.predict_video classify with: None or "shipped" (the shipped model) or "fast", a
    .onnx file, both on onnxruntime; a .keras file or run directory (needs TensorFlow); or a model object.
    raw: a shipped model's probabilities before temperature scaling (see MODEL_CARD.md)."""
    if model is None or (isinstance(model, str) and model in ("shipped", "fast")):
        from fer.models.pretrained import pretrained_path

        return OnnxModel(pretrained_path(model or "shipped", form="onnx"), raw=raw)
    if not isinstance(model, str | Path):
        return model
    path = Path(model)
    if path.suffix.lower() == ".onnx":
        return OnnxModel(path, raw=raw)
    require_training_extra(f"{path}: a Keras model file")
    from fer.models.files import load_model
    from fer.models.pretrained import as_shipped

    return as_shipped(load_model(path), path, raw)


def require_training_extra(what: str) -> None:
    """A DataError with the install command when TensorFlow and Keras (the train extra) are not installed."""
    if not (installed("keras") and installed("tensorflow")):
        raise DataError(f"{what} needs TensorFlow and Keras, which this install lacks: {TRAIN_EXTRA}")


def installed(module: str) -> bool:
    """Whether module can be imported, found without importing it."""
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False
