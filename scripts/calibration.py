"""Temperature scaling of the shipped models, fitted on PublicTest and committed with the choice (`scripts.ship_model
choose`), then measured on PrivateTest (`report`): the report, and the card's and README's sections from it.
docs/protocol.md gives the order of the steps."""

import contextlib
import io
import itertools
import shlex

from fer.evaluation.calibration import BINS, fit_calibration, measure_calibration
from fer.evaluation.metrics import BOOTSTRAP_RESAMPLES
from fer.inference.runtime import OnnxModel, batched_probabilities
from fer.models.files import load_model
from fer.models.pretrained import TEMPERATURES_FILE
from scripts.markdown import fill, interval
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


def fit_temperatures(keras_files: dict, data) -> dict:
    """RULE applied to each shipped .keras file (role to path) on PublicTest, as temperatures.json holds it."""
    public = data["PublicTest"]
    models = {}
    for role, path in keras_files.items():
        fitted = fit_calibration(
            batched_probabilities(load_model(path), public.images), public.labels, TARGET_ACCURACIES
        )
        models[role] = {"temperature": fitted["temperature"], "keras_sha256": file_sha256(path)}
        models[role] |= {"publictest": fitted["scores"], "confidence_thresholds": fitted["confidence_thresholds"]}
    return {"rule": RULE, "split": "PublicTest", "models": models}


def measure(data, temperatures: dict, commit: str) -> dict:
    """The PrivateTest report: each shipped file's raw and calibrated outputs (onnxruntime, as fer predict runs
    them) and each study pipeline's committed model, scored; coverage at the committed thresholds, and the
    risk-coverage curve. The study models run on the CSV form's faces (as scripts.significance runs them): their
    records' probabilities are rounded to 6 places, and a true class rounded to 0 would weigh on the NLL."""
    private = data["PrivateTest"]
    models = {}
    for role, fitted in temperatures["models"].items():
        onnx_file = SHIPPED_FILES[role].with_suffix(".onnx")
        raw, calibrated = (
            batched_probabilities(OnnxModel(onnx_file, raw=kind == "raw"), private.images)
            for kind in ("raw", "calibrated")
        )
        measured = measure_calibration(private.labels, raw, calibrated, fitted["confidence_thresholds"])
        models[role] = {"temperature": fitted["temperature"]} | measured
    for name, run_dir in STUDY_RUN_DIRS.items():
        models[name] = measure_calibration(private.labels, batched_probabilities(load_model(run_dir), private.images))
    return {
        "temperatures_commit": commit,
        "split": "PrivateTest",
        "n": len(private.labels),
        "bins": BINS,
        "models": models,
    }


def card_section(report: dict) -> str:
    """The card's calibration section, from the report alone."""
    values = {"report": report, "titles": TITLES, "interval": interval, "ece_goal": ECE_GOAL}
    return fill("calibration.md", values | {"resamples": BOOTSTRAP_RESAMPLES})


def readme_section(report: dict) -> str:
    """The README's lines: ECE, NLL and Brier of the shipped models before and after scaling, and where the rest is."""
    return fill("calibration_readme.md", {"report": report, "titles": TITLES, "interval": interval})


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
    below = (
        photo
        for photo in EXAMPLE_PHOTOS[1:]
        if any(max(face["probabilities"].values()) < threshold for face in predict(photo))
    )
    photos = [EXAMPLE_PHOTOS[0], *itertools.islice(below, 1)]
    arguments = [
        "predict",
        *(str(photo.relative_to(REPO_ROOT)) for photo in photos),
        "--min-confidence",
        f"{threshold:g}",
    ]
    return fill(
        "min_confidence.md",
        {"point": point, "threshold": threshold, "command": shlex.join(arguments), "output": fer_output(arguments)},
    )
