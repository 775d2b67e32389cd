"""The shipped model's evaluation on the full data, and MODEL_CARD.md rendered from it and its members' runs."""

import dataclasses
import hashlib
import json
from pathlib import Path

import keras

from fer.data.labels import EMOTIONS
from fer.data.splits import Splits
from fer.evaluation.metrics import evaluate
from fer.evaluation.tta import TTA_MODES
from fer.models.architectures import fer_net_stages
from fer.models.pretrained import MAX_MODEL_BYTES
from fer.models.registry import model_spec
from fer.training.config import TrainConfig
from fer.training.machine import machine_summary
from fer.training.records import fully_timed, read_metrics, timing
from scripts.repository import MODEL_CARD, PRETRAINED_RUN_DIR, REPO_ROOT, SHIPPED_FILES, SHIPPED_MODEL_FILE
from scripts.selection import CHOICE_FILE, SELECTION_FILE, read_selection, registration_commit

TTA_TITLES = {"none": "single crop", "flip": "+ horizontal flip", "ten-crop": "ten-crop (5 crops x flip)"}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_evaluation(model: keras.Model, data: Splits, model_file: Path) -> dict:
    """PrivateTest scores for each test-time augmentation, with 95% bootstrap intervals, and the model file's facts.

    The scores are exactly what `fer evaluate --tta MODE --intervals` prints for the shipped model.
    """
    return {
        "model_file": {
            "parameters": int(model.count_params()),
            "bytes": model_file.stat().st_size,
            "sha256": file_sha256(model_file),
        },
        "split_sizes": {usage: len(split) for usage, split in data.items()},
        "training_counts": data["Training"].class_counts(),
        "private_test": {
            mode: evaluate(model, data, ("PrivateTest",), tta=mode, intervals=True)["PrivateTest"] for mode in TTA_MODES
        },
    }


SCHEDULE_TEXT = {
    "constant": "(constant)",
    "cosine": "with cosine decay to 0",
    "plateau": "halved after 5 epochs without a better PublicTest accuracy",
}


def optimizer_text(config: dict) -> str:
    """How a run's config.json optimized; runs from before the optimizer was configurable used Adam."""
    decay = f" and weight decay {config['weight_decay']}" if config.get("weight_decay") else ""
    mixup = f", mixup alpha {config['mixup']}" if config.get("mixup") else ""
    mixup += f", random erasing with chance {config['random_erasing']}" if config.get("random_erasing") else ""
    teacher = (
        f", distilled from {config['teacher'].replace(',', ' + ')} (teacher's weight {config['distill']})"
        if config.get("distill")
        else ""
    )
    optimizer = {"adam": "Adam", "sgd": "SGD with Nesterov momentum 0.9"}[config.get("optimizer", "adam")]
    return optimizer + decay + mixup + teacher


PLACES = ("model", "data", "run_dir")
ALWAYS_SHOWN = ("epochs", "batch_size", "learning_rate", "lr_schedule", "label_smoothing", "seed")


def training_command(config: dict) -> str:
    """The `fer train` command that trains this config."""
    defaults = dataclasses.asdict(TrainConfig())
    options = [f"--model {config['model']}", f"--data {config['data']}", f"--run-dir {config['run_dir']}"]
    for field, value in config.items():
        if field in ALWAYS_SHOWN or (field in defaults and value != defaults[field] and field not in PLACES):
            options.append(f"--{field.replace('_', '-')} {value}")
    return "fer train " + " ".join(options)


def interval(scores: dict, metric: str) -> str:
    low, high = scores[f"{metric}_ci95"]
    return f"{scores[metric]:.4f} [{low:.4f}, {high:.4f}]"


def score_row(title: str, scores: dict) -> str:
    return (
        f"| {title} | {interval(scores, 'accuracy')} | {interval(scores, 'macro_f1')} | {scores['weighted_f1']:.4f} |"
    )


SCORE_HEADER = ["accuracy [95% CI]", "macro F1 [95% CI]", "weighted F1"]


def results_rows(card: dict, first_column: str) -> list[str]:
    """A markdown table: the shipped model per test-time augmentation, then each candidate member alone."""
    rows = tta_rows(first_column, card["private_test"])
    rows += [
        score_row(f"{name} alone, single crop", member["private_test"]) for name, member in card["members"].items()
    ]
    return rows


def tta_rows(first_column: str, private_test: dict) -> list[str]:
    """A markdown table's header and one row per test-time augmentation."""
    rows = ["| " + " | ".join([first_column, *SCORE_HEADER]) + " |", "|---|---|---|---|"]
    return rows + [score_row(TTA_TITLES[mode], scores) for mode, scores in private_test.items()]


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def cpu_counted(metrics: dict) -> bool:
    """Whether a run's CPU time counts every epoch (runs from before it was counted have none)."""
    return metrics.get("cpu_timed_epochs") == metrics["epochs"]


def cpu_time(metrics: dict) -> str:
    return hours(metrics["train_cpu_seconds"]) if cpu_counted(metrics) else "not recorded"


def machines_text(metrics: dict) -> str:
    """Where a run trained: one machine, or how many epochs on each where it resumed on others."""
    by_machine = metrics.get("epochs_by_machine") or {}
    if not by_machine:
        return machine_summary(metrics["machine"]) if metrics["machine"] else "a machine not recorded"
    unrecorded = max(0, metrics["epochs"] - sum(by_machine.values()))
    if len(by_machine) == 1 and not unrecorded:
        return next(iter(by_machine))
    parts = [f"{epochs} epochs on {machine}" for machine, epochs in by_machine.items()]
    return "; ".join(parts + [f"{unrecorded} epochs on a machine not recorded"] * bool(unrecorded))


def registered_in() -> dict[str, str]:
    """Each candidate's registration."""
    return {
        candidate["name"]: entry["name"]
        for entry in read_selection()["registration"]
        for candidate in entry["candidates"]
    }


def candidate_rows(card: dict, runs: dict[str, tuple[dict, dict]]) -> list[str]:
    """A markdown table of every candidate network: its registration, PublicTest accuracy alone as scored for the
    selection, the epoch kept, and what its training took."""
    registrations = registered_in()
    public = card["selection"]["publictest_accuracy"]
    rows = [
        "| candidate | registration | network | PublicTest accuracy | epoch kept, of | training time | CPU time |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (config, metrics) in runs.items():
        accuracy = f"{public[name]:.4f}" if name in public else "too large"
        wall = hours(metrics["train_seconds"]) + ("" if fully_timed(metrics) else " (not every epoch timed)")
        rows.append(
            f"| {name} | {registrations[name]} | {model_spec(config['model']).title} | {accuracy} "
            f"| {metrics['selected_epoch']} of {metrics['epochs']} | {wall} | {cpu_time(metrics)} |"
        )
    return rows


def best_combination_rows(public: dict[str, float], runs: dict[str, tuple[dict, dict]]) -> list[str]:
    """A markdown table: for each number of networks averaged, the combination with the best PublicTest accuracy
    (the first in registration order on a tie, as the rule breaks them), and what training its networks took."""
    best: dict[int, str] = {}
    for name, accuracy in public.items():
        size = name.count(" + ") + 1
        if size not in best or accuracy > public[best[size]]:
            best[size] = name
    rows = [
        "| networks averaged | best combination | PublicTest accuracy | its networks' training time | CPU time |",
        "|---|---|---|---|---|",
    ]
    for size, name in sorted(best.items()):
        metrics = [runs[member][1] for member in name.split(" + ")]
        wall = hours(sum(run["train_seconds"] for run in metrics))
        wall += "" if all(fully_timed(run) for run in metrics) else " (not every epoch timed)"
        counted = all(cpu_counted(run) for run in metrics)
        cpu = hours(sum(run["train_cpu_seconds"] for run in metrics)) if counted else "not recorded"
        rows.append(f"| {size} | {name} | {public[name]:.4f} | {wall} | {cpu} |")
    return rows


def read_selection_history(root: Path = PRETRAINED_RUN_DIR) -> list[dict]:
    """The earlier selection rules, oldest first, each with its commit and what it shipped."""
    return json.loads((root / "selection_history.json").read_text())


def selection_history_rows(history: list[dict]) -> list[str]:
    """A markdown table of the rule's changes, with the PrivateTest figures already public at each."""
    rows = [
        "| commit | change to the rule | shipped PrivateTest figures public before it | shipped after it (commit) |",
        "|---|---|---|---|",
    ]
    public: dict[str, float] = {}
    for step in history:
        before = ", ".join(f"{name} {value:.4f}" for name, value in public.items()) or "none"
        shipped = f"{step['shipped']}, {step['shipped_private_test_accuracy']:.4f}"
        shipped += f" ({step['shipped_in']})" if step["shipped_in"] else " (not re-shipped)"
        rows.append(f"| {step['commit']} | {step['change']} | {before} | {shipped} |")
        public[step["shipped"]] = step["shipped_private_test_accuracy"]
    return rows


def registration_lines(registrations: list[dict], selected_from: list[str]) -> list[str]:
    """One line per registration: its candidates, the commit that added it, whether it came before training,
    and whether the shipped model was chosen from it."""
    lines = []
    for entry in registrations:
        names = ", ".join(candidate["name"] for candidate in entry["candidates"])
        timing = (
            "registered before its candidates were trained"
            if entry["pre_registered"]
            else "written down after the fact, when PrivateTest figures were already public (the history below)"
        )
        commit = registration_commit(entry["name"]) or "not committed"
        status = "" if entry["name"] in selected_from else " Not yet selected from: the shipped model predates it"
        lines.append(f"- `{entry['name']}` (commit {commit}): {names}; {timing}.{status and status + '.'}")
    return lines


def choice_commit_line(selection: dict) -> str:
    """Where the choice was committed before PrivateTest was scored; empty for a choice from before that step."""
    if "commit" not in selection:
        return ""
    fresh = ", ".join(f"`{name}`" for name in selection["new_registrations"])
    return (
        f"\nThe choice was committed in {selection['commit']} (`{CHOICE_FILE.relative_to(REPO_ROOT)}`, with every "
        f"PublicTest figure it rests on) when no record of a candidate of {fresh} held a PrivateTest figure; "
        "`report` scored them after it.\n"
    )


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


def training_machine(metrics: dict, member: dict | None, card: dict) -> dict | None:
    """Where a card's member network trained: its metrics.json's machine; for a run from before metrics.json
    recorded it, the one the card carries for it or, on cards from before they carried it, the card's own (where
    those runs were trained and shipped); None for a network the card does not know."""
    if metrics.get("machine"):
        return metrics["machine"]
    if member is None:
        return None
    return member.get("training_machine", card["machine"])


def member_runs(card: dict) -> dict[str, tuple[dict, dict]]:
    """Each candidate member's config.json and metrics.json, with the training machine filled in."""
    runs = {}
    for name, member in card["members"].items():
        record = REPO_ROOT / member["record"]
        metrics = read_metrics(record)
        config = json.loads((record / "config.json").read_text())
        runs[name] = (config, {**metrics, "machine": training_machine(metrics, member, card)})
    return runs


def is_fer_net(config: dict) -> bool:
    """Whether a run trained fer_net or one of its widths."""
    return model_spec(config["model"]).builder == "build_fer_net"


def member_description(name: str, config: dict, record: str) -> str:
    title = model_spec(config["model"]).title
    if is_fer_net(config):
        return f"`{name}`: {title} (recipe below), seed {config['seed']}; it takes the central 40x40"
    return f"`{name}`: the {title}'s CNN (`{record}/`; its recipe is in the README); it takes the whole 48x48"


def training_time(name: str, metrics: dict) -> str:
    return f"{name}: {timing(metrics)} ({metrics['epochs']} epochs) on {machines_text(metrics)}"


def recipe_line(name: str, config: dict, metrics: dict, record: str) -> str:
    """One fer_net-class run's whole recipe and the epoch kept."""
    return (
        f"`{name}`: {model_spec(config['model']).title}; {optimizer_text(config)}, learning rate "
        f"{config['learning_rate']} {SCHEDULE_TEXT[config.get('lr_schedule', 'constant')]}, batch "
        f"{config['batch_size']}, label smoothing {config['label_smoothing']}; seed {config['seed']}, "
        f"{config['epochs']} epochs, epoch {metrics['selected_epoch']} kept. Record: `{record}/`"
    )


def architecture_text(configs: list[dict]) -> str:
    """fer_net's layers, with the filters of every width the runs used."""
    widths = sorted({model_spec(config["model"]).width for config in configs}, reverse=True)
    filters = [
        ", ".join(str(count) for count, _ in fer_net_stages(width)[:-1])
        + f" and {fer_net_stages(width)[-1][0]} filters"
        + ("" if width == 1 else f" at {width:g} width")
        for width in widths
    ]
    return (
        f"Seven 3x3 convolutions in four stages of {'; or '.join(filters)}, each followed by batch\n"
        "  norm and ReLU (max pooling between stages), global average pooling, dropout 0.4, softmax."
    )


def fast_section(card: dict) -> str:
    """The fast network: how the fast rule timed the candidates against the fer package, what it chose, and the
    chosen network's PrivateTest figures (computed after the choice); empty for a card from before the rule."""
    fast = card.get("fast")
    if fast is None:
        return ""
    public = card["selection"]["publictest_accuracy"]
    timings = [
        "| network | ms per face, batched | ms per face, single calls | PublicTest accuracy |",
        "|---|---|---|---|",
    ]
    for name, (batched, single) in fast["ms_per_face"].items():
        accuracy = f"{public[name]:.4f}" if name in public else "too large"
        timings.append(f"| {name} | {batched:.3f} | {single:.3f} | {accuracy} |")
    batched, single = fast["fer_package_ms_per_face"]
    timings.append(f"| the fer package ({fast['wheel']}) | {batched:.3f} | {single:.3f} | |")
    timed = (
        "The fast rule in `Pretrained_Model/selection.toml` takes, of the candidate networks no slower per face than "
        "the fer package's model, batched and in single-face calls, the one with the highest PublicTest accuracy. "
        f"They were timed side by side on PublicTest faces on {machine_summary(fast['machine'])}:\n\n"
        + "\n".join(timings)
    )
    if fast["chosen"] is None:
        return (
            f"## The fast network\n\n{timed}\n\nNo candidate network was that fast, so none is shipped: "
            '`fer.load_pretrained("fast")` and `fer predict --model fast` say this installation has none.\n\n'
        )
    model_file = fast["model_file"]
    rows = tta_rows("test-time augmentation", fast["private_test"])
    return f"""## The fast network ({fast["chosen"]})

`fer.load_pretrained("fast")` and `fer predict --model fast` use it: {model_file["parameters"]:,} parameters,
{model_file["bytes"] / 1e6:.1f} MB, sha256 `{model_file["sha256"][:16]}...`, weights in float16 as above.

{timed}

On PrivateTest (n = {fast["private_test"]["none"]["n"]:,}), computed after the choice:

{chr(10).join(rows)}

"""


def calibration_text(root: Path) -> str:
    """The card's calibration section, where the calibration report exists."""
    from scripts.calibration import card_section

    report = root / "calibration.json"
    return card_section(json.loads(report.read_text())) + "\n" if report.is_file() else ""


def render_model_card(root: Path = PRETRAINED_RUN_DIR) -> str:
    """MODEL_CARD.md's text, from the shipped model's evaluation.json and its members' run records."""
    card = read_card(root)
    runs = member_runs(card)
    sizes, model_file, private = card["split_sizes"], card["model_file"], card["private_test"]
    selection = card["selection"]
    shipped = selection["members"]
    single = private["none"]
    shipped_hours = sum(runs[name][1]["train_seconds"] for name in shipped) / 3600
    fer_nets = [name for name, (config, _) in runs.items() if is_fer_net(config)]
    first_recipe = runs[fer_nets[0]][0]
    results = results_rows(card, "test-time augmentation")
    per_class = ["| emotion | " + " | ".join(EMOTIONS) + " |", "|---|" + "---|" * len(EMOTIONS)]
    for key, title in (("f1-score", "F1"), ("precision", "precision"), ("recall", "recall")):
        values = " | ".join(f"{single['per_class'][name][key]:.3f}" for name in EMOTIONS)
        per_class.append(f"| {title} | {values} |")
    per_class.append("| images | " + " | ".join(str(int(single["per_class"][name]["support"])) for name in EMOTIONS))
    per_class[-1] += " |"
    history = selection_history_rows(read_selection_history(root))
    registrations = registration_lines(read_selection()["registration"], selection["registrations"])
    max_megabytes = MAX_MODEL_BYTES / 1e6
    shipped_file = SHIPPED_MODEL_FILE.relative_to(REPO_ROOT)
    weakest = min(EMOTIONS, key=lambda name: single["per_class"][name]["f1-score"])
    rarest = min(EMOTIONS, key=lambda name: card["training_counts"][name])
    oversized = len(selection["too_large"])
    too_large = f"; {oversized} combination{' is' if oversized == 1 else 's are'} too large" if oversized else ""
    described = [member_description(name, runs[name][0], card["members"][name]["record"]) for name in shipped]
    if len(shipped) == 1:
        what = described[0][0].upper() + described[0][1:] + "."
    else:
        what = f"The average of {len(shipped)} CNNs' probabilities:\n\n" + "\n".join(f"- {line}." for line in described)
    fer_net_runs = "\n".join(
        f"  - {recipe_line(name, *runs[name], card['members'][name]['record'])}." for name in fer_nets
    )
    commands = "\n  ".join(training_command(runs[name][0]) for name in fer_nets)
    wheel = f" --fer-wheel ferpkg/{card['fast']['wheel']}" if "fast" in card else ""
    data = f"--data {first_recipe['data']}"
    committed = f"{CHOICE_FILE.relative_to(REPO_ROOT)} {SHIPPED_MODEL_FILE.parent.relative_to(REPO_ROOT)}"
    two_steps = [
        f"python -m scripts.ship_model choose {data}{wheel}",
        f"git add {committed} && git commit",
        f"python -m scripts.ship_model report {data}",
    ]
    # a model chosen before choices were committed was chosen and scored by one command, as its commit ran it
    ship_commands = "\n  ".join(two_steps if "commit" in selection else [f"python -m scripts.ship_model {data}"])
    distilled = any(config.get("teacher") for config, _ in runs.values())
    teachers_left_out = "; a distilled network's time leaves out its teachers'" if distilled else ""
    recorded = "" if all(fully_timed(runs[name][1]) for name in shipped) else "recorded (not every epoch was timed) "
    timings = "\n".join(f"- {training_time(name, runs[name][1])}" for name in runs)
    after_the_fact = ", ".join(
        f"`{entry['name']}`" for entry in read_selection()["registration"] if not entry["pre_registered"]
    )
    shipped_distilled = any(runs[name][0].get("teacher") for name in shipped)
    shipped_teachers = " (leaving out the training of its distilled networks' teachers that are not shipped with them)"
    shipped_teachers = shipped_teachers if shipped_distilled else ""
    return f"""# Model card: the shipped model ({selection["chosen"]})

<!-- Written by scripts/ship_model.py from Pretrained_Model/ and its members' run records; do not edit by hand. -->

The model inside the package: `fer.load_pretrained()` returns it, and `fer predict`,
`fer export` and `fer evaluate` use it unless given another model.

## Use

```python
import fer

model = fer.load_pretrained()
probabilities = model.predict(faces)  # faces: (N, 48, 48, 1) float gray values 0..255
# probabilities: (N, 7), columns in FER-2013 order: {", ".join(EMOTIONS)}
```

{what}

All preprocessing is inside the model; each network scales to 0..1 itself. The file is
`{shipped_file}`: {model_file["parameters"]:,} parameters, {model_file["bytes"] / 1e6:.1f} MB,
sha256 `{model_file["sha256"][:16]}...`. It stores the weights in float16 (the softmax layers'
in float32) so that more networks fit in {max_megabytes:g} MB; `fer.load_pretrained()` computes in float32 with them.
The "alone" rows below are each network's own training run, with float32 weights.

## Data and protocol

FER-2013, full: trained on the {sizes["Training"]:,} Training images; epochs and the model were chosen
on the {sizes["PublicTest"]:,} PublicTest images; every accuracy and F1 figure below is on the
{sizes["PrivateTest"]:,} PrivateTest images unless it says PublicTest. The shipped model is the one this rule
picks: of the candidate networks, alone or with their probabilities averaged, in every combination whose file
fits in {max_megabytes:g} MB, the one with the highest PublicTest accuracy (the tables below{too_large};
`Pretrained_Model/evaluation.json` holds every combination's figure).

The rule and the candidate runs are written in `{SELECTION_FILE.relative_to(REPO_ROOT)}`, the only file
`scripts/ship_model.py` reads; a registration is committed before its candidates are trained, and a
PrivateTest figure is computed only after the choice:

{chr(10).join(registrations)}
{choice_commit_line(selection)}
That rule was not fixed before any PrivateTest figure was seen. It grew in steps, and each step was
made while PrivateTest figures were already public: each candidate network of {after_the_fact} had its own
PrivateTest figure in its run record from the commit that added it, and each shipped model's was in this card.
As the git log shows it:

{chr(10).join(history)}

PrivateTest took no part in any single choice, but the widening of the candidate set after those
figures were public may have favoured it, so read the figures below as possibly optimistic.

## Candidates

Each candidate network alone, on PublicTest with its weights in float16 as shipped (the epoch kept is the
one with the best PublicTest accuracy; CPU time is this process's, whatever else shared the machine):

{chr(10).join(candidate_rows(card, runs))}

The best combination of each size that fits in the size limit, its networks' probabilities averaged, and what
training its networks took (accuracy against training time{teachers_left_out}):

{chr(10).join(best_combination_rows(selection["publictest_accuracy"], runs))}

## Recipes (fer_net)

- {architecture_text([runs[name][0] for name in fer_nets])}
- In training only: random horizontal flip, rotation up to 10 degrees, shift up to 10%, then the
  central 40x40 crop.
- Each run's recipe:
{fer_net_runs}
- Training commands:

  ```
  {commands}
  {ship_commands}
  ```

Training time of each candidate network:

{timings}

The shipped model's networks took {shipped_hours:.2f} h of {recorded}training: {single["accuracy"] / shipped_hours:.3f}
PrivateTest accuracy per hour{shipped_teachers}.

## Results on PrivateTest (n = {single["n"]:,})

{chr(10).join(results)}

The intervals are 95% percentile-bootstrap intervals over the test images (1,000 resamples).
Ten-crop averages the centre and four corner 40x40 crops and their mirrors (made by shifting the
face 4 pixels, so a network that takes the whole 48x48 sees the same shifts of the whole face).

Per class, shipped model, single crop:

{chr(10).join(per_class)}

{fast_section(card)}{calibration_text(root)}## Check these numbers

```
fer evaluate --data data/fer2013 --split PrivateTest --tta none --intervals
fer evaluate --data data/fer2013 --split PrivateTest --tta ten-crop --intervals
```

print the same figures; `tests/test_pretrained.py` checks it on the full data. Each run's
history of every epoch is in its record's `history.csv`.

## Limitations

- FER-2013 faces are 48x48 grayscale images found on the web, and its labels are noisy.
  {rarest.capitalize()} has the fewest training images ({card["training_counts"][rarest]:,}); {weakest} has
  the lowest F1 ({single["per_class"][weakest]["f1-score"]:.3f}).
- On photos, `fer predict` finds faces with OpenCV's Haar cascade, which misses turned and small
  faces; the model sees only what the detector crops. Grad-CAM (`fer.inference.gradcam`) explains the
  first network ({shipped[0]}).
- An expression is not an emotion. Do not use this model for decisions about people.
"""


def write_model_card(root: Path = PRETRAINED_RUN_DIR, path: Path = MODEL_CARD) -> Path:
    from fer.atomic import write_text

    write_text(path, render_model_card(root))
    return path


def readme_summary(root: Path = PRETRAINED_RUN_DIR) -> str:
    """The README's rows on the shipped models: the shipped one per test-time augmentation, the fast one single crop."""
    card = read_card(root)
    rows = ["| " + " | ".join(["PrivateTest", *SCORE_HEADER]) + " |", "|---|---|---|---|"]
    rows += [score_row(f"shipped, {TTA_TITLES[mode]}", scores) for mode, scores in card["private_test"].items()]
    fast = card.get("fast") or {"chosen": None}
    if fast["chosen"]:
        rows.append(score_row(f"fast, {TTA_TITLES['none']}", fast["private_test"]["none"]))
    fast_name = f"; fast: **{fast['chosen']}**, one network" if fast["chosen"] else ""
    return (
        f"Shipped: **{card['selection']['chosen']}**{fast_name} (both chosen on PublicTest).\n\n"
        + "\n".join(rows)
        + "\n"
    )
