"""Convert a Keras model to ONNX (tf2onnx), checked against Keras before it is written."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fer.atomic import write_bytes
from fer.data.labels import IMAGE_SIZE
from fer.errors import DataError
from fer.inference.runtime import ONNX_INPUT, OnnxModel

OPSET = 17
AGREEMENT = 1e-4  # the largest difference in any probability between the ONNX file and the Keras model


def onnx_bytes(model: keras.Model, input_shape: tuple[int, ...] = (IMAGE_SIZE, IMAGE_SIZE, 1)) -> bytes:
    """The model in inference mode (augmentation and dropout off) as an ONNX model's bytes, its input named
    ONNX_INPUT, of input_shape per face (48x48x1 for a FER-2013 model of this package).

    Traced with training=False inside a tf.function: keras.Model.export(format="onnx") traced the
    augmentation layers in training mode and agreed with Keras on a fifth of the faces (issue 23).
    """
    import tf2onnx

    signature = [tf.TensorSpec((None, *input_shape), tf.float32, name=ONNX_INPUT)]

    @tf.function(input_signature=signature)
    def classify(faces):
        return model(faces, training=False)

    proto, _ = tf2onnx.convert.from_function(classify, input_signature=signature, opset=OPSET)
    return proto.SerializeToString()


def export_onnx(model: keras.Model, path: str | Path, probe: np.ndarray | None = None) -> Path:
    """Write model as a .onnx file, after checking that onnxruntime gives Keras' probabilities on probe faces
    (by default 64 random ones) within AGREEMENT; DataError if not."""
    path = Path(path)
    data = onnx_bytes(model)
    if probe is None:
        probe = np.random.default_rng(0).uniform(0, 255, (64, IMAGE_SIZE, IMAGE_SIZE, 1)).astype(np.float32)
    with tempfile.TemporaryDirectory() as scratch:
        converted = Path(scratch) / "model.onnx"
        converted.write_bytes(data)
        onnx_probabilities = OnnxModel(converted)(probe)
    difference = np.abs(onnx_probabilities - keras.ops.convert_to_numpy(model(probe, training=False))).max()
    if not difference <= AGREEMENT:
        raise DataError(f"{path}: not written; the converted model differs from Keras by {difference:.2g}")
    write_bytes(path, data)
    return path
