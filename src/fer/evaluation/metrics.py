"""Accuracy, macro and weighted F1, per-class scores and the confusion matrix (scikit-learn)."""

import keras
import numpy as np
import pandas as pd
from scipy.stats import bootstrap
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from fer.data.labels import EMOTIONS
from fer.data.splits import LabeledImages, Splits
from fer.errors import DataError
from fer.evaluation.tta import tta_probabilities

REPORT_SPLITS = ("PrivateTest", "PublicTest+PrivateTest")
BOOTSTRAP_RESAMPLES = 1000


def macro_f1(labels: np.ndarray, predicted: np.ndarray, axis: int = -1) -> np.ndarray | np.float64:
    """The mean over the 7 classes of 2 TP / (2 TP + FP + FN), 0 for a class neither true nor predicted, exactly as
    scikit-learn's f1_score(average="macro", zero_division=0) computes it for one or more faces, along axis (so a
    bootstrap's resamples are scored at once, not one f1_score call each)."""
    labels, predicted = np.moveaxis(np.asarray(labels), axis, -1), np.moveaxis(np.asarray(predicted), axis, -1)
    classes = np.arange(len(EMOTIONS))[:, None]
    is_true, is_predicted = labels[..., None, :] == classes, predicted[..., None, :] == classes
    true_positives = (is_true & is_predicted).sum(axis=-1)
    denominator = (is_true.sum(axis=-1) + is_predicted.sum(axis=-1)).astype(np.float64)
    f1 = np.divide(2.0 * true_positives, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return f1.mean(axis=-1)


def accuracy(labels: np.ndarray, predicted: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(labels == predicted, axis=axis)


VECTORIZED = (accuracy, macro_f1)  # statistics that take an axis: a bootstrap scores its resamples at once,
RESAMPLES_AT_ONCE = 100  # these many (memory grows with them times the faces; the intervals do not change)


def resampled_interval(arrays: tuple, statistic, vectorized: bool, seed: int = 0) -> list[float]:
    """A 95% percentile-bootstrap interval of statistic(*arrays), resampling the faces (the arrays' positions) in
    pairs; vectorized where statistic takes an axis."""
    interval = bootstrap(
        arrays,
        statistic,
        paired=True,
        vectorized=vectorized,
        n_resamples=BOOTSTRAP_RESAMPLES,
        batch=RESAMPLES_AT_ONCE,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return [float(interval.low), float(interval.high)]


def bootstrap_interval(labels: np.ndarray, predicted: np.ndarray, statistic, seed: int = 0) -> list[float]:
    """A 95% percentile-bootstrap interval of statistic(labels, predicted), resampling the test images."""
    return resampled_interval((labels, predicted), statistic, statistic in VECTORIZED, seed)


def scores(labels: np.ndarray, predicted: np.ndarray, intervals: bool = False) -> dict:
    """Metrics of predicted against true labels, as plain JSON-ready numbers.

    With intervals, also 95% bootstrap intervals of accuracy and macro F1.
    """
    everything = list(range(len(EMOTIONS)))
    report = classification_report(
        labels, predicted, labels=everything, target_names=list(EMOTIONS), output_dict=True, zero_division=0
    )
    interval_scores = {}
    if intervals and len(labels) < 2:  # a bootstrap needs two faces to resample
        interval_scores = {"accuracy_ci95": None, "macro_f1_ci95": None}
    elif intervals:
        interval_scores = {
            "accuracy_ci95": bootstrap_interval(labels, predicted, accuracy),
            "macro_f1_ci95": bootstrap_interval(labels, predicted, macro_f1),
        }
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(macro_f1(labels, predicted)),
        "weighted_f1": float(f1_score(labels, predicted, labels=everything, average="weighted", zero_division=0)),
        **interval_scores,
        "per_class": {
            name: {key: float(report[name][key]) for key in ("precision", "recall", "f1-score", "support")}
            for name in EMOTIONS
        },
        "confusion_matrix": confusion_matrix(labels, predicted, labels=everything).tolist(),
    }


def report_splits(data: Splits) -> dict[str, LabeledImages]:
    """The splits results are reported on: PrivateTest, and PublicTest+PrivateTest (the folder form's test/)."""
    public, private = data["PublicTest"], data["PrivateTest"]
    both = LabeledImages(
        np.concatenate([public.images, private.images]), np.concatenate([public.labels, private.labels])
    )
    return {"PrivateTest": private, "PublicTest+PrivateTest": both}


def evaluate(
    model: keras.Model,
    data: Splits,
    splits: tuple[str, ...] = REPORT_SPLITS,
    tta: str = "none",
    intervals: bool = False,
) -> dict[str, dict]:
    """Metrics of model on each named split (a Usage, or "PublicTest+PrivateTest").

    tta: "none" (single crop), "flip" or "ten-crop" (see fer.evaluation.tta). intervals: add 95% bootstrap intervals.
    """
    available = {**data, **report_splits(data)}
    results = {}
    for name in splits:
        if name not in available:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(available)}")
        split = available[name]
        if len(split) == 0:
            raise DataError(f"the data holds no {name} images to evaluate on")
        predicted = tta_probabilities(model, split.images, tta).argmax(axis=1)
        results[name] = scores(split.labels, predicted, intervals)
    return results


def predictions_frame(
    model: keras.Model, data: Splits, usages: tuple[str, ...] = ("PublicTest", "PrivateTest")
) -> pd.DataFrame:
    """Per test image of usages: its Usage, index within it, true and predicted label, and the 7 probabilities."""
    frames = []
    for usage in usages:
        split = data[usage]
        probabilities = tta_probabilities(model, split.images)
        frame = pd.DataFrame(probabilities, columns=[f"p_{name}" for name in EMOTIONS])
        frame.insert(0, "predicted", [EMOTIONS[i] for i in probabilities.argmax(axis=1)])
        frame.insert(0, "true", [EMOTIONS[i] for i in split.labels])
        frame.insert(0, "index", np.arange(len(split)))
        frame.insert(0, "usage", usage)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def classification_report_text(labels: np.ndarray, predicted: np.ndarray) -> str:
    """scikit-learn's text classification report with emotion names."""
    return classification_report(
        labels, predicted, labels=list(range(len(EMOTIONS))), target_names=list(EMOTIONS), digits=4, zero_division=0
    )
