import keras
import numpy as np
import pytest

import fer
from fer.inference.gradcam import grad_cam, mean_attention_by_emotion
from fer.plots import plot_attention_by_emotion
from tests.conftest import synthetic_faces


@pytest.mark.slow
def test_grad_cam_heatmaps_and_the_attention_figure(tmp_path):
    keras.utils.set_random_seed(0)
    images, labels, _ = synthetic_faces(280)
    x, y = images[..., None].astype("float32"), keras.utils.to_categorical(labels, 7)
    model = fer.build_model("csv_cnn")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    heatmaps = grad_cam(model, x[:14], labels[:14])
    assert heatmaps.shape == (14, 48, 48)
    assert np.all((heatmaps >= 0) & (heatmaps <= 1))
    attention = mean_attention_by_emotion(model, x, labels)
    assert set(attention) == set(fer.EMOTIONS)
    assert attention["happy"]["face"].shape == (48, 48)
    plot_attention_by_emotion(attention, tmp_path / "attention.png")
    assert (tmp_path / "attention.png").stat().st_size > 10_000


def test_the_default_model_looks_at_the_smile_of_a_smiling_face():
    from pathlib import Path

    from fer.inference.faces import crop_face
    from fer.inference.photos import read_photo
    from fer.inference.predict import predict_photo
    from fer.models.pretrained import load_pretrained

    photo = read_photo(Path(__file__).parents[1] / "docs" / "astronaut.jpg")
    face = predict_photo(photo, load_pretrained())[0]
    crop = crop_face(photo.image.convert("L"), face["box"])[None, ..., None].astype("float32")
    heatmap = grad_cam(load_pretrained(), crop)[0]
    # fer_net's 10x10 maps are broad, so their single peak is not a stable landmark; the means over regions are
    mouth, eyes_and_forehead = heatmap[30:44, 12:36].mean(), heatmap[:24].mean()
    assert mouth > 1.3 * eyes_and_forehead
