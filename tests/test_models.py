import keras
import numpy as np
import pytest

import fer
from fer.models.architectures import build_ensemble, networks, with_dtype
from fer.models.files import load_model, save_model
from tests.conftest import synthetic_faces


@pytest.mark.parametrize("name", ["csv_cnn", "image_cnn"])
def test_outputs_are_seven_probabilities(name):
    model = fer.build_model(name)
    images = np.random.default_rng(0).uniform(0, 255, size=(5, 48, 48, 1)).astype("float32")
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (5, 7)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_image_model_augments_only_in_training():
    model = fer.build_model("image_cnn")
    augmentation = keras.Sequential(model.layers[:4])  # rotation, shift, zoom, flip: in front of the CNN
    images = np.zeros((8, 48, 48, 1), dtype="float32")
    images[:, :, :10] = 255.0  # a bright band on the left: a flip or shift moves it
    np.testing.assert_array_equal(augmentation(images, training=False), images)
    augmented = keras.ops.convert_to_numpy(augmentation(images, training=True))
    assert np.abs(augmented - images).max() > 50, "training=True must change the faces"
    first, second = model(images, training=False), model(images, training=False)
    np.testing.assert_allclose(first, second)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        fer.build_model("resnet")


@pytest.mark.slow
def test_a_short_fit_lowers_the_loss():
    keras.utils.set_random_seed(0)
    images, labels, _ = synthetic_faces(210)
    x, y = images[..., None].astype("float32"), keras.utils.to_categorical(labels, 7)
    model = fer.build_model("csv_cnn")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    # Training-mode losses: batch norm's moving averages need far more steps than a short fit.
    losses = model.fit(x, y, epochs=6, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_saved_model_loads_in_safe_mode_with_the_same_outputs(tmp_path):
    model = fer.build_model("image_cnn")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = fer.load_model(path)
    images = np.random.default_rng(1).uniform(0, 255, size=(3, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(
        model.predict(images, verbose=0), loaded.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_model_with_code_in_a_lambda_layer_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "stranger.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        fer.load_model(path)


@pytest.mark.slow
def test_saved_models_leave_the_optimizer_state_out(tmp_path):
    from fer.models.files import save_model

    model = fer.build_model("csv_cnn")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    images, labels, _ = synthetic_faces(14)
    model.fit(images[..., None].astype("float32"), keras.utils.to_categorical(labels, 7), epochs=1, verbose=0)
    model.save(tmp_path / "with_optimizer.keras")
    save_model(model, tmp_path / "inference.keras")
    assert (tmp_path / "inference.keras").stat().st_size < 0.5 * (tmp_path / "with_optimizer.keras").stat().st_size
    loaded = fer.load_model(tmp_path / "inference.keras")
    np.testing.assert_allclose(
        loaded.predict(images[..., None], verbose=0), model.predict(images[..., None], verbose=0), atol=1e-6
    )
    assert not list(tmp_path.glob("*.tmp")) and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("name", ["csv_cnn", "fer_net"])
def test_float16_halves_the_file_and_float32_computes_with_its_weights(name, tmp_path):
    keras.utils.set_random_seed(0)
    model = fer.build_model(name)
    half = with_dtype(model, "float16")
    assert {variable.dtype for layer in half.layers[:-1] for variable in layer.weights} == {"float16"}
    assert {variable.dtype for variable in half.layers[-1].weights} == {"float32"}
    full_file, half_file = save_model(model, tmp_path / "full.keras"), save_model(half, tmp_path / "half.keras")
    assert half_file.stat().st_size < 0.55 * full_file.stat().st_size

    faces = np.random.default_rng(0).uniform(0, 255, size=(8, 48, 48, 1)).astype("float32")
    computed_in_float32 = load_model(half_file)  # fer's loader computes float16-stored weights in float32
    assert {variable.dtype for variable in computed_in_float32.weights} == {"float32"}
    probabilities = computed_in_float32.predict(faces, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, model.predict(faces, verbose=0), atol=5e-3)
    np.testing.assert_allclose(probabilities, half.predict(faces, verbose=0), atol=5e-3)


def test_with_dtype_converts_each_member_of_an_ensemble():
    members = [fer.build_model("csv_cnn"), fer.build_model("fer_net")]
    for index, member in enumerate(members):
        member.name = f"member{index}"
    half = with_dtype(build_ensemble(members), "float16")
    assert [network.name for network in networks(half)] == ["member0", "member1"]
    assert {variable.dtype for variable in half.weights} == {"float16", "float32"}
    probabilities = half.predict(np.full((2, 48, 48, 1), 100.0, dtype="float32"), verbose=0)
    assert probabilities.dtype == np.float32
