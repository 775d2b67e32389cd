"""The registered selection rule, on PublicTest alone: every network alone, and every combination with their
probabilities averaged, whose file fits in MAX_MODEL_BYTES; the highest accuracy wins, ties going to fewer networks,
then registration order. And the fast rule: the most accurate network no slower per face than a reference."""

import itertools
import tempfile
from pathlib import Path

import keras
import numpy as np

from fer.evaluation.metrics import accuracy
from fer.evaluation.tta import tta_probabilities
from fer.models.architectures import build_ensemble, with_dtype
from fer.models.files import save_model
from fer.models.pretrained import MAX_MODEL_BYTES

# A combination's file is its networks' own files summed to within a few KB (one zip and one config where
# each had its own: 0.5 to 4.8 KB measured for 2 to 5 networks), so only a combination whose sum lies this close
# to the limit is built and saved to measure; each one measured must lie within half of it, or the choice stops.
SIZE_MARGIN_BYTES = 50_000


def combinations(names: list[str]) -> list[str]:
    """Every network alone, and every combination of two or more averaged, named "a + b": by size, then in
    registration order, the order in which the rule breaks ties."""
    return [" + ".join(chosen) for size in range(1, len(names) + 1) for chosen in itertools.combinations(names, size)]


def combination_model(members: dict[str, keras.Model], name: str) -> keras.Model:
    networks = [members[member] for member in name.split(" + ")]
    return networks[0] if len(networks) == 1 else build_ensemble(networks)


def saved_bytes(model: keras.Model) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        return save_model(model, Path(scratch) / "model.keras").stat().st_size


def files_bytes(members: dict[str, keras.Model]) -> dict[str, int]:
    """Each network's own saved file's size, weights as in members."""
    return {name: saved_bytes(member) for name, member in members.items()}


def summed_bytes(alone: dict[str, int], name: str) -> int:
    """Combination name's networks' own files' sizes summed (files_bytes)."""
    return sum(alone[member] for member in name.split(" + "))


def too_large_combinations(members: dict[str, keras.Model], names: list[str], alone: dict | None = None) -> list[str]:
    """The combinations whose file, weights as in members, would be larger than MAX_MODEL_BYTES: those whose
    networks' files (alone, files_bytes) sum to more than SIZE_MARGIN_BYTES past it, and those nearer that are
    larger once built and saved."""
    alone = alone or files_bytes(members)
    too_large = []
    for name in names:
        size = summed_bytes(alone, name)
        if abs(size - MAX_MODEL_BYTES) <= SIZE_MARGIN_BYTES:
            summed, size = size, saved_bytes(combination_model(members, name))
            if abs(size - summed) > SIZE_MARGIN_BYTES / 2:
                raise ValueError(
                    f"{name}: its file takes {size:,} bytes, its networks' own files {summed:,}; the sums of the "
                    f"others cannot be trusted to within SIZE_MARGIN_BYTES ({SIZE_MARGIN_BYTES:,}): raise it"
                )
        if size > MAX_MODEL_BYTES:
            too_large.append(name)
    return too_large


def too_large_record(alone: dict[str, int], too_large: list[str]) -> dict:
    """What a choice records of the combinations too large to ship, without listing every one (with 18 networks,
    most of the 262,143 combinations): each network's file size, the margin, and those within it measured too large.
    Every other combination missing from the PublicTest figures sums to more than the limit and the margin."""
    measured = [name for name in too_large if summed_bytes(alone, name) <= MAX_MODEL_BYTES + SIZE_MARGIN_BYTES]
    limits = {"max_model_bytes": MAX_MODEL_BYTES, "size_margin_bytes": SIZE_MARGIN_BYTES}
    return {"bytes_alone": alone} | limits | {"measured_too_large": measured}


def recorded_too_large(record: dict | list, names: list[str]) -> list[str]:
    """The combinations among names that a choice's record says are too large: too_large_record's, or the list
    that choices made before it kept."""
    if isinstance(record, list):
        listed = set(record)
        return [name for name in names if name in listed]
    measured, limit = set(record["measured_too_large"]), record["max_model_bytes"] + record["size_margin_bytes"]
    return [name for name in names if name in measured or summed_bytes(record["bytes_alone"], name) > limit]


def publictest_accuracies(members: dict[str, keras.Model], candidates: list[str], data) -> dict[str, float]:
    """Each candidate's PublicTest accuracy, from its members' probabilities averaged as its Average layer does."""
    public = data["PublicTest"]
    probabilities = {
        name: tta_probabilities(with_dtype(member, "float32"), public.images) for name, member in members.items()
    }
    return {
        name: float(accuracy(public.labels, np.mean([probabilities[m] for m in name.split(" + ")], axis=0).argmax(1)))
        for name in candidates
    }


def fast_choice(public: dict[str, float], timings: dict[str, tuple[float, float]], theirs: tuple[float, float]):
    """The fast rule: of the networks no slower per face than the fer package, batched and in single calls,
    the one with the highest PublicTest accuracy (the first registered on a tie); None if none is fast enough."""
    fast_enough = [name for name in timings if all(ours <= limit for ours, limit in zip(timings[name], theirs))]
    return max(fast_enough, key=lambda name: public[name], default=None)
