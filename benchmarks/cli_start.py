"""Cold start of the `fer` command: `fer --help`, `fer --version` and `fer predict` on one photo (on onnxruntime,
and on Keras with the shipped .keras file), against `python -c "import tensorflow"`, each a new process, side by
side in one run; the fastest of a few rounds.

python benchmarks/cli_start.py [--rounds 5]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.readme_section import REPO_ROOT, publish
from fer.models.pretrained import pretrained_path

PHOTO = REPO_ROOT / "docs" / "astronaut.jpg"
FER = str(Path(sys.executable).with_name("fer"))


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    commands = {
        'python -c "import tensorflow"': [sys.executable, "-c", "import tensorflow"],
        "fer --help": [FER, "--help"],
        "fer --version": [FER, "--version"],
        f"fer predict {PHOTO.relative_to(REPO_ROOT)}": [FER, "predict", str(PHOTO)],
        f"fer predict --model fer_model.keras {PHOTO.relative_to(REPO_ROOT)}": [
            FER,
            "predict",
            "--model",
            str(pretrained_path()),
            str(PHOTO),
        ],
    }
    times = {name: [] for name in commands}
    for _ in range(rounds):  # the variants take turns, so a slow spell of the machine hits them all
        for name, command in commands.items():
            times[name].append(seconds(command))
    fastest = {name: min(values) for name, values in times.items()}
    tensorflow = fastest['python -c "import tensorflow"']
    lines = [f"{os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.1f} at the end; fastest of {rounds}"]
    for name, value in fastest.items():
        rounds_text = ", ".join(f"{round_seconds:.2f}" for round_seconds in times[name])
        lines.append(f"{name:<56} {value:6.2f} s  ({value / tensorflow:5.2f}x import tensorflow; rounds {rounds_text})")
    publish("cli-start", "7. Cold start of the fer command", "python -m benchmarks.cli_start", lines)


if __name__ == "__main__":
    main()
