"""The `fer` command: train, evaluate, reproduce."""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from fer.errors import DataError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (DataError, FileNotFoundError) as error:
        print(f"fer {args.command}: error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    from fer.models import MODEL_NAMES
    from fer.paths import default_data_dir
    from fer.training import TrainConfig

    parser = argparse.ArgumentParser(prog="fer", description="Facial emotion recognition on FER-2013.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write a run directory")
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        default = getattr(defaults, field.name)
        kind = int if field.name in ("epochs", "batch_size", "seed", "max_train_images") else type(default)
        choices = MODEL_NAMES if field.name == "model" else None
        train.add_argument(
            f"--{field.name.replace('_', '-')}", type=kind, default=default, choices=choices, help=f"default: {default}"
        )
    train.add_argument(
        "--overwrite", action="store_true", help="train again even if a finished run with this config exists"
    )
    train.set_defaults(handler=run_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a model and print its metrics as JSON")
    evaluate.add_argument("--model", required=True, help="a .keras file or a run directory")
    evaluate.add_argument(
        "--data", default=str(default_data_dir()), help="a CSV, a folder root, or a directory holding either"
    )
    evaluate.add_argument("--form", choices=("auto", "csv", "folders"), default="auto")
    evaluate.add_argument(
        "--split", action="append", help="PrivateTest (default), PublicTest, PublicTest+PrivateTest; repeatable"
    )
    evaluate.set_defaults(handler=run_evaluate)

    reproduce = commands.add_parser("reproduce", help="run the three notebooks top to bottom")
    reproduce.add_argument(
        "--data", default=None, help="default: $FER_DATA, else data/fer2013, else the bundled sample"
    )
    reproduce.add_argument(
        "--quick", action="store_true", help="one epoch on a few images, to check that everything runs"
    )
    reproduce.set_defaults(handler=run_reproduce)
    return parser


def run_train(args: argparse.Namespace) -> int:
    from fer.training import TrainConfig, train

    config = TrainConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)})
    run_dir = train(config, overwrite=args.overwrite)
    print(
        json.dumps(
            json.loads((run_dir / "metrics.json").read_text())["splits"]["PrivateTest"] | {"run_dir": str(run_dir)},
            indent=2,
        )
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from fer.datasets import load_data
    from fer.evaluation import evaluate, load_model

    model = load_model(args.model)
    data = load_data(args.data, form=args.form)
    splits = tuple(args.split or ["PrivateTest"])
    try:
        results = evaluate(model, data, splits)
    except ValueError as error:
        raise DataError(str(error)) from None
    print(json.dumps({"model": str(Path(args.model)), "data": str(Path(args.data)), "splits": results}, indent=2))
    return 0


def run_reproduce(args: argparse.Namespace) -> int:
    from fer.reproduce import reproduce

    reproduce(data=args.data, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
