"""What a hostile user points fer at: odd names, links, FIFOs, devices, closed pipes, huge lines, odd arrays.
Nothing crashes, nothing the user pointed at is replaced, and every message is true (issue 24)."""

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import fer
from fer.cli import PREDICT_SOME_FAILED, main
from fer.errors import DataError

REPO_ROOT = Path(__file__).resolve().parents[1]
SMILING = REPO_ROOT / "docs" / "astronaut.jpg"
NOT_UTF8 = os.fsdecode(b"caf\xe9")  # Latin-1 bytes: not a UTF-8 name


def clip(path: Path, frames: int = 6, fps: float = 10) -> Path:
    frame = cv2.imread(str(SMILING))
    codec = "mp4v" if path.suffix == ".mp4" else "MJPG"  # AVI caps the frame rate at 600
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (frame.shape[1], frame.shape[0]))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


def fer_process(*arguments: str, **options) -> subprocess.CompletedProcess:
    """fer in its own process: a crash (a segfault) is an exit code here, not the end of the test run."""
    command = [sys.executable, "-m", "fer.cli", *arguments]
    return subprocess.run(command, capture_output=True, cwd=options.pop("cwd", REPO_ROOT), timeout=120, **options)


def test_a_video_whose_name_is_not_utf8_is_analysed_beside_the_others(tmp_path):
    video = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.avi"))
    os.rename(clip(tmp_path / "plain.avi"), video)  # OpenCV's writer crashes on such a name too
    result = fer_process("predict", str(SMILING), str(video), "--csv", str(tmp_path / "rows.csv"), "--quiet")
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "rows.csv").read_bytes()
    assert rows.count(b"caf\xe9.avi") == 6 and b"astronaut.jpg" in rows  # its name as its own bytes


def test_a_photo_whose_name_is_not_utf8_is_printed_and_written(tmp_path):
    photo = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.jpg"))
    photo.write_bytes(SMILING.read_bytes())
    result = fer_process("predict", str(photo), "--csv", str(tmp_path / "rows.csv"), "--annotate", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert b"happy" in result.stdout and b"caf\xe9.jpg" in (tmp_path / "rows.csv").read_bytes()
    assert len(list((tmp_path / "a").iterdir())) == 1


def test_a_symlinked_csv_writes_its_target_and_stays_a_link(tmp_path):
    target, link = tmp_path / "target.csv", tmp_path / "link.csv"
    target.write_text("old\n")
    link.symlink_to(target)
    assert main(["predict", str(SMILING), "--csv", str(link)]) == 0
    assert link.is_symlink() and "happy" in target.read_text()


def read_fifo(path: Path, into: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.append(path.read_bytes()), daemon=True)
    thread.start()
    return thread


def test_a_fifo_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = read_fifo(fifo, received)
    assert main(["predict", str(SMILING), "--csv", str(fifo)]) == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and b"happy" in received[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_is_written_to_not_replaced(tmp_path):
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # another /dev/null, in a folder of the test's own
    assert main(["predict", str(SMILING), "--csv", str(device)]) == 0
    assert main(["export", "--format", "onnx", "--model", "fast", "--output", str(device)]) == 0
    assert stat.S_ISCHR(os.lstat(device).st_mode)


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_export_never_replaces_the_model_it_exports(tmp_path, how, capsys):
    model = tmp_path / "m.keras"
    fer.build_model("csv_cnn").save(model)
    before = model.read_bytes()
    output = {"same path": model, "symlink": tmp_path / "link.keras", "hard link": tmp_path / "hard.keras"}[how]
    if how == "symlink":
        output.symlink_to(model)
    elif how == "hard link":
        os.link(model, output)
    assert main(["export", "--model", str(model), "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is the model being exported" in error
    assert model.read_bytes() == before


@pytest.mark.parametrize("value", ["", ".", "folder/"])
def test_an_empty_or_folder_shaped_csv_is_one_line_before_any_work(tmp_path, value, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    assert main(["predict", str(SMILING), "--csv", value]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "--csv" in captured.err and captured.out == ""


def test_a_closed_stdout_still_writes_every_output(tmp_path):
    command = [sys.executable, "-m", "fer.cli", "predict", str(SMILING), str(SMILING), "--csv", str(tmp_path / "r.csv")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT)
    process.stdout.close()  # as `| head -0` does
    _, error = process.communicate(timeout=120)
    assert process.returncode == PREDICT_SOME_FAILED
    assert b"Traceback" not in error and error.count(b"\n") == 1
    assert (tmp_path / "r.csv").read_text().count(",happy,") == 2


def test_a_symlink_loop_and_a_fifo_in_a_folder_are_one_line_each_and_the_rest_is_processed(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "smile.jpg").write_bytes(SMILING.read_bytes())
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    os.mkfifo(folder / "pipe.png")
    (folder / "dangling.jpg").symlink_to(folder / "gone.jpg")
    assert main(["predict", str(folder), str(tmp_path / "missing.mp4"), "--csv", str(tmp_path / "r.csv")]) == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 4, error
    assert "loop.jpg: a symbolic link loop" in error and "pipe.png: not a regular file (a FIFO)" in error
    assert "dangling.jpg: a broken symbolic link" in error and "missing.mp4: no such file" in error
    assert "happy" in (tmp_path / "r.csv").read_text()


@pytest.mark.slow  # trains
def test_train_refuses_an_empty_run_directory_and_overwrite_keeps_files_it_did_not_write(tiny_csv, tmp_path, capsys):
    assert main(["train", "--data", str(tiny_csv), "--run-dir", "", "--epochs", "1"]) == 2
    assert "the run directory is empty" in capsys.readouterr().err
    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "backup" / "notes.txt").write_text("mine")
    (run_dir / "mine.txt").write_text("mine")
    (run_dir / "config.json").write_text(json.dumps({"model": "image_cnn"}))  # another run's
    arguments = ["train", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1"]
    assert main([*arguments, "--max-train-images", "8", "--overwrite"]) == 0
    assert (run_dir / "backup" / "notes.txt").read_text() == "mine" and (run_dir / "mine.txt").read_text() == "mine"
    assert (run_dir / "metrics.json").is_file() and not (run_dir / "trainer.lock").exists()


@pytest.mark.slow  # trains
def test_a_second_trainer_in_one_run_directory_is_refused_and_a_stale_lock_is_taken_over(tiny_csv, tmp_path, capsys):
    from fer.training.loop import LOCK_FILE, sole_trainer

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    arguments = ["train", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1"]
    with sole_trainer(run_dir):  # a trainer at work
        assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"process {os.getpid()}" in error and "another trainer" in error
    assert not (run_dir / "history.csv").exists()
    (run_dir / LOCK_FILE).write_text("process 999999 on a machine that died\n")  # left by a killed trainer
    assert main(arguments) == 0
    history = (run_dir / "history.csv").read_text().splitlines()
    assert sum(line.startswith("epoch") for line in history) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda rgb: rgb.astype(np.float32) / 255,  # matplotlib.pyplot.imread's PNG
        lambda rgb: rgb.astype(np.float64),  # 0..255 floats
        lambda rgb: rgb.astype(np.uint16) * 257,  # 16-bit RGB
        lambda rgb: rgb.astype(np.int64),
    ],
    ids=["float 0..1", "float 0..255", "uint16", "int64"],
)
def test_arrays_of_every_documented_kind_find_the_face_the_uint8_array_finds(make):
    rgb = np.asarray(Image.open(SMILING).convert("RGB"))
    expected = fer.predict(rgb)
    found = fer.predict(make(rgb))
    assert [face["box"] for face in found] == [face["box"] for face in expected] and found[0]["label"] == "happy"


@pytest.mark.parametrize(
    "array, message",
    [
        (np.full((64, 64), np.nan), "NaN or infinite"),
        (np.full((64, 64), -3.0), "expected 0..255"),
        (np.full((64, 64), 300.0), "expected 0..255"),
        (np.full((64, 64), 1000, np.int32), "expected 0..255"),
        (np.zeros((64, 64), bool), "expected uint8"),
        (np.zeros((0, 64)), "an empty image"),
    ],
)
def test_arrays_that_cannot_be_interpreted_are_one_clear_error(array, message):
    with pytest.raises(DataError, match=message):
        fer.predict(array)


def test_sampling_beyond_the_end_of_a_video_ends(tmp_path):
    video = clip(tmp_path / "v.avi", frames=8)
    result = fer_process("predict", str(video), "--every", "1000000000", "--annotate", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr  # in its own process: a sampling that never ends times out
    written = cv2.VideoCapture(str(next((tmp_path / "out").iterdir())))
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == 8


def test_a_1001_fps_video_reports_its_frame_rate_as_read(tmp_path):
    from fer.inference.video import open_video

    with open_video(clip(tmp_path / "fast.mp4", fps=1001)) as (_, info):
        assert info.fps == pytest.approx(1001, rel=1e-3)


def test_a_line_longer_than_any_row_fails_fast_naming_it(tmp_path):
    data = tmp_path / "fer2013.csv"
    row = f"3,{' '.join(['100'] * 2304)},Training\n"
    data.write_text("emotion,pixels,Usage\n" + row + "," * 10_000_000 + "\n" + row)
    started = time.monotonic()
    with pytest.raises(DataError, match=r"fer2013.csv, line 3: longer than 65,536 bytes"):
        fer.load_csv(data, use_cache=False)
    assert time.monotonic() - started < 5


def test_error_lines_are_the_files_physical_lines_after_a_field_over_two_lines(tmp_path):
    data = tmp_path / "fer2013.csv"
    two_lines = '3,"' + " ".join(["100"] * 1152) + "\n" + " ".join(["100"] * 1152) + '",Training\n'
    data.write_text("emotion,pixels,Usage\n" + two_lines + "9," + " ".join(["1"] * 2304) + ",Training\n")
    with pytest.raises(DataError, match=r"line 4: emotion '9'"):
        fer.load_csv(data, use_cache=False)


def test_a_no_break_space_among_the_pixels_is_named_on_its_own_line(tmp_path):
    data = tmp_path / "fer2013.csv"
    good = f"3,{' '.join(['100'] * 2304)},Training\n"
    odd = "3," + " ".join(["7"] * 1000) + "\u00a0" + " ".join(["7"] * 1304) + ",Training\n"
    data.write_text("emotion,pixels,Usage\n" + good + odd + good)
    with pytest.raises(DataError, match=r"line 3: pixel 1000 is '7\\xa07', not a whole number"):
        fer.load_csv(data, use_cache=False)


def test_a_folder_inside_a_class_folder_is_refused_not_skipped(tiny_folders):
    nested = tiny_folders / "train" / "happy" / "more"
    nested.mkdir()
    Image.new("L", (48, 48)).save(nested / "Training_99999.jpg")
    with pytest.raises(DataError, match=r"more: a folder inside class folder happy/"):
        fer.load_image_folders(tiny_folders, use_cache=False)


def test_a_multi_frame_image_says_its_first_frame_was_read(tmp_path, capsys):
    frames = [Image.open(SMILING).convert("RGB"), Image.new("RGB", (512, 512), "white")]
    frames[0].save(tmp_path / "two.gif", save_all=True, append_images=frames[1:])
    assert main(["predict", str(tmp_path / "two.gif"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["note"] == "the first of its 2 frames was analysed" and record["faces"][0]["label"] == "happy"


TARGET_KINDS = ["missing", "regular file", "symlink to a file", "symlink to nothing", "FIFO", "folder", "under a file"]
OUTPUTS = ["--csv", "--plot", "--annotate", "export --output"]


def make_target(folder: Path, name: str, kind: str) -> Path:
    """An output target of the given kind, named name, in folder (the link's target is folder/real_<name>)."""
    target = folder / name
    if kind == "regular file":
        target.write_text("old contents\n")
    elif kind == "symlink to a file":
        (folder / f"real_{name}").write_text("old contents\n")
        target.symlink_to(folder / f"real_{name}")
    elif kind == "symlink to nothing":
        target.symlink_to(folder / f"real_{name}")
    elif kind == "FIFO":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "under a file":
        (folder / name).write_text("a file, not a folder\n")
        target = folder / name / "out"
    return target


def snapshot(folder: Path, leave_out: set[Path]) -> dict:
    """Every entry under folder but those left out: its kind and, for files, its bytes."""
    entries = {}
    for path in folder.rglob("*"):
        if path in leave_out:
            continue
        mode = os.lstat(path).st_mode
        content = path.read_bytes() if stat.S_ISREG(mode) else os.readlink(path) if stat.S_ISLNK(mode) else None
        entries[path] = (stat.S_IFMT(mode), content)
    return entries


@pytest.mark.slow  # 40 runs of fer predict into generated targets: for CI; the fast loop keeps the examples
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    output=st.sampled_from(OUTPUTS),
    kind=st.sampled_from(TARGET_KINDS),
    name=st.text(alphabet="abcxyz0129 _-.é", min_size=1, max_size=10).filter(lambda text: text not in (".", "..")),
)
def test_every_output_goes_where_it_points_or_fails_in_one_line_and_nothing_else_changes(
    tmp_path_factory, output, kind, name
):
    folder = tmp_path_factory.mktemp("targets")
    photo, video = folder / "photo.jpg", clip(folder / "clip.avi", frames=4)
    photo.write_bytes(SMILING.read_bytes())
    target = make_target(folder, f"out{name}", kind)
    real = folder / f"real_out{name}"
    before = snapshot(folder, {target, real})
    received: list[bytes] = []
    reader = read_fifo(target, received) if kind == "FIFO" and output != "--annotate" else None
    if output == "export --output":
        arguments = ["export", "--format", "onnx", "--model", "fast", "--output", str(target)]
    else:
        arguments = ["predict", str(photo), str(video), "--quiet", output, str(target)]
    error = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(error):
        code = main(arguments)
    if reader is not None:
        reader.join(2)  # a reader whose writer closed the FIFO has read it all by now
        if reader.is_alive():  # nothing was written: open it for writing once, so the reader sees its end
            os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(10)
    assert code in (0, 2, 3), error.getvalue()
    if code:
        assert error.getvalue().count("\n") == 1, error.getvalue()
    else:
        written = received[0] if reader else None
        if output == "--annotate":
            assert target.is_dir() and len(list(target.iterdir())) == 2
        else:
            written = written if written is not None else target.read_bytes()
            expected = {"--csv": b",happy,", "--plot": b"PNG", "export --output": b"onnx"}[output]
            assert expected in written[:4096] or expected in written
        if kind.startswith("symlink"):
            assert target.is_symlink()
        if kind == "FIFO":
            assert stat.S_ISFIFO(os.lstat(target).st_mode)
    written_there = {path for place in (target, real) if place.is_dir() for path in place.rglob("*")}
    assert snapshot(folder, {target, real} | written_there) == before


# Found by a second adversarial pass, after the fixes above (issue 24's note lists them).


@pytest.mark.parametrize("fps", ["1e-30", "5e-324"])
def test_a_vanishing_fps_with_annotate_ends_and_writes_every_frame(tmp_path, fps):
    video = clip(tmp_path / "v.avi", frames=6)
    result = fer_process("predict", str(video), "--fps", fps, "--annotate", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = cv2.VideoCapture(str(next((tmp_path / "out").iterdir())))
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_an_annotated_video_goes_into_a_folder_whose_name_is_not_utf8_and_through_links(tmp_path):
    video = clip(tmp_path / "v.avi")
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/out\xff"))
    result = fer_process("predict", str(video), "--annotate", str(folder))
    assert result.returncode == 0, result.stderr
    assert [path.name for path in folder.iterdir()] == ["v_annotated.mp4"]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "v_annotated.mp4").symlink_to(tmp_path / "real.mp4")
    assert main(["predict", str(video), "--annotate", str(linked), "--quiet"]) == 0
    assert (linked / "v_annotated.mp4").is_symlink() and (tmp_path / "real.mp4").stat().st_size > 1000


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_full_or_closed_stdout_is_one_line_exit_3_and_the_files_are_written(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # another /dev/full, in the test's own folder
    for stdout in (open(full, "w"), None):
        csv = tmp_path / f"rows_{stdout is None}.csv"
        command = [sys.executable, "-m", "fer.cli", "predict", str(SMILING), "--csv", str(csv)]
        options = {"stdout": stdout} if stdout else {"stdout": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)}
        result = subprocess.run(command, stderr=subprocess.PIPE, cwd=REPO_ROOT, timeout=120, **options)
        assert result.returncode == PREDICT_SOME_FAILED and result.stderr.count(b"\n") == 1, result.stderr
        assert ",happy," in csv.read_text()


def test_an_empty_folder_and_a_name_with_a_line_break_are_one_line_each(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "bad\nname.jpg"
    broken.write_text("not an image")
    assert main(["predict", str(tmp_path / "empty"), str(broken), str(SMILING)]) == PREDICT_SOME_FAILED
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 2 and "no photo or video in this folder" in captured.err
    assert "bad\\nname.jpg" in captured.err and "happy" in captured.out


@pytest.mark.parametrize("name", ["loop.csv", "missing/.", "missing/.."])
def test_a_link_loop_or_a_dot_name_as_csv_is_refused_before_any_work(tmp_path, name, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("loop.csv").symlink_to("loop.csv")
    assert main(["predict", str(SMILING), "--csv", name]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and Path("loop.csv").is_symlink()
    assert not Path("missing").exists()


def test_train_never_writes_over_its_own_data_or_teacher(tiny_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    data = run_dir / "predictions.csv"
    data.write_bytes(tiny_csv.read_bytes())
    arguments = ["train", "--data", str(data), "--run-dir", str(run_dir), "--epochs", "1", "--overwrite"]
    assert main(arguments) == 2
    assert "an input of this run" in capsys.readouterr().err and data.read_bytes() == tiny_csv.read_bytes()
    teacher = run_dir / "model.keras"
    fer.build_model("csv_cnn").save(teacher)
    before = teacher.read_bytes()
    arguments = ["train", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1", "--overwrite"]
    assert main([*arguments, "--teacher", str(teacher), "--distill", "0.5"]) == 2
    assert teacher.read_bytes() == before


def test_a_trainer_lock_that_fer_did_not_write_is_left_alone(tiny_csv, tmp_path, capsys):
    run_dir, mine = tmp_path / "run", tmp_path / "mine.txt"
    run_dir.mkdir()
    mine.write_text("my notes")
    (run_dir / "trainer.lock").symlink_to(mine)
    assert main(["train", "--data", str(tiny_csv), "--run-dir", str(run_dir), "--epochs", "1"]) == 2
    assert "not a lock file fer wrote" in capsys.readouterr().err
    assert mine.read_text() == "my notes" and (run_dir / "trainer.lock").is_symlink()


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".gz"])
def test_a_giant_line_in_a_compressed_csv_fails_fast(tmp_path, suffix):
    import bz2
    import gzip
    import lzma

    compress = {".bz2": bz2.compress, ".xz": lzma.compress, ".gz": gzip.compress}[suffix]
    data = tmp_path / f"fer2013.csv{suffix}"
    data.write_bytes(compress(b"emotion,pixels,Usage\n" + b"," * 20_000_000 + b"\n"))
    started = time.monotonic()
    with pytest.raises(DataError, match="line 2: longer than 65,536 bytes"):
        fer.load_csv(data, use_cache=False)
    assert time.monotonic() - started < 10


def test_csv_lines_count_a_space_before_a_quote_and_lone_carriage_returns(tmp_path):
    pixels = " ".join(["100"] * 2304)
    two_lines = '0, "' + " ".join(["100"] * 1152) + "\n" + " ".join(["100"] * 1152) + '",PrivateTest\n'
    data = tmp_path / "fer2013.csv"
    data.write_text("emotion,pixels,Usage\n" + two_lines + "9," + pixels + ",Training\n")
    with pytest.raises(DataError, match=r"line 4: emotion '9'"):
        fer.load_csv(data, use_cache=False)
    carriage_returns = tmp_path / "cr.csv"
    carriage_returns.write_bytes(("emotion,pixels,Usage\r" + f"3,{pixels},Training\r" * 20).encode())
    assert len(fer.load_csv(carriage_returns, use_cache=False)["Training"]) == 20


def test_a_hidden_folder_or_a_multi_frame_image_in_a_class_folder_is_refused(tiny_folders):
    from fer.data.image_folders import load_image_folders

    hidden = tiny_folders / "train" / "happy" / ".more"
    hidden.mkdir()
    with pytest.raises(DataError, match=r"\.more: a folder inside class folder happy/"):
        load_image_folders(tiny_folders, use_cache=False)
    hidden.rmdir()
    frames = [Image.new("L", (48, 48), 0), Image.new("L", (48, 48), 255)]
    frames[0].save(tiny_folders / "train" / "sad" / "Training_77777.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(DataError, match="2 frames in one image"):
        load_image_folders(tiny_folders, use_cache=False)


def test_the_cache_key_tells_apart_folders_whose_names_and_bytes_run_together(tmp_path):
    from fer.data.cache import digest_files

    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
    (one / "a").write_bytes(b"x" + b"b\0" + b"y")  # a's bytes end with what b's name and bytes would add
    (two / "a").write_bytes(b"x")
    (two / "b").write_bytes(b"y")
    assert digest_files([one / "a"], one) != digest_files([two / "a", two / "b"], two)
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/d\xff.csv"))
    odd.write_bytes(b"emotion,pixels,Usage\n")
    assert digest_files([odd])  # a name that is not UTF-8 is hashed by its bytes


def test_big_endian_16_bit_arrays_find_the_face():
    rgb = np.asarray(Image.open(SMILING).convert("RGB"))
    assert fer.predict((rgb.astype(np.uint16) * 257).astype(">u2"))[0]["label"] == "happy"
    with pytest.raises(DataError, match="expected a path"):
        fer.predict([1, 2, 3])
