"""fix24: error and report wording a reviewer found wrong.

1. ``optdist bench SPEC`` without --out, where the spec's ``out`` is a file or cannot be written,
   blamed ``--out`` ("give another --out"); it now names the spec file and its ``out`` field.
2. ``seeds = ["a"]`` said "seeds: seed = 'a' ..." (there is no field ``seed``); ``seeds = 5`` and
   ``seeds = []`` were accepted silently.
3. ``optdist dp-sweep --cnn cifar`` without --layers failed on lenet's default layers.
4. A plan method's seconds of the wrong type ("x", "5", True) were "out of range".
5. The CLI's incumbent line said "no bound" twice ("..., nor a bound; no bound").

/proc stands for an unwritable folder: the tests run as root here, for whom permissions forbid
nothing, while /proc refuses new files to root too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import optdist
from optdist.bench.spec import parse_spec
from optdist.cli import main
from tests.conftest import ROOT

TINY = ROOT / "instances" / "tiny"
MICRO = TINY / "micro-1x3-tau0.6.json"
BASE = {"name": "s", "instances": [str(MICRO)], "methods": ["greedy"], "out": "o"}


# 1. the spec's out folder

def _spec(tmp_path: Path, out: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "s"\ninstances = ["{MICRO}"]\nmethods = ["greedy"]\nout = "{out}"\n')
    return path


def test_a_spec_out_that_is_a_file_names_the_spec_and_its_field(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    spec = _spec(tmp_path, str(afile))
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (f"{spec}: out = {afile}: exists and is not a folder, or a folder above it is a file (fix: move that "
            f"file away, or give another out in {spec}, or --out DIR)") in err, err
    assert "--out " + str(afile) not in err and "another --out" not in err, err


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")
def test_a_spec_out_that_cannot_be_created_names_the_spec_and_its_field(tmp_path, capsys):
    spec = _spec(tmp_path, "/proc/optdist-fix24")
    assert main(["bench", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: out = /proc/optdist-fix24: cannot create the folder (" in err, err
    assert err.rstrip().endswith(f"(fix: give another out in {spec}, or --out DIR)"), err


def test_a_given_out_is_still_the_flag_blamed(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    spec = _spec(tmp_path, str(tmp_path / "fine"))
    assert main(["bench", str(spec), "--out", str(afile), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"--out {afile}: exists and is not a folder" in err and "another --out" in err, err


# 2. seeds

@pytest.mark.parametrize("seeds, said", [
    (["a"], 'seeds = ["a"]: "a" is not a whole number (fix: give whole numbers, e.g. seeds = [0, 1])'),
    ([0, 1.5], "seeds = [0, 1.5]: 1.5 is not a whole number (fix: give whole numbers, e.g. seeds = [0, 1])"),
    ([True], "seeds = [true]: true is not a whole number (fix: give whole numbers, e.g. seeds = [0, 1])"),
    (5, "seeds = 5 is not a list (fix: give a list, e.g. seeds = [0, 1])"),
    ("a", 'seeds = "a" is not a list (fix: give a list, e.g. seeds = [0, 1])'),
    ([], "seeds = [] is empty (fix: leave seeds out to pass no seed, or give seeds, e.g. seeds = [0, 1])"),
])
def test_bad_seeds_are_refused_naming_the_seeds_field(seeds, said):
    with pytest.raises(ValueError) as e:
        parse_spec({**BASE, "methods": ["rl"], "seeds": seeds}, "f.toml")
    assert str(e.value) == f"f.toml: {said}"


def test_a_spec_without_seeds_reads_back_from_its_saved_json():
    """The sweep saves ``spec.to_json()`` as OUT/spec.json; without seeds it holds none (not
    ``seeds = []``, now refused), so the saved document is still a spec."""
    spec = parse_spec({**BASE, "methods": ["rl"]}, "f.toml")
    assert "seeds" not in spec.to_json()
    assert parse_spec(spec.to_json(), "spec.json") == spec
    seeded = parse_spec({**BASE, "methods": ["rl"], "seeds": [0, 1]}, "f.toml")
    assert parse_spec(seeded.to_json(), "spec.json").seeds == (0, 1)


# 3. dp-sweep's default layers are lenet's

def test_dp_sweep_without_layers_for_another_net_asks_for_them(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["dp-sweep", "--cnn", "cifar", "--quick", "--eps", "10", "--out", str(tmp_path / "dp")]) == 2
    err = capsys.readouterr().err
    assert "--layers is required for --cnn cifar (the default pool1 ReLU2 is lenet's; fix: give split layers " \
           'from "conv11", ' in err, err
    assert "is not a layer of cifar" not in err and not (tmp_path / "dp").exists(), err


# 4. a plan method's seconds of the wrong type

@pytest.mark.parametrize("option, value, said", [
    ("plan_time_limit", "x", 'plan_time_limit = "x" is not a number (fix: give a finite number of seconds > 0)'),
    ("plan_time_limit", "5", 'plan_time_limit = "5" is not a number (fix: give a finite number of seconds > 0)'),
    ("plan_time_limit", True, "plan_time_limit = true is not a number (fix: give a finite number of seconds > 0)"),
    ("repair_time_limit", "5", 'repair_time_limit = "5" is not a number (fix: give a finite number of seconds > 0)'),
    ("polish_time_limit", "5",
     'polish_time_limit = "5" is not a number (fix: give a finite number of seconds >= 0; 0: no polish)'),
    ("plan_time_limit", -1, "plan_time_limit = -1 is out of range (fix: give a finite number of seconds > 0)"),
    ("polish_time_limit", -1,
     "polish_time_limit = -1 is out of range (fix: give a finite number of seconds >= 0; 0: no polish)"),
])
def test_plan_seconds_of_the_wrong_type_are_not_a_number(option, value, said):
    inst = optdist.load_instance(MICRO)
    with pytest.raises(ValueError) as e:
        optdist.solve(inst, method="plan-guided", **{option: value})
    assert str(e.value) == f"plan-guided: {said}"


# 5. the incumbent line

@pytest.mark.parametrize("incumbent, line", [
    (None, "incumbent    the warm start: no step of the solve had found a better placement by the run's deadline, "
           "nor a bound; the kept placement is the --warm-start greedy"),
    ("the warm start: the solver was killed", "incumbent    the warm start: the solver was killed; no bound; "
                                              "the kept placement is the --warm-start greedy"),
])
def test_the_incumbent_line_says_no_bound_once(incumbent, line, capsys):
    """A real greedy placement reported as the warm start kept at the deadline without a bound (the
    CLI's ``_Stopper``'s words), and one whose words do not say there is no bound."""
    from optdist.commands.solve import _print_result, _stopped_start

    inst = optdist.load_instance(MICRO)
    res = optdist.solve(inst, method="greedy")
    assert res.has_solution and res.bound is None
    res.extra["incumbent"] = _stopped_start(None) if incumbent is None else incumbent
    _print_result(inst, res, argparse.Namespace(warm_start="greedy", verbose=0, quiet=False, out=None, requests=10,
                                                instance=MICRO, time_limit=None))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("incumbent")]
    assert lines == [line]
