"""fer demo: the page's handlers on real photos and clips, and the page served on 127.0.0.1 and driven over HTTP."""

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import fer
from fer.demo import handlers
from fer.errors import DataError
from fer.inference.video import COLUMNS
from tests.test_predict import png_header_only

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"  # NASA portrait of Eileen Collins, public domain
NO_FACE = Path(__file__).with_name("no_face_cat.jpg")
UPLOAD_LIMIT = 1_000_000  # the test server's; the astronaut is 68 kB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_line(server: subprocess.Popen, timeout_s: float = 120) -> str:
    """The server's first line on stdout; empty if none came within timeout_s (it hangs, or stopped)."""
    ready, _, _ = select.select([server.stdout], [], [], timeout_s)
    return server.stdout.readline() if ready else ""


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def clip(path: Path, frames: int, fps: int = 10) -> Path:
    """An MJPG clip of the smiling astronaut, frames long."""
    image = cv2.imread(str(SMILING))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (image.shape[1], image.shape[0]))
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return path


def two_faces() -> np.ndarray:
    """The astronaut twice, side by side, the right one smaller: two faces, the left one largest."""
    image = Image.open(SMILING).convert("RGB")
    canvas = Image.new("RGB", (image.width * 2, image.height), "white")
    canvas.paste(image, (0, 0))
    canvas.paste(image.resize((image.width * 3 // 4, image.height * 3 // 4)), (image.width, 0))
    return np.asarray(canvas)


BAD_PHOTOS = {
    "not an image": (lambda d: written(d / "notes.jpg", b"hello"), "notes.jpg: not an image"),
    "empty file": (lambda d: written(d / "empty.png", b""), "empty.png: not an image"),
    "truncated": (lambda d: written(d / "cut.jpg", SMILING.read_bytes()[:3000]), "cut.jpg: unreadable image"),
    "huge": (lambda d: png_header_only(d / "huge.png", 12_000, 12_000), "huge.png: image too large (12000x12000"),
}


# The handlers, without a server


@pytest.mark.parametrize("model", ["shipped", "fast"])
def test_a_photo_gives_fer_predicts_faces_drawn_tabled_and_charted(model):
    result = handlers.analyse_photo(SMILING, model, name="me.jpg")
    expected = fer.predict(SMILING, model=model)
    assert [face["label"] for face in expected] == ["happy"]
    assert result.faces["label"].tolist() == ["happy"]
    assert result.faces[list(fer.EMOTIONS)].iloc[0].to_dict() == expected[0]["probabilities"]
    assert result.faces[["x", "y", "w", "h"]].iloc[0].tolist() == expected[0]["box"]
    assert result.summary.startswith("1 face: #1 happy")
    bars = result.chart.axes[0].patches
    assert [bar.get_width() for bar in bars] == [expected[0]["probabilities"][name] for name in fer.EMOTIONS]
    original = np.asarray(Image.open(SMILING).convert("RGB"))
    assert result.annotated.shape == original.shape
    x, y, width, height = expected[0]["box"]
    changed = np.any(result.annotated != original, axis=2)
    assert changed[y : y + height, x].mean() > 0.9  # the box's left side is drawn
    assert not changed[y + height // 4 : y + height * 3 // 4, x + width // 4 : x + width * 3 // 4].any()  # the face not


def test_each_face_gets_a_row_a_box_and_a_bar_chart(tmp_path):
    path = tmp_path / "two.png"
    Image.fromarray(two_faces()).save(path)
    result = handlers.analyse_photo(path)
    assert result.faces["face"].tolist() == [1, 2]
    widths = result.faces["w"].tolist()
    assert widths[0] > widths[1]  # largest first, as numbered on the photo
    assert len(result.chart.axes) == 2
    assert [len(axes.patches) for axes in result.chart.axes] == [7, 7]
    assert result.summary.startswith("2 faces: #1 happy")


def test_a_photo_without_a_face_says_so():
    result = handlers.analyse_photo(NO_FACE)
    assert result.faces.empty and list(result.faces.columns) == handlers.FACE_COLUMNS
    assert result.chart is None
    assert result.summary == "no face found"


@pytest.mark.parametrize("kind", BAD_PHOTOS)
def test_bad_photos_are_named_as_uploaded_not_by_the_servers_copy(tmp_path, kind):
    make, message = BAD_PHOTOS[kind]
    path = make(tmp_path)
    with pytest.raises(DataError) as error:
        handlers.analyse_photo(path, name=f"my {path.name}")
    assert f"my {message}" in str(error.value)
    assert str(tmp_path) not in str(error.value)


def test_an_unknown_model_is_refused():
    with pytest.raises(DataError, match="no model 'best'; choose shipped or fast"):
        handlers.analyse_photo(SMILING, "best")


def test_uploads_are_found_in_gradios_payloads(tmp_path):
    path = str(tmp_path / "a.jpg")
    assert handlers.uploaded({"path": path, "orig_name": "mine.jpg"}) == (Path(path), "mine.jpg")
    assert handlers.uploaded({"path": path, "orig_name": None}) == (Path(path), "a.jpg")
    assert handlers.uploaded(path) == (Path(path), "a.jpg")
    for nothing in (None, {}, {"path": None}, ""):
        with pytest.raises(DataError, match="nothing was uploaded"):
            handlers.uploaded(nothing)


def test_a_webcam_frame_is_annotated_and_the_frame_rate_measured():
    frame = np.asarray(Image.open(SMILING).convert("RGB"))
    annotated, text, times = handlers.analyse_frame(frame, "fast", (), clock=lambda: 100.0)
    assert annotated.shape == frame.shape and (annotated != frame).any()
    assert text == "measuring frames per second; #1 happy"
    assert times == (100.0,)
    _, text, times = handlers.analyse_frame(frame, "fast", (95.0, 99.0, 99.5), clock=lambda: 100.0)
    assert times == (99.0, 99.5, 100.0)  # the frame answered 5 s ago is outside the window
    assert text == "2.0 frames per second; #1 happy"
    _, text, _ = handlers.analyse_frame(np.zeros((120, 160, 3), np.uint8), "fast", (99.9,), clock=lambda: 100.0)
    assert text == "10.0 frames per second; no face"


def test_frame_rate_needs_two_frames_apart_in_time():
    assert handlers.frame_rate(()) is None
    assert handlers.frame_rate((3.0,)) is None
    assert handlers.frame_rate((3.0, 3.0)) is None
    assert handlers.frame_rate((1.0, 1.5, 2.0, 2.5, 3.0)) == 2.0


def test_a_clip_gives_its_tracks_timeline_and_csv(tmp_path):
    video = clip(tmp_path / "upload.avi", 12)
    result = handlers.analyse_video(video, tmp_path, "fast", name="my clip.avi")
    rows = pd.read_csv(result.csv)
    assert result.csv.parent == tmp_path and result.csv.name == "my_clip_faces.csv"
    assert list(rows.columns) == COLUMNS
    assert set(rows["path"]) == {"my clip.avi"}
    assert rows["frame"].tolist() == list(range(12))  # a 10 fps clip: every frame analysed
    assert result.tracks[["track", "frames", "label"]].values.tolist() == [[1, 12, "happy"]]
    assert result.timeline.axes[0].get_title(loc="left") == "track 1: mostly happy (12 frames)"
    assert result.summary == "12 analysed frames with faces; 1 face track: #1 mostly happy (12 frames)"


def test_a_longer_clip_is_sampled_about_ten_frames_a_second(tmp_path):
    result = handlers.analyse_video(clip(tmp_path / "fast.avi", 30, fps=30), tmp_path)
    assert pd.read_csv(result.csv)["frame"].tolist() == list(range(0, 30, 3))


def test_a_truncated_clip_gives_the_frames_before_the_damage_and_says_so(tmp_path):
    whole = clip(tmp_path / "whole.avi", 30)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = handlers.analyse_video(cut, tmp_path, "fast", name="holiday.avi")
    decoded = len(pd.read_csv(result.csv))
    assert 0 < decoded < 30
    assert f"holiday.avi: only {decoded} of 30 frames could be decoded" in result.summary
    assert str(tmp_path) not in result.summary


BAD_VIDEOS = {
    "no frames": (lambda d: clip(d / "empty.avi", 0), "empty.avi: no frame could be decoded"),
    "not a video": (lambda d: written(d / "notes.mp4", b"hello"), "notes.mp4: not a video"),
    "a photo": (
        lambda d: written(d / "still.mp4", SMILING.read_bytes()),
        r"still.mp4: a still image \(JPEG\), not a video",
    ),
    "empty file": (lambda d: written(d / "nothing.mp4", b""), "nothing.mp4: empty file"),
}


@pytest.mark.parametrize("kind", BAD_VIDEOS)
def test_bad_videos_get_one_clear_message(tmp_path, kind):
    make, message = BAD_VIDEOS[kind]
    with pytest.raises(DataError, match=message):
        handlers.analyse_video(make(tmp_path), tmp_path)
    assert list(tmp_path.glob("*.csv")) == []


def test_a_clip_longer_than_the_page_takes_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(handlers, "MAX_VIDEO_SECONDS", 1)
    with pytest.raises(DataError, match=r"long.avi: 2 s long; this page takes clips of up to 1 s"):
        handlers.analyse_video(clip(tmp_path / "long.avi", 20), tmp_path)


# The page, served on 127.0.0.1 and driven as a browser drives it (Gradio's HTTP API)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo app on a free port of 127.0.0.1, its files in a temporary folder; (url, outputs folder)."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(folder / "gradio"))  # before Gradio is imported, where it is first
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        pytest.importorskip("gradio", reason='the demo extra is not installed: pip install "fer2013-study[demo]"')
        from fer.demo.app import build_app, launch

        app = build_app(folder)
        port = free_port()
        launch(app, "127.0.0.1", port, max_file_size=UPLOAD_LIMIT)
        try:
            yield f"http://127.0.0.1:{port}/", folder
        finally:
            app.close()


@pytest.fixture(scope="module")
def client(served, tmp_path_factory):
    from gradio_client import Client

    return Client(served[0], verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def ask_photo(client, path: Path, model: str = "shipped") -> tuple:
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), model, api_name="/photo")


def assert_answered(client) -> None:
    """A good request after a bad one: the server still serves, with the right answer."""
    annotated, table, chart, summary = ask_photo(client, SMILING)
    assert [row[1] for row in table["data"]] == ["happy"]
    assert summary.startswith("1 face: #1 happy")
    assert Path(annotated).is_file() and chart is not None


def test_the_page_answers_a_photo_with_each_model(client):
    for model in ("shipped", "fast"):
        _, table, _, _ = ask_photo(client, SMILING, model)
        expected = fer.predict(SMILING, model=model)[0]
        assert table["data"][0][1:9] == [expected["label"], *expected["probabilities"].values()]


@pytest.mark.parametrize("kind", BAD_PHOTOS)
def test_a_bad_photo_is_one_message_on_the_page_and_the_next_photo_is_answered(client, tmp_path, capfd, kind):
    from gradio_client.exceptions import AppError

    make, message = BAD_PHOTOS[kind]
    with pytest.raises(AppError) as error:
        ask_photo(client, make(tmp_path))
    assert message in str(error.value)
    assert "gradio" not in str(error.value)  # named as uploaded, not by the server's copy
    assert "Traceback" not in capfd.readouterr().err
    assert_answered(client)


@pytest.mark.parametrize("kind", BAD_VIDEOS)
def test_a_bad_video_is_one_message_on_the_page_and_the_next_request_is_answered(client, tmp_path, capfd, kind):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    make, message = BAD_VIDEOS[kind]
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(make(tmp_path))), "fast", api_name="/video")
    assert "Traceback" not in capfd.readouterr().err
    assert_answered(client)


def test_an_upload_over_the_limit_is_refused_and_the_next_request_is_answered(served, client, tmp_path):
    import httpx

    url, _ = served
    big = tmp_path / "big.jpg"
    big.write_bytes(SMILING.read_bytes() * (UPLOAD_LIMIT // SMILING.stat().st_size + 1))
    with big.open("rb") as handle:
        answer = httpx.post(f"{url}gradio_api/upload", files={"files": ("big.jpg", handle, "image/jpeg")}, timeout=60)
    assert answer.status_code == 413
    assert f"maximum allowed size of {UPLOAD_LIMIT} bytes" in answer.text
    assert_answered(client)


def test_a_clip_is_answered_with_its_timeline_tracks_and_csv(client, served, tmp_path):
    from gradio_client import handle_file

    timeline, tracks, csv, summary = client.predict(
        handle_file(str(clip(tmp_path / "holiday.avi", 12))), "fast", api_name="/video"
    )
    assert timeline is not None
    assert [row[0:5:4] for row in tracks["data"]] == [[1, "happy"]]
    rows = pd.read_csv(csv)
    assert len(rows) == 12 and set(rows["path"]) == {"holiday.avi"}
    assert summary.startswith("12 analysed frames with faces; 1 face track: #1 mostly happy")
    assert len(list(served[1].glob("video-*/*.csv"))) >= 1  # the handler's copy, in the app's folder


def test_answers_older_than_their_age_are_removed(tmp_path):
    pytest.importorskip("gradio")
    from fer.demo.app import remove_old_answers

    old, new = tmp_path / "video-old", tmp_path / "video-new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "faces.csv").write_text("path\n")
    os.utime(old, (time.time() - 1000, time.time() - 1000))
    remove_old_answers(tmp_path, age_s=300)
    assert not old.exists() and (new / "faces.csv").is_file()


# The fer demo command


def run_fer(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fer.cli", *args], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_the_readmes_screenshot_is_the_one_the_browser_test_took():
    from tests.test_demo_browser import SCREENSHOT_SOURCE

    assert "![fer demo answering a photo](docs/demo.png)" in (REPO_ROOT / "README.md").read_text()
    with Image.open(REPO_ROOT / "docs" / "demo.png") as screenshot:
        assert screenshot.info.get("Source") == SCREENSHOT_SOURCE  # written by its screenshot(), not by hand


def test_fer_help_does_not_import_gradio():
    code = "import sys; from fer.cli import build_parser; build_parser(); print('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert "--port" in run_fer("demo", "--help").stdout


def test_without_gradio_fer_demo_says_how_to_install_it(monkeypatch, capsys):
    from fer.cli import main
    from fer.inference import runtime

    monkeypatch.setattr(runtime, "installed", lambda module: module != "gradio")
    assert main(["demo"]) == 2
    install = 'pip install "fer2013-study[demo]"'
    assert capsys.readouterr().err == f"fer demo: error: fer demo needs Gradio, which this install lacks: {install}\n"


def test_a_port_out_of_range_is_one_line(capsys):
    from fer.cli import main

    assert main(["demo", "--port", "70000"]) == 2
    assert capsys.readouterr().err == "fer demo: error: --port 70000: give a port from 1 to 65535\n"


def test_a_busy_port_is_one_line_without_a_traceback(tmp_path):
    pytest.importorskip("gradio")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_fer("demo", "--port", str(port), env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.startswith(f"fer demo: error: cannot serve on 127.0.0.1:{port} (the port is in use)")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # its temporary folder removed


@pytest.mark.slow  # Gradio starts
def test_a_port_taken_after_the_early_check_is_still_one_line_from_the_server(tmp_path):
    pytest.importorskip("gradio")
    without_the_early_check = (
        "import sys, fer.demo.serve as serve; serve.refuse_a_busy_port = lambda *_: None; "
        "from fer.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", without_the_early_check, "demo", "--port", str(port)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)},
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"fer demo: error: cannot serve on 127.0.0.1:{port} (the port is in use)")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # its temporary folder removed


def test_fer_demo_serves_on_localhost_writes_only_in_its_temporary_folder_and_removes_it(tmp_path):
    pytest.importorskip("gradio")
    from gradio_client import Client, handle_file

    scratch, downloads = tmp_path / "tmp", tmp_path / "downloads"
    scratch.mkdir()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fer.cli", "demo", "--port", str(port)],
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first_line(server) == f"fer demo: serving on http://127.0.0.1:{port} (Ctrl+C stops it)\n"
        try:
            own_address = socket.gethostbyname(socket.gethostname())
        except OSError:  # a machine whose name does not resolve: no other address to try
            own_address = "127.0.0.1"
        if not own_address.startswith("127."):
            with socket.socket() as probe:
                assert probe.connect_ex((own_address, port)) != 0  # served on 127.0.0.1 only
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(downloads))
        table = client.predict(handle_file(str(SMILING)), "fast", api_name="/photo")[1]
        assert table["data"][0][1] == "happy"
        written = [path for path in scratch.rglob("*") if path.is_file()]
        assert any(path.suffix in (".jpg", ".webp", ".png") for path in written)  # the upload and the answer
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "http://127.0.0.1:7860"), ("::1", "http://[::1]:7860"), ("[::1]", "http://[::1]:7860")],
)
def test_the_page_address_brackets_an_ipv6_host_once(host, address):
    from fer.demo.serve import page_address

    assert page_address(host, 7860) == address
