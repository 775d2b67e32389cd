"""Make data/sample/ from the full image folders: a few hundred faces, all 7 classes, all 3 Usages.

    python scripts/make_sample.py --source ../shared/fer2013/images.zip   # or a folder with train/ and test/

The sample's CSV holds the decoded pixels of the same JPEGs, so both forms match.
"""

import argparse
import csv
import shutil
import zipfile
from pathlib import Path

import numpy as np

from fer.data.image_folders import read_gray_48, usage_of
from fer.data.labels import EMOTIONS, FOLDER_TO_LABEL, USAGES
from fer.data.locations import SAMPLE_MARKER

PER_CLASS = {"Training": 30, "PublicTest": 8, "PrivateTest": 8}


def source_files(source: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every image in a zip or folder holding train/ and test/."""
    if source.suffix == ".zip":
        with zipfile.ZipFile(source) as archive:
            return {name: archive.read(name) for name in archive.namelist() if name.endswith(".jpg")}
    return {str(path.relative_to(source)): path.read_bytes() for path in sorted(source.glob("*/*/*.jpg"))}


def choose(files: dict[str, bytes], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    chosen = []
    for usage in USAGES:
        for emotion in EMOTIONS:
            names = sorted(n for n in files if Path(n).parent.name == emotion and Path(n).name.startswith(usage + "_"))
            chosen.extend(rng.choice(names, size=PER_CLASS[usage], replace=False).tolist())
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("../shared/fer2013/images.zip"))
    parser.add_argument("--out", type=Path, default=Path("data/sample"))
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args()

    files = source_files(args.source)
    shutil.rmtree(args.out / "train", ignore_errors=True)
    shutil.rmtree(args.out / "test", ignore_errors=True)
    rows = []
    for name in choose(files, args.seed):
        target = args.out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])
        pixels = read_gray_48(target).ravel()  # as fer reads the folder form, so both forms match
        rows.append((FOLDER_TO_LABEL[target.parent.name], " ".join(map(str, pixels)), usage_of(target)))
    with open(args.out / "fer2013.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    marker = args.out / SAMPLE_MARKER  # runs on this folder are labelled as sample runs (fer.data.locations)
    if not marker.is_file():
        note = f"{len(rows)} faces by scripts/make_sample.py; its numbers mean nothing."
        marker.write_text(f"# A sample of FER-2013\n\n{note}\n")
    print(f"wrote {len(rows)} faces to {args.out}")


if __name__ == "__main__":
    main()
