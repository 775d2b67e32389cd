"""The README is two screens that work: its length, what its first screen holds, every command in it valid on a
fresh clone (run where it writes nothing, else parsed), its links, and docs/cli.md's reference current."""

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text()
OUTPUT_OPTIONS = ("--annotate", "--csv", "--plot", "--output", "--run-dir")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def commands(text: str) -> list[str]:
    """Each command line of the text's shell blocks (a block without a language), its comment cut off."""
    lines = []
    for language, body in fenced_blocks(text):
        if language == "":
            lines += [
                line.split("  #")[0].strip() for line in body.splitlines() if re.match(r"(fer|pip|make|python)\b", line)
            ]
    return lines


def test_the_readme_is_two_screens_with_short_prose_lines():
    lines = README.splitlines()
    assert len(lines) <= 150
    inside_code = False
    for number, line in enumerate(lines, start=1):
        inside_code ^= line.startswith("```")
        if not inside_code and not line.startswith("|"):
            assert len(line) <= 200, f"README.md:{number} is {len(line)} characters"


def test_the_first_screen_holds_install_a_predict_example_with_its_output_and_the_results():
    first = "\n".join(README.splitlines()[:50])
    assert re.search(r"^pip install \.", first, re.MULTILINE)
    example = first.split("<!-- predict-example:start -->")[1].split("<!-- predict-example:end -->")[0]
    assert re.search(r"^fer predict \S+", example, re.MULTILINE) and "| happy |" in example
    assert "<!-- results-table:start -->" in first and "<!-- results-table:end -->" in first


def test_the_readmes_predict_example_output_is_what_fer_predict_finds_in_the_photo():
    from fer.inference.predict import predict

    example = README.split("<!-- predict-example:start -->")[1].split("<!-- predict-example:end -->")[0]
    (photo,) = re.findall(r"^fer predict (\S+)", example, re.MULTILINE)
    rows = re.findall(r"^\| (\d+) \| (\[[\d, ]+\]) \| (\w+) \| ([\d.]+) \|$", example, re.MULTILINE)
    faces = predict(REPO_ROOT / photo)
    found = [
        (str(i), str(face["box"]), face["label"], f"{max(face['probabilities'].values()):.2f}")
        for i, face in enumerate(faces, 1)
    ]
    assert rows == found


@pytest.mark.parametrize("command", commands(README))
def test_every_command_in_the_readme_is_valid_on_a_fresh_clone(command):
    words = shlex.split(command)
    if words[0] == "pip":
        extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        target = words[-1]
        assert re.fullmatch(r"\.(\[[\w,]+\])?", target), command
        assert set(re.findall(r"\w+", target)) <= set(extras), command
    elif words[0] == "make":
        assert re.search(rf"^{re.escape(words[1])}:", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE), command
    elif words[:2] == ["python", "-m"]:
        from importlib.util import find_spec

        assert find_spec(words[2]) is not None, command
    else:
        from fer.cli import build_parser

        arguments = build_parser().parse_args(words[1:])  # SystemExit: an option the parser does not know
        inputs = [REPO_ROOT / path for path in getattr(arguments, "paths", [])]
        if words[1] == "predict" and all(path.exists() for path in inputs) and not set(words) & set(OUTPUT_OPTIONS):
            ran = subprocess.run([sys.executable, "-m", "fer.cli", *words[1:]], cwd=REPO_ROOT, capture_output=True)
            assert ran.returncode == 0, ran.stderr


def test_the_readmes_python_runs_on_a_fresh_clone():
    (code,) = [body for language, body in fenced_blocks(README) if language == "python"]
    ran = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize(
    "document", ["README.md", *(f"docs/{path.name}" for path in (REPO_ROOT / "docs").glob("*.md"))]
)
def test_every_relative_link_leads_to_a_file(document):
    text = (REPO_ROOT / document).read_text()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not re.match(r"\w+://", target):
            assert ((REPO_ROOT / document).parent / target).exists(), f"{document}: {target}"


def test_the_cli_reference_is_what_the_parser_prints():
    from scripts.cli_reference import CLI_DOC, cli_reference

    assert f"<!-- cli-reference:start -->\n{cli_reference()}<!-- cli-reference:end -->" in CLI_DOC.read_text()


def test_the_readmes_reproduce_figures_are_the_notebooks_and_runs_records():
    from scripts.reproduce import reproduce_summary

    assert f"<!-- reproduce:start -->\n{reproduce_summary()}<!-- reproduce:end -->" in README
