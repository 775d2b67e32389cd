"""The networks as Keras Sequential models (all preprocessing inside), their ensembles and dtype copies."""

import keras
from keras import layers

from fer.data.labels import IMAGE_SIZE, NUM_CLASSES
from fer.models.registry import model_spec

CROP_SIZE = 40  # fer_net sees 40x40: random shifts in training, the centre at inference
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)


def build_model(
    name: str,
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    augment: bool | None = None,
) -> keras.Model:
    """The registered model called name (fer.models.registry), taking gray values 0..255 and returning
    class probabilities in FER-2013 order. augment: None is the model's registered default; True or False turns
    its augmentation on or off (the image pipeline's, or fer_net's own; a user's model gets the image pipeline's
    in front of it)."""
    spec = model_spec(name)
    augment = spec.augment if augment is None else augment
    if isinstance(spec.builder, str):
        return globals()[spec.builder](name, input_shape, num_classes, augment=augment)
    network = spec.builder(input_shape, num_classes)
    if not isinstance(network, keras.Model):
        raise ValueError(f"model {name!r}: its builder returned {type(network).__name__}, not a keras.Model")
    if not augment:
        return network
    return keras.Sequential([keras.Input(shape=input_shape), *augmentation_layers(), network], name=f"{name}_augmented")


def build_study_cnn(
    name: str, input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, augment: bool = False
):
    """The study's CNN: four conv blocks, dense 256, dropout; with augment (the image pipeline, "image_cnn"), the
    image pipeline's augmentation (rotation, shift, zoom, horizontal flip; active only in training) in front."""
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if augment:
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


def add_conv_block(model: keras.Sequential, filters: int, pool: bool = True) -> None:
    # Pooling before batch norm and ReLU gives the same function class at a quarter of
    # their cost, which matters on a 2-core CPU.
    model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
    if pool:
        model.add(layers.MaxPooling2D())
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("relu"))


def fer_net_stages(width: float = 1.0) -> list[tuple[int, int]]:
    """fer_net's four stages as (filters, convolutions), at a width that scales every stage's filters."""
    return [(round(filters * width), count) for filters, count in ((32, 1), (64, 2), (128, 2), (256, 2))]


def build_fer_net(
    name: str = "fer_net",
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    augment: bool = True,
) -> keras.Model:
    """Seven 3x3 convolutions in four stages (32, 64, 128, 256 filters times the registered width),
    global average pooling, softmax.

    Training sees each face flipped, rotated and shifted (unless augment is off), then the
    central 40x40; inference sees the central 40x40 alone. Cropping to 40 cuts the compute by a third.
    """
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if augment:
        model.add(layers.RandomFlip("horizontal", seed=1337))
        model.add(layers.RandomRotation(10 / 360, fill_mode="nearest", seed=1337))
        model.add(layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=1337))
    model.add(layers.CenterCrop(CROP_SIZE, CROP_SIZE))
    model.add(layers.Rescaling(1.0 / 255))
    stages = fer_net_stages(model_spec(name).width)
    for index, (filters, convolutions) in enumerate(stages):
        for convolution in range(convolutions):
            last_of_pooled_stage = convolution == convolutions - 1 and index < len(stages) - 1
            add_conv_block(model, filters, pool=last_of_pooled_stage)
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dropout(0.4))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model


def networks(model: keras.Model) -> list[keras.Sequential]:
    """The Sequential networks a model is made of: itself, or an ensemble's members in order, also inside a model
    that wraps one (a shipped model with its temperature scaling, fer.models.temperature)."""
    if isinstance(model, keras.Sequential):
        return [model]
    members = [network for layer in model.layers if isinstance(layer, keras.Model) for network in networks(layer)]
    if not members:
        raise ValueError(f"model {model.name!r} is neither a Sequential network nor an ensemble of them")
    return members


def with_dtype(model: keras.Model, dtype: str) -> keras.Model:
    """A copy of a network, or of an ensemble of networks, whose layers store their weights and compute in dtype.

    The softmax layer stays in float32 (its weights are few), so the probabilities still sum to 1.
    Saved in "float16", a network takes half the bytes; loaded back `with_dtype(..., "float32")`,
    it computes at float32 speed with the float16 weights.
    """
    if not isinstance(model, keras.Sequential):
        return build_ensemble([with_dtype(member, dtype) for member in networks(model)], name=model.name)
    head = model.layers[-1]

    def copy_layer(layer: layers.Layer) -> layers.Layer:
        config = layer.get_config()
        if layer is not head:
            config["dtype"] = dtype
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=copy_layer)
    copy.set_weights([weights.astype(variable.dtype) for weights, variable in zip(model.get_weights(), copy.weights)])
    copy.name = model.name
    return copy


def build_ensemble(members: list[keras.Model], name: str = "fer_ensemble") -> keras.Model:
    """One model that averages its members' probabilities; each member takes the same 48x48x1 gray 0..255."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    outputs = layers.Average()([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)
