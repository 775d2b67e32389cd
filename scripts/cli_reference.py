"""docs/cli.md's reference section: `fer --help` and each subcommand's, from the parser itself, so it cannot drift.

python -m scripts.cli_reference
"""

import argparse
import os
import sys

from scripts.markdown import update_section
from scripts.repository import DOCS

CLI_DOC = DOCS / "cli.md"
WIDTH = "100"  # argparse wraps help to $COLUMNS: fixed, so the text is the same on every terminal


def cli_reference() -> str:
    """The help of fer and of each subcommand, as markdown."""
    os.environ["COLUMNS"] = WIDTH
    from fer.cli import build_parser

    parser = build_parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    parts = [("fer", parser)] + [(f"fer {name}", subparser) for name, subparser in commands.choices.items()]
    return "\n".join(f"### `{title}`\n\n```\n{command.format_help()}```\n" for title, command in parts)


def main() -> int:
    update_section(CLI_DOC, "cli-reference", cli_reference())
    print(f"wrote {CLI_DOC.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
