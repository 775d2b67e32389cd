"""The study's two CNNs as Keras Sequential models; all preprocessing is inside the model."""

import keras
from keras import layers

from fer.labels import IMAGE_SIZE, NUM_CLASSES

MODEL_NAMES = ("csv_cnn", "image_cnn")
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)


def build_model(
    name: str, input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES
) -> keras.Model:
    """A model taking gray values 0..255 and returning class probabilities in FER-2013 order.

    "csv_cnn": the CSV pipeline's CNN. "image_cnn": the same CNN behind the image
    pipeline's augmentation (rotation, shift, zoom, horizontal flip; active only in training).
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if name == "image_cnn":
        for layer in augmentation_layers():
            model.add(layer)
    model.add(layers.Rescaling(1.0 / 255))
    for filters in (32, 64, 128, 256):
        add_conv_block(model, filters)
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(256, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


def augmentation_layers(seed: int = 1337) -> list[layers.Layer]:
    """The image pipeline's augmentation: ImageDataGenerator's options as Keras layers."""
    return [
        layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
        layers.RandomFlip("horizontal", seed=seed),
    ]


def add_conv_block(model: keras.Sequential, filters: int) -> None:
    # Pooling before batch norm and ReLU gives the same function class at a quarter of
    # their cost, which matters on a 2-core CPU.
    model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
    model.add(layers.MaxPooling2D())
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("relu"))
