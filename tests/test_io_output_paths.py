"""Issue 12 ('nothing lost'): output paths never replace what is not a regular file, never create
the user's folders, and say truthfully why they cannot be written; every JSON document refuses
duplicate keys; option values of the wrong kind are clear errors.

Device files are made with mknod in pytest's temporary folder (never a real /dev path).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
from pathlib import Path

import pytest

import optdist
from optdist.cli import main
from optdist.io import OutputPathError, atomic_write_bytes, atomic_write_json
from optdist.jsonfile import DocumentError, read_json
from tests.conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


def make_special(kind: str, path: Path) -> Path:
    """A ``kind`` (fifo, socket, device, symlink, directory) at ``path``; skips where the system cannot make it."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(str(path))
        except OSError as e:
            pytest.skip(f"cannot bind a unix socket here: {e}")
        finally:
            s.close()
    elif kind == "device":
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private copy of /dev/null
        except (PermissionError, OSError) as e:
            pytest.skip(f"mknod needs root: {e}")
    elif kind == "symlink":
        (path.parent / "target.json").write_text('{"kept": true}\n')
        path.symlink_to(path.parent / "target.json")
    elif kind == "directory":
        path.mkdir()
    return path


def unchanged(kind: str, path: Path) -> bool:
    st = os.lstat(path)
    test = {"fifo": stat.S_ISFIFO, "socket": stat.S_ISSOCK, "device": stat.S_ISCHR, "symlink": stat.S_ISLNK,
            "directory": stat.S_ISDIR}[kind]
    return test(st.st_mode) and (kind != "symlink" or json.loads(path.read_text()) == {"kept": True})


KINDS = ["fifo", "socket", "device", "symlink", "directory"]


@pytest.mark.parametrize("kind", KINDS)
def test_solve_refuses_to_replace_anything_but_a_regular_file(tmp_path, capsys, kind):
    out = make_special(kind, tmp_path / "res.json")
    assert main(["solve", str(MICRO), "--out", str(out), "-q"]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""  # refused before solving
    assert f"--out {out}" in cap.err and "fix:" in cap.err and "Traceback" not in cap.err
    assert unchanged(kind, out)


@pytest.mark.parametrize("kind", KINDS)
def test_the_atomic_writer_itself_never_renames_over_a_special_file(tmp_path, kind):
    out = make_special(kind, tmp_path / "res.json")
    with pytest.raises(OutputPathError, match="fix:"):
        atomic_write_json(out, {"x": 1})
    assert unchanged(kind, out)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_the_atomic_writer_still_replaces_regular_files_and_makes_its_own_folders(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("old")
    atomic_write_bytes(f, b"new")
    assert f.read_text() == "new"
    deep = tmp_path / "records" / "x" / "r.json"  # tool-owned output folders (bench records) are still created
    atomic_write_json(deep, {"ok": True})
    assert json.loads(deep.read_text()) == {"ok": True}


def _commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    lp = tmp_path / "m.lp"
    assert main(["export", str(MICRO), "--out", str(lp)]) == 0
    sol = tmp_path / "m.sol"
    sol.write_text("")
    return {
        "export": ["export", str(MICRO), "--out", str(out.with_suffix(".lp")) if out.suffix else str(out)],
        "import-solution": ["import-solution", str(MICRO), "--model-file", str(lp), "--solution", str(sol), "--out", str(out)],
        "generate": ["generate", "--name", "g", "--requests", "lenet=1", "--devices", "rpi3=2", "--tau", "0.6",
                     "--out", str(out)],
        "schema": ["schema", "--out", str(out)],
        "profile": ["profile", "--module", "no.such.module:f", "--input", "3,32,32", "--out", str(out)],
        "pareto": ["pareto", str(MICRO), "--points", "2", "--out", str(out.with_suffix(""))],
        "diagnose": ["diagnose", str(MICRO), "--no-solve", "--json", str(out)],
    }


@pytest.fixture
def no_hang():
    """Fail instead of hanging when a command opens the pipe for writing (it would wait for a reader)."""
    def stop(signum, frame):
        raise TimeoutError("the command blocked writing into the named pipe")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("command", ["export", "import-solution", "generate", "schema", "profile", "pareto", "diagnose"])
def test_every_output_file_flag_refuses_a_pipe_and_a_missing_folder(tmp_path, capsys, no_hang, command):
    name = {"export": "x.lp", "pareto": "front.csv"}.get(command, "x.json")
    fifo = make_special("fifo", tmp_path / name)
    argv = _commands(tmp_path, fifo)[command]
    if command == "pareto":  # --out is a prefix: its .csv is the pipe
        argv[-1] = str(tmp_path / "front")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "named pipe" in err and "fix:" in err and "Traceback" not in err, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)

    missing = tmp_path / "missing" / name
    argv = _commands(tmp_path, missing)[command]
    if command == "pareto":
        argv[-1] = str(tmp_path / "missing" / "front")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "mkdir -p" in err, err
    assert not (tmp_path / "missing").exists()


def test_solve_does_not_create_the_users_folders(tmp_path, capsys):
    out = tmp_path / "nonexistent2" / "x.json"
    assert main(["solve", str(MICRO), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"the folder {out.parent} does not exist" in err and f"mkdir -p {out.parent}" in err
    assert not out.parent.exists()


def test_a_special_file_system_is_not_called_a_missing_file(capsys):
    if not Path("/proc/version").is_file():
        pytest.skip("needs Linux /proc")
    assert main(["solve", str(MICRO), "--out", "/proc/version", "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot create a file in /proc" in err and "does not allow new files" in err, err
    assert "No such file or directory" not in err


# --- duplicate keys: one reader, every document ---------------------------------------------------

def test_duplicate_tau_in_an_instance_is_refused_with_its_path(tmp_path, capsys):
    text = MICRO.read_text().replace('"tau": 0.6,', '"tau": 0.6,\n "tau": 0.9,')
    f = tmp_path / "dup.json"
    f.write_text(text)
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and 'tau: key "tau" appears twice' in out and "keep one entry per key" in out
    with pytest.raises(DocumentError) as e:
        optdist.load_instance(f)
    assert [p.path for p in e.value.problems] == ["tau"]


@pytest.mark.parametrize("text,path", [
    ('{"a": {"b": [{"c": 1, "c": 2}]}}', 'a.b[0]["c"]'),
    ('[{"x": 1}, {"y": 1, "y": 1}]', '[1]["y"]'),
    ('{"k": 1, "k": 2, "k": 3}', "k"),
])
def test_read_json_names_where_a_key_repeats(tmp_path, text, path):
    f = tmp_path / "d.json"
    f.write_text(text)
    with pytest.raises(DocumentError) as e:
        read_json(f, 1 << 20)
    assert [p.path for p in e.value.problems] == [path] and "twice" in e.value.problems[0].message


def test_duplicate_keys_in_an_assignment_or_result_are_refused(tmp_path, capsys):
    res = tmp_path / "res.json"
    assert main(["solve", str(MICRO), "--out", str(res), "-q"]) == 0
    text = res.read_text()
    res.write_text(text.replace('"format": "optdist-result/1"', '"format": "optdist-result/1", "format": "optdist-result/1"', 1))
    capsys.readouterr()
    assert main(["evaluate", str(MICRO), str(res)]) == 2
    assert 'key "format" appears twice' in capsys.readouterr().err


def test_duplicate_keys_in_a_json_bench_spec_are_refused(tmp_path):
    from optdist.bench.spec import load_spec

    f = tmp_path / "s.json"
    f.write_text('{"name": "a", "name": "b", "instances": ["x.json"], "methods": ["greedy"]}')
    with pytest.raises(DocumentError, match='key "name" appears twice'):
        load_spec(f)


# --- option values ---------------------------------------------------------------------------------

def test_solver_options_must_be_a_mapping():
    with pytest.raises(ValueError, match="solver_options must be a mapping") as e:
        optdist.solve(str(MICRO), solver_options="presolve=off")
    assert "dictionary update sequence" not in str(e.value)


def test_requests_is_range_checked(capsys):
    assert main(["solve", str(MICRO), "--requests", "-1", "-q"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "--requests -1 is out of range" in cap.err


@pytest.mark.parametrize("flags,takers", [(["--formulation", "tight"], "milp or defended"),
                                          (["--gap", "0.1"], "milp or defended"),
                                          (["--solver", "cbc"], "milp or plan-guided or plan-rollout or defended"),
                                          (["--warm-start", "greedy"], "milp")])
def test_milp_only_flags_are_refused_with_another_method(capsys, flags, takers):
    """Every method that takes the flag is named (tidy31: --gap named milp only, defended takes it too)."""
    assert main(["solve", str(MICRO), "--method", "greedy", *flags, "-q"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and f"{flags[0]} is an option of --method {takers}, not of greedy" in cap.err


# --- validate: a document of another kind says so ----------------------------------------------------

@pytest.mark.parametrize("doc,words", [  # a list, which no "format" names a kind of: tests/test_privacy28.py
    ({"cnn": "micro", "name": "t", "rows": []}, 'looks like a privacy table (it has "rows")'),
    ({"cnn": "m", "layers": []}, "looks like a profile"),
    ({"format": "optdist-assignment/1"}, "fix: score it with `optdist evaluate INSTANCE"),  # its format: the fix, no note
])
def test_validate_says_when_a_file_looks_like_another_kind(tmp_path, capsys, doc, words):
    f = tmp_path / "x.json"
    f.write_text(json.dumps(doc))
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and ("note: read as an instance" in out) == ("format" not in doc) and words in out, out


def test_out_never_overwrites_a_file_the_instance_names(tmp_path, capsys):
    """--out once replaced the device catalog (or profile, privacy table) an instance refers to."""
    from optdist.cli import main

    cat = tmp_path / "mydevices.json"
    cat.write_text((ROOT / "examples" / "byon" / "mydevices.json").read_text())
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json").read_text())
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({**doc, "devices_catalog": "mydevices.json"}))
    assert main(["validate", str(inst)]) == 0
    before = cat.read_text()
    for cmd in (["solve", str(inst), "--out", str(cat)], ["export", str(inst), "--out", str(cat)]):
        assert main(cmd) == 2, cmd
        assert "is the input file" in capsys.readouterr().err
    assert cat.read_text() == before
