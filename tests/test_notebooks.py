import json
import re

import nbformat
import pytest
from scripts.repository import SAMPLE_DATA_DIR
from scripts.reproduce import NOTEBOOK_DIR, NOTEBOOKS, drop_tensorflow_startup_lines, reproduce


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


COMMITTED_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users|usr|opt|var)/")
TENSORFLOW_LOG = re.compile(r"cpu_feature_guard|absl::InitializeLog|oneDNN custom operations|I0000 00:00")


@pytest.mark.parametrize("path", COMMITTED_NOTEBOOKS, ids=lambda path: path.name)
def test_committed_notebooks_name_no_folder_of_the_machine_and_carry_no_log_noise(path):
    notebook = nbformat.read(path, as_version=4)
    texts = [json.dumps(notebook.metadata)]
    for cell in notebook.cells:
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [str(value) for value in output.get("data", {}).values() if isinstance(value, str)]
    text = "\n".join(texts)
    assert not MACHINE_PATH.search(text), MACHINE_PATH.search(text).group(0) if MACHINE_PATH.search(text) else ""
    assert "\x1b[" not in text, "ANSI escape codes in an output"
    assert not TENSORFLOW_LOG.search(text), "TensorFlow's log lines in an output"


def test_tensorflow_startup_lines_leave_the_saved_notebook_and_everything_else_stays():
    startup = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795990767.899001   29241 port.cc:153] oneDNN custom operations are on.\n"
    )
    kept_stderr = "E0000 00:00:1795990767.9   29241 cuda_dnn.cc:8] an error TensorFlow logs\nUserWarning: a real one\n"
    stdout = "I0000 00:00:1.0 1 port.cc:153] printed by the notebook itself\n"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import", outputs=[nbformat.v4.new_output("stream", name="stderr", text=startup)]),
        nbformat.v4.new_code_cell(
            "run()",
            outputs=[
                nbformat.v4.new_output("stream", name="stderr", text=startup + kept_stderr),
                nbformat.v4.new_output("stream", name="stdout", text=stdout),
            ],
        ),
        nbformat.v4.new_markdown_cell(startup),
    ]
    drop_tensorflow_startup_lines(notebook)
    cleaned = nbformat.reads(nbformat.writes(notebook), as_version=4)  # as saved
    assert cleaned.cells[0].outputs == []
    assert [(output.name, output.text) for output in cleaned.cells[1].outputs] == [
        ("stderr", kept_stderr),
        ("stdout", stdout),
    ]
    assert cleaned.cells[2].source == startup
