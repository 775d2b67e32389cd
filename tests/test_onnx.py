"""Inference without TensorFlow: the shipped .onnx files against their .keras sources, fer export --format onnx,
and fer predict, fer.predict and fer.predict_video on onnxruntime."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scripts.repository import SAMPLE_DATA_DIR

import fer
from fer.cli import main
from fer.errors import DataError
from fer.inference.runtime import OnnxModel, require_training_extra
from fer.models.pretrained import PRETRAINED_FILES, load_pretrained, pretrained_path

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"


def assert_agree(name: str, faces: np.ndarray, found: np.ndarray | None = None) -> None:
    """The shipped .onnx (or what it gave: found) and .keras files of model name: the same argmax on every face, and
    max |dp| <= 1e-4."""
    keras_model, onnx_model = load_pretrained(name), load_pretrained(name, runtime="onnx")
    batches = range(0, len(faces), 512)
    expected = np.concatenate([keras_model.predict_on_batch(faces[start : start + 512]) for start in batches])
    if found is None:
        found = np.concatenate([onnx_model(faces[start : start + 512]) for start in batches])
    np.testing.assert_array_equal(found.argmax(axis=1), expected.argmax(axis=1))
    assert np.abs(found - expected).max() <= 1e-4


@pytest.mark.parametrize("name", list(PRETRAINED_FILES))
def test_the_shipped_onnx_files_give_the_keras_files_probabilities_on_the_sample(name):
    data = fer.load_data(SAMPLE_DATA_DIR, form="csv")
    faces = np.concatenate([data[usage].images for usage in ("PublicTest", "PrivateTest")]).astype(np.float32)
    assert_agree(name, faces)


@pytest.mark.real_data
@pytest.mark.parametrize("name", list(PRETRAINED_FILES))
def test_the_shipped_onnx_files_give_the_keras_files_probabilities_on_every_test_face(
    full_data_dir, shipped_probabilities, name
):
    data = fer.load_data(full_data_dir, form="csv")
    faces = np.concatenate([data[usage].images for usage in ("PublicTest", "PrivateTest")]).astype(np.float32)
    assert len(faces) == 7178
    found = np.concatenate([shipped_probabilities(name, usage) for usage in ("PublicTest", "PrivateTest")])
    assert_agree(name, faces, found)


def run_without_tensorflow(code: str) -> subprocess.CompletedProcess:
    """code in a fresh interpreter where importing tensorflow or keras fails, as in the base install."""
    blocker = (
        "import sys\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx'):\n"
        "            raise ImportError(f'{name} is not installed')\n"
        "sys.meta_path.insert(0, Blocker())\n"
    )
    return subprocess.run([sys.executable, "-c", blocker + code], capture_output=True, text=True, cwd=REPO_ROOT)


def test_predict_photos_and_videos_and_export_the_shipped_onnx_without_tensorflow(tmp_path):
    import cv2

    clip = tmp_path / "clip.avi"
    frame = cv2.imread(str(SMILING))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (frame.shape[1], frame.shape[0]))
    for _ in range(6):
        writer.write(frame)
    writer.release()
    code = (
        "import fer\n"
        "from fer.cli import main\n"
        f"assert fer.predict({str(SMILING)!r})[0]['label'] == 'happy'\n"
        f"assert fer.predict({str(SMILING)!r}, model='fast')[0]['label'] == 'happy'\n"
        f"assert (fer.predict_video({str(clip)!r})['label'] == 'happy').all()\n"
        f"assert main(['predict', {str(SMILING)!r}, {str(clip)!r}, '--quiet']) == 0\n"
        f"assert main(['export', '--format', 'onnx', '--model', 'fast', '--output', {str(tmp_path / 'f.onnx')!r}])"
        " == 0\n"
        "print('no tensorflow:', not any(name in sys.modules for name in ('tensorflow', 'keras')))\n"
    )
    result = run_without_tensorflow(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("no tensorflow: True")
    assert (tmp_path / "f.onnx").read_bytes() == pretrained_path("fast", form="onnx").read_bytes()


@pytest.mark.parametrize(
    "arguments",
    [
        ["evaluate", "--data", str(SAMPLE_DATA_DIR)],
        ["train", "--data", str(SAMPLE_DATA_DIR)],
        ["predict", str(SMILING), "--model", "m.keras"],
    ],
)
def test_a_command_that_needs_tensorflow_says_so_in_one_line_with_the_install_command(arguments):
    result = run_without_tensorflow(f"from fer.cli import main\nsys.exit(main({arguments!r}))")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and 'pip install "fer2013-study[train]"' in result.stderr


def test_fer_export_onnx_converts_a_keras_file_that_agrees_with_it(tmp_path):
    model = fer.build_model("fer_net")  # untrained: only agreement matters; its augmentation must not be traced
    model.save(tmp_path / "model.keras")
    output = tmp_path / "model.onnx"
    assert main(["export", "--format", "onnx", "--model", str(tmp_path / "model.keras"), "--output", str(output)]) == 0
    faces = fer.load_data(SAMPLE_DATA_DIR, form="csv")["PrivateTest"].images.astype(np.float32)
    expected = model.predict_on_batch(faces)
    found = OnnxModel(output)(faces)
    assert np.abs(found - expected).max() <= 1e-4
    assert main(["predict", str(SMILING), "--model", str(output)]) == 0


@pytest.mark.parametrize("in_float16", [True, False])
def test_fer_export_onnx_stores_every_weight_exactly_float16_ones_in_two_bytes(tmp_path, in_float16):
    """Batch normalization is not folded into the convolutions, so the file holds the model's own values: the
    shipped files' float16 weights take half the bytes of float32 ones, and lose nothing."""
    import onnx
    from onnx import numpy_helper

    model = fer.build_model("fer_net")
    rng = np.random.default_rng(5)
    # trained-looking batch normalization (a fresh one is the identity, which folds into anything exactly)
    weights = [value + np.abs(rng.normal(0.0, 0.5, value.shape)).astype(np.float32) for value in model.get_weights()]
    if in_float16:
        weights = [value.astype(np.float16).astype(np.float32) for value in weights]
    model.set_weights(weights)
    model.save(tmp_path / "model.keras")
    output = tmp_path / "model.onnx"
    assert main(["export", "--format", "onnx", "--model", str(tmp_path / "model.keras"), "--output", str(output)]) == 0
    stored = [numpy_helper.to_array(tensor) for tensor in onnx.load(output).graph.initializer]
    for value in weights:
        assert any(
            array.shape == value.shape
            and array.dtype == (np.float16 if in_float16 else np.float32)
            and np.array_equal(array.astype(np.float32), value)
            for array in stored
        ), f"a weight of shape {value.shape} is not in the file as it is in the model"
    weight_bytes = sum(value.size for value in weights) * (2 if in_float16 else 4)
    assert output.stat().st_size < 1.05 * weight_bytes
    faces = fer.load_data(SAMPLE_DATA_DIR, form="csv")["PrivateTest"].images.astype(np.float32)
    np.testing.assert_allclose(OnnxModel(output)(faces), model.predict_on_batch(faces), atol=1e-4)


def test_files_that_are_no_fer_onnx_model_are_refused_in_one_line(tmp_path):
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("hello")
    with pytest.raises(DataError, match="cannot be loaded as an ONNX model"):
        OnnxModel(not_onnx)
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "other.onnx")
    with pytest.raises(DataError, match="a FER-2013 model takes"):
        OnnxModel(tmp_path / "other.onnx")
    with pytest.raises(FileNotFoundError):
        OnnxModel(tmp_path / "missing.onnx")


def test_require_training_extra_names_what_needs_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "keras" else real(name, *rest))
    with pytest.raises(DataError, match=r"^fer evaluate needs TensorFlow and Keras"):
        require_training_extra("fer evaluate")
