"""The shipped model's pre-registration file, Pretrained_Model/selection.toml, the commits that added it, and the
committed choice made by its rule (Pretrained_Model/choice.json), which comes before any PrivateTest figure."""

import json
import subprocess
import tomllib
from pathlib import Path

from scripts.repository import PRETRAINED_RUN_DIR, REPO_ROOT

SELECTION_FILE = PRETRAINED_RUN_DIR / "selection.toml"
CHOICE_FILE = PRETRAINED_RUN_DIR / "choice.json"


def git(*args: str, root: Path = REPO_ROOT) -> str | None:
    """What git prints for args in the repository at root, or None where it fails (no such commit, file or git)."""
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def checkout_folder(run: str) -> Path:
    """Where a registered run folder's record lies in this checkout: the folder itself, or, once a candidate is
    published and its run folder gone (one copy of each record), Pretrained_Model/<its name>."""
    folder = REPO_ROOT / run
    published = PRETRAINED_RUN_DIR / Path(run).name
    return published if not folder.exists() and (published / "metrics.json").is_file() else folder


def read_selection(path: Path = SELECTION_FILE) -> dict:
    """The rule and the registrations, oldest first."""
    return tomllib.loads(path.read_text())


def committed_registration(name: str, path: Path = SELECTION_FILE) -> dict:
    """Registration name as the commit that added it wrote it; SystemExit if it is not committed, or if the
    file now says anything else of it (a registration is never changed after its commit)."""
    commit = registration_commit(name, path)
    if commit is None:
        raise SystemExit(f"registration {name} is not committed in {path.name}: commit it before training or shipping")
    entries = {entry["name"]: entry for entry in tomllib.loads(held_at(commit, path))["registration"]}
    now = {entry["name"]: entry for entry in read_selection(path)["registration"]}
    if now.get(name) != entries[name]:
        raise SystemExit(f"registration {name} in {path.name} differs from what commit {commit} registered")
    if entries[name]["pre_registered"] and not all("config" in candidate for candidate in entries[name]["candidates"]):
        raise SystemExit(f"registration {name}: a pre-registered candidate must name its training config")
    return entries[name]


def registered_candidates(registrations: list[str] | None = None, path: Path = SELECTION_FILE) -> dict[str, tuple]:
    """The candidates of the named registrations (default: every one), each committed and unchanged since, in
    registration order: name to its record's folder in this checkout and its registered config (None: registered
    as it lay); SystemExit where a name is registered twice."""
    names = registrations or [entry["name"] for entry in read_selection(path)["registration"]]
    listed = [candidate for name in names for candidate in committed_registration(name, path)["candidates"]]
    candidate_names = [candidate["name"] for candidate in listed]
    twice = sorted({name for name in candidate_names if candidate_names.count(name) > 1})
    if twice:
        raise SystemExit(f"candidate {', '.join(twice)} is registered twice")
    return {candidate["name"]: (checkout_folder(candidate["run"]), candidate.get("config")) for candidate in listed}


def registration_commit(name: str, path: Path = SELECTION_FILE) -> str | None:
    """The commit that added registration name to the file, or None where it is not committed (or no git)."""
    commits = (
        git("log", "--reverse", "--format=%h", "--abbrev=7", "-S", f'name = "{name}"', "--", str(path)) or ""
    ).split()
    return commits[0] if commits else None


def committed_choice(path: Path = CHOICE_FILE, root: Path = REPO_ROOT) -> tuple[dict, str]:
    """The rule's choice as committed in the repository at root, and the commit that last changed it; SystemExit if
    there is none, if it is not committed, or if the file differs from what HEAD holds (PrivateTest may be scored
    only after it)."""
    if not path.is_file():
        relative = path.relative_to(root)
        raise SystemExit(f"{relative}: no choice yet; run scripts.ship_model choose and commit what it writes")
    return committed_json(path, root, "the choice")


def committed_json(path: Path, root: Path = REPO_ROOT, what: str = "it") -> tuple[dict, str]:
    """A JSON file as HEAD holds it, and the commit that last changed it; SystemExit if it is not committed or differs
    from HEAD's (what: what the file holds, for the message)."""
    relative = path.relative_to(root)
    commit = (git("log", "-1", "--format=%h", "--abbrev=7", "--", str(path), root=root) or "").strip()
    held = held_at("HEAD", path, root) if commit and path.is_file() else None
    if held is None:
        raise SystemExit(f"{relative}: not committed; commit {what} before any PrivateTest figure is computed")
    if held != path.read_text():
        raise SystemExit(f"{relative}: differs from what commit {commit} holds; commit {what} as it stands")
    return json.loads(held), commit


def held_at(commit: str, path: Path, root: Path = REPO_ROOT) -> str | None:
    """The file's text as commit holds it, or None where that commit has no such file."""
    return git("show", f"{commit}:{path.relative_to(root)}", root=root)


def committed_choices(path: Path = CHOICE_FILE, root: Path = REPO_ROOT) -> list[dict]:
    """Every choice any branch's history holds, newest first: one reverted or deleted since was still made."""
    log = git("log", "--all", "--full-history", "--format=%H", "--", str(path), root=root) or ""
    held = [held_at(commit, path, root) for commit in log.split()]
    return [json.loads(text) for text in held if text is not None]  # None: the commit that deleted it


def scored_on_private_test(metrics: dict) -> bool:
    """Whether a run record's metrics.json holds a PrivateTest figure (a held-out candidate's does not yet)."""
    return "PrivateTest" in metrics.get("splits", {})
