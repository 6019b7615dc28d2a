"""Messages that named the wrong place or doubled the level word (words25, found by reviewers):

1. a busy sweep folder taken from the spec file's ``out`` key blamed ``--out``;
2. a damaged sweep record printed ``optdist: warning: WARNING ...``;
3. an empty ``.pt`` file said "this starts with b''";
4. ``optdist calibrate --help`` named ``optdist/data/tables/lenet-measured.json`` as shipped: no such file
   in a clone.
"""

from __future__ import annotations

import json
import re

import pytest

from optdist.bench.records import read_records, record_path
from optdist.bench.runner import SweepBusy, run_sweep, sweep_lock
from optdist.bench.spec import parse_spec
from optdist.checkpoint import read_state_dict
from optdist.cli import build_parser, main

from .conftest import ROOT

MICRO = "instances/tiny/micro-1x3-tau0.6.json"


def _spec_file(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "instances": [str(ROOT / MICRO)],
                                "methods": ["greedy"]}))
    return spec


def test_a_busy_folder_names_where_it_came_from(tmp_path, capsys):
    spec, out = _spec_file(tmp_path), tmp_path / "o"
    with sweep_lock(out):
        assert main(["bench", str(spec), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"{spec}: out = {out}: another `optdist bench` (pid " in err, err
        assert err.rstrip().endswith(f"or give another out in {spec}, or --out DIR)") and "Traceback" not in err
        assert main(["bench", str(spec), "--no-progress", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--out {out}: another `optdist bench` (pid " in err and err.rstrip().endswith("or give another --out)")
        with pytest.raises(SweepBusy, match=r'^spec "t": out = .*give another out in spec "t", or --out DIR\)$'):
            run_sweep(parse_spec(json.loads(spec.read_text())), progress=False)  # the API, no file: the spec's name


def test_a_damaged_record_is_one_warning_naming_the_file_what_happens_and_the_fix(tmp_path, capsys, caplog):
    spec, out = _spec_file(tmp_path), tmp_path / "o"
    sweep = parse_spec(json.loads(spec.read_text()))
    rec = record_path(out, sweep.runs()[0].key)
    rec.parent.mkdir(parents=True)
    rec.write_text('{"format": "optdist-bench-record/1", "key": ')  # cut short

    assert main(["bench", str(spec), "--dry-run"]) == 0
    got, err = capsys.readouterr()
    assert got.splitlines() == [rec.stem, "1 of 1 runs to do"]  # stdout: the runs only
    assert err.startswith(f"optdist: warning: {rec}: damaged record (unreadable JSON") and "WARNING" not in err
    assert "sets it aside under" in err and "redoes the run (fix: " in err

    (warning,) = read_records(out)[1]  # what bench-table and bench-figures log (the logger adds the level)
    assert warning.startswith(f"{rec}: damaged record")
    assert "left out of the tables and figures (fix: run `optdist bench SPEC` again" in warning

    caplog.clear()
    assert run_sweep(sweep, progress=False).ran == 1
    (aside,) = (out / "records" / "damaged").glob("*.json")
    (said,) = [r.getMessage() for r in caplog.records if str(rec) in r.getMessage()]
    assert said.startswith(f"{rec}: damaged record") and "WARNING" not in said
    assert f"set aside as {aside}" in said and "the sweep redoes the run (fix: " in said
    assert json.loads(rec.read_text())["status"] == "ok"


def test_an_empty_checkpoint_says_it_is_empty(tmp_path):
    empty = tmp_path / "w.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError) as e:
        read_state_dict(empty, f"--weights {empty}")
    msg = str(e.value)
    assert msg.startswith(f"--weights {empty}: empty (0 bytes)") and "b''" not in msg
    # the fix is to write it again, not "save the state_dict only" (review25: that fits a pickled model)
    assert "; save it again: torch.save(net.state_dict(), PATH) (the save that made it never wrote" in msg, msg
    assert "only" not in msg, msg


def test_an_empty_policy_pt_says_retrain_not_save_less(tmp_path):
    """A policy folder whose policy.pt is empty (its policy.json intact): the fix is to retrain,
    not "save only the network's weights" (review25)."""
    from optdist.rl.policy import PolicyError, load_policy

    src = ROOT / "models" / "policies" / "mix-70"
    (tmp_path / "policy.json").write_text((src / "policy.json").read_text())
    (tmp_path / "policy.pt").write_bytes(b"")
    with pytest.raises(PolicyError) as e:
        load_policy(tmp_path)
    msg = str(e.value)
    assert "empty (0 bytes)" in msg and "retrain it with `optdist train-rl" in msg, msg
    assert "save only" not in msg, msg


def test_an_empty_target_names_the_file_and_the_command_that_writes_it(tmp_path):
    from optdist.attacks import targets

    d = tmp_path / "w"
    d.mkdir()
    (d / "lenet.json").write_text((ROOT / "models/weights/lenet.json").read_text())
    (d / "lenet.pt").write_bytes(b"")
    with pytest.raises(ValueError) as e:
        targets.load("lenet", d)
    msg = str(e.value)
    assert msg.startswith(f"{d / 'lenet.pt'}: empty (0 bytes)") and "b''" not in msg
    assert msg.endswith(f"run `optdist train-target lenet --weights-dir {d}`")  # the folder read (words26)


def test_calibrate_help_names_only_files_a_clone_has():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    force = next(a for a in sub.choices["calibrate"]._actions if "--force" in a.option_strings)
    named = re.findall(r"[\w./-]+\.json", force.help)
    assert named and all((ROOT / p).is_file() for p in named), named
