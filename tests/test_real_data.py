"""Checks on the full FER-2013; they run where ../shared/fer2013 or $FER_DATA is present."""

import json
from pathlib import Path

import numpy as np
import pytest

import fer

pytestmark = pytest.mark.real_data
REPO_ROOT = Path(__file__).resolve().parents[1]

# ../shared/fer2013/README.md: class counts per Usage, FER-2013 order.
EXPECTED_COUNTS = {
    "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "PublicTest": [467, 56, 496, 895, 653, 415, 607],
    "PrivateTest": [491, 55, 528, 879, 594, 416, 626],
}
JPEG_TOLERANCE = 8  # gray levels another JPEG decoder may differ by


@pytest.fixture(scope="module")
def both_forms(full_data_dir):
    return fer.load_data(full_data_dir, form="csv"), fer.load_data(full_data_dir, form="folders")


@pytest.mark.parametrize("form", [0, 1], ids=["csv", "folders"])
def test_split_and_class_counts(both_forms, form):
    data = both_forms[form]
    for usage, counts in EXPECTED_COUNTS.items():
        assert list(data[usage].class_counts().values()) == counts, usage
        assert data[usage].images.shape == (sum(counts), 48, 48, 1)


def sorted_by_pixels(split) -> tuple[np.ndarray, np.ndarray]:
    flat = split.images.reshape(len(split), -1)
    # Pixels first, then the label: FER-2013 holds a few identical faces with different labels.
    order = np.lexsort(np.vstack([split.labels, flat.T[::-1]]))
    return flat[order].astype(np.int16), split.labels[order]


def test_both_forms_give_the_same_faces(both_forms):
    from_csv, from_folders = both_forms
    for usage in EXPECTED_COUNTS:
        csv_pixels, csv_labels = sorted_by_pixels(from_csv[usage])
        folder_pixels, folder_labels = sorted_by_pixels(from_folders[usage])
        assert np.abs(csv_pixels - folder_pixels).max() <= JPEG_TOLERANCE, usage
        np.testing.assert_array_equal(csv_labels, folder_labels)


def committed_study_runs() -> list[tuple[str, str]]:
    """Every committed run of the two pipelines (the seed-42 run at the top of each folder, other seeds in seed_*/)."""
    runs = []
    for folder, form in (("CSV_Based_Model", "csv"), ("Image_Based_Model", "folders")):
        for run in [REPO_ROOT / folder, *sorted((REPO_ROOT / folder).glob("seed_*"))]:
            if (run / "metrics.json").is_file():
                runs.append((str(run.relative_to(REPO_ROOT)), form))
    return runs


@pytest.mark.parametrize(("run", "form"), committed_study_runs())
def test_fer_evaluate_on_each_committed_run_reproduces_its_committed_metrics(full_data_dir, run, form, capsys):
    from fer.cli import main

    committed = json.loads((REPO_ROOT / run / "metrics.json").read_text())["splits"]
    splits = ["--split", "PrivateTest", "--split", "PublicTest+PrivateTest"]
    command = ["evaluate", "--model", str(REPO_ROOT / run), "--data", str(full_data_dir), "--form", form, *splits]
    assert main(command) == 0
    measured = json.loads(capsys.readouterr().out)["splits"]
    for split in ("PrivateTest", "PublicTest+PrivateTest"):
        assert measured[split]["n"] == committed[split]["n"]
        assert abs(measured[split]["accuracy"] - committed[split]["accuracy"]) <= 1 / committed[split]["n"] + 1e-12
        differing = np.abs(np.array(measured[split]["confusion_matrix"]) - committed[split]["confusion_matrix"]).sum()
        assert differing <= 2, f"{split}: {differing} cells of the confusion matrix moved"
