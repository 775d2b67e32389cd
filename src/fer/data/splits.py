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


JPEG_TOLERANCE = 8  # gray levels by which two JPEG decoders may differ


def same_faces(first: LabeledImages, second: LabeledImages, tolerance: int = JPEG_TOLERANCE) -> dict:
    """Whether two splits hold the same faces in any order (the CSV and the folder form's of one Usage): both sorted
    by pixels, then compared face by face; with the largest pixel difference and whether every label agrees."""

    def sorted_by_pixels(split: LabeledImages) -> tuple[np.ndarray, np.ndarray]:
        flat = split.images.reshape(len(split), -1)
        # Pixels first, then the label: FER-2013 holds a few identical faces with different labels.
        order = np.lexsort(np.vstack([split.labels, flat.T[::-1]]))
        return flat[order].astype(np.int16), split.labels[order]

    if len(first) != len(second):
        return {"n": [len(first), len(second)], "same": False}
    (first_pixels, first_labels), (second_pixels, second_labels) = sorted_by_pixels(first), sorted_by_pixels(second)
    largest = int(np.abs(first_pixels - second_pixels).max()) if len(first) else 0
    same_labels = bool(np.array_equal(first_labels, second_labels))
    return {
        "n": len(first),
        "largest_pixel_difference": largest,
        "same_labels": same_labels,
        "same": same_labels and largest <= tolerance,
    }
