"""The demo page (Gradio): a photo, the webcam's stream or a video in; the faces, tables and figures out."""

import inspect
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import gradio as gr

from fer.cli import VIDEO_SUFFIXES
from fer.demo import handlers
from fer.errors import DataError

MAX_UPLOAD = "50mb"  # Gradio refuses larger uploads before they reach a handler
MAX_QUEUE = 64  # requests waiting at once; more are told the queue is full, and the server keeps its memory
PHOTOS_AT_ONCE = 2  # one photo's faces are searched for (one at a time) while another's answer is encoded
STREAM_EVERY_S = 0.1  # the browser sends a webcam frame this often: at most 10 frames a second
OUTPUT_AGE_S = 300  # a video's CSV is copied into Gradio's cache when answered; the handler's copy goes after this
IMAGE_HEIGHT = 400  # pixels: the photo, its answer, the table and the chart fit on one laptop screen
# Recent Gradio releases keep each user's runs in their browser unless told not to; earlier ones keep none
RUN_HISTORY_OFF = {"run_history": False} if "run_history" in inspect.signature(gr.Blocks.launch).parameters else {}
MODEL_CHOICES = [("shipped: the most accurate", "shipped"), ("fast: one network, quicker", "fast")]
INTRO = """# Facial emotion recognition

The faces in a photo, your webcam's stream or a short video, and the seven FER-2013 emotions of each, from the
models fer ships (on onnxruntime, on this machine: nothing is sent elsewhere). `fer predict` does the same from
the command line."""


def build_app(outputs: Path) -> gr.Blocks:
    """The page; files it offers for download are written in outputs (a temporary folder)."""
    with gr.Blocks(title="fer demo", analytics_enabled=False, delete_cache=(600, 1800)) as app:
        gr.Markdown(INTRO)
        model = gr.Radio(MODEL_CHOICES, value="shipped", label="model", elem_id="model")
        with gr.Tab("Photo"):
            with gr.Row():
                photo = gr.Image(
                    sources=["upload", "webcam", "clipboard"],
                    type="filepath",
                    label="a photo: upload one, or take one with the webcam",
                    height=IMAGE_HEIGHT,
                    elem_id="photo-input",
                )
                annotated = gr.Image(label="faces found", interactive=False, height=IMAGE_HEIGHT, elem_id="annotated")
            photo_status = gr.Markdown(elem_id="photo-status")
            with gr.Row():
                faces = gr.Dataframe(label="faces: the seven probabilities", interactive=False, elem_id="faces-table")
                chart = gr.Plot(label="probabilities per face", show_label=False, format="png", elem_id="bar-chart")
        with gr.Tab("Webcam stream"):
            with gr.Row():
                camera = gr.Image(sources=["webcam"], streaming=True, label="your webcam", elem_id="camera")
                live = gr.Image(streaming=True, label="faces, live", interactive=False, elem_id="live")
            frame_rate = gr.Markdown(elem_id="frame-rate")
            recent = gr.State(())
        with gr.Tab("Video"):
            # A file, not gr.Video: browsers play few of the formats fer reads (MJPG .avi, mp4v .mp4, .mkv)
            video = gr.File(
                file_types=sorted(VIDEO_SUFFIXES),
                label=f"a short clip (up to {handlers.MAX_VIDEO_SECONDS} s)",
                elem_id="video-input",
            )
            video_status = gr.Markdown(elem_id="video-status")
            timeline = gr.Plot(
                label="emotions over time, per face track", show_label=False, format="png", elem_id="timeline"
            )
            tracks = gr.Dataframe(label="face tracks", interactive=False, elem_id="tracks-table")
            csv = gr.File(label="every face in every analysed frame (CSV)", elem_id="video-csv")

        # preprocess=False: the handlers read the uploaded file themselves, so that a bad one gets fer's message
        photo_outputs = [annotated, faces, chart, photo_status]
        photo.upload(
            on_photo,
            [photo, model],
            photo_outputs,
            preprocess=False,
            api_name="photo",
            concurrency_limit=PHOTOS_AT_ONCE,
        )
        photo.clear(lambda: (None, None, None, ""), None, photo_outputs, api_visibility="private")
        model.change(on_photo, [photo, model], photo_outputs, preprocess=False, api_visibility="private")
        video_outputs = [timeline, tracks, csv, video_status]
        camera.stream(
            on_frame, [camera, model, recent], [live, frame_rate, recent], stream_every=STREAM_EVERY_S, api_name="frame"
        )
        video.upload(
            partial(on_video, outputs=outputs),
            [video, model],
            video_outputs,
            preprocess=False,
            api_name="video",
        )
        video.clear(lambda: (None, None, None, ""), None, video_outputs, api_visibility="private")
    return app.queue(max_size=MAX_QUEUE)


def launch(app: gr.Blocks, host: str, port: int, max_file_size: str | int = MAX_UPLOAD) -> None:
    """Serve the page on host:port from a background thread; app.close() stops it."""
    app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        show_error=False,
        max_file_size=max_file_size,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["api"],
        **RUN_HISTORY_OFF,
    )


@contextmanager
def on_page() -> Iterator[None]:
    """A DataError shown on the page as one message (gr.Error), with no traceback in the server's log."""
    try:
        yield
    except DataError as error:
        message = str(error).replace("\r", "\\r").replace("\n", "\\n")
        raise gr.Error(message, title="This upload cannot be used", print_exception=False) from None


def on_photo(payload, model_name: str) -> tuple:
    """The photo's annotated copy, faces table, bar chart and summary; all empty when the photo is cleared."""
    if payload is None:
        return None, None, None, ""
    with on_page():
        path, name = handlers.uploaded(payload)
        result = handlers.analyse_photo(path, model_name, name)
    return result.annotated, result.faces, result.chart, result.summary


def on_frame(frame, model_name: str, recent: tuple[float, ...]) -> tuple:
    """A webcam frame with its faces drawn, and the frames per second the stream reaches."""
    if frame is None:
        return None, "", ()
    with on_page():
        return handlers.analyse_frame(frame, model_name, tuple(recent or ()))


def on_video(payload, model_name: str, outputs: Path) -> tuple:
    """The clip's timeline figure, per-track summary, CSV and summary line."""
    if payload is None:
        return None, None, None, ""
    remove_old_answers(outputs)
    folder = Path(tempfile.mkdtemp(prefix="video-", dir=outputs))
    try:
        with on_page():
            path, name = handlers.uploaded(payload)
            result = handlers.analyse_video(path, folder, model_name, name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return result.timeline, result.tracks, str(result.csv), result.summary


def remove_old_answers(outputs: Path, age_s: float = OUTPUT_AGE_S) -> None:
    """Remove the folders of answers older than age_s: Gradio serves its own copies of their files."""
    now = time.time()
    for folder in outputs.glob("video-*"):
        try:
            if now - folder.stat().st_mtime > age_s:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
