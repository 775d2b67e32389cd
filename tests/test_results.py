import json
from pathlib import Path

import pytest
from scripts.results_table import (
    README_END,
    README_START,
    results_table,
    to_markdown,
    update_readme,
    write_results_table,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMITTED_RUNS = [REPO_ROOT / "CSV_Based_Model", REPO_ROOT / "Image_Based_Model"]


def fake_run(directory: Path, model: str, accuracy: float) -> Path:
    per_class = {
        name: {"precision": 0.5, "recall": 0.5, "f1-score": 0.25, "support": 1.0}
        for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    }
    scores = {"n": 10, "accuracy": accuracy, "macro_f1": 0.4, "weighted_f1": 0.45, "per_class": per_class}
    directory.mkdir(parents=True)
    (directory / "metrics.json").write_text(
        json.dumps({"model": model, "data_is_sample": False, "splits": {"PrivateTest": scores}})
    )
    return directory


def test_table_puts_each_pipeline_beside_the_study(tmp_path):
    runs = [fake_run(tmp_path / "a", "csv_cnn", 0.61), fake_run(tmp_path / "b", "image_cnn", 0.62)]
    table = results_table(runs)
    assert list(table.source) == ["study (reported)", "this repository (PrivateTest)"] * 2
    assert list(table.accuracy) == [0.59, 0.61, 0.59, 0.62]
    assert table.loc[1, "f1_disgust"] == 0.25
    markdown = to_markdown(table)
    assert "| CSV pipeline | this repository (PrivateTest) | 0.610 | 0.400 | 0.450 | 0.250 |" in markdown
    assert write_results_table(table, tmp_path / "results").read_text() == markdown


def test_readme_table_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold\n{README_END}\noutro\n")
    update_readme(readme, "| new |\n")
    assert readme.read_text() == f"intro\n{README_START}\n| new |\n{README_END}\noutro\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        update_readme(readme, "| new |\n")


def test_readme_shows_the_table_the_committed_metrics_give():
    expected = to_markdown(results_table(COMMITTED_RUNS))
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{README_START}\n{expected}{README_END}" in readme
    assert (REPO_ROOT / "results" / "results_table.md").read_text() == expected


def test_committed_runs_are_full_data_runs_with_figures():
    for run_dir in COMMITTED_RUNS:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert not metrics["data_is_sample"]
        assert metrics["splits"]["PrivateTest"]["n"] == 3589
        assert (run_dir / "model.keras").stat().st_size < 10 * 1024 * 1024
        assert len(list((run_dir / "images").glob("*.png"))) == 2
