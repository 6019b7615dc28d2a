"""The ``optdist`` command line. Each area registers its sub-commands in ``optdist/commands/``.

Global flags (before or after the command): ``-v`` (more notes), ``-q`` (no notes, errors
only), ``--debug`` (tracebacks), ``--version``. Notes and progress go to stderr through the
``optdist`` logger; results go to stdout. Exit status: 0 success (a feasible result, also one
kept when the solver failed: its warning names the failure), 1 no feasible result (also a solver
that failed, e.g. was killed, without leaving one: the message names it), 2 user error, 3 internal error (a
bug: rerun with ``--debug`` and report it), 130 interrupted by SIGINT, 143 by SIGTERM (128 +
the signal's number, as a shell reports a process the signal killed; a solver stopped this way
still returns and writes its incumbent).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
import traceback

from optdist import __version__
from optdist.interrupts import (EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, ignore_further_signals,  # noqa: F401 (re-exported)
                                interrupt, interrupted_status, process_ends_with_command, repeated)

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

EXIT_INTERNAL = 3
log = logging.getLogger("optdist")


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def count_type(what: str, example: int, top: int):
    """An argparse type: a whole number of ``what`` in [1, top] (argparse reports the error, exit status 2)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}, e.g. {example}") from None
        if not 1 <= n <= top:
            raise argparse.ArgumentTypeError(f"{n} is outside [1, {top:,}]; give the number of {what}, e.g. {example}")
        return n

    return parse


def seed_type(text: str) -> int:
    """An argparse type: a random seed, a whole number >= 0 (numpy refuses negative seeds)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give a seed >= 0, e.g. 0") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative; give a seed >= 0, e.g. 0")
    return n


def _global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """-v/-q/--debug; on sub-commands with SUPPRESS defaults, so either position works."""
    dflt = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)  # noqa: E731
    g = parser.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="count", default=dflt(0), help="more notes on stderr (-vv: solver libraries too)")
    g.add_argument("-q", "--quiet", action="store_true", default=dflt(False), help="no notes on stderr, only errors")
    g.add_argument("--debug", action="store_true", default=dflt(False), help="show the traceback of any error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optdist",
        description="Privacy-aware distributed CNN inference: solve, evaluate and benchmark placements.",
        epilog="exit status: 0 ok (a feasible result, also one kept when the solver failed), 1 no feasible result "
               "(e.g. the solver failed without one), 2 user error, 3 internal error, 130 interrupted "
               "(SIGINT), 143 terminated (SIGTERM)",
    )
    parser.add_argument("--version", action="version", version=f"optdist {__version__}")
    _global_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for p in sub.choices.values():
        _global_flags(p, suppress=True)
    return parser


class _NoteFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return f"optdist: {msg}" if record.levelno < logging.WARNING else f"optdist: {record.levelname.lower()}: {msg}"


def configure_logging(verbose: int = 0, quiet: bool = False) -> logging.Handler:
    """Notes of the ``optdist`` logger to stderr: INFO by default, DEBUG with -v, ERROR with -q.

    Returns the handler (``main`` removes it again, so in-process calls do not stack handlers).
    """
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NoteFormatter())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    logging.getLogger("pyomo").setLevel(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.WARNING)
    return handler


def _sigterm_as_interrupt():
    """SIGTERM raises :class:`Terminated` (clean-up runs, exit 143) as Ctrl-C raises
    KeyboardInterrupt (exit 130), not when :func:`~optdist.interrupts.repeated`; returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        if not repeated(signum):
            interrupt(signum)

    return signal.signal(signal.SIGTERM, handler)


def _quiet_stdout() -> None:
    """After a closed pipe: send further output (and the interpreter's final flush) to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (None: this process's command line; time limits then count from
    the process start, else from this call, ``args.started``: a ``time.perf_counter()`` value or
    None). Returns the exit status."""
    called = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = None if argv is None else called
    args.whole_process = argv is None  # this process ends with the command: a signal that stopped it stays ignored
    handler = configure_logging(args.verbose, args.quiet)
    if args.whole_process:
        process_ends_with_command()
    old_term = _sigterm_as_interrupt()
    rc = None
    try:
        rc = _run(args)
        return rc
    finally:
        log.removeHandler(handler)
        if args.whole_process and rc in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            ignore_further_signals()  # a second Ctrl-C while the interpreter exits: no raw signal death
        elif old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _run(args: argparse.Namespace) -> int:
    where = f"optdist {args.command}"
    try:
        rc = args.func(args)
    except KeyboardInterrupt as e:
        if args.whole_process:
            ignore_further_signals()  # a second signal would interrupt this message and the exit
        if args.debug:
            traceback.print_exc()
        terminated = isinstance(e, Terminated)
        print(f"{where}: {'terminated (SIGTERM)' if terminated else 'interrupted'}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `optdist profile vgg16 | head`: the reader stopped reading
        _quiet_stdout()
        return 128 + signal.SIGPIPE
    except (CliError, OSError, ValueError, KeyError) as e:
        if args.debug:
            traceback.print_exc()
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in str(msg):
            msg = f"{e.filename}: {e.strerror or msg}"
        print(f"{where}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug: never a raw traceback without --debug
        if args.debug:
            traceback.print_exc()
        print(f"{where}: internal error: {type(e).__name__}: {e}\n"
              f"  (this is a bug in optdist; rerun with --debug for the traceback and report it)", file=sys.stderr)
        return EXIT_INTERNAL
    return int(rc or 0)


if __name__ == "__main__":
    # `python -m optdist.cli` runs this file as __main__, a second copy of the module: the commands
    # raise optdist.cli.CliError, not __main__.CliError, so run the one module they import
    from optdist.cli import main as _main

    sys.exit(_main())
