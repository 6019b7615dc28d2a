"""misc38: a policy folder whose policy.json was edited since train-rl wrote it is refused (policy.pt
records the training fields); a bench rerun redoes the runs whose policy files changed or that timed
out under a shorter guard (options were already in the key); rl-ppo placement warms up as rl does."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytestmark = pytest.mark.learn

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

TINY = ROOT / "instances" / "tiny"
LENET = TINY / "lenet-1x4-tau0.6.json"
MIX = ROOT / "models" / "policies" / "mix-70"


# --- 1. policy.pt records the training fields of policy.json -------------------------------------

@pytest.fixture(scope="module")
def dqn_folder(tmp_path_factory):
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import save_policy, train

    return save_policy(train(load_instance(LENET), PRESETS["lenet"], episodes=2, masked=True, progress=False),
                       tmp_path_factory.mktemp("dqn"))


def _edited(src, dst, edit):
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "policy.json").read_text())
    edit(cfg)
    (dst / "policy.json").write_text(json.dumps(cfg, indent=1))
    return dst


def test_an_edited_masked_is_refused_naming_the_folder_field_and_fix(dqn_folder, tmp_path, capsys):
    """Before: masked false loaded and placed unmasked, with a network trained masked."""
    from optdist.rl.policy import PolicyError, load_policy

    folder = _edited(dqn_folder, tmp_path / "pol", lambda c: c.update(masked=False))
    with pytest.raises(PolicyError) as e:
        load_policy(folder)
    (p,) = e.value.problems
    assert e.value.source == str(folder / "policy.json"), e.value.source
    assert p.path == "masked" and p.message.startswith("false, but policy.pt was trained with true"), p
    assert p.fix.startswith('restore "masked" true as written, or') and "optdist train-rl" in p.fix, p
    capsys.readouterr()
    assert main(["solve", str(LENET), "--method", "rl", "--policy", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'policy.json'}" in err and "masked: false, but policy.pt was trained with true" in err, err
    assert "Traceback" not in err


def test_every_edited_training_field_is_named_nested_ones_by_their_path(dqn_folder, tmp_path):
    """Before: reward, double, the preset and a removed train_freq were all accepted silently."""
    from optdist.rl.policy import PolicyError, load_policy

    def edit(c):
        c.update(reward="latency", double=not c["double"])
        c["preset"]["lr"] = 0.5
        del c["train_freq"]
    with pytest.raises(PolicyError) as e:
        load_policy(_edited(dqn_folder, tmp_path / "pol", edit))
    said = {p.path: p.message for p in e.value.problems}
    assert set(said) == {"reward", "double", "preset.lr", "train_freq"}, said
    assert said["preset.lr"].startswith("0.5, but policy.pt was trained with 0.0001"), said
    assert said["train_freq"].startswith("missing, but policy.pt was trained with 1"), said


def test_an_edited_hidden_names_the_field_not_only_the_tensor_shapes(dqn_folder, tmp_path):
    """Before: 'mlp.2.weight: shape (64, 64), policy.json's network needs (32, 64)'."""
    from optdist.rl.policy import PolicyError, load_policy

    with pytest.raises(PolicyError) as e:
        load_policy(_edited(dqn_folder, tmp_path / "pol", lambda c: c.update(hidden=[64, 32])))
    (p,) = e.value.problems
    assert p.path == "hidden" and p.message.startswith("[64, 32], but policy.pt was trained with [64, 64]"), p


def test_the_record_loads_weights_only_and_leaves_notes_and_old_policies_alone(dqn_folder, tmp_path):
    """policy.pt stays a state_dict torch.load(weights_only=True) reads and a network loads; a field
    added to policy.json (a note) is no training field; committed policies (no record) load as before."""
    from optdist.rl.policy import load_policy
    from optdist.rl.train import TRAINED_WITH

    state = torch.load(dqn_folder / "policy.pt", weights_only=True)
    trained = getattr(state, TRAINED_WITH)
    cfg = json.loads((dqn_folder / "policy.json").read_text())
    assert trained == {k: v for k, v in cfg.items() if k != "train_s"}  # before: no record
    policy = load_policy(_edited(dqn_folder, tmp_path / "note", lambda c: c.update(note="best of 3", train_s=1.0)))
    policy.net.load_state_dict(state)
    old = load_policy(_edited(MIX, tmp_path / "old", lambda c: c.update(reward="latency")))
    assert old.config["reward"] == "latency"  # saved before the record: not checked


def test_an_edited_ppo_policy_is_refused_too(tmp_path):
    """Before: an edited reward or seed of a MaskablePPO folder loaded silently."""
    pytest.importorskip("sb3_contrib")
    from optdist.rl.policy import PolicyError
    from optdist.rl.ppo import load_ppo, save_ppo, train_maskable_ppo

    folder = save_ppo(train_maskable_ppo(load_instance(LENET), 64, 0, n_steps=64)[0], tmp_path / "ppo")
    load_ppo(folder)
    with pytest.raises(PolicyError) as e:
        load_ppo(_edited(folder, tmp_path / "edited", lambda c: c.update(reward="latency")))
    (p,) = e.value.problems
    assert p.path == "reward" and p.message.startswith('"latency", but policy.pt was trained with "stage"'), p
    assert "--algo maskable-ppo" in p.fix, p


# --- 2. a sweep rerun with changed options: what its records are keyed by ------------------------------------------

HERE = "tests.test_misc38"
MICRO = TINY / "micro-1x3-tau0.6.json"


def greedy_after(inst, seconds: float, **options):
    """Stand-in method for the sweep's worker (``HERE:greedy_after``): the greedy heuristic after
    ``seconds`` of sleep, so that a short wall-clock guard kills it."""
    import time

    from optdist.solve import method_function

    time.sleep(seconds)
    return method_function("greedy")(inst, **options)


def _bench_spec(tmp_path, name="s38", **fields):
    doc = {"name": name, "out": str(tmp_path / "out"), "instances": [str(MICRO)], **fields}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def _sweep(capsys, spec, *flags) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["bench", str(spec), "--no-progress", *flags])
    out, err = capsys.readouterr()
    return rc, out, " ".join(err.split())


def test_a_changed_time_limit_of_the_same_spec_is_another_run_and_the_old_record_left_out(tmp_path, capsys,
                                                                                          monkeypatch):
    """Already so before misc38 (shown here): time_limit is in a milp run's key, so the rerun runs it
    again (greedy takes no time_limit: its record is kept), and the tables leave the old record out."""
    monkeypatch.chdir(ROOT)
    spec = _bench_spec(tmp_path, methods=["greedy", "milp"], solvers=["highs"], time_limit=30)
    assert _sweep(capsys, spec)[0] == 0
    spec.write_text(spec.read_text().replace('"time_limit": 30', '"time_limit": 20'))
    rc, out, err = _sweep(capsys, spec)
    assert rc == 0 and "2 runs, 1 already recorded, 1 run now" in out, out + err
    assert "of runs in no spec's grid" in err and "the spec was edited since they ran" in err, err
    assert len(list((tmp_path / "out" / "records").glob("*.json"))) == 3


@pytest.mark.slow
def test_a_raised_wall_limit_redoes_the_runs_its_guard_killed(tmp_path, capsys, monkeypatch):
    """Before: the timeout's own fix, "raise wall_limit", then the same command: "1 already recorded,
    0 run now", the timeout kept (only --retry-errors redid it, with any guard)."""
    monkeypatch.chdir(ROOT)
    method = f"{HERE}:greedy_after"
    spec = _bench_spec(tmp_path, methods=[method], wall_limit=0.5, method_options={method: {"seconds": 1.5}})
    rc, out, err = _sweep(capsys, spec, "--allow-external-methods")
    assert rc == 1 and "1 run now (1 failed)" in out, out + err
    assert _sweep(capsys, spec, "--allow-external-methods")[1].count("1 already recorded") == 1  # unchanged: kept
    spec.write_text(spec.read_text().replace('"wall_limit": 0.5', '"wall_limit": 30'))
    rc, out, err = _sweep(capsys, spec, "--allow-external-methods", "--dry-run")
    assert rc == 0 and "1 of 1 runs to do" in out, out + err
    rc, out, err = _sweep(capsys, spec, "--allow-external-methods")
    assert rc == 0 and "0 already recorded, 1 run now (0 failed)" in out, out + err
    assert "killed by the wall-clock guard of 0.5 s, and the guard is now 30 s" in err and "done again" in err, err


@pytest.mark.slow
def test_a_policy_retrained_into_the_same_folder_redoes_its_runs(tmp_path, capsys, monkeypatch):
    """Before: the runs of the old policy were kept as the new one's ("0 of 1 runs to do"): the key
    holds the folder's path, not what is in it."""
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import save_policy, train

    monkeypatch.chdir(ROOT)
    policy = tmp_path / "policy"
    inst = load_instance(LENET)
    save_policy(train(inst, PRESETS["lenet"], episodes=2, progress=False), policy)
    spec = _bench_spec(tmp_path, methods=["rl"], method_options={"rl": {"policy": str(policy)}})
    spec.write_text(spec.read_text().replace(str(MICRO), str(LENET)))
    assert _sweep(capsys, spec)[0] == 0
    assert "0 of 1 runs to do" in _sweep(capsys, spec, "--dry-run")[1]  # a resume with nothing changed
    save_policy(train(inst, PRESETS["lenet"], episodes=2, seed=1, progress=False), policy)
    rc, out, err = _sweep(capsys, spec, "--dry-run")
    assert rc == 0 and "1 of 1 runs to do" in out, out + err
    rc, out, err = _sweep(capsys, spec)
    assert rc == 0 and "0 already recorded, 1 run now" in out, out + err
    assert f"the files its options.policy names ({policy / 'policy.pt'}, {policy / 'policy.json'}) changed since this " \
           "record was made; the run is done again" in err, err


# --- 3. MaskablePPO placement warms up as the DQN's does -------------------------------------------------------

BINDS = ROOT / "instances" / "coupled" / "cifar-6x5-nexus-rpi3.json"  # a coupled CIFAR set


def test_ppo_placement_warms_up_with_the_same_decisions(tmp_path):
    """Before: no warm-up (place_maskable_ppo took no ``warmup``, extra had no warmup_s): the first
    request was decided one forward per segment (cifar-12x10-rpi3: 820-940 ms, the others 5-57 ms)."""
    pytest.importorskip("sb3_contrib")
    from optdist.rl.ppo import place_maskable_ppo, save_ppo, solve_rl_ppo, train_maskable_ppo
    from tests.test_rl_decide import assert_same_outcome, first

    policy = train_maskable_ppo(load_instance(BINDS), 64, 0, n_steps=64)[0]
    inst = first(BINDS, 3)
    warm, _, _ = place_maskable_ppo(inst, policy)
    cold, _, _ = place_maskable_ppo(inst, policy, warmup=False)  # as before: as one forward per segment decides
    assert_same_outcome(warm, cold)
    assert warm.warmup_s > 0 and cold.warmup_s is None
    res = solve_rl_ppo(inst, policy=save_ppo(policy, tmp_path / "ppo"), time_limit=600)
    assert 0 < res.extra["warmup_s"] < res.wall_time
    assert sum(res.extra["decision_ms_per_request"]) / 1e3 + res.extra["warmup_s"] <= res.wall_time
