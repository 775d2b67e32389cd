"""The shipped model's pre-registration file, Pretrained_Model/selection.toml, the commits that added it, and the
committed choice made by its rule (Pretrained_Model/choice.json), which comes before any PrivateTest figure."""

import json
import subprocess
import tomllib
from pathlib import Path

from scripts.repository import PRETRAINED_RUN_DIR, REPO_ROOT

SELECTION_FILE = PRETRAINED_RUN_DIR / "selection.toml"
CHOICE_FILE = PRETRAINED_RUN_DIR / "choice.json"


def checkout_folder(run: str) -> Path:
    """Where a registered run folder's record lies in this checkout: the folder itself, or, once a candidate is
    published and its run folder gone (one copy of each record), Pretrained_Model/<its name>."""
    folder = REPO_ROOT / run
    published = PRETRAINED_RUN_DIR / Path(run).name
    return published if not folder.exists() and (published / "metrics.json").is_file() else folder


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
    entries = {entry["name"]: entry for entry in tomllib.loads(held_at(commit, path))["registration"]}
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
    log = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%h", "--abbrev=7", "--", str(relative)],
        capture_output=True,
        text=True,
    )
    commit = log.stdout.strip() if log.returncode == 0 else ""
    held = held_at("HEAD", path, root)
    if not commit or held is None or not path.is_file():
        raise SystemExit(f"{relative}: not committed; commit {what} before any PrivateTest figure is computed")
    if held != path.read_text():
        raise SystemExit(f"{relative}: differs from what commit {commit} holds; commit {what} as it stands")
    return json.loads(held), commit


def held_at(commit: str, path: Path, root: Path = REPO_ROOT) -> str | None:
    """The file's text as commit holds it, or None where that commit has no such file."""
    held = subprocess.run(
        ["git", "-C", str(root), "show", f"{commit}:{path.relative_to(root)}"], capture_output=True, text=True
    )
    return held.stdout if held.returncode == 0 else None


def committed_choices(path: Path = CHOICE_FILE, root: Path = REPO_ROOT) -> list[dict]:
    """Every choice any branch's history holds, newest first: one reverted or deleted since was still made."""
    log = subprocess.run(
        ["git", "-C", str(root), "log", "--all", "--full-history", "--format=%H", "--", str(path.relative_to(root))],
        capture_output=True,
        text=True,
    )
    held = [held_at(commit, path, root) for commit in (log.stdout.split() if log.returncode == 0 else [])]
    return [json.loads(text) for text in held if text is not None]  # None: the commit that deleted it


def scored_on_private_test(metrics: dict) -> bool:
    """Whether a run record's metrics.json holds a PrivateTest figure (a held-out candidate's does not yet)."""
    return "PrivateTest" in metrics.get("splits", {})


def scored_on_private_test_at(commit: str, candidates: dict[str, str]) -> list[str]:
    """The candidates (name to run folder, relative to the repository) whose run record, where it lay or as
    Pretrained_Model/<name>, held a PrivateTest figure in commit's tree."""
    scored = []
    for name, run in candidates.items():
        for folder in (REPO_ROOT / run, PRETRAINED_RUN_DIR / name):
            shown = held_at(commit, folder / "metrics.json")
            if shown is not None and scored_on_private_test(json.loads(shown)):
                scored.append(name)
                break
    return scored
