"""Test-time augmentation: average a model's probabilities over flipped and shifted copies of each face."""

import keras
import numpy as np

from fer.evaluation import TTA_MODES

CROP_SHIFT = 4  # (48 - 40) / 2: shifting by this much moves a centre 40x40 crop onto a corner crop


def shifted(images: np.ndarray, down: int, right: int) -> np.ndarray:
    """Images moved by (down, right) pixels, the uncovered border filled with the nearest edge pixels."""
    if down == 0 and right == 0:
        return images
    pad = max(abs(down), abs(right))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    height, width = images.shape[1:3]
    top, left = pad - down, pad - right
    return padded[:, top : top + height, left : left + width]


def tta_views(images: np.ndarray, mode: str) -> list[np.ndarray]:
    """The copies of a batch (N, 48, 48, 1) that mode averages over.

    "flip": the image and its mirror. "ten-crop": the centre and four corner 40x40 crops and
    their mirrors, made by shifting the whole image so that the model's centre crop lands on each.
    """
    if mode not in TTA_MODES:
        raise ValueError(f"unknown test-time augmentation {mode!r}; expected one of {', '.join(TTA_MODES)}")
    if mode == "none":
        return [images]
    offsets = [(0, 0)]
    if mode == "ten-crop":
        offsets += [(down, right) for down in (CROP_SHIFT, -CROP_SHIFT) for right in (CROP_SHIFT, -CROP_SHIFT)]
    views = [shifted(images, down, right) for down, right in offsets]
    return views + [view[:, :, ::-1] for view in views]


def tta_probabilities(model: keras.Model, images: np.ndarray, mode: str = "none", batch_size: int = 256) -> np.ndarray:
    """The model's class probabilities per image, averaged over mode's views; a calibrated model's are averaged before
    its temperature scaling, which is applied once, so that the argmax is the network's own."""
    from fer.models.temperature import without_temperature

    network, scaling = without_temperature(model)
    views = tta_views(images.astype(np.float32), mode)
    averaged = np.mean([network.predict(view, batch_size=batch_size, verbose=0) for view in views], axis=0)
    return averaged if scaling is None else keras.ops.convert_to_numpy(scaling(averaged))
