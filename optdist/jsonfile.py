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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the {self.kind}:\n{lines}")


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


def _other_kind(doc: Any, what: str) -> Problem | None:
    """The problem when ``doc`` declares another kind of optdist file than ``what`` (a kind of
    :data:`EXPECTED_FORMATS`), else None."""
    if what not in EXPECTED_FORMATS or not isinstance(doc, dict):
        return None
    fmt = doc.get("format")
    prefix, fix = EXPECTED_FORMATS[what]
    if not isinstance(fmt, str) or not fmt.startswith("optdist-") or fmt.startswith(prefix):
        return None
    kind = next((k for p, k in FORMAT_KINDS.items() if fmt.startswith(p)), "another kind of optdist file")
    return Problem("format", f"this file is {kind} (format {fmt!r}), not {_a(what)}", fix)


def read_json(path: str | Path, max_bytes: int, error: type[DocumentError] = DocumentError, what: str = "JSON") -> Any:
    """The decoded JSON of ``path``, a regular file of at most ``max_bytes`` bytes.

    Raises :class:`FileNotFoundError` for a missing file and ``error`` (a :class:`DocumentError`
    subclass) for everything else that keeps the file from being read; ``what`` names the
    expected file in the fixes (e.g. ``"instance"``). A kind of :data:`EXPECTED_FORMATS` whose
    document declares another optdist format (e.g. ``optdist-profile/2`` read as a privacy
    table) raises ``error`` with that one problem.
    """
    path = Path(path)
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
        doc = json.loads(raw, object_pairs_hook=lambda pairs: _Object.from_pairs(pairs, marked))
    except json.JSONDecodeError as e:
        raise fail(f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}",
                   "remove what follows the end of the JSON document (a second document, or text after its "
                   "closing bracket?)" if e.msg == "Extra data" else "fix the JSON syntax (a missing comma or quote?)") from None
    except UnicodeDecodeError:
        raise fail("(file)", "not UTF-8 text", f"save the {what} file as UTF-8 JSON") from None
    except RecursionError:
        raise fail("(document)", "JSON nested too deeply", f"{_a(what)} file nests a few levels only: check the brackets") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise fail("(document)", f"unreadable number: {e}", "write numbers in ordinary notation, e.g. 1e9") from None
    if marked:  # walk the document only to name where the duplicates are
        raise error(str(path), duplicate_keys(doc))
    other = _other_kind(doc, what)
    if other is not None:
        raise error(str(path), [other])
    return doc


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
            out += [Problem(f"{path}[{json.dumps(k)}]" if path else k, f"key {k!r} appears twice (JSON keeps only the last value)",
                            "keep one entry per key") for k in dict.fromkeys(doc.duplicates)]
        for k, x in doc.items():
            out += duplicate_keys(x, f"{path}.{k}" if path else k)
    elif isinstance(doc, list):
        for i, x in enumerate(doc):
            out += duplicate_keys(x, f"{path}[{i}]")
    return out


def _fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validation_problems(err: ValidationError, fixes: dict[str, str], hint: str, default_fix: str | None = None) -> list[Problem]:
    """One :class:`Problem` per pydantic error: its JSON path, message, and ``fixes[field]``
    (else ``default_fix``, else a pointer to ``hint``, e.g. where the schema is)."""
    problems = []
    for e in err.errors():
        loc = tuple(e["loc"])
        field_name = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if e["type"] == "missing":
            fix = default_fix or f"add the required field {field_name!r}"
        elif e["type"] == "extra_forbidden":
            fix = f"remove {field_name!r} or check its spelling ({hint})"
        else:
            fix = fixes.get(field_name, default_fix or f"{hint} for the expected type")
        problems.append(Problem(_fmt_loc(loc), e["msg"], fix))
    return problems
