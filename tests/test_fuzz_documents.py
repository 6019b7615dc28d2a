"""Fuzzed instance and assignment documents: a clear error naming the field, or a run with finite numbers.

Each example mutates a bundled tiny instance (or an assignment of one): deleted fields, swapped
types, extreme floats (NaN, infinities, 1e-300, 1e300), negative numbers, booleans, long lists,
unknown keys and wrong ids. Whatever comes out, loading either succeeds or raises
:class:`DocumentError` with problems that name a place and a fix; a document that validates
solves (greedy, and the MILP on the micro instances) and is scored with finite numbers; the CLI
returns 0, 1 or 2 and never prints a traceback (issue 12 item 6).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optdist
from optdist.assignment import Assignment, AssignmentError
from optdist.cli import main
from optdist.evaluate import evaluate
from optdist.instance import InstanceError, load_instance, validate_file
from optdist.jsonfile import DocumentError
from tests.conftest import TINY

BASES = {p.stem: json.loads(p.read_text()) for p in TINY}
FUZZ = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

EXTREMES = [math.nan, math.inf, -math.inf, 1e-300, 1e300, -1e300, 5e-324, 1.7e308, -1.0, 0.0, -0.0, 1e-6, 1e6]
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(min_value=0, max_value=3), max_size=2),
)


def _paths(node, prefix=()):
    """Every (path, value) of a JSON document, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def mutate(data: st.DataObject, doc, ids: list[str]):
    """``doc`` (a deep copy) with one to three random mutations."""
    doc = json.loads(json.dumps(doc))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        every = list(_paths(doc))
        numbers = [p for p, v in every if isinstance(v, int | float) and not isinstance(v, bool)]
        pool = numbers if numbers and data.draw(st.booleans(), label="a number") else [p for p, _ in every]
        path = data.draw(st.sampled_from(pool), label="path")
        op = data.draw(st.sampled_from(["delete", "replace", "unknown key", "long list", "wrong id", "scale"]), label="op")
        if not path:
            if op == "replace":
                doc = data.draw(WEIRD)
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        value = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = data.draw(WEIRD, label="value")
        elif op == "unknown key" and isinstance(value, dict):
            value[data.draw(st.sampled_from(["extra", "memmory", "Rate", "ids", ""]))] = data.draw(WEIRD)
        elif op == "long list" and isinstance(value, list) and value:
            value.extend([json.loads(json.dumps(value[-1]))] * data.draw(st.integers(1, 60), label="copies"))
        elif op == "wrong id" and isinstance(value, str):
            parent[key] = data.draw(st.sampled_from([*ids, "", "nope", value + "x"]), label="id")
        elif op == "scale" and isinstance(value, int | float) and not isinstance(value, bool):
            parent[key] = value * data.draw(st.sampled_from([-1, 0, 1e-300, 1e300, 2, 10**12]), label="factor")
    return doc


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, allow_nan=True))  # NaN/Infinity literals too: Python's json reads them
    return path


def _assert_clear(e: DocumentError) -> None:
    assert e.problems, e
    for p in e.problems:
        assert p.path and p.message and p.fix, p


def _no_constant(name: str):
    raise AssertionError(f"non-standard JSON constant {name} written")


def _assert_finite_run(inst, method: str, out: Path, **options) -> None:
    """``method`` solves ``inst``; the numbers are finite (but an infeasibility proof's bound, +inf)
    and the saved result is standard JSON."""
    if method != "milp" and inst.objective.uplink == "serial":  # the online heuristics say so, naming the field
        with pytest.raises(ValueError, match="uplink 'serial'"):
            optdist.solve(inst, method=method, **options)
        return
    res = optdist.solve(inst, method=method, **options)
    assert res.objective is None or math.isfinite(res.objective), (method, res.objective, res.bound)
    proof = res.termination == "infeasible" and res.objective is None  # its bound is +inf (README, "bound")
    assert res.bound is None or math.isfinite(res.bound) or (proof and res.bound == math.inf), \
        (method, res.termination, res.objective, res.bound)
    if res.evaluation is not None:
        ev = res.evaluation
        s = ev.summary(inst)
        assert all(math.isfinite(v) for v in s.values() if isinstance(v, float)), s
        assert all(math.isfinite(x) for x in ev.latency[ev.admitted]), ev.latency  # nan marks a rejected request
    res.save(inst, out)
    json.loads(out.read_text(), parse_constant=_no_constant)


def _ids(doc) -> list[str]:
    return [n["id"] for g in ("devices", "sources", "requests") for n in doc.get(g, [])]



@settings(max_examples=150, **FUZZ)
@given(data=st.data(), name=st.sampled_from(sorted(BASES)))
def test_fuzzed_instances_validate_iff_they_solve(tmp_path_factory, data, name):
    doc = mutate(data, BASES[name], _ids(BASES[name]))
    path = _write(tmp_path_factory.mktemp("fuzz") / "inst.json", doc)
    try:
        inst = load_instance(path)
    except InstanceError as e:
        _assert_clear(e)
        assert validate_file(path) == e.problems
        return
    assert validate_file(path) == []
    _assert_finite_run(inst, "greedy", path.with_name("greedy.json"))
    if name.startswith("micro"):  # the MILP as well where it takes milliseconds
        _assert_finite_run(inst, "milp", path.with_name("milp.json"), time_limit=10)


def _run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse usage errors
            rc = e.code
    return rc, err.getvalue()



@settings(max_examples=60, **FUZZ)
@given(data=st.data(), name=st.sampled_from(sorted(BASES)))
def test_cli_on_fuzzed_instances_never_shows_a_traceback(tmp_path_factory, data, name):
    doc = mutate(data, BASES[name], _ids(BASES[name]))
    path = _write(tmp_path_factory.mktemp("fuzz") / "inst.json", doc)
    rc, err = _run_cli(["validate", str(path)])
    assert rc in (0, 1) and "Traceback" not in err, (rc, err)
    serial = rc == 0 and load_instance(path).objective.uplink == "serial"  # greedy says it models parallel only
    solved, err = _run_cli(["solve", str(path), "--method", "milp" if serial else "greedy", "--time-limit", "10"])
    assert "Traceback" not in err, err
    assert solved in ((0, 1) if rc == 0 else (2,)), (solved, err)  # valid: solved (1: infeasible); invalid: rc 2


@cache
def _greedy_assignment(name: str) -> dict:
    inst = load_instance(TINY[[p.stem for p in TINY].index(name)])
    return optdist.solve(inst, method="greedy").assignment.to_json(inst)


ASSIGNMENT_BASES = ["micro-1x3-tau0.6", "micro-3x2-admission", "lenet-1x4-tau0.6"]



@settings(max_examples=150, **FUZZ)
@given(data=st.data(), name=st.sampled_from(ASSIGNMENT_BASES))
def test_fuzzed_assignments_load_or_name_the_field(tmp_path_factory, data, name):
    inst = load_instance(TINY[[p.stem for p in TINY].index(name)])
    doc = mutate(data, _greedy_assignment(name), list(inst.node_ids) + list(inst.request_ids))
    path = _write(tmp_path_factory.mktemp("fuzz") / "asg.json", doc)
    try:
        asg = Assignment.load(inst, path)
    except AssignmentError as e:
        _assert_clear(e)
    else:
        ev = evaluate(inst, asg)
        assert all(math.isfinite(v) for v in ev.summary(inst).values() if isinstance(v, float))
    rc, err = _run_cli(["evaluate", str(inst.path), str(path)])
    assert rc in (0, 1, 2) and "Traceback" not in err, err


@pytest.mark.parametrize("name", sorted(BASES))
def test_unmutated_bases_are_valid(name, tmp_path):
    """The fuzz starts from valid documents (else it would only test rejection)."""
    assert validate_file(_write(tmp_path / "i.json", BASES[name])) == []
