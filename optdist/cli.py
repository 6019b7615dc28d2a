"""The ``optdist`` command line. Each area registers its sub-commands in ``optdist/commands/``."""

from __future__ import annotations

import argparse
import importlib
import sys

# One module per area; each defines ``register(subparsers) -> None`` and sets ``func`` on its parsers.
COMMAND_MODULES = [
    "optdist.commands.core",
    "optdist.commands.solve",
    "optdist.commands.bench",
    "optdist.commands.attacks",
    "optdist.commands.defences",
    "optdist.commands.rl",
    "optdist.commands.diagnose",
]


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optdist",
        description="Privacy-aware distributed CNN inference: solve, evaluate and benchmark placements.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except BrokenPipeError:  # e.g. `optdist profile vgg16 | head`
        sys.stderr.close()
        return 0
    except (CliError, FileNotFoundError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"optdist {args.command}: error: {msg}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
