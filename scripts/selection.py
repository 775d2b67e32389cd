"""The shipped model's pre-registration file, Pretrained_Model/selection.toml, and the commits that added it."""

import subprocess
import tomllib
from pathlib import Path

from scripts.repository import PRETRAINED_RUN_DIR, REPO_ROOT

SELECTION_FILE = PRETRAINED_RUN_DIR / "selection.toml"


def read_selection(path: Path = SELECTION_FILE) -> dict:
    """The rule and the registrations, oldest first."""
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def registration_commit(name: str, path: Path = SELECTION_FILE) -> str | None:
    """The commit that added registration name to the file, or None where it is not committed (or no git)."""
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "--reverse", "--format=%h", "--abbrev=7", "-S", f'name = "{name}"',
         "--", str(path.relative_to(REPO_ROOT))],
        capture_output=True,
        text=True,
    )
    commits = result.stdout.split() if result.returncode == 0 else []
    return commits[0] if commits else None
