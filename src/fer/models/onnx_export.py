"""Convert a Keras model to ONNX (tf2onnx), checked against Keras before it is written."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fer.atomic import write_bytes
from fer.data.labels import IMAGE_SIZE
from fer.errors import DataError
from fer.inference.runtime import CALIBRATED_OUTPUT, ONNX_INPUT, RAW_OUTPUT, OnnxModel

OPSET = 17
AGREEMENT = 1e-4  # the largest difference in any probability between the ONNX file and the Keras model


def onnx_bytes(model: keras.Model, input_shape: tuple[int, ...] = (IMAGE_SIZE, IMAGE_SIZE, 1)) -> bytes:
    """The model in inference mode (augmentation and dropout off) as an ONNX model's bytes, its input named
    ONNX_INPUT, of input_shape per face (48x48x1 for a FER-2013 model of this package).

    Traced with training=False inside a tf.function: keras.Model.export(format="onnx") traced the
    augmentation layers in training mode and agreed with Keras on a fifth of the faces (issue 23).
    The weights enter the traced function as inputs and become the file's initializers afterwards
    (stored_weights), so that neither TensorFlow nor tf2onnx folds batch normalization into the
    convolutions: the file holds the model's own values, float16 ones in half the bytes, and onnxruntime
    folds them when it loads the file.
    """
    import tf2onnx

    values = [keras.ops.convert_to_numpy(variable) for variable in model.trainable_variables]
    trainable = len(values)
    values += [keras.ops.convert_to_numpy(variable) for variable in model.non_trainable_variables]
    signature = [tf.TensorSpec((None, *input_shape), tf.float32, name=ONNX_INPUT)]
    signature += [
        tf.TensorSpec(value.shape, value.dtype, name=weight_name(index)) for index, value in enumerate(values)
    ]

    @tf.function(input_signature=signature)
    def classify(faces, *weights):
        probabilities, _ = model.stateless_call(
            list(weights[:trainable]), list(weights[trainable:]), faces, training=False
        )
        return probabilities

    proto, _ = tf2onnx.convert.from_function(classify, input_signature=signature, opset=OPSET)
    stored_weights(proto.graph, {weight_name(index): value for index, value in enumerate(values)})
    return proto.SerializeToString()


def weight_name(index: int) -> str:
    return f"fer_weight_{index}"


def stored_weights(graph, weights: dict[str, np.ndarray]) -> None:
    """Turn the graph's inputs named in weights into initializers of those values (inputs no node reads are
    dropped). A float32 weight whose every value is a float16 (the shipped files store float16 weights) is kept
    as float16, exactly, and cast back to float32 in the graph."""
    from onnx import TensorProto, helper, numpy_helper

    read = {name for node in graph.node for name in node.input}
    casts, inputs = [], []
    for graph_input in graph.input:
        value = weights.get(graph_input.name.split(":")[0])
        if value is None:
            inputs.append(graph_input)
        elif graph_input.name in read and value.dtype == np.float32 and float16_exact(value):
            stored = f"{graph_input.name}_float16"
            graph.initializer.append(numpy_helper.from_array(value.astype(np.float16), stored))
            casts.append(helper.make_node("Cast", [stored], [graph_input.name], to=TensorProto.FLOAT))
        elif graph_input.name in read:
            graph.initializer.append(numpy_helper.from_array(value, graph_input.name))
    nodes = [*casts, *graph.node]  # the casts first: an ONNX graph's nodes are in the order they run
    graph.ClearField("node")
    graph.node.extend(nodes)
    graph.ClearField("input")
    graph.input.extend(inputs)


def float16_exact(values: np.ndarray) -> bool:
    with np.errstate(over="ignore"):
        return bool(np.array_equal(values.astype(np.float16).astype(values.dtype), values))


def with_temperature(data: bytes, temperature: float) -> bytes:
    """The ONNX model data with temperature scaling appended: its first output, CALIBRATED_OUTPUT, is
    softmax(log(p) / temperature) of the model's probabilities p, which stay available as RAW_OUTPUT."""
    import onnx
    from onnx import helper, numpy_helper

    from fer.inference.runtime import SMALLEST_PROBABILITY

    model = onnx.load_from_string(data)
    graph = model.graph
    (output,) = graph.output
    constants = {"fer_smallest": SMALLEST_PROBABILITY, "fer_temperature": temperature}
    graph.initializer.extend(numpy_helper.from_array(np.float32(value), key) for key, value in constants.items())
    graph.node.extend(
        [
            helper.make_node("Identity", [output.name], [RAW_OUTPUT]),
            helper.make_node("Clip", [output.name, "fer_smallest"], ["fer_clipped"]),
            helper.make_node("Log", ["fer_clipped"], ["fer_log"]),
            helper.make_node("Div", ["fer_log", "fer_temperature"], ["fer_scaled"]),
            helper.make_node("Softmax", ["fer_scaled"], [CALIBRATED_OUTPUT], axis=-1),
        ]
    )
    outputs = [onnx.ValueInfoProto(), onnx.ValueInfoProto()]
    for value, name in zip(outputs, (CALIBRATED_OUTPUT, RAW_OUTPUT)):
        value.CopyFrom(output)
        value.name = name
    graph.ClearField("output")
    graph.output.extend(outputs)
    helper.set_model_props(model, {"temperature": repr(float(temperature))})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def export_onnx(
    model: keras.Model, path: str | Path, probe: np.ndarray | None = None, temperature: float | None = None
) -> Path:
    """Write model as a .onnx file, after checking that onnxruntime gives Keras' probabilities on probe faces
    (by default 64 random ones) within AGREEMENT; DataError if not. With a temperature, the file's first output
    is the probabilities scaled by it (with_temperature), checked against fer.evaluation.calibration's."""
    from fer.evaluation.calibration import temperature_scaled

    path = Path(path)
    data = onnx_bytes(model)
    if temperature is not None:
        data = with_temperature(data, temperature)
    if probe is None:
        probe = np.random.default_rng(0).uniform(0, 255, (64, IMAGE_SIZE, IMAGE_SIZE, 1)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(probe, training=False))
    with tempfile.TemporaryDirectory() as scratch:
        converted = Path(scratch) / "model.onnx"
        converted.write_bytes(data)
        differences = [np.abs(OnnxModel(converted, raw=True)(probe) - expected).max()]
        if temperature is not None:
            calibrated = OnnxModel(converted)(probe)
            differences.append(np.abs(calibrated - temperature_scaled(expected, temperature)).max())
    difference = max(differences)
    if not difference <= AGREEMENT:
        raise DataError(f"{path}: not written; the converted model differs from Keras by {difference:.2g}")
    write_bytes(path, data)
    return path
