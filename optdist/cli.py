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
import contextlib
import importlib
import itertools
import logging
import os
import re
import shlex
import signal
import sys
import threading
import time
import traceback
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from optdist import __version__
from optdist.interrupts import (EXIT_INTERRUPTED, EXIT_TERMINATED, Interrupted, Terminated,  # noqa: F401 (re-exported)
                                ignore_further_signals, interrupt, interrupted_status, process_ends_with_command,
                                repeated, stopped_by)
from optdist.names import MANY_NAMES_CUTOFF, closest

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


class FlagError(CliError):
    """A flag's value the command cannot take (:func:`number_flag`), or any other error of the
    command line (:class:`_Parser`: a flag without its value, an unknown flag), found while it is
    parsed: ``main`` prints ``"{prog}: error: {message}"``, one line (not argparse's whole usage),
    and returns 2 before anything runs."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


#: how a number is written on a command line: digits with an optional sign, point and exponent
#: (``60``, ``-5``, ``1.5``, ``.5``, ``1e3``), or inf/nan (read, then refused by
#: :func:`optdist.options.number_problem`); Python's ``int``/``float`` also read ``1_0`` as 10 and
#: `` 5`` as 5, which no user means
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)",
                          re.IGNORECASE | re.ASCII)
#: a word that argparse must take as a flag's value, not as an option: one that starts as a negative
#: number does (``-5``, ``-.5``, ``-1e-3``, ``-inf``; also ``-1e-3x``, ``-5s``, for the flag's own check
#: to say "is not a number"): no optdist flag starts with '-' and a digit, a point, inf or nan
_NEGATIVE_NUMBER = re.compile(r"^-(?:[\d.]|inf|nan)", re.IGNORECASE | re.ASCII)


def read_number(text: str, *, whole: bool = False) -> float | int | str:
    """``text`` as a number where it is written as one (:data:`_NUMBER_TEXT`): an int where
    ``whole`` and it has no point or exponent (exact however large), else a float; otherwise
    ``text`` itself, which :func:`optdist.options.number_problem` calls not a number."""
    if not _NUMBER_TEXT.fullmatch(text):
        return text
    if whole and text.lstrip("+-").isdigit():
        with contextlib.suppress(ValueError):  # over Python's 4300-digit limit: the float, inf, is out of range
            return int(text)
    return float(text)


def comma_items(text: str, flag: str, example: str, what: str = "value", default: str | None = None) -> tuple[str, ...]:
    """The one rule for a comma list flag (fixc31; calibrate's --layers, --taus, --maps, --input):
    the items of ``text`` split at commas, spaces around each allowed and stripped (``'0.5, 0.4'``);
    ValueError for an empty list or an empty item (``0.5,,0.4``, ``0.5,``), the rest of a one-line
    message for :func:`checked_flag` to prefix with the flag (``default``: what leaving the flag out
    gives, said in the fix). Repeats: :func:`refuse_repeats`."""
    items = tuple(v.strip() for v in text.split(","))
    if not all(items):
        raise ValueError(f"{'is empty' if not text.strip() else f'has an empty {what}'} (fix: give {what}s "
                         f"separated by single commas, e.g. {flag} {example}"
                         + (f", or leave {flag} out for {default})" if default else ")"))
    return items


def refuse_repeats(values: Sequence[Any], flag: str, example: str, what: str = "value") -> None:
    """The one rule for a flag whose values must all differ (a value given twice would be a
    repeated row or column of what the command writes: calibrate's --taus and --layers, the --eps
    of dp-effect and dp-sweep, defq-eval's --attack-eps): ValueError "gives X more than once
    (fix: give each WHAT once, e.g. FLAG EXAMPLE)", each repeated value named once (a number as
    ``%g``), the rest of a one-line message for :func:`checked_flag` to prefix with the flag."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in twice)
        raise ValueError(f"gives {shown} more than once (fix: give each {what} once, e.g. {flag} {example})")


def checked_flag(parse: Callable[[str, str], Any], once: str | None = None) -> type[argparse.Action]:
    """An argparse action (``add_argument(..., action=checked_flag(parse))``) whose value, each
    one for ``nargs`` lists, is ``parse(text, flag)``, ``flag`` as the user wrote it (``--mip-gap``,
    not the alias listed first). ``parse`` raises ValueError with the rest of a one-line message
    ("is out of range (fix: give ..., e.g. FLAG EXAMPLE)"); the action raises :class:`FlagError`
    ``"FLAG TEXT MESSAGE"`` (exit status 2, before anything runs), the text quoted as typed.
    ``once``: for an ``nargs`` list whose values must differ, the example of its fix: a value
    given twice is a :class:`FlagError` too, "FLAG gives X more than once (fix: give each value
    once, e.g. FLAG ONCE)" (:func:`refuse_repeats`)."""

    class Checked(argparse.Action):
        example: str | None = None  # a value for the fix of "FLAG needs a value" (number_flag sets it)

        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: str | list[str], option_string: str | None = None) -> None:
            flag = option_string or self.dest
            texts = values if isinstance(values, list) else [values]
            out = []
            for text in texts:
                try:
                    out.append(parse(text, flag))
                except ValueError as exc:
                    raise FlagError(parser.prog, f"{flag} {shlex.quote(text)} {exc}") from None
            if once is not None and isinstance(values, list):
                try:
                    refuse_repeats(out, flag, once)
                except ValueError as exc:
                    raise FlagError(parser.prog, f"{flag} {exc}") from None
            setattr(namespace, self.dest, out if isinstance(values, list) else out[0])

    return Checked


def number_flag(fix: str, example: str, *, whole: bool = False,
                within: Callable[[float], bool] = lambda v: True, once: str | None = None) -> type[argparse.Action]:
    """A :func:`checked_flag` for a numeric flag: each value is read as a number
    (:func:`read_number`; ``whole``: a whole number, ``1.0`` or ``1e3`` taken as the int) that
    must be finite and pass ``within``. Otherwise a :class:`FlagError` (exit status 2, before
    anything runs) echoes the flag and the text as the user wrote them, says what is wrong
    (:func:`optdist.options.number_problem`: "is not a number", "is not a whole number", "is out
    of range") and the fix ``fix`` with an example under that flag: "--time-limit -5 is out of
    range (fix: give a finite number of seconds > 0, e.g. --time-limit 60)". Text Python reads but
    nobody writes as a number (``1_0``, `` 5``) is not a number. ``once``: an ``nargs`` list's
    values must differ, the fix's example (:func:`checked_flag`)."""
    from optdist.options import number_problem

    def parse(text: str, flag: str) -> float | int:
        value = read_number(text, whole=whole)
        problem = number_problem(value, whole=whole, within=within)
        if problem:
            raise ValueError(f"is {problem} (fix: give {fix}, e.g. {flag} {example})")
        return int(value) if whole else value

    action = checked_flag(parse, once)
    action.example = example
    return action


def count_flag(what: str, example: int, top: int) -> type[argparse.Action]:
    """:func:`number_flag` for a count of ``what``: a whole number in [1, ``top``] (``2.0`` taken
    as 2), e.g. ``--workers 2``."""
    return number_flag(f"a whole number of {what} in [1, {top:,}]", str(example), whole=True,
                       within=lambda v: 1 <= v <= top)


def option_flag(name: str, example: str) -> type[argparse.Action]:
    """:func:`number_flag` for the generic option ``name`` (``time_limit``, ``mip_gap``,
    ``threads``, ``seed``): its kind and range, :data:`~optdist.options.OPTION_RANGES`."""
    from optdist.options import IN_RANGE, OPTION_RANGES, WHOLE_OPTIONS

    return number_flag(OPTION_RANGES[name], example, whole=name in WHOLE_OPTIONS, within=IN_RANGE[name])


class _Empty(str):
    """What :class:`PathFlag`'s type gives an empty or blank value, for its ``__call__`` to refuse
    (``Path("")`` would read as the current folder)."""


class _Folder(str):
    """What :class:`PathFlag`'s type gives a value ending in a slash on a flag that takes a file, for
    its ``__call__`` to refuse (``Path("new/")`` is ``new``: ``solve --out new/`` wrote a file named new)."""


class PathFlag(argparse._StoreAction):
    """The action of a flag that takes a path (a file or a folder, read or written), made by
    :func:`path_flag`: argparse's own store, its value as ``type`` makes it, plus ``example``. An
    empty or blank value is a :class:`FlagError` on every such flag: "--out is empty (fix: give a
    folder, e.g. --out runs/sweep)", never the current folder: a file or a folder as the flag
    declares it (``takes``), else as its example looks (:meth:`kind`). So is a value ending in a
    slash, a folder, on a flag that takes a file (its ``kind``, and no ``empty_fix``: a flag taking
    either has one, diagnose's ``--json``): "--out new/ ends in '/', a folder, but --out takes a
    file (fix: give a file name, e.g. --out new/result.json)", or "(fix: --out notes.lp, the file,
    without the '/')" where that file exists; before, the slash was dropped and
    ``solve --out new/`` wrote a file named new, ``export --out notes.lp/`` replaced the file notes.lp."""

    example: str  # a real path of the kind the flag takes, for its fixes (cli._value_example)
    empty_fix: str | None = None  # the fix of an empty value, where the example alone does not tell it
    takes: str | None = None  # "file" or "folder", as the flag declares it (path_flag); None: as the example looks

    def kind(self) -> str:
        """``file`` or ``folder``: what the flag declares it takes (``takes``), else what its example
        looks like (a last part with a letters-only extension, not ending in a slash, is a file):
        a guess that misleads for a folder named like a file (``runs/v1.final``) or a file without
        an extension, which is why a flag of such an example declares ``takes``."""
        if self.takes is not None:
            return self.takes
        name = Path(self.example.rstrip("/")).suffix[1:]
        return "file" if name.isalpha() and not self.example.endswith("/") else "folder"

    def __init__(self, *args: typing.Any, type: typing.Any = None, **kwargs: typing.Any) -> None:  # noqa: A002
        inner = str if type is None else type

        def path_or_empty(text: str) -> typing.Any:
            if not text.strip():
                return _Empty(text)
            if text.endswith(("/", os.sep)) and self.empty_fix is None and self.kind() == "file":
                return _Folder(text)
            return inner(text)

        path_or_empty.__name__ = getattr(inner, "__name__", "path")  # argparse names the type in its errors
        super().__init__(*args, type=path_or_empty, **kwargs)
        self.path_type = type  # as declared (None: the text), for readers of the parser

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: typing.Any, option_string: str | None = None) -> None:
        if isinstance(values, _Empty):
            flag = option_string or self.dest
            raise FlagError(parser.prog, f"{flag} is empty (fix: "
                                         f"{self.empty_fix or f'give a {self.kind()}, e.g. {flag} {self.example}'})")
        if isinstance(values, _Folder):
            flag = option_string or self.dest
            name = values.rstrip("/" + os.sep)
            fix = (f"{flag} {name}, the file, without the '{values[-1]}'" if os.path.isfile(name) else
                   f"give a file name, e.g. {flag} {values}{Path(self.example).name}")
            raise FlagError(parser.prog, f"{flag} {values} ends in '{values[-1]}', a folder, but {flag} takes a file "
                                         f"(fix: {fix})")
        super().__call__(parser, namespace, values, option_string)


def path_flag(example: str, empty_fix: str | None = None, takes: str | None = None) -> type[argparse.Action]:
    """The action of a flag that takes a path (``add_argument("--out", type=Path,
    action=path_flag("model.lp"))``): it stores the value as argparse does, and declares
    ``example``, a path of the right kind (a file in the repository for a flag that reads one, e.g.
    a device catalog; a file of the name and extension the flag writes, e.g. ``model.lp``; a folder
    as the command makes it), as the value the error fixes show: "--out needs a value (fix: give
    one after it, e.g. --out model.lp)" (:func:`_value_example`). Every command's path flags
    declare theirs so (tests/test_tidy30.py checks every flag of type ``Path``). ``empty_fix``: the
    fix of an empty value where "give a file/folder, e.g. FLAG EXAMPLE" does not say what the flag
    takes (pareto's --out: a file prefix or a folder; solve's --policy: a folder or a file).
    ``takes``: ``"file"`` or ``"folder"``, what the flag takes, where its example does not look it
    (:meth:`PathFlag.kind`: a folder named like a file, a file without an extension)."""
    if takes not in (None, "file", "folder"):
        raise ValueError(f"path_flag({example!r}): takes={takes!r} (fix: takes=\"file\" or takes=\"folder\")")
    return type("PathFlag", (PathFlag,), {"example": example, "empty_fix": empty_fix, "takes": takes})


def _global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """-v/-q/--debug; on sub-commands with SUPPRESS defaults, so either position works."""
    dflt = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)  # noqa: E731
    g = parser.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="count", default=dflt(0), help="more notes on stderr (-vv: solver libraries too)")
    g.add_argument("-q", "--quiet", action="store_true", default=dflt(False), help="no notes on stderr, only errors")
    g.add_argument("--debug", action="store_true", default=dflt(False), help="show the traceback of any error")


def _version_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"optdist {__version__}")


def _version_asked(words: list[str]) -> None:
    """``--version`` among the global flags before the command (``words``: the command line after
    the program's name): print the version and exit (SystemExit 0, as :func:`build_parser`'s
    parser does) without importing the command modules, which took ~1 s; otherwise return."""
    head = list(itertools.takewhile(lambda w: w.startswith("-"), words))  # the global flags take no value
    if head:
        early = _EarlyParser(prog="optdist", add_help=False)  # -h: the whole parser's help
        _version_flag(early)
        _global_flags(early, suppress=False)
        with contextlib.suppress(argparse.ArgumentError):  # e.g. --ver (--version or --verbose?): the whole parser says it
            early.parse_known_args(head)  # reads --version as the whole parser would (e.g. --vers)


class _Parser(argparse.ArgumentParser):
    """optdist's parsers (the sub-commands' too): an error of argparse's own (a flag without its
    value, an unknown flag, a missing argument, an invalid choice) is one line with a fix, a
    :class:`FlagError` that ``main`` prints (exit status 2), not the whole usage
    (:func:`_parse_error`)."""

    _words: list[str] = []  # the words this parser is reading, for the error's message

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> typing.NoReturn:
        prog, said = _parse_error(self, message)
        raise FlagError(prog, said)


def _sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``parser``'s sub-commands (name -> its parser), none for a parser without them."""
    return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})


#: an example in a flag's help: "(e.g. instances/schema.json)", "e.g. 3,32,32 (with --module)"
_HELP_EXAMPLE = re.compile(r"e\.g\. (\S+?)[,;)]*(?:\s|$)")


def _value_example(action: argparse.Action) -> str:
    """A real value of the flag ``action`` for a fix, never a placeholder: the example it declares
    (:func:`number_flag`'s check's, :func:`path_flag`'s path of the right kind: a device catalog,
    an instance for ``--forecast``, ``model.lp`` for ``export --out``), its first choice, its
    default (``--solver highs``), the example its help gives ("e.g. paper"); else its metavar."""
    example = getattr(action, "example", None)
    if example is not None:
        return example
    if action.choices:
        return str(next(iter(action.choices)))
    if isinstance(action.default, (str, int, float, Path)) and not isinstance(action.default, bool) \
            and action.default not in ("", argparse.SUPPRESS):
        return str(action.default)
    if found := _HELP_EXAMPLE.search(action.help or ""):
        return found[1]
    return str(action.metavar or action.dest.upper())


def _close_flag(word: str, flags: list[str]) -> str | None:
    """The flag among ``flags`` that the unknown ``word`` (``--timeout``) likely meant: a generic
    option's flag for a word that names it (:func:`optdist.options.generic_meant`: ``--timeout``,
    ``--time`` -> ``--time-limit``), else the closest flag compared without the dashes, and only a
    close one (``--gapp`` -> ``--gap``; the shared ``--`` made ``--foo`` look like ``--out``), else
    the one flag that ends in the word (``--catalog`` -> ``--devices-catalog``)."""
    from optdist.options import OPTION_FLAGS, generic_meant

    generic = generic_meant(word)
    if generic is not None and OPTION_FLAGS[generic] in flags:
        return OPTION_FLAGS[generic]
    bare = {f.lstrip("-"): f for f in flags}
    close = closest(word.lstrip("-"), bare, cutoff=MANY_NAMES_CUTOFF)
    if close:
        return bare[close]
    tail = [f for f in flags if f.endswith(f"-{word.lstrip('-')}")]
    return tail[0] if len(tail) == 1 else None


def _parse_error(parser: argparse.ArgumentParser, message: str) -> tuple[str, str]:
    """argparse's error ``message`` of ``parser`` as one line with a fix: ``(prog, line)``.

    A flag without its value: "--gap needs a value, not the flag --tee (fix: give one after it,
    e.g. --gap 0.01)" (a value that starts as a negative number is the flag's, which its check
    reads: "--gap -1e-3x is not a number"); unknown words: "unrecognized argument --1 (fix: leave
    it out; `optdist solve --help` lists the flags)", named under the sub-command they follow, with
    the flag meant where one is close ("did you mean --gap?"); an invalid choice: its first one as
    the example; anything else: argparse's message and "see `PROG --help`"."""
    prog, words = parser.prog, parser._words
    if m := re.fullmatch(r"argument (\S+): expected .*arguments?", message):
        names = m[1].split("/")
        action = parser._option_string_actions.get(names[0])
        if action is not None:
            at = [i for i, w in enumerate(words) if w in names or (w.startswith("--") and len(w) > 2
                                                                   and any(n.startswith(w) for n in names))]
            typed = words[at[-1]] if at else names[0]
            after = words[at[-1] + 1] if at and at[-1] + 1 < len(words) else None
            return prog, (f"{typed} needs a value{f', not the flag {after}' if after else ''} (fix: give one after "
                          f"it, e.g. {typed} {_value_example(action)})")
    if message.startswith("unrecognized arguments: "):
        extras = message.removeprefix("unrecognized arguments: ")
        command = next((w for w in words if not w.startswith("-")), None)
        sub = _sub_commands(parser).get(command or "")
        if sub is not None:
            parser, prog = sub, sub.prog
        flags = [o for o in parser._option_string_actions if o.startswith("--")]
        unknown = next((w.split("=", 1)[0] for w in extras.split() if w.startswith("-")), None)
        close = _close_flag(unknown, flags) if unknown else None
        hint = f"did you mean {close}? " if close else f"leave {'them' if ' ' in extras else 'it'} out; "
        return prog, (f"unrecognized argument{'s' if ' ' in extras else ''} {extras} "
                      f"(fix: {hint}`{prog} --help` lists the flags)")
    if m := re.fullmatch(r"argument (\S+): invalid choice: '(.*)' \(choose from .*\)", message, re.DOTALL):
        # argparse quotes as Python does ('x'); optdist's messages quote as JSON does ("x")
        from optdist.jsonfile import quoted, text_of

        names = m[1].split("/")
        action = parser._option_string_actions.get(names[0])
        choices = [str(c) for c in (action.choices or ())] if action is not None else list(_sub_commands(parser))
        said = f"argument {m[1]}: invalid choice: {text_of(m[2])} (choose from {quoted(choices)})"
        close = closest(m[2], choices)
        if action is not None:
            fix = f"did you mean {names[0]} {close}?" if close else f"e.g. {names[0]} {_value_example(action)}"
            return prog, f"{said} (fix: {fix})"
        if close:
            return prog, f"{said} (fix: did you mean {close}? `{prog} --help` lists them)"
        return prog, f"{said} (fix: see `{prog} --help`)"
    return prog, f"{message} (fix: see `{prog} --help`)"


class _EarlyParser(argparse.ArgumentParser):
    """:func:`_version_asked`'s parser: an error is raised (ArgumentError), not printed, for the whole parser to report."""

    def error(self, message: str) -> typing.NoReturn:
        raise argparse.ArgumentError(None, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="optdist",
        description="Privacy-aware distributed CNN inference: solve, evaluate and benchmark placements.",
        epilog="exit status: 0 ok (a feasible result, also one kept when the solver failed), 1 no feasible result "
               "(e.g. the solver failed without one), 2 user error, 3 internal error, 130 interrupted "
               "(SIGINT), 143 terminated (SIGTERM)",
    )
    _version_flag(parser)
    _global_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for p in [parser, *sub.choices.values()]:
        if p is not parser:
            _global_flags(p, suppress=True)
        # argparse reads '-5' and '-.5' as values but '-1e-3' and '-inf' as unknown options ("expected one
        # argument", the whole usage): every number a flag's check reads is a value, so its error is the one line
        p._negative_number_matcher = _NEGATIVE_NUMBER
    return parser


class _NoteFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return f"optdist: {msg}" if record.levelno < logging.WARNING else f"optdist: {record.levelname.lower()}: {msg}"


def configure_logging(verbose: int = 0, quiet: bool = False, propagate: bool | None = False) -> logging.Handler:
    """Notes of the ``optdist`` logger to stderr: INFO by default, DEBUG with -v, ERROR with -q.
    ``propagate``: whether the notes also reach the root logger's handlers (None: as it is).

    Returns the handler (``main`` removes it again, so in-process calls do not stack handlers,
    and puts back the levels and the propagation it changed: :func:`_logging_state`).
    """
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NoteFormatter())
    log.addHandler(handler)
    log.setLevel(level)
    if propagate is not None:
        log.propagate = propagate
    logging.getLogger("pyomo").setLevel(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.WARNING)
    return handler


def _logging_state() -> Callable[[], None]:
    """What :func:`configure_logging` changes (the ``optdist`` logger's level and propagation, the
    ``pyomo`` logger's level), as now; returns the call that puts it back. ``main`` does when it
    returns: before, an in-process ``main(["-q", ...])`` left ``optdist`` at ERROR for the rest of
    the process (a library user's later solve warned of nothing)."""
    pyomo = logging.getLogger("pyomo")
    level, propagate, pyomo_level = log.level, log.propagate, pyomo.level

    def restore() -> None:
        log.setLevel(level)
        log.propagate = propagate
        pyomo.setLevel(pyomo_level)

    return restore


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
    None). Returns the exit status.

    A signal at any moment of the call, also while the command modules are imported and the
    arguments parsed (1-2 s on a shared machine), ends it with one line, "optdist COMMAND:
    interrupted" (or "terminated (SIGTERM)"), and 130 (143); a traceback only with ``--debug``.
    In this process's own command (``argv`` None), SIGINT and SIGTERM are ignored once the
    command has returned: the process is exiting with the command's status.
    """
    whole_process = argv is None  # this process ends with the command: a signal that stopped it stays ignored
    words = sys.argv[1:] if argv is None else argv
    old_term = handler = None
    restore_logging = _logging_state()
    unraisable = sys.unraisablehook
    try:
        called = time.perf_counter()
        if whole_process:
            process_ends_with_command()
            _lost.clear()
            sys.unraisablehook = _lost_interrupt_unsaid
        old_term = _sigterm_as_interrupt()
        _version_asked(words)
        parser = build_parser()
        if not words:  # bare `optdist`: the commands and what they do, as `optdist --help` (status 2: nothing ran)
            parser.print_help(sys.stderr)
            return 2
        args = parser.parse_args(argv)
        args.started = None if argv is None else called
        args.whole_process = whole_process
        # in-process (argv given) the caller's logging keeps the notes too (its root handlers, e.g.
        # pytest's caplog); the process's own command: stderr alone
        handler = configure_logging(args.verbose, args.quiet, propagate=False if whole_process else None)
        if (lost := _interrupt_behind(None)) is not None:  # raised where Python drops it (see _lost_interrupt_unsaid)
            raise lost
        return _run(args)
    except KeyboardInterrupt as e:  # before the command ran (importing, parsing) or after it returned
        return _interrupted(e, _command_of(words), "--debug" in words, whole_process)
    except FlagError as e:  # a flag's value, found while parsing: one line, as argparse's errors exit 2
        print(f"{e.prog}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if (stop := _interrupt_behind(e)) is None:
            raise
        return _interrupted(stop, _command_of(words), "--debug" in words, whole_process)
    finally:
        if whole_process:
            ignore_further_signals()  # the command has returned or was stopped: no signal raises in the exit
            sys.unraisablehook = unraisable
        elif old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if handler is not None:
            log.removeHandler(handler)
            restore_logging()


def _command_of(words: list[str]) -> str | None:
    """The command of the command line ``words`` (its first word that is not a flag: the global
    flags take no value), None without one; for the message of a signal that came before the
    arguments were parsed."""
    return next((w for w in words if not w.startswith("-")), None)


def _interrupt_behind(e: Exception | None) -> KeyboardInterrupt | None:
    """The interrupt that error ``e`` stands for (None: the interrupt still to raise, if one was
    lost): a signal's interrupt was raised before it (:func:`~optdist.interrupts.stopped_by`, this
    process's own command only), which a library turned into ``e`` on its way (e.g. an ImportError
    of numpy's C extension whose import it broke); None where no signal came."""
    signum = stopped_by()
    if signum is None:
        return None
    name = signal.Signals(signum).name
    return (Terminated if signum == signal.SIGTERM else Interrupted)(name if e is None else f"{name} became {e!r}")


#: the signals' interrupts :func:`_lost_interrupt_unsaid` kept from printing in this process's command
_lost: list[KeyboardInterrupt] = []


def _lost_interrupt_unsaid(unraisable) -> None:
    """``sys.unraisablehook`` of the CLI's own process, for the whole of ``main``: a signal's
    interrupt raised where Python cannot raise it (the handler ran in a finaliser or a weakref
    callback: the import system's module-lock clean-up while the command modules import, an
    object's ``__del__`` as the command winds down) is not printed ("Exception ignored in ...", a
    traceback) but kept in :data:`_lost`: ``main`` raises it again before the command runs, and
    reports it (one line, exit 130 or 143) once the command has returned. Anything else: Python's
    default."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and stopped_by() is not None:
        _lost.append(unraisable.exc_value)
    else:
        sys.__unraisablehook__(unraisable)


def _interrupted(e: KeyboardInterrupt, command: str | None, debug: bool, whole_process: bool) -> int:
    """Say that a signal stopped ``command`` (one line on stderr, the traceback too with ``debug``)
    and return its exit status: 143 for SIGTERM (:class:`Terminated`), else 130."""
    if whole_process:
        ignore_further_signals()  # a second signal would interrupt this message and the exit
    if debug:
        traceback.print_exception(e)
    terminated = isinstance(e, Terminated)
    print(f"optdist{'' if command is None else ' ' + command}: "
          f"{'terminated (SIGTERM)' if terminated else 'interrupted'}", file=sys.stderr)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    try:
        rc = args.func(args)
    except KeyboardInterrupt as e:
        return _interrupted(e, args.command, args.debug, args.whole_process)
    except Exception as e:
        if (stop := _interrupt_behind(e)) is not None:  # the signal's doing: not an error of the user's or a bug
            return _interrupted(stop, args.command, args.debug, args.whole_process)
        return _failed(e, args)
    if _lost:  # the signal came as the command wound down, its interrupt raised in a finaliser: said now
        return _interrupted(_lost[0], args.command, args.debug, args.whole_process)
    return int(rc or 0)


def missing_file_fix(e: FileNotFoundError, msg: str) -> str:
    """The fix for a missing file (``e``: its path in ``e.filename`` or, as optdist's readers say
    it, before the last ": " of ``msg``, "PATH: instance file not found"): check the path, listing
    the nearest folder of it that exists (``instances/`` for an instance whose nearest folder is
    the current or the root one, where that folder is here)."""
    path = Path(str(e.filename) if e.filename is not None else msg.rsplit(": ", 1)[0])
    folder = next((p for p in path.parents if p.is_dir()), Path("."))
    if folder in (Path("."), Path("/")) and "instance file" in msg and Path("instances").is_dir():
        folder = Path("instances")
    listing = "ls" if folder == Path(".") else f"ls {shlex.quote(str(folder).rstrip('/') + '/')}"
    return f"check the path, e.g. `{listing}` shows what is there"


def _failed(e: Exception, args: argparse.Namespace) -> int:
    """Report the error ``e`` that ended the command (one line, a traceback too with --debug) and
    return its exit status: 2 a user error, 3 a bug, 128 + SIGPIPE a closed stdout."""
    where = f"optdist {args.command}"
    if isinstance(e, BrokenPipeError):  # e.g. `optdist profile vgg16 | head`: the reader stopped reading
        _quiet_stdout()
        return 128 + signal.SIGPIPE
    if isinstance(e, (CliError, OSError, ValueError, KeyError)):
        if args.debug:
            traceback.print_exc()
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and e.filename is not None and str(e.filename) not in str(msg):
            msg = f"{e.filename}: {e.strerror or msg}"
        if isinstance(e, FileNotFoundError) and "fix:" not in str(msg):
            msg = f"{msg} (fix: {missing_file_fix(e, str(msg))})"
        print(f"{where}: error: {msg}", file=sys.stderr)
        return 2
    if args.debug:  # a bug: never a raw traceback without --debug
        traceback.print_exc()
    print(f"{where}: internal error: {type(e).__name__}: {e}\n"
          f"  (this is a bug in optdist; rerun with --debug for the traceback and report it)", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    # `python -m optdist.cli` runs this file as __main__, a second copy of the module: the commands
    # raise optdist.cli.CliError, not __main__.CliError, so run the one module they import
    from optdist.cli import main as _main

    sys.exit(_main())
