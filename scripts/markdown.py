"""Markdown for the generated documents: docs/templates/ filled with gathered values, tables, and marked sections."""

import re
from pathlib import Path

import jinja2

from fer.atomic import write_text
from scripts.repository import TEMPLATES

TEMPLATE_ENGINE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,  # a value not gathered is an error, never a blank
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # markdown, not HTML
)


def fill(template: str, values: dict) -> str:
    """docs/templates/<template> rendered with values and interval; jinja2.UndefinedError names a value not gathered."""
    return TEMPLATE_ENGINE.get_template(template).render({"interval": interval} | values)


def table(rows: list[list], header: list[str] | None = None) -> str:
    """Markdown table lines, one per row, each cell as str() gives it; with a header where its template has none."""
    lines = ["| " + " | ".join(map(str, row)) + " |" for row in ([header] if header else []) + list(rows)]
    return "\n".join(lines[:1] + ["|" + "---|" * len(header)] + lines[1:] if header else lines)


def interval(scores: dict, metric: str, digits: int = 4) -> str:
    """scores[metric] with its 95% interval scores[metric_ci95]: "0.6943 [0.6782, 0.7094]"."""
    low, high = scores[f"{metric}_ci95"]
    return f"{scores[metric]:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def update_section(path: str | Path, section: str, markdown: str) -> None:
    """Replace the text between path's <!-- section:start --> and <!-- section:end --> with markdown."""
    path = Path(path)
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(path.read_text()):
        raise ValueError(f"{path}: no {start} ... {end} markers to put the {section} between")
    write_text(path, pattern.sub(lambda _: f"{start}\n{markdown}{end}", path.read_text()))
