"""tidy30: two tidy-ups of the command line.

1. A flag that takes a path declares the example its fixes give (:func:`optdist.cli.path_flag`),
   for every command: before, ``cli._value_example`` guessed from argparse's ``type`` (``Path``,
   or ``out_file`` through a ``makes_path`` attribute set on that function) and the flag's help,
   so ``export --out`` read "e.g. --out result.json" for a model file, and the path flags without
   that type, ``bench --out`` and ``pareto --out``, read "e.g. --out OUT" and "--out PREFIX".
2. A refused bench spec creates no folder: every folder (the spec's out, tables_dir, figures_dir)
   is checked before any is made (:func:`optdist.io.check_output_folder`), in the words that
   :func:`optdist.io.make_output_folder` refuses them; before, the spec's out was created, then
   removed again when a later check failed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from optdist import io
from optdist.cli import FlagError, PathFlag, _sub_commands, _value_example, build_parser, main

from tests.conftest import ROOT
from tests.test_out29b import _spec as out29b_spec

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- 1. every path flag's example -------------------------------------------------------------------

@pytest.mark.parametrize("words, flag, example", [
    (["solve", str(MICRO)], "--out", "result.json"),
    (["solve", str(MICRO)], "--policy", "runs/rl/lenet-10x10-tau0.6"),
    (["solve", str(MICRO)], "--forecast", "instances/paper/lenet-10x10-tau0.6.json"),
    (["solve", str(MICRO)], "--plan-start", "result.json"),
    (["export", str(MICRO)], "--out", "model.lp"),
    (["import-solution", str(MICRO)], "--model-file", "model.lp"),
    (["import-solution", str(MICRO)], "--solution", "model.sol"),
    (["import-solution", str(MICRO)], "--out", "assignment.json"),
    (["pareto", str(MICRO)], "--out", "fronts/"),
    (["bench", "spec.toml"], "--out", "runs/sweep"),
    (["bench", "spec.toml"], "--solu", "instances/paper.solu"),
    (["bench-table", "runs/sweep"], "--dest", "runs/sweep/tables"),
    (["bench-table", "runs/sweep"], "--write-solu", "reference.solu"),
    (["bench-figures", "runs/sweep"], "--dest", "runs/sweep/figures"),
    (["dp-tables"], "--out", "benchmarks/defences/analytic"),
    (["dp-sweep"], "--out", "benchmarks/defences/dp_sweep"),
    (["defq-eval"], "--out", "benchmarks/defences/defq_eval"),
    (["calibrate", "lenet"], "--images", "my-images/"),
    (["calibrate", "lenet"], "--table", "runs/attacks/lenet/lenet-calibrated.json"),
    (["train-target", "lenet"], "--weights-dir", "models/weights"),
    (["train-rl", str(MICRO)], "--out", "runs/rl/lenet-10x10-tau0.6"),
    (["diagnose", str(MICRO)], "--json", "diagnosis.json"),
    (["profile"], "--out", "mynet.profile.json"),
    (["generate"], "--out", "mine.json"),
    (["generate"], "--devices-catalog", "examples/byon/mydevices.json"),
])
def test_a_path_flag_without_its_value_gets_a_path_of_its_kind(capsys, words, flag, example):
    """Before: export --out and import-solution --model-file "e.g. ... result.json", bench --out
    "e.g. --out OUT", pareto --out "e.g. --out PREFIX", calibrate --images "e.g. --images IMAGES"."""
    assert main([*words, flag]) == 2
    command = words[0]
    assert capsys.readouterr().err == (f"optdist {command}: error: {flag} needs a value (fix: give one after it, "
                                       f"e.g. {flag} {example})\n")


def _options() -> list[tuple[str, argparse.Action]]:
    """(command, action) of every flag of every sub-command."""
    return [(name, a) for name, sub in _sub_commands(build_parser()).items() for a in sub._actions
            if a.option_strings]


#: the flags that take a path but leave it a str (their commands read the text): declared all the same
UNTYPED_PATHS = {("bench", "--out"), ("pareto", "--out"), ("dp-tables", "--out"), ("dp-sweep", "--out"),
                 ("defq-eval", "--out"), ("calibrate", "--weights"), ("calibrate", "--profile"),
                 ("calibrate", "--images"), ("calibrate", "--out"), ("calibrate", "--table"),
                 ("calibrate", "--weights-dir"), ("train-target", "--weights-dir")}
#: the flags that read a file: their example is one in the repository
READ_FROM_THE_REPOSITORY = {("generate", "--devices-catalog"), ("devices", "--devices-catalog"),
                            ("solve", "--forecast"), ("bench", "--solu"), ("bench-table", "--solu")}


def test_every_path_flag_of_every_command_declares_its_example():
    """Every flag of type ``Path``, and the path flags read as text,
    is a :class:`~optdist.cli.PathFlag` with an example of its own: a path, never a placeholder,
    and a file that exists where the flag reads one of the repository's."""
    declared = set()
    for command, action in _options():
        flag = action.option_strings[-1]
        if getattr(action, "path_type", action.type) is Path or (command, flag) in UNTYPED_PATHS:
            assert isinstance(action, PathFlag), f"optdist {command} {flag}: no path_flag example"
            declared.add((command, flag))
        if isinstance(action, PathFlag):
            example = _value_example(action)
            assert example == action.example and ("/" in example or "." in example), (command, flag, example)
            assert example != (action.metavar or action.dest.upper()), (command, flag)
            if (command, flag) in READ_FROM_THE_REPOSITORY:
                assert (ROOT / example).is_file(), (command, flag, example)
    assert UNTYPED_PATHS | READ_FROM_THE_REPOSITORY <= declared


def test_a_path_flag_stores_its_value_as_argparse_does():
    """path_flag changes the fixes, not the values: the type's (a Path), or the text itself without
    a type; the default where the flag is not given. An empty or blank value is refused while
    parsing (lead30: it is no path; ``Path("")`` would be the current folder)."""
    parser = build_parser()
    assert parser.parse_args(["export", str(MICRO), "--out", "m.lp"]).out == Path("m.lp")
    with pytest.raises(FlagError, match=r"--out is empty \(fix: give a file, e.g. --out model.lp\)"):
        parser.parse_args(["export", str(MICRO), "--out", " "])
    assert parser.parse_args(["bench", "s.toml", "--out", "d"]).out == "d"
    assert parser.parse_args(["bench", "s.toml"]).out is None
    assert parser.parse_args(["dp-tables"]).out == Path("benchmarks/defences/analytic")
    assert parser.parse_args(["dp-tables", "--out", "x"]).out == "x"
    assert parser.parse_args(["solve", str(MICRO), "--policy", "p"]).policy == Path("p")


# --- 2. a refused bench creates no folder ---------------------------------------------------------

def _spec(tmp_path: Path, instance: Path = MICRO, **fields: str) -> Path:
    return out29b_spec(tmp_path, instance, name="t30", **fields)


@pytest.fixture
def made(monkeypatch) -> list[str]:
    """The folders this test's process creates (``os.mkdir``, which ``Path.mkdir`` calls), each
    still created: a record, nothing changed."""
    folders: list[str] = []
    real = os.mkdir

    def mkdir(path, *args, **kwargs):
        folders.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    return folders


@pytest.mark.parametrize("problem, said", [
    ("tables_dir-a-file", "tables_dir = {tmp}/t.txt: exists and is not a folder"),
    ("tables_dir-not-creatable", "tables_dir = /proc/t30-tables: cannot create the folder"),
    ("figures_dir-not-creatable", "figures_dir = /proc/t30-figures: cannot create the folder"),
    ("not-an-instance", "is not a valid instance file"),
    ("out-under-a-file", "out = {tmp}/t.txt/runs: exists and is not a folder, or a folder above it is a file"),
])
def test_a_refused_bench_creates_no_folder_at_all(tmp_path, capsys, made, problem, said):
    """Before: the spec's out (runs/t30, and runs/) was created, then removed again."""
    (tmp_path / "t.txt").write_text("")
    if problem == "tables_dir-a-file":
        spec = _spec(tmp_path, tables_dir=f'"{tmp_path / "t.txt"}"')
    elif problem == "tables_dir-not-creatable":
        spec = _spec(tmp_path, tables_dir='"/proc/t30-tables"')
    elif problem == "figures_dir-not-creatable":
        spec = _spec(tmp_path, figures_dir='"/proc/t30-figures"', figures='["scaling"]')
    elif problem == "out-under-a-file":
        spec = _spec(tmp_path)
        spec.write_text(spec.read_text().replace(str(tmp_path / "runs" / "t30"), str(tmp_path / "t.txt" / "runs")))
    else:
        spec = _spec(tmp_path, instance=ROOT / "instances" / "schema.json", tables_dir=f'"{tmp_path / "tabs"}"')
    assert main(["bench", str(spec), "--no-progress"]) == 2
    assert said.format(tmp=tmp_path) in _flat(capsys.readouterr().err)
    assert made == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml", "t.txt"]


def test_bench_out_is_checked_before_the_spec_s_instances(tmp_path, capsys, made):
    """--out a file: refused in the words the sweep's lock gave it, before any other check."""
    (tmp_path / "t.txt").write_text("")
    spec = _spec(tmp_path, instance=ROOT / "instances" / "schema.json")
    assert main(["bench", str(spec), "--no-progress", "--out", str(tmp_path / "t.txt")]) == 2
    assert f"--out {tmp_path / 't.txt'}: exists and is not a folder" in _flat(capsys.readouterr().err)
    assert made == []


def test_a_bench_that_runs_still_makes_its_folders(tmp_path, capsys):
    spec = _spec(tmp_path, tables_dir=f'"{tmp_path / "deep" / "tables"}"')
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert (tmp_path / "runs" / "t30" / "records").is_dir()
    assert list((tmp_path / "deep" / "tables").glob("*.md"))


@pytest.mark.parametrize("where", ["a-file", "under-a-file", "proc", "proc-deep"])
def test_check_output_folder_refuses_what_make_output_folder_refuses_and_creates_nothing(tmp_path, where):
    (tmp_path / "f").write_text("")
    path = {"a-file": tmp_path / "f", "under-a-file": tmp_path / "f" / "x" / "y", "proc": Path("/proc/t30"),
            "proc-deep": Path("/proc/t30/a/b")}[where]
    with pytest.raises(ValueError) as checked:
        io.check_output_folder(path, "--dest")
    assert not os.path.lexists(path) or where == "a-file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    with pytest.raises(ValueError) as made_:
        io.make_output_folder(path, "--dest")
    assert (type(checked.value), str(checked.value)) == (type(made_.value), str(made_.value))


def test_check_output_folder_passes_what_make_output_folder_makes(tmp_path):
    for path in (tmp_path, tmp_path / "new" / "deeper"):
        assert io.check_output_folder(path) == path
    assert not (tmp_path / "new").exists()
    assert io.make_output_folder(tmp_path / "new" / "deeper").is_dir()
