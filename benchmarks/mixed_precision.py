"""Training steps of fer_net in float32 against Keras' mixed_bfloat16 policy, on this machine's CPU.

    python -m benchmarks.mixed_precision [--steps N]   # default: 10 batches of 128 each

bfloat16 pays only where the CPU has native bf16 instructions (AVX512_BF16, AMX); elsewhere
TensorFlow converts back and forth around float32 kernels.
"""

import argparse
import os
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.readme_section import publish
from fer.models.architectures import build_fer_net
from fer.training.machine import cpu_flags, describe_machine, machine_summary

BATCH_SIZE = 128


def seconds_per_step(policy: str, steps: int) -> float:
    keras.mixed_precision.set_global_policy(policy)
    model = build_fer_net()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(BATCH_SIZE * 4, 48, 48, 1)).astype(np.float32)
    labels = keras.utils.to_categorical(rng.integers(0, 7, len(images)), 7)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH_SIZE).repeat()
    model.fit(batches, steps_per_epoch=2, epochs=1, verbose=0)  # warm-up: tracing
    started = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    native = sorted(flag for flag in cpu_flags() if "bf16" in flag or flag.startswith("amx"))
    float32 = seconds_per_step("float32", args.steps)
    bfloat16 = seconds_per_step("mixed_bfloat16", args.steps)
    lines = [
        f"{machine_summary(describe_machine())}; CPU bf16 flags: {', '.join(native) or 'none'}; "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        f"float32:        {float32 * 1000:8.0f} ms per step of {BATCH_SIZE}",
        f"mixed_bfloat16: {bfloat16 * 1000:8.0f} ms per step of {BATCH_SIZE}",
        f"mixed_bfloat16 / float32: {bfloat16 / float32:.2f}x the time",
    ]
    publish(
        "mixed-precision",
        "4. bfloat16 mixed precision",
        f"python -m benchmarks.mixed_precision --steps {args.steps}",
        lines,
    )


if __name__ == "__main__":
    main()
