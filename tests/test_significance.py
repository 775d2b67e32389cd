from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from scripts.markdown import update_section
from scripts.significance import render
from sklearn.metrics import f1_score

import fer
from fer.data.labels import EMOTIONS
from fer.data.splits import LabeledImages, same_faces
from fer.evaluation.metrics import BOOTSTRAP_RESAMPLES, bootstrap_interval, macro_f1
from fer.evaluation.results import results_table
from fer.evaluation.significance import compare_paired, difference_interval
from fer.evaluation.study import (
    SHIPPED,
    compared_models,
    comparisons,
    privatetest_predictions,
    read_predictions,
    seed_noise,
    significance_table,
)
from fer.models.files import save_model
from tests.conftest import synthetic_faces, write_csv, write_folders
from tests.test_results import FACES, fake_run, fewer_resamples  # noqa: F401 (a fixture)

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "results"
COMMITTED_PIPELINES = [REPO_ROOT / "CSV_Based_Model", REPO_ROOT / "Image_Based_Model"]
SIGNIFICANCE_START, SIGNIFICANCE_END = "<!-- significance:start -->", "<!-- significance:end -->"
README_START, README_END = "<!-- results-table:start -->", "<!-- results-table:end -->"


def paired_faces(both_right: int, only_a: int, only_b: int, both_wrong: int, seed: int = 0):
    """Labels and two models' predictions with the given 2x2 counts, in shuffled order; wrong answers vary."""
    rng = np.random.default_rng(seed)
    count = both_right + only_a + only_b + both_wrong
    labels = rng.integers(0, len(EMOTIONS), count)
    wrong_1, wrong_2 = (labels + 1) % len(EMOTIONS), (labels + 2) % len(EMOTIONS)
    a_right = np.repeat([True, True, False, False], [both_right, only_a, only_b, both_wrong])
    b_right = np.repeat([True, False, True, False], [both_right, only_a, only_b, both_wrong])
    order = rng.permutation(count)
    a_right, b_right = a_right[order], b_right[order]
    return labels, np.where(a_right, labels, wrong_1), np.where(b_right, labels, wrong_2)


@pytest.mark.parametrize(("only_a", "only_b"), [(3, 10), (12, 5), (1, 0), (40, 40)])
def test_exact_mcnemar_is_the_binomial_test_on_the_faces_where_one_model_is_right(only_a, only_b):
    result = compare_paired(*paired_faces(50, only_a, only_b, 20))
    assert (result["both_right"], result["only_a_right"], result["only_b_right"], result["both_wrong"]) == (
        50,
        only_a,
        only_b,
        20,
    )
    assert result["mcnemar_p"] == pytest.approx(binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-12)
    assert result["accuracy_difference"] == pytest.approx((only_a - only_b) / (70 + only_a + only_b))


def test_identical_predictions_give_p_1_and_a_zero_width_interval_at_0():
    labels, predicted, _ = paired_faces(60, 0, 0, 40)
    result = compare_paired(labels, predicted, predicted.copy())
    assert result["mcnemar_p"] == 1.0
    assert result["accuracy_difference"] == 0.0 and result["difference_ci95"] == [0.0, 0.0]
    assert difference_interval(labels, predicted, predicted.copy(), macro_f1) == [0.0, 0.0]


def test_a_model_right_wherever_the_other_is_wrong_gives_a_tiny_p():
    result = compare_paired(*paired_faces(0, 30, 0, 0))
    assert result["mcnemar_p"] == pytest.approx(2 * 0.5**30)  # both tails of Binomial(30, 1/2) at its ends
    assert result["difference_ci95"] == [1.0, 1.0]  # a right on every face, b on none: every resample says 1


def test_the_paired_interval_matches_the_normal_approximation_and_flips_with_the_pair():
    labels, a, b = paired_faces(1200, 300, 200, 300, seed=3)
    low, high = compare_paired(labels, a, b)["difference_ci95"]
    differences = (a == labels).astype(float) - (b == labels)
    standard_error = differences.std() / np.sqrt(len(differences))
    assert low == pytest.approx(differences.mean() - 1.96 * standard_error, abs=0.2 * standard_error)
    assert high == pytest.approx(differences.mean() + 1.96 * standard_error, abs=0.2 * standard_error)
    assert compare_paired(labels, b, a)["difference_ci95"] == pytest.approx([-high, -low])


def test_predictions_of_different_lengths_or_none_are_refused():
    labels, a, b = paired_faces(5, 2, 2, 1)
    with pytest.raises(ValueError, match="10 labels, 10 and 9 predictions"):
        compare_paired(labels, a, b[:-1])
    with pytest.raises(ValueError, match="10 labels, 9 and 10"):
        difference_interval(labels, a[:-1], b, macro_f1)
    with pytest.raises(ValueError, match="at least two faces"):
        compare_paired([1], [1], [2])


def test_same_faces_in_another_order_match_and_changed_ones_do_not():
    images, labels, _ = synthetic_faces(40)
    split = LabeledImages(images[..., None], labels)
    order = np.random.default_rng(0).permutation(40)
    shuffled = LabeledImages(split.images[order].copy(), split.labels[order].copy())
    assert same_faces(split, shuffled) == {"n": 40, "largest_pixel_difference": 0, "same_labels": True, "same": True}
    shuffled.images[3, 40, 40, 0] += 5  # a JPEG decoder's difference: the same face
    assert same_faces(split, shuffled)["same"] and same_faces(split, shuffled)["largest_pixel_difference"] == 5
    shuffled.images[3, 40, 40, 0] += 100  # no longer the same face
    assert not same_faces(split, shuffled)["same"]
    relabelled = LabeledImages(split.images, (split.labels + 1) % len(EMOTIONS))
    assert not same_faces(split, relabelled)["same"]
    assert not same_faces(split, LabeledImages(split.images[:39], split.labels[:39]))["same"]


def description(seeds: dict[str, list[int]], shipped: bool = True) -> dict:
    columns = {
        f"{model}_seed{seed}": {"model": model, "seed": seed, "recorded_accuracy": 0.5, "recorded_form": form}
        for model, form in (("csv_cnn", "csv"), ("image_cnn", "folders"))
        for seed in seeds[model]
    }
    if shipped:
        columns[SHIPPED] = {"model": SHIPPED}
    check = {"n": FACES, "largest_pixel_difference": 0, "same_labels": True, "same": True}
    return {"split": "PrivateTest", "form": "csv", "data_is_sample": False, "faces_check": check, "columns": columns}


def test_pipelines_are_paired_at_each_seed_both_finished_and_the_shipped_model_with_every_run():
    pairs = comparisons(description({"csv_cnn": [42, 1, 2], "image_cnn": [42, 1]}))
    assert pairs[:2] == [
        ("csv vs image", "csv_cnn_seed1", "image_cnn_seed1"),
        ("csv vs image", "csv_cnn_seed42", "image_cnn_seed42"),
    ]
    assert sorted(b for kind, a, b in pairs[2:] if a == SHIPPED) == [
        "csv_cnn_seed1",
        "csv_cnn_seed2",
        "csv_cnn_seed42",
        "image_cnn_seed1",
        "image_cnn_seed42",
    ]
    assert len(pairs) == 7


def predictions(columns: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"index": np.arange(len(labels)), "true": [EMOTIONS[i] for i in labels]})
    for column, predicted in columns.items():
        frame[column] = [EMOTIONS[i] for i in predicted]
    return frame


def test_the_tests_table_counts_each_pair_and_adjusts_for_several_tests():
    labels, csv, image = paired_faces(40, 30, 2, 28)
    shipped = labels.copy()
    frame = predictions({"csv_cnn_seed42": csv, "image_cnn_seed42": image, SHIPPED: shipped}, labels)
    tests = significance_table(frame, description({"csv_cnn": [42], "image_cnn": [42]}))
    first = tests.iloc[0]
    assert (first.a, first.b, first.only_a_right, first.only_b_right) == ("csv_cnn_seed42", "image_cnn_seed42", 30, 2)
    assert first.mcnemar_p == pytest.approx(binomtest(30, 32, 0.5).pvalue)
    assert first.macro_f1_difference == pytest.approx(macro_f1(labels, csv) - macro_f1(labels, image))
    assert first.macro_f1_difference_ci95_low < first.macro_f1_difference < first.macro_f1_difference_ci95_high
    assert list(tests.b[1:]) == ["csv_cnn_seed42", "image_cnn_seed42"] and tests.macro_f1_difference[1:].isna().all()
    assert list(tests.only_b_right[1:]) == [0, 0]  # the shipped model here is right on every face
    assert (tests.mcnemar_p_holm >= tests.mcnemar_p).all() and (tests.mcnemar_p_holm <= 1).all()
    assert tests.mcnemar_p_holm.min() == pytest.approx(3 * tests.mcnemar_p.min())  # Holm: smallest p times 3 tests


def pipelines_with_seeds(root: Path, csv_accuracies: list[float], image_accuracies: list[float]) -> list[Path]:
    seeds = [42, 1, 2]
    for model, folder, accuracies in (("csv_cnn", "csv", csv_accuracies), ("image_cnn", "image", image_accuracies)):
        for seed, accuracy in zip(seeds, accuracies):
            fake_run(root / folder / ("" if seed == 42 else f"seed_{seed}"), model, seed, accuracy, macro_f1=accuracy)
    return [root / "csv", root / "image"]


def numbers(text: str) -> list[float]:
    """The numbers a text states, whatever the words around them."""
    import re

    return [float(number) for number in re.findall(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def rendered(root: Path, csv_accuracies: list[float], image_accuracies: list[float]):
    """The tests, the seed-noise facts and the significance section for fake runs, each run's predictions right on
    the first accuracy x 100 faces."""
    results = results_table(pipelines_with_seeds(root, csv_accuracies, image_accuracies))
    labels = np.arange(FACES) % len(EMOTIONS)
    columns = {}
    for model, accuracies in (("csv_cnn", csv_accuracies), ("image_cnn", image_accuracies)):
        for seed, accuracy in zip([42, 1, 2], accuracies):
            right = np.arange(FACES) < round(accuracy * FACES)
            columns[f"{model}_seed{seed}"] = np.where(right, labels, (labels + 1) % len(EMOTIONS))
    seeds = {"csv_cnn": [42, 1, 2][: len(csv_accuracies)], "image_cnn": [42, 1, 2][: len(image_accuracies)]}
    tests, text = render(results, predictions(columns, labels), description(seeds, shipped=False))
    means = results[results.n_seeds.notna()].set_index("model")
    return tests, seed_noise(means.loc["csv_cnn"], means.loc["image_cnn"]), text


@pytest.mark.usefixtures("fewer_resamples")
def test_with_one_seed_nothing_is_weighed_against_seed_noise(tmp_path):
    tests, noise, text = rendered(tmp_path, [0.70], [0.40])
    assert noise == {}  # no sd with one seed: no Welch test
    assert tests.only_a_right.iloc[0] == 30 and tests.only_b_right.iloc[0] == 0
    assert tests.mcnemar_p_holm.iloc[0] < 0.05  # 30 faces right only for CSV, none only for image
    assert {0.300, 0.7, 0.4} <= set(numbers(text))  # the difference and both accuracies are stated


@pytest.mark.usefixtures("fewer_resamples")
def test_with_three_seeds_far_apart_the_difference_is_beyond_seed_noise(tmp_path):
    _, noise, text = rendered(tmp_path, [0.70, 0.71, 0.69], [0.50, 0.52, 0.51])
    assert noise["accuracy"]["difference"] == pytest.approx(0.19)
    assert noise["accuracy"]["largest_sd"] == pytest.approx(0.01) and noise["accuracy"]["welch_p"] < 0.05
    assert {0.19, 0.01, 3} <= set(numbers(text))
    assert float(f"{noise['accuracy']['welch_p']:.1e}") in numbers(text)


@pytest.mark.usefixtures("fewer_resamples")
def test_with_three_overlapping_seeds_the_difference_is_not_beyond_seed_noise(tmp_path):
    _, noise, text = rendered(tmp_path, [0.60, 0.70, 0.50], [0.58, 0.48, 0.68])
    assert noise["accuracy"]["largest_sd"] == pytest.approx(0.1) and noise["accuracy"]["welch_p"] >= 0.05
    assert abs(noise["accuracy"]["difference"]) < noise["accuracy"]["largest_sd"]
    assert {0.1, round(noise["accuracy"]["welch_p"], 2)} <= set(numbers(text))


@pytest.mark.usefixtures("fewer_resamples")
def test_saved_predictions_that_miss_a_finished_run_are_refused(tmp_path):
    results = results_table(pipelines_with_seeds(tmp_path, [0.6, 0.6], [0.5]))
    labels = np.arange(FACES) % len(EMOTIONS)
    frame = predictions({"csv_cnn_seed42": labels, "image_cnn_seed42": labels}, labels)
    with pytest.raises(ValueError, match="run `python -m scripts.significance` again"):
        render(results, frame, description({"csv_cnn": [42], "image_cnn": [42]}))


def test_predictions_pair_the_csv_forms_faces_with_each_models_labels(tmp_path):
    images, labels, usages = synthetic_faces(63)
    write_csv(tmp_path / "fer2013.csv", images, labels, usages)
    write_folders(tmp_path, images[::-1], labels[::-1], usages[::-1])  # another file order than the CSV's
    model = fer.build_model("csv_cnn")
    run = fake_run(tmp_path / "run", "csv_cnn", 42, 0.5)
    save_model(model, run / "model.keras")
    frame, about = privatetest_predictions(tmp_path, {"csv_cnn_seed42": run})
    private = fer.load_data(tmp_path / "fer2013.csv")["PrivateTest"]
    assert list(frame["true"]) == [EMOTIONS[i] for i in private.labels]
    expected = model.predict(private.images.astype(np.float32), verbose=0).argmax(axis=1)
    assert list(frame["csv_cnn_seed42"]) == [EMOTIONS[i] for i in expected]
    assert about["faces_check"]["same"] and about["columns"]["csv_cnn_seed42"]["seed"] == 42


def test_readme_and_results_show_what_the_saved_predictions_give():
    results = results_table(COMMITTED_PIPELINES)
    tests, markdown = render(results, *read_predictions(RESULTS_DIR))
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"{SIGNIFICANCE_START}\n{markdown}{SIGNIFICANCE_END}" in (REPO_ROOT / "docs" / "results.md").read_text()
    assert (RESULTS_DIR / "significance.md").read_text() == markdown
    assert (RESULTS_DIR / "significance.csv").read_text() == tests.to_csv(index=False)
    assert README_START in readme and README_END in readme


def test_the_significance_section_is_replaced_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{SIGNIFICANCE_START}\nold\n{SIGNIFICANCE_END}\nb\n")
    update_section(readme, "significance", "new\n")
    assert readme.read_text() == f"a\n{SIGNIFICANCE_START}\nnew\n{SIGNIFICANCE_END}\nb\n"


@pytest.mark.real_data
@pytest.mark.parametrize("folder", ["CSV_Based_Model", "Image_Based_Model"])
def test_saved_predictions_are_the_seed_42_models_on_the_csv_forms_private_test(full_data_dir, folder):
    frame, about = read_predictions(RESULTS_DIR)
    column = {"CSV_Based_Model": "csv_cnn_seed42", "Image_Based_Model": "image_cnn_seed42"}[folder]
    assert about["columns"][column]["run"] == folder
    private = fer.load_data(full_data_dir, form="csv")["PrivateTest"]
    assert list(frame["true"]) == [EMOTIONS[i] for i in private.labels]
    fresh = fer.load_model(REPO_ROOT / folder).predict(private.images.astype(np.float32), verbose=0).argmax(axis=1)
    differing = int((frame[column].to_numpy() != np.array([EMOTIONS[i] for i in fresh])).sum())
    assert differing <= 2, f"{differing} of {len(fresh)} faces' saved predictions differ"  # float ties, another CPU


def test_saved_predictions_file_names_its_columns():
    frame, about = read_predictions(RESULTS_DIR)
    assert list(frame.columns[:2]) == ["index", "true"] and list(frame.columns[2:]) == list(about["columns"])
    assert list(frame["index"]) == list(range(len(frame))) and len(frame) == about["faces_check"]["n"] == 3589
    assert not about["data_is_sample"] and about["faces_check"]["same"]
    assert list(about["columns"]) == list(compared_models(COMMITTED_PIPELINES))  # every finished run, none missing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=60))
def test_macro_f1_is_scikit_learns_to_the_last_bit_for_every_subset_of_classes(pairs):
    labels, predicted = np.array(pairs).T
    rolled = np.roll(labels, 1)
    expected = [
        f1_score(true, predicted, labels=list(range(7)), average="macro", zero_division=0) for true in (labels, rolled)
    ]
    assert float(macro_f1(labels, predicted)) == expected[0]
    assert list(macro_f1(np.stack([labels, rolled]), np.stack([predicted, predicted]))) == expected


def test_the_macro_f1_interval_is_the_one_scikit_learn_gives_resample_by_resample():
    from scipy.stats import bootstrap

    labels, predicted = np.random.default_rng(3).integers(0, 7, (2, 400))
    predicted[:200] = labels[:200]
    one_by_one = bootstrap(
        (labels, predicted),
        lambda a, b: f1_score(a, b, labels=list(range(7)), average="macro", zero_division=0),
        paired=True,
        vectorized=False,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert bootstrap_interval(labels, predicted, macro_f1) == [one_by_one.low, one_by_one.high]
