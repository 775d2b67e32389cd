"""Two models on the same PrivateTest faces, under the protocol: McNemar's exact test and the paired bootstrap
interval that the README's significance table uses (fer.evaluation.significance.compare_paired)."""

import json
from pathlib import Path

import numpy as np

from fer.data.datasets import load_data
from fer.data.locations import default_data_dir
from fer.errors import DataError
from fer.evaluation.significance import compare_paired
from fer.evaluation.tta import tta_probabilities
from fer.models.files import load_model
from fer.models.pretrained import PRETRAINED_FILES, load_pretrained

SELECTED_ON = "PublicTest accuracy"  # what a run's metrics.json says its epoch was chosen on


def compare(a: str | Path, b: str | Path, data: str | Path | None = None, seed: int = 0) -> dict:
    """a against b on the same PrivateTest faces (the CSV form's where data holds both forms).

    a and b are run directories (their epoch chosen on PublicTest, as fer.train chooses it) or "shipped" / "fast"
    (chosen on PublicTest by the registered rule, MODEL_CARD.md). A DataError for anything else, and for a run whose
    record does not say its epoch was chosen on PublicTest. The result holds the counts, both accuracies, their
    difference with its 95% paired-bootstrap interval, McNemar's exact p, and a line per model whose PrivateTest
    figure was already public before this comparison.
    """
    models = [protocol_model(a), protocol_model(b)]
    splits = load_data(data if data is not None else default_data_dir())
    faces = splits["PrivateTest"]
    if len(faces) == 0:
        raise DataError(f"{data}: no PrivateTest images to compare on")
    predicted = [tta_probabilities(model, faces.images.astype(np.float32)).argmax(axis=1) for model, _ in models]
    result = compare_paired(faces.labels, *predicted, seed=seed)
    notes = list(dict.fromkeys(note for _, note in models if note))  # once each, when a model is compared with itself
    return {"a": str(a), "b": str(b), **result, "already_public": notes}


def protocol_model(model: str | Path) -> tuple:
    """The Keras model and, where its PrivateTest figure was public before, a line saying where."""
    if str(model) in PRETRAINED_FILES:
        note = f"{model}: the shipped files' PrivateTest figures are published in MODEL_CARD.md"
        return load_pretrained(str(model)), note
    run_dir = Path(model)
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        raise DataError(
            f"{model}: not a finished run directory (no metrics.json): nothing says its epoch was chosen on PublicTest"
        )
    metrics = json.loads(metrics_file.read_text())
    if metrics.get("selected_on") != SELECTED_ON:
        raise DataError(f"{model}: its epoch was not chosen on PublicTest (selected_on: {metrics.get('selected_on')})")
    private = metrics.get("splits", {}).get("PrivateTest")
    note = None
    if private is not None:
        note = f"{model}: its PrivateTest accuracy ({private['accuracy']:.4f}) was already in its metrics.json"
    return load_model(run_dir), note
