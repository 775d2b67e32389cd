"""Temperature scaling as a Keras layer, so that a shipped model loaded in Keras gives its calibrated probabilities."""

import keras

from fer.inference.runtime import SMALLEST_PROBABILITY


@keras.saving.register_keras_serializable(package="fer")
class TemperatureScaling(keras.layers.Layer):
    """softmax(log(p) / temperature) of probabilities p: the argmax stays, the confidence is fitted (MODEL_CARD.md)."""

    def __init__(self, temperature: float, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, probabilities):
        logits = keras.ops.log(keras.ops.maximum(probabilities, SMALLEST_PROBABILITY)) / self.temperature
        return keras.ops.softmax(logits, axis=-1)

    def get_config(self) -> dict:
        return super().get_config() | {"temperature": self.temperature}


def without_temperature(model: keras.Model) -> tuple[keras.Model, "TemperatureScaling | None"]:
    """The network a model made by with_temperature wraps, and its scaling layer; any other model as it is, None."""
    layers = model.layers
    if len(layers) == 3 and isinstance(layers[-1], TemperatureScaling) and isinstance(layers[1], keras.Model):
        return layers[1], layers[-1]
    return model, None


def with_temperature(model: keras.Model, temperature: float) -> keras.Model:
    """model followed by TemperatureScaling(temperature), as one keras.Model with the same input."""
    faces = keras.Input(model.input_shape[1:], name="faces")
    return keras.Model(faces, TemperatureScaling(temperature, name="temperature")(model(faces)), name=model.name)
