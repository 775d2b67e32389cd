"""Turn any image into a face as FER-2013 stores it: 48x48 gray, uint8."""

import numpy as np
from PIL import Image

from fer.data.labels import IMAGE_SIZE


def to_gray_48(image: Image.Image) -> np.ndarray:
    """48x48 gray uint8; colour is converted to luminance and other sizes are resized (bilinear)."""
    image = image.convert("L")
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)
