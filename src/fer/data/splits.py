"""The common result of both loaders: per Usage, 48x48x1 gray images and integer labels."""

from dataclasses import dataclass

import numpy as np

from fer.data.labels import EMOTIONS, USAGES


@dataclass(frozen=True)
class LabeledImages:
    """Gray images (N, 48, 48, 1) uint8 in 0..255 and labels (N,) in FER-2013 order."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        """Number of images per emotion, in FER-2013 order."""
        counts = np.bincount(self.labels, minlength=len(EMOTIONS))
        return {name: int(count) for name, count in zip(EMOTIONS, counts)}


Splits = dict[str, LabeledImages]


def splits_from_arrays(images: np.ndarray, labels: np.ndarray, usages: np.ndarray) -> Splits:
    """Group parallel arrays of images, labels and Usage names into one entry per Usage."""
    return {
        usage: LabeledImages(images=images[usages == usage], labels=labels[usages == usage].astype(np.int64))
        for usage in USAGES
    }
