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
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from fer.atomic import write_text
from fer.data.labels import EMOTIONS
from fer.evaluation import study
from fer.evaluation.results import INTERVAL_METRICS, METRICS, results_table
from fer.models.registry import model_spec
from scripts.markdown import fill, table, update_section
from scripts.repository import README, REPO_ROOT, RESULTS_DOC, STUDY_RUN_DIRS, shown

ALPHA = 0.05
REPORTED_ROUNDING = 0.005  # the study gives its figures to two decimals


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


def significance_values(frame: pd.DataFrame, results: pd.DataFrame, tests: pd.DataFrame, description: dict) -> dict:
    """Every value of the significance section: the faces, the tests, the pipelines' means and the study's figures."""
    csv, image = (results[results.n_seeds.notna()].set_index("model").loc[model] for model in ("csv_cnn", "image_cnn"))
    reported = results[results.source == "study (reported)"].set_index("model")
    titles = {  # each compared model in words
        name: "shipped model" if name == study.SHIPPED else f"{model_spec(info['model']).title}, seed {info['seed']}"
        for name, info in description["columns"].items()
    }
    rows = tests.assign(title_a=tests.a.map(titles), title_b=tests.b.map(titles)).to_dict("records")
    shipped = tests[tests.kind == study.SHIPPED]
    return {
        **description,
        "folder_runs": [
            {"title": titles[column], "accuracy": np.mean(frame[column] == frame["true"])} | info
            for column, info in description["columns"].items()
            if column != study.SHIPPED and info["recorded_form"] == "folders"
        ],
        "tests": rows,
        "pairs": [row for row in rows if row["kind"] == study.PIPELINES],  # the same dicts, for `in`
        "shipped": {
            "runs": len(shipped),
            "lowest": shipped.accuracy_difference.min(),
            "highest": shipped.accuracy_difference.max(),
            "rejected": int((shipped.mcnemar_p_holm < ALPHA).sum()),
            "largest_p": shipped.mcnemar_p_holm.max(),
        },
        "csv": csv,
        "image": image,
        "names": study.NAMES,
        "widest": max(EMOTIONS, key=lambda name: abs(csv[f"f1_{name}"] - image[f"f1_{name}"])),
        "noise": study.seed_noise(csv, image),
        "reported": [
            {"title": model_spec(model).title, "figures": reported.loc[model], "top": top}
            for model, top in results[results.accuracy_ci95_low.notna()].set_index("model").iterrows()
        ],
        "alpha": ALPHA,
        "rounding": REPORTED_ROUNDING,
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
        study.write_predictions(frame, description, results_dir)
    results = results_table(pipeline_dirs, study.SPLIT)
    write_results_table(results, results_dir)
    tests, markdown = render(results, *study.read_predictions(results_dir))
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
