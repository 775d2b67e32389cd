import numpy as np
import pytest
from scripts.repository import SAMPLE_DATA_DIR

import fer
from fer.cli import main
from fer.models.export import run_tflite


@pytest.mark.parametrize("name", ["image_cnn", "fer_net"])
def test_tflite_export_agrees_with_keras_on_the_sample(tmp_path, name):
    model = fer.build_model(name)
    model_path = tmp_path / "model.keras"
    model.save(model_path)
    assert (
        main(["export", "--format", "tflite", "--model", str(model_path), "--output", str(tmp_path / "m.tflite")]) == 0
    )
    images = fer.load_data(SAMPLE_DATA_DIR, form="folders")["PrivateTest"].images.astype(np.float32)
    keras_probabilities = model.predict(images, verbose=0)
    lite_probabilities = run_tflite(tmp_path / "m.tflite", images)
    np.testing.assert_allclose(lite_probabilities, keras_probabilities, atol=1e-4)
    np.testing.assert_array_equal(lite_probabilities.argmax(axis=1), keras_probabilities.argmax(axis=1))
