"""Time training epochs of fer_net: fed by our pipeline, by a plain image_dataset_from_directory, and unaugmented.

    python -m benchmarks.train_epoch [--steps N] [--rounds R]   # default: 1 round of whole epochs (28,709 images)

1. Our input pipeline: the folders decoded once into arrays (cached), tf.data shuffle, batch, prefetch.
2. The same model fed by keras.utils.image_dataset_from_directory, no cache and no prefetch:
   every epoch opens and decodes every PNG again.
3. Our pipeline with the model's augmentation layers removed: what augmentation costs.

The variants take turns, round after round, and each one's fastest round is reported: on this
shared machine a round sometimes takes much longer for reasons outside the process, and, as
timeit's documentation advises, the minimum is the figure such noise does not inflate.
"""

import argparse
import os
import time

import keras

from benchmarks.readme_section import publish
from fer.data.datasets import epoch_batches, load_data
from fer.data.labels import EMOTIONS
from fer.data.locations import default_data_dir
from fer.models.architectures import build_fer_net
from fer.training.machine import describe_machine, machine_summary

BATCH_SIZE = 128


def compiled(model: keras.Model, dataset) -> keras.Model:
    """The model compiled and warmed up on two batches (graph tracing is not timed)."""
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(dataset.take(2), epochs=1, verbose=0)
    return model


def seconds_to_train(model: keras.Model, dataset, steps: int | None) -> float:
    """Seconds to train on steps batches (all of them when None)."""
    started = time.perf_counter()
    model.fit(dataset.take(steps if steps else -1), epochs=1, verbose=0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data_dir()), help="a folder root with train/ and test/")
    parser.add_argument("--steps", type=int, help=f"batches of {BATCH_SIZE} per variant (default: a whole epoch)")
    parser.add_argument("--rounds", type=int, default=1, help="times each variant is timed in turns")
    args = parser.parse_args()
    training = load_data(args.data, form="folders")["Training"]
    ours, _ = epoch_batches(training, BATCH_SIZE, seed=42, first_epoch=0, epochs=1)  # what fer.train feeds
    plain = keras.utils.image_dataset_from_directory(
        f"{args.data}/train",
        label_mode="categorical",
        class_names=list(EMOTIONS),
        color_mode="grayscale",
        image_size=(48, 48),
        batch_size=BATCH_SIZE,
        seed=42,
    )
    keras.utils.set_random_seed(0)
    variants = {
        "our pipeline, augmented": (compiled(build_fer_net(), ours), ours),
        "image_dataset_from_directory, augmented": (compiled(build_fer_net(), plain), plain),
        "our pipeline, no augmentation": (compiled(build_fer_net(augment=False), ours), ours),
    }
    rounds = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (model, dataset) in variants.items():
            rounds[name].append(seconds_to_train(model, dataset, args.steps))
    timings = {name: min(seconds) for name, seconds in rounds.items()}
    images = min(len(training), args.steps * BATCH_SIZE) if args.steps else len(training)
    lines = [
        f"{machine_summary(describe_machine())}; load average {os.getloadavg()[0]:.1f} at the end",
        f"fer_net, batch {BATCH_SIZE}, {images:,} Training images per variant, fastest of {args.rounds}",
    ]
    for name, seconds in timings.items():
        each = ", ".join(f"{value:.1f}" for value in rounds[name])
        lines.append(f"{name + ':':42} {seconds:7.1f} s  ({seconds / images * 1e3:.2f} ms/image; rounds: {each} s)")
    ours_seconds, plain_seconds, unaugmented_seconds = timings.values()
    lines.append(f"image_dataset_from_directory / ours:       {plain_seconds / ours_seconds:.2f}x")
    lines.append(f"augmented / not augmented (ours):          {ours_seconds / unaugmented_seconds:.2f}x")
    command = "python -m benchmarks.train_epoch" + (f" --steps {args.steps}" if args.steps else "")
    publish("train-epoch", "2. One training epoch", f"{command} --rounds {args.rounds}", lines)


if __name__ == "__main__":
    main()
