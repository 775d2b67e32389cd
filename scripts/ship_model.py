"""Ship a finished fer_net run: the chosen model into the package, fer_net's record into Pretrained_Model/, the card.

    python scripts/ship_model.py runs/fer_net --data data/fer2013

The choice, fixed before any PrivateTest figure was seen: fer_net alone, or fer_net averaged with
the CSV pipeline's CNN (CSV_Based_Model/), whichever has the higher PublicTest accuracy. The card's
figures come from evaluating the shipped file on the full data, as `fer evaluate` does.
"""

import argparse
import shutil
import sys
from pathlib import Path

from fer.atomic import write_json
from fer.datasets import load_data
from fer.evaluation import evaluate
from fer.machine import describe_machine
from fer.model_card import PRETRAINED_RUN_DIR, card_evaluation, readme_summary, write_model_card
from fer.model_files import load_model, save_model
from fer.models import build_ensemble
from fer.paths import CSV_MODEL_DIR, REPO_ROOT, is_sample
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

    data = load_data(args.data, form="csv")
    fer_net = load_model(args.run_dir)
    candidates = {"fer_net": fer_net, "fer_net + csv_cnn": build_ensemble([fer_net, load_model(CSV_MODEL_DIR)])}
    public = {
        name: evaluate(model, data, ("PublicTest",))["PublicTest"]["accuracy"] for name, model in candidates.items()
    }
    chosen = max(public, key=public.get)
    print(f"PublicTest accuracy: {public}; shipping {chosen}")
    save_model(candidates[chosen], REPO_ROOT.joinpath("src", "fer", *PRETRAINED_FILE))

    PRETRAINED_RUN_DIR.mkdir(exist_ok=True)
    for name in RECORD_FILES:
        shutil.copyfile(args.run_dir / name, PRETRAINED_RUN_DIR / name)
    write_figures(PRETRAINED_RUN_DIR)
    evaluation = card_evaluation(load_pretrained(), data, pretrained_path())
    evaluation["selection"] = {"publictest_accuracy": public, "chosen": chosen}
    evaluation["fer_net_alone"] = evaluate(fer_net, data, ("PrivateTest",), intervals=True)["PrivateTest"]
    evaluation["machine"] = describe_machine()
    write_json(PRETRAINED_RUN_DIR / "evaluation.json", evaluation)
    print(f"wrote {write_model_card()}")
    update_readme(REPO_ROOT / "README.md", readme_summary(), section="pretrained")
    print(readme_summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
