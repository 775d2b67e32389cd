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


def committed_registration(name: str, path: Path = SELECTION_FILE) -> dict:
    """Registration name as the commit that added it wrote it; SystemExit if it is not committed, or if the
    file now says anything else of it (a registration is never changed after its commit)."""
    commit = registration_commit(name, path)
    if commit is None:
        raise SystemExit(f"registration {name} is not committed in {path.name}: commit it before training or shipping")
    shown = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{commit}:{path.relative_to(REPO_ROOT)}"],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = {entry["name"]: entry for entry in tomllib.loads(shown.stdout)["registration"]}
    now = {entry["name"]: entry for entry in read_selection(path)["registration"]}
    if now.get(name) != entries[name]:
        raise SystemExit(f"registration {name} in {path.name} differs from what commit {commit} registered")
    if entries[name]["pre_registered"] and not all("config" in candidate for candidate in entries[name]["candidates"]):
        raise SystemExit(f"registration {name}: a pre-registered candidate must name its training config")
    return entries[name]


def registration_commit(name: str, path: Path = SELECTION_FILE) -> str | None:
    """The commit that added registration name to the file, or None where it is not committed (or no git)."""
    result = subprocess.run(
        [
            "git",
            "-C",
            str(REPO_ROOT),
            "log",
            "--reverse",
            "--format=%h",
            "--abbrev=7",
            "-S",
            f'name = "{name}"',
            "--",
            str(path.relative_to(REPO_ROOT)),
        ],
        capture_output=True,
        text=True,
    )
    commits = result.stdout.split() if result.returncode == 0 else []
    return commits[0] if commits else None
