"""Where the model looks: Grad-CAM heatmaps (Selvaraju et al., 2017) for 48x48 faces."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from fer.data.labels import EMOTIONS, IMAGE_SIZE
from fer.models.architectures import networks

MIN_HEATMAP_SIDE = 6  # the last block's 3x3 maps are too coarse to show where on a face


def explained_network(model: keras.Model) -> keras.Sequential:
    """The network Grad-CAM explains: the model itself, or an ensemble's first member (fer_net in the shipped one)."""
    return networks(model)[0]


def feature_layer(model: keras.Sequential) -> layers.Layer:
    """The last ReLU activation with maps at least MIN_HEATMAP_SIDE wide (Grad-CAM wants non-negative maps)."""
    chosen = None
    for layer in model.layers:
        if isinstance(layer, layers.Activation) and layer.output.shape[1] >= MIN_HEATMAP_SIDE:
            chosen = layer
    if chosen is None:
        raise ValueError(f"model {model.name!r} has no ReLU feature maps for Grad-CAM")
    return chosen


def conv_and_logits_model(model: keras.Sequential) -> keras.Model:
    """A model returning convolutional feature maps and the class scores before softmax.

    Grad-CAM differentiates the scores, not the probabilities: a confident softmax is flat, so
    its gradients, and the heatmap, would vanish.
    """
    target = feature_layer(model)
    *body, head = model.layers
    if not (isinstance(head, layers.Dense) and head.activation is keras.activations.softmax):
        raise ValueError(f"model {model.name!r} does not end in a softmax Dense layer")
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))
    outputs = inputs
    for layer in body:
        outputs = layer(outputs)
        if layer is target:
            feature_maps = outputs
    logits = keras.ops.matmul(outputs, head.kernel) + head.bias
    return keras.Model(inputs, [feature_maps, logits])


def seen_side(model: keras.Sequential) -> int:
    """The side of the central square the convolutions see: 48, or less behind a CenterCrop layer."""
    first_conv = next(layer for layer in model.layers if isinstance(layer, layers.Conv2D))
    return first_conv.input.shape[1]


def grad_cam(model: keras.Model, faces: np.ndarray, class_indices: np.ndarray | None = None) -> np.ndarray:
    """Heatmaps (N, 48, 48) in 0..1 of the feature maps' evidence for each face's class.

    faces: (N, 48, 48, 1) gray 0..255. class_indices: the class to explain per face (default: the predicted one).
    For an ensemble, the heatmaps explain its first member.
    """
    model = explained_network(model)
    explainer = conv_and_logits_model(model)
    faces = tf.convert_to_tensor(np.asarray(faces, dtype=np.float32))
    with tf.GradientTape() as tape:
        feature_maps, scores = explainer(faces, training=False)
        if class_indices is None:
            class_indices = tf.argmax(scores, axis=1)
        chosen = tf.gather(scores, class_indices, axis=1, batch_dims=1)
    gradients = tape.gradient(chosen, feature_maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    heatmaps = tf.nn.relu(tf.reduce_sum(weights * feature_maps, axis=-1))[..., tf.newaxis]
    side = seen_side(model)
    heatmaps = tf.image.resize(heatmaps, (side, side), method="bilinear")[..., 0].numpy()
    border = (IMAGE_SIZE - side) // 2  # a cropped-off border got no attention
    heatmaps = np.pad(heatmaps, ((0, 0), (border, IMAGE_SIZE - side - border), (border, IMAGE_SIZE - side - border)))
    peaks = heatmaps.reshape(len(heatmaps), -1).max(axis=1)[:, None, None]
    return heatmaps / np.maximum(peaks, 1e-12)


def mean_attention_by_emotion(model: keras.Model, faces: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> dict:
    """Per emotion, the mean face and the mean Grad-CAM heatmap of its faces (explaining the true class)."""
    heatmaps = np.concatenate(
        [
            grad_cam(model, faces[i : i + batch_size], labels[i : i + batch_size])
            for i in range(0, len(faces), batch_size)
        ]
    )
    return {
        name: {"face": faces[labels == index, ..., 0].mean(axis=0), "attention": heatmaps[labels == index].mean(axis=0)}
        for index, name in enumerate(EMOTIONS)
        if (labels == index).any()
    }
