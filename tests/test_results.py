import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scripts.markdown import update_section
from scripts.significance import to_markdown, write_results_table

from fer.data.labels import EMOTIONS
from fer.evaluation.results import finished_runs, per_class_f1, results_table

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_PIPELINES = [REPO_ROOT / "CSV_Based_Model", REPO_ROOT / "Image_Based_Model"]
FACES = 100  # PrivateTest faces of a fake run
README_START, README_END = "<!-- results-table:start -->", "<!-- results-table:end -->"


@pytest.fixture
def fewer_resamples(monkeypatch):
    """100 bootstrap resamples instead of 1,000: for tests of the wording and layout, not of the intervals' values."""
    import fer.evaluation.metrics

    monkeypatch.setattr(fer.evaluation.metrics, "BOOTSTRAP_RESAMPLES", 100)  # every interval's resampling reads it


def fake_run(
    directory: Path, model: str, seed: int, accuracy: float, macro_f1: float = 0.4, f1_disgust: float = 0.25
) -> Path:
    """A finished run's record: config.json, metrics.json, and predictions.csv whose PrivateTest accuracy is accuracy.

    Its PublicTest rows are all wrong, so that reading them by mistake shows.
    """
    per_class = {
        name: {"precision": 0.5, "recall": 0.5, "f1-score": f1_disgust if name == "disgust" else 0.5, "support": 1.0}
        for name in EMOTIONS
    }
    scores = {"n": FACES, "accuracy": accuracy, "macro_f1": macro_f1, "weighted_f1": 0.45, "per_class": per_class}
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"model": model, "seed": seed}))
    (directory / "metrics.json").write_text(
        json.dumps({"model": model, "data_is_sample": False, "splits": {"PrivateTest": scores}})
    )
    labels = np.arange(FACES) % len(EMOTIONS)
    right = round(accuracy * FACES)
    predicted = np.where(np.arange(FACES) < right, labels, (labels + 1) % len(EMOTIONS))
    rows = [
        pd.DataFrame(
            {
                "usage": usage,
                "index": np.arange(FACES),
                "true": [EMOTIONS[i] for i in labels],
                "predicted": [EMOTIONS[i] for i in guesses],
            }
        )
        for usage, guesses in (("PublicTest", (labels + 1) % len(EMOTIONS)), ("PrivateTest", predicted))
    ]
    pd.concat(rows).to_csv(directory / "predictions.csv", index=False)
    return directory


def test_one_seed_per_pipeline_says_n_1_and_gives_no_sd(tmp_path, fewer_resamples):
    pipelines = [fake_run(tmp_path / "a", "csv_cnn", 42, 0.61), fake_run(tmp_path / "b", "image_cnn", 42, 0.62)]
    table = results_table(pipelines)
    assert (
        list(table.source) == ["study (reported)", "this repository (PrivateTest)", "this repository (PrivateTest)"] * 2
    )
    assert list(table.accuracy) == [0.59, 0.61, 0.61, 0.59, 0.62, 0.62]
    assert table.loc[1, "n_seeds"] == 1 and np.isnan(table.loc[1, "accuracy_sd"])
    low, high = table.loc[2, ["accuracy_ci95_low", "accuracy_ci95_high"]]
    assert 0.5 < low < 0.61 < high < 0.72  # 61 of 100 right: a 95% interval about +-0.1 wide, not the PublicTest's 0
    markdown = to_markdown(table)
    assert (
        "| CSV pipeline | this repository (PrivateTest) | n=1 seed (42): no sd | 0.610 ± n/a | 0.400 ± n/a |"
        in markdown
    )
    assert (
        f"| CSV pipeline | this repository (PrivateTest) | seed 42 [95% bootstrap CI] | 0.610 [{low:.3f}, {high:.3f}]"
        in (markdown)
    )
    assert "| CSV pipeline | study (reported) | as published | 0.590 | 0.520 | 0.580 |  |" in markdown
    assert write_results_table(table, tmp_path / "results").read_text() == markdown


def test_three_seeds_give_mean_and_sd_and_unfinished_seeds_are_left_out(tmp_path, fewer_resamples):
    fake_run(tmp_path / "csv", "csv_cnn", 42, 0.61, f1_disgust=0.2)
    fake_run(tmp_path / "csv" / "seed_1", "csv_cnn", 1, 0.59, f1_disgust=0.3)
    fake_run(tmp_path / "csv" / "seed_2", "csv_cnn", 2, 0.60, f1_disgust=0.4)
    (tmp_path / "csv" / "seed_3").mkdir()  # still training: no metrics.json
    (tmp_path / "csv" / "seed_3" / "config.json").write_text(json.dumps({"model": "csv_cnn", "seed": 3}))
    fake_run(tmp_path / "image", "image_cnn", 42, 0.55)
    assert [path.name for path in finished_runs(tmp_path / "csv")] == ["csv", "seed_1", "seed_2"]
    table = results_table([tmp_path / "csv", tmp_path / "image"])
    mean_row = table.loc[1]
    assert mean_row.n_seeds == 3 and mean_row.statistic == "mean ± sd over n=3 seeds (42, 1, 2)"
    assert mean_row.accuracy == pytest.approx(0.60) and mean_row.accuracy_sd == pytest.approx(0.01)
    assert mean_row.f1_disgust == pytest.approx(0.3) and mean_row.f1_disgust_sd == pytest.approx(0.1)
    assert table.loc[2, "accuracy"] == 0.61  # the seed-42 row is seed 42's, not the mean
    assert "| 0.600 ± 0.010 | 0.400 ± 0.000 | 0.450 ± 0.000 | 0.500 ± 0.000 | 0.300 ± 0.100 |" in to_markdown(table)
    means, sds = per_class_f1(table)
    assert list(means.columns) == ["CSV pipeline (n=3)", "Image pipeline (n=1)"]
    assert means.loc["disgust", "CSV pipeline (n=3)"] == pytest.approx(0.3)
    assert sds.loc["disgust", "CSV pipeline (n=3)"] == pytest.approx(0.1) and np.isnan(sds.iloc[1, 1])


def test_a_seed_counted_twice_or_predictions_that_disagree_with_metrics_are_refused(tmp_path, fewer_resamples):
    fake_run(tmp_path / "csv", "csv_cnn", 42, 0.61)
    fake_run(tmp_path / "csv" / "seed_42", "csv_cnn", 42, 0.60)
    with pytest.raises(ValueError, match="share a seed"):
        results_table([tmp_path / "csv"])
    run = fake_run(tmp_path / "other", "csv_cnn", 42, 0.61)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["splits"]["PrivateTest"]["accuracy"] = 0.62
    (run / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="disagrees with metrics.json"):
        results_table([run])


def test_readme_table_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold\n{README_END}\noutro\n")
    update_section(readme, "results-table", "| new |\n")
    assert readme.read_text() == f"intro\n{README_START}\n| new |\n{README_END}\noutro\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        update_section(readme, "results-table", "| new |\n")


def test_readme_shows_the_table_the_committed_runs_give():
    table = results_table(COMMITTED_PIPELINES)
    expected = to_markdown(table)
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{README_START}\n{expected}{README_END}" in readme
    assert (REPO_ROOT / "results" / "results_table.md").read_text() == expected
    assert (REPO_ROOT / "results" / "results_table.csv").read_text() == table.to_csv(index=False)


def test_committed_runs_are_full_data_runs_with_figures():
    for run_dir in COMMITTED_PIPELINES:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert not metrics["data_is_sample"]
        assert metrics["splits"]["PrivateTest"]["n"] == 3589
        assert (run_dir / "model.keras").stat().st_size < 10 * 1024 * 1024
        assert len(list((run_dir / "images").glob("*.png"))) == 2
        for seed_run in finished_runs(run_dir)[1:]:
            seed_metrics = json.loads((seed_run / "metrics.json").read_text())
            assert seed_metrics["model"] == metrics["model"] and not seed_metrics["data_is_sample"]
            assert seed_metrics["splits"]["PrivateTest"]["n"] == 3589
