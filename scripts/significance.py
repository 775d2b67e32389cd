"""Paired tests on the same PrivateTest faces (CSV vs image pipeline, shipped model vs study runs) and what they mean.

    python -m scripts.significance [--data DIR]

Loads the CSV form's PrivateTest once, runs every finished study run (each pipeline's top-level
run and its seed_*/ runs) and the shipped model on it, and saves each face's predicted labels
(results/privatetest_predictions.csv, described by privatetest_predictions.json). The tests, the
results table and a plain-words conclusion are then computed from those saved files and written to
results/ and the README. Runs that are still training (no metrics.json) are left out.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ttest_ind_from_stats
from statsmodels.stats.multitest import multipletests

from fer.atomic import write_json, write_text
from fer.data.labels import EMOTIONS
from fer.data.splits import LabeledImages
from fer.evaluation.metrics import macro_f1
from fer.evaluation.significance import compare_paired, difference_interval
from fer.models.registry import model_spec
from fer.training.records import read_metrics
from scripts.repository import README, REPO_ROOT, RESULTS_DOC, STUDY_RUN_DIRS
from scripts.results_table import (
    finished_runs,
    results_table,
    run_seed,
    to_markdown,
    update_readme,
    write_results_table,
)

SPLIT = "PrivateTest"
SHIPPED = "shipped"
PIPELINES = "csv vs image"
COUNT_COLUMNS = (
    "kind", "a", "b", "n", "both_right", "only_a_right", "only_b_right", "both_wrong", "accuracy_a", "accuracy_b",
    "accuracy_difference", "difference_ci95_low", "difference_ci95_high", "mcnemar_p",
)  # fmt: skip
ALPHA = 0.05
JPEG_TOLERANCE = 8  # gray levels by which two JPEG decoders may differ (as in tests/test_real_data.py)
REPORTED_ROUNDING = 0.005  # the study gives its figures to two decimals
NAMES = (("accuracy", "accuracy"), ("macro_f1", "macro F1"))  # the metrics the conclusion weighs, in words
PREDICTIONS_FILE = "privatetest_predictions.csv"
DESCRIPTION_FILE = "privatetest_predictions.json"


def run_column(run_dir: str | Path) -> str:
    """The predictions file's column for a study run, e.g. csv_cnn_seed42."""
    return f"{read_metrics(run_dir)['model']}_seed{run_seed(run_dir)}"


def compared_models(pipeline_dirs: list[str | Path]) -> dict[str, Path | None]:
    """Every finished run of each pipeline by its column name, then the shipped model (None)."""
    models: dict[str, Path | None] = {run_column(run): run for folder in pipeline_dirs for run in finished_runs(folder)}
    return {**models, SHIPPED: None}


def same_faces(first: LabeledImages, second: LabeledImages) -> dict:
    """Whether two splits hold the same faces in any order: both sorted by pixels, then compared face by face."""

    def sorted_by_pixels(split: LabeledImages) -> tuple[np.ndarray, np.ndarray]:
        flat = split.images.reshape(len(split), -1)
        # Pixels first, then the label: FER-2013 holds a few identical faces with different labels.
        order = np.lexsort(np.vstack([split.labels, flat.T[::-1]]))
        return flat[order].astype(np.int16), split.labels[order]

    if len(first) != len(second):
        return {"n": [len(first), len(second)], "same": False}
    first_pixels, first_labels = sorted_by_pixels(first)
    second_pixels, second_labels = sorted_by_pixels(second)
    largest = int(np.abs(first_pixels - second_pixels).max()) if len(first) else 0
    same_labels = bool(np.array_equal(first_labels, second_labels))
    return {
        "n": len(first),
        "largest_pixel_difference": largest,
        "same_labels": same_labels,
        "same": same_labels and largest <= JPEG_TOLERANCE,
    }


def privatetest_predictions(data_dir: str | Path, models: dict[str, Path | None]) -> tuple[pd.DataFrame, dict]:
    """Each model's predicted label for every face of the CSV form's PrivateTest, and a description of the file.

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
        predicted = tta_probabilities(model, split.images).argmax(axis=1)
        frame[column] = [EMOTIONS[label] for label in predicted]
        columns[column] = (
            {"model": SHIPPED, "run": "fer.load_pretrained()"}
            if run_dir is None
            else {
                "model": read_metrics(run_dir)["model"],
                "seed": run_seed(run_dir),
                "run": display_path(run_dir),
                "recorded_accuracy": read_metrics(run_dir)["splits"][SPLIT]["accuracy"],
                "recorded_form": model_spec(read_metrics(run_dir)["model"]).data_form,
            }
        )
    description = {
        "split": SPLIT,
        "form": "csv",
        "data": display_path(data_dir),
        "data_is_sample": is_sample(Path(data_dir)),
        "faces_check": check,
        "columns": columns,
    }
    return frame, description


def display_path(path: str | Path) -> str:
    """path relative to the checkout when inside it, so the committed files name no folder of this machine."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def write_predictions(frame: pd.DataFrame, description: dict, directory: str | Path) -> Path:
    """Write the per-face predictions (.csv) and their description (.json) into directory; return the .csv path."""
    directory = Path(directory)
    write_text(directory / PREDICTIONS_FILE, frame.to_csv(index=False))
    write_json(directory / DESCRIPTION_FILE, description)
    return directory / PREDICTIONS_FILE


def read_predictions(directory: str | Path) -> tuple[pd.DataFrame, dict]:
    """The saved per-face predictions and their description."""
    directory = Path(directory)
    frame = pd.read_csv(directory / PREDICTIONS_FILE)
    return frame, json.loads((directory / DESCRIPTION_FILE).read_text())


def comparisons(description: dict) -> list[tuple[str, str, str]]:
    """The pairs to test, (kind, a, b): CSV vs image pipeline at each seed both have, then shipped vs each study run."""
    runs = {column: info for column, info in description["columns"].items() if column != SHIPPED}
    csv = {info["seed"]: column for column, info in runs.items() if info["model"] == "csv_cnn"}
    image = {info["seed"]: column for column, info in runs.items() if info["model"] == "image_cnn"}
    pairs = [(PIPELINES, csv[seed], image[seed]) for seed in sorted(set(csv) & set(image))]
    if SHIPPED in description["columns"]:
        pairs += [(SHIPPED, SHIPPED, column) for column in runs]
    return pairs


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
            row["macro_f1_difference"] = macro_f1(labels, predicted_a) - macro_f1(labels, predicted_b)
            interval = difference_interval(labels, predicted_a, predicted_b, macro_f1)
            row["macro_f1_difference_ci95_low"], row["macro_f1_difference_ci95_high"] = interval
        rows.append(row)
    columns = [*COUNT_COLUMNS, "macro_f1_difference", "macro_f1_difference_ci95_low", "macro_f1_difference_ci95_high"]
    table = pd.DataFrame(rows, columns=columns)
    table["mcnemar_p_holm"] = multipletests(table["mcnemar_p"], method="holm")[1] if len(table) else []
    return table


def title(column: str, description: dict) -> str:
    """A compared model in words: "CSV pipeline, seed 42", "shipped model"."""
    info = description["columns"][column]
    return "shipped model" if column == SHIPPED else f"{model_spec(info['model']).title}, seed {info['seed']}"


def p_text(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def faces_text(frame: pd.DataFrame, description: dict) -> str:
    """What the predictions file holds, and why running the image pipeline's models on the CSV's faces is legitimate."""
    check, split = description["faces_check"], description["split"]
    sample = " (the bundled SAMPLE: its numbers mean nothing)" if description["data_is_sample"] else ""
    largest = check["largest_pixel_difference"]
    pixels = "identical pixels" if largest == 0 else f"pixels within {largest} gray levels"
    folder_runs = [
        f"{title(column, description)} scores accuracy {np.mean(frame[column] == frame['true']):.4f} on the CSV "
        f"form's faces and {info['recorded_accuracy']:.4f} on the folder form's (its metrics.json)"
        for column, info in description["columns"].items()
        if column != SHIPPED and info["recorded_form"] == "folders"
    ]
    return (
        f"Paired tests on the same {check['n']:,} {split} faces, the CSV form's{sample}: each model's predicted label "
        f"per face is saved in `results/{PREDICTIONS_FILE}` by `python -m scripts.significance`, and everything below "
        f"is computed from that file. Both forms' {split} hold the same {check['n']:,} faces with the same labels "
        f"({pixels} once sorted; `tests/test_real_data.py` checks it too), so the image pipeline's models, trained on "
        "the folder form, are run on the CSV form's faces; the two forms list the faces in different orders, and their "
        "files are never paired row by row." + (" " + "; ".join(folder_runs) + "." if folder_runs else "")
    )


def interval_text(low: float, high: float) -> str:
    return f"[{low:+.4f}, {high:+.4f}]"


def significance_markdown(tests: pd.DataFrame, description: dict) -> str:
    """The comparisons as a GitHub markdown table."""
    lines = [
        "| a | b | accuracy a | accuracy b | only a right | only b right | accuracy a − b [95% CI] "
        "| macro F1 a − b [95% CI] | McNemar exact p | Holm-adjusted p |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in tests.iterrows():
        macro = (
            f"{row.macro_f1_difference:+.4f} "
            + interval_text(row.macro_f1_difference_ci95_low, row.macro_f1_difference_ci95_high)
            if pd.notna(row.macro_f1_difference)
            else ""
        )
        lines.append(
            f"| {title(row.a, description)} | {title(row.b, description)} | {row.accuracy_a:.4f} "
            f"| {row.accuracy_b:.4f} | {row.only_a_right} | {row.only_b_right} | {row.accuracy_difference:+.4f} "
            f"{interval_text(row.difference_ci95_low, row.difference_ci95_high)} | {macro} | {p_text(row.mcnemar_p)} "
            f"| {p_text(row.mcnemar_p_holm)} |"
        )
    return "\n".join(lines) + "\n"


def ahead(difference: float, metric: str) -> str:
    direction = "ahead" if difference > 0 else "behind" if difference < 0 else "level"
    return f"{direction} by {abs(difference):.3f} in {metric}"


def verdict(p: float, adjusted: float) -> str:
    """Whether McNemar's test rejects equal accuracy at ALPHA, before and after Holm's adjustment."""
    if adjusted < ALPHA:
        return f"rejects equal accuracy at {ALPHA}"
    if p < ALPHA:
        return f"rejects equal accuracy at {ALPHA} on its own, but not after Holm's adjustment"
    return f"does not reject equal accuracy at {ALPHA}"


def excludes_zero(low: float, high: float) -> str:
    return "excludes 0" if low > 0 or high < 0 else "includes 0"


def against_interval(name: str, value: float, row: pd.Series, metric: str) -> str:
    """E.g. "macro F1 0.52 is below [0.557, 0.605]": a two-decimal figure (+-0.005) against a row's 95% interval."""
    low, high = row[f"{metric}_ci95_low"], row[f"{metric}_ci95_high"]
    if value + REPORTED_ROUNDING < low or value - REPORTED_ROUNDING > high:
        where = "below" if value < low else "above"
    else:
        where = "inside" if low <= value <= high else "within rounding of"
    return f"{name} {value:.2f} is {where} [{low:.3f}, {high:.3f}]"


def seed_spread(csv: pd.Series, image: pd.Series) -> tuple[str, dict[str, float]]:
    """Whether the pipelines' differences exceed the seed spread, in words; Welch's p per metric (none with 1 seed)."""
    counts = (int(csv.n_seeds), int(image.n_seeds))
    if min(counts) < 2:
        return (
            f"The CSV pipeline has {counts[0]} finished seed{'s' * (counts[0] > 1)} and the image pipeline "
            f"{counts[1]}, so how far retraining with another seed moves these numbers is not measured: one seed "
            "per pipeline cannot separate seed noise from a pipeline effect.",
            {},
        )
    sentences, welch = [], {}
    for metric, name in NAMES:
        difference = csv[metric] - image[metric]
        largest_sd = max(csv[f"{metric}_sd"], image[f"{metric}_sd"])
        welch[name] = float(
            ttest_ind_from_stats(
                csv[metric], csv[f"{metric}_sd"], counts[0], image[metric], image[f"{metric}_sd"], counts[1], False
            ).pvalue
        )
        sentences.append(
            f"In {name} the difference of the means, {difference:+.3f}, is "
            f"{'larger' if abs(difference) > largest_sd else 'not larger'} than the larger seed sd ({largest_sd:.3f}); "
            f"Welch's t-test over the seeds gives p = {p_text(welch[name])}, which "
            f"{'rejects' if welch[name] < ALPHA else 'does not reject'} equal means at {ALPHA}."
        )
    sentences.append(
        f"With {counts[0]} and {counts[1]} seeds that test has little power, and seeds are the only source of "
        "run-to-run variation it sees."
    )
    return " ".join(sentences), welch


def conclusion(results: pd.DataFrame, tests: pd.DataFrame, description: dict) -> str:
    """What the numbers support about the CSV vs the image pipeline, and what they do not, in plain words."""
    means = results[results.n_seeds.notna()].set_index("model")
    tops = results[results.accuracy_ci95_low.notna()].set_index("model")
    reported = results[results.source == "study (reported)"].set_index("model")
    csv, image = means.loc["csv_cnn"], means.loc["image_cnn"]
    over = (
        f"seed {csv.seeds} each"
        if csv.n_seeds == image.n_seeds == 1 and csv.seeds == image.seeds
        else f"means over {int(csv.n_seeds)} and {int(image.n_seeds)} seeds"
    )
    gaps = {name: csv[f"f1_{name}"] - image[f"f1_{name}"] for name in EMOTIONS}
    widest = max(gaps, key=lambda name: abs(gaps[name]))
    paragraphs = [
        f"On {description['split']} the CSV pipeline scores accuracy {csv.accuracy:.3f} and macro F1 "
        f"{csv.macro_f1:.3f}, the image pipeline {image.accuracy:.3f} and {image.macro_f1:.3f} ({over}): the CSV "
        f"pipeline is {ahead(csv.accuracy - image.accuracy, 'accuracy')} and "
        f"{ahead(csv.macro_f1 - image.macro_f1, 'macro F1')}. The largest per-class F1 gap is {widest} "
        f"({csv[f'f1_{widest}']:.3f} against {image[f'f1_{widest}']:.3f})."
    ]
    spread, welch = seed_spread(csv, image)
    paragraphs.append(spread)
    pipeline_tests = tests[tests.kind == PIPELINES]
    for _, row in pipeline_tests.iterrows():
        paragraphs.append(
            f"Seed {description['columns'][row.a]['seed']}, CSV model against image model on the same faces: "
            f"McNemar's exact test gives p = {p_text(row.mcnemar_p)} (Holm-adjusted over the {len(tests)} tests in "
            f"the table: {p_text(row.mcnemar_p_holm)}), so it {verdict(row.mcnemar_p, row.mcnemar_p_holm)}; the "
            "paired bootstrap 95% interval of the accuracy difference, "
            f"{interval_text(row.difference_ci95_low, row.difference_ci95_high)}, "
            f"{excludes_zero(row.difference_ci95_low, row.difference_ci95_high)}, and that of the macro F1 "
            f"difference, {interval_text(row.macro_f1_difference_ci95_low, row.macro_f1_difference_ci95_high)}, "
            f"{excludes_zero(row.macro_f1_difference_ci95_low, row.macro_f1_difference_ci95_high)}."
        )
    if len(pipeline_tests):
        paragraphs[-1] += (
            " These tests hold the trained networks fixed: they say whether two models differ on faces like these, "
            "not how another seed of either pipeline would do."
        )
    shipped_tests = tests[tests.kind == SHIPPED]
    if len(shipped_tests):
        paragraphs.append(
            f"The shipped model's accuracy minus each study run's ({len(shipped_tests)} runs) ranges from "
            f"{shipped_tests.accuracy_difference.min():+.3f} to {shipped_tests.accuracy_difference.max():+.3f}; "
            f"McNemar's test rejects equal accuracy for {int((shipped_tests.mcnemar_p_holm < ALPHA).sum())} of them "
            f"after Holm's adjustment (largest adjusted p: {p_text(shipped_tests.mcnemar_p_holm.max())})."
        )
    paragraphs.append(
        "The study's reported figures (two decimals, so each stands for ±0.005) against the 95% bootstrap "
        "intervals of this repository's top-level runs: "
        + "; ".join(
            f"{model_spec(model).title} "
            + ", ".join(against_interval(name, reported.loc[model, metric], row, metric) for metric, name in NAMES)
            for model, row in tops.iterrows()
        )
        + "."
    )
    paragraphs.append(summary(csv, image, pipeline_tests, welch))
    return "\n\n".join(paragraphs) + "\n"


def summary(csv: pd.Series, image: pd.Series, pipeline_tests: pd.DataFrame, welch: dict[str, float]) -> str:
    """The answer in one paragraph: do the numbers show that one pipeline is better than the other?"""
    separated = int((pipeline_tests.mcnemar_p_holm < ALPHA).sum())
    if not welch:
        if not len(pipeline_tests):
            return "**In short:** no seed has finished in both pipelines, so no two models can be paired yet."
        row = pipeline_tests.iloc[0]
        significant = (
            "a difference McNemar's test finds significant"
            if separated
            else "a difference McNemar's test does not find significant"
        )
        return (
            f"**In short:** the CSV model is {ahead(row.accuracy_difference, 'accuracy')} ({significant} at {ALPHA}) "
            f"and {ahead(row.macro_f1_difference, 'macro F1')} (paired 95% interval "
            f"{interval_text(row.macro_f1_difference_ci95_low, row.macro_f1_difference_ci95_high)}, which "
            f"{excludes_zero(row.macro_f1_difference_ci95_low, row.macro_f1_difference_ci95_high)}). Both compare "
            "two trained models: with one seed per pipeline the numbers cannot say whether the pipelines differ or "
            "this seed happened to favour one of them; the other seeds' runs (`seed_*/` in each pipeline's folder) "
            "will answer that."
        )
    verdicts = [
        f"{'beyond' if p < ALPHA else 'not shown to be beyond'} seed noise in {name} (Welch p = {p_text(p)})"
        for name, p in welch.items()
    ]
    return (
        f"**In short:** over {int(csv.n_seeds)} and {int(image.n_seeds)} seeds the CSV pipeline is "
        f"{ahead(csv.accuracy - image.accuracy, 'mean accuracy')} and "
        f"{ahead(csv.macro_f1 - image.macro_f1, 'mean macro F1')}: "
        f"{' and '.join(verdicts)}. McNemar's test separates the two pipelines' models at {separated} of the "
        f"{len(pipeline_tests)} seeds both finished."
    )


def render(results: pd.DataFrame, frame: pd.DataFrame, description: dict) -> tuple[pd.DataFrame, str]:
    """The tests and the significance section (faces, table, conclusion) from saved predictions and results table."""
    mean_rows = results.dropna(subset="n_seeds")
    in_table = {
        f"{model}_seed{seed.strip()}"
        for model, seeds in zip(mean_rows.model, mean_rows.seeds)
        for seed in seeds.split(",")
    }
    saved = set(description["columns"]) - {SHIPPED}
    if in_table != saved:
        raise ValueError(
            f"the saved predictions cover the runs {sorted(saved)} but the finished runs are {sorted(in_table)}; "
            "run `python -m scripts.significance` again"
        )
    tests = significance_table(frame, description)
    markdown = (
        faces_text(frame, description)
        + "\n\n"
        + significance_markdown(tests, description)
        + "\n"
        + conclusion(results, tests, description)
    )
    return tests, markdown


def report(data_dir: str | Path, root: str | Path, predict: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Write root/results/: the results table, per-face predictions, tests and conclusion; the README's table and
    docs/results.md when root is the checkout.

    predict=False reuses the saved predictions. Returns the results table, the tests and the significance markdown.
    """
    root = Path(root).resolve()
    pipeline_dirs = [root / run_dir.name for run_dir in STUDY_RUN_DIRS.values()]
    results_dir = root / "results"
    if predict:
        write_predictions(*privatetest_predictions(data_dir, compared_models(pipeline_dirs)), results_dir)
    results = results_table(pipeline_dirs, SPLIT)
    write_results_table(results, results_dir)
    tests, markdown = render(results, *read_predictions(results_dir))
    write_text(results_dir / "significance.csv", tests.to_csv(index=False))
    write_text(results_dir / "significance.md", markdown)
    if root == REPO_ROOT:
        update_readme(README, to_markdown(results))
        update_readme(RESULTS_DOC, markdown, section="significance")
    return results, tests, markdown


def main(argv: list[str] | None = None) -> int:
    from scripts.model_card import refuse_unreported_choice
    from scripts.repository import output_root
    from scripts.reproduce import checkout_data_dir, describe_data

    parser = argparse.ArgumentParser(description="Per-face predictions, paired tests and the results table.")
    parser.add_argument("--data", help="default: $FER_DATA, else data/fer2013, else the bundled sample")
    parser.add_argument("--saved", action="store_true", help="reuse results/privatetest_predictions.csv: no model runs")
    args = parser.parse_args(argv)
    if not args.saved:
        refuse_unreported_choice("scripts.significance")
    data_dir = Path(args.data).resolve() if args.data else checkout_data_dir()
    root = output_root(data_dir)
    print(describe_data(data_dir) + f" Outputs go to {root / 'results'}.", flush=True)
    _, _, markdown = report(data_dir, root, predict=not args.saved)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
