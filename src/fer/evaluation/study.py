"""The study's two pipelines and the shipped model on the same PrivateTest faces: each model's predicted labels, the
paired tests between them (McNemar's exact test, Holm-adjusted, and paired-bootstrap intervals) and the seed noise."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ttest_ind_from_stats
from statsmodels.stats.multitest import multipletests

from fer.atomic import write_json, write_text
from fer.data.labels import EMOTIONS
from fer.data.splits import same_faces
from fer.evaluation.metrics import macro_f1
from fer.evaluation.results import finished_runs, run_seed
from fer.evaluation.significance import compare_paired, difference_interval
from fer.models.registry import model_spec
from fer.training.records import read_metrics

SPLIT = "PrivateTest"
PREDICTIONS_FILE, DESCRIPTION_FILE = "privatetest_predictions.csv", "privatetest_predictions.json"
SHIPPED = "shipped"
PIPELINES = "csv vs image"
NAMES = (("accuracy", "accuracy"), ("macro_f1", "macro F1"))  # the metrics compared, in words
MACRO_INTERVAL = ("macro_f1_difference_ci95_low", "macro_f1_difference_ci95_high")
COLUMNS = (
    "kind", "a", "b", "n", "both_right", "only_a_right", "only_b_right", "both_wrong", "accuracy_a", "accuracy_b",
    "accuracy_difference", "difference_ci95_low", "difference_ci95_high", "mcnemar_p", "macro_f1_difference",
    *MACRO_INTERVAL,
)  # fmt: skip


def run_column(run_dir: str | Path) -> str:
    """A study run's column in the predictions, e.g. csv_cnn_seed42."""
    return f"{read_metrics(run_dir)['model']}_seed{run_seed(run_dir)}"


def compared_models(pipeline_dirs: list[str | Path]) -> dict[str, Path | None]:
    """Every finished run of each pipeline by its column name, then the shipped model (None)."""
    models: dict[str, Path | None] = {run_column(run): run for folder in pipeline_dirs for run in finished_runs(folder)}
    return {**models, SHIPPED: None}


def privatetest_predictions(data_dir: str | Path, models: dict[str, Path | None]) -> tuple[pd.DataFrame, dict]:
    """Each model's predicted label for every face of the CSV form's PrivateTest, and a description of them.

    The image pipeline's models read the folder form in training; they are run here on the CSV form's
    faces, which is legitimate only when both forms' PrivateTest hold the same faces: checked first.
    """
    from fer.data.datasets import load_data
    from fer.data.locations import is_sample
    from fer.evaluation.tta import tta_probabilities
    from fer.models.files import load_model
    from fer.models.pretrained import load_pretrained

    split = load_data(data_dir, form="csv")[SPLIT]
    check = same_faces(split, load_data(data_dir, form="folders")[SPLIT])
    if not check["same"]:
        raise ValueError(f"{data_dir}: the CSV and folder forms' {SPLIT} differ ({check}); models cannot be paired")
    frame = pd.DataFrame({"index": np.arange(len(split)), "true": [EMOTIONS[label] for label in split.labels]})
    columns = {}
    for column, run_dir in models.items():
        model = load_pretrained() if run_dir is None else load_model(run_dir)
        frame[column] = [EMOTIONS[label] for label in tta_probabilities(model, split.images).argmax(axis=1)]
        if run_dir is None:
            columns[column] = {"model": SHIPPED, "run": "fer.load_pretrained()"}
            continue
        metrics = read_metrics(run_dir)
        columns[column] = {"model": metrics["model"], "seed": run_seed(run_dir), "run": str(run_dir)}
        columns[column] |= {"recorded_accuracy": metrics["splits"][SPLIT]["accuracy"]}
        columns[column] |= {"recorded_form": model_spec(metrics["model"]).data_form}
    description = {"split": SPLIT, "form": "csv", "data": str(data_dir), "data_is_sample": is_sample(Path(data_dir))}
    return frame, description | {"faces_check": check, "columns": columns}


def comparisons(description: dict) -> list[tuple[str, str, str]]:
    """The pairs to test, (kind, a, b): CSV vs image pipeline at each seed both have, then shipped vs each study run."""
    runs = {column: info for column, info in description["columns"].items() if column != SHIPPED}
    csv = {info["seed"]: column for column, info in runs.items() if info["model"] == "csv_cnn"}
    image = {info["seed"]: column for column, info in runs.items() if info["model"] == "image_cnn"}
    pairs = [(PIPELINES, csv[seed], image[seed]) for seed in sorted(set(csv) & set(image))]
    return pairs + [(SHIPPED, SHIPPED, column) for column in runs if SHIPPED in description["columns"]]


def significance_table(frame: pd.DataFrame, description: dict) -> pd.DataFrame:
    """One row per compared pair: 2x2 counts, accuracies, the difference's 95% interval, McNemar's p (raw and Holm).

    CSV-vs-image rows also get the macro F1 difference and its 95% paired-bootstrap interval.
    """
    labels = frame["true"].map(EMOTIONS.index).to_numpy()
    rows = []
    for kind, a, b in comparisons(description):
        predicted_a, predicted_b = (frame[column].map(EMOTIONS.index).to_numpy() for column in (a, b))
        result = compare_paired(labels, predicted_a, predicted_b)
        low, high = result.pop("difference_ci95")
        row = {"kind": kind, "a": a, "b": b, **result, "difference_ci95_low": low, "difference_ci95_high": high}
        if kind == PIPELINES:
            row["macro_f1_difference"] = float(macro_f1(labels, predicted_a) - macro_f1(labels, predicted_b))
            interval = difference_interval(labels, predicted_a, predicted_b, macro_f1)
            row["macro_f1_difference_ci95_low"], row["macro_f1_difference_ci95_high"] = interval
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["mcnemar_p_holm"] = multipletests(table["mcnemar_p"], method="holm")[1]
    return table


def seed_noise(csv: pd.Series, image: pd.Series) -> dict[str, dict[str, float]]:
    """Per metric in words: the pipelines' difference of means (two results_table mean rows), the larger seed sd and
    Welch's p over the seeds; empty where a pipeline has one seed (no spread to weigh the difference against)."""
    counts = (int(csv.n_seeds), int(image.n_seeds))
    if min(counts) < 2:
        return {}
    return {
        name: {
            "difference": csv[metric] - image[metric],
            "largest_sd": max(csv[f"{metric}_sd"], image[f"{metric}_sd"]),
            "welch_p": float(
                ttest_ind_from_stats(
                    csv[metric], csv[f"{metric}_sd"], counts[0], image[metric], image[f"{metric}_sd"], counts[1], False
                ).pvalue
            ),
        }
        for metric, name in NAMES
    }


def write_predictions(frame: pd.DataFrame, description: dict, directory: str | Path) -> Path:
    """Write the per-face predictions (.csv) and their description (.json) into directory; return the .csv path."""
    write_text(Path(directory) / PREDICTIONS_FILE, frame.to_csv(index=False))
    write_json(Path(directory) / DESCRIPTION_FILE, description)
    return Path(directory) / PREDICTIONS_FILE


def read_predictions(directory: str | Path) -> tuple[pd.DataFrame, dict]:
    """The saved per-face predictions and their description."""
    return pd.read_csv(Path(directory) / PREDICTIONS_FILE), json.loads((Path(directory) / DESCRIPTION_FILE).read_text())
