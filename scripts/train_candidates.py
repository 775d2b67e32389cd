"""Train one registration's candidate networks, one after another, exactly as Pretrained_Model/selection.toml says.

    nohup python -m scripts.train_candidates r1 --data data/fer2013 > logs/r1.out 2>&1 &

Only a committed registration is trained (its candidates are fixed before any of them is), and each run
keeps its registered config; a finished run is reused and an unfinished one resumes from its last epoch,
so the command is safe to start again after an interruption. Each run holds PrivateTest out (it is scored on
PublicTest alone) until scripts/ship_model.py has made the selection.

    python -m scripts.train_candidates r1 --progress

prints how far each candidate has got (epochs, best PublicTest accuracy so far, CPU-hours), and nothing of
PrivateTest.
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from fer.data.locations import is_sample
from fer.training.config import TrainConfig
from scripts.repository import REPO_ROOT
from scripts.selection import committed_registration


def registered_configs(registration: str, data: str) -> dict[str, TrainConfig]:
    """The committed registration's candidates, name to the TrainConfig that trains it."""
    entry = committed_registration(registration)
    if not all("config" in candidate for candidate in entry["candidates"]):
        sys.exit(f"train_candidates: registration {registration} names runs, not configs to train")
    return {
        candidate["name"]: TrainConfig(**candidate["config"], data=data, run_dir=str(REPO_ROOT / candidate["run"]))
        for candidate in entry["candidates"]
    }


def progress(run_dir: Path, epochs: int) -> tuple[str, float]:
    """One line on how far a run has got, from its log or history (PublicTest only), and its CPU seconds so far."""
    finished = (run_dir / "metrics.json").is_file()
    log = run_dir / ("history.csv" if finished else "training_log.csv")
    history = pd.read_csv(log) if log.is_file() and log.stat().st_size else pd.DataFrame()
    if finished:
        cpu_seconds = json.loads((run_dir / "metrics.json").read_text()).get("train_cpu_seconds", 0.0)
    elif (run_dir / "training_clock.json").is_file():
        cpu_seconds = json.loads((run_dir / "training_clock.json").read_text()).get("cpu_seconds", 0.0)
    else:
        cpu_seconds = 0.0
    line = f"{run_dir.name}: {len(history)} of {epochs} epochs" + (", finished" if finished else "")
    if len(history):
        best = history["val_accuracy"].idxmax()
        line += f", best PublicTest accuracy {history['val_accuracy'][best]:.4f} (epoch {history['epoch'][best] + 1})"
    return line + f", {cpu_seconds / 3600:.2f} CPU-hours", cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registration", help="a registration's name in selection.toml, e.g. r1")
    parser.add_argument("--data", default="data/fer2013", help="the full FER-2013 (its CSV form is used)")
    parser.add_argument("--progress", action="store_true", help="print how far each candidate has got, then stop")
    args = parser.parse_args()
    if is_sample(Path(args.data)):
        sys.exit("train_candidates: candidates are trained on the full data, not the sample")
    configs = {name: config.resolved() for name, config in registered_configs(args.registration, args.data).items()}
    if args.progress:
        lines, cpu_seconds = zip(*(progress(Path(config.run_dir), config.epochs) for config in configs.values()))
        print("\n".join(lines) + f"\nin all: {sum(cpu_seconds) / 3600:.2f} CPU-hours")
        return 0
    from fer.training.loop import train

    for name, config in configs.items():
        print(f"{name}: {config}", flush=True)
        train(config, private_test=False)  # scored on PrivateTest by ship_model, after the selection
    return 0


if __name__ == "__main__":
    sys.exit(main())
