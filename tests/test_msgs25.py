"""msgs25: error and report wording reviewers found wrong.

1. A bench spec's ``seeds = [0, -1]`` said "seeds: seed = -1 is out of range": the spec has no key
   ``seed``; it now names ``seeds`` as written, the seed and the fix.
2. ``optdist.solve(path, time_limit="5")`` said "is out of range"; a generic option of another
   type now "is not a number" ("is not a whole number" for threads and seed), as a bench spec
   and the plan methods' seconds say it (words24, fix24).
3. ``optdist.solve(path, time_limt=5)`` raised a bare TypeError from the method's function
   ("solve_greedy() got an unexpected keyword argument 'time_limt'"); it is now a ValueError
   naming the method, the option, the close match and the options the method takes.
4. ``optdist solve ... --time-limit=x`` gave argparse's bare "invalid float value: 'x'"; every
   numeric flag of ``solve`` (and pareto's --time-limit) now says what it expects, with an example.
5. The warning on a failed solver whose placement is kept appended "; no bound" to words that
   may say so already ("..., nor a bound; no bound"), as the incumbent line did before fix24.
"""

from __future__ import annotations

import argparse
import logging

import pytest

import optdist
from optdist.bench.spec import load_spec, parse_spec
from optdist.cli import main
from tests.conftest import ROOT

TINY = ROOT / "instances" / "tiny"
MICRO = TINY / "micro-1x3-tau0.6.json"
LENET = TINY / "lenet-2x4-tight.json"


# 1. a spec's seeds out of range

def test_a_negative_seed_of_a_spec_file_names_seeds_the_file_and_the_fix(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'name = "s"\ninstances = ["{MICRO}"]\nmethods = ["rl"]\nseeds = [0, -1]\nout = "o"\n')
    with pytest.raises(ValueError) as e:
        load_spec(spec)
    assert str(e.value) == (f"{spec}: seeds = [0, -1]: -1 is out of range (fix: give each seed as an integer in "
                            "[0, 2147483647], e.g. seeds = [0, 1])")


def test_a_seed_beyond_32_bits_is_said_the_same_way():
    doc = {"name": "s", "instances": [str(MICRO)], "methods": ["rl"], "seeds": [2**31], "out": "o"}
    with pytest.raises(ValueError, match=r"^f.toml: seeds = \[2147483648\]: 2147483648 is out of range \(fix: give "):
        parse_spec(doc, "f.toml")


# 2. optdist.solve: a generic option of another type is not a number

@pytest.mark.parametrize("method, option, value, said", [
    ("milp", "time_limit", "5", 'time_limit = "5" is not a number (fix: give a finite number of seconds > 0)'),
    ("greedy", "time_limit", "5", 'time_limit = "5" is not a number (fix: give a finite number of seconds > 0)'),
    ("milp", "time_limit", True, "time_limit = true is not a number (fix: give a finite number of seconds > 0)"),
    ("milp", "mip_gap", "0.1",
     'mip_gap = "0.1" is not a number (fix: give a relative gap in [0, 1] (1: stop at the first incumbent))'),
    ("milp", "threads", "2", 'threads = "2" is not a whole number (fix: give an integer in [1, 256])'),
    ("greedy", "threads", 2.5, "threads = 2.5 is not a whole number (fix: give an integer in [1, 256])"),
    ("milp", "seed", "1", 'seed = "1" is not a whole number (fix: give an integer in [0, 2147483647])'),
    ("milp", "time_limit", -1, "time_limit = -1 is out of range (fix: give a finite number of seconds > 0)"),
    ("milp", "seed", -1, "seed = -1 is out of range (fix: give an integer in [0, 2147483647])"),
])
def test_a_generic_option_of_another_type_is_not_a_number(method, option, value, said):
    """The instance is never loaded: the options are checked first (a path that does not exist)."""
    with pytest.raises(ValueError) as e:
        optdist.solve(TINY / "no-such-file.json", method=method, **{option: value})
    assert str(e.value) == f"method {method}: {said}"


# 3. optdist.solve: an option the method does not take

@pytest.mark.parametrize("method, option, said", [
    ("greedy", "time_limt", 'method greedy takes no option "time_limt" (fix: write "time_limit", the closest option '
                            "it takes; greedy takes seed, threads, time_limit)"),
    ("milp", "mip_gp", 'method milp takes no option "mip_gp" (fix: write "mip_gap", the closest option it takes; milp '
                       "takes formulation, mip_gap, pricing_solver, pricing_solver_options, seed, solver, "
                       "solver_options, tee, threads, time_limit, warm_start)"),
    ("greedy", "mip_gap", 'method greedy takes no option "mip_gap" (fix: leave it out, or use a method that takes it: '
                          "defended, milp; greedy takes seed, threads, time_limit)"),
    ("defended", "colour", 'method defended takes no option "colour" (fix: leave it out; defended takes formulation, '
                           "inner, max_combinations, mip_gap, seed, solver, threads, time_limit)"),
])
def test_an_option_the_method_does_not_take_is_a_clear_value_error(method, option, said):
    with pytest.raises(ValueError) as e:
        optdist.solve(MICRO, method=method, **{option: 5})
    assert str(e.value) == said


def test_the_options_a_method_takes_still_reach_it():
    res = optdist.solve(MICRO, method="greedy", seed=0, time_limit=5, threads=1)
    assert res.evaluation is not None and res.evaluation.feasible


# 4. the CLI's numeric flags: text that is no number

@pytest.mark.parametrize("command, flag, value, said", [
    ("solve", "--time-limit", "x", "x is not a number (fix: give a finite number of seconds > 0, e.g. "
                                   "--time-limit 60)"),
    ("solve", "--gap", "x", "x is not a number (fix: give a relative gap in [0, 1] (1: stop at the first "
                            "incumbent), e.g. --gap 0.01)"),
    ("solve", "--mip-gap", "1e", "1e is not a number (fix: give a relative gap in [0, 1]"),
    ("solve", "--threads", "1.5", "1.5 is not a whole number (fix: give an integer in [1, 256], e.g. --threads 4)"),
    ("solve", "--seed", "x", "x is not a whole number (fix: give an integer in [0, 2147483647], e.g. --seed 0)"),
    ("solve", "--requests", "x", "x is not a whole number (fix: give a whole number >= 0, the requests to show, "
                                 "e.g. --requests 10)"),
    ("solve", "--plan-time-limit", "x", "x is not a number (fix: give a finite number of seconds > 0, e.g. "
                                        "--plan-time-limit 60)"),
    ("solve", "--polish-time-limit", "x", "x is not a number (fix: give a finite number of seconds > 0, or 0 for "
                                          "no polish, e.g. --polish-time-limit 10)"),
    ("solve", "--repair-time-limit", "x", "x is not a number (fix: give a finite number of seconds > 0, e.g. "
                                          "--repair-time-limit 5)"),
    ("pareto", "--time-limit", "x", "x is not a number (fix: give a finite number of seconds > 0, e.g. "
                                    "--time-limit 60)"),
])
def test_a_numeric_flag_given_text_says_what_it_expects(capsys, command, flag, value, said):
    """Exit status 2 before anything runs, one line naming the flag as written (msgs26: argparse's
    error with the whole usage before); before: "invalid float value: 'x'"."""
    assert main([command, str(LENET), f"{flag}={value}"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.startswith(f"optdist {command}: error: {flag} {said}"), cap.err
    assert "invalid" not in cap.err and cap.err.count("\n") == 1, cap.err


def test_a_numeric_flag_out_of_range_is_still_said_out_of_range(capsys):
    assert main(["solve", str(LENET), "--time-limit", "-1"]) == 2
    assert "--time-limit -1 is out of range (fix: give a finite number of seconds > 0, e.g. --time-limit 60)" \
        in capsys.readouterr().err  # the text as written (msgs26; before: -1.0)


# 5. "no bound" said once on the failed solver's warning

class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.parametrize("stopped", [True, False])
def test_a_failed_solvers_warning_says_no_bound_once(stopped, capsys):
    """A real greedy placement (no bound) reported as kept after a solver failed: with the
    ``_Stopper``'s words on the warm start ("..., nor a bound") the warning said "nor a bound; no
    bound"; words that do not say so still get "; no bound" once."""
    from optdist.commands.solve import _print_result, _stopped_start

    inst = optdist.load_instance(MICRO)
    res = optdist.solve(inst, method="greedy")
    assert res.has_solution and res.bound is None
    res.extra["solver_error"] = "solver cbc ended abnormally: it was killed by signal SIGKILL"
    res.extra["incumbent"] = (_stopped_start(None) if stopped else
                              "the warm start: the solver failed before it returned an incumbent")
    log = logging.getLogger("optdist")
    handler, level = _Records(), log.level
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    try:
        _print_result(inst, res, argparse.Namespace(warm_start="greedy", out=None, requests=0, instance=MICRO,
                                                    time_limit=None))
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    capsys.readouterr()
    warned = [line for line in handler.lines if line.startswith("solver cbc ended abnormally")]
    assert len(warned) == 1, handler.lines
    assert warned[0] == f"solver cbc ended abnormally: it was killed by signal SIGKILL; kept {res.extra['incumbent']}" \
                        + ("" if stopped else "; no bound")
    assert warned[0].count("no bound") + warned[0].count("nor a bound") == 1, warned[0]
