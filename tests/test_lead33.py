"""lead33: a sweep record's ``instance_sha256`` covers the files its instance names (a device catalog,
network profiles, privacy tables), not the instance file alone: before, a record made with an
edited catalog or privacy table was counted in the tables as current and never redone. Real
HiGHS and greedy, a tiny instance copied into ``tmp_path``; no mocks."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

import optdist
from optdist.bench.records import file_digest, instance_digest
from optdist.cli import main
from optdist.solvers.highs import Highs

from .conftest import ROOT

MICRO = ROOT / "instances/tiny/micro-1x3-tau0.6.json"
CATALOG = ROOT / "optdist/data/devices.json"


def _instance_with_catalog(tmp_path):
    shutil.copy(CATALOG, tmp_path / "mydevices.json")
    doc = json.loads(MICRO.read_text())
    doc["devices_catalog"] = "mydevices.json"
    path = tmp_path / "micro.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_digest_covers_the_files_the_instance_reads(tmp_path):
    inst = _instance_with_catalog(tmp_path)
    before = instance_digest(inst)
    assert before != file_digest(inst)
    catalog = tmp_path / "mydevices.json"
    catalog.write_text(catalog.read_text().replace('"memory": 1073741824', '"memory": 1073741823', 1))
    assert instance_digest(inst) != before
    catalog.unlink()
    assert instance_digest(inst) not in (None, before)  # a missing named file counts as missing


def test_the_digest_does_not_depend_on_how_the_path_is_spelt(tmp_path, monkeypatch):
    """verify33: the path was hashed too, so a crashed run's record (hashed by its absolute path)
    was stale at once against the sweep's relative one."""
    inst = _instance_with_catalog(tmp_path)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert instance_digest(inst) == instance_digest("../micro.json") == instance_digest("../sub/../micro.json")


def test_a_privacy_table_named_by_name_is_read_and_hashed(tmp_path, monkeypatch):
    """verify33: "privacy": {"micro": "synthetic"} names models/privacy/micro-synthetic.json (as
    calibrate --name writes one); editing it left the records current."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models" / "privacy", models / "privacy")
    monkeypatch.setattr("optdist.privacy.MODELS_DIR", models)
    before = instance_digest(MICRO)
    assert before != file_digest(MICRO)
    table = models / "privacy" / "micro-synthetic.json"
    table.write_text(table.read_text() + "\n")
    assert instance_digest(MICRO) != before


def test_a_record_made_with_an_edited_catalog_is_left_out_and_redone(tmp_path, capsys):
    inst = _instance_with_catalog(tmp_path)
    spec = tmp_path / "s33.json"
    spec.write_text(json.dumps({"name": "s33", "out": str(tmp_path / "out"), "instances": [str(inst)],
                                "methods": ["greedy", "milp"], "solvers": ["highs"], "time_limit": 30}))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    catalog = tmp_path / "mydevices.json"
    catalog.write_text(catalog.read_text().replace('"memory": 1073741824', '"memory": 1073741823', 1))
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["bench-table", str(out)]) == 2  # every record left out: none to tabulate
    err = capsys.readouterr().err
    assert "or a file it names (a profile, a privacy table) changed since 2 record(s)" in err, err
    assert "no usable records" in err and "left out: the 1 warning(s) above say why" in err
    assert main(["bench", str(spec), "--no-progress"]) == 0  # both runs done again
    assert "changed since this record was made" in capsys.readouterr().err
    assert main(["bench-table", str(out)]) == 0
    assert "changed since" not in capsys.readouterr().err
    assert sorted(pd.read_csv(out / "tables" / "gaps-by-instance.csv")["config"]) == ["greedy", "milp/highs"]


_FFO_MODULE = '''
from optdist.result import Termination
from optdist.solve import method_function
from optdist.solvers import register
from optdist.solvers.highs import Highs


class FirstFeasibleOptimal(Highs):
    """Stops at its first incumbent (gap 1) but claims it optimal, bound = incumbent."""

    name = "ffo33"

    def _solve(self, model, opts, warm_start, tee, raw):
        out = super()._solve(model, {**opts, "mip_gap": 1.0}, warm_start, tee, raw)
        out.termination = Termination.OPTIMAL
        out.bound = out.incumbent
        return out


register("ffo33", FirstFeasibleOptimal)


def milp_ffo(inst, **options):  # the milp method itself, not optdist.solve: only the worker checks it
    return method_function("milp")(inst, solver="ffo33", formulation="tight", **options)
'''


def test_a_sweep_checks_a_user_adapters_bound_as_solve_does(tmp_path, monkeypatch):
    """Before: the worker finalized the method's result without the check optdist.solve makes of a
    user adapter's bound (solv33), so a false "optimal" went into the tables as proven."""
    (tmp_path / "ffo33mod.py").write_text(_FFO_MODULE)
    monkeypatch.chdir(tmp_path)
    inst = ROOT / "instances/tiny/lenet-1x4-tau0.8.json"  # optimum 0.0010392827; ffo33 claims 0.0014588 optimal
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"name": "ffo", "out": str(tmp_path / "out"), "instances": [str(inst)],
                                "methods": ["ffo33mod:milp_ffo"], "time_limit": 30}))
    assert main(["bench", str(spec), "--no-progress", "--allow-external-methods"]) == 0
    (rec,) = [json.loads(p.read_text()) for p in (tmp_path / "out" / "records").glob("*.json")]
    summary = rec["summary"]
    assert summary["termination"] == "feasible" and summary["bound"] is None, summary
    assert summary["objective"] == pytest.approx(0.0010392827, rel=1e-6)
    assert "ffo33" in rec["extra"]["warning"] and "refuted" in rec["extra"]["warning"]


@pytest.mark.parametrize("edit, where, meant", [
    (lambda d: d["requests"]["r1"].__setitem__("rejeted", True), "requests.r1.rejeted", "rejected"),
    (lambda d: d["requests"]["r1"].__setitem__("foo", 1), "requests.r1.foo", None),
    (lambda d: d.__setitem__("requestz", {}), "requestz", "requests"),
    (lambda d: d.__setitem__("requets", d.pop("requests")), "requets", "requests"),
])
def test_an_unknown_key_in_an_assignment_is_refused_not_ignored(tmp_path, capsys, edit, where, meant):
    """verify33: "rejeted": true beside "layers" was ignored and the request scored as admitted."""
    inst = ROOT / "instances/tiny/lenet-1x4-tau0.8.json"
    res = tmp_path / "r.json"
    assert main(["solve", str(inst), "-q", "--out", str(res)]) == 0
    doc = json.loads(res.read_text())["assignment"]
    edit(doc)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["evaluate", str(inst), str(typo)]) == 2
    err = capsys.readouterr().err
    assert f"{where}: unknown key" in err and "feasible" not in err, err
    assert meant is None or f"did you mean {json.dumps(meant)}" in err or f"did you mean {meant}" in err, err


@pytest.mark.parametrize("name, solver", [("highs", "cbc"), ("cbc", "highs")])
def test_a_profile_by_path_may_not_take_another_adapters_name(tmp_path, capsys, name, solver):
    """verify33: refused in an OPTDIST_SOLVERS folder (solv33), but taken given by path."""
    prof = tmp_path / "a.toml"
    prof.write_text(f'name = "{name}"\nsolver = "{solver}"\n')
    assert main(["solve", str(MICRO), "-q", "--solver", str(prof)]) == 2
    err = capsys.readouterr().err
    assert f'profile name "{name}" is the name of the adapter {name}, but the profile runs "{solver}"' in err, err


@pytest.mark.parametrize("text, said", [
    ('name = "p1"\nsolver = "cbc"\n', "it is a TOML solver profile"),
    ('name = "b"\ninstances = ["x/*.json"]  # a comment\n', "it is a TOML bench spec"),
    ('format = "optdist-instance/1"\nname = "x"\n', "it is a TOML file"),
])
def test_toml_saved_as_json_is_named_by_its_content(tmp_path, capsys, text, said):
    """verify33: a TOML profile or spec saved as .json got 'invalid JSON ... (a missing comma or quote?)'."""
    f = tmp_path / "x.json"
    f.write_text(text)
    assert main(["solve", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{said}, not an instance JSON file" in err or f"{said}, not an instance" in err, err
    assert "invalid JSON" not in err and "missing comma" not in err


class _NanBound(Highs):
    name = "nanbound33"

    def _solve(self, model, opts, warm_start, tee, raw):
        out = super()._solve(model, opts, warm_start, tee, raw)
        out.bound = float("nan")
        return out


def test_a_user_adapters_nan_bound_is_no_bound_and_said():
    """verify33: a NaN bound ended as bound nan (or -inf), with no word of it."""
    res = optdist.solve(ROOT / "instances/tiny/lenet-1x4-tau0.8.json", solver=_NanBound, formulation="compact")
    assert res.bound is None or not math.isnan(res.bound)
    assert res.termination != "optimal" and res.has_solution
    assert "adapter nanbound33" in res.extra["warning"] and "bound NaN: read as no bound" in res.extra["warning"]


def test_a_record_made_before_the_read_files_were_hashed_stays_current_while_its_file_is_unchanged(tmp_path, capsys):
    """A record written with the instance file's digest alone (before lead33) is not redone after an
    upgrade while the file is as it was (its tables unchecked, as a record without a digest); one of
    an edited instance file still is."""
    inst = _instance_with_catalog(tmp_path)
    spec = tmp_path / "s33.json"
    spec.write_text(json.dumps({"name": "s33", "out": str(tmp_path / "out"), "instances": [str(inst)],
                                "methods": ["greedy"]}))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    (rec_path,) = (tmp_path / "out" / "records").glob("*.json")
    rec = json.loads(rec_path.read_text())
    rec["instance_sha256"] = file_digest(inst)  # as written before
    rec_path.write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert "1 already recorded" in capsys.readouterr().out
    inst.write_text(inst.read_text().replace('"tau": 0.6', '"tau": 0.8'))
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert "changed since this record was made" in capsys.readouterr().err
