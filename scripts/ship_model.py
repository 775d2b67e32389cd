"""Ship a finished fer_net run: its model into the package, its record into Pretrained_Model/, and MODEL_CARD.md.

    python scripts/ship_model.py runs/fer_net --data data/fer2013

The card's figures come from evaluating the shipped file on the full data, as `fer evaluate` does.
"""

import argparse
import shutil
import sys
from pathlib import Path

from fer.atomic import write_bytes, write_json
from fer.datasets import load_data
from fer.machine import describe_machine
from fer.model_card import PRETRAINED_RUN_DIR, card_evaluation, readme_summary, write_model_card
from fer.paths import REPO_ROOT, is_sample
from fer.pretrained import PRETRAINED_FILE, load_pretrained, pretrained_path
from fer.report import read_metrics, write_figures
from fer.results import update_readme

RECORD_FILES = ("config.json", "history.csv", "metrics.json", "predictions.csv", "classification_report.txt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished `fer train --model fer_net` run directory")
    parser.add_argument("--data", type=Path, default=Path("data/fer2013"), help="the full FER-2013 (either form)")
    args = parser.parse_args()
    if not (args.run_dir / "metrics.json").is_file():
        sys.exit(f"ship_model: {args.run_dir} holds no finished run (no metrics.json)")
    if read_metrics(args.run_dir)["data_is_sample"] or is_sample(args.data):
        sys.exit("ship_model: a model trained or evaluated on the sample is not shipped; use the full data")

    write_bytes(REPO_ROOT.joinpath("src", "fer", *PRETRAINED_FILE), (args.run_dir / "model.keras").read_bytes())
    PRETRAINED_RUN_DIR.mkdir(exist_ok=True)
    for name in RECORD_FILES:
        shutil.copyfile(args.run_dir / name, PRETRAINED_RUN_DIR / name)
    write_figures(PRETRAINED_RUN_DIR)
    evaluation = card_evaluation(load_pretrained(), load_data(args.data, form="csv"), pretrained_path())
    write_json(PRETRAINED_RUN_DIR / "evaluation.json", evaluation | {"machine": describe_machine()})
    print(f"wrote {write_model_card()}")
    update_readme(REPO_ROOT / "README.md", readme_summary(), section="pretrained")
    print(readme_summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
