"""fer demo under load: N photo uploads sent at once to a fresh `fer demo` on 127.0.0.1; how many were answered
with the right label, how many were lost, and the latency's p50 and p95.

    python -m benchmarks.demo_load [--uploads 20] [--model shipped] [--timeout 300]

The server is started here on a free port of 127.0.0.1 (never another address) and stopped at the end. Each upload
is docs/astronaut.jpg, through Gradio's client as the page sends it (upload, then queue); its right label is what
fer.predict says of the photo. Bounded: at most MAX_UPLOADS uploads, and every one not answered within --timeout
seconds of the first being sent counts as lost. The output replaces this script's section of benchmarks/README.md;
the exit code is 1 unless every upload was answered with the right label.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

import fer
from benchmarks.readme_section import publish
from fer.training.machine import cpu_summary

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTO = REPO_ROOT / "docs" / "astronaut.jpg"
HOST = "127.0.0.1"
MAX_UPLOADS = 100
START_S = 120  # for the server to import Gradio and load the models, on a busy machine


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(port: int, log) -> subprocess.Popen:
    """`fer demo` on HOST:port, once its page answers; a RuntimeError if it stops or is not up within START_S."""
    server = subprocess.Popen(
        [sys.executable, "-m", "fer.cli", "demo", "--host", HOST, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    log.seek(0)
    raise RuntimeError(f"fer demo did not start within {START_S} s: {log.read().decode(errors='replace')[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def send_at_once(url: str, uploads: int, model: str, timeout_s: float) -> list[dict]:
    """Per upload: its latency in seconds (None if lost), and the labels of the faces answered or the error."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False, max_workers=uploads)
    results = [{"latency": None, "labels": None, "error": None} for _ in range(uploads)]
    all_sent = threading.Barrier(uploads)
    started = time.monotonic()

    def send(index: int) -> None:
        all_sent.wait()
        sent = time.perf_counter()
        try:
            table = client.predict(handle_file(str(PHOTO)), model, api_name="/photo")[1]
            results[index]["labels"] = [row[1] for row in table["data"]]
        except Exception as error:  # noqa: BLE001 - any failure of one upload is counted, not raised
            results[index]["error"] = f"{type(error).__name__}: {error}"
        results[index]["latency"] = time.perf_counter() - sent

    threads = [threading.Thread(target=send, args=(index,), daemon=True) for index in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, started + timeout_s - time.monotonic()))
    return [result if result["latency"] is not None else {**result, "error": "lost"} for result in results]


def report(uploads: int, model: str, timeout_s: float) -> tuple[list[str], bool]:
    expected = [face["label"] for face in fer.predict(PHOTO, model=model)]
    load = os.getloadavg()[0]
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_server(port, log)
        try:
            started = time.perf_counter()
            results = send_at_once(f"http://{HOST}:{port}/", uploads, model, timeout_s)
            elapsed = time.perf_counter() - started
        finally:
            stop_server(server)
    answered = [result for result in results if result["labels"] is not None]
    right = sum(result["labels"] == expected for result in answered)
    lost = sum(result["error"] == "lost" for result in results)
    errors = [result["error"] for result in results if result["error"] not in (None, "lost")]
    latencies = np.array([result["latency"] for result in answered])
    lines = [
        f"{cpu_summary()}; load average {load:.1f} at the start",
        f"fer demo on {HOST}, {model} model: {uploads} uploads of {PHOTO.relative_to(REPO_ROOT)} sent at once, "
        f"answers awaited for {timeout_s:.0f} s",
        f"answered: {len(answered)} of {uploads}; right label ({', '.join(expected)}): {right}; "
        f"errors: {len(errors)}; lost: {lost}",
    ]
    if len(latencies):
        p50, p95 = np.percentile(latencies, [50, 95])
        lines.append(
            f"latency: p50 {p50:.2f} s, p95 {p95:.2f} s, max {latencies.max():.2f} s; "
            f"all {uploads} in {elapsed:.1f} s ({len(answered) / elapsed:.1f} answers/s)"
        )
    lines += [f"error: {error}" for error in sorted(set(errors))]
    return lines, right == uploads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20, help=f"1 to {MAX_UPLOADS} (default: 20)")
    parser.add_argument("--model", choices=("shipped", "fast"), default="shipped")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for all answers (default: 300)")
    args = parser.parse_args()
    if not 1 <= args.uploads <= MAX_UPLOADS or not 0 < args.timeout <= 3600:
        parser.error(f"--uploads must be 1 to {MAX_UPLOADS}, --timeout 1 to 3600 seconds")
    lines, all_right = report(args.uploads, args.model, args.timeout)
    command = "python -m benchmarks.demo_load" + (f" --uploads {args.uploads}" if args.uploads != 20 else "")
    command += f" --model {args.model}" if args.model != "shipped" else ""
    publish("demo-load", "9. fer demo: concurrent photo uploads", command, lines)
    return 0 if all_right else 1


if __name__ == "__main__":
    sys.exit(main())
