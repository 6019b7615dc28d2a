"""cap32: (a) identical devices and no layer of more than one segment: the default solve (the
lexicographic symmetry key of the pricing / per-request models is then empty) no longer builds
the trivial row ``0 >= 0`` that Pyomo refuses; optimal and equal to ``--formulation compact``.
(b) one capacity rule (:func:`optdist.instance.capacity_limit`) for the evaluator, the pre-solve
checks and every formulation's capacity rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main


def _fc_layer(name, mults, wbytes, beta, out, inputs):
    return {"name": name, "kind": "fc", "segments": 1, "mults_per_segment": mults,
            "weight_bytes_per_segment": wbytes, "in_maps": 1, "out_maps": 1, "out_shape": [out],
            "beta": beta, "torch_modules": [name], "op": "linear", "groups": 1, "kernel": [],
            "inputs": inputs}


FCONLY = {"format": "optdist-profile/2", "cnn": "fconly", "input_shape": [1, 4, 4], "bytes_per_value": 4,
          "layers": [_fc_layer("f0", 128, 512, 32, 8, []), _fc_layer("f1", 48, 192, 24, 6, ["f0"]),
                     _fc_layer("f2", 24, 96, 16, 4, ["f1"]), _fc_layer("f3", 8, 32, 8, 2, ["f2"])]}
TWO = {"format": "optdist-profile/2", "cnn": "two", "input_shape": [1, 4, 4], "bytes_per_value": 4,
       "layers": [{"name": "c", "kind": "conv", "segments": 1, "mults_per_segment": 72,
                   "weight_bytes_per_segment": 72, "in_maps": 1, "out_maps": 2, "out_shape": [2, 2],
                   "beta": 16, "torch_modules": ["c"], "op": "conv2d", "groups": 1, "kernel": [3, 3],
                   "inputs": []},
                  {**_fc_layer("f", 24, 96, 12, 3, ["c"]), "in_maps": 2}]}


def _one_segment_instance(tmp_path: Path, cnn: str) -> Path:
    """Two identical rpi3 devices, one source; requests of a CNN whose layers have one segment each
    (``fconly``: one request, 4 fc layers; ``two``: two requests, conv + fc)."""
    profile = FCONLY if cnn == "fconly" else TWO
    (tmp_path / f"{cnn}.profile.json").write_text(json.dumps(profile))
    n_req = 1 if cnn == "fconly" else 2
    inst = {"format": "optdist-instance/1", "name": f"sym-{cnn}", "tau": 0.6, "period_s": 1.0,
            "networks": {cnn: f"{cnn}.profile.json"}, "privacy": {cnn: None},
            "devices": [{"id": "d0", "type": "rpi3"}, {"id": "d1", "type": "rpi3"}],
            "sources": [{"id": "s0", "type": "rpi3"}],
            "requests": [{"id": f"r{q}", "source": "s0", "cnn": cnn} for q in range(n_req)]}
    path = tmp_path / f"sym-{cnn}.json"
    path.write_text(json.dumps(inst))
    return path


def _solve(path: Path, out: Path, *flags: str) -> dict:
    assert main(["solve", str(path), "--threads", "1", "--out", str(out), "-q", *flags]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("cnn", ["fconly", "two"])
@pytest.mark.parametrize("flags", [(), ("--formulation", "tight"), ("--pricing-solver", "scip")],
                         ids=["default", "tight", "pricing-scip"])
def test_identical_devices_without_multi_segment_layers_solve(tmp_path, cnn, flags):
    if "scip" in flags:
        pytest.importorskip("pyscipopt")
    path = _one_segment_instance(tmp_path, cnn)
    got = _solve(path, tmp_path / "got.json", *flags)
    ref = _solve(path, tmp_path / "ref.json", "--formulation", "compact")
    assert got["termination"] == "optimal" and ref["termination"] == "optimal"
    assert got["feasible"] is True
    assert got["objective"] == pytest.approx(ref["objective"], rel=1e-7)


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_identical_devices_without_multi_segment_layers_online(tmp_path, method):
    path = _one_segment_instance(tmp_path, "fconly")
    got = _solve(path, tmp_path / "got.json", "--method", method)
    ref = _solve(path, tmp_path / "ref.json", "--formulation", "compact")
    assert got["feasible"] is True
    assert got["objective"] == pytest.approx(ref["objective"], rel=1e-7)


def test_lexicographic_key_empty_gives_no_device_rows(tmp_path):
    from optdist.instance import load_instance
    from optdist.milp import build
    from optdist.milp.tight import device_groups, lexicographic_symmetry

    b = build(load_instance(_one_segment_instance(tmp_path, "fconly")), "tight", requests=[0])
    assert device_groups(b), "two identical devices: a group"
    lexicographic_symmetry(b)
    assert len(b.model.symmetry.c) == 0, "an empty key: no row (0 >= 0 would be refused)"


# ---------------------------------------------------------------------------------------------
# (b) one capacity rule: optdist.evaluate.capacity_limit
# ---------------------------------------------------------------------------------------------
#: two rpi3 devices; conv2 of ``micro`` has 2 segments of 432 multiplications; the placement
#: puts both on d0 (864): compute capacities 864 and 432 scaled by ``1 - short``
ASG = {"format": "optdist-assignment/1", "instance": "capslack",
       "requests": {"r1": {"layers": {"conv1": [["cam1", 1]], "ReLU1": [["d0", 2]], "conv2": [["d0", 2]],
                                      "fc1": [["cam1", 1]]}}}}


def _capslack(tmp_path: Path, short: float) -> tuple[Path, Path]:
    inst = {"format": "optdist-instance/1", "name": "capslack", "tau": 0.95, "period_s": 1.0,
            "privacy": {"micro": "synthetic"},
            "devices": [{"id": "d0", "type": "rpi3", "compute_capacity": 864 * (1 - short)},
                        {"id": "d1", "type": "rpi3", "compute_capacity": 432 * (1 - short)}],
            "sources": [{"id": "cam1", "type": "rpi3"}],
            "requests": [{"id": "r1", "source": "cam1", "cnn": "micro"}]}
    path, asg = tmp_path / "capslack.json", tmp_path / "capslack.asg.json"
    path.write_text(json.dumps(inst))
    asg.write_text(json.dumps(ASG))
    return path, asg


def test_capacity_limit_is_the_documented_rule():
    from optdist.evaluate import ABS_TOL, REL_TOL, capacity_limit

    assert capacity_limit(1000.0) == 1000.0 * (1 + REL_TOL) + ABS_TOL
    assert capacity_limit(float("inf")) == float("inf")
    assert 0 < REL_TOL <= 1e-6 and 0 < ABS_TOL <= 1e-9


@pytest.mark.parametrize("short, feasible", [(6e-7, True), (1e-5, False)], ids=["1e-6-close", "1e-5-short"])
def test_evaluator_and_presolve_checks_agree_at_the_boundary(tmp_path, short, feasible):
    from optdist.assignment import Assignment
    from optdist.diagnose import check
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance

    path, asg = _capslack(tmp_path, short)
    inst = load_instance(path)
    ev = evaluate(inst, Assignment.load(inst, asg))
    assert ev.feasible is feasible, [v.message for v in ev.violations]
    findings = check(inst)
    assert (not findings) is feasible, [f.message for f in findings]


@pytest.mark.parametrize("formulation", ["compact", "per-map", "tight"])
def test_model_rows_use_the_capacity_limit(tmp_path, formulation):
    from optdist.evaluate import capacity_limit
    from optdist.instance import load_instance
    from optdist.milp import build

    inst = load_instance(_capslack(tmp_path, 6e-7)[0])
    b = build(inst, formulation)
    rows = b.model.compute.c
    assert len(rows), "the compute rows of the devices can bind"
    for i in rows:
        assert rows[i].upper == pytest.approx(capacity_limit(float(inst.compute_capacity[i])), rel=1e-15, abs=0)
        assert rows[i].upper > inst.compute_capacity[i]


@pytest.mark.parametrize("flags", [(), ("--formulation", "compact"), ("--formulation", "tight"),
                                   ("--formulation", "per-map")], ids=["default", "compact", "tight", "per-map"])
def test_solve_at_the_boundary(tmp_path, flags):
    path, asg = _capslack(tmp_path, 6e-7)
    got = _solve(path, tmp_path / "got.json", *flags)
    assert got["termination"] == "optimal" and got["feasible"] is True
    # the best placement runs conv2 on both devices: d1 holds 432 > its capacity 431.9997 (within the rule)
    warm = _solve(path, tmp_path / "warm.json", "--warm-start", str(asg), *flags)
    assert warm["termination"] == "optimal"
    assert warm["objective"] == pytest.approx(got["objective"], rel=1e-7)
    assert warm["extra"].get("warm_start") == "assignment", warm["extra"]


def test_solve_short_by_1e5_is_infeasible(tmp_path):
    path, _asg = _capslack(tmp_path, 1e-5)
    assert main(["solve", str(path), "--threads", "1", "-q"]) == 1
