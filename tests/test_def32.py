"""def32: defended placement found wrong by a fresh user (break32b).

1. a DefQ ``quantization`` block on the zoo LeNet silently scaled its compute by another network's
   early-exit shares (the defaults), labelled "distribution alone": an entry now declares an
   early-exit deployment and must set its four exit shares (defq32);
2. a DP cut with no measurement of its own borrowed an earlier tensor's accuracy cost;
3. ``optdist.evaluate`` and ``optdist evaluate`` disagreed on a defended result;
4. negligible noise (eps above the grid, or an SSIM within its standard error of no noise) freed layers;
5. small: repeated epsilons, an unmeasured eps said nowhere, the printed objective without DefQ time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.instance import DefenceSpec, InstanceError, QuantizationSpec, load_instance, parse

ROOT = Path(__file__).resolve().parents[1]
PLACEMENT = ROOT / "benchmarks" / "defences" / "placement" / "instances"
PAPER = ROOT / "instances" / "paper"
TINY = ROOT / "instances" / "tiny"


def _doc(path: Path, defence: dict) -> dict:
    doc = json.loads(path.read_text())
    doc["defence"] = defence
    return doc


# 1 ---------------------------------------------------------------------------------------------

#: the multi-exit MNIST CNN's measured shares (benchmarks/defences/defq_eval), written out
MNIST_EXITS = {"exit_work_share": 0.3228, "late_share_clean": 0.18, "late_share_attacked": 0.517,
               "late_share_defended": 0.502}


def test_quantization_leaving_exit_shares_to_defaults_is_refused_naming_them(tmp_path):
    doc = _doc(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json",
               {"lenet": {"mode": "distribute", "quantization": {"use": "off", "attack_share": 0}}})
    with pytest.raises(InstanceError) as e:
        parse(doc, "q0", tmp_path / "q0.json")
    (p,) = e.value.problems
    assert p.path == "defence.lenet.quantization" and "early exits" in p.message
    for f in MNIST_EXITS:
        assert f in p.message and f in p.fix
    assert "multi-exit MNIST CNN's measured values" in p.fix and "defq_eval" in p.fix
    # one share given: the other three are named, the given one is not
    doc["defence"]["lenet"]["quantization"]["exit_work_share"] = 0.4
    with pytest.raises(InstanceError) as e:
        parse(doc, "q1", tmp_path / "q1.json")
    (p,) = e.value.problems
    assert "exit_work_share" not in p.message and "late_share_defended" in p.message
    # the Python API: a spec model built with defaults is refused alike (its unset fields stay unset)
    inst = load_instance(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json")
    with pytest.raises(InstanceError, match=r"defence\.lenet\.quantization: leaves exit_work_share"):
        inst.with_spec(defence={"lenet": DefenceSpec(quantization=QuantizationSpec(use="off"))})


def test_quantization_with_explicit_shares_is_accepted_and_labelled_with_its_load(tmp_path):
    from optdist.defences.placement import choice_text, load_factor
    from optdist.solve import solve

    q = {"use": "on", "attack_share": 1.0, **MNIST_EXITS}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(_doc(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json",
                                    {"lenet": {"mode": "distribute", "quantization": q}})))
    inst = load_instance(path)
    res = solve(inst, method="defended", threads=1)
    choice = res.extra["defence"]["lenet"]
    w = load_factor(QuantizationSpec(**q), True)
    assert w == pytest.approx(0.3228 + 0.6772 * 0.502)
    assert choice["defq"] is True and choice["load_factor"] == pytest.approx(w)
    assert res.evaluation.feasible
    text = choice_text(choice)
    assert text.startswith("distribution alone + DefQ with expected load factor 0.6628 (early exits)")
    # the placement holds only under the scaled capacities: the plain instance is overloaded
    from optdist.evaluate import evaluate

    assert not evaluate(load_instance(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json"), res.assignment).feasible


def test_use_off_with_explicit_shares_scales_by_the_early_exits_only():
    import numpy as np

    from optdist.defences.placement import cnn_options, defended_instance

    inst = load_instance(PLACEMENT / "lenet-10x10-tau0.6-cpu143k.json")
    q = QuantizationSpec(use="off", attack_share=0.5, **MNIST_EXITS)
    d = inst.with_spec(defence={"lenet": DefenceSpec(mode="distribute", quantization=q)})
    (o,), _ = cnn_options(d, "lenet")
    w = 0.3228 + 0.6772 * (0.5 * 0.18 + 0.5 * 0.517)  # late_share_attacked: DefQ is off
    assert (o.defq, o.defq_drop_pct, o.accuracy_drop_pct) == (False, 0.0, 0.0)
    assert o.load_factor == pytest.approx(w)
    scaled = defended_instance(d, {"lenet": o})
    np.testing.assert_allclose(scaled.compute_capacity, inst.compute_capacity / w)  # no DefQ load on the sources
    assert scaled.limits == inst.limits


def test_distribution_alone_is_not_said_of_a_scaled_load():
    from optdist.defences.placement import choice_text

    assert choice_text({"mode": "distribute", "load_factor": 1.0}) == "distribution alone"
    assert "load factor 0.4447" in choice_text({"mode": "distribute", "load_factor": 0.4447})


# 2 ---------------------------------------------------------------------------------------------

def test_unmeasured_cut_takes_the_conservative_neighbour_or_is_refused():
    from optdist.attacks.attacker import for_table
    from optdist.defences.dp_effect import measured_effects

    attacker, _ = for_table(None)
    (own,), _ = measured_effects("lenet", "ReLU2", 0.8, attacker, [7])
    (c2,), _ = measured_effects("lenet", "conv2", 0.8, attacker, [7])
    assert own.accuracy_drop_pct == pytest.approx(22.5, abs=0.05)
    assert c2.accuracy_drop_pct == pytest.approx(own.accuracy_drop_pct)  # not pool1's 7.2 %
    assert c2.attacker_ssim == pytest.approx(0.770, abs=5e-4)  # the larger SSIM of the two (pool1's)
    assert measured_effects("lenet", "fc1", 0.6, attacker, [7])[0] == []


def test_conv2_cut_within_10_pct_is_rejected_with_its_own_cost():
    from optdist.defences.placement import NoAdmissibleOption
    from optdist.solve import solve

    inst = load_instance(PAPER / "lenet-10x10-tau0.8.json").with_spec(
        defence={"lenet": DefenceSpec(mode="dp", cuts=["conv2"], max_accuracy_drop_pct=10)})
    with pytest.raises(NoAdmissibleOption, match=r"accuracy drop 22\.50% at eps 7"):
        solve(inst, method="defended", threads=1)


# 3 ---------------------------------------------------------------------------------------------

def test_python_and_cli_score_a_defended_result_alike(tmp_path, capsys):
    from optdist.cli import main as cli_main
    from optdist.evaluate import evaluate
    from optdist.solve import solve

    path = tmp_path / "t8.json"
    path.write_text(json.dumps(_doc(PAPER / "lenet-10x10-tau0.8.json",
                                    {"lenet": {"mode": "dp", "cuts": ["pool1"], "max_accuracy_drop_pct": 10}})))
    out = tmp_path / "res.json"
    assert cli_main(["solve", str(path), "--method", "defended", "--threads", "1", "--out", str(out)]) == 0
    inst = load_instance(path)
    by_file = evaluate(inst, str(out))
    res = solve(inst, method="defended", threads=1)
    by_result = evaluate(inst, res)
    assert by_file.feasible and by_result.feasible and not by_file.violations
    assert by_file.objective == pytest.approx(by_result.objective)
    capsys.readouterr()
    assert cli_main(["evaluate", str(path), str(out)]) == 0
    assert "feasible True" in capsys.readouterr().out
    assert not evaluate(inst, res.assignment).feasible  # a bare assignment: the undefended limits
    assert inst.limits["lenet"] != res.scored_on.limits["lenet"]  # the caller's instance unchanged


# 4 ---------------------------------------------------------------------------------------------

def test_eps_above_the_grid_is_no_noise_and_a_negligible_drop_frees_nothing():
    from optdist.defences.dp_effect import dp_effect

    above = dp_effect("lenet", "ReLU2", 1e6, 0.9)
    assert not above.frees_downstream and above.attacker_ssim == pytest.approx(0.9022, abs=1e-4)  # the no-noise SSIM
    assert "above the largest measured" in above.note
    top = dp_effect("lenet", "ReLU2", 5000, 0.9)  # 0.8987 <= 0.9, but within 2 SE of no noise's 0.9022
    assert top.attacker_ssim == pytest.approx(0.8987, abs=1e-4) and not top.frees_downstream
    assert "standard errors" in top.note
    assert dp_effect("lenet", "ReLU2", 100, 0.9).frees_downstream  # 0.8902: measurably below


def test_defended_at_tau_09_does_not_pick_negligible_noise():
    from optdist.solve import solve

    inst = load_instance(PAPER / "lenet-10x10-tau0.6.json").with_spec(
        tau=0.9, privacy={"lenet": "calibrated"}, defence={"lenet": DefenceSpec(mode="hybrid", cuts=["ReLU2"], epsilons=[1000, 5000],
                                               max_accuracy_drop_pct=1)})
    from optdist.defences.placement import NoAdmissibleOption

    with pytest.raises(NoAdmissibleOption, match="not shown to protect"):
        solve(inst, method="defended", threads=1)
    res = solve(inst.with_spec(defence={"lenet": DefenceSpec(max_accuracy_drop_pct=1)}), method="defended", threads=1)
    choice = res.extra["defence"]["lenet"]
    assert choice["eps"] is None or choice["eps"] <= 200


# 5 ---------------------------------------------------------------------------------------------

def test_repeated_epsilons_are_refused_by_the_one_rule(tmp_path):
    doc = _doc(PAPER / "lenet-10x10-tau0.8.json", {"lenet": {"epsilons": [7, 7]}})
    with pytest.raises(InstanceError) as e:
        parse(doc, "dup", tmp_path / "dup.json")
    (p,) = e.value.problems
    assert p.path == "defence.lenet.epsilons" and p.message == "gives 7 more than once"
    assert "give each eps once" in p.fix


def test_unmeasured_eps_is_said_on_stderr(tmp_path, caplog):
    from optdist.solve import solve

    inst = load_instance(PAPER / "lenet-10x10-tau0.8.json").with_spec(defence={"lenet": DefenceSpec(epsilons=[8])})
    with caplog.at_level("WARNING", logger="optdist"):
        res = solve(inst, method="defended", threads=1)
    assert res.extra["defence"]["lenet"]["mode"] == "distribute"
    assert any("defence.lenet.epsilons: 8 is not measured" in r.getMessage() for r in caplog.records)


def test_defended_on_own_network_says_zoo_only_first(tmp_path, capsys):
    from tests.test_dag_evaluator import dag_instance

    from optdist.cli import main as cli_main

    inst = dag_instance(tmp_path, "res")
    cli_main(["solve", str(inst.path), "--method", "defended", "--threads", "1"])
    err = capsys.readouterr().err
    assert "zoo CNNs only" in err and '"defence": {"res"' not in err


def test_cli_prints_the_score_the_defence_was_chosen_by(tmp_path, capsys):
    from optdist.cli import main as cli_main

    path = tmp_path / "aw.json"
    path.write_text(json.dumps(_doc(PAPER / "lenet-10x10-tau0.8.json",
                                    {"lenet": {"mode": "dp", "cuts": ["pool1"], "max_accuracy_drop_pct": 10,
                                               "accuracy_weight": 2e-5}})))
    assert cli_main(["solve", str(path), "--method", "defended", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    score = next(line for line in out.splitlines() if line.startswith("score"))
    assert "accuracy charge 0.00144" in score and score.split()[1].startswith("0.00641")


def test_dp_effect_reads_an_unmeasured_cut_between_two_tensors_conservatively(capsys):
    from optdist.cli import main as cli_main
    from optdist.defences.dp_effect import dp_effect

    c2 = dp_effect("lenet", "conv2", 7, 0.8)
    assert c2.accuracy_drop_pct == pytest.approx(dp_effect("lenet", "ReLU2", 7, 0.8).accuracy_drop_pct)
    assert c2.attacker_ssim == pytest.approx(dp_effect("lenet", "pool1", 7, 0.8).attacker_ssim)
    assert c2.tensor == "pool1 and ReLU2"
    assert cli_main(["dp-effect", "lenet", "conv2", "--tau", "0.8", "--eps", "7"]) == 0
    assert "the larger of the numbers of pool1 and ReLU2" in capsys.readouterr().out


def test_node_use_is_printed_against_the_defended_capacities(capsys):
    """solve's "node use" table divides by the capacities the defended result was scored on (DefQ's
    early exits scale them): the DefQ example uses at most 100 % there, 149.7 % of the plain ones."""
    from optdist.cli import main

    example = Path(__file__).resolve().parents[1] / "benchmarks/defences/placement/instances"
    assert main(["solve", str(example / "lenet-10x10-tau0.6-cpu143k-defq-alpha1.json"), "--method", "defended",
                 "--threads", "1", "-q"]) == 0
    table = capsys.readouterr().out.split("node use")[1]
    shares = [float(row.split("|")[3]) for row in table.splitlines() if row.startswith("| rpi3")]
    assert shares and max(shares) <= 100.0 + 1e-6, shares
