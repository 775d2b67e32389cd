import keras
import numpy as np
import pytest

from fer.data.splits import LabeledImages
from fer.evaluation.metrics import evaluate, scores
from fer.evaluation.tta import shifted, tta_probabilities, tta_views


def numbered_images(count: int = 3) -> np.ndarray:
    return np.arange(count * 48 * 48, dtype=np.float32).reshape(count, 48, 48, 1)


def test_a_shift_moves_a_corner_crop_onto_the_centre_crop():
    images = numbered_images()
    np.testing.assert_array_equal(shifted(images, 4, 4)[:, 4:44, 4:44], images[:, 0:40, 0:40])
    np.testing.assert_array_equal(shifted(images, -4, 4)[:, 4:44, 4:44], images[:, 8:48, 0:40])
    np.testing.assert_array_equal(shifted(images, 4, -4)[:, 4:44, 4:44], images[:, 0:40, 8:48])


def test_ten_crop_gives_five_crops_and_their_mirrors():
    images = numbered_images()
    views = tta_views(images, "ten-crop")
    centres = {view[:, 4:44, 4:44].tobytes() for view in views}
    assert len(views) == 10 and len(centres) == 10
    np.testing.assert_array_equal(views[5], images[:, :, ::-1])
    assert len(tta_views(images, "flip")) == 2 and len(tta_views(images, "none")) == 1


def test_an_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown test-time augmentation 'five-crop'"):
        tta_views(numbered_images(), "five-crop")


def left_bright_model() -> keras.Model:
    """Class 0 when the left half is brighter than the right, class 1 otherwise (a flip swaps them)."""
    inputs = keras.Input((48, 48, 1))
    left = keras.ops.mean(inputs[:, :, :24], axis=(1, 2, 3))
    right = keras.ops.mean(inputs[:, :, 24:], axis=(1, 2, 3))
    logits = keras.ops.stack([left - right, right - left] + [left * 0 - 1e3] * 5, axis=1)
    return keras.Model(inputs, keras.ops.softmax(logits))


def test_flip_averages_the_image_with_its_mirror():
    images = np.zeros((2, 48, 48, 1), np.float32)
    images[0, :, :24] = 200
    images[1, :, :24] = 100
    single = tta_probabilities(left_bright_model(), images, "none")
    assert single[:, 0].min() > 0.99
    flipped = tta_probabilities(left_bright_model(), images, "flip")
    np.testing.assert_allclose(flipped[:, :2], 0.5, atol=1e-6)


def test_intervals_contain_the_score_and_narrow_with_more_images():
    rng = np.random.default_rng(0)

    def interval_width(count):
        labels = rng.integers(0, 7, count)
        predicted = np.where(rng.random(count) < 0.7, labels, (labels + 1) % 7)
        result = scores(labels, predicted, intervals=True)
        low, high = result["accuracy_ci95"]
        assert low < result["accuracy"] < high
        low_f1, high_f1 = result["macro_f1_ci95"]
        assert low_f1 < result["macro_f1"] < high_f1
        return high - low

    assert interval_width(4000) < interval_width(400) / 2


def test_evaluate_reports_the_chosen_tta():
    images = np.zeros((4, 48, 48, 1), np.float32)
    images[:, :, :24] = 200
    split = LabeledImages(images, np.zeros(4, np.int64))
    data = {"Training": split, "PublicTest": split, "PrivateTest": split}
    assert evaluate(left_bright_model(), data, ("PrivateTest",))["PrivateTest"]["accuracy"] == 1.0
    mirrored = LabeledImages(images[:, :, ::-1], split.labels)
    data["PrivateTest"] = mirrored
    assert evaluate(left_bright_model(), data, ("PrivateTest",))["PrivateTest"]["accuracy"] == 0.0
    assert "accuracy_ci95" in evaluate(left_bright_model(), data, ("PrivateTest",), "flip", True)["PrivateTest"]
