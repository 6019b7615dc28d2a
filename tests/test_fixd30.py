"""fixd30: `optdist evaluate` of a defended result re-checks the recorded defence on the instance given.

Real instance (the bundled lenet-10x10-tau0.8-defended cut to 1 request, its source and 4 devices),
one real `solve --method defended --out` per module, the real CLI; no mocks.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from optdist.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "benchmarks" / "defences" / "placement" / "instances" / "lenet-10x10-tau0.8-defended.json"


def small_doc() -> dict:
    doc = json.loads(BUNDLED.read_text())
    doc["requests"] = doc["requests"][:1]
    doc["devices"] = doc["devices"][:4]
    used = {r["source"] for r in doc["requests"]}
    doc["sources"] = [s for s in doc["sources"] if s["id"] in used]
    return doc


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """(instance file, result file) of one `solve --method defended --out`."""
    tmp = tmp_path_factory.mktemp("fixd30")
    inst = tmp / "def.json"
    inst.write_text(json.dumps(small_doc()))
    out = tmp / "r.json"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = cli_main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out),
                       "--requests", "0"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["feasible"] and doc["extra"]["defence"]["lenet"]["mode"] != "distribute"
    return inst, out


def test_unchanged_result_is_still_scored_under_its_defence(solved, capsys):
    inst, out = solved
    assert cli_main(["evaluate", str(inst), str(out), "--requests", "0"]) == 0
    said = capsys.readouterr().out
    assert "scored under the defence" in said and "feasible True" in said


def _edit(out: Path, tmp_path: Path, edit) -> Path:
    doc = json.loads(out.read_text())
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    return path


def _set(key, value):
    def edit(doc):
        doc["extra"]["defence"]["lenet"][key] = value
    return edit


@pytest.mark.parametrize("edit, field", [
    (_set("eps", -5), "extra.defence.lenet.eps"),
    (_set("eps", 0.001), "extra.defence.lenet.eps"),
    (_set("eps", 1e300), "extra.defence.lenet.eps"),
    (_set("eps", None), "extra.defence.lenet.eps"),
    (_set("eps", "abc"), "extra.defence.lenet.eps"),
    (_set("mode", "magic"), "extra.defence.lenet.mode"),
    (_set("attacker_ssim", 0.99), "extra.defence.lenet.attacker_ssim"),
    (_set("dp_drop_pct", 99), "extra.defence.lenet.dp_drop_pct"),
    (_set("accuracy_drop_pct", 99), "extra.defence.lenet.accuracy_drop_pct"),
    (lambda doc: doc["extra"].pop("defended_limits"), "extra.defended_limits"),
], ids=["eps-neg", "eps-small", "eps-huge", "eps-null", "eps-str", "mode-magic", "ssim", "dp-drop", "acc-drop",
        "no-limits"])
def test_edited_result_is_refused(solved, tmp_path, capsys, edit, field):
    inst, out = solved
    bad = _edit(out, tmp_path, edit)
    assert cli_main(["evaluate", str(inst), str(bad), "--requests", "0"]) == 2
    cap = capsys.readouterr()
    assert "scored under the defence" not in cap.out and "feasible True" not in cap.out
    assert str(bad) in cap.err and f'field "{field}"' in cap.err and "--method defended" in cap.err, cap.err
    assert "internal error" not in cap.err and "no chosen defence" not in cap.err


@pytest.mark.parametrize("change", ["tau", "max_drop"])
def test_result_refused_on_an_instance_whose_defence_does_not_admit_it(solved, tmp_path, capsys, change):
    inst, out = solved
    doc = small_doc()
    if change == "tau":
        ssim = json.loads(out.read_text())["extra"]["defence"]["lenet"]["attacker_ssim"]
        assert ssim > 0.6
        doc["tau"] = 0.6
    else:
        doc["defence"]["lenet"]["max_accuracy_drop_pct"] = 2
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    assert cli_main(["evaluate", str(other), str(out), "--requests", "0"]) == 2
    cap = capsys.readouterr()
    assert "feasible True" not in cap.out
    assert str(out) in cap.err and 'field "extra.defence.lenet"' in cap.err and "--method defended" in cap.err, cap.err
    if change == "tau":
        assert "attacker SSIM 0.770 > tau 0.6" in cap.err


def test_instance_without_defence_scores_plain_limits(solved, tmp_path, capsys):
    inst, out = solved
    doc = small_doc()
    del doc["defence"]
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(doc))
    rc = cli_main(["evaluate", str(plain), str(out), "--requests", "0"])
    said = capsys.readouterr().out
    assert "scored under the defence" not in said
    assert "is ignored" in said and "has no defence entry" in said and "plain limits" in said
    assert rc == (0 if "feasible True" in said else 1)


def test_solve_defended_without_defence_entry_warns_once(tmp_path, caplog):
    doc = small_doc()
    del doc["defence"]
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(doc))
    with caplog.at_level("WARNING", logger="optdist"):
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(["solve", str(plain), "--method", "defended", "--threads", "1", "--requests", "0"]) == 0
    said = [r.getMessage() for r in caplog.records if "no defence entry" in r.getMessage()]
    assert len(said) == 1 and "distribution alone" in said[0] and "fix:" in said[0]
