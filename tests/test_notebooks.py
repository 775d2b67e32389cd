import json

import nbformat
import pytest
from scripts.repository import SAMPLE_DATA_DIR
from scripts.reproduce import NOTEBOOK_DIR, NOTEBOOKS, reproduce


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_has_one_parameters_cell(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.slow
def test_all_notebooks_run_on_the_sample_for_one_epoch(tmp_path):
    root = reproduce(data=SAMPLE_DATA_DIR, quick=True, output=tmp_path)
    for name in NOTEBOOKS:
        executed = nbformat.read(root / "notebooks" / name, as_version=4)
        outputs = [output for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs]
        assert not [output for output in outputs if output.output_type == "error"]
        assert any("bundled SAMPLE" in output.get("text", "") for output in outputs)
    for folder, suffix in (("CSV_Based_Model", "csv"), ("Image_Based_Model", "image")):
        assert (root / folder / "images" / f"confusion_matrix_{suffix}.png").is_file()
        assert (root / folder / "images" / f"accuracy_vs_loss_{suffix}.png").is_file()
        assert json.loads((root / folder / "metrics.json").read_text())["epochs"] == 1
    assert (
        "| CSV pipeline | this repository (PrivateTest), SAMPLE data |"
        in (root / "results" / "results_table.md").read_text()
    )
