"""MODEL_CARD.md and the README's shipped-model rows: docs/templates/ filled from the shipped model's evaluation.json,
its members' run records, the registrations, the calibration report and the code that built and trained them."""

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

import keras

from fer.atomic import write_text
from fer.data.labels import EMOTIONS
from fer.evaluation.metrics import BOOTSTRAP_RESAMPLES
from fer.evaluation.tta import CROP_SHIFT
from fer.models.architectures import INPUT_SHAPE, build_model, fer_net_stages
from fer.models.pretrained import MAX_MODEL_BYTES
from fer.models.registry import model_spec
from fer.plots import plot_accuracy_against_hours
from fer.training.config import TrainConfig, read_config
from fer.training.loop import ResumablePlateau, learning_rate, optimizer
from fer.training.machine import machine_summary
from fer.training.records import fully_timed, read_metrics, timing
from scripts.markdown import fill, table
from scripts.repository import MODEL_CARD, PRETRAINED_RUN_DIR, REPO_ROOT, SHIPPED_FILES, SHIPPED_MODEL_FILE
from scripts.selection import read_selection, registration_commit

TRAINING_FIGURE = REPO_ROOT / "docs" / "accuracy_vs_training_hours.png"  # the card's, written with it

PLACES = ("model", "data", "run_dir")  # named first in a training command
ALWAYS_SHOWN = ("epochs", "batch_size", "learning_rate", "lr_schedule", "label_smoothing", "seed")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_card(root: Path = PRETRAINED_RUN_DIR) -> dict:
    """The shipped model's evaluation.json."""
    return json.loads((root / "evaluation.json").read_text())


def unreported_files(root: Path = PRETRAINED_RUN_DIR) -> list[Path]:
    """The shipped files that evaluation.json did not score: chosen, not yet reported. Scoring one on PrivateTest
    before `scripts.ship_model report` does would compute a figure before the one scoring the protocol allows."""
    card = read_card(root)
    scored = {"shipped": card["model_file"]["sha256"], "fast": card.get("fast", {}).get("model_file", {}).get("sha256")}
    return [path for role, path in SHIPPED_FILES.items() if path.is_file() and file_sha256(path) != scored[role]]


def refuse_unreported_choice(command: str, root: Path = PRETRAINED_RUN_DIR) -> None:
    """SystemExit, in one line, where a shipped file is chosen but not yet reported (unreported_files)."""
    unreported = unreported_files(root)
    if unreported:
        names = " and ".join(path.name for path in unreported)
        raise SystemExit(f"{command}: {names} not yet scored by `python -m scripts.ship_model report`; run that first")


def member_runs(card: dict) -> dict[str, tuple[TrainConfig, dict]]:
    """Each candidate member's config (its config.json, defaults filled in) and metrics.json with its machine."""
    runs = {}
    for name, member in card["members"].items():
        metrics = read_metrics(REPO_ROOT / member["record"])
        machine = metrics.get("machine") or member["training_machine"]  # runs from before metrics.json named it
        runs[name] = (read_config(REPO_ROOT / member["record"]), metrics | {"machine": machine})
    return runs


@functools.cache
def network_layers(model: str) -> dict[str, keras.layers.Layer]:
    """The registered network's layers as fer.build_model builds it for training, by class name (the last of each)."""
    return {type(layer).__name__: layer for layer in build_model(model).layers}


def training_command(config: TrainConfig) -> str:
    """The `fer train` command that trains this config."""
    default = TrainConfig()
    options = [
        f"--{field.name.replace('_', '-')} {getattr(config, field.name)}"
        for field in dataclasses.fields(config)
        if field.name in ALWAYS_SHOWN
        or (field.name not in PLACES and getattr(config, field.name) != getattr(default, field.name))
    ]
    return f"fer train --model {config.model} --data {config.data} --run-dir {config.run_dir} " + " ".join(options)


def cpu_counted(runs: list[dict]) -> bool:
    """Whether every epoch of every run had its CPU time counted (records from before the CPU clock have none)."""
    return all(run.get("cpu_timed_epochs") == run["epochs"] for run in runs)


def training_times(runs: list[dict]) -> list[str]:
    """The wall-clock and CPU hours the runs took together, saying so where an epoch's were not counted."""
    wall = f"{sum(run['train_seconds'] for run in runs) / 3600:.2f} h"
    wall += "" if all(fully_timed(run) for run in runs) else " (not every epoch timed)"
    if cpu_counted(runs):
        return [wall, f"{sum(run['train_cpu_seconds'] for run in runs) / 3600:.2f} h"]
    return [wall, "not recorded"]


def best_combination_table(public: dict[str, float], runs: dict[str, tuple[TrainConfig, dict]]) -> str:
    """For each number of networks averaged, the combination with the best PublicTest accuracy (the first in
    registration order on a tie, as the rule breaks them), and what training its networks took."""
    best: dict[int, str] = {}
    for name, accuracy in public.items():
        size = name.count(" + ") + 1
        if size not in best or accuracy > public[best[size]]:
            best[size] = name
    return table(
        [size, name, f"{public[name]:.4f}", *training_times([runs[member][1] for member in name.split(" + ")])]
        for size, name in sorted(best.items())
    )


def selection_history(root: Path) -> list[dict]:
    """The rule's changes, each with the shipped PrivateTest figures already public when it was made."""
    history, public = json.loads((root / "selection_history.json").read_text()), {}
    for step in history:
        step["public_before"] = public
        public = public | {step["shipped"]: step["shipped_private_test_accuracy"]}
    return history


def run_facts(name: str, config: TrainConfig, metrics: dict, member: dict) -> dict:
    """A candidate's run as the card states it: its network, config, record, command, machines and PrivateTest scores,
    and the optimizer and learning rate fer.train builds for its config."""
    built = optimizer(config, steps_per_epoch=1)
    return {
        "name": name,
        "spec": model_spec(config.model),
        "crop": network_layers(config.model).get("CenterCrop"),
        "config": config,
        "metrics": metrics,
        "record": member["record"],
        "private_test": member["private_test"],
        "command": training_command(config),
        "timing": timing(metrics),
        "times": training_times([metrics]),
        "machines": metrics.get("epochs_by_machine") or {machine_summary(metrics["machine"]): metrics["epochs"]},
        "optimizer": type(built).__name__,
        "momentum": getattr(built, "momentum", 0),
        "nesterov": getattr(built, "nesterov", False),
        "weight_decay": built.weight_decay,
        "learning_rate": learning_rate(config, steps_per_epoch=1),
    }


def card_values(root: Path = PRETRAINED_RUN_DIR) -> dict:
    """Everything MODEL_CARD.md states, from the records and the code the module docstring names."""
    from scripts.calibration import card_section  # scripts.calibration imports this module

    card = read_card(root)
    selection, single = card["selection"], card["private_test"]["none"]
    runs = member_runs(card)
    facts = {name: run_facts(name, *runs[name], member) for name, member in card["members"].items()}
    fer_nets = [run for run in facts.values() if run["spec"].builder == "build_fer_net"]
    layers = network_layers(fer_nets[0]["config"].model)
    widths = sorted({run["spec"].width for run in fer_nets}, reverse=True)
    return {split: f"{count:,}" for split, count in card["split_sizes"].items()} | {
        "card": card,
        "selection": selection,
        "input_shape": INPUT_SHAPE,
        "emotions": EMOTIONS,
        "networks": [facts[name] for name in selection["members"]],
        "shipped_file": SHIPPED_MODEL_FILE.relative_to(REPO_ROOT),
        "max_megabytes": f"{MAX_MODEL_BYTES / 1e6:g}",
        "registrations": [
            entry | {"commit": registration_commit(entry["name"])} for entry in read_selection()["registration"]
        ],
        "history": selection_history(root),
        "too_large": too_large_count(selection),
        "registered_in": registrations_of_candidates(),
        "best_combinations": best_combination_table(selection["publictest_accuracy"], runs),
        "runs": list(facts.values()),
        "recipes": fer_nets,
        "plateau": ResumablePlateau,
        "layers": layers,
        "stages": fer_net_stages(),
        "filters": {width: [filters for filters, _ in fer_net_stages(width)] for width in widths},
        "degrees": layers["RandomRotation"].factor[1] * 360,
        "shift": max(layers["RandomTranslation"].height_factor, layers["RandomTranslation"].width_factor),
        "data": fer_nets[0]["config"].data,
        "shipped_hours": sum(runs[name][1]["train_seconds"] for name in selection["members"]) / 3600,
        "resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "crop_shift": CROP_SHIFT,
        "fast_section": fast_section(card["fast"], selection["publictest_accuracy"]),
        "paired_section": fill("paired.md", {"tests": card.get("paired", []), "resamples": f"{BOOTSTRAP_RESAMPLES:,}"}),
        "calibration": card_section(json.loads((root / "calibration.json").read_text())),
        "rarest": min(EMOTIONS, key=lambda emotion: card["training_counts"][emotion]),
        "weakest": min(EMOTIONS, key=lambda emotion: single["per_class"][emotion]["f1-score"]),
    }


def too_large_count(selection: dict) -> int:
    """How many combinations of the choice's candidates its record says are too large to ship."""
    from fer.evaluation.selection import combinations, recorded_too_large

    chosen_from = [entry for entry in read_selection()["registration"] if entry["name"] in selection["registrations"]]
    candidates = [candidate["name"] for entry in chosen_from for candidate in entry["candidates"]]
    return len(recorded_too_large(selection["too_large"], combinations(candidates)))


def fast_section(fast: dict, public: dict[str, float]) -> str:
    """The card's fast network: the fast rule's timings, then the chosen one's file and figures, or that none was."""
    return fill("fast.md", {"fast": fast, "public": public, "timing_machine": machine_summary(fast["machine"])})


def render_model_card(root: Path = PRETRAINED_RUN_DIR) -> str:
    """MODEL_CARD.md's text: its template filled with card_values."""
    return fill("model_card.md", card_values(root))


def registrations_of_candidates() -> dict[str, str]:
    """Each registered candidate's registration, by name."""
    registrations = read_selection()["registration"]
    return {candidate["name"]: entry["name"] for entry in registrations for candidate in entry["candidates"]}


def training_points(root: Path = PRETRAINED_RUN_DIR) -> list[dict]:
    """The card's figure: each candidate's PublicTest accuracy against its training hours (CPU-hours where its
    record has them, else wall-clock), and the shipped and fast choices marked (an averaged combination at its
    networks' hours summed)."""
    card = read_card(root)
    selection, runs = card["selection"], member_runs(card)
    registered_in = registrations_of_candidates()
    roles = {selection["chosen"]: "shipped", card["fast"]["chosen"]: "fast"}
    if selection["chosen"] == card["fast"]["chosen"]:
        roles[selection["chosen"]] = "shipped and fast"

    def point(name: str, networks: list[str], registration: str) -> dict:
        metrics = [runs[network][1] for network in networks]
        cpu = cpu_counted(metrics)
        seconds = sum(record["train_cpu_seconds" if cpu else "train_seconds"] for record in metrics)
        accuracy = selection["publictest_accuracy"][name]
        return {"name": name, "registration": registration, "hours": seconds / 3600, "cpu": cpu, "accuracy": accuracy}

    points = [point(name, [name], registered_in[name]) for name in runs]
    if len(selection["members"]) > 1:
        points.append(point(selection["chosen"], selection["members"], "averaged combination"))
    return [item | {"role": roles.get(item["name"])} for item in points]


def write_model_card(root: Path = PRETRAINED_RUN_DIR, path: Path = MODEL_CARD, figure: Path = TRAINING_FIGURE) -> Path:
    """MODEL_CARD.md and its figure of PublicTest accuracy against training hours."""
    plot_accuracy_against_hours(training_points(root), figure)
    write_text(path, render_model_card(root))
    return path


def readme_summary(root: Path = PRETRAINED_RUN_DIR) -> str:
    """The README's rows on the shipped models: the shipped one per test-time augmentation, the fast one single crop."""
    return fill("pretrained.md", {"card": read_card(root)})
