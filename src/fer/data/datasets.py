"""Find either form of the data under a path, and feed loaded splits to Keras as tf.data."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from fer.data.csv_form import load_csv
from fer.data.image_folders import load_image_folders
from fer.data.labels import NUM_CLASSES
from fer.data.splits import LabeledImages, Splits
from fer.errors import DataError

CSV_NAMES = ("fer2013.csv", "fer2013.csv.gz")


def load_data(path: str | Path, form: str = "auto") -> Splits:
    """Load a CSV file, a folder root (train/, test/), or a directory holding either.

    form is "csv", "folders" or "auto" (the CSV when a directory holds both).
    """
    path = Path(path)
    if form not in ("auto", "csv", "folders"):
        raise ValueError(f"form must be 'auto', 'csv' or 'folders', not {form!r}")
    if path.is_file():
        return load_csv(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    csv_files = [path / name for name in CSV_NAMES if (path / name).is_file()]
    has_folders = (path / "train").is_dir() or (path / "test").is_dir()
    if form in ("auto", "csv") and csv_files:
        return load_csv(csv_files[0])
    if form in ("auto", "folders") and has_folders:
        return load_image_folders(path)
    wanted = {"csv": "fer2013.csv or fer2013.csv.gz", "folders": "train/ and test/"}.get(
        form, "fer2013.csv(.gz) or train/ and test/"
    )
    raise DataError(f"{path}: holds no FER-2013 data; expected {wanted}")


def epoch_batches(
    split: LabeledImages,
    batch_size: int,
    seed: int,
    first_epoch: int,
    epochs: int,
    mixup: float = 0.0,
    targets: np.ndarray | None = None,
    random_erasing: float = 0.0,
) -> tuple[tf.data.Dataset, int]:
    """Batches of (float32 images, targets) for epochs first_epoch .. epochs - 1, one epoch after another; the
    targets are each face's row of targets (N x 7 probabilities, as distillation makes), else its one-hot label.

    Each epoch's order is drawn from (seed, epoch) alone, so a run resumed at epoch k sees the
    batches an uninterrupted run would. mixup > 0 blends each face and its label with another
    face of the epoch, weight Beta(mixup, mixup), as keras.layers.MixUp does within a batch; the
    partners and weights are drawn from (seed, epoch) too, which a Keras layer's stateful
    generator cannot resume. random_erasing > 0 is the chance that a face has one rectangle filled with a
    single gray level (Zhong et al.'s random erasing; see erasing_boxes), drawn from (seed, epoch) as well.
    Returns the dataset and the number of batches per epoch.
    """
    count, epoch_range = len(split), range(first_epoch, epochs)
    orders = np.array([np.random.default_rng([seed, epoch]).permutation(count) for epoch in epoch_range], np.int32)
    per_epoch = (orders.reshape(-1, count),)
    if mixup > 0:
        draws = [np.random.default_rng([seed, epoch, 1]) for epoch in epoch_range]
        partners = np.array([draw.permutation(count) for draw in draws], np.int32).reshape(-1, count)
        weights = np.array([draw.beta(mixup, mixup, count) for draw in draws], np.float32).reshape(-1, count)
        per_epoch += (partners, weights)
    if random_erasing > 0:
        shape = split.images.shape[1:3]
        draws = [np.random.default_rng([seed, epoch, 2]) for epoch in epoch_range]
        per_epoch += (np.stack([erasing_boxes(draw, count, random_erasing, shape) for draw in draws]),)
    if targets is None:
        targets = np.eye(NUM_CLASSES, dtype=np.float32)[split.labels]
    images, targets = tf.constant(split.images), tf.constant(targets, tf.float32)

    def faces(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(images, indices), tf.float32), tf.gather(targets, indices)

    def gathered(indices: tf.Tensor, *drawn: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if random_erasing > 0:
            *drawn, boxes = drawn
        batch = faces(indices)
        if drawn:
            partner_indices, weight = drawn
            second = faces(partner_indices)
            image_weight, label_weight = tf.reshape(weight, (-1, 1, 1, 1)), tf.reshape(weight, (-1, 1))
            batch = (
                image_weight * batch[0] + (1 - image_weight) * second[0],
                label_weight * batch[1] + (1 - label_weight) * second[1],
            )
        if random_erasing > 0:
            batch = (erased(batch[0], boxes), batch[1])
        return batch

    dataset = tf.data.Dataset.from_tensor_slices(per_epoch).flat_map(
        lambda *epoch: tf.data.Dataset.from_tensor_slices(epoch).batch(batch_size)
    )
    batches = dataset.map(gathered, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return batches, -(-count // batch_size)


def erasing_boxes(rng: np.random.Generator, count: int, chance: float, shape: tuple[int, int]) -> np.ndarray:
    """count rows of (top, left, bottom, right, gray level) as float32: with the given chance a rectangle of 2% to
    33% of the face, aspect ratio 0.3 to 3.3 (log-uniform), anywhere it fits; otherwise an empty one."""
    height, width = shape
    area = rng.uniform(0.02, 1 / 3, count) * height * width
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(1 / 0.3), count))
    box_height = np.clip(np.round(np.sqrt(area * aspect)), 1, height).astype(int)
    box_width = np.clip(np.round(np.sqrt(area / aspect)), 1, width).astype(int)
    top = (rng.uniform(size=count) * (height - box_height + 1)).astype(int)
    left = (rng.uniform(size=count) * (width - box_width + 1)).astype(int)
    level = rng.uniform(0, 255, count)
    erased = rng.uniform(size=count) < chance
    boxes = np.stack([top, left, top + box_height, left + box_width, level], axis=1).astype(np.float32)
    boxes[~erased, 2:4] = boxes[~erased, 0:2]  # an empty rectangle erases nothing
    return boxes


def erased(images: tf.Tensor, boxes: tf.Tensor) -> tf.Tensor:
    """images (N x H x W x C) with each one's rectangle (a row of erasing_boxes) set to its gray level."""
    rows = tf.range(tf.shape(images)[1], dtype=tf.float32)[None, :, None, None]
    columns = tf.range(tf.shape(images)[2], dtype=tf.float32)[None, None, :, None]
    top, left, bottom, right, level = (tf.reshape(boxes[:, index], (-1, 1, 1, 1)) for index in range(5))
    inside = (rows >= top) & (rows < bottom) & (columns >= left) & (columns < right)
    return tf.where(inside, level, images)


def validation_dataset(split: LabeledImages, batch_size: int) -> tf.data.Dataset:
    """Batches of (images, one-hot labels, weights), padded to whole batches with weight-0 blanks.

    Whole batches split evenly across the replicas of a tf.distribute strategy, which Keras'
    evaluation needs; the blanks' zero weights keep them out of the metrics.
    """
    padding = -len(split) % batch_size
    images = np.concatenate([split.images, np.zeros((padding, *split.images.shape[1:]), split.images.dtype)])
    labels = np.concatenate([split.labels, np.zeros(padding, split.labels.dtype)])
    weights = np.concatenate([np.ones(len(split), np.float32), np.zeros(padding, np.float32)])
    dataset = tf.data.Dataset.from_tensor_slices((images, labels, weights)).batch(batch_size)
    return dataset.map(one_hot_weighted_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def one_hot_weighted_batch(images: tf.Tensor, labels: tf.Tensor, weights: tf.Tensor):
    return *one_hot_batch(images, labels), weights


def one_hot_batch(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.cast(images, tf.float32), tf.one_hot(labels, NUM_CLASSES)


def subsample(split: LabeledImages, limit: int | None, seed: int) -> LabeledImages:
    """At most limit images, drawn at random (for quick runs); all of them when limit is None."""
    if limit is None or limit >= len(split):
        return split
    keep = np.sort(np.random.default_rng(seed).choice(len(split), size=limit, replace=False))
    return LabeledImages(split.images[keep], split.labels[keep])
