"""Scoring models on FER-2013: metrics, test-time augmentation, significance tests."""

TTA_MODES = ("none", "flip", "ten-crop")  # single crop, + horizontal flip, 5 crops x flip
