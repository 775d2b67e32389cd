"""fer demo's server: the page on 127.0.0.1 by default, everything it writes in one temporary folder, removed when
it stops (Ctrl+C or SIGTERM)."""

import errno
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

from fer.errors import DataError

DEMO_EXTRA = 'pip install "fer2013-study[demo]"'
DEFAULT_HOST = "127.0.0.1"  # this machine only; --host 0.0.0.0 opens the page to the network
DEFAULT_PORT = 7860  # Gradio's


def require_demo_extra() -> None:
    """A DataError with the install command when Gradio (the demo extra) is not installed."""
    from fer.inference.runtime import installed

    if not installed("gradio"):
        raise DataError(f"fer demo needs Gradio, which this install lacks: {DEMO_EXTRA}")


def page_address(host: str, port: int) -> str:
    """The page's URL: an IPv6 address in brackets, once (--host ::1 and --host [::1] alike)."""
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def cannot_serve(host: str, port: int, reason: str) -> DataError:
    return DataError(f"cannot serve on {host}:{port} ({reason}); give another --port or --host")


def refuse_a_busy_port(host: str, port: int) -> None:
    """A DataError at once where host:port is in use, before the seconds Gradio takes to start; any other trouble
    with the address is left to the server, which says it (a bracketed or IPv6-only name, say)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise cannot_serve(host, port, "the port is in use") from None


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the demo page until interrupted; uploads, Gradio's cache and the page's downloads live in a temporary
    folder that is removed on the way out."""
    if not 0 < port < 65536:
        raise DataError(f"--port {port}: give a port from 1 to 65535")
    require_demo_extra()
    refuse_a_busy_port(host, port)
    folder = Path(tempfile.mkdtemp(prefix="fer-demo-"))
    # Every temporary file of this process goes in folder: Python's, Gradio's uploads and cache (read when Gradio
    # is imported), and the session file onnxruntime writes in TMPDIR when it is imported.
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    os.environ["GRADIO_TEMP_DIR"] = str(folder / "gradio")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        from fer.demo.app import build_app, launch

        outputs = folder / "outputs"
        outputs.mkdir()
        app = build_app(outputs)
        try:
            launch(app, host, port)
        except OSError as error:  # Gradio says a port in use is not "empty", and suggests its own settings
            raise cannot_serve(host, port, "the port is in use" if "empty port" in str(error) else str(error)) from None
        try:
            print(f"fer demo: serving on {page_address(host, port)} (Ctrl+C stops it)", flush=True)
            if host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):
                print(f"fer demo: note: --host {host} lets other machines reach this page", file=sys.stderr)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            app.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)
