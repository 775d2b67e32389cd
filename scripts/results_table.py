"""The results table: both pipelines beside the study's own numbers, built from metrics files."""

import re
from pathlib import Path

import pandas as pd

from fer.atomic import write_text
from fer.data.labels import EMOTIONS
from fer.models.registry import model_spec
from fer.training.records import read_metrics

README_START, README_END = "<!-- results-table:start -->", "<!-- results-table:end -->"  # see update_readme


def results_table(run_dirs: list[str | Path], split: str = "PrivateTest") -> pd.DataFrame:
    """One row per pipeline for the study and for this repository: accuracy, macro/weighted F1, per-class F1."""
    rows = []
    for run_dir in run_dirs:
        metrics = read_metrics(run_dir)
        spec = model_spec(metrics["model"])
        measured = metrics["splits"][split]
        rows.append({"pipeline": spec.title, "source": "study (reported)", **spec.reported})
        rows.append(
            {
                "pipeline": spec.title,
                "source": f"this repository ({split})" + (", SAMPLE data" if metrics["data_is_sample"] else ""),
                "accuracy": measured["accuracy"],
                "macro_f1": measured["macro_f1"],
                "weighted_f1": measured["weighted_f1"],
                **{f"f1_{name}": measured["per_class"][name]["f1-score"] for name in EMOTIONS},
            }
        )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    """The table as GitHub markdown; blanks where the study reported no figure."""
    columns = list(table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in table.iterrows():
        cells = [
            f"{value:.3f}" if isinstance(value, float) and value == value else ("" if value != value else str(value))
            for value in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results_table(table: pd.DataFrame, directory: str | Path) -> Path:
    """Write results_table.md and results_table.csv into directory; return the .md path."""
    directory = Path(directory)
    write_text(directory / "results_table.csv", table.to_csv(index=False))
    write_text(directory / "results_table.md", to_markdown(table))
    return directory / "results_table.md"


def update_readme(readme: str | Path, markdown: str, section: str = "results-table") -> None:
    """Replace the README's text between <!-- section:start --> and <!-- section:end --> with markdown."""
    readme = Path(readme)
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme}: no {start} ... {end} markers to put the {section} between")
    write_text(readme, pattern.sub(lambda _: f"{start}\n{markdown}{end}", text))
