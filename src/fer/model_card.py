"""The shipped model's evaluation on the full data, and MODEL_CARD.md rendered from it and its training run."""

import hashlib
import json
from pathlib import Path

import keras

from fer.evaluation import evaluate
from fer.labels import EMOTIONS
from fer.machine import machine_summary
from fer.paths import REPO_ROOT
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


def render_model_card(run_dir: Path = PRETRAINED_RUN_DIR) -> str:
    """MODEL_CARD.md's text, from the run's config.json, metrics.json and evaluation.json."""
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    card = json.loads((run_dir / "evaluation.json").read_text())
    sizes, model_file, private = card["split_sizes"], card["model_file"], card["private_test"]
    public = metrics["splits"]["PublicTest"]
    single = private["none"]
    results = [
        "| test-time augmentation | accuracy [95% CI] | macro F1 [95% CI] | weighted F1 |",
        "|---|---|---|---|",
    ]
    for mode, scores in private.items():
        results.append(
            f"| {TTA_TITLES[mode]} | {interval(scores, 'accuracy')} | {interval(scores, 'macro_f1')} "
            f"| {scores['weighted_f1']:.4f} |"
        )
    per_class = ["| emotion | " + " | ".join(EMOTIONS) + " |", "|---|" + "---|" * len(EMOTIONS)]
    for key, title in (("f1-score", "F1"), ("precision", "precision"), ("recall", "recall")):
        values = " | ".join(f"{single['per_class'][name][key]:.3f}" for name in EMOTIONS)
        per_class.append(f"| {title} | {values} |")
    per_class.append("| images | " + " | ".join(str(int(single["per_class"][name]["support"])) for name in EMOTIONS))
    per_class[-1] += " |"
    machine = metrics.get("machine") or card["machine"]
    core_hours = metrics["train_seconds"] / 3600 * machine["logical_cores"]
    weakest = min(EMOTIONS, key=lambda name: single["per_class"][name]["f1-score"])
    rarest = min(EMOTIONS, key=lambda name: card["training_counts"][name])
    return f"""# Model card: fer_net

<!-- Written by scripts/ship_model.py from Pretrained_Model/; do not edit by hand. -->

The model inside the package: `fer.load_pretrained()` returns it, and `fer predict`,
`fer export` and `fer evaluate` use it unless given another model.

## Use

```python
import fer

model = fer.load_pretrained()
probabilities = model.predict(faces)  # faces: (N, 48, 48, 1) float gray values 0..255
# probabilities: (N, 7), columns in FER-2013 order: {", ".join(EMOTIONS)}
```

All preprocessing is inside the model: it takes the central 40x40 of each 48x48 face and
scales it to 0..1. The file is `src/fer/weights/fer_net.keras`: {model_file["parameters"]:,} parameters,
{model_file["bytes"] / 1e6:.1f} MB, sha256 `{model_file["sha256"][:16]}...`.

## Data and protocol

FER-2013, full: trained on the {sizes["Training"]:,} Training images; the epoch was chosen on the
{sizes["PublicTest"]:,} PublicTest images (best accuracy); every figure below is on the
{sizes["PrivateTest"]:,} PrivateTest images, which took no part in any choice.

## Recipe

- Seven 3x3 convolutions in four stages of 32, 64, 128 and 256 filters, each followed by batch
  norm and ReLU (max pooling between stages), global average pooling, dropout 0.4, softmax.
- In training only: random horizontal flip, rotation up to 10 degrees, shift up to 10%, then the
  central 40x40 crop.
- Adam, learning rate {config["learning_rate"]} with {config["lr_schedule"]} decay to 0, batch {config["batch_size"]},
  label smoothing {config["label_smoothing"]}, {config["epochs"]} epochs, seed {config["seed"]}.
- Training command:

  ```
  {training_command(config)}
  ```
- Training time: {metrics["train_seconds"] / 60:.1f} min for {metrics["timed_epochs"]} timed epochs, on
  {machine_summary(machine)}: {core_hours:.1f} core-hours, or
  {single["accuracy"] / core_hours:.3f} PrivateTest accuracy per core-hour.
- Selected epoch: {metrics["selected_epoch"]} of {metrics["epochs"]} (PublicTest accuracy {public["accuracy"]:.4f}).

## Results on PrivateTest (n = {single["n"]:,})

{chr(10).join(results)}

The intervals are 95% percentile-bootstrap intervals over the test images (1,000 resamples).
Ten-crop averages the centre and four corner 40x40 crops and their mirrors.

Per class, single crop:

{chr(10).join(per_class)}

## Check these numbers

```
fer evaluate --data data/fer2013 --split PrivateTest --tta none --intervals
fer evaluate --data data/fer2013 --split PrivateTest --tta ten-crop --intervals
```

print the same figures; `tests/test_model_card.py` checks it on the full data. The history of
every epoch is in `Pretrained_Model/history.csv`, the per-image predictions in
`Pretrained_Model/predictions.csv`.

## Limitations

- FER-2013 faces are 48x48 grayscale images found on the web, and its labels are noisy.
  {rarest.capitalize()} has the fewest training images ({card["training_counts"][rarest]:,}); {weakest} has
  the lowest F1 ({single["per_class"][weakest]["f1-score"]:.3f}).
- On photos, `fer predict` finds faces with OpenCV's Haar cascade, which misses turned and small
  faces; the model sees only what the detector crops.
- An expression is not an emotion. Do not use this model for decisions about people.
"""


def write_model_card(run_dir: Path = PRETRAINED_RUN_DIR, path: Path = MODEL_CARD) -> Path:
    from fer.atomic import write_text

    write_text(path, render_model_card(run_dir))
    return path


def readme_summary(run_dir: Path = PRETRAINED_RUN_DIR) -> str:
    """The README's few lines on the shipped model, from the same files as the card."""
    card = json.loads((run_dir / "evaluation.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    lines = ["| PrivateTest | accuracy [95% CI] | macro F1 [95% CI] | weighted F1 |", "|---|---|---|---|"]
    for mode, scores in card["private_test"].items():
        lines.append(
            f"| {TTA_TITLES[mode]} | {interval(scores, 'accuracy')} | {interval(scores, 'macro_f1')} "
            f"| {scores['weighted_f1']:.4f} |"
        )
    return (
        "\n".join(lines)
        + f"\n\nTrained in {metrics['train_seconds'] / 60:.0f} min on "
        + f"{machine_summary(metrics.get('machine') or card['machine'])}; "
        + f"epoch {metrics['selected_epoch']} of {metrics['epochs']}, chosen on PublicTest.\n"
    )
