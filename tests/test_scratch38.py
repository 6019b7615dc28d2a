"""The cifar-20x20 column mix from the instance alone (benchmarks/scale/cifar20_mix/mixing.py,
from_scratch.py) and the plan start's offline seconds in the gap table (issue 14)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
MIX = ROOT / "benchmarks" / "scale" / "cifar20_mix"
C20 = ROOT / "instances" / "coupled" / "cifar-20x20-nexus-rpi3.json"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scratch():
    """from_scratch.py as a module (it puts cifar20_mix/ and benchmarks/scale/ on sys.path)."""
    saved = list(sys.path)
    mod = _load("from_scratch_under_test", MIX / "from_scratch.py")
    yield mod
    sys.path[:] = saved


@pytest.fixture(scope="module")
def c20(scratch):
    from optdist.assignment import Assignment
    from optdist.instance import load_instance

    inst = load_instance(C20)
    return inst, Assignment.load(inst, MIX / "start-0.466165.json")


def test_device_groups_are_the_devices_with_equal_profiles(scratch, c20):
    """cifar-20x20: the 6 Nexus and the 14 RPi3 (pack.py's NEX / RPI constants), from the instance."""
    import mixing

    assert mixing.device_groups(c20[0]) == [list(range(6)), list(range(6, 20))]


def test_the_start_types_and_their_hybrids_are_those_of_the_scripts(scratch, c20):
    """The engine's plan has 5 request types up to relabelling (pack.py's A-E, requests 0, 4, 11, 16,
    19); their cut-point hybrids leave 14 non-dominated columns (cifar20_scratch/README.md, hybrids.py
    with MIX_COLUMN=none), scored as hybrids.py does."""
    import mixing

    inst, start = c20
    groups = mixing.device_groups(inst)
    types, of = mixing.start_types(inst, start, groups)
    assert list(types) == ["A", "B", "C", "D", "E"] and len({of[r] for r in (0, 4, 11, 16, 19)}) == 5
    lat = sorted(mixing.score(inst, groups, c)[0] for c in types.values())
    assert lat[0] == pytest.approx(0.0224, abs=1e-4) and lat[-1] == pytest.approx(0.0244, abs=1e-4)  # 22.40-24.40 ms
    assert len(mixing.hybrids(inst, groups, types)) == 14


def test_the_counts_milp_starts_from_the_start_and_the_rounded_lp_mix(scratch, c20):
    """count_milp given the engine's plan (its 5 types) as start never ends above it, even in 2 s; the
    pool LP's mix rounded to whole counts is tried first (logged) and the placement is feasible."""
    import mixing
    from optdist.evaluate import evaluate

    inst, start = c20
    groups = mixing.device_groups(inst)
    types, of = mixing.start_types(inst, start, groups)
    said = []
    asg, info = mixing.count_milp(inst, groups, types, 2.0, start=(start, of), rounded=(0.993,), log=said.append)
    ev = evaluate(inst, asg)
    assert ev.feasible and ev.n_rejected == 0 and ev.objective <= 0.466165399351009 + 1e-9
    assert ev.objective == pytest.approx(info["value"], rel=1e-9) and sum(info["counts"].values()) == 20
    assert any("rounded mix (share 0.993)" in line for line in said)


def test_price_vectors_are_the_duals_and_their_tilts(scratch):
    """The final pool LP's duals, the first round's, then the final ones tilted by +-20 % / +-45 %
    between the groups (six vectors for two groups, as countmilp.py's sel:K constants)."""
    import mixing

    first, last = np.array([0.0209, 0.0162]), np.array([0.0209, 0.0140])
    got = mixing.price_vectors([first, np.array([1.0, 1.0]), last])
    want = [last, first, last * [1.2, 0.8], last * [0.8, 1.2], last * [1.45, 0.55], last * [0.55, 1.45]]
    assert len(got) == 6 and all(np.allclose(g, w) for g, w in zip(got, want))


def test_select_takes_the_cheapest_distinct_columns_per_price(scratch):
    """Per price vector the k cheapest columns whose (latency, loads) were not taken yet, after the base."""
    import mixing

    sc = {"A": (1.0, 0.0, 0.0), "x": (0.5, 1.0, 0.0), "y": (0.5, 1.0, 0.0), "z": (0.6, 0.0, 1.0), "w": (2.0, 0.0, 0.0)}
    assert mixing.select(sc, ["A"], [np.array([0.0, 0.0]), np.array([1.0, 0.0])], 1) == ["A", "x", "z"]


def test_the_pool_lp_mixes_columns_under_the_group_bandwidth(scratch):
    """Least total latency of n requests over a fractional mix with every group's load <= 99.3 %; its
    duals price the binding group; no mix that fits: ValueError."""
    import mixing

    sc = {"fast": (1.0, 0.5, 0.0), "slow": (2.0, 0.0, 0.0)}
    val, pi, mix = mixing.pool_lp(sc, [[0, 1], [2]], 4)
    assert mix == pytest.approx({"fast": 4 * 0.993, "slow": 4 - 4 * 0.993})
    assert val == pytest.approx(4 * 0.993 + 2 * (4 - 4 * 0.993)) and pi == pytest.approx([2.0, 0.0])
    with pytest.raises(ValueError, match="no mix of the columns fits"):
        mixing.pool_lp({"fast": (1.0, 1.0, 0.0)}, [[0, 1], [2]], 4)


def test_a_trajectory_point_becomes_the_cheapest_real_column(scratch, tmp_path):
    """trajectory_bound.column: the model's point as a real placement, the fc on the device that prices
    it least; its value is that placement's priced value (what --column-out writes)."""
    import trajectory_bound as tb
    from optdist.instance import load_instance

    doc = json.loads((ROOT / "instances" / "tiny" / "cifar-1x4-tau0.8.json").read_text())
    doc["tau"] = 0.6
    (path := tmp_path / "cifar-1x4-tau0.6.json").write_text(json.dumps(doc))
    inst = load_instance(str(path))
    n, d = inst.n_nodes, inst.n_devices
    prices = {"memory": np.zeros(n), "compute": np.zeros(n), "bandwidth": np.r_[np.full(d, 2e-9), np.zeros(n - d)]}
    m, tm = tb.build(inst, 0, prices), tb.Terms.of(inst, 0, prices)
    rng = np.random.default_rng(3)  # a placement within the caps (test_dual34's), as the model's point
    own0 = []
    for k, la in enumerate(inst.profile(0).layers):
        cap = inst.limit(0).device_cap[k]
        if inst.limit(0).on_source[k]:
            own0.append(np.full(la.segments, int(inst.request_source[0])))
            continue
        while np.bincount(a := rng.integers(0, d, la.segments), minlength=d).max() > (cap or la.segments):
            pass
        own0.append(a)
    x = tb.point(m, tm, np.array([np.bincount(a, minlength=n) for a in own0])[: tm.K + 1])
    value, own = tb.column(inst, 0, prices, x, m)
    paths = tb.trajectories(m, tm, x)
    each = [tb.priced_value(inst, 0, tb.placement(tm, paths, f), prices) for f in range(d)]
    assert value == min(each) and tb.priced_value(inst, 0, own, prices) == value
    assert tb.column(inst, 0, prices, x)[0] == value  # m left out: the whole relaxation's model


@pytest.mark.parametrize("instance, said", [
    ("instances/tiny/lenet-1x4-tau0.6.json", "the probe takes"),
    ("instances/coupled/mixed-8x6-nexus-rpi3.json", "request classes"),
])
def test_other_instances_are_refused(scratch, instance, said, tmp_path, capsys):
    """An instance the method does not apply to: exit 2, the instance's path, why and the fix, no file."""
    out = tmp_path / "p.json"
    assert scratch.main([str(ROOT / instance), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert instance.split("/")[-1] in err and said in err and "(fix: " in err
    assert not out.exists()


def test_an_existing_out_needs_force_and_limits_must_be_positive(scratch, tmp_path, capsys):
    out = tmp_path / "p.json"
    out.write_text("{}")
    assert scratch.main([str(C20), "--out", str(out)]) == 2
    assert "--out" in (err := capsys.readouterr().err) and "--force" in err
    assert scratch.main([str(C20), "--out", str(out), "--count-time-limit", "0"]) == 2
    assert "--count-time-limit 0 is out of range" in capsys.readouterr().err


def test_the_gap_table_names_a_plan_start_s_offline_seconds(tmp_path):
    """A start placement whose meta has ``offline_s`` (from_scratch.py's) is recorded as ``plan_start_s``
    and said in the row's caveat; records and placements without it read as before."""
    gt = _load("gap_table_scratch38", ROOT / "benchmarks" / "online" / "gap_table.py")
    with_s, without = tmp_path / "a.json", tmp_path / "b.json"
    with_s.write_text(json.dumps({"meta": {"offline_s": 801.4}}))
    without.write_text(json.dumps({"meta": {"method": "decomposed"}}))
    assert gt.plan_start_seconds(with_s) == 801.4 and gt.plan_start_seconds(without) is None
    assert gt.plan_start_seconds(tmp_path / "missing.json") is None
    row = pd.Series({"plan_start": "x.json", "plan_start_s": 801.4})
    assert gt.caveats(row, cost=True) == ["plan started from a given placement (found in 801 s offline)"]
    assert gt.caveats(row) == ["plan started from a given placement"]  # the figure's cell: no room
    assert gt.caveats(pd.Series({"plan_start": "x.json"}), cost=True) == ["plan started from a given placement"]
    assert gt.caveats(pd.Series({"plan_start": "x.json", "plan_start_s": float("nan")}), cost=True) == [
        "plan started from a given placement"]
    assert "(found in 801 s offline)" in gt.cell(pd.Series({**row, "latency_ms": 450.5, "gap_%": 2.5}))


@pytest.mark.slow
def test_from_scratch_end_to_end_on_cifar_6x5(scratch, tmp_path, capsys):
    """The whole chain on a small coupled CIFAR set with short budgets (10 s find no trajectory column
    there: the pool is the start's types alone): a feasible placement written with its steps' seconds,
    re-scored by the evaluator (about 2 minutes)."""
    from optdist.evaluate import evaluate

    out = tmp_path / "p.json"
    inst = ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json"
    assert scratch.main([str(inst), "--out", str(out), "--workdir", str(tmp_path / "w"), "--engine-time-limit", "30",
                         "--column-time-limit", "10", "--count-time-limit", "20"]) == 0
    doc = json.loads(out.read_text())
    meta = doc["meta"]
    assert [s["step"] for s in meta["steps"]] == ["engine", "column", "pool", "count", "evaluate"]
    ev = evaluate(str(inst), str(out))
    assert ev.feasible and ev.objective == pytest.approx(meta["objective_s"])
    assert meta["offline_s"] == pytest.approx(sum(s["wall_s"] for s in meta["steps"]), abs=0.05)
    assert {"prices.json", "start.json"} <= {p.name for p in (tmp_path / "w").iterdir()}
    assert "step 5 evaluate:" in capsys.readouterr().out
