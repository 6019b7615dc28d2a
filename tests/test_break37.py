"""break37: a fresh user's checks of the day's changes (misc37's instance_digest, the bench guard).

1. An ``instance_digest`` string that is no content digest (empty, cut to the 12 hex digits a
   warning shows, padded, not hex) was read as the digest of "another version" of the instance:
   every reading warned "their content differs", the 12-digit one naming the same 12 digits twice
   ("content digest ea4cb341e3b5, this one's ea4cb341e3b5: their content differs"). Such a string is
   now refused naming the file, the field and the fix; the same digest in upper-case hex is the
   same digest (no warning).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import optdist
from optdist.assignment import AssignmentError
from optdist.cli import main
from optdist.result import SolveResult
from tests.conftest import ROOT, result_and_assignment

MICRO = ROOT / "instances" / "tiny" / "micro-2x2-tau0.6.json"


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    """A result file of micro-2x2-tau0.6 (``optdist solve --out``) and its assignment alone."""
    return result_and_assignment(tmp_path, MICRO)


def _set_digest(path: Path, digest: str) -> None:
    """``path``'s ``instance_digest`` (a result file's own and its assignment's) set to ``digest``."""
    doc = json.loads(path.read_text())
    doc["instance_digest"] = digest
    if "assignment" in doc:
        doc["assignment"]["instance_digest"] = digest
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("bad", ["", "prefix", "padded", "hello"])
def test_an_instance_digest_that_is_no_digest_is_refused_naming_the_file_the_field_and_the_fix(files, bad, capsys):
    full = optdist.load_instance(MICRO).content_digest()
    value = {"": "", "prefix": full[:12], "padded": f" {full}", "hello": "hello"}[bad]
    for path in files:
        _set_digest(path, value)
        assert main(["evaluate", str(MICRO), str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}: 1 problem(s)" in err and "Traceback" not in err, err
        assert f"instance_digest: is {json.dumps(value)[:48]}" in err, err
        assert "not a content digest (64 hex digits" in err and f"(fix: set \"instance_digest\": \"{full}\", or " \
               "leave it out)" in err, err
        assert "their content differs" not in err, err
    with pytest.raises(AssignmentError, match="instance_digest: is .*not a content digest"):
        SolveResult.load(files[0], optdist.load_instance(MICRO))


def test_the_digest_in_upper_case_hex_is_the_same_digest(files, capsys):
    inst = optdist.load_instance(MICRO)
    for path in files:
        _set_digest(path, inst.content_digest().upper())
        assert main(["evaluate", str(MICRO), str(path)]) == 0
        assert "instance_digest" not in capsys.readouterr().err
    said: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("optdist")
    logger.addHandler(handler)
    try:
        loaded = SolveResult.load(files[0], inst)
        optdist.evaluate(inst, loaded)
    finally:
        logger.removeHandler(handler)
    assert loaded.instance_digest == inst.content_digest() and said == [], said


# 2. The content digest hashed the spec as written: the files it names by their path, so the same
#    catalog named "cat.json", "./cat.json" or by its absolute path gave three digests (and a warning
#    "their content differs" on every file made with another spelling), an edited device catalog (other
#    capacities: the case the warning names) gave the same digest (no warning), and a catalog default
#    written out (a node's "memory" as its type has it) another one. It now hashes what the spec resolves
#    to (the export fingerprint's content), a privacy-table file by its bytes.

CATALOG = {"format": "optdist-device-catalog/1", "devices": {"rpi3": {"mults_per_s": 100e6}}}


def _copy(folder: Path, file: str, **changes) -> Path:
    doc = json.loads(MICRO.read_text())
    doc.update(changes)
    path = folder / file
    path.write_text(json.dumps(doc))
    return path


def test_the_same_catalog_named_by_another_path_gives_the_same_digest_and_no_warning(tmp_path, capsys):
    (tmp_path / "cat.json").write_text(json.dumps(CATALOG))
    paths = [_copy(tmp_path, f"i{k}.json", devices_catalog=ref)
             for k, ref in enumerate(["cat.json", "./cat.json", str(tmp_path / "cat.json")])]
    digests = {optdist.load_instance(p).content_digest() for p in paths}
    assert len(digests) == 1, digests
    res = tmp_path / "res.json"
    assert main(["solve", str(paths[0]), "--method", "greedy", "--out", str(res), "-q"]) == 0
    capsys.readouterr()
    for path in paths[1:]:
        assert main(["evaluate", str(path), str(res)]) == 0
        assert "instance_digest" not in capsys.readouterr().err


def test_an_edited_catalog_changes_the_digest_and_the_old_result_is_warned_about(tmp_path, capsys):
    cat = tmp_path / "cat.json"
    cat.write_text(json.dumps(CATALOG))
    inst = _copy(tmp_path, "i.json", devices_catalog="cat.json")
    res = tmp_path / "res.json"
    assert main(["solve", str(inst), "--method", "greedy", "--out", str(res), "-q"]) == 0
    before = optdist.load_instance(inst).content_digest()
    cat.write_text(json.dumps({**CATALOG, "devices": {"rpi3": {"mults_per_s": 900e6}}}))  # other capacities
    after = optdist.load_instance(inst).content_digest()
    assert after != before
    capsys.readouterr()
    assert main(["evaluate", str(inst), str(res)]) == 0
    err = capsys.readouterr().err
    assert f"field \"instance_digest\": made for another version of instance \"micro-2x2-tau0.6\" (content digest " \
           f"{before[:12]}, this one's {after[:12]}: their content differs)" in err, err


def test_a_catalog_default_written_out_is_the_same_content():
    doc = json.loads(MICRO.read_text())
    explicit = optdist.load_instance(MICRO).with_spec(devices=[
        {**d, "memory": 1073741824, "compute_capacity": 560e6} if d["type"] == "rpi3" else d for d in doc["devices"]])
    assert explicit.content_digest() == optdist.load_instance(MICRO).content_digest()
    assert explicit.with_spec(period_s=2.0).content_digest() != explicit.content_digest()


# 3. A sweep's run killed by the guard while its worker imported the method's module (a user's
#    ``module:function`` that hangs at import) was said to be "no solver timeout but a stalled or
#    overloaded machine", with a fix about the machine alone; the worker imports the method in the
#    phase it reports as "reading", so the record now says the module may be the cause and how to check.

HANGS_AT_IMPORT = '''import time

time.sleep(3600)  # a module that never finishes importing


def solve(inst, **options):
    raise AssertionError("unreachable")
'''


def guarded_record(tmp_path, monkeypatch, module: str, source: str) -> dict:
    """The one record of a sweep of the user's method ``module:solve`` (its ``source`` written to
    ``tmp_path``, the current folder) on a tiny instance, under a wall-clock guard of 2 s."""
    from optdist.bench.runner import run_sweep
    from optdist.bench.spec import parse_spec

    monkeypatch.chdir(tmp_path)  # where the method's module is found
    (tmp_path / f"{module}.py").write_text(source)
    out = tmp_path / "out"
    spec = parse_spec({"name": module, "out": str(out),
                       "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")],
                       "methods": [f"{module}:solve"], "wall_limit": 2})
    run_sweep(spec, workers=1, progress=False, allow_external=True)
    (rec,) = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    return rec


def test_a_kill_while_the_method_imports_names_the_import_as_a_cause(tmp_path, monkeypatch):
    rec = guarded_record(tmp_path, monkeypatch, "break37_hangs", HANGS_AT_IMPORT)
    assert rec["status"] == "timeout" and rec["killed_during"] == "start-up" and "reading" in rec["phases_s"], rec
    assert "during start-up (reading the instance and importing the method): the solve had not started, so this is " \
           "no solver timeout but a stalled or overloaded machine, or an instance or a method's module that takes " \
           "this long to read or import (fix: check that the method's module imports quickly" in rec["error"], rec["error"]


# 4. The warning's fix for a result file said 'set its "instance_digest" to ...'; a result file holds two
#    (its own and its assignment's), and setting its own left the assignment's warning on the next run. For
#    a file both renamed and edited, the fix set the name alone, leaving the digest's warning. The fix now
#    names every field to set, in a result file both places; following it silences the warning.


def test_following_the_fix_for_a_result_file_of_an_edited_instance_silences_the_warning(files, tmp_path, capsys):
    res = files[0]
    for name in ("micro-2x2-tau0.6", "renamed"):
        edited = _copy(tmp_path, f"{name}.json", name=name, tau=0.8)
        ours = optdist.load_instance(edited).content_digest()
        capsys.readouterr()
        assert main(["evaluate", str(edited), str(res)]) == 0
        err = capsys.readouterr().err
        fields = (f"set its \"instance\" to \"{name}\" and its \"instance_digest\" to \"{ours}\"" if name == "renamed"
                  else f"set its \"instance_digest\" to \"{ours}\"")
        assert f"{fields} (here and in its \"assignment\"))" in err, err
        fixed = json.loads(res.read_text())
        for doc in (fixed, fixed["assignment"]):
            doc.update(instance=name, instance_digest=ours)
        path = tmp_path / f"fixed-{name}.json"
        path.write_text(json.dumps(fixed))
        assert main(["evaluate", str(edited), str(path)]) == 0
        assert "warning" not in capsys.readouterr().err


# 5. A result saved with an edited version of the instance it was solved on (same name, other content:
#    ``res.save(edited, path)``, or a result loaded there with a warning and saved again) was written with
#    the edited version's digest: the file then claimed to be made for it, and reading it there was silent,
#    its objective and bound those of the other version. It now keeps the digest of the instance solved on.


def test_a_result_saved_with_an_edited_version_keeps_the_digest_of_the_instance_it_was_solved_on(files, tmp_path,
                                                                                                   capsys):
    inst, edited_path = optdist.load_instance(MICRO), _copy(tmp_path, "edited.json", tau=0.8)
    edited = optdist.load_instance(edited_path)
    solved = optdist.solve(inst, method="greedy")
    saved = solved.save(edited, tmp_path / "saved.json")
    capsys.readouterr()
    for path in (saved, files[0]):
        logging.getLogger("optdist").disabled = True  # the load's own warning, said before
        try:
            again = SolveResult.load(path, edited).save(edited, tmp_path / "again.json", force=True)
        finally:
            logging.getLogger("optdist").disabled = False
        for written in (path, again):
            doc = json.loads(written.read_text())
            assert doc["instance_digest"] == doc["assignment"]["instance_digest"] == inst.content_digest(), written
            assert main(["evaluate", str(edited_path), str(written)]) == 0
            assert "made for another version of instance" in capsys.readouterr().err, written


# 6. A run killed by the guard during the evaluator's re-score was the one kill whose error had neither the
#    guard's length nor a fix ("killed by the wall-clock guard during the evaluator's re-score, 2.55 s after
#    the launch (the solve ran from 0.544 s to 0.546 s)").

SLOW_TO_SCORE = '''import time

from optdist.heuristics.greedy import solve_greedy


class SlowDict(dict):
    def get(self, *args, **kwargs):  # what the re-score reads of the result: it never ends
        time.sleep(3600)


def solve(inst, **options):
    res = solve_greedy(inst)
    res.extra = SlowDict(res.extra)
    return res
'''


def test_a_kill_during_the_re_score_says_the_guard_and_the_fix(tmp_path, monkeypatch):
    rec = guarded_record(tmp_path, monkeypatch, "break37_score", SLOW_TO_SCORE)
    assert rec["status"] == "timeout" and rec["killed_during"] == "scoring", rec
    assert set(rec["phases_s"]) == {"reading", "solve", "scoring"}, rec["phases_s"]
    assert rec["error"].startswith("killed by the wall-clock guard after 2 s during the evaluator's re-score, "), rec
    assert "and returned; fix: raise wall_limit if the re-score needs longer" in rec["error"], rec["error"]


def test_a_kill_during_the_re_score_is_no_time_limit_in_the_tables():
    """The method returned (in ms): a guard kill during the evaluator's re-score is a failed run in
    the tables, not one stopped by its time limit (lead, after break37's report)."""
    from optdist.bench.tables import flatten

    run = {"instance": "i", "instance_path": "i.json", "method": "m", "solver": None, "formulation": None,
           "seed": 0, "options": {}}
    rows = {during: flatten({"key": "k", "status": "timeout", "run": run, "killed_during": during})["termination"]
            for during in ("start-up", "solve", "scoring", None)}
    assert rows == {"start-up": "error", "solve": "timeout", "scoring": "error", None: "timeout"}, rows

