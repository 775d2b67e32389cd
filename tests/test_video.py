"""Videos: short clips made here from real photos (no public video is available offline), read, tracked, classified."""

import io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import fer
from fer.errors import DataError
from fer.inference import video
from fer.inference.predict import predict
from fer.inference.timeline import write_timeline
from fer.inference.tracks import FaceTracker, iou_matrix
from fer.inference.video import (
    COLUMNS,
    IncompleteVideoError,
    predict_video,
    read_frames,
    track_summary,
    write_annotated_video,
)
from fer.models.pretrained import load_pretrained

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"  # NASA portrait of Eileen Collins, public domain
NO_FACE = Path(__file__).with_name("no_face_cat.jpg")
HEAD = Image.open(SMILING).convert("RGB").crop((100, 0, 350, 260))  # the face and a little around it
SIZE = (320, 240)
FPS = 24


def scene(faces: tuple = (), backdrop: Image.Image | None = None) -> np.ndarray:
    """A BGR frame: a plain background (or backdrop) with the smiling head pasted at each (x, y, side)."""
    image = backdrop.convert("RGB").resize(SIZE) if backdrop else Image.new("RGB", SIZE, (90, 110, 130))
    for x, y, side in faces:
        image.paste(HEAD.resize((side, side)), (x, y))
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


def write_clip(path: Path, frames: list[np.ndarray]) -> Path:
    codec = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), FPS, SIZE)
    assert writer.isOpened(), f"OpenCV cannot write {codec}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def moving_face(count: int) -> list[np.ndarray]:
    """The smiling head drifting right and growing: the tracker has to follow it."""
    return [scene([(20 + 4 * index, 30, 140 + 2 * index)]) for index in range(count)]


class CountingModel:
    """Stands in for a Keras model: says happy, and records the batch size of every call."""

    def __init__(self):
        self.batch_sizes: list[int] = []

    def __call__(self, faces, training=False):
        assert faces.shape[1:] == (48, 48, 1) and faces.dtype == np.float32 and not training
        self.batch_sizes.append(len(faces))
        probabilities = np.full((len(faces), 7), 0.05, dtype=np.float32)
        probabilities[:, fer.EMOTIONS.index("happy")] = 0.7
        return probabilities


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    cat = Image.open(NO_FACE)
    no_face = [scene(backdrop=cat) if index % 2 else scene() for index in range(12)]
    return {
        "smile_then_none": write_clip(folder / "smile_then_none.mp4", moving_face(12) + no_face),
        "face_avi": write_clip(folder / "face.avi", moving_face(24)),
        "face_mp4": write_clip(folder / "face.mp4", moving_face(24)),
        "two_faces": write_clip(
            folder / "two_faces.avi", [scene([(5 + 2 * i, 30, 150), (165 - 2 * i, 50, 150)]) for i in range(12)]
        ),
    }


@pytest.fixture(scope="module")
def shipped_model():
    return load_pretrained()


def test_a_smile_then_no_face_is_one_happy_track_in_the_first_half_only(clips, shipped_model):
    predictions = predict_video(clips["smile_then_none"], model=shipped_model)
    assert list(predictions.columns) == COLUMNS
    assert set(predictions["track"]) == {1}
    assert set(predictions["frame"]) <= set(range(12)) and len(predictions) >= 10  # the detector may miss one
    assert (predictions["label"] == "happy").all()
    summary = track_summary(predictions)
    assert summary[["track", "label"]].values.tolist() == [[1, "happy"]]
    assert summary.loc[0, "p_happy"] > 0.8
    assert summary.loc[0, "first_s"] == pytest.approx(predictions["frame"].min() / FPS, abs=1e-3)


def test_each_frame_searched_whole_is_processed_as_fer_predict_processes_a_photo(clips):
    model = fer.build_model("csv_cnn")  # untrained: only sameness matters
    predictions = predict_video(clips["face_mp4"], every=6, model=model, whole_frame_every=1)
    assert sorted(set(predictions["frame"])) == [0, 6, 12, 18]
    for number, _, rgb in read_frames(clips["face_mp4"], every=6):
        faces = predict(rgb, model)
        rows = predictions[predictions["frame"] == number]
        assert rows[["x", "y", "w", "h"]].values.tolist() == [face["box"] for face in faces]
        for (_, row), face in zip(rows.iterrows(), faces):
            assert row["label"] == face["label"]
            expected = [face["probabilities"][name] for name in fer.EMOTIONS]
            assert row[video.PROBABILITY_COLUMNS].tolist() == pytest.approx(expected, abs=2e-4)


def faces_per_frame(predictions: pd.DataFrame, frame_count: int) -> np.ndarray:
    return np.bincount(predictions["frame"], minlength=frame_count)


@pytest.mark.parametrize("whole_frame_every", [2, 4, 7])
def test_searching_near_known_faces_finds_every_face_a_whole_frame_search_finds_and_none_that_left(
    tmp_path, whole_frame_every
):
    """A face that moves, leaves and comes back, and a second face that arrives between two whole-frame searches."""
    frames = (
        [scene([(10 + 6 * i, 30, 120 + 2 * i)]) for i in range(9)]  # moving and growing
        + [scene() for _ in range(5)]  # gone
        + [scene([(150, 60, 130)])]  # back, elsewhere
        + [scene([(150 - 4 * i, 60, 130), (10, 40 + 2 * i, 110)]) for i in range(9)]  # and a second face
    )
    clip = write_clip(tmp_path / "faces.avi", frames)
    every_frame = predict_video(clip, model=CountingModel(), whole_frame_every=1)
    near = predict_video(clip, model=CountingModel(), whole_frame_every=whole_frame_every)
    found, found_near = faces_per_frame(every_frame, len(frames)), faces_per_frame(near, len(frames))
    assert found[9:14].sum() == 0 and found.sum() >= len(frames) - 5 + 9 - 3  # the clip is what it claims to be
    assert (found_near >= found).all(), f"per frame: {found_near.tolist()} against {found.tolist()}"
    assert found_near[9:14].sum() == 0  # a face that left is not carried on
    assert (found_near <= [1] * 9 + [0] * 5 + [1] + [2] * 9).all()  # no face found twice, none where none is
    for _, row in near.iterrows():  # each box lies on a face of its frame, as the whole-frame search's does
        same = every_frame[every_frame["frame"] == row["frame"]]
        if len(same):
            overlap = iou_matrix([tuple(row[["x", "y", "w", "h"]])], same[["x", "y", "w", "h"]].values.tolist())
            assert overlap.max() > 0.5
    assert near["frame"].is_monotonic_increasing


def test_large_frames_are_searched_shrunk_and_boxed_in_their_own_pixels(tmp_path):
    large = [cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_CUBIC) for frame in moving_face(3)]
    writer = cv2.VideoWriter(str(tmp_path / "large.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (1280, 960))
    for frame in large:
        writer.write(frame)
    writer.release()
    model = CountingModel()
    predictions = predict_video(tmp_path / "large.avi", model=model)
    assert max(1280, 960) > video.DETECTION_SIDE and len(predictions) == 3 and model.batch_sizes == [3]
    for (_, row), frame in zip(predictions.iterrows(), large):
        face = predict(frame[..., ::-1].copy(), model)[0]  # the photo path searches the full-size frame
        assert row[["x", "y", "w", "h"]].tolist() == pytest.approx(face["box"], abs=0.08 * face["box"][2])
        assert face["box"][2] > 100  # original pixels, not the shrunk copy's


def test_two_faces_get_two_track_ids_that_persist(clips):
    predictions = predict_video(clips["two_faces"], model=CountingModel())
    assert sorted(set(predictions["track"])) == [1, 2]
    left = predictions.groupby("track")["x"].max() < SIZE[0] // 2
    assert left.sum() == 1  # one track stays on the left, the other on the right, in every frame
    for _, rows in predictions.groupby("track"):
        assert rows["frame"].is_unique and len(rows) >= 10


def test_batching_classifies_many_frames_per_model_call(clips, monkeypatch):
    model = CountingModel()
    predictions = predict_video(clips["face_avi"], model=model)
    assert len(predictions) >= 20 and model.batch_sizes == [len(predictions)]
    monkeypatch.setattr(video, "BATCH_FACES", 5)
    model = CountingModel()
    again = predict_video(clips["face_avi"], model=model)
    assert model.batch_sizes[:-1] == [5] * (len(model.batch_sizes) - 1)
    assert len(model.batch_sizes) == math.ceil(len(again) / 5)
    pd.testing.assert_frame_equal(again, predictions)


@pytest.mark.parametrize(
    ("sampling", "frames"),
    [
        ({}, list(range(24))),
        ({"every": 5}, [0, 5, 10, 15, 20]),
        ({"fps": 6}, [0, 4, 8, 12, 16, 20]),
        ({"fps": 5}, [0, 5, 10, 15, 20]),
        ({"fps": 100}, list(range(24))),
        ({"fps": 0.5}, [0]),
    ],
)
def test_every_and_fps_pick_the_frames_and_times(clips, sampling, frames):
    read = [(number, seconds, rgb.shape) for number, seconds, rgb in read_frames(clips["face_avi"], **sampling)]
    assert [number for number, _, _ in read] == frames
    assert [seconds for _, seconds, _ in read] == pytest.approx([number / FPS for number in frames])
    assert {shape for _, _, shape in read} == {(SIZE[1], SIZE[0], 3)}


def test_predictions_hold_only_sampled_frames(clips):
    predictions = predict_video(clips["face_avi"], every=4, model=CountingModel())
    assert set(predictions["frame"]) <= {0, 4, 8, 12, 16, 20} and len(predictions) >= 5
    assert predictions["time_s"].tolist() == pytest.approx((predictions["frame"] / FPS).round(3).tolist())


@pytest.mark.parametrize(
    "sampling", [{"every": 0}, {"every": 1.5}, {"every": True}, {"fps": 0}, {"fps": -2}, {"every": 2, "fps": 3}]
)
def test_bad_sampling_is_a_clear_error(clips, sampling):
    with pytest.raises(DataError, match="every|fps"):
        predict_video(clips["face_avi"], model=CountingModel(), **sampling)


def test_timeline_and_annotated_video_are_written(clips, tmp_path):
    predictions = predict_video(clips["smile_then_none"], every=2, model=CountingModel())
    figure = write_timeline(predictions, tmp_path / "figures" / "timeline.png")
    assert Image.open(figure).size[0] > 400
    written = write_annotated_video(clips["smile_then_none"], predictions, tmp_path / "out" / "clip.mp4", every=2)
    assert written == tmp_path / "out" / "clip.mp4" and sorted(p.name for p in written.parent.iterdir()) == ["clip.mp4"]
    copy = cv2.VideoCapture(str(written))
    assert copy.isOpened() and copy.get(cv2.CAP_PROP_FRAME_COUNT) == 24  # every input frame, not only the sampled
    annotated = [copy.read()[1][..., ::-1] for _ in range(24)]
    original = [rgb for _, _, rgb in read_frames(clips["smile_then_none"])]
    drawn = [green_pixels(a) - green_pixels(b) > 100 for a, b in zip(annotated, original)]
    # Boxes on the face frames, including the unsampled ones (nearest analysed frame); none on the rest.
    assert drawn[:11] == [True] * 11 and drawn[13:] == [False] * 11


def green_pixels(rgb: np.ndarray) -> int:
    """Pixels of the first track's box colour; the clips have none of their own."""
    red, green, blue = (rgb[..., channel].astype(int) for channel in range(3))
    return int(((green > 170) & (red < 90) & (blue < 90)).sum())


def test_annotated_avi_and_timeline_without_faces(clips, tmp_path):
    empty = predict_video(write_clip(tmp_path / "nobody.avi", [scene()] * 6), model=CountingModel())
    assert empty.empty and list(empty.columns) == COLUMNS and track_summary(empty).empty
    assert write_timeline(empty, tmp_path / "none.svg").read_text().startswith("<?xml")
    written = write_annotated_video(clips["face_avi"], empty, tmp_path / "copy.avi")
    assert cv2.VideoCapture(str(written)).get(cv2.CAP_PROP_FRAME_COUNT) == 24


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "missing.mp4: no such file"),
        (lambda d: d, "not a file"),
        (lambda d: (d / "notes.mp4").write_text("hello, not a video") and d / "notes.mp4", "notes.mp4: not a video"),
        (lambda d: (d / "empty.mp4").write_bytes(b"") or d / "empty.mp4", "empty.mp4: empty file"),
        (lambda d: (d / "photo.mp4").write_bytes(SMILING.read_bytes()) and d / "photo.mp4", "still image (JPEG)"),
        (lambda d: write_clip(d / "no_frames.avi", []), "no_frames.avi: no frame could be decoded"),
        (lambda d: cut(write_clip(d / "cut.mp4", moving_face(4)), 0.7), "cut.mp4: not a video OpenCV can read"),
    ],
)
def test_bad_videos_get_one_clear_line(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError) as error:
        predict_video(path, model=CountingModel())
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not isinstance(error.value, IncompleteVideoError)


def cut(path: Path, fraction: float) -> Path:
    """Keep the first fraction of the file's bytes, as an interrupted download or copy does."""
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
    return path


def test_huge_frames_are_refused_before_decoding(clips, monkeypatch):
    monkeypatch.setattr(video, "MAX_FRAME_PIXELS", SIZE[0] * SIZE[1] - 1)
    monkeypatch.setattr(video, "decoded_frames", lambda *args: pytest.fail("a frame was decoded"))
    with pytest.raises(DataError, match=r"face.avi: frames too large \(320x240 pixels"):
        predict_video(clips["face_avi"], model=CountingModel())


def test_a_truncated_video_keeps_the_frames_before_the_cut(clips, tmp_path):
    whole = predict_video(clips["face_avi"], model=CountingModel())
    (tmp_path / "cut.avi").write_bytes(clips["face_avi"].read_bytes())
    with pytest.raises(IncompleteVideoError) as error:
        predict_video(cut(tmp_path / "cut.avi", 0.6), model=CountingModel())
    assert "cut.avi: only" in str(error.value) and "of 24 frames" in str(error.value)
    kept, decoded = error.value.predictions, error.value.frames_decoded
    assert 10 <= decoded < 24 and 10 <= len(kept) <= decoded
    # The last frame before the cut may be damaged; those before it are exactly the intact video's.
    before = [table[table["frame"] < decoded - 1].drop(columns="path") for table in (kept, whole)]
    pd.testing.assert_frame_equal(*before)


def test_a_video_corrupt_in_the_middle_keeps_the_frames_before_the_damage(clips, tmp_path):
    data = bytearray(clips["face_mp4"].read_bytes())
    tenth = len(data) // 10
    data[4 * tenth : 6 * tenth] = bytes(2 * tenth)  # the container's index, at the end, still says 24 frames
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with pytest.raises(IncompleteVideoError) as error:
        predict_video(damaged, model=CountingModel())
    kept = error.value.predictions
    assert list(kept.columns) == COLUMNS and len(kept) > 0
    assert set(kept["frame"]) <= set(range(error.value.frames_decoded))
    with pytest.raises(IncompleteVideoError):
        list(read_frames(damaged))


def test_outputs_that_cannot_be_written_are_clear_errors(clips, tmp_path):
    predictions = predict_video(clips["face_avi"], every=8, model=CountingModel())
    (tmp_path / "a_file").write_text("not a folder")
    blocked = tmp_path / "a_file" / "inside"
    for write in (
        lambda: write_timeline(predictions, blocked / "timeline.png"),
        lambda: write_annotated_video(clips["face_avi"], predictions, blocked / "clip.mp4", every=8),
    ):
        with pytest.raises(DataError, match="a_file/inside/.*cannot write"):
            write()
    with pytest.raises(DataError, match=r"timeline.xyz: cannot write a figure as \.xyz"):
        write_timeline(predictions, tmp_path / "timeline.xyz")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file"]  # no partial files left behind


def test_track_summary_takes_the_dominant_emotion_from_mean_probabilities():
    rows = []
    for frame, (happy, sad) in enumerate([(0.40, 0.35), (0.40, 0.35), (0.05, 0.90)]):
        probabilities = dict.fromkeys(video.PROBABILITY_COLUMNS, (1 - happy - sad) / 5)
        rows.append({"frame": frame, "time_s": frame / 10, "track": 7, **probabilities, "p_happy": happy, "p_sad": sad})
    rows.append({**rows[0], "track": 3, "frame": 2, "time_s": 0.2})
    summary = track_summary(pd.DataFrame(rows))
    # Track 7 is happy in two frames of three, but sad on average: mean 0.53 against 0.28.
    assert summary[["track", "frames", "first_s", "last_s", "label"]].values.tolist() == [
        [3, 1, 0.2, 0.2, "happy"],
        [7, 3, 0.0, 0.2, "sad"],
    ]
    assert summary.loc[1, "p_sad"] == pytest.approx(1.6 / 3, abs=1e-4)


def test_tracker_keeps_ids_through_reordering_and_short_gaps():
    tracker = FaceTracker(max_missed=2)
    assert tracker.update([(0, 0, 50, 50), (200, 0, 50, 50)]) == [1, 2]
    assert tracker.update([(205, 2, 50, 50), (4, 1, 50, 50)]) == [2, 1]
    assert tracker.update([(8, 2, 50, 50)]) == [1]  # 2 missed once
    assert tracker.update([(12, 2, 50, 50)]) == [1]  # missed twice
    assert tracker.update([(210, 2, 50, 50), (16, 2, 50, 50)]) == [2, 1]  # back within max_missed
    for _ in range(3):
        tracker.update([])
    assert tracker.update([(16, 2, 50, 50)]) == [3]  # gone too long: a new id


def test_tracker_maximises_total_overlap_rather_than_matching_greedily():
    # Two faces move 35 pixels left together. Greedy best-first would give the box at x=75 to track 1
    # (IoU 0.60 with x=50), leaving x=15 without a match (IoU 0.03 with x=110): a new id. Maximising the
    # total overlap pairs each box with the face it came from (IoU 0.48 each).
    tracker = FaceTracker()
    tracker.update([(50, 0, 100, 100), (110, 0, 100, 100)])
    assert tracker.update([(15, 0, 100, 100), (75, 0, 100, 100)]) == [1, 2]
    assert iou_matrix([(0, 0, 10, 10)], [(5, 0, 10, 10), (20, 20, 5, 5)]).tolist() == [[pytest.approx(1 / 3), 0.0]]


def test_progress_bar_only_on_a_terminal(clips, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    cases = [(Terminal(), True, 2, True), (Terminal(), False, 2, False), (io.StringIO(), True, 2, False)]
    cases.append((Terminal(), True, 8, False))  # 3 analysed frames: too few for a bar
    for stderr, progress, every, shown in cases:
        monkeypatch.setattr("sys.stderr", stderr)
        predict_video(clips["face_avi"], every=every, model=CountingModel(), progress=progress)
        assert (f"/{math.ceil(24 / every)}" in stderr.getvalue()) == shown
        assert shown or stderr.getvalue() == ""


def test_predict_video_is_public():
    assert fer.predict_video is predict_video


def test_fer_predict_on_a_clip_writes_one_happy_track_in_the_first_half_only(clips, tmp_path, capsys):
    from fer.cli import main

    out, plot, annotated = tmp_path / "out.csv", tmp_path / "timeline.png", tmp_path / "annotated"
    args = [str(clips["smile_then_none"]), "--csv", str(out), "--plot", str(plot), "--annotate", str(annotated)]
    assert main(["predict", *args, "--quiet"]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == COLUMNS and set(rows["track"]) == {1}
    assert (rows["label"] == "happy").all() and rows["frame"].max() < 12 and len(rows) >= 10
    assert "happy" in capsys.readouterr().out
    assert plot.stat().st_size > 0
    copy = cv2.VideoCapture(str(annotated / "smile_then_none_annotated.mp4"))
    assert int(copy.get(cv2.CAP_PROP_FRAME_COUNT)) == 24


def test_fer_predict_keeps_going_after_bad_videos_and_keeps_the_rows_before_damage(clips, tmp_path, capsys):
    from fer.cli import PREDICT_SOME_FAILED, main

    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("hello")
    damaged = tmp_path / "cut.avi"
    damaged.write_bytes(clips["face_avi"].read_bytes())
    cut(damaged, 0.6)
    out = tmp_path / "out.csv"
    model = tmp_path / "model.keras"
    fer.build_model("csv_cnn").save(model)
    inputs = [str(tmp_path / "missing.mp4"), str(not_a_video), str(damaged), str(clips["face_mp4"])]
    code = main(["predict", *inputs, "--model", str(model), "--csv", str(out), "--json", "--quiet"])
    assert code == PREDICT_SOME_FAILED
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    records = json.loads(captured.out)
    assert ["error" in record for record in records] == [True, True, True, False]
    rows = pd.read_csv(out)
    assert set(rows["path"]) == {str(damaged), str(clips["face_mp4"])}
