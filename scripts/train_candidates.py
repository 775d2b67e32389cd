"""Train registrations' candidate networks, one after another, exactly as Pretrained_Model/selection.toml says.

    nohup python -m scripts.train_candidates r1 r2 --data data/fer2013 > logs/training.out 2>&1 &

trains r1's candidates, then r2's (whose teacher may be r1's runs).

Only a committed registration is trained (its candidates are fixed before any of them is), and each run
keeps its registered config; a finished run is reused and an unfinished one resumes from its last epoch,
so the command is safe to start again after an interruption. Each run holds PrivateTest out (it is scored on
PublicTest alone) until scripts/ship_model.py has made the selection.

    python -m scripts.train_candidates r1 r2 --progress

prints how far each candidate has got (epochs, best PublicTest accuracy so far, CPU-hours), and nothing of
PrivateTest.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from fer.data.locations import is_sample
from fer.models.registry import model_spec
from fer.training.config import TrainConfig, teacher_paths
from fer.training.records import read_metrics, run_progress
from scripts.repository import PRETRAINED_RUN_DIR, shown
from scripts.selection import checkout_folder, read_selection, registered_candidates, scored_on_private_test


def registered_configs(registrations: list[str], data: str) -> dict[str, TrainConfig]:
    """The committed registrations' candidates, name to the TrainConfig that trains it in this checkout."""
    configs = {}
    for name, (run_dir, config) in registered_candidates(registrations).items():
        if config is None:
            raise SystemExit(f"candidate {name} is registered as a run, not as a config to train")
        config = TrainConfig(**config, data=data, run_dir=str(run_dir))
        teacher = ",".join(str(checkout_folder(path)) for path in teacher_paths(config.teacher))
        configs[name] = dataclasses.replace(config, teacher=teacher)
    return configs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registrations", nargs="+", help="registrations' names in selection.toml, in order, e.g. r1 r2")
    parser.add_argument("--data", default="data/fer2013", help="the full FER-2013 (its CSV form is used)")
    parser.add_argument("--progress", action="store_true", help="print how far each candidate has got, then stop")
    args = parser.parse_args()
    if is_sample(Path(args.data)):
        sys.exit("train_candidates: candidates are trained on the full data, not the sample")
    registered = [entry["name"] for entry in read_selection()["registration"]]
    unknown = [name for name in args.registrations if name not in registered]
    if unknown:
        sys.exit(f"train_candidates: no registration {', '.join(unknown)} (registered: {', '.join(registered)})")
    in_order = [name for name in registered if name in args.registrations]
    if args.registrations != in_order:
        sys.exit(f"train_candidates: give registrations once each, in the order registered ({', '.join(in_order)})")
    try:
        configs = registered_configs(args.registrations, args.data)
    except SystemExit as refusal:
        sys.exit(f"train_candidates: {refusal}")
    if args.progress:
        runs = [(Path(config.run_dir), config.epochs or model_spec(config.model).epochs) for config in configs.values()]
        lines, cpu_seconds = zip(*(run_progress(run_dir, epochs) for run_dir, epochs in runs))
        print("\n".join(lines) + f"\nin all: {sum(cpu_seconds) / 3600:.2f} CPU-hours")
        return 0
    from fer.training.loop import train

    for name, config in configs.items():
        run_dir = Path(config.run_dir)
        if run_dir.is_relative_to(PRETRAINED_RUN_DIR):
            print(f"{name}: finished, chosen from and published in {shown(run_dir)}", flush=True)
            continue
        if (run_dir / "metrics.json").is_file() and scored_on_private_test(read_metrics(run_dir)):
            sys.exit(f"train_candidates: {name}: {config.run_dir} was scored on PrivateTest before the selection")
        # resolved only now: a teacher may be an earlier candidate of this registration
        print(f"{name}: {config.resolved()}", flush=True)
        train(config, private_test=False)  # scored on PrivateTest by ship_model, after the selection
    return 0


if __name__ == "__main__":
    sys.exit(main())
