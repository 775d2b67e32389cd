"""Knowledge distillation: training targets that blend each face's label with a teacher's probabilities."""

from pathlib import Path

import keras
import numpy as np

from fer.atomic import atomic_file
from fer.data.labels import EMOTIONS
from fer.evaluation.tta import tta_probabilities
from fer.models.files import load_model
from fer.training.config import teacher_paths


def load_teacher(teacher: str) -> list[keras.Model]:
    """The teacher's models, from the comma-separated setting; DataError on a file that is no usable model."""
    return [load_model(path) for path in teacher_paths(teacher)]


def teacher_probabilities(teacher: list[keras.Model], images: np.ndarray) -> np.ndarray:
    """The teacher's probabilities per face: its models' average, each over the face and its mirror (the
    student sees either, as its flip augmentation draws)."""
    return np.mean([tta_probabilities(model, images, "flip") for model in teacher], axis=0)


def cached_teacher_probabilities(cache: Path, teacher: list[keras.Model], images: np.ndarray) -> np.ndarray:
    """teacher_probabilities, computed once per run and kept in cache, so a resumed run does not recompute them."""
    if cache.is_file():
        cached = np.load(cache)
        if cached.shape == (len(images), len(EMOTIONS)):
            return cached
    probabilities = teacher_probabilities(teacher, images).astype(np.float32)
    with atomic_file(cache) as handle:
        np.save(handle, probabilities)
    return probabilities


def training_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Each face's target: its one-hot label and the teacher's probabilities, the teacher's with this weight."""
    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    return ((1 - weight) * one_hot + weight * teacher).astype(np.float32)
