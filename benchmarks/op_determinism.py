"""What TensorFlow's op determinism would cost: fer_net training steps with and without
`tf.config.experimental.enable_op_determinism()`, each in a new process (it cannot be turned off), taking turns.

    python -m benchmarks.op_determinism [--steps N] [--rounds R]

fer.train does not enable it: on this CPU the same seed already gives the same predictions
(tests/test_training.py), so this is the price a user would pay for asking for it anyway.
"""

import argparse
import os
import subprocess
import sys

from benchmarks.readme_section import publish
from fer.training.machine import describe_machine, machine_summary

STEPS_IN_A_PROCESS = """
import sys, time
import keras, numpy as np, tensorflow as tf
from fer.models.architectures import build_fer_net
if sys.argv[2] == "on":
    tf.config.experimental.enable_op_determinism()
keras.utils.set_random_seed(0)
model = build_fer_net()
model.compile(optimizer="adam", loss="categorical_crossentropy")
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, size=(128 * 4, 48, 48, 1)).astype(np.float32)
labels = keras.utils.to_categorical(rng.integers(0, 7, len(images)), 7)
batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(128).repeat()
model.fit(batches, steps_per_epoch=2, epochs=1, verbose=0)
started = time.perf_counter()
model.fit(batches, steps_per_epoch=int(sys.argv[1]), epochs=1, verbose=0)
print((time.perf_counter() - started) / int(sys.argv[1]))
"""


def seconds_per_step(steps: int, determinism: str) -> float:
    output = subprocess.run(
        [sys.executable, "-c", STEPS_IN_A_PROCESS, str(steps), determinism], capture_output=True, text=True, check=True
    )
    return float(output.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = {"off": [], "on": []}
    for _ in range(args.rounds):
        for determinism, times in rounds.items():
            times.append(seconds_per_step(args.steps, determinism))
    off, on = min(rounds["off"]), min(rounds["on"])
    lines = [
        f"{machine_summary(describe_machine())}; load average {os.getloadavg()[0]:.1f} at the end",
        f"fer_net, batch 128, {args.steps} steps per process, fastest of {args.rounds} processes each",
    ]
    for label, determinism in (("default (fer.train)", "off"), ("enable_op_determinism()", "on")):
        each = ", ".join(f"{value * 1000:.0f}" for value in rounds[determinism])
        lines.append(f"{label + ':':26} {min(rounds[determinism]) * 1000:6.0f} ms per step  (rounds: {each} ms)")
    lines.append(f"op determinism / default: {on / off:.2f}x the time")
    publish(
        "op-determinism",
        "8. What op determinism would cost",
        f"python -m benchmarks.op_determinism --steps {args.steps} --rounds {args.rounds}",
        lines,
    )


if __name__ == "__main__":
    main()
