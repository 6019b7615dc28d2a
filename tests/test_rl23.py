"""Fixes from review23a: train-rl stopped by a signal keeps the policy trained so far (or leaves no
empty --out); calibrate refuses to replace its outputs without --force and refuses repeated --taus;
a bench spec's method options are type-checked when the spec is read."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import read_until

ROOT = Path(__file__).resolve().parents[1]
TINY_INSTANCE = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
STARTED = "Ctrl-C or SIGTERM ends it"  # train-rl's note as its training starts


def _start_train_rl(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "optdist", "train-rl", str(TINY_INSTANCE), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal


def _stop(proc: subprocess.Popen, signum: int, seen: bytes) -> tuple[int, str, str]:
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"train-rl did not end within 120 s of {signal.Signals(signum).name}")
    return proc.returncode, out.decode(), (seen + err).decode(errors="replace")


def test_train_rl_dqn_sigint_saves_policy_so_far(tmp_path):
    """A real SIGINT during DQN training: exit 130, the policy and curves of the episodes done are
    saved (policy.json says interrupted and how many), and the saved policy places the instance.
    Before: "interrupted", exit 130 and an empty --out."""
    out = tmp_path / "pol"
    proc = _start_train_rl("--episodes", "1000000", "--out", str(out))
    # 30 episodes of this instance store more than the 64 transitions the first gradient step needs
    seen = read_until(proc, re.compile(rb"\b(3\d|[4-9]\d|\d{3,})/1000000 \["))
    rc, stdout, stderr = _stop(proc, signal.SIGINT, seen)
    assert rc == 130, stderr[-2000:]
    config = json.loads((out / "policy.json").read_text())
    assert config["interrupted"] == "SIGINT" and config["episodes_planned"] == 1_000_000
    assert 30 <= config["episodes"] < 1_000_000 and config["gradient_steps"] > 0
    assert len((out / "curves.csv").read_text().splitlines()) == config["episodes"] + 1  # header + one row per episode
    assert (out / "policy.pt").is_file() and (out / "curves.png").is_file()
    assert f"--method rl --policy {out}" in stderr and f"after {config['episodes']} of 1000000 episodes" in stderr

    from optdist.instance import load_instance
    from optdist.rl.policy import solve_rl

    assert solve_rl(load_instance(TINY_INSTANCE), policy=out).extra["policy_config"]["episodes"] == config["episodes"]


def test_train_rl_sigint_before_any_gradient_step_leaves_no_folder(tmp_path):
    """Stopped before the first gradient step (--train-freq 1000000 takes none): nothing saved, and
    the --out folder (and the folder above it) that the run created are removed; exit 130."""
    out = tmp_path / "new" / "pol"
    proc = _start_train_rl("--episodes", "1000000", "--train-freq", "1000000", "--out", str(out))
    seen = read_until(proc, re.compile(rb"\b([1-9]\d+)/1000000 \["))
    rc, _, stderr = _stop(proc, signal.SIGINT, seen)
    assert rc == 130, stderr[-2000:]
    assert not (tmp_path / "new").exists()
    assert "before the first gradient step: no policy saved" in stderr


def test_train_rl_sigint_keeps_existing_folder(tmp_path):
    """A folder that was there before the run is never removed, even when nothing is saved."""
    out = tmp_path / "pol"
    out.mkdir()
    proc = _start_train_rl("--episodes", "1000000", "--train-freq", "1000000", "--out", str(out))
    seen = read_until(proc, re.compile(rb"\b([1-9]\d+)/1000000 \["))
    rc, _, stderr = _stop(proc, signal.SIGINT, seen)
    assert rc == 130 and out.is_dir() and not any(out.iterdir()), stderr[-2000:]


@pytest.mark.slow
def test_train_rl_maskable_ppo_sigterm_saves_policy_so_far(tmp_path):
    """SIGTERM during MaskablePPO training: exit 143, the policy so far saved with "interrupted",
    the env steps done and SB3's updates, and it places the instance (--method rl-ppo)."""
    pytest.importorskip("sb3_contrib")
    out = tmp_path / "ppo"
    proc = _start_train_rl("--algo", "maskable-ppo", "--timesteps", "100000000", "--out", str(out))
    seen = read_until(proc, re.compile(re.escape(STARTED.encode())))
    time.sleep(5)  # the first update comes after one 256-step rollout (well under a second here)
    rc, _, stderr = _stop(proc, signal.SIGTERM, seen)
    assert rc == 143, stderr[-2000:]
    config = json.loads((out / "policy.json").read_text())
    assert config["interrupted"] == "SIGTERM" and config["updates"] > 0 and 256 <= config["env_steps"] < 100_000_000
    assert f"--method rl-ppo --policy {out}" in stderr

    from optdist.instance import load_instance
    from optdist.rl.ppo import solve_rl_ppo

    assert solve_rl_ppo(load_instance(TINY_INSTANCE), policy=out).has_solution


# a privacy table of the user's (calib30: --table over any other file is refused even with --force)
MINE = '{"format": "optdist-privacy-table/1", "cnn": "lenet", "name": "mine", "rows": [{"tensor": "conv1", "maps": 8, "cells": {"8": 0.5}}]}'
CALIBRATE = ["calibrate", "lenet", "--layers", "conv1", "--maps", "1", "--subsets", "1", "--epochs", "1", "--samples", "6",
             "--test-samples", "2", "--no-progress"]


@pytest.mark.learn
def test_calibrate_refuses_to_replace_outputs_without_force(tmp_path, capsys):
    """An existing --table file and a file of --out that the run writes are refused before the
    attacks, naming them and --force; both stay as they were. Before: replaced silently."""
    pytest.importorskip("torch")
    from optdist.cli import main

    out, table = tmp_path / "o", tmp_path / "mine.json"
    out.mkdir()
    table.write_text(MINE)
    (out / "lenet-calibrated-nf.md").write_text("my notes")
    assert main([*CALIBRATE, "--out", str(out), "--table", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"{table}, {out / 'lenet-calibrated-nf.md'} already exist; not overwritten (fix: give --force" in err
    assert table.read_text() == MINE and (out / "lenet-calibrated-nf.md").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["lenet-calibrated-nf.md"]  # no attack ran, nothing written


@pytest.mark.slow
@pytest.mark.learn
def test_calibrate_force_replaces_outputs(tmp_path, capsys):
    """With --force the same run replaces the table and the --out files (atomically, as before)."""
    pytest.importorskip("torch")
    from optdist.cli import main
    from optdist.privacy import PrivacyTable

    out, table = tmp_path / "o", tmp_path / "mine.json"
    out.mkdir()
    table.write_text(MINE)
    (out / "lenet-calibrated-nf.md").write_text("my notes")
    assert main([*CALIBRATE, "--out", str(out), "--table", str(table), "--force"]) == 0
    assert PrivacyTable.load(table).cnn == "lenet" and "Split point" in (out / "lenet-calibrated-nf.md").read_text()


def test_calibrate_refuses_repeated_taus(tmp_path, capsys):
    """--taus 0.5,0.6,0.5 is refused naming the flag and the value (before: two equal Nf columns)."""
    from optdist.cli import main

    assert main([*CALIBRATE, "--out", str(tmp_path / "o"), "--taus", "0.5,0.6,0.5"]) == 2
    assert "--taus 0.5,0.6,0.5 gives 0.5 more than once (fix: give each tau once" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_option_types_table_matches_the_functions_signatures():
    """optdist.solve.OPTION_TYPES (read by the spec check without importing torch or the MILP stack)
    is each option's annotation in every registered method's signature that takes it."""
    import inspect

    from optdist.solve import METHOD_OPTIONS, METHODS, OPTION_TYPES, method_function

    assert set(OPTION_TYPES) == set().union(*METHOD_OPTIONS.values())
    for method in METHODS:
        for p in list(inspect.signature(method_function(method)).parameters.values())[1:]:
            annotation = str(p.annotation).replace("PPOPolicy", "Policy")  # rl-ppo's policy object: the same option
            # a method may take None where another does not (formulation: milp's "str | None", defended's "str")
            assert OPTION_TYPES[p.name] in (annotation, f"{annotation} | None"), (method, p.name, p.annotation)


def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "t"\ninstances = ["{TINY_INSTANCE}"]\nout = "{tmp_path / "out"}"\n{body}')
    return path


@pytest.mark.parametrize("body, said", [
    ('methods = ["rl"]\n[method_options.rl]\npolicy = 5\n',
     'method_options.rl.policy = 5 is not a path (a string), so every run of "rl" would fail (fix: give a path '
     '(a string), e.g. policy = "runs/rl/lenet")'),
    ('methods = ["rl"]\n[method_options.rl]\nepisodes = true\n', "method_options.rl.episodes = true is not a whole number"),
    ('methods = ["rl"]\n[method_options.rl]\nmasked = "yes"\n', 'method_options.rl.masked = "yes" is not true or false'),
    ('methods = ["plan-guided"]\n[method_options.plan-guided]\nrepair_time_limit = "5"\n',
     'method_options.plan-guided.repair_time_limit = "5" is not a number'),
    ('methods = ["milp"]\n[options]\ntee = 1\n', "options.tee = 1 is not true or false"),
    ('methods = ["milp"]\n[method_options.milp]\nsolver_options = "x"\n', 'method_options.milp.solver_options = "x" is not a table'),
], ids=["policy", "episodes", "masked", "repair_time_limit", "options.tee", "solver_options"])
def test_spec_method_option_of_wrong_type_is_refused(tmp_path, body, said):
    """A method option whose value is not of the type the method declares is refused when the
    spec is read, naming the spec file, the field and the fix (before: every run failed)."""
    from optdist.bench.spec import load_spec

    path = _spec(tmp_path, body)
    with pytest.raises(ValueError) as e:
        load_spec(path)
    assert str(e.value).startswith(f"{path}: ") and said in str(e.value)


def test_spec_method_options_of_the_declared_types_are_accepted(tmp_path):
    """Values of the declared types pass: a path, whole numbers for a float, booleans, a table; and
    a module:function's options are its own (not checked)."""
    from optdist.bench.spec import load_spec

    spec = load_spec(_spec(tmp_path, 'methods = ["rl", "plan-guided", "milp"]\n[method_options.rl]\n'
                           'policy = "models/policies/lenet"\nepisodes = 30\nmasked = false\n'
                           '[method_options.plan-guided]\nrepair_time_limit = 5\n'
                           '[method_options.milp]\nsolver_options = { presolve = "off" }\ntee = false\n'))
    assert spec.method_options["rl"]["policy"] == "models/policies/lenet"


def test_shipped_specs_still_read():
    """Every spec in benchmarks/specs passes the type check."""
    from optdist.bench.spec import load_spec

    for path in sorted((ROOT / "benchmarks" / "specs").glob("*.toml")):
        load_spec(path)
