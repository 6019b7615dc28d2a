"""Reading the user's JSON documents: bounded in memory, every failure a clear error.

Every JSON document (instances, assignments, results, profiles, device catalogs, privacy tables,
policies) is read through :func:`read_json`. A file over its size
limit, one that is not a regular file (a directory, ``/dev/zero``, a pipe), one that is not
UTF-8/16/32 text, invalid JSON, JSON nested too deeply, an integer with thousands of digits or
a key twice in one object (JSON would keep only the last value, even of ``tau``) each raise
:class:`DocumentError` naming the file, the place and the fix, never a traceback.
Decoded JSON takes a small multiple of the file's bytes, so a document's memory is bounded by
its size; documents that expand further (run-length encoded assignments) check their counts
against the instance before expanding (:mod:`optdist.assignment`).

A document that is JSON but breaks its schema is reported by :func:`schema_problems`, the one
translation of pydantic's errors for every kind (instances, device catalogs, profiles,
policies): each kind describes its places in a :class:`Schema` (what each expects, an example).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel, ValidationError

from optdist.names import FEW_WORDS_CUTOFF, closest
from optdist.options import is_whole

MiB = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One problem in a document: where (JSON path or line), what is wrong, how to fix it."""

    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (fix: {self.fix})"


class DocumentError(ValueError):
    """An invalid user document (``source``: its file or name); ``problems`` lists every problem found."""

    kind = "document"

    def __init__(self, source: str, problems: list[Problem], note: str = ""):
        self.source = source
        self.problems = problems
        self.note = note  # what was not checked because of these problems ("" when everything was)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the {self.kind}:\n{lines}"
                         + (f"\n  note: {note}" if note else ""))


def is_json_name(name: str) -> bool:
    """Whether the file name ``name`` ends in ``.json`` in any case (``R.JSON``, ``p.Json``): what tells a
    file from a name (a zoo CNN, a bundled privacy table, a method) wherever optdist takes either.
    Before, ``optdist profile P.JSON`` looked up a zoo CNN "P.JSON"."""
    return name.lower().endswith(".json")


def _a(word: str) -> str:
    """``word`` with its indefinite article: ``an instance``, ``a profile``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


#: the ``format`` prefix of each kind of optdist file -> what it is (for "this is X, not Y")
FORMAT_KINDS = {
    "optdist-profile/": "a network profile",
    "optdist-privacy-table/": "a privacy table",
    "optdist-instance/": "an instance",
    "optdist-device-catalog/": "a device catalog",
    "optdist-assignment/": "an assignment",
    "optdist-result/": "a solve result",
    "optdist-diagnosis/": "a diagnosis",
    "optdist-bench-record/": "a bench record",
    "optdist-bench-grid/": "a bench grid (OUT/grid.json)",
    "optdist-rl-policy/": "a DQN policy's policy.json",
    "optdist-rl-ppo/": "a MaskablePPO policy's policy.json",
}

#: kinds :func:`read_json` checks the ``format`` of before their own validation: ``what`` ->
#: (the format prefix expected, the fix). Another optdist kind given there is one problem naming
#: both kinds, not one per field that differs (a profile given as a privacy table gave six, a
#: device catalog or a result file given as an instance 5-27). Profiles check theirs in
#: :func:`optdist.profiles.parse_profile`, which also reads profiles embedded in instances.
EXPECTED_FORMATS = {
    "privacy table": ("optdist-privacy-table/", 'give a privacy-table file (format "optdist-privacy-table/1", '
                      "written by `optdist calibrate`) or a bundled table name such as \"paper\"; a network's "
                      'profile belongs under the instance\'s "networks", its table under "privacy"'),
    "instance": ("optdist-instance/", 'give an instance file (format "optdist-instance/1"; `optdist generate` '
                 "writes one, instances/ holds examples)"),
    "device catalog": ("optdist-device-catalog/", 'give a device-catalog file (format "optdist-device-catalog/1"; '
                       "examples/byon/mydevices.json is one)"),
}
#: the fields only a network profile has: a document without ``"format"`` (a profile may leave it
#: out) that has them is a profile (it gave a privacy table's six schema problems)
PROFILE_FIELDS = ("input_shape", "layers")
#: the fix of a network profile (file ``{path}``) given as a privacy table (``optdist generate
#: --privacy PROFILE``, an instance's ``"privacy"``): how a table is made (before: "give ... a bundled
#: table name such as "paper"", which said nothing of making one; a user's network has no "paper")
PROFILE_AS_TABLE_FIX = ("a profile says what the network computes, a privacy table what its layers leak: make the "
                        "network's table with `optdist calibrate` (a zoo CNN by its name, e.g. optdist calibrate lenet; "
                        "your own network: optdist calibrate --module MOD:BUILDER --profile {path} --images DIR; "
                        "`optdist calibrate --help`) and give the privacy-table file it writes (format "
                        '"optdist-privacy-table/1"), or a bundled table\'s name (models/privacy/<cnn>-<name>.json); the '
                        'profile belongs under the instance\'s "networks" (`optdist generate --networks NAME=FILE`)')


def _other_kind(doc: Any, what: str, path: Path) -> Problem | None:
    """The problem when ``doc`` (of file ``path``) declares another kind of optdist file than ``what``
    (a kind of :data:`EXPECTED_FORMATS`), or has no ``format`` but a profile's fields
    (:data:`PROFILE_FIELDS`), else None; a placement given as an instance names evaluate, a profile
    given as a privacy table how to make one (:data:`PROFILE_AS_TABLE_FIX`)."""
    if what not in EXPECTED_FORMATS or not isinstance(doc, dict):
        return None
    fmt = doc.get("format")
    prefix, fix = EXPECTED_FORMATS[what]
    if fmt is None and all(f in doc for f in PROFILE_FIELDS):
        kind, said = FORMAT_KINDS["optdist-profile/"], f"no \"format\", a profile's fields {quoted(PROFILE_FIELDS)}"
    elif not isinstance(fmt, str) or not fmt.startswith("optdist-") or fmt.startswith(prefix):
        return None
    else:
        kind = next((k for p, k in FORMAT_KINDS.items() if fmt.startswith(p)), "another kind of optdist file")
        said = f"format {text_of(fmt)}"
    if what == "instance" and fmt is not None and fmt.startswith(("optdist-assignment/", "optdist-result/")):
        fix = f"score it with `optdist evaluate INSTANCE {path}`; {fix}"
    if what == "instance" and fmt is not None and fmt.startswith(("optdist-rl-policy/", "optdist-rl-ppo/")):
        method = "rl-ppo" if fmt.startswith("optdist-rl-ppo/") else "rl"  # checked with its policy.pt where placed
        fix = f"a policy is checked where it places: `optdist solve INSTANCE --method {method} --policy {path.parent}`; {fix}"
    if what == "privacy table" and kind == FORMAT_KINDS["optdist-profile/"]:
        fix = PROFILE_AS_TABLE_FIX.format(path=path)
    return Problem("format", f"this file is {kind} ({said}), not {_a(what)}", fix)


def read_json(path: str | bytes | os.PathLike, max_bytes: int, error: type[DocumentError] = DocumentError,
              what: str = "JSON") -> Any:
    """The decoded JSON of ``path`` (any path ``open`` takes: a bytes path was pathlib's TypeError), a
    regular file of at most ``max_bytes`` bytes.

    Raises :class:`FileNotFoundError` for a missing file and ``error`` (a :class:`DocumentError`
    subclass) for everything else that keeps the file from being read; ``what`` names the
    expected file in the fixes (e.g. ``"instance"``). A kind of :data:`EXPECTED_FORMATS` whose
    document declares another optdist format (e.g. ``optdist-profile/2`` read as a privacy
    table) raises ``error`` with that one problem.
    """
    path = Path(os.fsdecode(path))
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} file not found")

    def fail(where: str, message: str, fix: str) -> DocumentError:
        return error(str(path), [Problem(where, message, fix)])

    if not path.is_file():
        raise fail("(file)", "not a regular file (a directory, device or pipe)", f"give the path of {_a(what)} .json file")
    limit = f"{max_bytes / MiB:g} MiB"
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size  # read() preallocates what it is asked for: ask for the size only
            raw = f.read(min(size, max_bytes) + 1)
    except OSError as e:
        raise fail("(file)", f"cannot be read: {e.strerror or e}", "check the path and its permissions") from None
    if len(raw) > max_bytes:
        raise fail("(file)", f"larger than the {limit} limit for {_a(what)} file",
                   f"check that it is the right file; {_a(what)} file is far smaller (split the work into several files)")
    if not raw.removeprefix(b"\xef\xbb\xbf").strip():  # not "Expecting value" at line 1
        raise fail("(file)", "empty", f"put {_a(what)} document in it, a JSON object {{...}}")
    marked: list[_Object] = []
    try:
        doc = json.loads(raw, object_pairs_hook=lambda pairs: _Object.from_pairs(pairs, marked), parse_float=_parse_float)
    except json.JSONDecodeError as e:
        kind = _not_json_kind(path, raw, what)
        if kind is not None:  # an LP/MPS model or a TOML file given for a JSON one
            raise fail("(file)", f"{kind[0]}, not {_a(what)} JSON file", kind[1]) from None
        raise fail(f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}", _syntax_fix(e)) from None
    except UnicodeDecodeError:
        raise fail("(file)", "not UTF-8 text", f"save the {what} file as UTF-8 JSON") from None
    except RecursionError:
        raise fail("(document)", "JSON nested too deeply", f"{_a(what)} file nests a few levels only: check the brackets") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise fail("(document)", f"unreadable number: {e}", "write numbers in ordinary notation, e.g. 1e9") from None
    if marked:  # walk the document only to name where the duplicates are
        raise error(str(path), duplicate_keys(doc))
    other = _other_kind(doc, what, path)
    if other is not None:
        raise error(str(path), [other])
    return doc


#: a solution file's first line: CBC's status line, glpsol's -o or -w header, HiGHS's writeSolution
_SOLUTION_START = re.compile(rb"[A-Za-z ]+ - objective value |c? ?Problem: |Model status\s")
_MODEL_START = re.compile(rb"\\|\*|NAME\b|ROWS\b|(?i:(min|max)(imi[sz]e)?)\b")  # an LP/MPS file's first word


def _not_json_kind(path: Path, raw: bytes, what: str) -> tuple[str, str] | None:
    """(what ``path`` is, which command takes it) when a file that is not JSON is another file optdist
    knows: a TOML file (a bench spec or a solver profile; by its content, or its extension) or an LP
    or MPS model (``optdist export``'s, by its extension or first word); None otherwise. ``what``: the file expected."""
    here = f"give {_a(what)} .json file here"
    try:  # TOML by its content, whatever the extension (a spec or profile saved as .json)
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        doc = None
    if doc or path.suffix.lower() == ".toml":
        doc = doc or {}
        if "solver" in doc and "instances" not in doc:
            return "it is a TOML solver profile", f"give it to a solve as `--solver {path}`; {here}"
        if "instances" in doc:
            return "it is a TOML bench spec", f"run it with `optdist bench {shlex.quote(str(path))}`; {here}"
        return "it is a TOML file", f"optdist reads {_a(what)} as JSON: write it as JSON; {here}"
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip()
    if path.suffix.lower() in (".lp", ".mps") or _MODEL_START.match(start):
        return ("it is an LP/MPS model file (as `optdist export` writes)",
                f"solve {path} with a MILP solver and read its solution back with `optdist import-solution "
                f"INSTANCE --model-file {path} --solution SOLUTION`; {here}")
    if path.suffix.lower() == ".sol" or _SOLUTION_START.match(start):
        return ("it is a MILP solver's solution file (CBC's, glpsol's or HiGHS's)",
                f"read it back with `optdist import-solution INSTANCE --model-file MODEL.lp --solution {shlex.quote(str(path))} "
                f"--format cbc|glpk|highs`, MODEL.lp the model `optdist export` wrote; {here}")
    return None


def _syntax_fix(e: json.JSONDecodeError) -> str:
    """How to fix the JSON syntax error ``e``, from the text where it was found."""
    rest, before = e.doc[e.pos:e.pos + 2], e.doc[:e.pos].rstrip()
    if e.msg == "Extra data":
        return "remove what follows the end of the JSON document (a second document, or text after its closing bracket?)"
    if rest.startswith(("//", "/*")) or rest.startswith("#"):
        return "remove the comment: JSON has no comments (put a note in a \"description\" field)"
    if before.endswith(",") and rest[:1] in ("}", "]"):
        return "remove the comma before the closing bracket: JSON allows no comma after the last entry"
    if re.match(r"-?\.[0-9]", e.doc[e.pos:e.pos + 3]):
        return "write a digit before the decimal point, e.g. 0.6 for .6"
    if rest[:1] == "'":
        return "write strings and keys in double quotes, e.g. \"tau\", not 'tau'"
    return "fix the JSON syntax (a missing comma or quote?)"


class _Object(dict):
    """A decoded JSON object that had a key twice (``json`` keeps only the last value): ``duplicates``."""

    duplicates: list[str]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]], marked: list[_Object]) -> dict:
        """The object of ``pairs``: a plain dict, or (appended to ``marked``) an ``_Object`` if a key repeats."""
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj  # the common case stays a plain dict
        dup = cls(obj)
        seen: set[str] = set()
        dup.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]
        marked.append(dup)
        return dup


def duplicate_keys(doc: Any, path: str = "") -> list[Problem]:
    """One :class:`Problem` per key a decoded document had twice, with the JSON path of its object."""
    out = []
    if isinstance(doc, dict):
        if isinstance(doc, _Object):
            out += [Problem(f"{path}[{text_of(k)}]" if path else escaped(k), f"key {text_of(k)} appears twice (JSON keeps only the last value)",
                            "keep one entry per key") for k in dict.fromkeys(doc.duplicates)]
        for k, x in doc.items():
            out += duplicate_keys(x, f"{path}.{k}" if path else k)
    elif isinstance(doc, list):
        for i, x in enumerate(doc):
            out += duplicate_keys(x, f"{path}[{i}]")
    return out


# --- schema problems in the user's terms -----------------------------------------------------
# The one home of the translation of pydantic's errors, for every kind of document (instances,
# device catalogs, profiles, policies): each error becomes one Problem with the field path
# (``devices[2].memory``), the value as typed (shortened) and its JSON kind, what the place
# expects, and a fix with an example, in JSON's words (a string, a number, an object, a list),
# never pydantic's ("Input should be a valid number", "instance of NodeSpec", "Extra inputs are
# not permitted"). A document kind describes its places in a :class:`Schema`.


@dataclass(frozen=True)
class Schema:
    """How a kind of document describes its places, for :func:`schema_problems`.

    Places are JSON paths with list indices as ``[]`` and the user's own keys of the objects in
    ``maps`` as ``*`` (``devices[].memory``, ``networks.*``, ``measured_seconds.*.repeats``).

    - ``expected``: place -> (what it expects, an example value as JSON text);
    - ``objects``: place -> (its pydantic model, how to call it: ``"a device"``), for unknown keys
      (the fields it has, a close spelling, the object the key belongs to) and optional fields;
    - ``maps``: the places whose keys are the user's own names;
    - ``fixes``: field name -> the fix of a value out of range or not finite (and of ``format``);
    - ``lists``: list place -> the JSON kind of its items (``"number"``, ``"string"``,
      ``"object"``): one item given alone is put in a list;
    - ``quotable``: string places where a number is a name to write in quotes;
    - ``nullable``: string places that also take null;
    - ``hint``: where the format is described, named where a place has no example;
    - ``special``: ``(error, loc, place) -> fix or None``, the document's own fixes first;
    - ``example``: ``(loc, place) -> example or None``, an example that depends on the path (an id);
    - ``also``: ``place -> text`` appended to every fix (``"; or regenerate the file with ..."``).
    """

    what: str
    expected: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    objects: Mapping[str, tuple[type[BaseModel], str]] = field(default_factory=dict)
    maps: tuple[str, ...] = ()
    fixes: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, str] = field(default_factory=dict)
    quotable: frozenset[str] = frozenset()
    nullable: frozenset[str] = frozenset()
    hint: str = ""
    special: Callable[[dict, tuple, str], str | None] | None = None
    example: Callable[[tuple, str], str | None] | None = None
    also: Callable[[str], str] | None = None


def place_of(loc: tuple, maps: tuple[str, ...] = ()) -> str:
    """``loc`` as a place of a :class:`Schema`: ``("devices", 2, "memory")`` -> ``devices[].memory``,
    ``("networks", "mynet")`` -> ``networks.*`` when ``"networks"`` is in ``maps``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += "[]"
        elif out and out in maps:
            out += ".*"
        else:
            out += f".{part}" if out else str(part)
    return out


def json_path(loc: tuple) -> str:
    """``loc`` as a JSON path: ``devices[2].memory``; the whole document: ``(document)``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return escaped(out) or "(document)"


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # controls, format (bidi overrides), surrogates, separators


def escaped(text: str) -> str:
    """``text`` with its control and invisible characters (NUL, line breaks, direction overrides)
    as JSON escapes (``\\u202e``), so that what is echoed reads as typed and cannot rearrange a line."""
    if text.isprintable():
        return text
    return "".join(json.dumps(c)[1:-1] if unicodedata.category(c) in _INVISIBLE else c for c in text)


def text_of(name: str) -> str:
    """A name or key as JSON text, as typed (``"τ"``, not ``"\\u03c4"``), invisible characters escaped."""
    return escaped(json.dumps(name, ensure_ascii=False, default=_numpy_value))  # np.True_: "true", not json's TypeError


class Written(float):
    """A JSON number literal past float range (``1e400``): its value (inf), and its ``text`` as typed."""

    text: str


def _parse_float(text: str) -> float:
    """A JSON number literal's value; one past float range keeps its text (:class:`Written`)."""
    x = float(text)
    if math.isinf(x):
        x = Written(x)
        x.text = text
    return x


def _numpy_value(value: object) -> object:
    """A numpy scalar or array (``np.int64(-1)``, ``np.True_``, ``array([1, 2])``) as the Python
    value it holds, so that :func:`json_text` writes ``-1``, ``true``, ``[1, 2]`` and not numpy's
    repr; anything else is json's TypeError (:func:`json_text` falls back to repr)."""
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy's scalars and arrays, without importing numpy
        return value.tolist()
    raise TypeError(type(value).__name__)


def json_text(value: object, limit: int = 60) -> str:
    """``value`` (any value a document holds) as JSON text, as typed but for the spacing and number
    notation, shortened past ``limit``: ``"rpi4"``, ``2.5``, ``true``, ``[1, 2]``. A name alone:
    :func:`text_of`. (Was ``typed``, a name :func:`optdist.options.option_text` had too.)"""
    if isinstance(value, Written):
        return value.text
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=_numpy_value)
    except (TypeError, ValueError):
        text = repr(value)
    return escaped(text if len(text) <= limit else f"{text[:limit - 12]}... ({len(text)} characters)")


def value_text(value: object, limit: int = 60) -> str:
    """``value`` as a user wrote it in a TOML file (a bench spec, a solver profile) or after a flag's
    ``KEY=``: :func:`json_text` (``"abc"``, ``true``, ``[0, 1]``), but an infinite or nan number as
    TOML and the flags write it (``inf``, ``-inf``, ``nan``; JSON's ``Infinity`` is no word they take)."""
    if isinstance(value, float) and not isinstance(value, Written) and not math.isfinite(value):
        return str(value)
    return json_text(value, limit)


def json_kind(value: object) -> str:
    """The JSON kind of ``value``: a string, a number, a boolean, a list, an object, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def number_text(value: object) -> str | None:
    """A string that holds a finite number as JSON writes one (``"1e9"``, ``" 12 "``), as that
    number's text; else None (``"1_000"``, ``"5."``, ``".6"`` or ``"٣"`` are no JSON numbers)."""
    if not isinstance(value, str) or not _JSON_NUMBER.fullmatch(value.strip()):
        return None
    return value.strip() if math.isfinite(float(value)) else None


def _limits(model: type[BaseModel], name: str) -> tuple[float | None, bool, float | None, bool]:
    """(lo, lo excluded, hi, hi excluded) of a number field of ``model``, from its constraints."""
    lo, lo_open, hi, hi_open = None, False, None, False
    for m in model.model_fields[name].metadata:
        if isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
        elif isinstance(m, at.Le):
            hi = m.le
    return lo, lo_open, hi, hi_open


def in_range(model: type[BaseModel], name: str, x: float) -> bool:
    """Whether ``x`` lies in the accepted range of a number field of ``model``."""
    lo, lo_open, hi, hi_open = _limits(model, name)
    return ((lo is None or (x > lo if lo_open else x >= lo)) and (hi is None or (x < hi if hi_open else x <= hi)))


def interval(model: type[BaseModel], name: str) -> str:
    """The accepted range of a number field of ``model``, from its constraints: ``(0, 1e+15]``."""
    lo, lo_open, hi, hi_open = _limits(model, name)
    return (f"{'(' if lo_open else '['}{'-inf' if lo is None else f'{lo:g}'}, "
            f"{'inf' if hi is None else f'{hi:g}'}{')' if hi_open else ']'}")


def number_in(model: type[BaseModel], name: str, what: str, whole: bool = False) -> str:
    """``what, a number in [lo, hi]`` of a number field (``whole``: a whole number)."""
    return f"{what}, a {'whole ' if whole else ''}number in {interval(model, name)}"


def quoted(names) -> str:
    """``"a", "b", "c"`` in the given order."""
    return ", ".join(map(text_of, names))


#: words in a file's name -> the kind they suggest, and how that kind begins (for a document of no
#: known kind that is no object: :func:`not_an_object`)
_NAME_KINDS = (
    (("privacy", "table"), "privacy table",
     '{"format": "optdist-privacy-table/1", "cnn": "lenet", "name": "mine", "rows": [{"tensor": "ReLU2", "maps": 16, '
     '"cells": {"4": 0.2}}]}'),
    (("catalog", "devices"), "device catalog",
     '{"format": "optdist-device-catalog/1", "devices": {"mycam": {"memory": 1073741824, "mults_per_s": 560e6, '
     '"rate": 9025000}}}'),
    (("profile",), "profile",
     '{"format": "optdist-profile/2", "cnn": "mynet", ...} (`optdist profile --module pkg.mod:builder --input C,H,W '
     '--out FILE` writes one)'),
    (("instance", "tau"), "instance",
     '{"format": "optdist-instance/1", "name": ..., "tau": ..., "devices": [...], ...} (instances/ holds examples)'),
)
_KIND_OF_FORMAT = {"optdist-privacy-table/": "privacy table", "optdist-device-catalog/": "device catalog",
                   "optdist-profile/": "profile", "optdist-instance/": "instance"}


def not_an_object(data: object, what: str | None = None, fix: str = "", *, file_name: str = "") -> Problem:
    """The one problem of a document that is JSON but not a JSON object (a list, a number, a string):
    what it is, that it must be an object, and how to write one. A list holding one object: remove
    the brackets.

    ``what``: the kind the reader expected (``"the instance"``), ``fix`` its own fix. None where the
    kind is not known (``optdist validate`` of any file, which has no ``format`` to say it): the
    message says every optdist document is an object, and the fix names the kind that the items'
    ``format``, privacy-table rows, a profile's layers or ``file_name`` (``mytable.json`` -> a
    privacy table) suggest, with how that kind begins."""
    got = f"got {json_text(data)} ({json_kind(data)})"
    items = data if isinstance(data, list) else []
    if what is not None:
        inside = len(items) == 1 and isinstance(items[0], dict)
        return Problem("(document)", f"{got}; {what} must be a JSON object",
                       f"remove the square brackets around the object: a file holds one {what.removeprefix('the ')}"
                       if inside else fix)
    message = (f"{got}; every optdist document (instance, privacy table, profile, device catalog) is a JSON object "
               '{...} whose "format" names its kind')
    fmts = {str(x.get("format", "")) for x in items if isinstance(x, dict)}
    kinds = {k for x in fmts for p, k in _KIND_OF_FORMAT.items() if x.startswith(p)}
    if len(items) == 1 and len(kinds) == 1:
        return Problem("(document)", message, f"remove the square brackets around the object: a file holds one {kinds.pop()}")
    if items and all(isinstance(x, dict) and "tensor" in x and "cells" in x for x in items):
        return Problem("(document)", message + "; this list holds privacy-table rows",
                       'put the rows in a privacy table: {"format": "optdist-privacy-table/1", "cnn": "lenet", '
                       '"name": "mine", "rows": [...]}')
    if items and all(isinstance(x, dict) and "segments" in x and "out_maps" in x for x in items):
        return Problem("(document)", message + "; this list holds a profile's layers",
                       'put the layers in a profile: {"format": "optdist-profile/2", "cnn": "mynet", ..., "layers": [...]} '
                       "(`optdist profile --module pkg.mod:builder --input C,H,W --out FILE` writes one)")
    for words, kind, begins in _NAME_KINDS:
        if any(w in file_name.lower() for w in words):
            return Problem("(document)", message + f"; the file's name suggests {_a(kind)}",
                           f"write the {kind} as one object: {begins}")
    return Problem("(document)", message,
                   'write one object whose "format" names its kind, e.g. {"format": "optdist-instance/1", ...} for an '
                   'instance, {"format": "optdist-privacy-table/1", ...} for a privacy table, {"format": '
                   '"optdist-device-catalog/1", ...} for a device catalog (instances/ and models/ hold examples)')


_RELATIONS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "at least"),
              "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}
_OBJECT_KINDS = ("model_type", "dict_type", "model_attributes_type")


def _literals(e: dict) -> list[str]:
    """The values a literal place takes, from pydantic's ``'a', 'b' or 'c'``."""
    text = str((e.get("ctx") or {}).get("expected", ""))
    found = re.findall(r"'((?:[^'\\]|\\.)*)'", text)
    return found or [t for t in re.split(r", | or ", text) if t]


def _bound(e: dict) -> tuple[str, str] | None:
    """(``at least``, ``0``) of a range error, else None."""
    if e["type"] not in _RELATIONS:
        return None
    ctx_key, words = _RELATIONS[e["type"]]
    limit = (e.get("ctx") or {}).get(ctx_key)
    return words, f"{limit:g}" if isinstance(limit, int | float) and not isinstance(limit, bool) else str(limit)


def _wanted(e: dict, place: str) -> str:
    """What a place expects, from the error alone (a place the schema does not describe)."""
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind == "literal_error":
        lits = _literals(e)
        words = [text_of(x) if not re.fullmatch(r"-?\d+(\.\d+)?", x) else x for x in lits]
        return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else (words[0] if words else "one of the listed values")
    if kind in _RELATIONS:
        words, bound = _bound(e)
        return f"a number {words} {bound}"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"{'at least' if kind == 'too_short' else 'at most'} {n} entr{'y' if n == 1 else 'ies'}"
    return {"float_type": "a number", "int_type": "a whole number", "int_from_float": "a whole number",
            "bool_type": "true or false", "string_type": "a string", "string_too_short": "a non-empty string",
            "list_type": "a list", "finite_number": "a finite number", "missing": "a value",
            **dict.fromkeys(_OBJECT_KINDS, "an object")}.get(kind, "a value of another kind")


def _numbers_in(value: object) -> list[str] | None:
    """The numbers of a string such as ``"1,28,28"`` or ``"3x32x32"`` (two or more), else None."""
    if not isinstance(value, str):
        return None
    parts = [p for p in re.split(r"[\s,x;]+", value.strip().strip("[]()")) if p]
    return parts if len(parts) > 1 and all(number_text(p) is not None for p in parts) else None


def schema_problem(e: dict, schema: Schema) -> Problem:
    """One pydantic error ``e`` as a :class:`Problem` in the user's terms:
    ``got VALUE (its JSON kind); expected WHAT`` and a fix with an example."""
    loc, kind = tuple(e["loc"]), e["type"]
    place, path = place_of(loc, schema.maps), json_path(loc)
    leaf = loc[-1] if loc else ""
    key = text_of(str(leaf)) + ": " if isinstance(leaf, str) else ""  # '"memory": ' (list items: none)
    want, example = schema.expected.get(place) or (_wanted(e, place), "")
    example = (schema.example(loc, place) if schema.example else None) or example
    field_name = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))  # epsilons[2] -> epsilons
    eg = f", e.g. {key}{example}" if example else (f" ({schema.hint})" if schema.hint else "")
    value = e.get("input")
    shown = json_text(value)
    got = f"got {shown}" + ("" if value is None else f" ({json_kind(value)})")
    also = schema.also(place) if schema.also else ""

    def problem(message: str, fix: str) -> Problem:
        return Problem(path, message, fix + also)

    if kind == "missing":
        if place not in schema.expected:  # nothing known of the field but its name
            return problem("required field missing", f"add the field {key.rstrip(': ') or text_of(str(leaf))}")
        return problem(f"required field missing; expected {want}", f"add {key}{example or '...'}")
    parent_model, parent_what = schema.objects.get(place_of(loc[:-1], schema.maps), (None, "this object"))
    if kind == "extra_forbidden":
        fields = list(parent_model.model_fields) if parent_model else []
        close = closest(leaf, fields)
        elsewhere = [w for _, (m, w) in schema.objects.items() if m is not parent_model and str(leaf) in m.model_fields]
        hint = (f"did you mean {text_of(close)}? " if close else
                f'"{leaf}" is a field of {elsewhere[0]}, not of {parent_what}: move it there or ' if elsewhere else "")
        remove = "remove it" if elsewhere and not close else "remove it or correct its spelling"
        listed = f"; the fields of {parent_what} are {quoted(fields)}" if fields else (f" ({schema.hint})" if schema.hint else "")
        return problem(f"unknown field {text_of(str(leaf))} (value {shown}) in {parent_what}", f"{hint}{remove}{listed}")
    special = schema.special(e, loc, place) if schema.special else None
    bound = _bound(e)
    if (kind == "float_type" and isinstance(value, int) and not isinstance(value, bool)
            or kind == "finite_number" and isinstance(value, Written)):  # past float range: 10**400, 1e400
        return problem(f"got {shown}, out of range; expected {want}",
                       special or schema.fixes.get(field_name, f"give a number in range{eg}"))
    if bound is not None:
        return problem(f"got {shown}, out of range: it must be {bound[0]} {bound[1]}; expected {want}",
                       special or schema.fixes.get(field_name, f"give a number in range{eg}"))
    if kind == "finite_number":
        return problem(f"got {shown}, not a finite number; expected {want}",
                       special or schema.fixes.get(field_name, f"give a finite number{eg}"))
    message = f"{got}; expected {want}"
    if (kind in ("int_type", "int_from_float") and isinstance(value, float) and is_whole(value) and parent_model is not None and isinstance(leaf, str)
            and leaf in parent_model.model_fields and not in_range(parent_model, leaf, value)):
        # 1e300 or -2.0 where a whole number in [0, 1e+15] goes: without the decimal point it is still out of range
        return problem(f"{got}, out of range {interval(parent_model, leaf)}; expected {want}",
                       special or schema.fixes.get(field_name, f"give a whole number in {interval(parent_model, leaf)}{eg}"))
    optional = (parent_model is not None and isinstance(leaf, str) and leaf in parent_model.model_fields
                and not parent_model.model_fields[leaf].is_required())
    null = ", or leave the field out" if value is None and optional and place not in schema.nullable else ""
    if special:
        return problem(message, special)
    if kind in ("string_too_short", "too_short"):
        n = (e.get("ctx") or {}).get("min_length", 1)
        entries = "at least one entry" if n == 1 else f"at least {n} entries"
        return problem(message, f"give {entries if isinstance(value, list | dict) else 'a non-empty string'}{eg}")
    if kind == "too_long":
        n = (e.get("ctx") or {}).get("max_length")
        return problem(message, f"give at most {n} entr{'y' if n == 1 else 'ies'}{eg}")
    if kind == "literal_error":
        choices = _literals(e)
        close = closest(value, choices, cutoff=FEW_WORDS_CUTOFF)
        if leaf == "format" and "format" in schema.fixes:
            return problem(message, schema.fixes["format"])
        return problem(message, (f"did you mean {key}{text_of(close)}? " if close else "") + f"use {want}{eg}")
    # a value of the wrong JSON kind: how to write what is expected
    number = number_text(value)
    if kind in ("float_type", "int_type", "int_from_float"):
        whole = kind != "float_type"
        fits = number is not None and (parent_model is None or leaf not in parent_model.model_fields
                                       or in_range(parent_model, str(leaf), float(number)))
        if number is not None and not fits:
            fix = f"write a number in that range, without quotes{eg}"
        elif number is not None and (not whole or is_whole(float(number))):
            fix = f"write the number without quotes: {key}{number if not whole else int(float(number))}"
        elif isinstance(value, bool):
            fix = f"write a {'whole ' if whole else ''}number, not {shown}{eg}"
        elif whole and isinstance(value, float) and is_whole(value):
            fix = f"write it without the decimal point: {key}{int(value)}"
        elif whole and (isinstance(value, float) or number is not None):
            fix = f"write a whole number{', without quotes' if number is not None else ''}{eg}"
        else:
            fix = f"write one {'whole ' if whole else ''}number, without quotes{eg}{null}"
    elif kind == "bool_type":
        word = value.strip().lower() if isinstance(value, str) else (
            {0: "false", 1: "true"}.get(value) if isinstance(value, int | float) else None)
        fix = (f"write {word}{' without quotes' if isinstance(value, str) else f', not {shown}'}: {key}{word}"
               if word in ("true", "false")
               else f"write true or false (JSON booleans, not 0/1, \"yes\" or other strings){eg}{null}")
    elif kind == "list_type":
        items = schema.lists.get(place)
        numbers = _numbers_in(value)
        if items == "number" and numbers:
            fix = f"write the numbers as a list, in square brackets, without quotes: {key}[{', '.join(numbers)}]"
        elif items == "number" and (number is not None or isinstance(value, int | float) and not isinstance(value, bool)):
            fix = f"put it in a list, in square brackets, without quotes: {key}[{number or shown}]"
        elif items == "object" and isinstance(value, dict) or items == "string" and isinstance(value, str) and value:
            fix = f"put it in a list, in square brackets: {key}[{json_text(value, 50)}]"
        else:
            fix = f"write a list, in square brackets{eg}{null}"
    elif kind in _OBJECT_KINDS and place in schema.maps and isinstance(value, list) and value and all(
            isinstance(v, dict) for v in value):  # entries listed where each is named by its key
        first = json_text(value[0], 10**6)
        first = first if len(first) <= 100 else "{...}"
        more = ", ..." if len(value) > 1 else ""
        fix = f'name each entry by its key, in braces instead of square brackets: {key}{{"NAME": {first}{more}}}'
    elif kind in _OBJECT_KINDS:
        fix = f"write an object, in braces{eg}" + (", or remove the null" if value is None and place.endswith("[]") else null)
    elif kind == "string_type":
        # an int too large for a float (10**400) is a finite number too: math.isfinite would overflow
        if (isinstance(value, int | float) and not isinstance(value, bool)
                and (isinstance(value, int) or math.isfinite(value)) and place in schema.quotable):
            fix = f"write it in quotes: {key}\"{shown}\""
        else:
            fix = f"write a string, in quotes{' (or null)' if place in schema.nullable else ''}{eg}{null}"
    else:
        fix = f"write {want}{eg}"
    return problem(message, fix)


def schema_problems(err: ValidationError, schema: Schema) -> list[Problem]:
    """One :class:`Problem` per pydantic error of a document, in the user's terms (:func:`schema_problem`)."""
    return [schema_problem(e, schema) for e in err.errors()]


def validation_problems(err: ValidationError, fixes: dict[str, str], hint: str, default_fix: str | None = None) -> list[Problem]:
    """:func:`schema_problems` of a document without its own :class:`Schema`: ``fixes[field]`` for
    values out of range; ``default_fix`` (how to remake the file) is offered after every fix, else
    ``hint`` (where the format is described) is named where a fix has no example."""
    return schema_problems(err, Schema("the document", fixes=fixes, hint="" if default_fix else hint,
                                       also=(lambda _: f"; or {default_fix}") if default_fix else None))
