"""The `fer` command: train, evaluate, predict, export. Each subcommand imports only what it needs."""

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from fer.errors import DataError

PREDICT_SOME_FAILED = 3  # fer predict: at least one image could not be read; the others were processed
STRATEGIES = {
    "default": None,
    "mirrored": "MirroredStrategy",
    "multi-worker": "MultiWorkerMirroredStrategy",
}


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8 are printed escaped, not crashed on
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (DataError, FileNotFoundError) as error:
        print(f"fer {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 2


def one_line(message) -> str:
    """The message on one line: a line break in a file name is shown escaped, as Python shows it."""
    return str(message).replace("\r", "\\r").replace("\n", "\\n")


def emit(text: str, command: str = "predict") -> bool:
    """Print text on standard output; False, with one line on stderr, when it is closed or cannot be written
    (a pipe closed by `| head`, a full device): the command's files are still written."""
    try:
        if sys.stdout is None:  # started with its standard output closed
            raise BrokenPipeError("standard output is closed")
        print(text, flush=True)
        return True
    except OSError as error:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail again
            os.close(devnull)
        except (OSError, AttributeError, ValueError):
            pass
        try:
            print(f"fer {command}: error: standard output could not be written ({error})", file=sys.stderr)
        except (OSError, AttributeError):
            pass
        return False


def import_tensorflow(args: argparse.Namespace, what: str) -> None:
    """Import TensorFlow for a command that needs it (quietly unless --verbose); one line with the install command
    when this install has no TensorFlow (the base install runs fer predict on onnxruntime without it)."""
    from fer.inference.runtime import require_training_extra

    require_training_extra(what)
    if not args.verbose:
        quiet_tensorflow()


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and absl start-up lines (CPU features, oneDNN) off stderr; errors still show.

    Lines logged before absl's logging is initialized ignore TF_CPP_MIN_LOG_LEVEL (the oneDNN notice, on
    CPUs where oneDNN is on by default), so TensorFlow is imported here with file descriptor 2 on /dev/null;
    an import that fails still raises its error, after stderr is back.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fer2013-study")
    except PackageNotFoundError:
        return "unknown (not installed)"


MODEL_HELP = "shipped (the default) or fast, a .keras file or run directory, or (fer predict) a .onnx file"


def build_parser() -> argparse.ArgumentParser:
    from fer.demo.serve import DEFAULT_HOST, DEFAULT_PORT
    from fer.evaluation import TTA_MODES
    from fer.models.registry import MODEL_NAMES
    from fer.training.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig

    parser = argparse.ArgumentParser(prog="fer", description="Facial emotion recognition on FER-2013.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write a run directory")
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        default = getattr(defaults, field.name)
        if field.name == "model_source":
            continue  # filled in from --model
        if field.name == "augment":
            train.add_argument(
                "--augment", choices=("on", "off"), help="the model's augmentation on or off (default: the model's own)"
            )
            continue
        kind = {"epochs": int, "max_train_images": int}.get(field.name) or (str if default is None else type(default))
        choices = {"lr_schedule": LR_SCHEDULES, "optimizer": OPTIMIZERS}.get(field.name)
        help_text = f"default: {default}"
        if field.name == "model":
            help_text = f"{', '.join(MODEL_NAMES)}, or your own builder as package.module:function (default: {default})"
        train.add_argument(
            f"--{field.name.replace('_', '-')}", type=kind, default=default, choices=choices, help=help_text
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
    evaluate.add_argument("--model", help=MODEL_HELP)
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

    predict = commands.add_parser("predict", help="find the faces in photos and videos and name their emotions")
    predict.add_argument("paths", nargs="+", help="photos, videos, or folders of them")
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.add_argument("--annotate", metavar="DIR", help="write copies with boxes and labels drawn into DIR")
    sampling = predict.add_mutually_exclusive_group()
    sampling.add_argument("--every", type=int, default=1, metavar="N", help="videos: analyse every Nth frame")
    sampling.add_argument("--fps", type=float, metavar="F", help="videos: analyse about F frames per second")
    predict.add_argument("--csv", metavar="FILE", help="write one row per face per frame (videos and photos)")
    predict.add_argument("--plot", metavar="FILE", help="videos: each face track's probabilities over time")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.add_argument("--model", help=MODEL_HELP)
    predict.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        metavar="P",
        help="label a face 'uncertain' when its top probability is below P (0 to 1; MODEL_CARD.md: coverage)",
    )
    predict.add_argument(
        "--raw", action="store_true", help="the shipped models' probabilities before temperature scaling"
    )
    predict.set_defaults(handler=run_predict)

    compare = commands.add_parser(
        "compare", help="two runs (or shipped, fast) on the same PrivateTest faces: McNemar, paired bootstrap"
    )
    compare.add_argument("runs", nargs=2, metavar="RUN", help="a run directory, shipped or fast")
    compare.add_argument("--data", help="FER-2013 (default: $FER_DATA, ./data/fer2013, else ./data/sample)")
    compare.set_defaults(handler=run_compare)

    export = commands.add_parser("export", help="export a model for deployment")
    export.add_argument("--format", choices=("onnx", "tflite"), default="tflite")
    export.add_argument("--model", help=MODEL_HELP)
    export.add_argument("--output", help="default: fer_model.onnx or fer_model.tflite")
    export.set_defaults(handler=run_export)

    demo = commands.add_parser(
        "demo", help="a local web page to try the models on photos, the webcam and videos (the demo extra)"
    )
    demo.add_argument("--host", default=DEFAULT_HOST, help=f"the address to serve on (default: {DEFAULT_HOST})")
    demo.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}")
    demo.set_defaults(handler=run_demo)

    return parser


def run_train(args: argparse.Namespace) -> int:
    from fer.training.config import TrainConfig

    fields = [field.name for field in dataclasses.fields(TrainConfig)]
    given = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    given["augment"] = {"on": True, "off": False, None: None}[args.augment]
    if ":" in args.model:  # package.module:function, importable from the current folder as with python -m
        sys.path.insert(0, os.getcwd())
    config = TrainConfig(**given)
    config.resolved()  # every setting checked before TensorFlow is imported or anything is read or written
    import_tensorflow(args, "fer train")
    from fer.training.loop import train

    strategy = None
    if STRATEGIES[args.strategy]:
        import tensorflow as tf

        strategy = getattr(tf.distribute, STRATEGIES[args.strategy])()
    run_dir = train(config, overwrite=args.overwrite, strategy=strategy)
    splits = json.loads((run_dir / "metrics.json").read_text())["splits"]
    # A registered candidate's run holds PrivateTest out until the selection: then only PublicTest is scored.
    shown = splits["PrivateTest"] if "PrivateTest" in splits else {"PublicTest": splits["PublicTest"]}
    return 0 if emit(json.dumps(shown | {"run_dir": str(run_dir)}, indent=2), "train") else PREDICT_SOME_FAILED


def run_evaluate(args: argparse.Namespace) -> int:
    import_tensorflow(args, "fer evaluate")
    from fer.data.datasets import load_data
    from fer.data.locations import default_data_dir
    from fer.evaluation.metrics import evaluate

    data_dir = Path(args.data) if args.data else default_data_dir()
    model, model_name = chosen_model(args.model)
    data = load_data(data_dir, form=args.form)
    splits = tuple(args.split or ["PrivateTest"])
    try:
        results = evaluate(model, data, splits, tta=args.tta, intervals=args.intervals)
    except ValueError as error:
        raise DataError(f"{data_dir}: {error}") from None
    summary = {"model": model_name, "data": str(data_dir), "tta": args.tta, "splits": results}
    return 0 if emit(json.dumps(summary, indent=2), "evaluate") else PREDICT_SOME_FAILED


def run_compare(args: argparse.Namespace) -> int:
    import_tensorflow(args, "fer compare")
    from fer.evaluation.compare import compare

    result = compare(*args.runs, data=args.data)
    for note in result["already_public"]:
        print(f"fer compare: note: {one_line(note)}", file=sys.stderr)
    return 0 if emit(json.dumps(result, indent=2), "compare") else PREDICT_SOME_FAILED


def run_predict(args: argparse.Namespace) -> int:
    """Exit code 0 when every input was read and every output written, PREDICT_SOME_FAILED otherwise.

    The predictions are printed first; files (annotated copies, --csv, --plot) are written after, so
    that an output that cannot be written costs only that output.
    """
    if args.every < 1 or (args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0)):
        raise DataError("--every must be 1 or more, and --fps a positive number")
    check_output_names(args)
    from fer.atomic import same_file_keys
    from fer.inference.photos import expand_image_paths, read_photo
    from fer.inference.predict import check_min_confidence, model_or_default, predict_photo

    try:
        check_min_confidence(args.min_confidence)
    except DataError:
        raise DataError(f"--min-confidence must be a number from 0 to 1 (got {args.min_confidence})") from None

    if args.model not in (None, "shipped", "fast") and Path(args.model).suffix.lower() != ".onnx":
        import_tensorflow(args, f"fer predict --model {args.model} (a Keras model)")
    model = model_or_default(args.model, raw=args.raw)
    paths = expand_image_paths(args.paths, extra_suffixes=VIDEO_SUFFIXES)
    records, frames = [], {}
    for path in progress(paths, "photos", enabled=not args.quiet and len(paths) > PROGRESS_MIN_ITEMS):
        if path.is_dir():  # expand_image_paths leaves a folder only when it holds no photo or video
            error = f"{path}: no photo or video in this folder"
            records.append({"path": str(path), "error": error, "faces": []})
            print(f"fer predict: error: {one_line(error)}", file=sys.stderr)
            continue
        if path.suffix.lower() in VIDEO_SUFFIXES:
            record, frames[str(path)] = predict_video_record(path, model, args)
            records.append(record)
            continue
        try:
            photo = read_photo(path)
            faces = predict_photo(photo, model, args.min_confidence)
        except DataError as error:
            records.append({"path": str(path), "error": str(error), "faces": []})
            print(f"fer predict: error: {one_line(error)}", file=sys.stderr)
            continue
        notes = [] if faces else ["no face found"]
        if photo.frame_count > 1:  # an animated GIF or a multi-page TIFF
            notes.append(f"the first of its {photo.frame_count} frames was analysed")
        records.append({"path": str(path), "faces": faces} | ({"note": "; ".join(notes)} if notes else {}))
    failed = any("error" in record for record in records)
    failed |= not emit(json.dumps(records, indent=2) if args.json else predictions_table(records))
    taken = {key for path in paths for key in same_file_keys(path)}  # no output replaces an input or an output
    if args.csv:
        csv_path = claim_said(Path(args.csv), taken)
        failed |= not write_output(csv_path, lambda path: write_face_rows(records, frames, path))
    if args.plot:
        failed |= not write_timelines(frames, Path(args.plot), taken, args.min_confidence)
    if args.annotate:
        failed |= not write_annotated_copies(records, frames, Path(args.annotate), args, taken)
    return PREDICT_SOME_FAILED if failed else 0


def check_output_names(args: argparse.Namespace) -> None:
    """--csv and --plot name files, --annotate a folder: a DataError for an empty name or the wrong kind, before
    any input is read."""
    from fer.atomic import check_output_name

    for option, value in (("--csv", args.csv), ("--plot", args.plot)):
        if value is not None:
            try:
                check_output_name(value)
            except DataError as error:
                raise DataError(f"{option}: {error}") from None
    folder = args.annotate
    if folder is not None and (not folder or Path(folder).exists() and not Path(folder).is_dir()):
        raise DataError(f"--annotate {args.annotate!r}: give a folder to write the annotated copies into")



def claim(path: Path, taken: set, numbered=None) -> Path:
    """path, or the first free numbered(2), numbered(3) ... when an input or an earlier output of this call has it
    (by its resolved path, or as the same file through a hard link: fer.atomic.same_file_keys).

    numbered defaults to name_2.ext, name_3.ext ...; a renamed --csv or --plot is said on stderr.
    """
    from fer.atomic import same_file_keys

    numbered = numbered or (lambda number: path.with_name(f"{path.stem}_{number}{path.suffix}"))
    target, number = path, 1
    while same_file_keys(target) & taken:
        number += 1
        target = numbered(number)
    taken |= same_file_keys(target)
    return target


def claim_said(path: Path, taken: set) -> Path:
    """claim(path), saying on stderr when the name given had to be numbered."""
    target = claim(path, taken)
    if target != path:
        print(f"fer predict: {path} is an input or another output of this call; writing {target}", file=sys.stderr)
    return target


VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}
PROGRESS_MIN_ITEMS = 5  # a bar for fewer items would only flicker


def progress(items: list, unit: str, enabled: bool):
    """items, with a tqdm bar on stderr when enabled and stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        return items
    from tqdm import tqdm

    return tqdm(items, unit=unit.rstrip("s"), file=sys.stderr)


def predict_video_record(path: Path, model, args: argparse.Namespace):
    """A video's record (per track: frames, times, dominant emotion) and its per-frame rows; errors kept per video."""
    from fer.inference.video import IncompleteVideoError, predict_video, track_summary

    record: dict = {"path": str(path)}
    try:
        frame = predict_video(
            path, args.every, args.fps, model, not args.quiet, min_confidence=args.min_confidence
        )
    except IncompleteVideoError as error:  # the frames before the damage were analysed: keep them
        frame, record["error"] = error.predictions, str(error)
        print(f"fer predict: error: {one_line(error)}", file=sys.stderr)
    except DataError as error:
        print(f"fer predict: error: {one_line(error)}", file=sys.stderr)
        return {**record, "error": str(error), "tracks": []}, None
    record["frames_with_faces"] = int(frame["frame"].nunique())
    record["tracks"] = track_summary(frame, args.min_confidence).to_dict("records")
    if frame.empty:
        record["note"] = "no face found"
    return record, frame


def write_output(path: Path, write) -> bool:
    """write(path); False, with one line on stderr, when it cannot be written."""
    try:
        write(path)
        return True
    except (DataError, OSError) as error:
        print(f"fer predict: error: {one_line(path)}: not written ({one_line(error)})", file=sys.stderr)
        return False


def write_face_rows(records: list[dict], frames: dict, path: Path) -> None:
    """One row per face per frame: the videos' rows, and each photo's faces as frame 0 with the face number as track."""
    import pandas as pd

    from fer.atomic import write_text
    from fer.inference.video import COLUMNS

    tables = [frame for frame in frames.values() if frame is not None and not frame.empty]
    for record in records:
        for number, face in enumerate(record.get("faces", []), start=1):
            x, y, width, height = face["box"]
            probabilities = {f"p_{name}": value for name, value in face["probabilities"].items()}
            row = {
                "path": record["path"],
                "frame": 0,
                "time_s": 0.0,
                "track": number,
                "x": x,
                "y": y,
                "w": width,
                "h": height,
                "label": face["label"],
                **probabilities,
            }
            tables.append(pd.DataFrame([row]))
    table = pd.concat(tables, ignore_index=True)[COLUMNS] if tables else pd.DataFrame(columns=COLUMNS)
    write_text(path, table.to_csv(index=False))


def write_timelines(frames: dict, path: Path, taken: set, min_confidence: float = 0.0) -> bool:
    """--plot: the timeline figure of the one video, or one figure per video named after it."""
    from fer.inference.timeline import write_timeline

    videos = {name: frame for name, frame in frames.items() if frame is not None}
    if not videos:
        print(f"fer predict: no video was analysed, so no timeline was written to {path}", file=sys.stderr)
    all_written = True
    for name, frame in videos.items():
        target = path if len(videos) == 1 else path.with_name(f"{path.stem}_{Path(name).stem}{path.suffix}")
        target = claim_said(target, taken)
        all_written &= write_output(
            target, lambda target, frame=frame: write_timeline(frame, target, min_confidence)
        )
    return all_written


def write_annotated_copies(
    records: list[dict], frames: dict, folder: Path, args: argparse.Namespace, taken: set
) -> bool:
    """An annotated copy of each input that was read, one distinct file each; False if any could not be written."""
    from fer.inference.photos import read_photo
    from fer.inference.predict import annotate

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # one line for the folder, not one per copy
        print(f"fer predict: error: {one_line(folder)}: cannot make the folder ({error.strerror})", file=sys.stderr)
        return False
    all_written = True
    for record in records:
        source = Path(record["path"])
        if "tracks" in record:
            if frames.get(record["path"]) is None:
                continue
            from fer.inference.video import write_annotated_video

            frame = frames[record["path"]]
            target = distinct_name(folder, source.stem, ".mp4", taken)
            write = lambda target, source=source, frame=frame: write_annotated_video(  # noqa: E731
                source, frame, target, every=args.every, fps=args.fps
            )
        elif "error" in record:
            continue
        else:
            target = distinct_name(folder, source.stem, ".png", taken)
            write = lambda target, record=record: annotate(read_photo(record["path"]), record["faces"], target)  # noqa: E731
        if not write_output(target, write):
            all_written = False
    return all_written


def distinct_name(folder: Path, stem: str, suffix: str, taken: set) -> Path:
    """folder/<stem>_annotated<suffix>, numbered when an input or another output of one call has that name."""
    return claim(
        folder / f"{stem}_annotated{suffix}", taken, lambda number: folder / f"{stem}_{number}_annotated{suffix}"
    )


def predictions_table(records: list[dict]) -> str:
    """Photos: a line per face (its box); videos: a line per face track (its frames and times)."""
    lines = [f"{'input':<40} {'face':>4}  {'box (x, y, w, h) / track':<26} {'emotion':<9} {'p':>5}"]
    for record in records:
        if "error" in record:
            lines.append(f"{record['path']:<40} {'-':>4}  error: {record['error']}")
        if record.get("note"):
            lines.append(f"{record['path']:<40} {'-':>4}  {record['note']}")
        for number, face in enumerate(record.get("faces", []), start=1):
            box = ", ".join(map(str, face["box"]))
            probability = max(face["probabilities"].values())
            lines.append(f"{record['path']:<40} {number:>4}  {box:<26} {face['label']:<9} {probability:>5.2f}")
        for track in record.get("tracks", []):
            seen = f"{track['frames']} frames, {track['first_s']:.2f}-{track['last_s']:.2f} s"
            probability = max(value for key, value in track.items() if key.startswith("p_"))
            name, label = record["path"], track["label"]
            lines.append(f"{name:<40} {track['track']:>4}  {seen:<26} {label:<9} {probability:>5.2f}")
    return "\n".join(lines)


def chosen_model(model: str | None) -> tuple:
    """--model: the name of a shipped model (None: "shipped"), or a .keras file or run directory (a path that
    happens to be called like a shipped model is given as ./fast); the model and what to call it."""
    from fer.models.files import load_model
    from fer.models.pretrained import PRETRAINED_FILES, PRETRAINED_NAME, load_pretrained

    if model is None or model in PRETRAINED_FILES:
        name = model or "shipped"
        return load_pretrained(name), PRETRAINED_NAME if name == "shipped" else f"the {name} model (MODEL_CARD.md)"
    from fer.models.pretrained import as_shipped

    return as_shipped(load_model(model), model), str(Path(model))


def run_export(args: argparse.Namespace) -> int:
    """ONNX of a shipped model is its shipped .onnx file, copied without TensorFlow; anything else is converted."""
    from fer.atomic import check_output_name, same_file_keys, write_bytes
    from fer.models.pretrained import PRETRAINED_FILES, pretrained_path

    output = check_output_name(args.output if args.output is not None else f"fer_model.{args.format}")
    if args.model and Path(args.model).exists():
        inputs = same_file_keys(args.model) | (same_file_keys(Path(args.model) / "model.keras"))
        if same_file_keys(output) & inputs:
            raise DataError(f"{output}: is the model being exported ({args.model}); give another --output")
    check_writable(output)  # before the conversion, which takes a while
    try:
        if args.format == "onnx" and (args.model is None or args.model in PRETRAINED_FILES):
            write_bytes(output, pretrained_path(args.model or "shipped", form="onnx").read_bytes())
        else:
            import_tensorflow(args, f"fer export --format {args.format}")
            model, _ = chosen_model(args.model)
            if args.format == "onnx":
                from fer.models.onnx_export import export_onnx

                export_onnx(model, output)
            else:
                from fer.models.export import export_tflite

                export_tflite(model, output)
    except OSError as error:
        raise DataError(f"{output}: cannot be written ({error.strerror or error})") from None
    return 0 if emit(f"wrote {output}", "export") else PREDICT_SOME_FAILED


def run_demo(args: argparse.Namespace) -> int:
    """Serve the demo page until Ctrl+C; Gradio is imported only here."""
    from fer.demo.serve import serve

    serve(args.host, args.port)
    return 0


def check_writable(output: Path) -> None:
    """A DataError when output's folder cannot be made or written in (check_output_name has refused folders)."""
    target = Path(os.path.realpath(output))  # a symlink's target is what gets written
    if target.exists() and not target.is_file():
        return  # a FIFO or a device: written in place
    try:  # a real file, not os.access: root may write anywhere by permission, yet not in /proc
        target.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=target.parent).close()
    except OSError as error:
        raise DataError(f"{output}: cannot be written ({error.strerror or error})") from None


if __name__ == "__main__":
    sys.exit(main())
