"""The shipped model's evaluation on the full data, and MODEL_CARD.md rendered from it and its training run."""

import hashlib
import json
from pathlib import Path

import keras

from fer.evaluation import evaluate
from fer.labels import EMOTIONS
from fer.machine import machine_summary
from fer.paths import CSV_MODEL_DIR, REPO_ROOT
from fer.report import read_metrics
from fer.splits import Splits
from fer.tta import TTA_MODES

PRETRAINED_RUN_DIR = REPO_ROOT / "Pretrained_Model"  # the shipped model's training record
MODEL_CARD = REPO_ROOT / "MODEL_CARD.md"
TTA_TITLES = {"none": "single crop", "flip": "+ horizontal flip", "ten-crop": "ten-crop (5 crops x flip)"}


def card_evaluation(model: keras.Model, data: Splits, model_file: Path) -> dict:
    """PrivateTest scores for each test-time augmentation, with 95% bootstrap intervals, and the model file's facts.

    The scores are exactly what `fer evaluate --tta MODE --intervals` prints for the shipped model.
    """
    return {
        "model_file": {
            "parameters": int(model.count_params()),
            "bytes": model_file.stat().st_size,
            "sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        },
        "split_sizes": {usage: len(split) for usage, split in data.items()},
        "training_counts": data["Training"].class_counts(),
        "private_test": {
            mode: evaluate(model, data, ("PrivateTest",), tta=mode, intervals=True)["PrivateTest"] for mode in TTA_MODES
        },
    }


def training_command(config: dict) -> str:
    """The `fer train` command that trains this config."""
    options = [f"--model {config['model']}", f"--data {config['data']}", f"--run-dir {config['run_dir']}"]
    for field in ("epochs", "batch_size", "learning_rate", "lr_schedule", "label_smoothing", "seed"):
        options.append(f"--{field.replace('_', '-')} {config[field]}")
    return "fer train " + " ".join(options)


def interval(scores: dict, metric: str) -> str:
    low, high = scores[f"{metric}_ci95"]
    return f"{scores[metric]:.4f} [{low:.4f}, {high:.4f}]"


def results_rows(card: dict, first_column: str) -> list[str]:
    """A markdown table: the shipped model per test-time augmentation, then fer_net alone, with intervals."""
    rows = [f"| {first_column} | accuracy [95% CI] | macro F1 [95% CI] | weighted F1 |", "|---|---|---|---|"]
    named = [(TTA_TITLES[mode], scores) for mode, scores in card["private_test"].items()]
    for title, scores in [*named, ("fer_net alone, single crop", card["fer_net_alone"])]:
        rows.append(
            f"| {title} | {interval(scores, 'accuracy')} | {interval(scores, 'macro_f1')} "
            f"| {scores['weighted_f1']:.4f} |"
        )
    return rows


def read_record(run_dir: Path) -> tuple[dict, dict]:
    """fer_net's metrics.json and the shipped model's evaluation.json, with the training machine filled in.

    Runs trained before metrics.json recorded the machine take the one the model was shipped on.
    """
    metrics = read_metrics(run_dir)
    card = json.loads((run_dir / "evaluation.json").read_text())
    return {**metrics, "machine": metrics.get("machine") or card["machine"]}, card


def render_model_card(run_dir: Path = PRETRAINED_RUN_DIR) -> str:
    """MODEL_CARD.md's text, from fer_net's config.json and metrics.json and the shipped model's evaluation.json."""
    config = json.loads((run_dir / "config.json").read_text())
    metrics, card = read_record(run_dir)
    sizes, model_file, private = card["split_sizes"], card["model_file"], card["private_test"]
    selection = card["selection"]
    ensemble = selection["chosen"] != "fer_net"
    single = private["none"]
    machine = metrics["machine"]
    train_minutes = {"fer_net": metrics["train_seconds"] / 60}
    if ensemble:
        train_minutes["csv_cnn"] = read_metrics(CSV_MODEL_DIR)["train_seconds"] / 60
    hours = sum(train_minutes.values()) / 60
    results = results_rows(card, "test-time augmentation")
    per_class = ["| emotion | " + " | ".join(EMOTIONS) + " |", "|---|" + "---|" * len(EMOTIONS)]
    for key, title in (("f1-score", "F1"), ("precision", "precision"), ("recall", "recall")):
        values = " | ".join(f"{single['per_class'][name][key]:.3f}" for name in EMOTIONS)
        per_class.append(f"| {title} | {values} |")
    per_class.append("| images | " + " | ".join(str(int(single["per_class"][name]["support"])) for name in EMOTIONS))
    per_class[-1] += " |"
    weakest = min(EMOTIONS, key=lambda name: single["per_class"][name]["f1-score"])
    rarest = min(EMOTIONS, key=lambda name: card["training_counts"][name])
    candidates = ", ".join(f"{name} {accuracy:.4f}" for name, accuracy in selection["publictest_accuracy"].items())
    if ensemble:
        what = (
            "The average of two CNNs' probabilities: `fer_net`, trained for this model (recipe below), and the\n"
            "CSV pipeline's CNN (`CSV_Based_Model/`; its recipe is in the README). `fer_net` takes the central\n"
            "40x40 of each face, the CSV pipeline's CNN the whole 48x48; each scales to 0..1 itself."
        )
        timing = (
            f"{train_minutes['fer_net']:.1f} min for fer_net ({metrics['timed_epochs']} epochs) on "
            f"{machine_summary(machine)}, plus {train_minutes['csv_cnn']:.1f} min for the CSV pipeline's CNN\n"
            f"  (`CSV_Based_Model/metrics.json`)"
        )
    else:
        what = "`fer_net`, a CNN trained for this model (recipe below). It takes the central 40x40 of each face."
        timing = f"{train_minutes['fer_net']:.1f} min ({metrics['timed_epochs']} epochs) on {machine_summary(machine)}"
    return f"""# Model card: the shipped model ({selection["chosen"]})

<!-- Written by scripts/ship_model.py from Pretrained_Model/ and CSV_Based_Model/; do not edit by hand. -->

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
All preprocessing is inside the model. The file is `src/fer/weights/fer_model.keras`:
{model_file["parameters"]:,} parameters, {model_file["bytes"] / 1e6:.1f} MB, sha256 `{model_file["sha256"][:16]}...`.

## Data and protocol

FER-2013, full: trained on the {sizes["Training"]:,} Training images; epochs and the model were chosen
on the {sizes["PublicTest"]:,} PublicTest images; every figure below is on the {sizes["PrivateTest"]:,}
PrivateTest images, which took no part in any choice. The shipped model was chosen by a rule fixed
before any PrivateTest figure was seen: of fer_net alone and fer_net averaged with the CSV
pipeline's CNN, the one with the higher PublicTest accuracy ({candidates}).

## Recipe (fer_net)

- Seven 3x3 convolutions in four stages of 32, 64, 128 and 256 filters, each followed by batch
  norm and ReLU (max pooling between stages), global average pooling, dropout 0.4, softmax.
- In training only: random horizontal flip, rotation up to 10 degrees, shift up to 10%, then the
  central 40x40 crop.
- Adam, learning rate {config["learning_rate"]} with {config["lr_schedule"]} decay to 0, batch {config["batch_size"]},
  label smoothing {config["label_smoothing"]}, {config["epochs"]} epochs, seed {config["seed"]}.
  The epoch kept is the one with the best PublicTest accuracy: {metrics["selected_epoch"]} of {metrics["epochs"]}.
- Training command:

  ```
  {training_command(config)}
  python scripts/ship_model.py {config["run_dir"]} --data {config["data"]}
  ```
- Training time: {timing}.
  That is {single["accuracy"] / hours:.3f} PrivateTest accuracy per hour of training on this machine.

## Results on PrivateTest (n = {single["n"]:,})

{chr(10).join(results)}

The intervals are 95% percentile-bootstrap intervals over the test images (1,000 resamples).
Ten-crop averages the centre and four corner 40x40 crops and their mirrors (made by shifting the
face 4 pixels, so the CSV pipeline's CNN sees the same shifts of the whole face).

Per class, shipped model, single crop:

{chr(10).join(per_class)}

## Check these numbers

```
fer evaluate --data data/fer2013 --split PrivateTest --tta none --intervals
fer evaluate --data data/fer2013 --split PrivateTest --tta ten-crop --intervals
```

print the same figures; `tests/test_pretrained.py` checks it on the full data. fer_net's history
of every epoch is in `Pretrained_Model/history.csv`.

## Limitations

- FER-2013 faces are 48x48 grayscale images found on the web, and its labels are noisy.
  {rarest.capitalize()} has the fewest training images ({card["training_counts"][rarest]:,}); {weakest} has
  the lowest F1 ({single["per_class"][weakest]["f1-score"]:.3f}).
- On photos, `fer predict` finds faces with OpenCV's Haar cascade, which misses turned and small
  faces; the model sees only what the detector crops. Grad-CAM (`fer.gradcam`) explains fer_net.
- An expression is not an emotion. Do not use this model for decisions about people.
"""


def write_model_card(run_dir: Path = PRETRAINED_RUN_DIR, path: Path = MODEL_CARD) -> Path:
    from fer.atomic import write_text

    write_text(path, render_model_card(run_dir))
    return path


def readme_summary(run_dir: Path = PRETRAINED_RUN_DIR) -> str:
    """The README's few lines on the shipped model, from the same files as the card."""
    metrics, card = read_record(run_dir)
    lines = results_rows(card, "PrivateTest")
    return (
        f"Shipped: **{card['selection']['chosen']}** (chosen on PublicTest).\n\n"
        + "\n".join(lines)
        + f"\n\nfer_net trained in {metrics['train_seconds'] / 60:.0f} min on "
        + f"{machine_summary(metrics['machine'])}; "
        + f"epoch {metrics['selected_epoch']} of {metrics['epochs']}, chosen on PublicTest.\n"
    )
