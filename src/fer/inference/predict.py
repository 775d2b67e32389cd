"""Emotions of the faces in a photo: detect, crop as FER-2013 was made, classify."""

import math
import numbers
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from fer.atomic import atomic_file
from fer.data.labels import EMOTIONS
from fer.errors import DataError
from fer.inference.faces import crop_face, detect_faces
from fer.inference.photos import Photo, read_photo
from fer.inference.runtime import OnnxModel, class_probabilities, load_classifier
from fer.models.pretrained import pretrained_path

UNCERTAIN = "uncertain"  # the label of a face whose top probability is below the min_confidence asked for


def default_model_path() -> Path:
    """The shipped model's file (see MODEL_CARD.md)."""
    return pretrained_path()


@cache
def default_model() -> OnnxModel:
    """The shipped model on onnxruntime, loaded once per process."""
    return load_classifier("shipped")


def model_or_default(model, raw: bool = False):
    """load_classifier(model, raw), with the shipped model's calibrated probabilities loaded once per process."""
    shipped = model is None or (isinstance(model, str) and model == "shipped")
    return default_model() if shipped and not raw else load_classifier(model, raw=raw)


def check_min_confidence(min_confidence: float) -> float:
    """min_confidence as a float; a DataError unless it is a number from 0 to 1."""
    if isinstance(min_confidence, bool | np.bool_) or not isinstance(min_confidence, numbers.Real):
        raise DataError(f"min_confidence must be a number from 0 to 1 (got {min_confidence!r})")
    if not (math.isfinite(float(min_confidence)) and 0 <= float(min_confidence) <= 1):
        raise DataError(f"min_confidence must be a number from 0 to 1 (got {min_confidence!r})")
    return float(min_confidence)


def confident_label(probabilities: np.ndarray, min_confidence: float = 0.0) -> str:
    """The most probable emotion, or UNCERTAIN where its probability, as printed (4 places), is below min_confidence."""
    best = int(np.argmax(probabilities))
    return EMOTIONS[best] if round(float(probabilities[best]), 4) >= min_confidence else UNCERTAIN


def predict(image: "str | Path | Image.Image | np.ndarray", model=None, min_confidence: float = 0.0) -> list[dict]:
    """Per face found: its box (x, y, width, height) in the original image, label and the 7 probabilities.

    model: None (the shipped model) or "fast", both on onnxruntime, with calibrated probabilities (MODEL_CARD.md);
    a .onnx or .keras file; or a model object (fer.load_pretrained(name, runtime="onnx", raw=True) for the
    uncalibrated ones, or any keras.Model taking 48x48x1 gray 0..255).
    min_confidence: a face whose top probability is lower is labelled "uncertain" (its probabilities are kept).
    """
    return predict_photo(read_photo(image), model, min_confidence)


def predict_photo(photo: Photo, model=None, min_confidence: float = 0.0) -> list[dict]:
    min_confidence = check_min_confidence(min_confidence)
    model = model_or_default(model)
    gray = photo.image.convert("L")
    boxes = detect_faces(np.asarray(gray))
    if not boxes:
        return []
    faces = np.stack([crop_face(gray, box) for box in boxes])[..., np.newaxis].astype(np.float32)
    probabilities = class_probabilities(model, faces)
    return [
        {
            "box": [int(round(value * photo.scale)) for value in box],
            "label": confident_label(row, min_confidence),
            "probabilities": {name: round(float(p), 4) for name, p in zip(EMOTIONS, row)},
        }
        for box, row in zip(boxes, probabilities)
    ]


def annotate(photo: Photo, faces: list[dict], path: Path) -> Path:
    """Save a copy of the photo with each face's box and label drawn on it."""
    image = photo.image.copy()
    draw = ImageDraw.Draw(image)
    line = max(2, max(image.size) // 250)
    font_size = max(14, max(image.size) // 28)
    for face in faces:
        x, y, width, height = (value / photo.scale for value in face["box"])
        draw.rectangle((x, y, x + width, y + height), outline=(0, 220, 0), width=line)
        text = f"{face['label']} {max(face['probabilities'].values()):.2f}"
        text_box = draw.textbbox((x, y), text, font_size=font_size)
        top = max(0, y - (text_box[3] - text_box[1]) - 2 * line)
        text_box = draw.textbbox((x, top), text, font_size=font_size)
        draw.rectangle((text_box[0] - line, text_box[1] - line, text_box[2] + line, text_box[3] + line), fill=(0, 0, 0))
        draw.text((x, top), text, fill=(0, 230, 0), font_size=font_size)
    with atomic_file(path) as handle:
        image.save(handle, format="PNG")
    return path
