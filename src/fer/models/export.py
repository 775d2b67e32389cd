"""Export a trained model for deployment: TensorFlow Lite (ONNX: fer.models.onnx_export)."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fer.atomic import write_bytes

FORMATS = ("onnx", "tflite")


def export_tflite(model: keras.Model, path: str | Path) -> Path:
    """Write model as a .tflite flat buffer (float32 in, 48x48x1 gray 0..255; 7 probabilities out)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path = Path(path)
    write_bytes(path, converter.convert())
    return path


def run_tflite(path: str | Path, images: np.ndarray) -> np.ndarray:
    """Class probabilities from an exported .tflite model, for a batch of images, on LiteRT (ai-edge-litert, which
    replaces the deprecated tf.lite.Interpreter)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], images.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
