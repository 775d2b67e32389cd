import numpy as np
import pytest
from PIL import Image

import fer
from fer.errors import DataError
from tests.conftest import synthetic_faces


def test_folders_parse_into_usages_by_file_name_prefix(tiny_folders):
    images, labels, usages = synthetic_faces(63)
    data = fer.load_image_folders(tiny_folders)
    for usage in ("Training", "PublicTest", "PrivateTest"):
        assert data[usage].images.shape == ((usages == usage).sum(), 48, 48, 1)
        assert sorted(data[usage].labels.tolist()) == sorted(labels[usages == usage].tolist())


def test_folder_names_map_onto_fer2013_order_not_alphabetical(tiny_folders):
    data = fer.load_image_folders(tiny_folders)
    # Synthetic faces carry their label as a bright band at rows label*6 .. label*6+6.
    for image, label in zip(data["Training"].images[..., 0], data["Training"].labels):
        assert int(np.argmax(image.mean(axis=1))) // 6 == label


def test_same_pixels_as_the_csv_form(tiny_folders, tiny_csv):
    from_folders, from_csv = fer.load_image_folders(tiny_folders), fer.load_csv(tiny_csv)
    for usage in from_csv:
        order_csv = np.lexsort(from_csv[usage].images.reshape(len(from_csv[usage]), -1).T)
        order_folders = np.lexsort(from_folders[usage].images.reshape(len(from_folders[usage]), -1).T)
        np.testing.assert_array_equal(from_csv[usage].images[order_csv], from_folders[usage].images[order_folders])


def test_colour_and_other_sizes_are_converted(tiny_folders):
    target = tiny_folders / "train" / "happy" / "Training_colour.png"
    Image.new("RGB", (96, 120), (200, 10, 10)).save(target)
    data = fer.load_image_folders(tiny_folders)
    assert data["Training"].images.shape[1:] == (48, 48, 1)
    assert len(data["Training"]) == 22


def test_second_load_comes_from_the_cache(tiny_folders, monkeypatch):
    from fer.data import image_folders

    first = fer.load_image_folders(tiny_folders)
    monkeypatch.setattr(image_folders, "decode_files", lambda root, files: pytest.fail("decoded again"))
    second = fer.load_image_folders(tiny_folders)
    np.testing.assert_array_equal(first["PrivateTest"].images, second["PrivateTest"].images)


def test_not_an_image_is_named(tiny_folders):
    bad = tiny_folders / "test" / "fear" / "PublicTest_notes.jpg"
    bad.write_text("these are notes, not a picture")
    with pytest.raises(DataError, match=r"PublicTest_notes.jpg: not an image"):
        fer.load_image_folders(tiny_folders)


def test_truncated_image_is_named(tiny_folders):
    good = next((tiny_folders / "train" / "sad").iterdir())
    target = tiny_folders / "train" / "sad" / "Training_broken.jpg"
    Image.open(good).convert("L").save(target, format="JPEG")
    target.write_bytes(target.read_bytes()[:200])
    with pytest.raises(DataError, match=r"Training_broken.jpg: unreadable image"):
        fer.load_image_folders(tiny_folders)


def test_folder_named_like_no_emotion(tiny_folders):
    (tiny_folders / "train" / "contempt").mkdir()
    with pytest.raises(DataError, match=r"contempt: folder named like no emotion"):
        fer.load_image_folders(tiny_folders)


def test_missing_class_folder(tiny_folders):
    for path in (tiny_folders / "test" / "disgust").iterdir():
        path.unlink()
    (tiny_folders / "test" / "disgust").rmdir()
    with pytest.raises(DataError, match=r"test: missing class folder disgust/"):
        fer.load_image_folders(tiny_folders)


def test_folder_with_no_images(tiny_folders):
    for path in (tiny_folders / "train" / "surprise").iterdir():
        path.unlink()
    with pytest.raises(DataError, match=r"surprise: folder has no images"):
        fer.load_image_folders(tiny_folders)


def test_missing_train_folder(tmp_path):
    (tmp_path / "test").mkdir()
    with pytest.raises(DataError, match=r"no train/ folder"):
        fer.load_image_folders(tmp_path)


def test_load_data_finds_either_form_in_a_directory(tiny_folders, tiny_csv):
    (tiny_folders / "fer2013.csv").write_bytes(tiny_csv.read_bytes())
    assert len(fer.load_data(tiny_folders, form="folders")["Training"]) == 21
    assert len(fer.load_data(tiny_folders, form="csv")["Training"]) == 21
    with pytest.raises(DataError, match="holds no FER-2013 data"):
        fer.load_data(tiny_folders / "train" / "happy", form="folders")
