"""Whether two models differ on the same test faces: McNemar's exact test and paired bootstrap intervals."""

from collections.abc import Callable

import numpy as np
from sklearn.metrics import confusion_matrix
from statsmodels.stats.contingency_tables import mcnemar

from fer.evaluation.metrics import VECTORIZED, accuracy, resampled_interval


def check_paired(labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray) -> tuple[np.ndarray, ...]:
    """The three arrays as numpy arrays; a ValueError unless they hold one entry per face each."""
    labels, predicted_a, predicted_b = (np.asarray(array) for array in (labels, predicted_a, predicted_b))
    if not len(labels) == len(predicted_a) == len(predicted_b):
        raise ValueError(
            f"a paired comparison needs one label and two predictions per face; got {len(labels)} labels, "
            f"{len(predicted_a)} and {len(predicted_b)} predictions"
        )
    if len(labels) < 2:
        raise ValueError(f"a paired comparison needs at least two faces to resample; got {len(labels)}")
    return labels, predicted_a, predicted_b


def difference_interval(
    labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, statistic: Callable = accuracy, seed: int = 0
) -> list[float]:
    """A 95% percentile-bootstrap interval of statistic(labels, a) - statistic(labels, b), resampling faces in pairs."""
    labels, predicted_a, predicted_b = check_paired(labels, predicted_a, predicted_b)
    vectorized = statistic in VECTORIZED

    def difference(labels, predicted_a, predicted_b, axis=-1):
        if vectorized:
            return statistic(labels, predicted_a, axis=axis) - statistic(labels, predicted_b, axis=axis)
        return statistic(labels, predicted_a) - statistic(labels, predicted_b)

    return resampled_interval((labels, predicted_a, predicted_b), difference, vectorized, seed)


def compare_paired(labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, seed: int = 0) -> dict:
    """McNemar's exact test and a 95% paired-bootstrap interval of accuracy(a) - accuracy(b), as JSON-ready numbers.

    The three arrays hold, position by position, the same test faces: their true labels and each model's
    predicted label. McNemar's test uses the faces where exactly one of the two models is right.
    """
    labels, predicted_a, predicted_b = check_paired(labels, predicted_a, predicted_b)
    # Rows: a right, a wrong; columns: b right, b wrong.
    table = confusion_matrix(predicted_a == labels, predicted_b == labels, labels=[True, False])
    accuracy_a, accuracy_b = float(accuracy(labels, predicted_a)), float(accuracy(labels, predicted_b))
    return {
        "n": int(len(labels)),
        "both_right": int(table[0, 0]),
        "only_a_right": int(table[0, 1]),
        "only_b_right": int(table[1, 0]),
        "both_wrong": int(table[1, 1]),
        "accuracy_a": accuracy_a,
        "accuracy_b": accuracy_b,
        "accuracy_difference": accuracy_a - accuracy_b,
        "difference_ci95": difference_interval(labels, predicted_a, predicted_b, accuracy, seed),
        "mcnemar_p": float(mcnemar(table, exact=True).pvalue),
    }
