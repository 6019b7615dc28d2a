"""benchmarks/online/gap_table.py: subsets, resumable records, the rendered table and figure."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


@pytest.fixture
def gap_table(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("gap_table_under_test", ROOT / "benchmarks" / "online" / "gap_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "RECORDS", tmp_path / "records")
    return mod


def test_subset_resume_and_render(gap_table, tmp_path):
    inst = str(TINY / "lenet-1x4-tau0.6.json")
    assert gap_table.main(["--instances", inst, "--methods", "greedy", "per-layer", "plan-guided",
                           "--plan-time-limit", "20", "--time-limit", "20"]) == 0
    recs = sorted(p.name for p in (tmp_path / "records").glob("*.json"))
    assert recs == ["lenet-1x4-tau0.6--exact-reference.json", "lenet-1x4-tau0.6--greedy.json",
                    "lenet-1x4-tau0.6--per-layer.json", "lenet-1x4-tau0.6--plan-guided.json"]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "records").glob("*.json")}
    assert gap_table.main(["--instances", inst, "--methods", "greedy"]) == 0  # present: skipped
    assert {p: p.stat().st_mtime_ns for p in before} == before
    md = (tmp_path / "gap_table.md").read_text()
    assert "not run" in md  # the RL columns of this subset
    df = gap_table.table()
    plan = df[df["method"] == "plan-guided"].iloc[0]
    assert plan["feasible"] and plan["rejected"] == 0 and plan["decision_ms_per_request"] > 0
    assert plan["gap_%"] == pytest.approx(0.0, abs=1e-6)  # the tiny set's optimum, solved here
    per_layer = df[df["method"] == "per-layer"].iloc[0]
    assert per_layer["privacy_viol"] > 0 and gap_table.cell(per_layer).endswith("privacy viol.")
    assert (tmp_path / "gap_table.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_instance_names_the_fix(gap_table, capsys):
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", "nope"])
    assert e.value.code == 2 and "--instances: no instance 'nope'" in capsys.readouterr().err


def test_bad_instance_file_and_options_exit_before_anything_runs(gap_table, tmp_path, capsys):
    """A missing or invalid instance file, a non-positive budget and --render with a selection are
    refused before any record is written, naming the option (no traceback)."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ')
    for path, said in ((bad, "line 1 column 12: invalid JSON"), (tmp_path / "none.json", "none.json")):
        with pytest.raises(SystemExit) as e:
            gap_table.main(["--instances", str(TINY / "lenet-1x4-tau0.6.json"), str(path), "--methods", "greedy"])
        assert e.value.code == 2 and re.search(f"(?s)--instances: .*{said}", capsys.readouterr().err)
    assert not (tmp_path / "records").exists()  # the good first instance did not run either
    for args, said in ((["--episodes", "-3"], "--episodes -3: give a number > 0"),
                       (["--plan-time-limit", "0"], "--plan-time-limit 0.0: give a number > 0"),
                       (["--time-limit", "nan"], "--time-limit nan: give a number > 0"),
                       (["--render", "--instances", "nope"], "--render only redraws the table")):
        with pytest.raises(SystemExit) as e:
            gap_table.main(args)
        assert e.value.code == 2 and said in capsys.readouterr().err


def test_references_are_read_from_the_solu_files_when_the_table_is_rendered(gap_table, tmp_path, monkeypatch):
    """A record made with an older .solu keeps no stale reference: the table reads the .solu now."""
    inst = str(TINY / "lenet-1x4-tau0.6.json")
    solu = tmp_path / "refs.solu"
    solu.write_text("=best=     lenet-1x4-tau0.6  0.5\n=bestdual= lenet-1x4-tau0.6  0.25\n")
    monkeypatch.setattr(gap_table, "SOLU", [solu])
    assert gap_table.main(["--instances", inst, "--methods", "greedy"]) == 0
    ex = gap_table.table().set_index("method").loc[gap_table.EXACT]
    assert ex["reference_ms"] == pytest.approx(250.0) and ex["latency_ms"] == pytest.approx(500.0)
    solu.write_text("=best=     lenet-1x4-tau0.6  0.4\n=bestdual= lenet-1x4-tau0.6  0.3\n")  # better values since
    df = gap_table.table().set_index("method")
    assert df.loc[gap_table.EXACT, "reference_ms"] == pytest.approx(300.0)
    assert df.loc[gap_table.EXACT, "latency_ms"] == pytest.approx(400.0)
    greedy = df.loc["greedy"]
    assert greedy["gap_%"] == pytest.approx(100 * (greedy["latency_ms"] - 300.0) / 300.0)
    assert greedy["vs_exact_%"] == pytest.approx(100 * (greedy["latency_ms"] - 400.0) / 400.0)


def test_the_committed_table_shows_the_current_solu_references():
    """benchmarks/online/gap_table.csv as committed quotes each set's reference and exact-engine
    value as instances/*.solu hold them now (a .solu improved after the last ``--render`` leaves a
    stale table: cifar-6x5 showed 447.3 / 397.7 ms after coupled.solu had 435.2 / 419.1)."""
    import pandas as pd

    path = ROOT / "benchmarks" / "online" / "gap_table.py"
    spec = importlib.util.spec_from_file_location("gap_table_committed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    df = pd.read_csv(ROOT / "benchmarks" / "online" / "gap_table.csv")
    exact = df[df["method"] == mod.EXACT]
    assert len(exact) > 0
    for _, r in exact.iterrows():
        ref = mod.solu_row(r["instance"], None)
        if ref is None:  # solved by the script itself, not from a .solu
            continue
        assert r["reference_ms"] == pytest.approx(ref["reference_ms"], rel=1e-9), r["instance"]
        assert r["latency_ms"] == pytest.approx(ref["latency_ms"], rel=1e-9), r["instance"]
        rows = df[df["instance"] == r["instance"]]
        assert (rows["reference_ms"].dropna() == r["reference_ms"]).all(), r["instance"]


def test_a_signal_during_a_run_writes_no_record_and_ends_the_run(gap_table, tmp_path, monkeypatch, capsys):
    """SIGTERM during plan-guided's plan (a real signal, sent as HiGHS starts its first solve; the
    library turns it into an ``interrupted`` result): no record for that run, no later run, no
    render, exit 143, a message saying how to resume (before the fix the interrupted result was
    recorded as a finished one and the run went on)."""
    import os
    import signal

    from optdist.solvers import highs

    real = highs.Highs._solve
    sent = []

    def signalled(self, *a, **k):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *a, **k)

    monkeypatch.setattr(highs.Highs, "_solve", signalled)
    inst = str(ROOT / "instances" / "coupled" / "lenet-8x4-rpi3.json")  # its reference: from coupled.solu
    rc = gap_table.main(["--instances", inst, "--methods", "plan-guided", "greedy", "--plan-time-limit", "5"])
    assert sent and rc == 143
    recs = sorted(p.name for p in (tmp_path / "records").glob("*.json"))
    assert recs == ["lenet-8x4-rpi3--exact-reference.json"]
    assert not (tmp_path / "gap_table.md").exists()
    assert "interrupted by SIGTERM" in capsys.readouterr().err


def test_an_infeasible_instance_has_no_reference_and_says_so(gap_table, tmp_path, monkeypatch):
    """An instance the exact engine proves infeasible (solved here: no .solu entry) or that a
    .solu marks ``=inf=`` gets no reference, and the summary says why: before the fix the first
    crashed with a TypeError (``1e3 * None``: no bound) and the second read "nan (nan)"."""
    infeasible = str(ROOT / "instances" / "infeasible" / "lenet-1x3-privacy.json")
    monkeypatch.setattr(gap_table, "SOLU", [])
    assert gap_table.main(["--instances", infeasible, "--methods", "greedy", "--time-limit", "20"]) == 0
    ex = gap_table.table().set_index("method").loc[gap_table.EXACT]
    assert ex["reference_kind"] == "infeasible" and pd_isna(ex["reference_ms"]) and not ex["feasible"]
    md = (tmp_path / "gap_table.md").read_text()
    assert "none (infeasible); exact engine -" in md and "nan" not in md

    solu = tmp_path / "refs.solu"
    solu.write_text("=inf=      lenet-1x4-tau0.6\n")
    monkeypatch.setattr(gap_table, "SOLU", [solu])
    assert gap_table.main(["--instances", str(TINY / "lenet-1x4-tau0.6.json"), "--methods", "greedy"]) == 0
    ex = gap_table.table().set_index(["instance", "method"]).loc[("lenet-1x4-tau0.6", gap_table.EXACT)]
    assert ex["reference_kind"] == "infeasible" and pd_isna(ex["reference_ms"])
    md = (tmp_path / "gap_table.md").read_text()
    assert md.count("none (infeasible); exact engine -") == 2 and "nan" not in md


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_render_without_records_names_the_fix(gap_table, capsys):
    """--render with no record to draw exits 2 with the fix (it ended in a KeyError traceback)."""
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--render"])
    assert e.value.code == 2 and "no records" in capsys.readouterr().err


def test_plan_start_folder_starts_the_plan_and_is_shown(gap_table, tmp_path, capsys):
    """--plan-start DIR: the plan of an instance with DIR/<instance>.json starts from it (record and
    table say so); a path that is not a folder is refused before anything runs."""
    import optdist
    from optdist.instance import load_instance

    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", "lenet-8x4-rpi3", "--methods", "plan-guided", "--plan-start", str(tmp_path / "no")])
    assert e.value.code == 2 and "--plan-start" in capsys.readouterr().err and not (tmp_path / "records").exists()
    inst = load_instance(TINY / "lenet-1x4-tau0.6.json")
    starts = tmp_path / "starts"
    starts.mkdir()
    optdist.solve(inst, method="greedy").assignment.save(inst, starts / f"{inst.name}.json")
    assert gap_table.main(["--instances", str(TINY / "lenet-1x4-tau0.6.json"), "--methods", "plan-guided",
                           "--plan-time-limit", "20", "--time-limit", "20", "--plan-start", str(starts)]) == 0
    row = gap_table.table().query("method == 'plan-guided'").iloc[0]
    assert row["plan_start"] == str(starts / f"{inst.name}.json") and row["feasible"]
    md = (tmp_path / "gap_table.md").read_text()
    assert f"from `{starts / f'{inst.name}.json'}`" in md and "not comparable" in md
    summary = next(line for line in md.splitlines() if line.startswith(f"| {inst.name} ") and "%" in line)
    assert "plan started from a given placement" in summary  # where the row is shown, not only above it


def test_plan_start_files_are_checked_before_anything_runs(gap_table, tmp_path, capsys):
    """--plan-start DIR whose <instance>.json is not a placement of it, or with no <instance>.json
    for any instance asked for: exit 2 naming the file / folder and the fix, no record written (a bad
    file was a traceback after the exact reference had run; a folder matching nothing ran unstarted)."""
    inst = TINY / "lenet-1x4-tau0.6.json"
    starts = tmp_path / "starts"
    starts.mkdir()
    for prepare, said in ((lambda: None, "no <instance>.json"),
                          (lambda: (starts / "lenet-1x4-tau0.6.json").write_text("{bad"), "lenet-1x4-tau0.6.json")):
        prepare()
        with pytest.raises(SystemExit) as e:
            gap_table.main(["--instances", str(inst), "--methods", "plan-guided", "--plan-time-limit", "5",
                            "--time-limit", "5", "--plan-start", str(starts)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and "--plan-start" in err and said in err and "fix:" in err
        assert not (tmp_path / "records").exists()


def test_a_record_note_is_printed_under_the_header(gap_table, tmp_path):
    """A record's hand-added ``note`` (e.g. the best of several runs, not a typical one) is shown in
    gap_table.md, not only in the README (before: dropped with the other extra fields)."""
    import json

    inst = str(TINY / "lenet-1x4-tau0.6.json")
    assert gap_table.main(["--instances", inst, "--methods", "greedy", "--time-limit", "20"]) == 0
    rec = tmp_path / "records" / "lenet-1x4-tau0.6--greedy.json"
    rec.write_text(json.dumps({**json.loads(rec.read_text()), "note": "the best of 4 runs"}))
    assert gap_table.main(["--render"]) == 0
    assert "Notes on single records: lenet-1x4-tau0.6 greedy: the best of 4 runs." in (tmp_path / "gap_table.md").read_text()


def test_polish_time_limit_is_passed_recorded_and_shown(gap_table, tmp_path, capsys):
    """--polish-time-limit S: the plan methods polish for at most S s (default: --plan-time-limit);
    the record keeps both limits, and a row polished longer than its engine ran says so in its
    summary cell and under the header. A non-positive value is refused before anything runs."""
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", "lenet-8x4-rpi3", "--polish-time-limit", "-1"])
    assert e.value.code == 2 and "--polish-time-limit -1.0: give a number > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--instances", "lenet-8x4-rpi3", "--methods", "greedy", "--polish-time-limit", "5"])
    assert e.value.code == 2 and "--methods has neither" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        gap_table.main(["--render", "--polish-time-limit", "5"])
    assert e.value.code == 2 and "--render only redraws" in capsys.readouterr().err
    inst = str(TINY / "lenet-2x4-tight.json")
    assert gap_table.main(["--instances", inst, "--methods", "plan-guided", "--plan-time-limit", "5",
                           "--polish-time-limit", "7", "--time-limit", "20"]) == 0
    row = gap_table.table().query("method == 'plan-guided'").iloc[0]
    assert (row["plan_time_limit_s"], row["polish_time_limit_s"]) == (5, 7) and row["polish_s"] <= 7 + 1
    md = (tmp_path / "gap_table.md").read_text()
    assert "lenet-2x4-tight plan-guided (5 s engine, 7 s polish)" in md
    summary = next(line for line in md.splitlines() if line.startswith("| lenet-2x4-tight ") and "%" in line)
    assert "polish 7 s" in summary
    assert gap_table.main(["--instances", inst, "--methods", "plan-guided", "--plan-time-limit", "5",
                           "--time-limit", "20", "--force"]) == 0  # the default: as long as the engine
    row = gap_table.table().query("method == 'plan-guided'").iloc[0]
    assert row["polish_time_limit_s"] == 5 and "polish" not in gap_table.cell(row)


def test_large_sets_skip_the_slow_methods_unless_named(gap_table, tmp_path, capsys):
    """Without --methods a set of more than LARGE requests runs no rollout, no training on itself and
    no wrong forecast (hours on a 250-request set); named in --methods they run."""
    inst = str(TINY / "lenet-1x4-tau0.6.json")
    gap_table.LARGE = 0  # the tiny set counts as large
    assert gap_table.main(["--instances", inst, "--plan-time-limit", "20", "--time-limit", "20"]) == 0
    recs = sorted(p.name for p in (tmp_path / "records").glob("*.json"))
    assert recs == ["lenet-1x4-tau0.6--edge-cloud.json", "lenet-1x4-tau0.6--exact-reference.json",
                    "lenet-1x4-tau0.6--greedy.json", "lenet-1x4-tau0.6--per-layer.json",
                    "lenet-1x4-tau0.6--plan-guided.json"]  # and no pretrained row: no policy for this set
    assert gap_table.main(["--instances", inst, "--methods", "plan-rollout", "--plan-time-limit", "20"]) == 0
    assert (tmp_path / "records" / "lenet-1x4-tau0.6--plan-rollout.json").exists()


def test_the_pretrained_row_places_with_the_committed_policy(gap_table, tmp_path, capsys):
    """``rl (masked, pretrained)`` places a set with the committed policy named for it (trained on
    another instance: the record says which), scored by the evaluator; a set with none gets no row."""
    import json

    inst = str(TINY / "lenet-1x4-tau0.6.json")
    policy = ROOT / "models" / "policies" / "lenet-cifar-70"
    gap_table.PRETRAINED_POLICIES = {"lenet-1x4-tau0.6": policy}
    assert gap_table.main(["--instances", inst, str(TINY / "lenet-1x4-tau0.8.json"), "--methods",
                           gap_table.PRETRAINED, "--time-limit", "20"]) == 0
    rec = json.loads((tmp_path / "records" / "lenet-1x4-tau0.6--rl-masked-pretrained.json").read_text())
    cfg = json.loads((policy / "policy.json").read_text())
    assert rec["trained_on"] == cfg["instance"] and rec["policy"] == "models/policies/lenet-cifar-70"
    assert rec["episodes"] == cfg["episodes"] and rec["train_s"] == cfg["train_s"]
    assert rec["feasible"] and rec["rejected"] == 0 and rec["decision_ms_per_request"] > 0
    assert not (tmp_path / "records" / "lenet-1x4-tau0.8--rl-masked-pretrained.json").exists()
    assert "lenet-1x4-tau0.8: rl (masked, pretrained) not run: no committed policy" in capsys.readouterr().out
    lines = (tmp_path / "gap_table.md").read_text().split("## All measurements")[0].splitlines()
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
             for line in lines if line.startswith("| ")}
    col = cells["instance"].index(gap_table.PRETRAINED)
    assert cells["lenet-1x4-tau0.8"][col] == "not run"
    assert cells["lenet-1x4-tau0.6"][col].endswith("% vs exact)")  # a gap: placed whole, nothing broken
