"""docs/architecture.md's map names every module and script, and the package knows nothing of the repository
around it."""

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "src" / "fer"
# What only a checkout has: naming it in the package would tie an installed wheel to a folder it lacks.
REPOSITORY_LAYOUT = re.compile(
    r"__file__|parents\[|REPO_ROOT|CSV_Based_Model|Image_Based_Model|Pretrained_Model|notebooks/|scripts[./]"
)


ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"


def readme_tree() -> str:
    text = ARCHITECTURE.read_text()
    return text[text.index("src/fer/\n├──") : text.index("Repository tooling")]


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_readme_map_lists_every_module_of_the_package(module):
    tree = readme_tree()
    if module.parent != PACKAGE:
        subpackage = tree[tree.index(f"── {module.parent.name}/") :]
        tree = subpackage[: subpackage.find("\n├── ", 1) if "\n├── " in subpackage[1:] else len(subpackage)]
    assert module.name in tree or module.name == "__init__.py" and module.parent != PACKAGE


def test_the_readme_names_every_script():
    tooling = ARCHITECTURE.read_text().split("Repository tooling", 1)[1]
    for script in sorted((REPO_ROOT / "scripts").glob("*.py")):
        assert script.name == "__init__.py" or f"`{script.name}`" in tooling, script.name


def test_no_module_of_the_package_refers_to_the_repository_layout():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if REPOSITORY_LAYOUT.search(line)
    ]
    assert not offenders


def test_benchmark_sections_are_their_scripts_output_with_relative_paths_only():
    benchmarks = REPO_ROOT / "benchmarks"
    readme = (benchmarks / "README.md").read_text()
    assert not re.search(r"(?<![\w.])/(?:work|home|root|tmp|Users)/", readme), "an absolute path in the README"
    sections = re.findall(r"<!-- ([\w-]+):start -->\n(.*?)<!-- \1:end -->", readme, re.DOTALL)
    assert sections
    publishers = {
        name: script.name
        for script in benchmarks.glob("*.py")
        for name in re.findall(r'publish\(\s*"([\w-]+)"', script.read_text())
    }
    for name, body in sections:
        assert name in publishers, f"no benchmark script writes the {name} section"
        assert f"python -m benchmarks.{publishers[name].removesuffix('.py')}" in body
    outside = re.sub(r"<!-- ([\w-]+):start -->\n.*?<!-- \1:end -->", "", readme, flags=re.DOTALL)
    assert "```" not in outside, "output pasted outside the sections the scripts rewrite"
    assert set(publishers) <= {name for name, _ in sections}, "a benchmark whose section is missing"


def test_no_tracked_file_is_one_git_ignores():
    import subprocess

    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "--cached", "--ignored", "--exclude-standard"],
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert listed.stdout.split() == []


def test_every_chosen_registrations_candidate_has_one_record_in_this_checkout():
    import json

    from scripts.selection import SELECTION_FILE, checkout_folder, committed_choices, read_selection

    chosen_from = {name for choice in committed_choices() for name in choice["registrations"]}
    for entry in read_selection(SELECTION_FILE)["registration"]:
        if entry["name"] not in chosen_from:
            continue
        for candidate in entry["candidates"]:
            record = checkout_folder(candidate["run"])
            assert json.loads((record / "metrics.json").read_text())["splits"]["PrivateTest"], candidate["name"]
            copies = {REPO_ROOT / candidate["run"], REPO_ROOT / "Pretrained_Model" / candidate["name"]}
            assert sum((copy / "model.keras").is_file() for copy in copies) == 1, candidate["name"]
