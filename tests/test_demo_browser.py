"""fer demo in a real browser: `fer demo` on a free port, driven by headless Chromium (Debian's chromium and
chromium-driver packages, with Selenium), its camera a clip of the astronaut.

The screenshot of the answered photo is the README's docs/demo.png; to refresh it (make demo-screenshot):

    FER_DEMO_SCREENSHOT=docs/demo.png .venv/bin/pytest tests/test_demo_browser.py
"""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import cv2
import pytest
from PIL import Image, PngImagePlugin

from tests.test_demo import first_line, free_port

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"
SCREENSHOT_SOURCE = "tests/test_demo_browser.py"  # written into the PNG: the README's image says where it came from
WAIT_S = 90  # for an answer; the machine may be busy training
REQUIRED = os.environ.get("FER_REQUIRE_BROWSER") == "1"  # .ci/run sets it: in CI this test runs, never skips


def require(found, why: str):
    """found, or a skip (a failure where FER_REQUIRE_BROWSER=1) saying what is missing."""
    if not found:
        (pytest.fail if REQUIRED else pytest.skip)(
            f"{why} (apt-get install chromium chromium-driver; pip install selenium)"
        )
    return found


def camera_clip(path: Path) -> Path:
    """A Y4M clip of the astronaut for Chromium's fake camera (--use-file-for-fake-video-capture)."""
    frame = cv2.imread(str(SMILING))
    frame = cv2.copyMakeBorder(frame, 0, 0, 64, 64, cv2.BORDER_CONSTANT, value=(40, 40, 40))  # 640x512
    height, width = frame.shape[:2]
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            handle.write(b"FRAME\n" + planes)
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A browser on the page that a fresh `fer demo` serves; yields the Selenium driver."""
    require(shutil.which("chromium"), "no chromium")
    require(shutil.which("chromedriver"), "no chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require(False, "no selenium")
    try:
        import gradio  # noqa: F401
    except ImportError:
        require(False, 'no Gradio: pip install "fer2013-study[demo]"')
    folder = tmp_path_factory.mktemp("browser")
    log = (tmp_path_factory.mktemp("server") / "stderr.txt").open("w+")  # a file: a full pipe would stall the server
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fer.cli", "demo", "--port", str(port)],
        env={**os.environ, "TMPDIR": str(folder)},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1280,1180",
        "--use-fake-ui-for-media-stream",  # camera permission granted
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_clip(folder / 'camera.y4m')}",
    ):
        options.add_argument(argument)
    driver = None
    try:
        assert first_line(server).startswith(f"fer demo: serving on http://127.0.0.1:{port}")
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        driver.get(f"http://127.0.0.1:{port}/")
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.communicate(timeout=60)
        log.seek(0)
        errors = log.read()
        log.close()
        assert "Traceback" not in errors, errors


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.25).until(lambda _: condition(), message=f"no {what}")


def cells(driver, table_id: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(cell => cell.textContent.trim())", f"#{table_id} td"
    )


def toasts(driver) -> list[str]:
    return [toast.text for toast in driver.find_elements("css selector", "[data-testid=toast-body]")]


def chart_size(driver) -> tuple[int, int]:
    """The bar chart's image as the browser decoded it (0, 0 when there is none)."""
    return tuple(
        driver.execute_script(
            "const image = document.querySelector('#bar-chart img');"
            "return image ? [image.naturalWidth, image.naturalHeight] : [0, 0];"
        )
    )


def upload(driver, element_id: str, path: Path) -> None:
    selector = f"#{element_id} input[type=file]"
    wait_for(driver, lambda: driver.find_elements("css selector", selector), f"file input in #{element_id}")
    driver.find_element("css selector", selector).send_keys(str(path))


def test_a_bad_photo_is_a_message_then_the_astronaut_is_happy_with_a_bar_chart(page, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(SMILING.read_bytes()[:3000])
    upload(page, "photo-input", cut)
    message = wait_for(page, lambda: [text for text in toasts(page) if "cut.jpg" in text], "message for cut.jpg")
    assert "cut.jpg: unreadable image" in message[0]
    for close in page.find_elements("css selector", "[data-testid=toast-body] .toast-close"):
        close.click()

    upload(page, "photo-input", SMILING)
    wait_for(page, lambda: "happy" in cells(page, "faces-table") and chart_size(page)[0] > 0, "happy and bar chart")
    assert cells(page, "faces-table")[:2] == ["1", "happy"]
    wait_for(page, lambda: page.find_element("id", "photo-status").text.startswith("1 face: #1 happy"), "summary")
    width, height = chart_size(page)
    assert width > 200 and height > 100
    wait_for(page, lambda: not toasts(page), "toast to close")
    screenshot(page, tmp_path / "demo.png")


def test_a_photo_taken_with_the_webcam_is_answered(page):
    page.find_element("css selector", "#photo-input button[aria-label='Remove Image']").click()
    wait_for(page, lambda: not cells(page, "faces-table"), "cleared table")
    page.find_element("css selector", "#photo-input button[aria-label='Capture from camera']").click()
    page.find_element("xpath", "//*[@id='photo-input']//button[contains(., 'Click to Access Webcam')]").click()
    capture = "#photo-input button[aria-label='capture photo']"
    wait_for(page, lambda: page.find_elements("css selector", capture), "capture button")
    # On a busy machine the button comes before the fake camera's first frame: a capture then takes a blank image.
    playing = "const video = document.querySelector('#photo-input video'); return !!video && video.videoWidth > 0"
    wait_for(page, lambda: page.execute_script(playing), "a frame from the camera")
    page.find_element("css selector", capture).click()
    wait_for(page, lambda: cells(page, "faces-table")[:2] == ["1", "happy"], "happy from the webcam photo")


def test_the_webcam_stream_is_annotated_live_with_its_frame_rate(page):
    page.find_element("xpath", "//button[@role='tab' and contains(., 'Webcam stream')]").click()
    page.find_element("xpath", "//*[@id='camera']//button[contains(., 'Click to Access Webcam')]").click()
    wait_for(page, lambda: page.find_elements("css selector", "#camera button[aria-label='capture photo']"), "record")
    page.find_element("css selector", "#camera button[aria-label='capture photo']").click()
    pattern = re.compile(r"^(\d+\.\d) frames per second; #1 happy$")
    said = wait_for(page, lambda: pattern.match(page.find_element("id", "frame-rate").text), "frame rate")
    assert float(said[1]) > 0
    assert page.find_elements("css selector", "#live img")


def test_a_clip_is_answered_with_its_tracks_and_a_csv_to_download(page, tmp_path):
    image = cv2.imread(str(SMILING))
    clip = tmp_path / "holiday.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (image.shape[1], image.shape[0]))
    for _ in range(12):
        writer.write(image)
    writer.release()
    page.find_element("xpath", "//button[@role='tab' and contains(., 'Video')]").click()
    upload(page, "video-input", clip)
    said = "12 analysed frames with faces; 1 face track: #1 mostly happy (12 frames)"
    wait_for(page, lambda: page.find_element("id", "video-status").text == said, "the clip's summary")
    assert cells(page, "tracks-table")[:5:4] == ["1", "happy"]
    assert "holiday_faces\n.csv" in page.find_element("id", "video-csv").text  # name and suffix, as shown
    link = page.find_element("css selector", "#video-csv a").get_attribute("href")
    with urllib.request.urlopen(link, timeout=30) as answer:
        rows = answer.read().decode().splitlines()
    assert rows[0].startswith("path,frame,time_s,track") and len(rows) == 1 + 12
    assert not toasts(page)


def screenshot(driver, path: Path) -> None:
    """Save the whole page as PNG at path, and at $FER_DEMO_SCREENSHOT too where it is set (the README's
    docs/demo.png)."""
    height, chrome = driver.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(1280, height + chrome)
    driver.save_screenshot(str(path))
    with Image.open(path) as image:
        image.load()
    note = PngImagePlugin.PngInfo()
    note.add_text("Source", SCREENSHOT_SOURCE)
    for target in [path, os.environ.get("FER_DEMO_SCREENSHOT")]:
        if target:
            image.save(target, format="PNG", pnginfo=note, optimize=True)
