"""The results table: each pipeline over its finished seeds, beside the study's own numbers, from run records."""

import json
from pathlib import Path

import pandas as pd

from fer.data.labels import EMOTIONS
from fer.evaluation.metrics import scores
from fer.models.registry import model_spec
from fer.training.records import read_metrics

METRICS = ("accuracy", "macro_f1", "weighted_f1", *(f"f1_{name}" for name in EMOTIONS))
INTERVAL_METRICS = ("accuracy", "macro_f1")  # the ones with a 95% bootstrap interval for the top-level run
ENDS = ("low", "high")  # an interval's columns: <metric>_ci95_low, <metric>_ci95_high


def run_seed(run_dir: str | Path) -> int:
    """The seed a run was trained with (its config.json)."""
    return int(json.loads((Path(run_dir) / "config.json").read_text())["seed"])


def finished_runs(pipeline_dir: str | Path) -> list[Path]:
    """A pipeline folder's finished runs: the top-level run (seed 42), then each seed_*/ that has its metrics.json."""
    pipeline_dir = Path(pipeline_dir)
    top = [pipeline_dir] if (pipeline_dir / "metrics.json").is_file() else []
    runs = top + sorted((path.parent for path in pipeline_dir.glob("seed_*/metrics.json")), key=run_seed)
    seeds = [run_seed(run) for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{pipeline_dir}: two finished runs share a seed ({seeds}); each seed must count once")
    return runs


def run_scores(run_dir: str | Path, split: str = "PrivateTest") -> dict[str, float]:
    """A run's accuracy, macro and weighted F1 and per-class F1 on split, from its metrics.json."""
    measured = read_metrics(run_dir)["splits"][split]
    return {
        "accuracy": measured["accuracy"],
        "macro_f1": measured["macro_f1"],
        "weighted_f1": measured["weighted_f1"],
        **{f"f1_{name}": measured["per_class"][name]["f1-score"] for name in EMOTIONS},
    }


def seed_scores(pipeline_dir: str | Path, split: str = "PrivateTest") -> pd.DataFrame:
    """One row per finished seed of a pipeline (index: the seed), one column per metric."""
    runs = finished_runs(pipeline_dir)
    if not runs:
        raise ValueError(f"{pipeline_dir}: no finished run (no metrics.json)")
    models = {read_metrics(run)["model"] for run in runs}
    if len(models) != 1:
        raise ValueError(f"{pipeline_dir}: its runs train different models ({', '.join(sorted(models))})")
    frame = pd.DataFrame([run_scores(run, split) for run in runs], index=[run_seed(run) for run in runs])
    frame.index.name = "seed"
    return frame


def run_intervals(run_dir: str | Path, split: str = "PrivateTest") -> dict[str, list[float]]:
    """95% bootstrap intervals of accuracy and macro F1, from the run's per-face predictions.csv rows of split."""
    rows = pd.read_csv(Path(run_dir) / "predictions.csv").query("usage == @split")
    labels = rows["true"].map(EMOTIONS.index).to_numpy()
    predicted = rows["predicted"].map(EMOTIONS.index).to_numpy()
    measured = scores(labels, predicted, intervals=True)
    recorded = read_metrics(run_dir)["splits"][split]
    if measured["n"] != recorded["n"] or abs(measured["accuracy"] - recorded["accuracy"]) > 1e-9:
        raise ValueError(
            f"{run_dir}: predictions.csv ({measured['n']} {split} faces, accuracy {measured['accuracy']:.4f}) "
            f"disagrees with metrics.json ({recorded['n']} faces, accuracy {recorded['accuracy']:.4f})"
        )
    return {metric: measured[f"{metric}_ci95"] for metric in INTERVAL_METRICS}


def results_table(pipeline_dirs: list[str | Path], split: str = "PrivateTest") -> pd.DataFrame:
    """Per pipeline: the study's reported numbers, the mean and sd over finished seeds, and the top-level run with CIs.

    Columns: each metric (the mean, or the run's value), <metric>_sd on the mean row (NaN with one seed),
    <metric>_ci95_low/high for accuracy and macro F1 on the top-level run's row; n_seeds on the mean row.
    """
    rows = []
    for pipeline_dir in pipeline_dirs:
        metrics = read_metrics(pipeline_dir)
        spec = model_spec(metrics["model"])
        source = f"this repository ({split})" + (", SAMPLE data" if metrics["data_is_sample"] else "")
        per_seed = seed_scores(pipeline_dir, split)
        seeds = ", ".join(str(seed) for seed in per_seed.index)
        count = len(per_seed)
        spread = f"mean ± sd over n={count} seeds ({seeds})" if count > 1 else f"n=1 seed ({seeds}): no sd"
        top_seed = run_seed(pipeline_dir)
        intervals = run_intervals(pipeline_dir, split)
        mean = {"source": source, "statistic": spread, "n_seeds": count, "seeds": seeds, **per_seed.mean().to_dict()}
        mean |= {f"{metric}_sd": value for metric, value in per_seed.std(ddof=1).items()}
        top = {"source": source, "statistic": f"seed {top_seed} [95% bootstrap CI]", "seeds": str(top_seed)}
        top |= per_seed.loc[top_seed].to_dict()
        top |= {
            f"{metric}_ci95_{end}": bound for metric, bounds in intervals.items() for end, bound in zip(ENDS, bounds)
        }
        reported = {"source": "study (reported)", "statistic": "as published"} | spec.reported
        rows += [{"pipeline": spec.title, "model": spec.name} | row for row in (reported, mean, top)]
    columns = ["pipeline", "model", "source", "statistic", "n_seeds", "seeds"]
    for metric in METRICS:
        columns += [metric, f"{metric}_sd"]
        columns += [f"{metric}_ci95_low", f"{metric}_ci95_high"] if metric in INTERVAL_METRICS else []
    return pd.DataFrame(rows, columns=columns)


def per_class_f1(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mean rows' per-class F1 and sd (NaN with one seed): a row per emotion, a column per "pipeline (n=seeds)"."""
    means = results[results.n_seeds.notna()]
    means = means.set_index(means.pipeline + " (n=" + means.n_seeds.astype(int).astype(str) + ")")
    names = [f"f1_{name}" for name in EMOTIONS]
    return means[names].T.set_axis(EMOTIONS), means[[f"{name}_sd" for name in names]].T.set_axis(EMOTIONS)
