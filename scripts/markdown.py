"""Markdown for the generated documents: tables, and templates filled from gathered values."""

from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table, one line per row, each cell as str() gives it."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def fill(template: str, values: dict) -> str:
    """scripts/templates/<template> with its $names replaced by values; KeyError names a value not gathered."""
    return Template((TEMPLATES / template).read_text()).substitute(values)
