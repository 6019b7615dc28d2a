"""verify44: what a check of today's fixes (left44, hang44, tau44; e1bb251..6f8c43c) found, each with a
test that fails on the code before.

1. ``benchmarks/milp/frontier_bound.py`` (tau44) gave a bound above a feasible objective: with
   admission control (rejecting a request costs its penalty and no usage, which no item of its
   dynamic programme stands for: 7.42 ms on ``lenet-10x10-tight-tau0.6`` with a 0.1-ms penalty, whose
   placement rejecting all ten scores 1 ms) and with ``--max-queries 0`` (``inf``: the programme of no
   item). A placement that leaves the row unused (a row of a device group the request need not use)
   ended the queries at the limit -0.5 and the programme failed on the item of usage -1 (numpy's
   "non-broadcastable output operand"); a memory row (10.7 GB of capacity) asked for an array of
   80 GiB. ``--row -1`` was the last row, a NaN or negative ``--time-limit`` or ``--incumbent`` ran,
   several request classes, a row out of range, a missing instance file and an unwritable ``--out``
   (found after the queries) were tracebacks with exit 1.
2. ``benchmarks/scale/submip_probe.py`` (hang44) ran ``--time-limit nan`` as column generation without
   a limit (``column_generation`` took NaN: no test of the time left holds; it ran 12 min on
   ``mixed-8x6-nexus-rpi3`` and through a SIGTERM until a second one); 0 or -1, a missing instance and
   an unwritable ``--out`` (found after the run) were tracebacks with exit 1.
3. ``optdist.generate.generate`` (left44): the fix of a privacy key that is no CNN of the requests
   offered ``privacy="paper"`` also where a CNN is a network of one's own, which has no bundled table
   (the instance then refused it).
4. ``optdist.names.unsafe_network_name`` (left44) let a name of any length through: ``optdist profile
   --name`` of 300 letters was written, then ``optdist generate --privacy NAME=paper`` said "[Errno 36]
   File name too long"; a name now has at most 200 bytes.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

import optdist
from optdist.assignment import Assignment
from optdist.evaluate import evaluate
from optdist.generate import generate
from optdist.instance import load_instance, parse
from optdist.milp.decomposition.colgen import MasterProblem
from optdist.transfers import RESOURCES
from tests.conftest import ROOT
from tests.test_tau44 import frontier_script

PAPER = ROOT / "instances" / "paper" / "lenet-10x10-tight-tau0.6.json"


def test_frontier_bound_refuses_admission_control_whose_rejections_score_below_it():
    """Before: frontier and dp_bound ran and bounded the instance by 3 placed requests, above the
    evaluator's objective of rejecting all three."""
    fb = frontier_script()
    inst = load_instance(ROOT / "instances" / "tiny" / "micro-3x2-admission.json")
    inst = inst.with_spec(objective=inst.objective.model_copy(update={"rejection_penalty": 1e-9}))
    rejected = evaluate(inst, Assignment([None] * inst.n_requests))
    assert rejected.feasible and rejected.objective == pytest.approx(3e-9)
    P = MasterProblem(inst)
    row = next(q for q, r in enumerate(P.rows) if RESOURCES[r.resource] == "bandwidth")
    with pytest.raises(ValueError, match=r"objective.admission is true: the frontier bound places every request \(fix: "):
        fb.frontier(inst, row, incumbent=1.0, time_limit=5, max_queries=1, log=lambda _s: None)


def test_frontier_bound_of_a_row_a_placement_leaves_unused_is_below_the_optimum():
    """The row of the second device group: the placements on the first use none of it, the last query's
    limit is -0.5. Before: dp_bound failed ("non-broadcastable output operand")."""
    fb = frontier_script()
    doc = generate("two", {"micro": 3}, {"rpi3": 2, "rpi4": 2}, 0.95, sources=1, privacy=None)
    for d in doc["devices"]:
        d["bandwidth_capacity"] = 200
    inst = parse(doc, "two")
    P = MasterProblem(inst)
    row = [q for q, r in enumerate(P.rows) if RESOURCES[r.resource] == "bandwidth"][1]
    queries = fb.frontier(inst, row, incumbent=1e9, time_limit=20, log=lambda _s: None)
    assert queries[-2].usage == 0.0 and queries[-1].limit == -0.5 and queries[-1].usage is None, queries
    whole = optdist.solve(inst, method="milp", formulation="tight", time_limit=30, threads=1)
    assert whole.termination.value == "optimal"
    bound = fb.dp_bound(queries, P.sizes[0], P.rhs[row])
    assert 0 < bound <= whole.objective * (1 + 1e-9)


@pytest.mark.parametrize("argv, words", [
    (["--max-queries", "0"], "--max-queries 0: give a whole number >= 1"),  # before: bound inf, exit 0
    (["--row", "-1"], "--row -1: lenet-10x10-tight-tau0.6's master has rows 0 to 2 (fix: "),  # before: the last row
    (["--row", "3"], "--row 3: lenet-10x10-tight-tau0.6's master has rows 0 to 2 (fix: "),  # before: IndexError
    (["--row", "0"], "--row 0: its capacity 10,737,428,977 (memory) is more than 10,000,000 units"),  # before: an 80-GiB array
    (["--time-limit", "nan"], "--time-limit nan: give a finite number of seconds > 0"),
    (["--time-limit", "-1"], "--time-limit -1: give a finite number of seconds > 0"),
    (["--incumbent", "nan"], "--incumbent nan: give a finite number of seconds > 0"),  # before: gap nan, exit 0
])
def test_frontier_bound_refuses_a_bad_flag_before_any_query(argv, words, capsys):
    fb = frontier_script()
    try:
        rc = fb.main([str(PAPER), "--incumbent", "0.0077", "--time-limit", "1", "--max-queries", "1", *argv])
    except SystemExit as e:  # argparse's error
        rc = e.code
    out, err = capsys.readouterr()
    assert rc == 2 and words in err and "Traceback" not in err and "query" not in out, (rc, out, err)


def test_frontier_bound_refuses_bad_files_with_exit_2_and_no_traceback(tmp_path, capsys):
    """Before: FileNotFoundError and ValueError tracebacks, --out's after every query ran."""
    fb = frontier_script()
    cases = [([str(tmp_path / "none.json"), "--incumbent", "1"], "none.json: instance file not found"),
             ([str(ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json"), "--incumbent", "1"],
              "needs one master class of identical requests, not 4 (fix: "),
             ([str(PAPER), "--incumbent", "1", "--max-queries", "1", "--out", str(tmp_path / "no" / "f.json")],
              f"--out {tmp_path / 'no' / 'f.json'}: the folder {tmp_path / 'no'} does not exist (fix: ")]
    for argv, words in cases:
        assert fb.main(argv) == 2
        out, err = capsys.readouterr()
        assert words in err and "query" not in out, (out, err)


def test_frontier_bound_out_is_strict_json(tmp_path):
    """The first query's limit is inf: before, json.dump wrote Infinity, which strict parsers refuse."""
    fb = frontier_script()
    out = tmp_path / "f.json"
    assert fb.main([str(PAPER), "--incumbent", "0.0077", "--time-limit", "5", "--max-queries", "1", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in {out}"))
    assert doc["queries"][0]["limit"] is None and doc["non_finite"] == {"/queries/0/limit": "Infinity"}
    assert math.isfinite(doc["bound"]) and doc["bound"] <= 0.00773456470123


def _submip_probe():
    spec = importlib.util.spec_from_file_location("submip_probe_verify44", ROOT / "benchmarks" / "scale" / "submip_probe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("limit", ["nan", "-1", "0"])
def test_submip_probe_refuses_a_time_limit_that_is_no_positive_number(limit, capsys):
    """Before: NaN ran column generation with no limit at all (12 min on mixed-8x6-nexus-rpi3, through
    a SIGTERM, until a second one), -1 and 0 were BuildTimeout tracebacks, exit 1."""
    with pytest.raises(SystemExit) as e:
        _submip_probe().main([str(ROOT / "instances" / "coupled" / "mixed-8x6-nexus-rpi3.json"), "--time-limit", limit])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"--time-limit {limit}: give a finite number of seconds > 0 (e.g. --time-limit 60)" in err, err


def test_submip_probe_refuses_a_missing_instance_and_an_unwritable_out_before_the_run(tmp_path, capsys):
    """Before: a FileNotFoundError traceback; --out's only after the run and every re-solve."""
    probe = _submip_probe()
    assert probe.main([str(tmp_path / "none.json")]) == 2
    assert f"submip_probe.py: error: {tmp_path / 'none.json'}: instance file not found" in capsys.readouterr().err
    out = tmp_path / "no" / "r.json"
    assert probe.main([str(ROOT / "instances" / "tiny" / "micro-3x2-admission.json"), "--time-limit", "5", "--out", str(out)]) == 2
    got = capsys.readouterr()
    assert f"--out {out}: the folder {tmp_path / 'no'} does not exist (fix: " in got.err and "column generation" not in got.out


def test_column_generation_refuses_a_nan_time_limit():
    """Before: every test of the time left failed on NaN and the call ran with no limit."""
    from optdist.milp.decomposition.colgen import column_generation

    with pytest.raises(ValueError, match=r"micro-3x2-admission: column generation's time_limit is NaN \(fix: "):
        column_generation(load_instance(ROOT / "instances" / "tiny" / "micro-3x2-admission.json"), time_limit=math.nan)


def test_generate_offers_privacy_paper_only_where_every_cnn_has_that_table(tmp_path):
    """A network of one's own has no bundled table. Before: the fix of a misspelt key ended ", or give one
    table for every CNN, e.g. privacy="paper"", which the instance then refused ("no privacy table
    "paper" for MyNet")."""
    prof = json.loads((ROOT / "models" / "profiles" / "micro.json").read_text())
    prof["cnn"] = "MyNet"
    (tmp_path / "MyNet.profile.json").write_text(json.dumps(prof))
    with pytest.raises(ValueError) as e:
        generate("own", {"MyNet": 2}, {"rpi3": 2}, 0.8, networks={"MyNet": "MyNet.profile.json"},
                 privacy={"mynet": "MyNet-privacy.json"}, base=tmp_path)
    assert str(e.value).endswith('(fix: did you mean "MyNet"? key each table by a CNN of requests, e.g. '
                                 'privacy={"MyNet": "MyNet-privacy.json"})'), e.value
    with pytest.raises(ValueError, match=r'e.g. privacy=\{"lenet": "paper"\}, or give one table for every CNN, e.g. '
                                         r'privacy="paper"\)$'):
        generate("zoo", {"lenet": 2}, {"rpi3": 2}, 0.8, privacy={"LeNet": "paper"})


def test_profile_module_refuses_a_name_too_long_for_a_file_name():
    """A network's name becomes ``<name>-<table>.json``: before, a 300-letter name was profiled, then
    ``optdist generate --privacy NAME=paper`` said "[Errno 36] File name too long" (no fix)."""
    torch = pytest.importorskip("torch")
    from optdist.tracing import TraceError, profile_module

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    with pytest.raises(TraceError) as e:
        profile_module(net, (1, 6, 6), "x" * 300)
    assert "(a letter, digit or _ first; at most 200 bytes) (fix: name=\"" + "x" * 200 + "\")" in str(e.value), e.value
    assert profile_module(net, (1, 6, 6), "ü" * 100).cnn == "ü" * 100  # 200 bytes
    with pytest.raises(TraceError, match="at most 200 bytes"):
        profile_module(net, (1, 6, 6), "ü" * 101)
