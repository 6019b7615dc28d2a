"""review23a: output folders a command owns (train-rl --out, bench --out, bench-table --dest) that
cannot be created or written. Before, a folder that could not be created was a bare
'[Errno 1] Operation not permitted: PATH' naming no flag, and an existing folder in which no file
can be created was found only when the first result was written (train-rl: after the training).

/proc stands for an unwritable folder: the tests run as root here, for whom permissions do not
forbid anything, while /proc refuses new files to root too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from optdist.cli import main
from optdist.io import OutputPathError, make_output_folder
from tests.conftest import ROOT

LENET = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"

needs_proc = pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")


@needs_proc
def test_a_folder_that_cannot_be_created_names_the_flag_and_the_fix():
    with pytest.raises(OutputPathError) as e:
        make_output_folder("/proc/optdist-review23a", "--dest")
    text = str(e.value)
    assert text.startswith("--dest /proc/optdist-review23a: cannot create the folder") and "fix: choose a writable" in text
    assert "Errno" not in text


@needs_proc
def test_an_existing_folder_without_room_for_a_file_is_refused_before_the_work():
    with pytest.raises(OutputPathError, match=r"^--out /proc: cannot create a file in it .*fix: choose a writable"):
        make_output_folder("/proc")


def test_an_ordinary_folder_is_made_and_left_empty(tmp_path):
    out = make_output_folder(tmp_path / "a" / "b")
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is removed


@needs_proc
def test_train_rl_refuses_an_unwritable_out_before_training(capsys):
    assert main(["train-rl", str(LENET), "--episodes", "20", "--out", "/proc", "-q"]) == 2
    captured = capsys.readouterr()
    assert "--out /proc: cannot create a file in it" in captured.err, captured.err
    assert "trained" not in captured.out  # no training thrown away


@pytest.mark.parametrize("where, words", [
    ("missing-folder", "the folder {tmp}/nowhere does not exist (fix: create it first"),
    ("folder", "is a directory (fix: give a file name in it, e.g. {tmp}/reference.solu)"),
    ("damaged", '"garbage" is not a .solu line (fix:'),
])
def test_bench_table_checks_write_solu_before_writing_the_tables(tmp_path, capsys, where, words):
    """--write-solu into a missing folder created it (a file the user names gets no folders made);
    a folder or a damaged .solu was found only after the tables were written."""
    from tests.test_bench_tables import record, write

    records = tmp_path / "sweep"
    write(records, [record("a", "highs", "optimal", 1.0, 1.0)])
    target = {"missing-folder": tmp_path / "nowhere" / "ref.solu", "folder": tmp_path,
              "damaged": tmp_path / "old.solu"}[where]
    if where == "damaged":
        target.write_text("garbage\n")
    assert main(["bench-table", str(records), "--write-solu", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--write-solu {target}" in err or str(target) in err, err
    assert words.format(tmp=tmp_path) in err, err
    assert not (records / "tables").exists()  # refused before any table was written
    assert not (tmp_path / "nowhere").exists()
    if where == "damaged":
        assert target.read_text() == "garbage\n"


@pytest.mark.parametrize("kind", ["missing", "damaged"])
def test_bench_checks_solu_before_the_sweep(tmp_path, capsys, monkeypatch, kind):
    """`optdist bench SPEC --solu FILE` read FILE only for the tables, after every run: a typo cost
    the whole sweep's time before exit 2."""
    import json

    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "methods": ["greedy"],
                                "instances": ["instances/tiny/micro-1x3-tau0.6.json"]}))
    solu = tmp_path / "ref.solu"
    if kind == "damaged":
        solu.write_text("garbage\n")
    assert main(["bench", str(spec), "--solu", str(solu), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(solu) in err and ("--solu" in err if kind == "missing" else "is not a .solu line" in err), err
    assert not (tmp_path / "o").exists()  # no run was made


def test_a_failed_runs_error_is_quoted_beyond_its_heading(tmp_path, capsys):
    """The failure summary quoted the error's first line only: for a damaged instance that was
    'InstanceError: FILE: 1 problem(s) in the instance:', without the problem or its fix."""
    import json

    broken = tmp_path / "broken.json"
    broken.write_text('{"bad": ')
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "o"), "methods": ["greedy"],
                                "instances": [str(broken)]}))
    assert main(["bench", str(spec), "--no-progress"]) == 2  # cmd29: refused before the first run, not in every run
    err = " ".join(capsys.readouterr().err.split())
    assert "1 problem(s) in the instance: - line 1 column 9: invalid JSON" in err, err
    assert not (tmp_path / "o" / "records").exists()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_ctrl_c_of_a_dask_sweep_kills_the_runs_on_the_workers(tmp_path):
    """`optdist bench --scheduler ADDRESS`, then Ctrl-C: the sweep closed its client and exited 130,
    but the runs already running on the Dask workers went on to their guard (2 x time_limit + 60 s,
    an hour without one), and a resumed sweep started them again beside them."""
    import json
    import signal
    import subprocess
    import sys

    from tests.test_bench_runner import MICRO, alive, wait_for

    distributed = pytest.importorskip("distributed")
    markers = tmp_path / "markers"
    markers.mkdir()
    method = "tests.test_bench_runner:solve_hang_marked"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "hang", "out": str(tmp_path / "out"), "instances": MICRO[:1], "methods": [method],
                                "method_options": {method: {"marker_dir": str(markers)}}}))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        cmd = [sys.executable, "-m", "optdist.cli", "bench", str(spec), "--scheduler", cluster.scheduler_address,
               "--no-progress", "--allow-external-methods"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        runs: set[int] = set()
        try:
            assert wait_for(lambda: any(markers.iterdir()), 90), "the run did not start"
            runs = {int(p.name) for p in markers.iterdir()}
            assert all(alive(p) for p in runs)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 130, err
            assert wait_for(lambda: not any(alive(p) for p in runs), 10), "the run on the Dask worker went on"
            assert not list((tmp_path / "out" / "records").glob("*.json"))
        finally:
            proc.kill()
            for p in runs:  # only if the test failed: do not leave them running
                if alive(p):
                    os.kill(p, signal.SIGKILL)


@pytest.mark.parametrize("data, words", [("nope", 'unknown dataset "nope": use one of'),
                                         ("cifar10:/nonexistent-review23a", "/nonexistent-review23a is not a folder (fix:")])
def test_calibrate_names_a_bad_data_spec_not_a_training_of_the_target_on_it(capsys, data, words):
    """`calibrate lenet --data nope` said the target 'was trained on mnist, not nope' and advised
    `optdist train-target lenet --data nope`, itself an error."""
    args = ["calibrate", "lenet", "--layers", "conv1", "--maps", "1", "--subsets", "1", "--epochs", "1",
            "--samples", "64", "--test-samples", "16", "--no-progress", "--data", data]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "train-target" not in err, err


def test_dp_sweep_refuses_to_install_a_quick_smoke_test(capsys):
    """`dp-sweep --quick --install` replaced the shipped optdist/data/dp_measured_lenet.json (read by
    dp-effect and --method defended as 'measured') with the smoke test's meaningless numbers."""
    from optdist.commands.defences import PACKAGE_DATA

    shipped = PACKAGE_DATA / "dp_measured_lenet.json"
    before = shipped.read_bytes()
    assert main(["dp-sweep", "--quick", "--install", "--layers", "pool1", "--eps", "10", "--out", "/proc/x"]) == 2
    err = capsys.readouterr().err
    assert "--install with --quick" in err and "fix:" in err, err
    assert shipped.read_bytes() == before


@pytest.mark.slow
def test_a_quick_dp_sweep_without_out_leaves_the_committed_results(tmp_path, monkeypatch, capsys):
    """`optdist dp-sweep --quick` (a smoke test, 'numbers meaningless') wrote into its default --out,
    benchmarks/defences/dp_sweep/, replacing the committed results.{json,md,csv} and dp_sweep.png.
    Run from a scratch folder: the default is relative to the working folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["dp-sweep", "--quick", "--layers", "pool1", "--eps", "10"]) == 0
    assert not (tmp_path / "benchmarks").exists()
    assert (tmp_path / "runs" / "defences" / "dp_sweep-quick" / "results.md").is_file()


def test_bench_into_another_out_leaves_the_specs_tables_dir(tmp_path, monkeypatch, capsys):
    """`optdist bench benchmarks/specs/solvers-tiny.toml --out /tmp/x --method greedy` (a trial of
    12 of the spec's 108 runs) rewrote the committed benchmarks/figures/tables/solvers-tiny/ from its
    own records: --out moved the records, not the tables."""
    import json

    monkeypatch.chdir(ROOT)
    committed = tmp_path / "committed-tables"
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "out": str(tmp_path / "real"), "tables_dir": str(committed),
                                "methods": ["greedy"], "instances": ["instances/tiny/micro-1x3-tau0.6.json"]}))
    trial = tmp_path / "trial"
    assert main(["bench", str(spec), "--out", str(trial), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert not committed.exists()
    assert (trial / "tables" / "solvers.md").is_file() and f"{trial}/tables/solvers.md" in captured.out
    assert "is not the spec's out" in captured.err
    assert main(["bench-table", str(trial)]) == 0  # regenerating follows the trial's own folder too
    assert not committed.exists()
