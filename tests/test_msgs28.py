"""msgs28: instance type errors in the user's terms (file, field path, value as typed, what is
expected, a fix with an example); per-layer and edge-cloud violations they make by design named
as such, not as "the method said feasible"; a bench record whose own bound is above its own
objective warned, naming the record file."""

from __future__ import annotations

import json
import re

import pytest

from optdist.bench.tables import write_tables
from optdist.cli import main
from optdist.io import atomic_write_json
from tests.conftest import ROOT
from tests.test_bench_tables import record

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


# --- item 4: a record's own bound above its own objective --------------------------------------

def test_bench_table_warns_a_record_whose_bound_is_above_its_own_objective(tmp_path, capsys):
    """Before: no warning named the record (disagreements() compares two runs' claims, never a run
    with itself, and the reference check counts only feasible placements' values)."""
    recs = [record("a", "highs", "optimal", 1.0, 1.5, feasible=False), record("a", "scip", "optimal", 2.0, 2.0),
            record("b", "highs", "optimal", 2.0, 2.0 * (1 + 1e-9)), record("c", "highs", "time_limit", 3.0, 2.5)]
    for r in recs:
        atomic_write_json(tmp_path / "records" / f"{r['key']}.json", r)
    _, warns = write_tables(tmp_path)
    bad = [w for w in warns if "above its own objective" in w]
    assert len(bad) == 1, warns  # b is above by rounding only, c is below
    assert [w for w in warns if "a--milp--highs.json" in w] == bad  # the only warning that names it
    path = tmp_path / "records" / "a--milp--highs.json"
    assert bad[0].startswith(f"{path}: its bound 1.5 is above its own objective 1 (rel. diff 0.333) on a "
                             "(milp/highs/compact, termination optimal)")
    assert "(fix: solve the instance again to check, e.g. `optdist solve a.json`; then delete this record" in bad[0]
    assert f"WARNING {bad[0]}" in (tmp_path / "tables" / "solvers.md").read_text()
    capsys.readouterr()
    assert main(["bench-table", str(tmp_path)]) == 0
    assert f"optdist: warning: {bad[0]}" in capsys.readouterr().err


# --- item 3: per-layer and edge-cloud name the violations they make by design -----------------

def _termination_line(capsys, *argv) -> str:
    main(["solve", *argv, "-q"])
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("termination"))


def test_per_layer_names_the_constraints_it_does_not_model(capsys):
    """Before: 'termination  violated  (the method said feasible; see the violations below)'."""
    line = _termination_line(capsys, str(LENET), "--method", "per-layer")
    assert line == ("termination  violated  (violates privacy (10f): per-layer does not model the privacy limits Nf; "
                    "violates the (10h) pins to the source: per-layer does not model them (it pins only the first and "
                    "last layers); see the violations below)"), line


def test_edge_cloud_names_the_rule_it_does_not_model(capsys):
    """Before: 'termination  violated  (the method said feasible; see the violations below)'."""
    line = _termination_line(capsys, str(LENET), "--method", "edge-cloud")
    assert line == ("termination  violated  (runs intermediate layers on the source: edge-cloud does not model the "
                    "rule that sources compute only the first, last and (10h) layers (its head runs there by design); "
                    "see the violations below)"), line


def test_edge_cloud_rejections_with_admission_off_are_named(capsys):
    line = _termination_line(capsys, str(ROOT / "instances/paper/hetero-250x70-tau0.6.json"), "--method", "edge-cloud")
    assert line.startswith("termination  violated  (rejects requests with admission control off: edge-cloud rejects "
                           "a request that nothing fits; runs intermediate layers on the source: "), line


@pytest.mark.parametrize("method,families", [("per-layer", {"privacy", "placement:10h", "admission"}),
                                             ("edge-cloud", {"placement:source", "admission"})])
def test_results_say_what_their_feasible_covers(method, families, tmp_path):
    """The result file (--out) carries the method's claim as it is: 'feasible' kept as the claimed
    termination, with what the method does not model; every violation it makes is of those families."""
    from optdist.commands.solve import violation_family
    from optdist.instance import load_instance
    from optdist.solve import solve

    out = tmp_path / "r.json"
    assert main(["solve", str(LENET), "--method", method, "--out", str(out), "-q"]) == 1
    doc = json.loads(out.read_text())
    assert doc["termination"] == "violated" and doc["extra"]["claimed_termination"] == "feasible"
    assert set(doc["extra"]["not_modelled"]) == families
    inst = load_instance(LENET)
    res = solve(inst, method=method)
    assert {violation_family(inst, v) for v in res.evaluation.violations} <= families


def test_a_violation_the_method_models_is_still_called_its_false_claim():
    """A violation outside the method's not_modelled (here: privacy, taken out of per-layer's list
    of a real run) is said to be one the method models, with its claim, not excused."""
    from optdist.commands.solve import _by_design
    from optdist.instance import load_instance
    from optdist.solve import solve

    inst = load_instance(LENET)
    res = solve(inst, method="per-layer")
    del res.extra["not_modelled"]["privacy"]
    said = _by_design(res, inst)
    assert said.startswith("violates privacy, which per-layer models: the method said feasible (a bug in the method); ") \
        or "; violates privacy, which per-layer models: the method said feasible (a bug in the method)" in said, said
    assert "(10h) pins to the source: per-layer does not model them" in said
