"""Messages that went to the wrong stream, named no file or fix, or said less than what happens
(words26, found by reviewers):

1. bench's warnings (``bench-table``, ``bench``): ``WARNING ...`` lines on stdout, without the
   file or the fix; ``bench-table --write-solu`` said a damaged record, and a contradiction the
   ``--solu`` file shares with the one written, twice; an unreadable ``OUT/spec.json`` printed
   ``WARNING`` on stderr outside the ``optdist: warning:`` convention;
2. a damaged target in a ``--weights-dir`` said to run ``optdist train-target NAME``, which writes
   to models/weights, not to the folder read;
3. a SIGINT while an rl warm start trains said "the policy trained so far places the requests",
   not that the whole run then stops with no model built;
4. the decomposition's rl warm start: that SIGINT went on to the per-class solves (each stopped at
   once) and blamed "the per-request optima gave no feasible placement".
"""

from __future__ import annotations

import logging
import os
import shutil
import signal

import pytest

from optdist.cli import main

from .conftest import ROOT
from .test_bench_tables import record, write

TINY_INSTANCE = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


# --- 1. bench's warnings: stderr, one level word, the file and the fix, once each ------------------

def test_bench_table_warns_on_stderr_once_each_naming_the_file_and_the_fix(tmp_path, capsys):
    out = tmp_path / "o"
    write(out, [record("a", "highs", "optimal", 1.0, 1.0), record("a", "scip", "optimal", 1.5, 1.5),
                record("a", None, "feasible", 1.2, method="greedy", limit=None)])
    damaged = out / "records" / "a--greedy--None.json"
    damaged.write_text('{"format": "optdist-bench-re')
    (out / "spec.json").write_text("{bad")
    solu = tmp_path / "ref.solu"
    solu.write_text("=opt= a 0.9\n")
    assert main(["bench-table", str(out), "--solu", str(solu), "--write-solu", str(solu)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "WARNING" not in stdout + stderr and "warning" not in stdout, stdout  # stdout: the files written
    lines = stderr.splitlines()
    assert all(line.startswith("optdist: ") for line in lines), stderr
    warned = [line.removeprefix("optdist: warning: ") for line in lines if line.startswith("optdist: warning: ")]
    assert len(warned) == len(set(warned)) == 5, stderr  # each once, though --solu is the --write-solu file
    assert all(" (fix: " in w for w in warned), stderr

    def said(start: str) -> str:
        (line,) = [w for w in warned if w.startswith(start)]
        return line

    said(f"{out / 'spec.json'}: unreadable: ")
    said(f"{damaged}: damaged record")
    assert "`optdist solve a.json --gap 1e-06`" in said("a.json: optimality claims disagree on a: milp/scip/compact "
                                                         "proves a bound of 1.5, above the objective 1 of milp/highs/compact")
    # sweep30: an =opt= below a proven bound is refused for the tables (once, though --write-solu is that file)
    said(f"{solu}: =opt= a 0.9 is below the bound 1.5 that the records prove ({out / 'records'}")
    said(f"{solu}: a: bound 1.5 exceeds a feasible value 1 (from the record(s) {out / 'records'}")
    # the tables a reader opens later keep their warnings, with the level word the file has no other way to show
    for table in ("solvers.md", "gaps.md"):
        text = (out / "tables" / table).read_text()
        assert text.count("\nWARNING a.json: optimality claims disagree on a") == 1, text
        assert text.count(f"\nWARNING {solu}: =opt= a 0.9 is below the bound 1.5 that the records prove (") == 1, text


# --- 2. a damaged target in --weights-dir: the fix trains into that folder ---------------------------

@pytest.mark.learn
def test_a_damaged_target_in_a_weights_dir_names_the_command_with_that_folder(tmp_path):
    pytest.importorskip("torch")
    from optdist.attacks import targets

    d = tmp_path / "my weights"
    d.mkdir()
    for f in ("lenet.pt", "lenet.json"):
        shutil.copy(ROOT / "models" / "weights" / f, d / f)
    (d / "lenet.json").write_text('{"num_classes": 10')
    with pytest.raises(ValueError, match=r"lenet\.json: damaged target metadata") as e:
        targets.load("lenet", d)
    assert str(e.value).endswith(f"delete {d / 'lenet.pt'} and {d / 'lenet.json'} and run "
                                 f"`optdist train-target lenet --weights-dir {d}`"), e.value
    (d / "lenet.json").unlink()
    with pytest.raises(FileNotFoundError) as e:
        targets.load("lenet", d)
    assert str(e.value).endswith(f"run `optdist train-target lenet --weights-dir {d}`"), e.value


# --- 3, 4. a SIGINT while an rl warm start trains: the note says the run stops, both paths say why -----

#: the training's env reset that sends SIGINT (as tests/test_rlws25.py: 8 episodes done)
SIGNAL_AT_RESET = 9


@pytest.fixture
def sigint_in_training(monkeypatch, sigint_handled):
    """A real SIGINT to this process at the rl training's ``SIGNAL_AT_RESET``-th env reset, and the
    ``optdist`` logger's notes (the signal's note among them) collected: yields their texts."""
    from optdist.rl.env import DistPrivacyEnv

    reset = DistPrivacyEnv.reset
    calls = []

    def signalled(self, *args, **kwargs):
        calls.append(None)
        if len(calls) == SIGNAL_AT_RESET:
            os.kill(os.getpid(), signal.SIGINT)
        return reset(self, *args, **kwargs)

    monkeypatch.setattr(DistPrivacyEnv, "reset", signalled)
    notes: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda rec: notes.append(rec.getMessage())
    log = logging.getLogger("optdist")
    log.addHandler(handler)
    try:
        yield notes
    finally:
        log.removeHandler(handler)


@pytest.mark.learn
@pytest.mark.parametrize("formulation", ["tight", "decomposed"])
def test_sigint_while_the_rl_warm_start_trains_says_the_run_stops(sigint_in_training, formulation):
    """Both MILP paths: the signal's note says the run stops with no model built, and the result says
    the warm start's training was stopped (the decomposition said "the per-request optima gave no
    feasible placement" and had run its class solves, each stopped at once)."""
    import optdist
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance
    from optdist.rl.policy import STOPPING_WARM_START

    inst = load_instance(TINY_INSTANCE)
    res = optdist.solve(inst, method="milp", formulation=formulation, warm_start="rl")
    assert f"SIGINT: {STOPPING_WARM_START} (again to abort)" in sigint_in_training, sigint_in_training
    assert "run stops: no model is built" in STOPPING_WARM_START
    assert res.termination == "interrupted" and res.extra["interrupted"] == "SIGINT"
    assert res.extra["stopped"] == "SIGINT while the warm start trained: no model was built, no solver was started"
    assert "classes" not in res.extra and "build_s" not in res.extra  # no class solved, no model built
    cut = res.extra["warm_start_train_interrupted"]
    assert res.extra["incumbent"] == (f"the warm start: stopped while the warm start trained, after {cut['episodes']} "
                                      f"of {cut['episodes_planned']} episodes: the policy trained so far placed it")
    assert res.assignment is not None and evaluate(inst, res.assignment).feasible
