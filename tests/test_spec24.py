"""spec24: a bench spec's plan-method seconds are range-checked when the spec is read, by the
library's predicate (``polish_time_limit = -1``, ``repair_time_limit = -5``, ``plan_time_limit = 0``,
nan or inf were accepted and every run of the method failed when it started); ``optdist dp-sweep``
refuses a split layer listed twice (it was measured twice and its first rows dropped)."""

from __future__ import annotations

import json
import math
import re

import pytest

import optdist
from optdist.bench.spec import load_spec
from optdist.cli import main
from optdist.defences.dp_measure import SweepConfig, SweepConfigError
from optdist.heuristics.plan_guided import seconds_in_range

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
PLAN_METHODS = ("plan-guided", "plan-rollout")
#: (option, out-of-range value): each refused by the methods when a run starts
BAD_SECONDS = [("polish_time_limit", -1), ("polish_time_limit", math.nan), ("polish_time_limit", math.inf),
               ("repair_time_limit", -5), ("repair_time_limit", 0), ("repair_time_limit", math.inf),
               ("plan_time_limit", 0), ("plan_time_limit", 0.0), ("plan_time_limit", math.nan),
               ("plan_time_limit", math.inf), ("plan_time_limit", -math.inf)]


def _spec_file(tmp_path, method: str, shared: bool, option: str, value: float) -> tuple:
    """A TOML spec running ``method`` on the micro instance with ``option = value`` (TOML writes
    nan and inf bare, as ``str`` does) under ``method_options.<method>``, or with ``shared`` under
    ``options`` and the method among the solver_methods; the file and the field's key path."""
    path = tmp_path / "s.toml"
    lines = ['name = "t"', f"out = {json.dumps(str(tmp_path / 'records'))}", f"instances = [{json.dumps(MICRO)}]",
             f'methods = ["{method}"]']
    lines += [f'solver_methods = ["{method}"]', "[options]"] if shared else [f'[method_options."{method}"]']
    path.write_text("\n".join([*lines, f"{option} = {value}"]) + "\n")
    return path, f"options.{option}" if shared else f"method_options.{method}.{option}"


@pytest.mark.parametrize("method", PLAN_METHODS)
@pytest.mark.parametrize("option, value", BAD_SECONDS)
def test_a_plan_methods_seconds_out_of_range_are_refused_when_the_spec_is_read(tmp_path, method, option, value):
    """Before: the spec loaded, and every run of the method failed with the library's ValueError."""
    path, field = _spec_file(tmp_path, method, False, option, value)
    with pytest.raises(ValueError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {field} = {value!r} is out of range, so every run of {json.dumps(method)} would fail"), msg
    assert "fix: give a finite number of seconds " + (">= 0, 0 for no polish" if option == "polish_time_limit"
                                                       else "> 0") in msg


@pytest.mark.parametrize("option, value", [("plan_time_limit", 0), ("polish_time_limit", -1)])
def test_the_shared_options_table_is_range_checked_too(tmp_path, option, value):
    path, field = _spec_file(tmp_path, "plan-guided", True, option, value)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {field} = {value} is out of range, so every run "
                                         'of "plan-guided" would fail'):
        load_spec(path)


@pytest.mark.parametrize("method", PLAN_METHODS)
@pytest.mark.parametrize("option", ["plan_time_limit", "polish_time_limit", "repair_time_limit"])
def test_the_spec_draws_the_line_where_a_run_of_the_method_does(tmp_path, method, option):
    """The spec's rule is the library's (seconds_in_range), not a stricter or looser copy: a value
    loads (and reaches the runs) exactly when it is in range, and each refused one also stops a
    real run of the method when it starts (polish_time_limit = 0, no polish, stays accepted)."""
    for value in (-1, 0, 1e-3, 2, math.nan, math.inf):
        path, _ = _spec_file(tmp_path, method, False, option, value)
        if seconds_in_range(value, zero=option == "polish_time_limit"):
            (run,) = load_spec(path).runs()
            assert run.options == {option: value}
            continue
        with pytest.raises(ValueError, match="is out of range"):
            load_spec(path)
        with pytest.raises(ValueError, match=rf"^{method}: {option} = .* is out of range"):
            optdist.solve(MICRO, method=method, **{option: value})


def test_the_bench_cli_exits_2_naming_the_file_and_the_field(tmp_path, capsys):
    path, field = _spec_file(tmp_path, "plan-rollout", False, "repair_time_limit", -5)
    assert main(["bench", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {field} = -5 is out of range" in err and "fix:" in err and "Traceback" not in err


@pytest.mark.parametrize("layers, named", [(("pool1", "pool1"), '"pool1" is'),
                                           (("pool1", "ReLU2", "ReLU2", "pool1"), '"pool1", "ReLU2" are')])
def test_a_split_layer_listed_twice_is_refused(layers, named):
    """Before: accepted; the layer was measured twice and the result kept only its last rows."""
    with pytest.raises(SweepConfigError) as err:
        SweepConfig(layers=layers)
    assert err.value.field == "layers" and err.value.value == list(layers)
    assert err.value.reason == f"{named} listed more than once (fix: give each split layer once)"


def test_dp_sweep_cli_refuses_a_layer_listed_twice_before_any_work(tmp_path, capsys):
    """The layers are checked before the privacy table (a missing one here: without the check the
    command fails on it instead, and with a real table it trained and measured pool1 twice)."""
    out = tmp_path / "dp"
    assert main(["dp-sweep", "--layers", "pool1", "pool1", "--privacy-table", str(tmp_path / "none.json"),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert '--layers pool1 pool1: "pool1" is listed more than once (fix: give each split layer once)' in err
    assert not out.exists()
    assert SweepConfig(layers=("pool1", "ReLU2")).layers == ("pool1", "ReLU2")  # distinct layers still accepted


@pytest.mark.parametrize("method, option, value", [("rl", "episodes", -1), ("rl", "episodes", 0),
                                                   ("rl-ppo", "timesteps", 0), ("rl-ppo", "timesteps", -5)])
def test_a_training_length_below_one_is_refused_when_the_spec_is_read(tmp_path, method, option, value):
    """Before: the spec loaded; rl's every run failed in train(), rl-ppo's trained nothing and placed
    with the initial weights. The rule is the library's (optdist.rl.presets.count_in_range)."""
    path, field = _spec_file(tmp_path, method, False, option, value)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: {field} = {value} is out of range, so every run "
                                         rf'of "{method}" would train nothing \(fix: give a whole number >= 1'):
        load_spec(path)


def test_rl_ppo_refuses_timesteps_below_one():
    """Before: solve(method="rl-ppo", timesteps=0) ran learn() for no step and placed every request
    with the network's initial weights, without a word."""
    pytest.importorskip("sb3_contrib", reason="install: pip install sb3-contrib")
    inst = optdist.load_instance(MICRO)
    with pytest.raises(ValueError, match=r"^timesteps = 0: give a whole number >= 1 of env steps"):
        optdist.solve(inst, method="rl-ppo", timesteps=0)
