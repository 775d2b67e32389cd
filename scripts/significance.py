"""The results table and the paired tests on the same PrivateTest faces (CSV vs image pipeline, shipped model vs
study runs), and what they mean.

    python -m scripts.significance [--data DIR] [--saved]

Loads the CSV form's PrivateTest once, runs every finished study run (each pipeline's top-level
run and its seed_*/ runs) and the shipped model on it, and saves each face's predicted labels
(results/privatetest_predictions.csv, described by privatetest_predictions.json). The tests, the
results table and a plain-words conclusion (docs/templates/significance.md) are then computed from
those saved files (fer.evaluation.results, fer.evaluation.study) and written to results/, the README and
docs/results.md. Runs that are still training (no metrics.json) are left out.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from fer.atomic import write_json, write_text
from fer.data.labels import EMOTIONS
from fer.evaluation import study
from fer.evaluation.results import INTERVAL_METRICS, METRICS, results_table
from fer.models.registry import model_spec
from scripts.markdown import fill, table, update_section
from scripts.repository import README, REPO_ROOT, RESULTS_DOC, STUDY_RUN_DIRS, shown

ALPHA = 0.05
REPORTED_ROUNDING = 0.005  # the study gives its figures to two decimals
ONE_SEED = "one seed per pipeline cannot separate seed noise from a pipeline effect"
PREDICTIONS_FILE = "privatetest_predictions.csv"
DESCRIPTION_FILE = "privatetest_predictions.json"


def cell(row: pd.Series, metric: str) -> str:
    """One table cell: the value, ± sd on a mean row (n/a with one seed), [low, high] where there is an interval."""
    value = row[metric]
    if pd.isna(value):
        return ""
    text = f"{value:.3f}"
    if pd.notna(row["n_seeds"]):
        sd = row[f"{metric}_sd"]
        text += f" ± {sd:.3f}" if pd.notna(sd) else " ± n/a"
    if metric in INTERVAL_METRICS and pd.notna(row[f"{metric}_ci95_low"]):
        text += f" [{row[f'{metric}_ci95_low']:.3f}, {row[f'{metric}_ci95_high']:.3f}]"
    return text


def to_markdown(results: pd.DataFrame) -> str:
    """The table as GitHub markdown; blanks where the study reported no figure."""
    rows = [
        [row.pipeline, row.source, row.statistic, *(cell(row, metric) for metric in METRICS)]
        for _, row in results.iterrows()
    ]
    return table(rows, ["pipeline", "source", "statistic", *METRICS]) + "\n"


def write_results_table(results: pd.DataFrame, directory: str | Path) -> Path:
    """Write results_table.md and results_table.csv into directory; return the .md path."""
    directory = Path(directory)
    write_text(directory / "results_table.csv", results.to_csv(index=False))
    write_text(directory / "results_table.md", to_markdown(results))
    return directory / "results_table.md"


def write_predictions(frame: pd.DataFrame, description: dict, directory: str | Path) -> Path:
    """Write the per-face predictions (.csv) and their description (.json) into directory; return the .csv path."""
    write_text(Path(directory) / PREDICTIONS_FILE, frame.to_csv(index=False))
    write_json(Path(directory) / DESCRIPTION_FILE, description)
    return Path(directory) / PREDICTIONS_FILE


def read_predictions(directory: str | Path) -> tuple[pd.DataFrame, dict]:
    """The saved per-face predictions and their description."""
    return pd.read_csv(Path(directory) / PREDICTIONS_FILE), json.loads((Path(directory) / DESCRIPTION_FILE).read_text())


def title(column: str, description: dict) -> str:
    """A compared model in words: "CSV pipeline, seed 42", "shipped model"."""
    info = description["columns"][column]
    return "shipped model" if column == study.SHIPPED else f"{model_spec(info['model']).title}, seed {info['seed']}"


def p_text(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def interval_text(low: float, high: float) -> str:
    return f"[{low:+.4f}, {high:+.4f}]"


def ahead(difference: float, metric: str) -> str:
    direction = "ahead" if difference > 0 else "behind" if difference < 0 else "level"
    return f"{direction} by {abs(difference):.3f} in {metric}"


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


def seed_noise_text(noise: dict[str, dict[str, float]], counts: tuple[int, int]) -> str:
    """The study.seed_noise facts in sentences."""
    if not noise:
        return f"With {counts[0]} and {counts[1]} seeds, {ONE_SEED}."
    sentences = [
        f"In {name} the difference of the means, {fact['difference']:+.3f}, is "
        f"{'larger' if abs(fact['difference']) > fact['largest_sd'] else 'not larger'} than the larger seed sd "
        f"({fact['largest_sd']:.3f}); Welch's t-test over the seeds gives p = {p_text(fact['welch_p'])}, which "
        f"{'rejects' if fact['welch_p'] < ALPHA else 'does not reject'} equal means at {ALPHA}."
        for name, fact in noise.items()
    ]
    return " ".join(sentences) + (
        f" With {counts[0]} and {counts[1]} seeds that test has little power, and seeds are the only source of "
        "run-to-run variation it sees."
    )


def pair_text(row: pd.Series, tests: pd.DataFrame, description: dict) -> str:
    """One seed's CSV model against its image model: McNemar's verdict and the paired intervals."""
    if row.mcnemar_p_holm < ALPHA:
        verdict = f"rejects equal accuracy at {ALPHA}"
    elif row.mcnemar_p < ALPHA:
        verdict = f"rejects equal accuracy at {ALPHA} on its own, but not after Holm's adjustment"
    else:
        verdict = f"does not reject equal accuracy at {ALPHA}"
    accuracy, macro = (row.difference_ci95_low, row.difference_ci95_high), row[list(study.MACRO_INTERVAL)]
    intervals = [f"{interval_text(*bounds)}, {excludes_zero(*bounds)}" for bounds in (accuracy, macro)]
    return (
        f"Seed {description['columns'][row.a]['seed']}, CSV model against image model on the same faces: McNemar's "
        f"exact test gives p = {p_text(row.mcnemar_p)} (Holm-adjusted over the {len(tests)} tests in the table: "
        f"{p_text(row.mcnemar_p_holm)}), so it {verdict}; the paired bootstrap 95% interval of the accuracy "
        f"difference, {intervals[0]}, and that of the macro F1 difference, {intervals[1]}."
    )


def significance_values(frame: pd.DataFrame, results: pd.DataFrame, tests: pd.DataFrame, description: dict) -> dict:
    """Every value of the significance section: the faces, the tests, and what they support about the pipelines."""
    check, split = description["faces_check"], description["split"]
    largest = check["largest_pixel_difference"]
    means = results[results.n_seeds.notna()].set_index("model")
    tops = results[results.accuracy_ci95_low.notna()].set_index("model")
    reported = results[results.source == "study (reported)"].set_index("model")
    csv, image = means.loc["csv_cnn"], means.loc["image_cnn"]
    widest = max(EMOTIONS, key=lambda name: abs(csv[f"f1_{name}"] - image[f"f1_{name}"]))
    noise = study.seed_noise(csv, image)
    pipeline_tests, shipped_tests = tests[tests.kind == study.PIPELINES], tests[tests.kind == study.SHIPPED]
    folder_runs = [
        f"{title(column, description)} scores accuracy {np.mean(frame[column] == frame['true']):.4f} on the CSV "
        f"form's faces and {info['recorded_accuracy']:.4f} on the folder form's (its metrics.json)"
        for column, info in description["columns"].items()
        if column != study.SHIPPED and info["recorded_form"] == "folders"
    ]
    rows = []
    for _, row in tests.iterrows():
        macro = (
            f"{row.macro_f1_difference:+.4f} {interval_text(*row[list(study.MACRO_INTERVAL)])}"
            if row.kind == study.PIPELINES
            else ""
        )
        accuracy = f"{row.accuracy_difference:+.4f} {interval_text(row.difference_ci95_low, row.difference_ci95_high)}"
        rows.append(
            [title(row.a, description), title(row.b, description), f"{row.accuracy_a:.4f}", f"{row.accuracy_b:.4f}"]
        )
        rows[-1] += [
            row.only_a_right,
            row.only_b_right,
            accuracy,
            macro,
            p_text(row.mcnemar_p),
            p_text(row.mcnemar_p_holm),
        ]
    return {
        "n": f"{check['n']:,}",
        "split": split,
        "sample": " (the bundled SAMPLE: its numbers mean nothing)" if description["data_is_sample"] else "",
        "pixels": f"pixels within {largest} gray levels" if largest else "identical pixels",
        "folder_runs": "; ".join(folder_runs),
        "table": table(rows),
        **{
            f"{pipeline}_{metric}": f"{row[metric]:.3f}"
            for pipeline, row in (("csv", csv), ("image", image))
            for metric, _ in study.NAMES
        },
        "csv_seeds": int(csv.n_seeds),
        "image_seeds": int(image.n_seeds),
        "ahead": " and ".join(ahead(csv[metric] - image[metric], name) for metric, name in study.NAMES),
        "widest": f"{widest} ({csv[f'f1_{widest}']:.3f} against {image[f'f1_{widest}']:.3f})",
        "seed_noise": seed_noise_text(noise, (int(csv.n_seeds), int(image.n_seeds))),
        "pairs": "\n\n".join(pair_text(row, tests, description) for _, row in pipeline_tests.iterrows()),
        "shipped_runs": len(shipped_tests),
        "lowest": f"{shipped_tests.accuracy_difference.min():+.3f}",
        "highest": f"{shipped_tests.accuracy_difference.max():+.3f}",
        "shipped_rejected": int((shipped_tests.mcnemar_p_holm < ALPHA).sum()),
        "largest_p": p_text(shipped_tests.mcnemar_p_holm.max()),
        "rounding": REPORTED_ROUNDING,
        "reported": "; ".join(
            f"{model_spec(model).title} "
            + ", ".join(against_interval(name, reported.loc[model, m], row, m) for m, name in study.NAMES)
            for model, row in tops.iterrows()
        ),
        "ahead_means": " and ".join(ahead(csv[metric] - image[metric], f"mean {name}") for metric, name in study.NAMES),
        "beyond_noise": " and ".join(
            f"{'beyond' if fact['welch_p'] < ALPHA else 'not shown to be beyond'} seed noise in {name} "
            f"(Welch p = {p_text(fact['welch_p'])})"
            for name, fact in noise.items()
        )
        or ONE_SEED,
        "separated": int((pipeline_tests.mcnemar_p_holm < ALPHA).sum()),
        "paired": len(pipeline_tests),
    }


def render(results: pd.DataFrame, frame: pd.DataFrame, description: dict) -> tuple[pd.DataFrame, str]:
    """The tests and the significance section, from saved predictions and the results table."""
    mean_rows = results.dropna(subset="n_seeds")
    in_table = {
        f"{model}_seed{seed.strip()}"
        for model, seeds in zip(mean_rows.model, mean_rows.seeds)
        for seed in seeds.split(",")
    }
    saved = set(description["columns"]) - {study.SHIPPED}
    if in_table != saved:
        raise ValueError(
            f"the saved predictions cover the runs {sorted(saved)} but the finished runs are {sorted(in_table)}; "
            "run `python -m scripts.significance` again"
        )
    tests = study.significance_table(frame, description)
    return tests, fill("significance.md", significance_values(frame, results, tests, description))


def report(data_dir: str | Path, root: str | Path, predict: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Write root/results/: the results table, per-face predictions, tests and conclusion; the README's table and
    docs/results.md when root is the checkout.

    predict=False reuses the saved predictions. Returns the results table, the tests and the significance markdown.
    """
    root = Path(root).resolve()
    pipeline_dirs = [root / run_dir.name for run_dir in STUDY_RUN_DIRS.values()]
    results_dir = root / "results"
    if predict:
        frame, description = study.privatetest_predictions(data_dir, study.compared_models(pipeline_dirs))
        description["data"] = str(shown(Path(data_dir)))
        for info in description["columns"].values():
            info["run"] = str(shown(Path(info["run"]))) if "seed" in info else info["run"]
        write_predictions(frame, description, results_dir)
    results = results_table(pipeline_dirs, study.SPLIT)
    write_results_table(results, results_dir)
    tests, markdown = render(results, *read_predictions(results_dir))
    write_text(results_dir / "significance.csv", tests.to_csv(index=False))
    write_text(results_dir / "significance.md", markdown)
    if root == REPO_ROOT:
        update_section(README, "results-table", to_markdown(results))
        update_section(RESULTS_DOC, "significance", markdown)
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
    print(report(data_dir, root, predict=not args.saved)[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
