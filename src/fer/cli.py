"""The `fer` command: train, evaluate, predict, export. Each subcommand imports only what it needs."""

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from fer.errors import DataError

PREDICT_SOME_FAILED = 3  # fer predict: at least one image could not be read; the others were processed
STRATEGIES = {
    "default": None,
    "mirrored": "MirroredStrategy",
    "multi-worker": "MultiWorkerMirroredStrategy",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        quiet_tensorflow()
    try:
        return args.handler(args)
    except (DataError, FileNotFoundError) as error:
        print(f"fer {args.command}: error: {error}", file=sys.stderr)
        return 2


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and absl start-up lines (CPU features, oneDNN) off stderr; errors still show."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fer2013-study")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    from fer.evaluation import TTA_MODES
    from fer.models.registry import MODEL_NAMES
    from fer.training.config import LR_SCHEDULES, TrainConfig

    parser = argparse.ArgumentParser(prog="fer", description="Facial emotion recognition on FER-2013.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write a run directory")
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        default = getattr(defaults, field.name)
        kind = {"epochs": int, "batch_size": int, "seed": int, "max_train_images": int}.get(field.name)
        kind = kind or {"learning_rate": float, "label_smoothing": float}.get(field.name, str)
        choices = {"model": MODEL_NAMES, "lr_schedule": LR_SCHEDULES}.get(field.name)
        train.add_argument(
            f"--{field.name.replace('_', '-')}", type=kind, default=default, choices=choices, help=f"default: {default}"
        )
    train.add_argument(
        "--overwrite", action="store_true", help="train again even if a finished run with this config exists"
    )
    train.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        default="default",
        help="tf.distribute strategy: mirrored (all local GPUs), multi-worker (the cluster in TF_CONFIG)",
    )
    train.set_defaults(handler=run_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a model and print its metrics as JSON")
    evaluate.add_argument("--model", help="a .keras file or a run directory (default: the shipped model)")
    evaluate.add_argument(
        "--data", help="a CSV, a folder root, or a directory holding either (default: $FER_DATA, else ./data/fer2013)"
    )
    evaluate.add_argument("--form", choices=("auto", "csv", "folders"), default="auto")
    evaluate.add_argument(
        "--split", action="append", help="PrivateTest (default), PublicTest, PublicTest+PrivateTest; repeatable"
    )
    evaluate.add_argument(
        "--tta", choices=TTA_MODES, default="none", help="test-time augmentation: none (single crop), flip, ten-crop"
    )
    evaluate.add_argument(
        "--intervals", action="store_true", help="add 95%% bootstrap intervals of accuracy and macro F1"
    )
    evaluate.set_defaults(handler=run_evaluate)

    predict = commands.add_parser("predict", help="find the faces in photos and name their emotions")
    predict.add_argument("paths", nargs="+", help="image files or folders of images")
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.add_argument("--annotate", metavar="DIR", help="write copies with boxes and labels drawn into DIR")
    predict.add_argument("--model", help="a .keras file or run directory (default: the shipped model)")
    predict.set_defaults(handler=run_predict)

    export = commands.add_parser("export", help="export a model for deployment")
    export.add_argument("--format", choices=("tflite",), default="tflite")
    export.add_argument("--model", help="a .keras file or run directory (default: the shipped model)")
    export.add_argument("--output", default="fer_model.tflite", help="default: fer_model.tflite")
    export.set_defaults(handler=run_export)

    return parser


def run_train(args: argparse.Namespace) -> int:
    from fer.training.config import TrainConfig

    config = TrainConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)})
    config.resolved()  # every setting checked before TensorFlow is imported or anything is read or written
    from fer.training.loop import train

    strategy = None
    if STRATEGIES[args.strategy]:
        import tensorflow as tf

        strategy = getattr(tf.distribute, STRATEGIES[args.strategy])()
    run_dir = train(config, overwrite=args.overwrite, strategy=strategy)
    print(
        json.dumps(
            json.loads((run_dir / "metrics.json").read_text())["splits"]["PrivateTest"] | {"run_dir": str(run_dir)},
            indent=2,
        )
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from fer.data.datasets import load_data
    from fer.data.locations import default_data_dir
    from fer.evaluation.metrics import evaluate
    from fer.models.files import load_model
    from fer.models.pretrained import PRETRAINED_NAME, load_pretrained

    data_dir = Path(args.data) if args.data else default_data_dir()
    data = load_data(data_dir, form=args.form)
    model = load_model(args.model) if args.model else load_pretrained()
    splits = tuple(args.split or ["PrivateTest"])
    try:
        results = evaluate(model, data, splits, tta=args.tta, intervals=args.intervals)
    except ValueError as error:
        raise DataError(f"{data_dir}: {error}") from None
    model_name = str(Path(args.model)) if args.model else PRETRAINED_NAME
    summary = {"model": model_name, "data": str(data_dir), "tta": args.tta, "splits": results}
    print(json.dumps(summary, indent=2))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Exit code 0 when every image was read and every output written, PREDICT_SOME_FAILED otherwise.

    The predictions are printed first; annotated copies are written after, so that an output that
    cannot be written costs only that output.
    """
    from fer.inference.photos import expand_image_paths, read_photo
    from fer.inference.predict import default_model, predict_photo
    from fer.models.files import load_model

    model = load_model(args.model) if args.model else default_model()
    records = []
    for path in expand_image_paths(args.paths):
        try:
            faces = predict_photo(read_photo(path), model)
        except DataError as error:
            records.append({"path": str(path), "error": str(error), "faces": []})
            print(f"fer predict: error: {error}", file=sys.stderr)
            continue
        records.append({"path": str(path), "faces": faces} | ({} if faces else {"note": "no face found"}))
    print(json.dumps(records, indent=2) if args.json else predictions_table(records), flush=True)
    failed = any("error" in record for record in records)
    if args.annotate:
        failed |= not write_annotated_copies(records, Path(args.annotate))
    return PREDICT_SOME_FAILED if failed else 0


def write_annotated_copies(records: list[dict], folder: Path) -> bool:
    """An annotated copy of each photo that was read, one distinct file each; False if any could not be written."""
    from fer.inference.photos import read_photo
    from fer.inference.predict import annotate

    all_written, taken = True, set()
    for record in records:
        if "error" in record:
            continue
        target = distinct_name(folder, Path(record["path"]).stem, taken)
        try:
            annotate(read_photo(record["path"]), record["faces"], target)
        except (DataError, OSError) as error:
            all_written = False
            print(f"fer predict: error: {record['path']}: annotated copy not written ({error})", file=sys.stderr)
    return all_written


def distinct_name(folder: Path, stem: str, taken: set[Path]) -> Path:
    """folder/<stem>_annotated.png, numbered when two photos of one call share a name."""
    target, number = folder / f"{stem}_annotated.png", 1
    while target in taken:
        number += 1
        target = folder / f"{stem}_{number}_annotated.png"
    taken.add(target)
    return target


def predictions_table(records: list[dict]) -> str:
    lines = [f"{'image':<40} {'face':>4}  {'box (x, y, w, h)':<22} {'emotion':<9} {'p':>5}"]
    for record in records:
        if "error" in record:
            lines.append(f"{record['path']:<40} {'-':>4}  error: {record['error']}")
        elif not record["faces"]:
            lines.append(f"{record['path']:<40} {'-':>4}  no face found")
        for number, face in enumerate(record["faces"], start=1):
            box = ", ".join(map(str, face["box"]))
            probability = face["probabilities"][face["label"]]
            lines.append(f"{record['path']:<40} {number:>4}  {box:<22} {face['label']:<9} {probability:>5.2f}")
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    from fer.models.export import export_tflite
    from fer.models.files import load_model
    from fer.models.pretrained import load_pretrained

    output = Path(args.output)
    check_writable(output)  # before the conversion, which takes a while
    model = load_model(args.model) if args.model else load_pretrained()
    try:
        print(f"wrote {export_tflite(model, output)}")
    except OSError as error:
        raise DataError(f"{output}: cannot be written ({error.strerror or error})") from None
    return 0


def check_writable(output: Path) -> None:
    """A DataError when output cannot be written: an existing folder, or a folder that cannot be made."""
    if output.is_dir():
        raise DataError(f"{output}: is a folder; give a file name for the exported model")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{output}: cannot be written ({error.strerror or error})") from None
    if not os.access(output.parent, os.W_OK):
        raise DataError(f"{output}: cannot be written (no permission to write in {output.parent})")


if __name__ == "__main__":
    sys.exit(main())
