"""Calibration (issue 27): the measures on probabilities built to have known answers, the shipped files' temperature
scaling against its fitted record, the order of the commits, and fer predict --min-confidence on the sample."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

import fer
from fer.cli import main
from fer.data.labels import EMOTIONS
from fer.errors import DataError
from fer.evaluation.calibration import (
    brier_score,
    classwise_calibration_error,
    confidence_threshold,
    coverage,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    measure_calibration,
    negative_log_likelihood,
    temperature_scaled,
)
from fer.inference.runtime import batched_probabilities
from fer.models.pretrained import PRETRAINED_FILES, load_pretrained, temperatures

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PHOTOS = sorted((REPO_ROOT / "data" / "sample" / "test").glob("*/*.jpg"))


def drawn_labels(probabilities: np.ndarray, seed: int = 0) -> np.ndarray:
    """One label per row, drawn from the row's probabilities: labels for which the probabilities are calibrated."""
    rng = np.random.default_rng(seed)
    cumulative = probabilities.cumsum(axis=1)
    return (rng.uniform(size=(len(probabilities), 1)) > cumulative).sum(axis=1).clip(0, len(EMOTIONS) - 1)


@pytest.mark.parametrize("top_class_right", [True, False])
def test_fit_temperature_refuses_faces_whose_nll_has_no_optimum_in_its_range(top_class_right):
    probabilities = softmax(np.random.default_rng(0).normal(size=(50, 7)) * 3, axis=1)
    top, least_likely = probabilities.argmax(1), probabilities.argmin(1)
    with pytest.raises(ValueError, match="no temperature in .* minimises the NLL of these 50 faces"):
        fit_temperature(probabilities, top if top_class_right else least_likely)


def test_fit_temperature_recovers_the_temperature_that_made_probabilities_overconfident():
    logits = np.random.default_rng(1).normal(scale=2.0, size=(20_000, len(EMOTIONS)))
    labels = drawn_labels(softmax(logits, axis=1))
    overconfident = softmax(logits * 2.5, axis=1)  # what a temperature of 2.5 would undo
    assert fit_temperature(overconfident, labels) == pytest.approx(2.5, rel=0.05)
    assert fit_temperature(softmax(logits, axis=1), labels) == pytest.approx(1.0, abs=0.05)
    fitted = temperature_scaled(overconfident, fit_temperature(overconfident, labels))
    assert negative_log_likelihood(fitted, labels) < negative_log_likelihood(overconfident, labels)
    assert expected_calibration_error(fitted, labels) < expected_calibration_error(overconfident, labels) / 3


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 10))
def test_temperature_scaling_keeps_every_argmax_and_sums_to_one(seed, temperature):
    probabilities = softmax(np.random.default_rng(seed).normal(scale=3, size=(50, len(EMOTIONS))), axis=1)
    scaled = temperature_scaled(probabilities, temperature)
    np.testing.assert_array_equal(scaled.argmax(1), probabilities.argmax(1))
    np.testing.assert_allclose(scaled.sum(1), 1, atol=1e-9)


def test_calibration_errors_of_constructed_cases():
    # Every face 0.7 sure of its top label, right on exactly 7 in 10: calibrated, top-label ECE 0.
    probabilities = np.full((1000, len(EMOTIONS)), 0.05)
    probabilities[:, 0] = 0.7
    labels = np.where(np.arange(1000) % 10 < 7, 0, 1)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0, abs=1e-12)
    # Sure (1.0) and always wrong: ECE 1, Brier 2; sure and always right: 0 and 0.
    one_hot = np.eye(len(EMOTIONS))[np.zeros(100, int)]
    assert expected_calibration_error(one_hot, np.ones(100, int)) == pytest.approx(1)
    assert brier_score(one_hot, np.ones(100, int)) == pytest.approx(2)
    assert brier_score(one_hot, np.zeros(100, int)) == 0
    # Classwise: class 0 said at 0.7 and true 7 in 10; each other class said at 0.05 and class 1 true 3 in 10.
    expected = (0 + abs(0.3 - 0.05) + 5 * 0.05) / len(EMOTIONS)
    assert classwise_calibration_error(probabilities, labels) == pytest.approx(expected)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.7, 0.8, 0.9]))
def test_the_threshold_is_the_lowest_at_which_the_faces_answered_reach_the_target(seed, target):
    rng = np.random.default_rng(seed)
    probabilities = softmax(rng.normal(scale=2, size=(300, len(EMOTIONS))), axis=1)
    labels = drawn_labels(probabilities, seed)
    threshold = confidence_threshold(probabilities, labels, target)
    confidence = probabilities.max(1)
    if threshold is None:
        assert all(coverage(probabilities, labels, c, intervals=False)["accuracy"] < target for c in confidence)
        return
    assert coverage(probabilities, labels, threshold, intervals=False)["accuracy"] >= target
    lower = confidence[confidence < threshold]
    assert all(coverage(probabilities, labels, c, intervals=False)["accuracy"] < target for c in lower)


def answered_accuracy(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """The accuracy on the faces whose top probability is at least threshold, counted here."""
    answered = probabilities.max(1) >= threshold
    return float(np.mean(probabilities[answered].argmax(1) == labels[answered]))


def test_fit_calibration_thresholds_the_calibrated_probabilities_and_scores_both():
    logits = np.random.default_rng(2).normal(scale=2.0, size=(3000, len(EMOTIONS)))
    labels = drawn_labels(softmax(logits, axis=1))
    overconfident = softmax(logits * 2.5, axis=1)
    fitted = fit_calibration(overconfident, labels, (0.6, 0.7, 0.8))
    assert fitted["temperature"] == pytest.approx(2.5, rel=0.1)
    calibrated = softmax(np.log(overconfident) / fitted["temperature"], axis=1)
    assert fitted["scores"]["calibrated"]["nll"] == pytest.approx(-np.log(calibrated[np.arange(3000), labels]).mean())
    assert fitted["scores"]["raw"]["ece"] > 3 * fitted["scores"]["calibrated"]["ece"]
    assert list(fitted["confidence_thresholds"]) == ["0.6", "0.7", "0.8"]
    confidence = calibrated.max(1)
    for target, threshold in zip((0.6, 0.7, 0.8), fitted["confidence_thresholds"].values()):
        assert np.isclose(confidence, threshold, rtol=0, atol=1e-12).any()  # a calibrated face's, not a raw one's
        assert answered_accuracy(calibrated, labels, threshold) >= target
        assert answered_accuracy(calibrated, labels, confidence[confidence < threshold - 1e-12].max()) < target


def test_measure_calibration_covers_the_calibrated_faces_at_each_reached_threshold(monkeypatch):
    import fer.evaluation.metrics

    monkeypatch.setattr(fer.evaluation.metrics, "BOOTSTRAP_RESAMPLES", 100)  # every interval's resampling reads it
    rng = np.random.default_rng(3)
    raw = softmax(rng.normal(scale=3.0, size=(400, len(EMOTIONS))), axis=1)
    labels = drawn_labels(softmax(np.log(raw) / 2, axis=1))
    calibrated = temperature_scaled(raw, 2.0)
    study = measure_calibration(labels, raw)
    assert list(study) == ["raw", "reliability"] and list(study["reliability"]) == ["raw"]
    measured = measure_calibration(labels, raw, calibrated, {"0.5": 0.45, "0.7": 0.6, "0.9": None})
    assert list(measured) == ["raw", "calibrated", "reliability", "coverage", "risk_coverage"]
    assert measured["raw"]["brier"] == pytest.approx(((raw - np.eye(len(EMOTIONS))[labels]) ** 2).sum(1).mean())
    assert [point["target_accuracy"] for point in measured["coverage"]] == [0.5, 0.7]
    for point, threshold in zip(measured["coverage"], (0.45, 0.6)):
        assert point["coverage"] == pytest.approx(np.mean(calibrated.max(1) >= threshold))
        assert point["accuracy"] == pytest.approx(answered_accuracy(calibrated, labels, threshold))
        assert point["accuracy_ci95"][0] < point["accuracy"] < point["accuracy_ci95"][1]
    curve = measured["risk_coverage"]  # answering the most confident faces after scaling first
    right = (raw.argmax(1) == labels)[np.argsort(-calibrated.max(1), kind="stable")]
    assert curve["accuracy"] == pytest.approx([right[: round(share * 400)].mean() for share in curve["coverage"]])
    for kind in ("raw", "calibrated"):
        assert sum(measured["reliability"][kind]["share"]) == pytest.approx(1)


@pytest.mark.parametrize("name", list(PRETRAINED_FILES))
def test_the_shipped_files_give_their_temperature_scaled_probabilities(name):
    data = fer.load_data(REPO_ROOT / "data" / "sample", form="csv")
    faces = np.concatenate([data[usage].images for usage in ("PublicTest", "PrivateTest")]).astype(np.float32)
    temperature = temperatures()[name]["temperature"]
    raw = load_pretrained(name, runtime="onnx", raw=True)(faces)
    for calibrated in (load_pretrained(name, runtime="onnx")(faces), load_pretrained(name).predict_on_batch(faces)):
        np.testing.assert_allclose(calibrated, temperature_scaled(raw, temperature), atol=1e-4)
        np.testing.assert_array_equal(calibrated.argmax(1), raw.argmax(1))
    np.testing.assert_allclose(raw, load_pretrained(name, raw=True).predict_on_batch(faces), atol=1e-4)


@pytest.mark.real_data
@pytest.mark.parametrize("name", list(PRETRAINED_FILES))
def test_the_shipped_files_are_at_the_publictest_nll_optimum_with_the_committed_predictions(
    full_data_dir, shipped_probabilities, name
):
    from scripts.repository import PRETRAINED_RUN_DIR

    data = fer.load_data(full_data_dir, form="csv")
    public, private = data["PublicTest"], data["PrivateTest"]
    calibrated = shipped_probabilities(name, "PublicTest")
    fitted = temperatures()[name]
    assert negative_log_likelihood(calibrated, public.labels) == pytest.approx(
        fitted["publictest"]["calibrated"]["nll"], abs=1e-4
    )
    assert fit_temperature(calibrated, public.labels) == pytest.approx(1.0, abs=0.01)  # nothing left to fit
    assert negative_log_likelihood(calibrated, public.labels) < negative_log_likelihood(
        shipped_probabilities(name, "PublicTest", raw=True), public.labels
    )
    card = json.loads((PRETRAINED_RUN_DIR / "evaluation.json").read_text())
    scored = card if name == "shipped" else card["fast"]
    predicted = shipped_probabilities(name, "PrivateTest").argmax(1)
    matrix = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    np.add.at(matrix, (private.labels, predicted), 1)
    committed = np.array(scored["private_test"]["none"]["confusion_matrix"])
    assert np.abs(matrix - committed).sum() <= 2  # onnxruntime and Keras may part on a near tie (1e-4)


def git(*args: str) -> str | None:
    result = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def test_every_calibrated_privatetest_figure_was_committed_after_its_temperatures():
    from scripts.calibration import REPORT, TEMPERATURES
    from scripts.model_card import file_sha256
    from scripts.repository import SHIPPED_FILES

    report_path, temperatures_path = (str(path.relative_to(REPO_ROOT)) for path in (REPORT, TEMPERATURES))
    reports = (git("log", "--diff-filter=AM", "--format=%h", "--abbrev=7", "--", report_path) or "").split()
    if not reports:
        pytest.skip("no git history of the calibration report in this checkout")
    for commit in reports:
        fitted_in = json.loads(git("show", f"{commit}:{report_path}"))["temperatures_commit"]
        if git("cat-file", "-e", f"{fitted_in}^{{commit}}") is None:
            pytest.skip("a shallow clone: the temperatures' commit is not in this checkout's history")
        # the temperatures in force when the figures were committed are the ones fitted in fitted_in, before them
        assert git("rev-parse", git("log", "-1", "--format=%h", commit, "--", temperatures_path)) == git(
            "rev-parse", fitted_in
        ), commit
        assert git("merge-base", "--is-ancestor", fitted_in, commit) is not None, (fitted_in, commit)
        assert git("rev-parse", fitted_in) != git("rev-parse", commit), "fitted and reported in one commit"
        earlier = git("show", f"{fitted_in}:{report_path}")
        assert earlier is None or json.loads(earlier)["temperatures_commit"] != fitted_in
    # a shipped file's temperature, once fitted, is never fitted again
    fitted = {}
    for commit in git("log", "--reverse", "--diff-filter=AM", "--format=%h", "--", temperatures_path).split():
        for role, model in json.loads(git("show", f"{commit}:{temperatures_path}"))["models"].items():
            assert fitted.setdefault(model["keras_sha256"], model["temperature"]) == model["temperature"], role
    for role, model in temperatures().items():
        assert model["keras_sha256"] == file_sha256(SHIPPED_FILES[role]), role


def predicted_faces(capsys, *options: str) -> list[dict]:
    assert main(["predict", *map(str, SAMPLE_PHOTOS), "--json", "--quiet", *options]) == 0
    return [face for record in json.loads(capsys.readouterr().out) for face in record.get("faces", [])]


def test_min_confidence_labels_the_faces_below_it_uncertain_and_keeps_the_others(capsys):
    everyone = predicted_faces(capsys)
    top = np.array([max(face["probabilities"].values()) for face in everyone])
    threshold = float(np.median(top))
    marked = predicted_faces(capsys, "--min-confidence", str(threshold))
    assert [face["probabilities"] for face in marked] == [face["probabilities"] for face in everyone]
    for face, unmarked, confidence in zip(marked, everyone, top):
        assert face["label"] == ("uncertain" if confidence < threshold else unmarked["label"])
    assert 0 < sum(face["label"] == "uncertain" for face in marked) < len(marked)
    raw = predicted_faces(capsys, "--raw")
    assert [face["label"] for face in raw] == [face["label"] for face in everyone]
    assert raw != everyone  # the probabilities before temperature scaling differ


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan", "inf"])
def test_min_confidence_outside_0_to_1_is_one_line(capsys, value):
    assert main(["predict", str(SAMPLE_PHOTOS[0]), f"--min-confidence={value}"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--min-confidence" in error
    with pytest.raises(DataError):
        fer.predict(SAMPLE_PHOTOS[0], min_confidence=float(value))


def test_the_readmes_min_confidence_example_is_what_the_command_prints_and_the_report_says(monkeypatch):
    import re

    monkeypatch.chdir(REPO_ROOT)  # the example's paths are the checkout's
    import shlex

    from scripts.calibration import REPORT, fer_output

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("<!-- min-confidence-example:start -->")[1].split("<!-- min-confidence-example:end -->")[0]
    command, *printed = section.split("```")[1].strip("\n").split("\n")
    arguments = shlex.split(command)[1:]
    assert fer_output(arguments) == "\n".join(printed) + "\n"
    assert any(line.split()[-2] == "uncertain" for line in printed[1:])
    threshold = float(arguments[arguments.index("--min-confidence") + 1])
    shipped = json.loads(REPORT.read_text())["models"]["shipped"]
    point = next(point for point in shipped["coverage"] if round(point["threshold"], 4) == threshold)
    said = [float(number) for number in re.findall(r"(\d+\.\d+)%", section.split("```")[0])]
    assert said == [round(point["coverage"] * 100, 1), round(point["accuracy"] * 100, 1)]


def table_numbers(text: str, start: str) -> list[list[float]]:
    """The numbers of each row of the first markdown table after start, row by row."""
    import re

    lines = text[text.index(start) :].split("\n")
    first = next(index for index, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("| "):
            break
        rows.append([float(number) for number in re.findall(r"-?\d+\.\d+", line)])
    return rows


def test_the_readme_and_card_calibration_tables_are_the_reports_figures():
    from scripts.calibration import REPORT
    from scripts.repository import MODEL_CARD

    report = json.loads(REPORT.read_text())

    def expected(names, kinds, metrics):
        return [
            [number for metric in metrics for number in (model[kind][metric], *model[kind][f"{metric}_ci95"])]
            for name, model in report["models"].items()
            if name in names
            for kind in kinds
            if kind in model
        ]

    readme = (REPO_ROOT / "README.md").read_text()
    shown = table_numbers(readme, "<!-- calibration:start -->")
    readme_metrics = ("ece", "nll", "brier")
    np.testing.assert_allclose(shown, expected(PRETRAINED_FILES, ("raw", "calibrated"), readme_metrics), atol=5e-5)
    card = MODEL_CARD.read_text()
    shown = table_numbers(card, "## Calibration")
    metrics = ("ece", "classwise_ece", "nll", "brier")
    np.testing.assert_allclose(shown, expected(report["models"], ("raw", "calibrated"), metrics), atol=5e-5)
    coverage_rows = [
        [point[key] for key in ("target_accuracy", "threshold", "coverage", "accuracy")] + point["accuracy_ci95"]
        for model in report["models"].values()
        for point in model.get("coverage", [])
    ]
    np.testing.assert_allclose(table_numbers(card, "Answering only when sure"), coverage_rows, atol=5e-4)


@pytest.mark.real_data
def test_the_calibration_report_is_what_the_shipped_files_and_the_study_models_score(
    full_data_dir, shipped_probabilities
):
    from scripts.calibration import REPORT
    from scripts.repository import STUDY_RUN_DIRS

    from fer.evaluation.calibration import calibration_scores, risk_coverage

    report = json.loads(REPORT.read_text())
    data = fer.load_data(full_data_dir, form="csv")
    private = data["PrivateTest"]
    for name in PRETRAINED_FILES:
        for kind in ("raw", "calibrated"):
            probabilities = shipped_probabilities(name, "PrivateTest", raw=kind == "raw")
            measured = calibration_scores(probabilities, private.labels, intervals=False)
            for metric, value in measured.items():
                assert report["models"][name][kind][metric] == pytest.approx(value, abs=1e-6), (name, kind, metric)
        curve = risk_coverage(probabilities, private.labels)
        for key, values in curve.items():
            assert report["models"][name]["risk_coverage"][key] == pytest.approx(values), (name, key)
    for name, run_dir in STUDY_RUN_DIRS.items():
        measured = calibration_scores(
            batched_probabilities(fer.load_model(run_dir), private.images), private.labels, False
        )
        for metric, value in measured.items():
            assert report["models"][name]["raw"][metric] == pytest.approx(value, abs=1e-6), (name, metric)


def test_test_time_augmentation_averages_before_the_temperature_so_the_argmax_is_the_networks():
    from fer.evaluation.tta import tta_probabilities

    data = fer.load_data(REPO_ROOT / "data" / "sample", form="csv")
    faces = data["PrivateTest"].images[:16]
    temperature = temperatures()["shipped"]["temperature"]
    # ten-crop: ten views of each face (flip is the same path with two)
    raw = tta_probabilities(load_pretrained(raw=True), faces, "ten-crop")
    calibrated = tta_probabilities(load_pretrained(), faces, "ten-crop")
    np.testing.assert_allclose(calibrated, temperature_scaled(raw, temperature), atol=1e-5)


def test_a_shipped_keras_file_given_by_path_is_calibrated_and_a_calibrated_model_saved_loads_back(tmp_path, capsys):
    from fer.models.pretrained import pretrained_path

    def probabilities(*options: str) -> dict:
        assert main(["predict", str(SAMPLE_PHOTOS[0]), "--json", "--quiet", *options]) == 0
        return json.loads(capsys.readouterr().out)[0]["faces"][0]["probabilities"]

    copy = tmp_path / "my_copy.keras"
    copy.write_bytes(pretrained_path("fast").read_bytes())
    assert probabilities("--model", str(copy)) == pytest.approx(probabilities("--model", "fast"), abs=2e-4)
    assert probabilities("--model", str(copy), "--raw") == pytest.approx(
        probabilities("--model", "fast", "--raw"), abs=2e-4
    )
    saved = tmp_path / "calibrated.keras"
    load_pretrained("fast").save(saved)
    assert probabilities("--model", str(saved)) == pytest.approx(probabilities("--model", "fast"), abs=2e-4)


def test_an_onnx_file_with_two_outputs_is_taken_only_as_the_shipped_pair(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fer.inference.runtime import OnnxModel

    def two_outputs(names: tuple[str, str]) -> Path:
        weights = numpy_helper.from_array(np.zeros((48 * 48, 7), np.float32), "weights")
        shape = numpy_helper.from_array(np.array([-1, 48 * 48], np.int64), "shape")
        nodes = [
            helper.make_node("Reshape", ["faces", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "weights"], [names[1]]),
            helper.make_node("Softmax", [names[1]], [names[0]], axis=-1),
        ]
        outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", 7]) for name in names]
        faces = helper.make_tensor_value_info("faces", TensorProto.FLOAT, ["n", 48, 48, 1])
        graph = helper.make_graph(nodes, "two", [faces], outputs, [weights, shape])
        path = tmp_path / f"{names[1]}.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
        return path

    with pytest.raises(DataError, match="returns"):
        OnnxModel(two_outputs(("softmax", "logits")))
    faces = np.zeros((2, 48, 48, 1), np.float32)
    assert OnnxModel(two_outputs(("probabilities", "raw_probabilities")))(faces).shape == (2, 7)


def test_min_confidence_takes_numpy_numbers_and_compares_the_probability_as_printed():
    from fer.inference.predict import check_min_confidence, confident_label

    assert check_min_confidence(np.float32(0.5)) == 0.5 and check_min_confidence(np.int64(1)) == 1.0
    for wrong in (True, np.bool_(False), "0.5", None):
        with pytest.raises(DataError):
            check_min_confidence(wrong)
    row = np.array([0.72867, 0.1, 0.1, 0.03, 0.02, 0.01, 0.01133])
    assert confident_label(row, 0.7287) == "angry"  # printed as 0.7287: not below 0.7287
    assert confident_label(row, 0.7288) == "uncertain"


def test_the_timeline_names_a_track_uncertain_as_the_table_does():
    from fer.inference.timeline import plot_timeline
    from fer.inference.video import COLUMNS

    row = {"path": "clip", "track": 1, "x": 0, "y": 0, "w": 9, "h": 9, "label": "happy"}
    probabilities = dict(zip(COLUMNS[-7:], [0.02, 0.02, 0.02, 0.8, 0.06, 0.04, 0.04]))
    frame = pd.DataFrame([row | probabilities | {"frame": n, "time_s": n / 10} for n in range(3)], columns=COLUMNS)
    titles = [axes.get_title(loc="left") for axes in plot_timeline(frame, min_confidence=0.9).axes]
    assert titles == ["track 1: mostly uncertain (3 frames)"]
    assert "mostly happy" in plot_timeline(frame).axes[0].get_title(loc="left")


def test_the_risk_coverage_curve_answers_the_most_confident_first():
    from fer.evaluation.calibration import risk_coverage

    probabilities = np.zeros((4, len(EMOTIONS)))
    probabilities[:, :2] = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]]
    curve = risk_coverage(probabilities, np.array([0, 1, 1, 0]), points=4)
    assert curve == {"coverage": [0.25, 0.5, 0.75, 1.0], "accuracy": [1.0, 1.0, 2 / 3, 0.75]}
