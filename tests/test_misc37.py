"""misc37: robustness items from optdist's closing notes.

1. Placement and result files record the content digest of the instance they were made for
   (``instance_digest``): read with another version of that instance (same name, same ids, other
   content, e.g. other capacities) they are still scored, with a warning naming the field, both
   digests and the fix. Before, such a file was scored as if it belonged, without a word.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import optdist
from optdist.assignment import AssignmentError
from optdist.cli import main
from optdist.result import SolveResult
from tests.conftest import ROOT, result_and_assignment

MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


@contextmanager
def warnings_logged() -> Iterator[list[str]]:
    """The optdist warnings logged inside the block (a handler of its own: caplog sees a record
    twice once a CLI test ran, and an in-process ``-q`` leaves the logger at ERROR)."""
    said: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("optdist")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield said
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def edited(tmp_path) -> Path:
    """micro-2x3-tight with less compute on rpi3-1, under the same name: another version of it."""
    doc = json.loads(MICRO.read_text())
    doc["devices"][0]["compute_capacity"] = 800
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    """A result file of micro-2x3-tight (``optdist solve --out``) and its assignment alone."""
    return result_and_assignment(tmp_path, MICRO)


def _digests(edited: Path) -> tuple[str, str]:
    return optdist.load_instance(MICRO).content_digest(), optdist.load_instance(edited).content_digest()


def test_files_record_the_content_digest_of_their_instance(files):
    inst = optdist.load_instance(MICRO)
    res, asg = files
    assert json.loads(res.read_text())["instance_digest"] == inst.content_digest()
    assert json.loads(asg.read_text())["instance_digest"] == inst.content_digest()
    renamed = inst.with_spec(name="other", description="a copy")  # the name is not content
    assert renamed.content_digest() == inst.content_digest()
    assert inst.with_spec(tau=0.9).content_digest() != inst.content_digest()


def test_evaluate_warns_once_about_a_file_of_another_version_and_scores_it_on_the_edited_one(files, edited, capsys):
    made, ours = _digests(edited)
    for path in files:
        assert main(["evaluate", str(edited), str(path)]) == 1  # infeasible there
        out, err = capsys.readouterr()
        said = [line for line in err.splitlines() if "instance_digest" in line]
        assert len(said) == 1, err
        assert f"{path}: field \"instance_digest\": made for another version of instance \"micro-2x3-tight\" " \
               f"(content digest {made[:12]}, this one's {ours[:12]}: their content differs)" in said[0]
        assert "so it is scored on micro-2x3-tight" in said[0] and f"set its \"instance_digest\" to \"{ours}\"" in said[0]
        assert "capacity 800" in out  # the evaluator scores the placement on the edited instance, not on meta
    assert main(["evaluate", str(MICRO), str(files[0])]) == 0
    assert "instance_digest" not in capsys.readouterr().err


def test_a_file_written_before_the_digest_reads_without_a_word(files, edited):
    res = files[0]
    for path in files:
        doc = json.loads(path.read_text())
        doc.pop("instance_digest")
        doc.get("assignment", {}).pop("instance_digest", None)
        path.write_text(json.dumps(doc))
    with warnings_logged() as said:
        for path in files:
            assert optdist.evaluate(edited, path).feasible is False
        SolveResult.load(res, optdist.load_instance(MICRO))
    assert said == []


def test_the_python_api_warns_about_a_result_of_another_version(files, edited):
    made, ours = _digests(edited)
    inst, other = optdist.load_instance(MICRO), optdist.load_instance(edited)
    res = optdist.solve(inst, method="greedy")
    assert res.instance_digest == made
    with warnings_logged() as said:
        assert not optdist.evaluate(other, res).feasible
        assert not optdist.evaluate(other, files[1]).feasible
        loaded = SolveResult.load(files[0], other)
    assert len(said) == 3, said
    assert f"optdist.evaluate: the SolveResult was made for another version of instance \"micro-2x3-tight\" " \
           f"(content digest {made[:12]}, this one's {ours[:12]}" in said[0]
    assert f"{files[1]}: field \"instance_digest\"" in said[1]
    assert f"{files[0]}: field \"instance_digest\"" in said[2] and "loaded as a result of micro-2x3-tight" in said[2]
    assert loaded.instance_digest == made
    with warnings_logged() as said:
        optdist.evaluate(inst, res)
        optdist.evaluate(inst, loaded)
    assert said == []


def test_a_warm_start_of_another_version_says_which_was_used(files, edited):
    other = optdist.load_instance(edited)
    with warnings_logged() as said:
        optdist.solve(other, method="milp", formulation="tight", warm_start=files[0], time_limit=20)
    digest = [s for s in said if "instance_digest" in s]
    assert len(digest) == 1 and "so it is used as the warm_start of micro-2x3-tight" in digest[0], said


def test_an_instance_digest_that_is_not_a_string_is_refused(files):
    inst = optdist.load_instance(MICRO)
    res, asg = files
    doc = json.loads(asg.read_text())
    doc["instance_digest"] = 5
    asg.write_text(json.dumps(doc))
    with pytest.raises(AssignmentError, match="instance_digest.*is 5, not a string .the content digest"):
        optdist.evaluate(inst, asg)
    doc = json.loads(res.read_text())
    doc["instance_digest"] = ["x"]
    res.write_text(json.dumps(doc))
    with pytest.raises(AssignmentError, match="instance_digest"):
        optdist.evaluate(inst, res)
    with pytest.raises(AssignmentError, match="instance_digest"):
        SolveResult.load(res, inst)


# 2. A run killed by the sweep's wall-clock guard says in which phase it was (a stalled start-up is no
#    solver timeout), and the guard counts the solve's part from the solve's start. Before, every kill read
#    "killed by the wall-clock guard after N s", a start-up stall too, and the start-up ate the solve's time.

STALL = '''import time

time.sleep(3600)  # a start-up that never ends (as a stalled machine's)


def solve(inst, **options):
    raise AssertionError("unreachable")
'''

LATE = '''import time

from optdist.heuristics.greedy import solve_greedy

time.sleep(3.0)  # a slow start-up


def solve(inst, **options):
    time.sleep(9.5)  # a solve within the guard, counted from its start
    return solve_greedy(inst)
'''


def _sweep(tmp_path: Path, monkeypatch, methods: list[str], wall_limit: float) -> dict[str, dict]:
    from optdist.bench.runner import run_sweep
    from optdist.bench.spec import parse_spec

    monkeypatch.chdir(tmp_path)  # where the stand-in modules are found
    monkeypatch.syspath_prepend(str(ROOT))  # and tests.test_bench_methods
    out = tmp_path / "out"
    spec = parse_spec({"name": "g", "out": str(out), "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")],
                       "methods": methods, "wall_limit": wall_limit})
    run_sweep(spec, workers=2, progress=False, allow_external=True)
    recs = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    return {r["run"]["method"]: r for r in recs}


def test_a_start_up_stall_killed_by_the_guard_is_said_to_be_no_solver_timeout(tmp_path, monkeypatch):
    (tmp_path / "misc37_stall.py").write_text(STALL)
    stall = _sweep(tmp_path, monkeypatch, ["misc37_stall:solve"], 2)["misc37_stall:solve"]
    assert stall["status"] == "timeout" and stall["killed_during"] == "start-up", stall
    assert "solve" not in stall["phases_s"], stall
    assert stall["error"].startswith("killed by the wall-clock guard after 2 s during start-up ("), stall["error"]
    assert "the solve had not started, so this is no solver timeout" in stall["error"]
    from optdist.bench.tables import load_records

    row = load_records(tmp_path / "out").iloc[0]  # a failed run in the tables, not one stopped by its time limit
    assert (row["status"], row["termination"]) == ("timeout", "error")


@pytest.mark.slow
def test_the_guard_counts_the_solve_from_its_start_and_says_a_kill_was_in_the_solve(tmp_path, monkeypatch):
    """A start-up of 3 s (plus the imports) and a solve of 9.5 s are past a 12-s guard from the launch but
    within it from the solve's start; a solve that hangs is killed 12 s after its start, said so."""
    (tmp_path / "misc37_late.py").write_text(LATE)
    by = _sweep(tmp_path, monkeypatch, ["misc37_late:solve", "tests.test_bench_methods:solve_hang"], 12)
    late, hang = by["misc37_late:solve"], by["tests.test_bench_methods:solve_hang"]
    assert late["status"] == "ok" and late["elapsed_s"] > 12, late.get("error")
    assert hang["status"] == "timeout" and hang["killed_during"] == "solve", hang.get("error")
    assert set(hang["phases_s"]) == {"reading", "solve"}, hang["phases_s"]
    assert hang["error"].startswith("killed by the wall-clock guard after 12 s during the solve (counted from its "
                                    f"start, {hang['phases_s']['solve']:.3g} s after the launch)"), hang["error"]
    assert hang["elapsed_s"] >= 12 + hang["phases_s"]["solve"] - 0.5
