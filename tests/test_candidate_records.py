"""The candidates' PublicTest figures that the rule chose on, recomputed from their records (apart from
test_pretrained.py, so that pytest-xdist runs this long test beside it)."""

import json

import pytest
from scripts.repository import PRETRAINED_RUN_DIR, REPO_ROOT

from fer.training.records import read_metrics


@pytest.mark.real_data
def test_each_candidates_publictest_figure_is_its_record_model_with_the_weights_rounded_to_float16(full_data_dir):
    """The figures the rule chose on: each record's model.keras scored as shipped (float16 weights, computed in
    float32), and as trained (float32, its record's own figure). Rounding moves a few near-tied faces, so the
    two may differ by more than the one face that another CPU may move."""
    from fer.data.datasets import load_data
    from fer.evaluation.metrics import evaluate
    from fer.models.architectures import with_dtype
    from fer.models.files import load_model

    data = load_data(full_data_dir, form="csv")
    card = json.loads((PRETRAINED_RUN_DIR / "evaluation.json").read_text())
    for name, member in card["members"].items():
        record = REPO_ROOT / member["record"]
        trained = load_model(record)
        as_trained = evaluate(trained, data, ("PublicTest",))["PublicTest"]
        rounded = with_dtype(with_dtype(trained, "float16"), "float32")
        as_shipped = evaluate(rounded, data, ("PublicTest",))["PublicTest"]
        n = as_trained["n"]
        assert abs(as_trained["accuracy"] - read_metrics(record)["splits"]["PublicTest"]["accuracy"]) <= 1 / n, name
        assert abs(as_shipped["accuracy"] - card["selection"]["publictest_accuracy"][name]) <= 1 / n, name
