"""Find faces in a photo with OpenCV's Haar cascade, which ships inside opencv-python-headless<5."""

from functools import cache

import cv2
import numpy as np
from PIL import Image

from fer.data.grayscale import to_gray_48

# alt2 rather than "default": on frontal faces it finds the same boxes with fewer false alarms.
CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
FACE_MARGIN = 0.15  # FER-2013 faces show a little forehead and chin around the detector's box


@cache
def face_cascade() -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE_FILE} is missing; install opencv-python-headless<5")
    return cascade


def smallest_face(shape: tuple[int, ...]) -> int:
    """The side of the smallest face looked for in an image of this shape (rows, columns)."""
    return max(24, min(shape[:2]) // 20)


def detect_faces(
    gray: np.ndarray, smallest: int | None = None, largest: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, width, height) of the frontal faces in a 2-D uint8 gray image, largest first; faces of sides
    smallest (by default smallest_face) to largest (by default any) pixels."""
    smallest = smallest or smallest_face(gray.shape)
    limits = {"minSize": (smallest, smallest)} | ({"maxSize": (largest, largest)} if largest else {})
    boxes = face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, **limits)
    boxes = [tuple(int(value) for value in box) for box in boxes]
    return sorted(boxes, key=lambda box: box[2] * box[3], reverse=True)


def crop_face(gray_image: Image.Image, box: tuple[int, int, int, int], margin: float = FACE_MARGIN) -> np.ndarray:
    """The face in box, widened by margin on each side, as FER-2013's 48x48 gray."""
    x, y, width, height = box
    pad_x, pad_y = int(round(width * margin)), int(round(height * margin))
    left, top = max(0, x - pad_x), max(0, y - pad_y)
    right, bottom = min(gray_image.width, x + width + pad_x), min(gray_image.height, y + height + pad_y)
    return to_gray_48(gray_image.crop((left, top, right, bottom)))
