"""Per-map assignments ``A[r,k,p,i]``: who computes each segment, and their JSON form.

In memory an assignment holds, for every request r and layer k, an int array of length
``P_k`` whose entry p is the node index owning segment p (``A[r,k,p,i] = 1``). Rejected
requests (admission control) have no owners. On disk (``optdist-assignment/1``) each layer
is run-length encoded as ``[[node_id, count], ...]`` in segment order, or a plain list of
node ids per segment. Reading checks every field and the run lengths against the layer's
segment count before expanding (:class:`AssignmentError` names the field and the fix).
A request is either ``{"rejected": true}`` or ``{"layers": {...}}``: one marked rejected that
also gives layers is an error, not read as either (``"layers": {}`` or ``null`` place nothing: rejected).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optdist.instance import FORMAT as INSTANCE_FORMAT
from optdist.instance import Instance, _did_you_mean
from optdist.io import atomic_write_json, misspelt_format, restore_non_finite
from optdist.jsonfile import MiB, DocumentError, Problem, json_kind, json_text, quoted, read_json, text_of
from optdist.options import is_whole

FORMAT = "optdist-assignment/1"
MAX_BYTES = 256 * MiB  # largest assignment file read (run-length encoded ones are far smaller)


@dataclass
class Assignment:
    """Owners per request and layer; ``owners[r] is None`` means request r is rejected."""

    owners: list[list[np.ndarray] | None]
    meta: dict = field(default_factory=dict)

    @property
    def admitted(self) -> np.ndarray:
        return np.array([o is not None for o in self.owners], dtype=bool)

    def counts(self, inst: Instance, r: int, k: int) -> np.ndarray:
        """``n[r,k,i]``: number of segments of layer k node i owns."""
        own = self.owners[r]
        assert own is not None
        return np.bincount(own[k], minlength=inst.n_nodes)

    @classmethod
    def from_counts(cls, inst: Instance, counts: list[list[np.ndarray] | None], meta: dict | None = None) -> Assignment:
        """Label maps in order from per-layer counts (maps of one layer are interchangeable).

        Only valid where per-map identity does not matter; a formulation with flows between
        elementwise layers must label along its flows instead (``optdist.milp.extract``).
        """
        owners: list[list[np.ndarray] | None] = []
        for r, per_layer in enumerate(counts):
            if per_layer is None:
                owners.append(None)
                continue
            owners.append([np.repeat(np.arange(inst.n_nodes), np.asarray(c, dtype=np.int64)) for c in per_layer])
        return cls(owners, dict(meta or {}))

    def to_json(self, inst: Instance) -> dict:
        ids = inst.node_ids
        reqs = {}
        for r, own in enumerate(self.owners):
            rid = inst.request_ids[r]
            if own is None:
                reqs[rid] = {"rejected": True}
                continue
            layers = {}
            for k, la in enumerate(inst.profile(r).layers):
                a = own[k]
                runs: list[list] = []
                for node in a.tolist():
                    if runs and runs[-1][0] == ids[node]:
                        runs[-1][1] += 1
                    else:
                        runs.append([ids[node], 1])
                layers[la.name] = runs
            reqs[rid] = {"layers": layers}
        return {"format": FORMAT, "instance": inst.name, "instance_digest": inst.content_digest(), "meta": self.meta,
                "requests": reqs}

    def save(self, inst: Instance, path: str | Path | None = None, *, force: bool = False) -> Path:
        """Write :meth:`to_json` to ``path`` (``optdist-assignment/1``, atomically), after the
        checks of :meth:`SolveResult.save <optdist.result.SolveResult.save>`
        (:func:`optdist.result.check_save_path`): an existing folder and no file replaced but an
        optdist result or assignment (``force=True``: neither checked), never ``inst``'s own file,
        and a TypeError naming the call for ``asg.save("x.json")``. Owners that do not fit ``inst``
        are the errors :func:`optdist.evaluate.fitted` gives (bool arrays, a node index -1 or past
        the nodes, layers or segments of another instance), before anything is written: a hand-built
        Assignment that optdist.evaluate refuses was written as another placement (-1: the last
        source; True/False: nodes 1 and 0) or failed half-way with an AttributeError."""
        from optdist.evaluate import fitted
        from optdist.result import check_save_path

        check_save_path(self, inst, path, force)
        fitted(inst, self, "Assignment.save")
        return atomic_write_json(path, self.to_json(inst), indent=None, non_finite=True)  # meta: any method's

    @classmethod
    def from_json(cls, inst: Instance, data: Any, where: str = "assignment") -> Assignment:
        """Decode ``optdist-assignment/1`` for ``inst``; raises :class:`AssignmentError` naming the field and the fix.

        Run lengths are strict positive integers and are summed against the layer's segment
        count before anything is expanded, so memory stays within the instance's size whatever
        the counts say. ``instance``, the name of the instance the assignment was made for, and
        ``instance_digest``, that instance's :meth:`~optdist.instance.Instance.content_digest`, are
        each a string (the digest: 64 hex digits, either case), or null or absent (then unknown:
        accepted without a word, as in files written before the digest was); any other value (a
        number, a list, a digest cut short, ...) is refused. A name
        or digest other than ``inst``'s is no error here: the ids decide (:func:`made_for_warning`
        words the warning).
        """

        made_for = ""  # the instance the assignment names, where it is another: said in every fix

        def fail(path: str, message: str, fix: str) -> AssignmentError:
            return AssignmentError(where, [Problem(path, message, fix + made_for)])

        if not isinstance(data, dict):
            raise fail("(document)", "the assignment must be a JSON object", "write it with `optdist solve --out` or Assignment.save")
        if other := made_for_other(data, inst):
            made_for = f"; the assignment was {other}"
        fmt = data.get("format")
        if isinstance(fmt, str) and fmt.startswith("optdist-") and fmt != FORMAT:  # e.g. the instance given twice
            if close := misspelt_format(fmt):  # e.g. "optdist-reslt/1"
                raise fail("format", f"is {json_text(fmt)}, no optdist format",
                           f"did you mean {json_text(close)}? set \"format\": {json_text(close)} if the file is one")
            if fmt == "optdist-result/1":  # Assignment.load of a result file: its placement is read another way
                raise fail("format", f"is {json_text(fmt)}: this is a result file (`optdist solve --out`, "
                           "SolveResult.save), not an assignment file", "take its placement with "
                           "optdist.SolveResult.load(path, inst).assignment; optdist.evaluate(inst, path) and "
                           "optdist.solve(inst, warm_start=path) read it as it is")
            what = "an instance" if fmt == INSTANCE_FORMAT else "another optdist document"
            raise fail("format", f"is {json_text(fmt)}: this is {what}, not a placement",
                       "give a placement of the instance: the --out of `optdist solve` on it, or a file of Assignment.save")
        if data.get("format") != FORMAT:
            raise fail("format", f"is {json_text(data.get('format'))}, expected {text_of(FORMAT)}", f"set \"format\": \"{FORMAT}\"")
        check_instance_field(data, inst, where)
        unknown_top = sorted(str(k) for k in data if k not in _TOP_KEYS)
        if unknown_top:  # "requestz" beside "requests": not silently left out
            key = unknown_top[0]
            raise fail(key, f"unknown key {text_of(key)}", f"{_did_you_mean(key, list(_TOP_KEYS))}an assignment "
                       f"holds {quoted(list(_TOP_KEYS))}")
        reqs = data.get("requests")
        if not isinstance(reqs, dict):
            raise fail("requests", "must map request ids to their layers", "give {\"r1\": {\"layers\": {...}}, ...}")
        meta = data.get("meta", {})
        if not isinstance(meta, dict):
            raise fail("meta", "must be a JSON object", "give an object or leave 'meta' out")
        unknown_reqs = sorted(set(reqs) - set(inst.request_ids))
        if unknown_reqs:
            n = len(unknown_reqs)
            raise fail(f"requests.{unknown_reqs[0]}", f"not a request of instance {text_of(inst.name)} "
                       f"({n} such id{'s' if n != 1 else ''}: {quoted(unknown_reqs[:5])}{', ...' if n > 5 else ''})",
                       f"{_did_you_mean(unknown_reqs[0], inst.request_ids)}use the request ids of the instance the "
                       f"assignment was made for: {quoted(inst.request_ids[:5])}{', ...' if inst.n_requests > 5 else ''}")
        index = {nid: i for i, nid in enumerate(inst.node_ids)}
        owners: list[list[np.ndarray] | None] = []
        for r, rid in enumerate(inst.request_ids):
            entry = reqs.get(rid)
            p = f"requests.{rid}"
            if entry is None:
                raise fail(p, "missing", "give its layers, or {\"rejected\": true}")
            if not isinstance(entry, dict):
                raise fail(p, "must be a JSON object", "give {\"layers\": {...}} or {\"rejected\": true}")
            unknown = sorted(str(k) for k in entry if k not in ("layers", "rejected"))
            if unknown:  # e.g. "layrs", or "rejeted": true beside "layers" (was read as admitted)
                also = "" if "layers" in entry else " (and no \"layers\")"
                raise fail(f"{p}.{unknown[0]}", f"unknown key {text_of(unknown[0])}{also}",
                           f"{_did_you_mean(unknown[0], ['layers', 'rejected'])}a request holds \"layers\" (a map "
                           f"of each layer name to its owners) or \"rejected\": true")
            rejected = entry.get("rejected", False)
            if not isinstance(rejected, bool):
                raise fail(f"{p}.rejected", f"is {json_text(rejected)}, not a boolean (true or false)", "write \"rejected\": true or false")
            if rejected and entry.get("layers") not in (None, {}):  # which one was meant is unknowable: neither wins
                raise fail(p, "is marked rejected and also gives layers (a placement)",
                           "to reject it, remove its \"layers\"; to place it, remove \"rejected\": true")
            if rejected:
                owners.append(None)
                continue
            layers = entry.get("layers")
            if not isinstance(layers, dict):
                raise fail(f"{p}.layers", "missing or not a JSON object", "map each layer name to its owners")
            names = [la.name for la in inst.profile(r).layers]
            extra = sorted(set(layers) - set(names))
            if extra:
                raise fail(f"{p}.layers.{extra[0]}", f"not a layer of {text_of(inst.request_cnn[r])}",
                           f"{_did_you_mean(extra[0], names)}use the layers {quoted(names)}")
            per_layer = [_layer_owners(layers.get(la.name), la.segments, index, f"{p}.layers.{la.name}", fail)
                         for la in inst.profile(r).layers]
            owners.append(per_layer)
        return cls(owners, dict(meta))

    @classmethod
    def load(cls, inst: Instance, path: str | bytes | os.PathLike) -> Assignment:
        """Read an assignment file (at most :data:`MAX_BYTES`); ``path`` is any path ``open`` takes (a
        ``str``, ``bytes`` or ``os.PathLike``). Raises :class:`AssignmentError` or
        FileNotFoundError, and a TypeError naming the call to make where ``inst`` is no
        :class:`Instance` or ``path`` no path (the arguments swapped, as :meth:`SolveResult.load
        <optdist.result.SolveResult.load>` takes them: pathlib's "expected str, bytes or
        os.PathLike object, not Instance" before; a ``bytes`` path was called swapped too)."""
        if not isinstance(inst, Instance) or not isinstance(path, (str, bytes, os.PathLike)):
            from optdist.result import _named

            raise TypeError(f"Assignment.load(inst, path) takes the Instance first, then the path of an assignment "
                            f"file; got {_named(inst)} and {_named(path)} (fix: Assignment.load(inst, "
                            "\"assignment.json\"), with inst = optdist.load_instance(\"instances/...json\"))")
        path = os.fsdecode(path)  # the file's name in every message, not b'...'
        doc = restore_non_finite(read_json(path, MAX_BYTES, AssignmentError, "assignment"), path)
        return cls.from_json(inst, doc, path)


#: the keys of an ``optdist-assignment/1`` document (:meth:`Assignment.to_json`)
_TOP_KEYS = ("format", "instance", "instance_digest", "meta", "requests")
#: an ``instance_digest`` as :meth:`~optdist.instance.Instance.content_digest` writes it (SHA-256), either case
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def check_instance_field(data: dict, inst: Instance, where: str, what: str = "assignment") -> None:
    """Refuse an ``instance`` field (the name of the instance the ``what`` document, read from
    ``where``, was made for) or an ``instance_digest`` field (that instance's
    :meth:`~optdist.instance.Instance.content_digest`) that is neither a string nor null:
    :class:`AssignmentError` naming ``where``, the field and the fix. A string naming another
    instance or digest is no error here (:func:`made_for_warning`); ``what="result"`` (a result
    file's own fields) raises :class:`ResultFieldError`. An ``instance_digest`` string
    that is no SHA-256 digest (64 hex digits, either case: e.g. empty, cut to the 12 digits a
    warning shows, or padded) is refused too: it could never match, so every reading would warn
    that the content differs."""
    error = ResultFieldError if what == "result" else AssignmentError
    for key, what_it_is, value in (("instance", "the name", text_of(inst.name)),
                                   ("instance_digest", "the content digest", text_of(inst.content_digest()))):
        got = data.get(key)
        if got is not None and not isinstance(got, str):
            raise error(where, [Problem(key, f"is {json_text(got)}, not a string ({what_it_is} of the "
                                        f"instance the {what} was made for)",
                                        f"set \"{key}\": {value}, or leave it out")])
        if key == "instance_digest" and got is not None and not _DIGEST.fullmatch(got):
            raise error(where, [Problem(key, f"is {json_text(got)}, not a content digest (64 hex digits, "
                                        f"Instance.content_digest() of the instance the {what} was made "
                                        "for)", f"set \"{key}\": {value}, or leave it out")])


def made_for_other(data: dict, inst: Instance) -> str | None:
    """How an assignment or result document was made for another instance than ``inst``, else
    None: ``'made for instance "A", not "B"'`` where its ``instance`` field names another (with
    whether its ``instance_digest`` says the content is the same), ``'made for another version of
    instance "B" (...)'`` where its ``instance_digest`` (:meth:`Assignment.to_json`) is not
    ``inst``'s :meth:`~optdist.instance.Instance.content_digest` (the two digests shown, 12 hex
    digits each). A field that is absent, null or not a string is unknown (a file written before
    the digest was: None; :meth:`Assignment.from_json` refuses one that is not a string)."""
    name, digest = data.get("instance"), data.get("instance_digest")
    digest = digest.lower() if isinstance(digest, str) else None  # hex digits in either case: the same digest
    ours = inst.content_digest() if digest is not None else None
    if isinstance(name, str) and name != inst.name:
        same = "" if ours is None else (" (the same content: its instance_digest is this one's)" if digest == ours
                                        else f" (content digest {digest[:12]}, this one's {ours[:12]})")
        return f"made for instance {text_of(name)}, not {text_of(inst.name)}{same}"
    if ours is not None and digest != ours:
        which = (f"another version of instance {text_of(inst.name)}" if name is not None
                 else f"an instance other than {text_of(inst.name)}")
        return f"made for {which} (content digest {digest[:12]}, this one's {ours[:12]}: their content differs)"
    return None


def made_for_warning(where: str, data: dict, inst: Instance, use: str) -> str | None:
    """The warning for an assignment or result document (read from ``where``, e.g. a file) made
    for an instance other than ``inst`` (:func:`made_for_other`: its ``instance`` or
    ``instance_digest`` field) although its request and node ids match
    (:meth:`Assignment.from_json` accepted it): names the field, both instances or digests and the
    fix (each field to set, in a result document its own and its assignment's); ``use`` says what
    it is taken as (e.g. "used as the --warm-start of micro"). None where the fields name ``inst``
    or are absent (a file written before the digest was)."""
    other = made_for_other(data, inst)
    if other is None:
        return None
    name, ours, digest = text_of(inst.name), inst.content_digest(), data.get("instance_digest")
    # a result file names its instance twice (its own fields and its assignment's): the fix sets both
    both = " (here and in its \"assignment\")" if data.get("format") == "optdist-result/1" else ""
    if isinstance(data.get("instance"), str) and data["instance"] != inst.name:
        also = (f" and its \"instance_digest\" to {text_of(ours)}" if isinstance(digest, str) and digest.lower() != ours
                else "")  # renamed and edited: setting the name alone would leave the digest's warning
        return (f"{where}: field \"instance\": {other}; its request and node ids match, so it is {use} "
                f"(fix: check you gave the right file; if it is meant for {name}, set its \"instance\" "
                f"to {name}{also}{both})")
    return (f"{where}: field \"instance_digest\": {other}; its request and node ids match, so it is {use} "
            f"(fix: check you gave the right file and instance; where {name} was edited on purpose (e.g. other "
            f"capacities) this is expected: to mark the file as made for this version, set its \"instance_digest\" "
            f"to {text_of(ours)}{both})")


class AssignmentError(DocumentError):
    """An invalid assignment file or document; ``problems`` names the field and the fix."""

    kind = "assignment"


class ResultFieldError(AssignmentError):
    """A result file's own ``instance`` or ``instance_digest`` field that is invalid
    (:func:`check_instance_field` with ``what="result"``): said as a problem in the result, not in
    its assignment; an :class:`AssignmentError`, so that its readers catch it as before."""

    kind = "result"


def _layer_owners(v: Any, segments: int, index: dict[str, int], p: str, fail: Callable[[str, str, str], AssignmentError]) -> np.ndarray:
    """Node index per segment from runs ``[[id, count], ...]`` and/or plain ids, checked before expanding."""
    first = text_of(next(iter(index), "cam1"))
    seg = f"{segments} segment{'s' if segments != 1 else ''}"
    fix = f"list the owners of its {seg} as [[node_id, count], ...] or one node id per segment, e.g. [[{first}, {segments}]]"
    if v is None:
        raise fail(p, "missing", fix)
    if not isinstance(v, list):
        raise fail(p, f"is {json_kind(v)}, not a list", fix)
    nodes, counts = [], []
    total = 0
    for q, item in enumerate(v):
        if isinstance(item, list):
            node = item[0] if item else None
            if len(item) != 2:
                raise fail(f"{p}[{q}]", f"{json_text(item)} is not [node_id, count]", fix)
            count = item[1]
            example = f"[{json_text(node)}, {{}}]"
            if isinstance(count, str) and count.strip().isdigit():
                raise fail(f"{p}[{q}]", f"{json_text(item)} is not [node_id, count]: its count is a string",
                           f"remove the quotes around the count: {example.format(int(count))}")
            if isinstance(count, bool) or not isinstance(count, (int, float)):
                raise fail(f"{p}[{q}]", f"{json_text(item)} is not [node_id, count]: its count is {json_kind(count)}",
                           f"give a whole number of segments, e.g. {example.format(1)}")
            if not (count >= 1):
                raise fail(f"{p}[{q}]", f"count {json_text(count)} is not positive", f"give runs of at least one segment, e.g. {example.format(1)}")
            if not (count > segments or is_whole(count)):
                raise fail(f"{p}[{q}]", f"count {json_text(count)} is not a whole number",
                           f"give a whole number of segments, e.g. {example.format(min(max(1, round(count)), segments))}")
            if count > segments:
                raise fail(f"{p}[{q}]", f"count {json_text(count)} is out of range: the layer has {seg}",
                           f"give a count from 1 to {segments}, e.g. {example.format(segments)}")
            if not is_whole(count, integral=True):
                raise fail(f"{p}[{q}]", f"count {json_text(count)} is not a whole number",
                           f"write it without a decimal point, e.g. {example.format(int(count))}")
        else:
            node, count = item, 1
        if not isinstance(node, str) or node not in index:
            shown = quoted(list(index)[:6]) + (", ..." if len(index) > 6 else "")
            near = _did_you_mean(node, index) if isinstance(node, str) else ""
            raise fail(f"{p}[{q}]", f"unknown node id {json_text(node)}",
                       f"{near}use the ids of the instance's devices and sources: {shown}")
        total += count
        if total > segments:
            raise fail(p, f"owners for more than the layer's {seg} (at least {total})", fix)
        nodes.append(index[node])
        counts.append(count)
    if total != segments:
        raise fail(p, f"{total} owners for {seg}", fix)
    return np.repeat(np.array(nodes, dtype=np.int64), np.array(counts, dtype=np.int64))
