"""Defences chosen jointly with the placement (optdist/defences/placement.py, method 'defended').

What has to hold: each option's limits follow the stated semantics; only admissible options are
offered (freeing noise within the accuracy bound); the enumeration returns the least-score
option, certified by the exact inner solves; and the independent evaluator scores the chosen
placement against the defended limits, which are what make it feasible.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from optdist.cli import main as cli_main
from optdist.defences import defq
from optdist.defences.placement import (
    cnn_options,
    defended_instance,
    defended_limits,
    load_factor,
    solve_defended,
)
from optdist.evaluate import evaluate
from optdist.instance import DefenceSpec, InstanceError, QuantizationSpec, load_instance
from optdist.result import Termination
from optdist.solve import solve

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def tiny(tau: float = 0.6, **spec):
    """1 LeNet request on 4 devices with a LeNet defence entry."""
    return load_instance(TINY / f"lenet-1x4-tau{tau}.json").with_spec(defence={"lenet": DefenceSpec(**spec)})


def test_limits_of_each_mode():
    inst = tiny()
    base = inst.limits["lenet"]  # tau 0.6: SP = 9 (never), Nf = 4 on ReLU1..pool2, fc1 on the source (10h)
    L, c = len(base.nf), inst.profiles["lenet"].index("ReLU2")
    assert defended_limits(base, "distribute") is base
    dp = defended_limits(base, "dp", c, frees=True)
    assert dp.on_source == tuple(k <= c or k == L - 1 for k in range(L))
    assert dp.device_cap == (None,) * L and dp.split_point == c + 1
    hy = defended_limits(base, "hybrid", c, frees=True)
    assert hy.device_cap[: c + 1] == base.device_cap[: c + 1] and hy.on_source[: c + 1] == base.on_source[: c + 1]
    assert hy.device_cap[c + 1 :] == (None,) * (L - c - 1)
    assert hy.on_source[c + 1 :] == (False,) * (L - c - 2) + (True,)  # fc1 leaves the source once freed
    kept = defended_limits(base, "hybrid", c, frees=False)
    assert kept == base
    assert defended_limits(base, "dp", c, frees=False).device_cap[c + 1 :] == base.device_cap[c + 1 :]


def test_admissible_options_follow_the_measured_sweep():
    # the shipped sweep, measured under the calibration attacker (issue 12): at tau 0.6 the ReLU2-governed cuts
    # free only at eps 7 (SSIM 0.580, 22.5 % drop), the pool1-governed ones at eps 3 (38.6 %)
    assert [o.mode for o in cnn_options(tiny(0.6), "lenet")[0]] == ["distribute"]  # nothing within 2 %
    opts, rejected = cnn_options(tiny(0.6, max_accuracy_drop_pct=25), "lenet")
    got = {(o.mode, o.cut) for o in opts}
    assert got == {("distribute", None)} | {(m, "ReLU2") for m in ("dp", "hybrid")}  # pool2, fc1: unmeasured (def32)
    assert all(o.eps == 7 and o.accuracy_drop_pct <= 25.0 and o.attacker_ssim <= 0.6 and o.dp_source == "measured"
               for o in opts if o.mode != "distribute")  # fmt: skip
    why = {(r["mode"], r["cut"]): r["reason"] for r in rejected}
    assert "conv cut" in why[("hybrid", "conv2")] and "accuracy drop 38.63%" in why[("dp", "pool1")]
    assert "no measured tensor at or before ReLU1" in why[("dp", "ReLU1")]  # not read from the later pool1
    assert "fc1 is not measured and no measured tensor follows it" in why[("dp", "fc1")]  # nor from the earlier ReLU2
    _, rejected = cnn_options(tiny(0.6, cuts=["fc2"]), "lenet")  # dp at L-2 would run the whole CNN on the source
    assert all("no intermediate layer" in r["reason"] for r in rejected) and len(rejected) == 2
    # tau 0.8: the split point is pool2, the earlier layers need eps 7 (7.2 % > 2 %; SSIM 0.770)
    opts8, _ = cnn_options(tiny(0.8), "lenet")
    assert [o.mode for o in opts8] == ["distribute"]
    opts8, _ = cnn_options(tiny(0.8, max_accuracy_drop_pct=10), "lenet")
    assert {(o.mode, o.cut, o.eps) for o in opts8} == {("distribute", None, None), ("dp", "pool1", 7.0),
                                                       ("hybrid", "pool1", 7.0)}  # fmt: skip
    # conv2 (between pool1 and ReLU2) pays the larger of the two costs: 22.5 % at eps 7 (def32)
    opts, _ = cnn_options(tiny(0.6, max_accuracy_drop_pct=25, mode="hybrid", cuts=["ReLU2"], epsilons=[5, 7, 10, 20]),
                          "lenet")  # fmt: skip
    assert [(o.mode, o.cut, o.eps) for o in opts] == [("hybrid", "ReLU2", 7)]


def test_quantization_expected_load():
    q = QuantizationSpec(attack_share=0.5, exit_work_share=0.3, late_share_clean=0.2, late_share_attacked=0.6,
                         late_share_defended=0.4, accuracy_drop_pct=0.5)
    assert load_factor(None, True) == 1.0
    assert load_factor(q, False) == pytest.approx(0.3 + 0.7 * (0.5 * 0.2 + 0.5 * 0.6))
    assert load_factor(q, True) == pytest.approx(0.3 + 0.7 * (0.5 * 0.2 + 0.5 * 0.4))
    # every exit share set: the entry declares an early-exit deployment and is accepted (defq32)
    inst = tiny(0.6, mode="distribute", quantization=q)
    opts, _ = cnn_options(inst, "lenet")
    assert [(o.defq, o.accuracy_drop_pct) for o in opts] == [(False, 0.0), (True, 0.5)]
    on = defended_instance(inst, {"lenet": opts[1]})
    src = int(inst.request_source[0])
    w = load_factor(q, True)
    expect = inst.compute_capacity / w
    expect[src] = (inst.compute_capacity[src] - defq.ops_per_image(28, 28, 1)) / w
    np.testing.assert_allclose(on.compute_capacity, expect)
    assert on.limits == inst.limits


def test_solve_defended_is_the_least_option_and_scored_on_defended_limits():
    inst = tiny(0.6, max_accuracy_drop_pct=25)
    res = solve(inst, method="defended", threads=1)
    assert res.termination is Termination.OPTIMAL and res.gap is not None and res.gap <= 1e-6
    assert res.evaluation.feasible and "warning" not in res.extra
    tried = res.extra["options_tried"]
    assert len(tried) == 3 and res.objective == pytest.approx(min(t["objective"] for t in tried))
    choice = res.extra["defence"]["lenet"]
    assert (choice["mode"], choice["cut"], choice["eps"]) == ("dp", "ReLU2", 7.0)  # fc1: unmeasured (def32)
    assert res.extra["accuracy_cost_pct"]["lenet"] == pytest.approx(choice["dp_drop_pct"]) and choice["dp_drop_pct"] < 25
    assert choice["attacker_ssim"] <= 0.6
    # scored on the defended limits; the caller's (undefended) instance flags the same placement
    relu1 = inst.profiles["lenet"].index("ReLU1")  # dp at ReLU2: ReLU1..ReLU2 on the camera
    assert res.scored_on.limits["lenet"].on_source[relu1] and not inst.limits["lenet"].on_source[relu1]
    bad = evaluate(inst, res.assignment)
    assert {v.constraint for v in bad.violations} == {"placement"}
    # solving again gives the same answer
    again = solve(inst, method="defended", threads=1)
    assert again.objective == res.objective and again.extra["defence"] == res.extra["defence"]


def test_each_option_agrees_with_the_compact_formulation():
    inst = tiny(0.6, mode="dp", cuts=["ReLU2"], max_accuracy_drop_pct=25)
    dec = solve(inst, method="defended", threads=1)
    assert dec.extra["defence"]["lenet"]["mode"] == "dp"
    com = solve(tiny(0.6, mode="dp", cuts=["ReLU2"], max_accuracy_drop_pct=25), method="defended", formulation="compact",
                threads=1)  # fmt: skip
    assert com.termination is Termination.OPTIMAL
    assert dec.objective == pytest.approx(com.objective, rel=1e-6)


def test_accuracy_weight_and_no_admissible_option():
    light = solve(tiny(0.6, max_accuracy_drop_pct=25), method="defended", threads=1)
    assert light.extra["defence"]["lenet"]["mode"] == "dp"
    heavy = solve(tiny(0.6, max_accuracy_drop_pct=25, accuracy_weight=1.0), method="defended", threads=1)  # 1 s per %
    assert heavy.extra["defence"]["lenet"]["mode"] == "distribute"
    assert heavy.extra["score"] == pytest.approx(heavy.objective)
    with pytest.raises(InstanceError, match=r"defence\.lenet: no admissible defence option .*rejected: ") as e:
        solve(tiny(0.8, mode="dp"), method="defended", threads=1)  # before any solve, not 'infeasible' (defence30)
    assert "distribution alone" in str(e.value)


def test_defence_entries_are_checked():
    with pytest.raises(InstanceError, match=r"defence\.lenet\.cuts\[0\]"):
        solve(tiny(0.6, cuts=["conv9"]), method="defended")
    with pytest.raises(InstanceError, match='no request uses CNN "cifar"'):  # found when validating (issue 12)
        solve(load_instance(TINY / "lenet-1x4-tau0.6.json").with_spec(defence={"cifar": DefenceSpec()}), method="defended")


def test_cli_method_defended(tmp_path, capsys):
    doc = tiny(0.6, max_accuracy_drop_pct=25).spec.model_dump(mode="json")
    path = tmp_path / "def.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "res.json"
    assert cli_main(["solve", str(path), "--method", "defended", "--threads", "1", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["method"] == "defended" and saved["feasible"] and saved["extra"]["defence"]["lenet"]["mode"] == "dp"


def test_too_many_combinations_is_an_error():
    with pytest.raises(ValueError, match="3 defence combinations > max_combinations 2"):
        solve_defended(tiny(0.6, max_accuracy_drop_pct=25), max_combinations=2)


# --- issue 12: DP decisions are only as private as the privacy table's attacker --------------------------------


def _sweep(attacker, rows_by_layer):
    """A measured sweep document: ``rows_by_layer[layer] = [(eps, acc_finetuned, ssim_blackbox, ssim_whitebox)]``."""

    def row(mode, eps, acc, bb, wb):
        return {"mode": mode, "eps": eps, "acc_noisy": acc, "acc_finetuned": acc, "ssim_blackbox": bb, "ssim_whitebox": wb}

    layers = {la: {"rows": [row("plain", None, 0.99, 0.9, 0.6)] + [row("dp", *r) for r in rs]}
              for la, rs in rows_by_layer.items()}  # fmt: skip
    doc = {"format": "optdist-dp-measured/1", "dataset": "mnist", "command": "fake", "layers": layers}
    return doc if attacker is None else doc | {"attacker": attacker.record()}


#: SSIM <= 0.6 at eps 10 for both tensors, at 1 % accuracy drop (0.99 -> 0.9801)
FREEING = {"pool1": [(10.0, 0.9801, 0.5, 0.3), (20.0, 0.99, 0.7, 0.4)],
           "ReLU2": [(10.0, 0.9801, 0.55, 0.3), (20.0, 0.99, 0.65, 0.4)]}  # fmt: skip


def _with_sweep(monkeypatch, doc):
    from optdist.defences import dp_effect

    monkeypatch.setattr(dp_effect, "load_measured", lambda cnn: doc if cnn == "lenet" else None)


def _dp_options(opts):
    return {(o.mode, o.cut, o.eps) for o in opts if o.mode != "distribute"}


def test_dp_options_need_a_sweep_under_the_tables_attacker(monkeypatch):
    from optdist.attacks.attacker import CALIBRATION, Attacker

    _with_sweep(monkeypatch, _sweep(CALIBRATION, FREEING))
    opts, _ = cnn_options(tiny(0.6), "lenet")
    assert ("dp", "pool1", 10.0) in _dp_options(opts) and ("hybrid", "ReLU2", 10.0) in _dp_options(opts)
    assert all(o.attacker_ssim <= 0.6 and "5000 attack-split images" in o.provenance for o in opts if o.mode != "distribute")
    # the same numbers measured by the DP sweep's old, weaker attacker (2,000 images, 5 epochs): nothing offered
    for weak, why in ((Attacker(samples=2000, epochs=5), "used a weaker attacker"), (None, "records no attacker")):
        _with_sweep(monkeypatch, _sweep(weak, FREEING))
        opts, rejected = cnn_options(tiny(0.6), "lenet")
        assert [o.mode for o in opts] == ["distribute"]
        reasons = {(r["mode"], r["cut"]): r["reason"] for r in rejected}
        assert why in reasons[("dp", "pool1")] and why in reasons[("hybrid", "ReLU2")]
        res = solve(tiny(0.6), method="defended", threads=1)
        assert res.extra["defence"]["lenet"]["mode"] == "distribute"


def test_dp_options_follow_the_attacker_recorded_in_the_privacy_table(monkeypatch, tmp_path):
    
    from optdist.attacks.attacker import CALIBRATION
    from optdist.privacy import resolve_table

    _with_sweep(monkeypatch, _sweep(CALIBRATION, FREEING))
    table = resolve_table("lenet", "paper").model_dump(mode="json")
    table["provenance"] = {**table["provenance"], "attacker": dataclasses.replace(CALIBRATION, epochs=20).record()}
    (tmp_path / "strong.json").write_text(json.dumps(table))
    doc = tiny(0.6).spec.model_dump(mode="json") | {"privacy": {"lenet": "strong.json"}}
    (tmp_path / "inst.json").write_text(json.dumps(doc))
    inst = load_instance(tmp_path / "inst.json")
    assert inst.limits["lenet"] == tiny(0.6).limits["lenet"]  # same cells: only the attacker differs
    opts, rejected = cnn_options(inst, "lenet")
    assert [o.mode for o in opts] == ["distribute"]  # the sweep's 6 epochs do not cover the table's 20
    assert all("20 epochs" in r["reason"] for r in rejected if "not offered" in r["reason"])
    table["provenance"]["attacker"] = {"samples": 10, "budget": 3}
    (tmp_path / "bad.json").write_text(json.dumps(table))
    (tmp_path / "inst.json").write_text(json.dumps(doc | {"privacy": {"lenet": "bad.json"}}))
    with pytest.raises(InstanceError, match=r'privacy\.lenet.*unknown field\(s\) "budget"'):
        solve(load_instance(tmp_path / "inst.json"), method="defended")


def test_only_measured_eps_and_tensors_are_offered(monkeypatch):
    from optdist.attacks.attacker import CALIBRATION

    _with_sweep(monkeypatch, _sweep(CALIBRATION, FREEING))
    opts, rejected = cnn_options(tiny(0.6, cuts=["ReLU1", "pool1", "ReLU2"], epsilons=[15.0]), "lenet")
    assert [o.mode for o in opts] == ["distribute"]  # eps 15 lies between measured points: no interpolation
    reasons = {(r["mode"], r["cut"]): r["reason"] for r in rejected}
    assert "none of eps [15.0] was measured at pool1" in reasons[("dp", "pool1")]
    assert "no measured tensor at or before ReLU1" in reasons[("dp", "ReLU1")]  # not read from the later pool1
    opts, _ = cnn_options(tiny(0.6, cuts=["pool1", "ReLU2"], epsilons=[5.0, 10.0, 15.0]), "lenet")
    assert _dp_options(opts) == {("dp", "pool1", 10.0), ("hybrid", "pool1", 10.0), ("dp", "ReLU2", 10.0),
                                 ("hybrid", "ReLU2", 10.0)}  # fmt: skip
    # above tau at every measured eps once the running maximum is taken: not offered
    leaky = {"ReLU2": [(5.0, 0.9, 0.7, 0.2), (10.0, 0.9801, 0.5, 0.3)]}
    _with_sweep(monkeypatch, _sweep(CALIBRATION, leaky))
    opts, rejected = cnn_options(tiny(0.6, cuts=["ReLU2"]), "lenet")
    assert [o.mode for o in opts] == ["distribute"] and "least attacker SSIM 0.700 > tau 0.6" in rejected[0]["reason"]


@pytest.mark.parametrize("tau", [0.6, 0.8])
def test_shipped_sweep_options_are_private_under_the_calibration_attacker(tau):
    """Every DP/hybrid option offered on the shipped sweep is re-checked against the measured rows."""
    from optdist.attacks.attacker import CALIBRATION, Attacker
    from optdist.defences.dp_effect import load_measured

    meas = load_measured("lenet")
    assert Attacker.from_record(meas["attacker"]).covers(CALIBRATION)
    opts, _ = cnn_options(tiny(tau, max_accuracy_drop_pct=100.0), "lenet")
    names = [la.name for la in tiny(tau).profiles["lenet"].layers]
    for o in opts:
        if o.mode == "distribute":
            continue
        gov = max((m for m in meas["layers"] if names.index(m) <= names.index(o.cut)), key=names.index)
        rows = [r for r in meas["layers"][gov]["rows"] if r["mode"] == "dp" and r["eps"] <= o.eps]
        assert any(r["eps"] == o.eps for r in rows)  # measured, not interpolated
        worst = max(max(r["ssim_blackbox"], r["ssim_whitebox"]) for r in rows)
        assert o.attacker_ssim == pytest.approx(worst) and worst <= tau


def test_a_signal_stops_every_defended_solve(sigterm_during):
    """SIGTERM (or Ctrl-C) during the first of the seven option solves stopped only that solve and
    the enumeration went on with the others to the end (exit 0). Now the run is 'interrupted'
    (CLI exit 143; 130 for Ctrl-C) and no further solver call starts."""
    import optdist.defences.placement as dp

    res, calls, outcomes = sigterm_during(dp, "_solve_exact", lambda: solve(
        tiny(0.6, max_accuracy_drop_pct=25), method="defended", threads=1))
    assert res.termination == "interrupted" and res.extra["interrupted"] == "SIGTERM"
    assert len(calls) == 3 and all(s.startswith("not started") for s in outcomes), outcomes
    assert {c.termination for c in calls[1:]} == {Termination.INTERRUPTED}, [c.termination for c in calls]
