"""Whether a model's probabilities mean what they say: calibration error, NLL, Brier, temperature scaling, and the
accuracy of the faces answered above a confidence threshold."""

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.calibration import calibration_curve
from sklearn.metrics import log_loss
from statsmodels.stats.proportion import proportion_confint

from fer.data.labels import NUM_CLASSES
from fer.evaluation.metrics import bootstrap_interval
from fer.inference.runtime import SMALLEST_PROBABILITY

BINS = 15  # equal-width confidence bins, as in Guo et al. (2017)
TEMPERATURE_RANGE = (0.05, 20.0)


def scaled_logits(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """log(probabilities) / temperature: the logits that temperature scaling of averaged probabilities softmaxes."""
    return np.log(np.clip(np.asarray(probabilities, np.float64), SMALLEST_PROBABILITY, None)) / temperature


def temperature_scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log(p) / T): the same argmax as p, sharper for T < 1, softer for T > 1."""
    return softmax(scaled_logits(probabilities, temperature), axis=-1)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean of -log p(true class), probabilities clipped as temperature scaling clips them."""
    clipped = np.clip(np.asarray(probabilities, np.float64), SMALLEST_PROBABILITY, None)
    return float(log_loss(labels, clipped / clipped.sum(1, keepdims=True), labels=np.arange(NUM_CLASSES)))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the NLL of temperature_scaled(probabilities) on labels (searched in log T)."""
    labels = np.asarray(labels)

    def nll(log_temperature: float) -> float:
        logits = scaled_logits(probabilities, np.exp(log_temperature))
        return float(-log_softmax(logits, axis=1)[np.arange(len(labels)), labels].mean())

    bounds = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-6})
    if np.isclose(result.x, bounds, atol=1e-3).any():  # the NLL still falls beyond the range: no optimum in it
        raise ValueError(
            f"no temperature in [{TEMPERATURE_RANGE[0]:g}, {TEMPERATURE_RANGE[1]:g}] minimises the NLL of these "
            f"{len(labels)} faces (it falls on to T = {np.exp(result.x):.3g}): every top class is right, or none "
            "is; fit on more faces"
        )
    return float(np.exp(result.x))


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean over faces of the squared distance between the 7 probabilities and the one-hot label (0 to 2)."""
    one_hot = np.eye(NUM_CLASSES)[np.asarray(labels)]
    return float(((np.asarray(probabilities, np.float64) - one_hot) ** 2).sum(1).mean())


def binned_gap(confidence: np.ndarray, outcome: np.ndarray, bins: int = BINS) -> float:
    """sum over equal-width bins of (faces in bin / faces) * |mean outcome - mean confidence| in the bin."""
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gaps = np.abs(np.bincount(which, outcome, bins) - np.bincount(which, confidence, bins))
    return float(gaps.sum() / counts.sum())


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """ECE of the top label: how far, on average over faces, the confidence is from the accuracy at that confidence."""
    probabilities = np.asarray(probabilities, np.float64)
    correct = (probabilities.argmax(1) == np.asarray(labels)).astype(np.float64)
    return binned_gap(probabilities.max(1), correct, bins)


def classwise_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Classwise ECE (Kull et al., 2019): each class's probability against how often that class is true, averaged."""
    probabilities = np.asarray(probabilities, np.float64)
    one_hot = np.eye(NUM_CLASSES)[np.asarray(labels)]
    return float(np.mean([binned_gap(probabilities[:, k], one_hot[:, k], bins) for k in range(NUM_CLASSES)]))


CALIBRATION_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "ece": expected_calibration_error,
    "classwise_ece": classwise_calibration_error,
    "nll": negative_log_likelihood,
    "brier": brier_score,
}


def interval(statistic: Callable[[np.ndarray], float], count: int, seed: int = 0) -> list[float]:
    """A 95% percentile-bootstrap interval of statistic(faces), faces being indices into count faces, resampled (as
    every interval in the card). A binned calibration error grows when faces repeat, so its resamples' figures
    mostly lie above the measured one, and its interval may lie above it too."""
    faces = np.arange(count)
    return bootstrap_interval(faces, faces, lambda resampled, _: statistic(resampled), seed)


def calibration_scores(probabilities: np.ndarray, labels: np.ndarray, intervals: bool = True) -> dict:
    """Every CALIBRATION_METRICS figure, each with its 95% bootstrap interval (metric_ci95), as JSON-ready numbers."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    scores = {}
    for name, metric in CALIBRATION_METRICS.items():
        scores[name] = metric(probabilities, labels)
        if intervals:
            scores[f"{name}_ci95"] = interval(
                lambda faces, metric=metric: metric(probabilities[faces], labels[faces]), len(labels)
            )
    return scores


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> dict:
    """The reliability diagram's points: per non-empty bin, mean confidence, accuracy and share of the faces."""
    probabilities = np.asarray(probabilities, np.float64)
    correct = probabilities.argmax(1) == np.asarray(labels)
    confidence = probabilities.max(1)
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=bins, strategy="uniform")
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    return {
        "confidence": mean_confidence.tolist(),
        "accuracy": accuracy.tolist(),
        "share": (counts[counts > 0] / len(confidence)).tolist(),
    }


def confidence_threshold(probabilities: np.ndarray, labels: np.ndarray, target_accuracy: float) -> float | None:
    """The lowest confidence threshold at which the faces answered (top probability at least the threshold) are
    right at least target_accuracy of the time; None if no threshold reaches it."""
    probabilities = np.asarray(probabilities, np.float64)
    confidence = probabilities.max(1)
    order = np.argsort(-confidence, kind="stable")
    correct = (probabilities.argmax(1) == np.asarray(labels))[order]
    answered_accuracy = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    sorted_confidence = confidence[order]
    # A threshold answers every face at or above it, so only the last of equal confidences is a place to cut.
    cuts = np.flatnonzero(np.append(sorted_confidence[1:] < sorted_confidence[:-1], True))
    reaching = cuts[answered_accuracy[cuts] >= target_accuracy]
    return float(sorted_confidence[reaching.max()]) if len(reaching) else None


def coverage(probabilities: np.ndarray, labels: np.ndarray, threshold: float, intervals: bool = True) -> dict:
    """The share of faces whose top probability is at least threshold, and the accuracy on them (with its 95%
    Wilson interval)."""
    probabilities, labels = np.asarray(probabilities, np.float64), np.asarray(labels)
    answered = probabilities.max(1) >= threshold
    right = probabilities.argmax(1) == labels
    result = {
        "threshold": threshold,
        "coverage": float(answered.mean()),
        "accuracy": float(right[answered].mean()) if answered.any() else None,
    }
    if intervals and answered.any():
        # Wilson's interval of a proportion: defined too where every face answered is right (a bootstrap is not)
        low, high = proportion_confint(int(right[answered].sum()), int(answered.sum()), alpha=0.05, method="wilson")
        result["accuracy_ci95"] = [float(low), float(high)]
    return result


def risk_coverage(probabilities: np.ndarray, labels: np.ndarray, points: int = 50) -> dict:
    """The risk-coverage curve: answering only the faces whose top probability is highest, the accuracy on them at
    each share of the faces answered (points shares, evenly spaced, the last all of them)."""
    probabilities = np.asarray(probabilities, np.float64)
    order = np.argsort(-probabilities.max(1), kind="stable")
    right = (probabilities.argmax(1) == np.asarray(labels))[order]
    answered = np.unique(np.linspace(1, len(right), points).round().astype(int))
    return {
        "coverage": (answered / len(right)).tolist(),
        "accuracy": (np.cumsum(right)[answered - 1] / answered).tolist(),
    }


def fit_calibration(probabilities: np.ndarray, labels: np.ndarray, target_accuracies: tuple[float, ...]) -> dict:
    """The fitted temperature, the scores before and after it, and the calibrated threshold per target accuracy."""
    temperature = fit_temperature(probabilities, labels)
    calibrated = temperature_scaled(probabilities, temperature)
    return {
        "temperature": temperature,
        "scores": {
            "raw": calibration_scores(probabilities, labels, intervals=False),
            "calibrated": calibration_scores(calibrated, labels, intervals=False),
        },
        "confidence_thresholds": {
            f"{target:g}": confidence_threshold(calibrated, labels, target) for target in target_accuracies
        },
    }


def measure_calibration(
    labels: np.ndarray, raw: np.ndarray, calibrated: np.ndarray | None = None, thresholds: dict | None = None
) -> dict:
    """Scores and reliability of raw (and calibrated) probabilities; coverage at thresholds and risk-coverage of the
    calibrated ones, thresholds mapping target accuracies to fit_calibration's thresholds (None: not reached)."""
    outputs = {"raw": raw} if calibrated is None else {"raw": raw, "calibrated": calibrated}
    measured = {kind: calibration_scores(probabilities, labels) for kind, probabilities in outputs.items()}
    measured["reliability"] = {kind: reliability(probabilities, labels) for kind, probabilities in outputs.items()}
    if calibrated is not None:
        measured["coverage"] = [
            {"target_accuracy": float(target)} | coverage(calibrated, labels, threshold)
            for target, threshold in (thresholds or {}).items()
            if threshold is not None
        ]
        measured["risk_coverage"] = risk_coverage(calibrated, labels)
    return measured
