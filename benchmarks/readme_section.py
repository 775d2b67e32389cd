"""Each benchmark rewrites its own section of benchmarks/README.md from its own output."""

from pathlib import Path

README = Path(__file__).with_name("README.md")
REPO_ROOT = README.parent.parent


def publish(name: str, title: str, command: str, lines: list[str]) -> None:
    """Print lines, and put them with the command between <!-- name:start --> and <!-- name:end --> in the README.

    A new section is added at the end under title. Paths are written relative to the repository, so
    the README names no folder of the machine that ran it.
    """
    text_lines = [line.replace(f"{REPO_ROOT}/", "") for line in lines]
    print("\n".join(text_lines))
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n```\n{command}\n```\n\n```\n" + "\n".join(text_lines) + f"\n```\n{end}"
    text = README.read_text()
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n" + section + "\n"
    README.write_text(text)
