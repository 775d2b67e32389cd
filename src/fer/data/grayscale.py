"""Turn any image into a face as FER-2013 stores it: 48x48 gray, uint8."""

import numpy as np
from PIL import Image

from fer.data.labels import IMAGE_SIZE

HIGH_BIT_DEPTH_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def to_8bit(image: Image.Image) -> Image.Image:
    """The image with 8 bits a channel, whatever its mode: 16-bit and 32-bit gray are scaled, not clipped.

    Pillow's own convert() clips 16-bit values at 255, which turns most of a 16-bit face white.
    16-bit gray (modes I;16*, and I holding values up to 65535) is divided by 257, so an 8-bit
    face saved as 16 bits (v * 257) comes back exactly; float gray (F) in 0..1 is scaled by 255.
    """
    if image.mode not in HIGH_BIT_DEPTH_MODES:
        return image
    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    if image.mode.startswith("I;16") or (image.mode == "I" and 255 < peak <= 65535):
        values = values / 257
    elif image.mode == "F" and peak <= 1.0:
        values = values * 255
    elif image.mode == "I" and peak > 65535:
        values = values / 16843009  # 32-bit: 2**32 - 1 over 255
    gray = np.clip(np.nan_to_num(np.rint(values)), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L")


def to_gray_48(image: Image.Image) -> np.ndarray:
    """48x48 gray uint8; colour is converted to luminance and other sizes are resized (bilinear)."""
    image = to_8bit(image).convert("L")
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)
