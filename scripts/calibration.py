"""Temperature scaling of the shipped models, fitted on PublicTest and committed with the choice (`scripts.ship_model
choose`), then measured on PrivateTest (`report`): the report, and the card's and README's sections from it.
docs/protocol.md gives the order of the steps."""

import contextlib
import io
import shlex

import numpy as np

from fer.evaluation.calibration import (
    BINS,
    calibration_scores,
    confidence_threshold,
    coverage,
    fit_temperature,
    reliability,
    risk_coverage,
    temperature_scaled,
)
from fer.evaluation.metrics import BOOTSTRAP_RESAMPLES
from fer.inference.runtime import OnnxModel, class_probabilities
from fer.models.files import load_model
from fer.models.pretrained import TEMPERATURES_FILE
from scripts.markdown import fill, interval, table
from scripts.model_card import file_sha256
from scripts.repository import PRETRAINED_RUN_DIR, REPO_ROOT, SHIPPED_FILES, SHIPPED_MODEL_FILE, STUDY_RUN_DIRS

TEMPERATURES = SHIPPED_MODEL_FILE.parent / TEMPERATURES_FILE
REPORT = PRETRAINED_RUN_DIR / "calibration.json"
FIGURE = REPO_ROOT / "docs" / "reliability.png"
COVERAGE_FIGURE = REPO_ROOT / "docs" / "risk_coverage.png"
TARGET_ACCURACIES = (0.8, 0.9, 0.95)
ECE_GOAL = 0.03  # issue 27: the shipped model's calibrated PrivateTest ECE, at most
RULE = (
    "per shipped model, the temperature T minimising the PublicTest NLL of softmax(log p / T), p its single-crop "
    "probabilities; per target accuracy, the lowest threshold on the calibrated top probability at which the "
    "PublicTest faces answered reach it"
)
EXAMPLE_PHOTOS = (REPO_ROOT / "docs" / "astronaut.jpg", *sorted((REPO_ROOT / "data/sample/train").glob("*/*.jpg")))
TITLES = {"shipped": "shipped model", "fast": "fast network", "csv_cnn": "CSV pipeline", "image_cnn": "image pipeline"}


def probabilities_of(model, images: np.ndarray, batch: int = 512) -> np.ndarray:
    """(N, 7) probabilities of the images, batch at a time."""
    images = images.astype(np.float32)
    return np.concatenate(
        [class_probabilities(model, images[start : start + batch]) for start in range(0, len(images), batch)]
    )


def fit_temperatures(keras_files: dict, data) -> dict:
    """RULE applied to each shipped .keras file (role to path) on PublicTest, as temperatures.json holds it."""
    public = data["PublicTest"]
    models = {}
    for role, path in keras_files.items():
        raw = probabilities_of(load_model(path), public.images)
        temperature = fit_temperature(raw, public.labels)
        calibrated = temperature_scaled(raw, temperature)
        models[role] = {
            "temperature": temperature,
            "keras_sha256": file_sha256(path),
            "publictest": {
                "raw": calibration_scores(raw, public.labels, intervals=False),
                "calibrated": calibration_scores(calibrated, public.labels, intervals=False),
            },
            "confidence_thresholds": {
                f"{target:g}": confidence_threshold(calibrated, public.labels, target) for target in TARGET_ACCURACIES
            },
        }
    return {"rule": RULE, "split": "PublicTest", "models": models}


def measure(data, temperatures: dict, commit: str) -> dict:
    """The PrivateTest report: each shipped file's raw and calibrated outputs (onnxruntime, as fer predict runs
    them) and each study pipeline's committed model, scored; coverage at the committed thresholds, and the
    risk-coverage curve. The study models run on the CSV form's faces (as scripts.significance runs them): their
    records' probabilities are rounded to 6 places, and a true class rounded to 0 would weigh on the NLL."""
    private = data["PrivateTest"]
    labels = private.labels
    models = {}
    for role, fitted in temperatures["models"].items():
        onnx_file = SHIPPED_FILES[role].with_suffix(".onnx")
        outputs = {
            kind: probabilities_of(OnnxModel(onnx_file, raw=kind == "raw"), private.images)
            for kind in ("raw", "calibrated")
        }
        models[role] = {
            "temperature": fitted["temperature"],
            **{kind: calibration_scores(probabilities, labels) for kind, probabilities in outputs.items()},
            "reliability": {kind: reliability(probabilities, labels) for kind, probabilities in outputs.items()},
            "coverage": [
                {"target_accuracy": float(target)} | coverage(outputs["calibrated"], labels, threshold)
                for target, threshold in fitted["confidence_thresholds"].items()
                if threshold is not None
            ],
            "risk_coverage": risk_coverage(outputs["calibrated"], labels),
        }
    for name, run_dir in STUDY_RUN_DIRS.items():
        raw = probabilities_of(load_model(run_dir), private.images)
        models[name] = {"raw": calibration_scores(raw, labels), "reliability": {"raw": reliability(raw, labels)}}
    return {"temperatures_commit": commit, "split": "PrivateTest", "n": len(labels), "bins": BINS, "models": models}


def scores_rows(report: dict, metrics: tuple[str, ...], models=None) -> list[list[str]]:
    """A row per model (of models, default every one) and kind of probabilities: the metrics with their intervals."""
    return [
        [TITLES[name], kind, *(interval(model[kind], metric) for metric in metrics)]
        for name, model in report["models"].items()
        if models is None or name in models
        for kind in ("raw", "calibrated")
        if kind in model
    ]


def card_section(report: dict) -> str:
    """The card's calibration section, from the report alone."""
    calibrated = {name: model for name, model in report["models"].items() if "temperature" in model}
    coverage_rows = [
        [TITLES[name], f"{point['target_accuracy']:g}", f"{point['threshold']:.3f}", f"{point['coverage']:.3f}"]
        + [interval(point, "accuracy") if point["accuracy"] is not None else "none answered"]
        for name, model in calibrated.items()
        for point in model["coverage"]
    ]
    shipped = report["models"]["shipped"]["calibrated"]
    ece, high = shipped["ece"], shipped["ece_ci95"][1]
    values = {
        "temperatures": ", ".join(
            f"{TITLES[name]}: T = {model['temperature']:.4f}" for name, model in calibrated.items()
        ),
        "commit": report["temperatures_commit"],
        "n": f"{report['n']:,}",
        "resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "bins": report["bins"],
        "scores": table(scores_rows(report, ("ece", "classwise_ece", "nll", "brier"))),
        "ece": interval(shipped, "ece"),
        "ece_goal": ECE_GOAL,
        "against": "at most" if ece <= ECE_GOAL else "above",
        "though": f", though its interval reaches {high:.4f}" if ece <= ECE_GOAL < high else "",
        "coverage": table(coverage_rows),
    }
    return fill("calibration.md", values)


def readme_section(report: dict) -> str:
    """The README's lines: ECE, NLL and Brier of the shipped models before and after scaling, and where the rest is."""
    calibrated = {name: model for name, model in report["models"].items() if "temperature" in model}
    rows = scores_rows(report, ("ece", "nll", "brier"), calibrated)
    temperatures = ", ".join(f"{TITLES[name]} {model['temperature']:.3f}" for name, model in calibrated.items())
    return fill("calibration_readme.md", {"temperatures": temperatures, "scores": table(rows)})


def fer_output(arguments: list[str]) -> str:
    """What `fer ARGUMENTS` prints on stdout, run here."""
    from fer.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(arguments)
    return printed.getvalue()


def min_confidence_example(report: dict, target: str = "0.9") -> str:
    """The README's `fer predict --min-confidence` example: the shipped model's threshold for target accuracy (chosen
    on PublicTest, to 4 places; the highest target reached where that one was not), what it reached on PrivateTest
    (where it answered any face), and the command on the astronaut and the first sample photo whose face falls
    below it (if any does), with its output."""
    from fer.inference.predict import predict

    points = [point for point in report["models"]["shipped"]["coverage"] if point["accuracy"] is not None]
    point = next((point for point in points if f"{point['target_accuracy']:g}" == target), points[-1])
    threshold = round(point["threshold"], 4)
    below = [
        photo
        for photo in EXAMPLE_PHOTOS[1:]
        if any(max(face["probabilities"].values()) < threshold for face in predict(photo))
    ][:1]
    arguments = ["predict", *(str(photo.relative_to(REPO_ROOT)) for photo in (EXAMPLE_PHOTOS[0], *below))]
    arguments += ["--min-confidence", f"{threshold:g}"]
    target = f"{point['target_accuracy']:g}"
    values = {"threshold": f"{threshold:g}", "target": target, "command": shlex.join(arguments)}
    values |= {"coverage": f"{point['coverage']:.1%}", "accuracy": f"{point['accuracy']:.1%}"}
    return fill("min_confidence.md", values | {"output": fer_output(arguments)})
