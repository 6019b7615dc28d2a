"""break35: a fresh user's odd uses of gap_table.py, train_time.py and the figure redraw."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"
LENET = str(TINY / "lenet-1x4-tau0.6.json")


@pytest.fixture
def gap_table(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("gap_table_break35", ROOT / "benchmarks" / "online" / "gap_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "RECORDS", tmp_path / "records")
    return mod


def test_pretrained_row_named_on_a_set_without_a_policy_says_why_it_is_not_run(gap_table, capsys):
    assert gap_table.main(["--instances", LENET, "--methods", gap_table.PRETRAINED, "--time-limit", "20"]) == 0
    out = capsys.readouterr().out
    assert "lenet-1x4-tau0.6: rl (masked, pretrained) not run: no committed policy for this set" in out
    assert "hetero-250x70-*" in out


@pytest.mark.parametrize("policy, said", [
    ("lenet-cifar-70", "does not cover micro-1x3-tau0.6's [\"micro\"] requests"),
    ("no-such-policy", "no-such-policy: no policy here"),
])
def test_pretrained_policy_missing_or_not_fitting_is_refused_before_anything_runs(gap_table, tmp_path, capsys,
                                                                                  policy, said):
    gap_table.PRETRAINED_POLICIES = {"micro-": ROOT / "models" / "policies" / policy}
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", str(TINY / "micro-1x3-tau0.6.json"), "--methods", "greedy",
                        gap_table.PRETRAINED, "--time-limit", "20"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "rl (masked, pretrained) on micro-1x3-tau0.6: " in err and said in err
    assert "PRETRAINED_POLICIES" in err and "Traceback" not in err
    assert not (tmp_path / "records").exists()  # nothing ran, not even the reference


def test_corrupt_pretrained_policy_is_refused_naming_its_file(gap_table, tmp_path, capsys):
    bad = tmp_path / "policy"
    bad.mkdir()
    for f in (ROOT / "models" / "policies" / "lenet-cifar-70").iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "policy.json").write_text('{"format": ')
    gap_table.PRETRAINED_POLICIES = {"lenet-": bad}
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", LENET, "--methods", gap_table.PRETRAINED])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"{bad / 'policy.json'}: 1 problem(s)" in err and "invalid JSON" in err


def test_large_set_says_which_methods_it_skips(gap_table, capsys):
    gap_table.LARGE = 0  # the tiny set counts as large
    gap_table.NOT_ON_LARGE = [m for m in gap_table.METHODS if m != "greedy"]  # keep the run short
    assert gap_table.main(["--instances", LENET, "--time-limit", "20"]) == 0
    out = capsys.readouterr().out
    assert "lenet-1x4-tau0.6: 1 requests (more than 0): not running per-layer, edge-cloud, plan-guided" in out
    assert "(name them in --methods to run them)" in out


def test_csv_keeps_the_pretrained_policy_column(gap_table, tmp_path):
    gap_table.PRETRAINED_POLICIES = {"lenet-1x4-tau0.6": ROOT / "models" / "policies" / "lenet-cifar-70"}
    assert gap_table.main(["--instances", LENET, "--methods", gap_table.PRETRAINED, "--time-limit", "20"]) == 0
    df = pd.read_csv(tmp_path / "gap_table.csv")
    row = df[df["method"] == gap_table.PRETRAINED].iloc[0]
    assert row["policy"] == "models/policies/lenet-cifar-70" and row["trained_on"]


def test_render_refuses_an_invalid_record_or_a_missing_reference_naming_the_file(gap_table, tmp_path, capsys):
    assert gap_table.main(["--instances", LENET, "--methods", "greedy", "--time-limit", "20"]) == 0
    rec = tmp_path / "records" / "lenet-1x4-tau0.6--greedy.json"
    doc = rec.read_text()
    rec.write_text(doc.replace("{", '{"note": "best of 3" ', 1))  # a note added by hand, comma forgotten
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--render"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"{rec}: line " in err and "invalid JSON" in err and "Traceback" not in err
    rec.write_text(doc)
    (tmp_path / "records" / "lenet-1x4-tau0.6--exact-reference.json").unlink()
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--render"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "lenet-1x4-tau0.6--exact-reference.json" in err
    assert "--instances lenet-1x4-tau0.6" in err
    assert json.loads(rec.read_text())["method"] == "greedy"


@pytest.fixture
def train_time(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("train_time_break35", ROOT / "benchmarks" / "online" / "train_time.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "RECORDS", tmp_path / "train_time")
    monkeypatch.setattr(mod, "RUNS", {"lenet": ("instances/tiny/nope.json", [])})
    return mod


def test_train_time_failure_names_the_command_as_a_user_types_it(train_time, capsys):
    assert train_time.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("train_time.py: optdist train-rl instances/tiny/nope.json --preset lenet ") and "-m optdist" not in err


@pytest.mark.parametrize("text, said", [('{"preset": "lenet"', "line 1 column 19: invalid JSON"),
                                        ('{"preset": "lenet"}', 'not a train_time record: no "instance"')])
def test_train_time_render_refuses_an_invalid_record_naming_it(train_time, tmp_path, capsys, text, said):
    (tmp_path / "train_time").mkdir()
    (tmp_path / "train_time" / "lenet.json").write_text(text)
    with pytest.raises(SystemExit) as e:
        train_time.main(["--render"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"lenet.json: {said}" in err and "--presets lenet to remake it" in err


FIGURES = ROOT / "benchmarks" / "figures"
REDRAW = FIGURES / "redraw_from_csv.py"


def _redraw(*args: str):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(REDRAW), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_figure_csv_alone_is_redrawn_beside_itself_and_left_as_it_is(tmp_path):
    from optdist.bench.figures import redraw_from_csv

    csv = tmp_path / "fig16-accuracy-vs-mix.csv"
    csv.write_bytes((FIGURES / csv.name).read_bytes())  # the CSV without its PNG (e.g. the PNG deleted to redraw)
    before = csv.read_bytes()
    files = redraw_from_csv(csv)
    assert [f.name for f in files] == ["fig16-accuracy-vs-mix.png", "fig16-accuracy-vs-mix.csv"]
    assert files[0].read_bytes()[:4] == b"\x89PNG" and csv.read_bytes() == before


def _cell(line: str, col: int, value: str) -> str:
    parts = line.split(",")
    parts[col] = value
    return ",".join(parts)


@pytest.mark.parametrize("edit, said", [
    (lambda lines: lines[:1], "no rows to draw"),
    (lambda lines: [lines[0], _cell(lines[1], 1, "abc"), *lines[2:]], "line 2, column \"tau\": \"abc\" is not a number"),
    (lambda lines: [*lines[:2], _cell(lines[2], 2, ""), *lines[3:]], "line 3, column \"config\": empty"),
    (lambda lines: [*lines[:3], _cell(lines[3], 5, "inf"), *lines[4:]],
     "line 4, column \"accuracy_pct\": \"inf\" is not a finite number"),
])
def test_redraw_refuses_a_csv_it_cannot_draw_naming_line_and_column(tmp_path, edit, said):
    from optdist.bench.figures import redraw_from_csv

    csv = tmp_path / "fig16-accuracy-vs-mix.csv"
    csv.write_text("\n".join(edit((FIGURES / csv.name).read_text().splitlines())) + "\n")
    with pytest.raises(ValueError, match=f"{csv.name}: {said}.*\\(fix:"):
        redraw_from_csv(csv, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_redraw_script_takes_dest_and_refuses_a_file_as_dest(tmp_path):
    csv = tmp_path / "src" / "fig15-accuracy-vs-devices.csv"  # a copy: nothing is drawn into the repository
    csv.parent.mkdir()
    csv.write_bytes((FIGURES / csv.name).read_bytes())
    run = _redraw(str(csv), "--dest", str(tmp_path / "new"))
    assert run.returncode == 0 and (tmp_path / "new" / "fig15-accuracy-vs-devices.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "file").write_text("x")
    run = _redraw(str(csv), "--dest", str(tmp_path / "file"))
    assert run.returncode == 2 and "--dest" in run.stderr and "not a folder" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_figure_csv_with_no_note_in_any_row_redraws_without_a_pandas_warning(tmp_path):
    import warnings

    from optdist.bench.figures import redraw_from_csv

    csv = tmp_path / "fig15-accuracy-vs-devices.csv"
    csv.write_bytes((FIGURES / csv.name).read_bytes())  # its "note" column is empty in every row
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        files = redraw_from_csv(csv)
    assert files[0].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_train_time_stopped_by_sigterm_kills_the_training_and_says_so(tmp_path):
    """SIGTERM (as Ctrl-C) during a preset's training: exit 143, one line, no traceback, no record,
    and the training command killed with it (before: killed by the signal, status -15, nothing said; Ctrl-C: a
    traceback)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    driver = tmp_path / "driver.py"
    driver.write_text(f"""import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("tt", {str(ROOT / 'benchmarks' / 'online' / 'train_time.py')!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
m.HERE = Path({str(tmp_path)!r}); m.RECORDS = m.HERE / "train_time"
m.RUNS = {{"lenet": ("instances/tiny/lenet-1x4-tau0.6.json", ["--episodes", "4931"])}}
sys.exit(m.main([]))
""")
    proc = subprocess.Popen([sys.executable, str(driver)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().startswith("lenet: train-rl")
    time.sleep(1.0)  # the training command under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err
    assert "train_time.py: interrupted by SIGTERM: lenet's training stopped, no record for it" in err
    assert not list((tmp_path / "train_time").glob("*.json"))
    time.sleep(0.5)
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if b"4931" in p.read_bytes() and b"train-rl" in p.read_bytes()]
    assert not left  # the training was killed, not left running


def test_an_instance_name_that_cannot_name_a_record_file_is_refused(gap_table, tmp_path, capsys):
    """A name with '/' wrote its records outside records/ ("../../x": beside the folder that holds
    records/), then the render found none and stopped with a KeyError."""
    doc = json.loads((TINY / "lenet-1x4-tau0.6.json").read_text())
    doc["name"] = "../../escaped"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", str(bad), "--methods", "greedy", "--time-limit", "20"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'name: name "../../escaped" is no file name' in err, err  # break38: refused when loaded
    assert not list(tmp_path.parent.glob("escaped--*.json")) and not (tmp_path / "records").exists()
