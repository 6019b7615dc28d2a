"""out29: the result file's JSON, the plan methods' limit warning, the "no solution" limit, main's logging.

1. ``optdist solve FILE --out r.json`` wrote a non-finite value (an infinite bound; the
   decomposition log's ``"stage_bound": Infinity`` on instances/tiny/lenet-1x4-tau0.6.json) as the
   bare token ``Infinity``, which is not JSON (jq, JavaScript and strict parsers refuse the file).
   Now null, named in the top-level ``non_finite`` field, read back to the same float
   (``optdist.result.load_result``, ``optdist.io.restore_non_finite``); any other writer's
   non-finite value is refused, naming the file and the field; files with ``Infinity`` still load.
2. The plan methods' limit warning echoed ``--plan-time-limit 1e300`` as ``1e+300``: as typed.
3. An explicit ``repair_time_limit`` of 5 (the default's value) above the time limit was never
   warned: only the default (not given) is silent.
4. The "no solution" warning named the run's limit (the CLI's --time-limit less start-up and an
   exit reserve), not the one the solver ran under after the warm start's share and the build.
6. An in-process ``main(["-q", ...])`` left the ``optdist`` logger at ERROR (and not propagating)
   for the rest of the process: a library solve after it warned of nothing.
(5., a dead branch after a killed solver in ``optdist.solvers.base``, was removed: no behaviour.)
"""

from __future__ import annotations

import json
import logging
import math
import re

import pytest

import optdist
from optdist.cli import main
from optdist.io import atomic_write_json
from optdist.result import SolveResult, Termination

from .conftest import ROOT
from .test_bench_tables import record

TINY = str(ROOT / "instances/tiny/lenet-1x4-tau0.6.json")
MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")
log = logging.getLogger("optdist")


def _strict(path) -> dict:
    """``path``'s JSON read as strict parsers do: ``Infinity``, ``-Infinity``, ``NaN`` refused."""
    def refuse(token):
        raise AssertionError(f"{path}: {token} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def load_result(path) -> dict:
    from optdist.result import load_result  # new in out29: imported here, so each test fails alone before it

    return load_result(path)


def _same(a, b) -> bool:
    """Equal, NaN included (as json writes both)."""
    return json.dumps(a, sort_keys=True, allow_nan=True) == json.dumps(b, sort_keys=True, allow_nan=True)


# 1. strict JSON, read back exactly

def test_the_cli_result_file_is_strict_json_and_reads_back(tmp_path):
    """Before: ``"stage_bound": Infinity`` in the decomposition's log of this instance."""
    out = tmp_path / "r.json"
    assert main(["solve", TINY, "--out", str(out), "-q"]) == 0
    doc = _strict(out)
    assert doc["non_finite"], "the instance's log has an infinite stage bound"
    for pointer, word in doc["non_finite"].items():
        assert word in ("Infinity", "-Infinity", "NaN") and pointer.startswith("/extra/")
    assert any(p.endswith("/stage_bound") for p in doc["non_finite"]), doc["non_finite"]
    back = load_result(out)
    assert "non_finite" not in back and sum(math.isinf(v) for v in _floats(back)) == len(doc["non_finite"])
    assert main(["evaluate", TINY, str(out)]) == 0  # the loader of result files reads it


def _floats(o):
    if isinstance(o, dict):
        for v in o.values():
            yield from _floats(v)
    elif isinstance(o, list):
        for v in o:
            yield from _floats(v)
    elif isinstance(o, float):
        yield o


@pytest.mark.parametrize("bound", [math.inf, -math.inf, None, 0.5])
def test_a_bound_round_trips_exactly(tmp_path, bound):
    inst = optdist.load_instance(MICRO)
    res = optdist.solve(inst, method="greedy")
    res.bound = bound
    res.extra.update(log=[{"stage_bound": math.inf}, {"lower": -math.inf}], odd=math.nan, **{"a/b~c": math.inf})
    path = res.save(inst, tmp_path / "r.json")
    doc = _strict(path)
    assert doc["bound"] == (None if bound is None or math.isinf(bound) else bound)
    assert ("/bound" in doc["non_finite"]) == (bound is not None and math.isinf(bound))
    assert doc["non_finite"]["/extra/a~1b~0c"] == "Infinity" and doc["non_finite"]["/extra/odd"] == "NaN"
    back = load_result(path)
    assert _same(back, res.to_json(inst))
    assert back["bound"] is None if bound is None else back["bound"] == bound


def test_a_file_with_bare_infinity_still_loads(tmp_path):
    """Files written before (``"bound": Infinity``) are read as Python's json reads them."""
    inst = optdist.load_instance(MICRO)
    res = optdist.solve(inst, method="greedy")
    text = json.dumps({**res.to_json(inst), "bound": math.inf}, allow_nan=True)
    assert '"bound": Infinity' in text
    old = tmp_path / "old.json"
    old.write_text(text)
    assert math.isinf(load_result(old)["bound"])
    assert main(["evaluate", MICRO, str(old)]) == 0


def test_another_writer_refuses_a_non_finite_value_naming_the_field(tmp_path):
    path = tmp_path / "x.json"
    with pytest.raises(ValueError, match=r"x\.json: field /a/1/b is Infinity \(and 1 more\), which JSON cannot hold "
                                         r"\(fix: "):
        atomic_write_json(path, {"a": [1.0, {"b": math.inf}], "c": math.nan})
    assert not path.exists()
    atomic_write_json(path, {"a": [1.0]})
    assert _strict(path) == {"a": [1.0]}


def test_a_pointer_to_no_null_is_refused():
    from optdist.io import restore_non_finite

    with pytest.raises(ValueError, match=r'doc: field "non_finite" names "/a" as "Infinity", but no null value is there'):
        restore_non_finite({"a": 1.0, "non_finite": {"/a": "Infinity"}}, "doc")


@pytest.mark.parametrize("field, says", [
    (["/bound"], 'field "non_finite" is list, not an object of JSON pointers to words'),
    ("/bound", 'field "non_finite" is str, not an object'),
    ({"/bound": "Inf"}, 'names "/bound" as "Inf", which is none of "Infinity", "-Infinity", "NaN"'),
    ({"/xs/-1": "NaN"}, 'names "/xs/-1" as "NaN", but no null value is there'),
])
def test_a_bad_non_finite_field_is_refused_not_ignored(field, says):
    """break29b: a non_finite that is not an object was ignored (the infinite bound read as none); a
    bad word was called a missing null; "-1" restored the last element (RFC 6901 has no sign)."""
    from optdist.io import restore_non_finite

    with pytest.raises(ValueError, match=re.escape(says)):
        restore_non_finite({"bound": None, "xs": [1.0, None], "non_finite": field}, "doc")


def test_a_bench_record_with_an_infinite_value_round_trips(tmp_path):
    """A run's option or summary JSON cannot hold (e.g. HiGHS's objective_bound = inf in a spec)."""
    from optdist.bench.records import read_record, write_record

    rec = record("a", "highs", "optimal", 1.0, math.inf)
    rec["run"]["options"]["solver_options"] = {"objective_bound": math.inf}
    path = write_record(tmp_path, rec)
    assert _strict(path)["summary"]["bound"] is None
    assert _same(read_record(path), rec)


# 2. the limit warning echoes the value as typed

def test_the_limit_warning_echoes_the_value_as_typed(capsys):
    """Before: "--plan-time-limit 1e+300 above --time-limit 2"."""
    assert main(["solve", TINY, "--method", "plan-guided", "--time-limit", "2", "--plan-time-limit", "1e300",
                 "--polish-time-limit", "0"]) == 0
    err = capsys.readouterr().err
    assert "--plan-time-limit 1e300 above --time-limit 2: the run's deadline ends that step first" in err, err
    assert "1e+300" not in err


# 3. an explicit repair limit of 5 is the user's choice

def test_an_explicit_repair_limit_of_five_above_the_time_limit_is_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        res = optdist.solve(TINY, method="plan-guided", time_limit=1.5, plan_time_limit=0.5, repair_time_limit=5)
    said = res.extra["limits_above_time_limit"]
    assert said.startswith("plan-guided: repair_time_limit = 5 s above time_limit = 1.5 s: the run's deadline ends "
                           "each such solve first"), said
    assert said in caplog.text
    assert res.extra["repair_time_limit_s"] == 5


def test_the_cli_warns_of_an_explicit_repair_limit_of_five(capsys):
    assert main(["solve", TINY, "--method", "plan-rollout", "--time-limit", "1.5", "--repair-time-limit", "5"]) == 0
    assert "--repair-time-limit 5 above --time-limit 1.5: the run's deadline ends each such solve first" \
        in capsys.readouterr().err


def test_the_default_repair_limit_stays_silent_and_is_recorded():
    res = optdist.solve(TINY, method="plan-rollout", time_limit=1.5, plan_time_limit=0.5)
    assert "limits_above_time_limit" not in res.extra and res.extra["repair_time_limit_s"] == 5


# 4. the "no solution" warning names the solver's own limit

def _report_args(**given):
    import argparse

    return argparse.Namespace(**{"instance": MICRO, "method": "milp", "formulation": "tight", "solver": "highs",
                                 "out": None, "requests": 0, "time_limit": 3.0, "warm_start": None, **given})


def test_the_no_solution_warning_names_the_limit_the_solver_ran_under(caplog):
    """Before: "the solve's time limit (1.37 s; from the CLI, its --time-limit less start-up and an exit
    reserve)" where HiGHS had 0.231 s of it (mixed-8x6-nexus-rpi3 --formulation tight --time-limit 3
    --warm-start plan-guided, in-process)."""
    from optdist.commands.solve import _report

    inst = optdist.load_instance(MICRO)
    res = SolveResult(inst.name, "milp", Termination.NO_SOLUTION, solver="highs", formulation="tight",
                      options={"time_limit": 1.37}, wall_time=0.9,
                      extra={"warm_start": "plan-guided", "build_s": 0.637, "solve_s": 0.231,
                             "solver_time_limit_s": 0.231, "limit_reached": "time_limit"})
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert _report(inst, res, _report_args()) == 1
    assert ("no solution: the solve's time limit (0.231 s; what the solver had of the run's 1.37 s after the "
            "--warm-start plan-guided and the model's build (0.64 s); the run's is from the CLI, its --time-limit "
            "less start-up and an exit reserve) ran out before a placement was found") in caplog.text, caplog.text


def test_the_run_records_the_solvers_own_limit():
    res = optdist.solve(MICRO, formulation="tight", time_limit=30)
    own = res.extra["solver_time_limit_s"]
    assert 0 < own < 30 and own <= 30 - res.extra["build_s"] + 1e-9


# 6. main puts the logging back

def test_main_quiet_leaves_the_librarys_warnings_on(caplog):
    """Before: the ``optdist`` logger stayed at ERROR and stopped propagating after ``main(["-q", ...])``."""
    before = (log.level, log.propagate, logging.getLogger("pyomo").level)
    assert main(["-q", "validate", MICRO]) == 0
    assert (log.level, log.propagate, logging.getLogger("pyomo").level) == before
    res = optdist.solve(TINY, method="plan-guided", time_limit=1.5, plan_time_limit=0.5, repair_time_limit=3)
    assert res.extra["limits_above_time_limit"] in caplog.text


def test_a_warning_inside_main_reaches_caplog_and_stderr_once(caplog, capsys):
    with caplog.at_level(logging.WARNING, logger="optdist"):
        assert main(["solve", TINY, "--method", "plan-rollout", "--time-limit", "1.5", "--repair-time-limit", "3"]) == 0
    said = [r.getMessage() for r in caplog.records if "--repair-time-limit 3 above" in r.getMessage()]
    assert len(said) == 1, caplog.text
    err = capsys.readouterr().err
    assert err.count("--repair-time-limit 3 above") == 1, err
    assert log.propagate and not any(h.formatter.__class__.__name__ == "_NoteFormatter" for h in log.handlers)
