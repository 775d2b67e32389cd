"""Train one registration's candidate networks, one after another, exactly as Pretrained_Model/selection.toml says.

    nohup python -m scripts.train_candidates r1 --data data/fer2013 > logs/r1.out 2>&1 &

Only a committed registration is trained (its candidates are fixed before any of them is), and each run
keeps its registered config; a finished run is reused and an unfinished one resumes from its last epoch,
so the command is safe to start again after an interruption.
"""

import argparse
import sys
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registration", help="a registration's name in selection.toml, e.g. r1")
    parser.add_argument("--data", default="data/fer2013", help="the full FER-2013 (its CSV form is used)")
    args = parser.parse_args()
    if is_sample(Path(args.data)):
        sys.exit("train_candidates: candidates are trained on the full data, not the sample")
    configs = {name: config.resolved() for name, config in registered_configs(args.registration, args.data).items()}
    from fer.training.loop import train

    for name, config in configs.items():
        print(f"{name}: {config}", flush=True)
        train(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
