"""Accuracy, macro and weighted F1, per-class scores and the confusion matrix (scikit-learn)."""

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from fer.labels import EMOTIONS
from fer.splits import LabeledImages, Splits

REPORT_SPLITS = ("PrivateTest", "PublicTest+PrivateTest")


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's 7 class probabilities for each image."""
    return model.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)


def scores(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Metrics of predicted against true labels, as plain JSON-ready numbers."""
    everything = list(range(len(EMOTIONS)))
    report = classification_report(
        labels, predicted, labels=everything, target_names=list(EMOTIONS), output_dict=True, zero_division=0
    )
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, labels=everything, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predicted, labels=everything, average="weighted", zero_division=0)),
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


def evaluate(model: keras.Model, data: Splits, splits: tuple[str, ...] = REPORT_SPLITS) -> dict[str, dict]:
    """Metrics of model on each named split (a Usage, or "PublicTest+PrivateTest")."""
    available = {**data, **report_splits(data)}
    results = {}
    for name in splits:
        if name not in available:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(available)}")
        split = available[name]
        results[name] = scores(split.labels, predict_probabilities(model, split.images).argmax(axis=1))
    return results


def predictions_frame(model: keras.Model, data: Splits) -> pd.DataFrame:
    """Per test image: its Usage, index within it, true and predicted label, and the 7 probabilities."""
    frames = []
    for usage in ("PublicTest", "PrivateTest"):
        split = data[usage]
        probabilities = predict_probabilities(model, split.images)
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
