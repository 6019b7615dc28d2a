"""defence30: defects a fresh user found in the defences (each test failed before its fix).

Real instances (the bundled lenet-10x10-tau0.8-defended cut to 2 requests and 4 devices), real
solves, the real CLI; no mocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optdist.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "benchmarks" / "defences" / "placement" / "instances" / "lenet-10x10-tau0.8-defended.json"


def small_defended(tmp_path: Path, name: str = "def.json", **defence) -> Path:
    """The bundled lenet-10x10-tau0.8-defended cut to 2 requests and 4 devices (``defence``: the
    lenet entry's fields replaced)."""
    doc = json.loads(BUNDLED.read_text())
    doc["requests"] = doc["requests"][:2]
    doc["devices"] = doc["devices"][:4]
    used = {r["source"] for r in doc["requests"]}
    doc["sources"] = [s for s in doc["sources"] if s["id"] in used]
    if defence:
        doc["defence"] = {"lenet": defence}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def defended_run(tmp_path_factory):
    """``solve DEF --method defended --out r.json`` once: (DEF, r.json, its stdout)."""
    tmp = tmp_path_factory.mktemp("def30")
    inst = small_defended(tmp)
    out = tmp / "r.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli_main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out),
                       "--requests", "0"])
    assert rc == 0
    return inst, out, buf.getvalue()


# 1. evaluate scores a defended result under the limits of the defence it chose ----------------------------------


def test_evaluate_scores_a_defended_result_under_its_defence(defended_run, capsys):
    inst, out, _ = defended_run
    saved = json.loads(out.read_text())
    assert saved["feasible"] and saved["extra"]["defence"]["lenet"]["mode"] == "dp"
    assert cli_main(["evaluate", str(inst), str(out), "--requests", "0"]) == 0  # was 1: "[placement] source cam2 ..."
    said = capsys.readouterr().out
    cut, eps = saved["extra"]["defence"]["lenet"]["cut"], saved["extra"]["defence"]["lenet"]["eps"]
    assert f"scored under the defence DP at {cut}, eps {eps:g}" in said and "feasible True" in said
    assert f"{saved['evaluator_objective']:.10g}"[:8] in said


def test_evaluate_refuses_a_defended_result_without_its_defence(defended_run, tmp_path, capsys):
    inst, out, _ = defended_run
    doc = json.loads(out.read_text())
    del doc["extra"]["defence"]
    bare = tmp_path / "stripped.json"
    bare.write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(inst), str(bare)]) == 2
    err = capsys.readouterr().err
    assert 'field "extra.defence"' in err and "method defended" in err and "fix:" in err
    doc = json.loads(out.read_text())  # limits that do not follow from the choice: edited, or another instance
    doc["extra"]["defended_limits"]["lenet"]["on_source"] = [True] * len(doc["extra"]["defended_limits"]["lenet"]["on_source"])
    bare.write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(inst), str(bare)]) == 2
    assert 'field "extra.defended_limits"' in capsys.readouterr().err


def test_evaluate_explains_a_bare_assignment_on_a_defended_instance(defended_run, tmp_path, capsys):
    inst, out, _ = defended_run
    doc = json.loads(out.read_text())
    asg = tmp_path / "asg.json"
    asg.write_text(json.dumps(doc["assignment"]))
    assert cli_main(["evaluate", str(inst), str(asg), "--requests", "0"]) == 1  # infeasible without the defence
    err = capsys.readouterr().err
    assert "undefended limits" in err and "records no defence" in err and "--method defended --out" in err


# 2. the solve report prints the chosen defence ------------------------------------------------------------------


def test_solve_report_prints_the_chosen_defence(defended_run):
    _, out, said = defended_run
    choice = json.loads(out.read_text())["extra"]["defence"]["lenet"]
    line = next(ln for ln in said.splitlines() if ln.startswith("defence "))
    assert f"DP at {choice['cut']}, eps {choice['eps']:g}" in line
    assert f"({choice['accuracy_drop_pct']:.1f} % accuracy cost)" in line


# 3. no admissible defence option: said up front, with every reason and a fix; not "infeasible" ------------------


@pytest.mark.parametrize("entry, words", [
    ({"mode": "dp", "epsilons": [8]}, "none of eps [8.0] was measured"),
    ({"mode": "hybrid", "cuts": ["conv2"]}, "conv cut"),
    ({"mode": "dp", "cuts": ["fc2"]}, "followed by no intermediate layer"),
])
def test_no_admissible_option_is_said_up_front(tmp_path, capsys, entry, words):
    inst = small_defended(tmp_path, **entry)
    out = tmp_path / "r.json"
    assert cli_main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out)]) == 2
    cap = capsys.readouterr()
    assert "termination" not in cap.out and "infeasib" not in cap.out.lower()  # no diagnosis that finds nothing
    assert "defence.lenet: no admissible defence option" in cap.err and words in cap.err
    assert '"mode": "auto"' in cap.err and "distribution alone" in cap.err
    assert not out.exists()


# 4. a defence entry without --method defended is warned about once ------------------------------------------------


def test_defence_entry_without_method_defended_is_warned(tmp_path, caplog):
    inst = small_defended(tmp_path)
    with caplog.at_level("WARNING", logger="optdist"):
        assert cli_main(["solve", str(inst), "--method", "greedy", "--requests", "0"]) == 0
    said = [r.getMessage() for r in caplog.records if "defence entry" in r.getMessage()]
    assert len(said) == 1 and "used only by --method defended" in said[0]
