"""break39: what a new user broke in the features just changed (fix39): a failed ``optdist bench``
into a folder it created left the folder with the sweep's spec.json and grid.json but no records/,
and the same command, rerun, was refused as "not a sweep's folder ... spec.json ... was not
written by optdist"."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from optdist.cli import main

from .conftest import ROOT
from .test_fix39 import MICRO, _free_port, ctrl_c_from_scratch


def test_a_bench_refused_by_its_scheduler_leaves_no_folder_and_the_same_command_reruns(tmp_path, capsys, monkeypatch):
    """Before: the second run said --out ...: not a sweep's folder (no records/), and .../spec.json exists
    and was not written by optdist; the folder, spec.json and grid.json were left behind."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    out = tmp_path / "new" / "o"
    address = f"tcp://127.0.0.1:{_free_port()}"
    for _ in range(2):
        assert main(["bench", str(spec), "--out", str(out), "--no-progress", "--scheduler", address]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"--scheduler {address}: no Dask scheduler answered" in err, err
        assert "not written by optdist" not in err
        assert not (tmp_path / "new").exists()
    assert main(["bench", str(spec), "--out", str(out), "--no-progress"]) == 0  # the local pool, same folder
    assert list((out / "records").glob("*.json")) and (out / "spec.json").is_file()


def test_a_failed_bench_into_a_folder_that_existed_keeps_it_and_reruns(tmp_path, capsys, monkeypatch):
    """A folder the user made stays as it was made (its records/ empty): a rerun is not refused."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    out = tmp_path / "o"
    out.mkdir()
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert main(["bench", str(spec), "--out", str(out), "--no-progress", "--scheduler", address]) == 2
    capsys.readouterr()
    assert out.is_dir()
    assert main(["bench", str(spec), "--out", str(out), "--no-progress"]) == 0


def _http_server() -> tuple[str, threading.Thread]:
    """A local server that answers any connection as an HTTP server does (Dask's dashboard, a proxy)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve():
        with srv:
            srv.settimeout(20)
            for _ in range(3):
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return f"tcp://127.0.0.1:{srv.getsockname()[1]}", t


def test_a_scheduler_address_where_an_http_server_answers_is_named_not_an_internal_error(tmp_path, capsys, monkeypatch):
    """Before: 'optdist bench: internal error: MemoryError: Unable to allocate 3.07 EiB ...' (exit 3): Dask read
    the HTTP reply as a frame length."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    address, _ = _http_server()
    assert main(["bench", str(spec), "--out", str(tmp_path / "o"), "--no-progress", "--scheduler", address]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--scheduler {address}: what answered there is not a Dask scheduler" in err, err
    assert "internal error" not in err and "tcp://HOST:8786" in err and "leave --scheduler out" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["localhost", "http://localhost:8786", "tcp://127.0.0.1:abc"])
def test_a_malformed_scheduler_address_says_the_form_it_takes(tmp_path, capsys, monkeypatch, address):
    """Before: '--scheduler localhost: no Dask scheduler answered (ValueError: missing port number ...)',
    with the fix to start a scheduler, not to write the address as tcp://HOST:PORT."""
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "t", "instances": [str(MICRO)], "methods": ["greedy"]}))
    assert main(["bench", str(spec), "--out", str(tmp_path / "o"), "--no-progress", "--scheduler", address]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--scheduler {address}: not an address a Dask scheduler can be reached at" in err, err
    assert "fix: give it as tcp://HOST:PORT" in err


@pytest.mark.parametrize("value", ["missing.json", "lenet=../x/nope.privacy.json", "lenet=TABLE_OF_CIFAR"])
def test_a_privacy_table_file_that_is_missing_or_wrong_is_named_by_the_flag(tmp_path, capsys, monkeypatch, value):
    """Before: 'sub/g.json: 1 problem(s) in the instance: - privacy.lenet: no privacy table "../nope.json"
    ... looked at "sub/../nope.json" ... (fix: ... relative to this instance file ... or null ...)':
    the --out file named as if the user had written it, the path rewritten, the fix in JSON terms."""
    monkeypatch.chdir(tmp_path)
    value = value.replace("TABLE_OF_CIFAR", str(ROOT / "models" / "privacy" / "cifar-paper.json"))
    (tmp_path / "sub").mkdir()
    code = main(["generate", "--name", "t", "--requests", "lenet=2,cifar=1", "--devices", "nexus=3", "--tau", "0.6",
                 "--out", "sub/g.json", "--privacy", value])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f'--privacy "{value}": the table file for ' in err, err
    assert "sub/g.json" not in err and "null" not in err
    assert "accepted: a bundled table name" in err and "(fix: correct the path" in err
    assert not (tmp_path / "sub" / "g.json").exists()


@pytest.mark.parametrize("field, value, fix", [
    ("solver_options", {"ratiogapp": 0.01}, "options.solver_options"),
    ("mip_gap", 0.01, "options.mip_gap"),
    ("solver", "cbc", 'or the axis "solvers"'),
])
def test_a_method_option_at_the_top_of_a_spec_says_where_it_goes(field, value, fix):
    """Before: 'unknown field(s) "solver_options" (fix: did you mean "solver_methods" for
    "solver_options"? ...)', a field that takes method names, not options."""
    from optdist.bench.spec import parse_spec

    doc = {"name": "x", "out": "o", "instances": [str(MICRO)], "methods": ["milp"], field: value}
    with pytest.raises(ValueError) as e:
        parse_spec(doc)
    assert f'spec: unknown field "{field}": it is an option of the methods' in str(e.value)
    assert fix in str(e.value) and "[method_options.milp]" in str(e.value)
    assert "solver_methods\" for" not in str(e.value)


def test_one_ctrl_c_in_from_scratch_says_one_line_not_that_it_keeps_an_incumbent(tmp_path):
    """Before, two lines: 'SIGINT: stopping now, keeping the incumbent, if any (again to abort)' (stop_at_once's
    note), then the script's own line, 'nothing written to --out ...; nothing kept'."""
    code, err, out, tmp = ctrl_c_from_scratch(tmp_path, "instances/coupled/cifar-6x5-nexus-rpi3.json", 1)
    assert code == 130, err
    said = [line for line in err.splitlines() if "SIGINT" in line]
    assert len(said) == 1 and said[0].startswith("from_scratch.py: interrupted by SIGINT in step 1 engine"), err
    assert "keeping the incumbent" not in err and not out.exists() and list(tmp.iterdir()) == []


def test_stop_at_once_says_its_note_unless_told_not_to(sigint_handled, caplog):
    """The default note is unchanged for optdist's own callers (a model build); note=None says none."""
    import os
    import signal

    from optdist.solvers.base import stop_at_once, stop_on_signals

    class Stopped(Exception):
        pass

    for note, expect in ((None, []), ("stopping the build", ["SIGINT: stopping the build (again to abort)"])):
        caplog.clear()
        with stop_on_signals(lambda signum: None):
            with pytest.raises(Stopped):
                with stop_at_once(lambda signum: Stopped(), note=note):
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(10 ** 6):
                        pass
        assert [r.getMessage() for r in caplog.records if "SIGINT" in r.getMessage()] == expect


def test_rl_past_its_time_limit_says_when_the_decisions_began(capsys):
    """Before: 'wall time 0.013 s' and, with --time-limit 0.015, 'deadline 1 of 1 requests decided after
    --time-limit ran out': the limit's clock runs from the call (the policy's load), the wall time not."""
    code = main(["solve", str(ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"), "--method", "rl", "--policy",
                 str(ROOT / "models" / "policies" / "lenet-cifar-70"), "--time-limit", "1e-6"])
    out = capsys.readouterr().out
    assert code == 0 and "rejected 0 feasible True" in " ".join(out.split())  # the placement is feasible
    line = next(x for x in out.splitlines() if x.startswith("deadline"))
    assert "1 of 1 requests decided after --time-limit ran out" in line
    assert "the limit counts from the start, and the first decision began " in line and "loading the policy" in line
    assert "decisions    " in out
