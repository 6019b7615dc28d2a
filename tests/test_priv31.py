"""priv31: a fresh user's own networks, devices and privacy tables (report b31, files of
/work/wt/reports/b31files, rebuilt here in small): a table's ``ssim_decimals`` rounding that lets a
leak measured above tau pass is said (validate, solve, profile --privacy); a device catalog that
cannot be read is one error, not one more per device type; a model proven infeasible with no
pre-solve finding names ``optdist diagnose FILE``; a proof by many checks is one tidy warning; the
memory diagnosis names tau only under a privacy limit; a table of another CNN says how to fix it;
an --out file kept after a run without a solution says when it was made for another instance.
Real HiGHS, no mocks, tiny instances."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from optdist import privacy
from optdist.privacy import PrivacyTable

# name, kind, segments, mults/segment, weight bytes/segment, in maps, out maps, out shape, beta, op, kernel, inputs
_MIDFC = [("c", "conv", 1, 576, 144, 1, 4, [4, 4], 64, "conv2d", [3, 3], []),
          ("r", "elementwise", 4, 0, 0, 4, 4, [4, 4], 64, "relu", [], ["c"]),
          ("f1", "fc", 1, 512, 2048, 4, 1, [8], 32, "linear", [], ["r"]),
          ("f2", "fc", 1, 64, 256, 1, 1, [8], 32, "linear", [], ["f1"]),
          ("f3", "fc", 1, 16, 64, 1, 1, [2], 8, "linear", [], ["f2"])]
_CHAIN = [("c1", "conv", 1, 2304, 144, 1, 4, [8, 8], 256, "conv2d", [3, 3], []),
          ("r1", "elementwise", 4, 0, 0, 4, 4, [8, 8], 256, "relu", [], ["c1"]),
          ("c2", "conv", 4, 64, 4, 4, 1, [8, 8], 256, "conv2d", [1, 1], ["r1"]),
          ("p", "elementwise", 1, 0, 0, 1, 1, [4, 4], 64, "maxpool2d", [], ["c2"]),
          ("c3", "conv", 1, 48, 12, 1, 3, [4, 4], 64, "conv2d", [1, 1], ["p"]),
          ("fc", "fc", 1, 240, 960, 3, 1, [5], 20, "linear", [], ["c3"])]
_HUGE = [("a", "conv", 1, 12000, 12000, 1, 3000, [2, 2], 16, "conv2d", [1, 1], []),
         ("r", "elementwise", 3000, 0, 0, 3000, 3000, [2, 2], 16, "relu", [], ["a"]),
         ("b", "conv", 3000, 12000, 12000, 3000, 3000, [2, 2], 16, "conv2d", [1, 1], ["r"]),
         ("r2", "elementwise", 3000, 0, 0, 3000, 3000, [2, 2], 16, "relu", [], ["b"]),
         ("fc", "fc", 1, 24000, 96000, 3000, 1, [2], 8, "linear", [], ["r2"])]
_SHAPES = {"midfc": [1, 4, 4], "chain": [1, 8, 8], "huge": [1, 2, 2]}
_LAYERS = {"midfc": _MIDFC, "chain": _CHAIN, "huge": _HUGE}
CATALOG = {"format": "optdist-device-catalog/1", "devices": {
    "snail": {"memory": 1000000, "mults_per_s": 1000, "rate": 1000000},
    "tinymem": {"memory": 10, "mults_per_s": 1e9, "rate": 1e7},
    "fast": {"memory": 1000000, "mults_per_s": 1e8, "rate": 1e6},
    "slowcam": {"memory": 1000000, "mults_per_s": 1e4, "rate": 1e5}}}
MIDFC_TABLE = {"format": "optdist-privacy-table/1", "cnn": "midfc", "name": "m", "metric": "ssim", "ssim_decimals": 1,
               "rows": [{"tensor": "c", "maps": 4, "cells": {"1": 0.2, "2": 0.55, "4": 0.9}},
                        {"tensor": "f1", "maps": 1, "cells": {"1": 0.64}}]}
CHAIN_TABLE = {"format": "optdist-privacy-table/1", "cnn": "chain", "name": "mine", "metric": "ssim",
               "rows": [{"tensor": "c1", "maps": 4, "cells": {"1": 0.3, "2": 0.9, "4": 0.5}},
                        {"tensor": "r1", "maps": 4, "cells": {"1": 0.2, "4": 0.7}},
                        {"tensor": "c2", "maps": 1, "cells": {"1": 0.8}},
                        {"tensor": "p", "maps": 1, "cells": {"1": 0.5}}]}


def _profile(cnn: str) -> dict:
    keys = ("name", "kind", "segments", "mults_per_segment", "weight_bytes_per_segment", "in_maps", "out_maps",
            "out_shape", "beta", "op", "kernel", "inputs")
    return {"format": "optdist-profile/2", "cnn": cnn, "input_shape": _SHAPES[cnn], "bytes_per_value": 4,
            "layers": [{**dict(zip(keys, la)), "groups": 1} for la in _LAYERS[cnn]]}


def _write(folder, name: str, doc) -> str:
    (folder / name).write_text(json.dumps(doc))
    return str(folder / name)


def _chain_doc(**over) -> dict:
    return {"format": "optdist-instance/1", "name": "chain", "tau": 0.6, "networks": {"chain": "Chain.profile.json"},
            "devices_catalog": "cat.json", "privacy": {"chain": "chain-priv.json"},
            "devices": [{"id": "s1", "type": "snail"}, {"id": "t1", "type": "tinymem"}, {"id": "f1", "type": "fast"},
                        {"id": "f2", "type": "fast"}],
            "sources": [{"id": "cam", "type": "slowcam"}],
            "requests": [{"id": "r1", "source": "cam", "cnn": "chain"}, {"id": "r2", "source": "cam", "cnn": "chain"}],
            **over}


@pytest.fixture
def files(tmp_path):
    """The b31 user's folder: profiles, catalog, tables, instances (midfc, chain, chain-cc, huge)."""
    for cnn, name in (("midfc", "MidFc"), ("chain", "Chain"), ("huge", "Huge")):
        _write(tmp_path, f"{name}.profile.json", _profile(cnn))
    _write(tmp_path, "cat.json", CATALOG)
    _write(tmp_path, "midfc-priv.json", MIDFC_TABLE)
    _write(tmp_path, "chain-priv.json", CHAIN_TABLE)
    _write(tmp_path, "midfc.json", {
        "format": "optdist-instance/1", "name": "fc", "tau": 0.6, "networks": {"midfc": "MidFc.profile.json"},
        "devices_catalog": "cat.json", "privacy": {"midfc": "midfc-priv.json"},
        "devices": [{"id": f"f{i}", "type": "fast"} for i in range(3)], "sources": [{"id": "cam", "type": "rpi4"}],
        "requests": [{"id": "r1", "source": "cam", "cnn": "midfc"}]})
    _write(tmp_path, "chain.json", _chain_doc())
    cc = _chain_doc()
    cc["devices"][0]["compute_capacity"] = 100
    _write(tmp_path, "chain-cc.json", cc)
    _write(tmp_path, "huge.json", {
        "format": "optdist-instance/1", "name": "chain", "tau": 0.6, "networks": {"huge": "Huge.profile.json"},
        "devices_catalog": "cat.json", "privacy": {"huge": None},
        "devices": [{"id": f"f{i}", "type": "fast"} for i in range(3)], "sources": [{"id": "cam", "type": "slowcam"}],
        "requests": [{"id": f"r{i}", "source": "cam", "cnn": "huge"} for i in range(4)]})
    return tmp_path


# --- 1. ssim_decimals rounding that lets a measured leak above tau pass ------------------------------

def test_rounding_warning_names_table_row_column_values_and_tau():
    """0.64 (row f1) is read 0.6 at one decimal and passes tau 0.6; 0.55 passes unrounded too (no warning)."""
    t = PrivacyTable.model_validate(MIDFC_TABLE)
    w = privacy.rounding_warnings(t, 0.6, "midfc-priv.json")
    assert w == ['midfc-priv.json: rows[1] (f1): "ssim_decimals": 1 rounds values measured above tau 0.6 to tau or '
                 'below, so they pass: maps 1: measured 0.64, read 0.6 (fix: drop "ssim_decimals" to compare the cells '
                 'as measured, or lower tau below 0.6)'], w
    assert privacy.rounding_warnings(t, 0.5, "x") == []  # 0.64 is read 0.6 > 0.5: refused either way
    assert privacy.rounding_warnings(PrivacyTable.model_validate({**MIDFC_TABLE, "ssim_decimals": None}), 0.6, "x") == []
    # an inherited value names the cell it comes from
    t2 = PrivacyTable.model_validate({**MIDFC_TABLE, "rows": [{"tensor": "c", "maps": 4, "cells": {"2": 0.62, "4": 0.9}},
                                                                   {"tensor": "f1", "maps": 1, "cells": {"1": 0.3}}]})
    assert "maps 1: measured 0.62 (cell \"2\"), read 0.6; maps 2: measured 0.62, read 0.6" in privacy.rounding_warnings(t2, 0.6, "x")[0]


def test_validate_solve_and_profile_say_the_rounding(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["validate", "midfc.json"]) == 0
    out = capsys.readouterr().out
    assert ('  warning: privacy.midfc: midfc-priv.json: rows[1] (f1): "ssim_decimals": 1 rounds values measured above '
            "tau 0.6 to tau or below, so they pass: maps 1: measured 0.64, read 0.6") in out, out
    assert main(["solve", "midfc.json"]) == 0
    err = capsys.readouterr().err
    assert "warning: privacy.midfc: midfc-priv.json: rows[1] (f1)" in err and "measured 0.64, read 0.6" in err, err
    assert main(["profile", "MidFc.profile.json", "--privacy", "midfc-priv.json", "--tau", "0.6"]) == 0
    err = capsys.readouterr().err
    assert "midfc-priv.json: rows[1] (f1)" in err and "measured 0.64, read 0.6" in err, err
    assert main(["profile", "MidFc.profile.json", "--privacy", "midfc-priv.json", "--tau", "0.5"]) == 0
    assert "ssim_decimals" not in capsys.readouterr().err  # nothing passes by rounding at tau 0.5


# --- 2. a device catalog that cannot be read: one error, no cascade of unknown types ----------------

@pytest.mark.parametrize("cat", [None, {"snail": {"memory": -1}}, {"snail": {"rate": None}},
                                 {"snail": {"mults_per_s": "fast"}}, {"snail": {"mults_per_s": 0}}])
def test_unreadable_catalog_is_reported_alone(files, cat):
    doc = _chain_doc(devices_catalog="/nonexist/cat.json")
    if cat is not None:
        bad = json.loads(json.dumps(CATALOG))
        for k, v in cat["snail"].items():
            if v is None:
                del bad["devices"]["snail"][k]
            else:
                bad["devices"]["snail"][k] = v
        doc["devices_catalog"] = "bad.cat.json"
        _write(files, "bad.cat.json", bad)
    with pytest.raises(InstanceError) as e:
        load_instance(_write(files, "i.json", doc))
    paths = [p.path for p in e.value.problems]
    assert len(paths) == 1 and paths[0].startswith("devices_catalog"), e.value
    assert 'the device types "fast", "slowcam", "snail", "tinymem" are looked up once it reads' in \
        e.value.problems[0].message, e.value
    assert "unknown device type" not in str(e.value)


def test_unknown_type_with_a_good_catalog_still_named(files):
    doc = _chain_doc()
    doc["devices"][0]["type"] = "snial"
    with pytest.raises(InstanceError) as e:
        load_instance(_write(files, "i.json", doc))
    assert [p.path for p in e.value.problems] == ["devices[0].type"], e.value


# --- 3. infeasible with no pre-solve finding: the diagnose command, exact ---------------------------

def test_infeasible_without_finding_names_diagnose_command(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["solve", "chain-cc.json", "--formulation", "compact"]) == 1
    out = capsys.readouterr().out
    assert "termination  infeasible" in out, out
    assert ("the pre-solve checks find nothing (they are necessary conditions only); `optdist diagnose chain-cc.json` "
            "solves the model with each constraint family left out") in out, out


# --- 4. a proof by many pre-solve checks: listed once, one short warning ----------------------------

def test_many_findings_one_tidy_warning(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["solve", "huge.json"]) == 1
    cap = capsys.readouterr()
    assert "  ... " in cap.out and " more" in cap.out  # the diagnosis lists 12 of them
    [line] = [ln for ln in cap.err.splitlines() if "no solution" in ln]
    n = int(line.split("proven infeasible by ")[1].split()[0])
    assert n > 12 and len(line) < 500, line
    assert line.count("[memory]") + line.count("[compute]") + line.count("[bandwidth]") == 1, line
    assert line.endswith("(the diagnosis on stdout lists the first 12; `optdist diagnose huge.json --no-solve --json "
                         "OUT` writes all)"), line


# --- 6. no tau in a memory finding of a layer without a privacy limit -------------------------------

def test_memory_finding_without_privacy_names_no_tau(files):
    from optdist.diagnose import check

    findings = [f for f in check(load_instance(files / "huge.json")) if f.layer == "b" and f.family == "memory"]
    assert findings and all("tau" not in f.message for f in findings), [f.message for f in findings]
    assert findings[0].message.startswith("b needs room for its 3000 input maps (11.7 KiB of weights per segment)")


# --- 5. a table made for another CNN ---------------------------------------------------------------

def test_table_of_another_cnn_says_how_to_fix(files):
    _write(files, "other.json", {**CHAIN_TABLE, "cnn": "other"})
    with pytest.raises(InstanceError) as e:
        load_instance(_write(files, "i.json", _chain_doc(privacy={"chain": "other.json"})))
    [p] = e.value.problems
    assert p.message.endswith('cnn: privacy table is for CNN "other", not "chain"'), p
    assert p.fix == f'set "cnn": "chain" in {files / "other.json"}, or give the table made for "chain"', p
    assert "name a bundled table" not in str(e.value)


# --- 7. an --out file kept after a run without a solution, made for another instance ----------------

def test_kept_out_of_another_instance_says_so(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["solve", "chain.json", "--formulation", "compact", "--out", "o.json"]) == 0
    capsys.readouterr()
    assert len(json.loads((files / "o.json").read_text())["instance_digest"]) == 64
    before = (files / "o.json").read_text()
    assert main(["solve", "chain-cc.json", "--formulation", "compact", "--out", "o.json"]) == 1
    err = capsys.readouterr().err
    assert (files / "o.json").read_text() == before
    assert ('kept the existing o.json: this run has no solution (termination infeasible); but o.json was made for a '
            'different instance: same name "chain", other content (instance digest') in err, err
    assert "(fix: do not use it as this instance's result; remove it, or give another --out)" in err
    doc = json.loads(before)
    del doc["instance_digest"]  # a result written before digests, with the fingerprint written before them
    from optdist.milp.export import instance_fingerprint

    doc["extra"]["instance_fingerprint"] = instance_fingerprint(load_instance(files / "chain.json"))
    (files / "o.json").write_text(json.dumps(doc))
    assert main(["solve", "chain-cc.json", "--formulation", "compact", "--out", "o.json"]) == 1
    assert 'other content (instance fingerprint' in capsys.readouterr().err
    del doc["extra"]["instance_fingerprint"]  # a result written before fingerprints
    (files / "o.json").write_text(json.dumps(doc))
    assert main(["solve", "chain-cc.json", "--formulation", "compact", "--out", "o.json"]) == 1
    assert 'o.json records no instance digest, so it may be a result of another version of "chain"' in \
        capsys.readouterr().err


def test_kept_out_of_this_instance_adds_nothing(files):
    from optdist.commands.solve import _made_for_other
    from optdist.milp.export import instance_fingerprint

    inst = load_instance(files / "chain.json")
    fp, digest = instance_fingerprint(inst), inst.content_digest()
    _write(files, "o.json", {"format": "optdist-result/1", "instance": "chain", "instance_digest": digest})
    assert _made_for_other(files / "o.json", inst) == ""
    _write(files, "o.json", {"format": "optdist-result/1", "instance": "chain", "extra": {"instance_fingerprint": fp}})
    assert _made_for_other(files / "o.json", inst) == ""  # a file written before instance_digest
    _write(files, "o.json", {"format": "optdist-result/1", "instance": "fc", "instance_digest": digest})
    assert _made_for_other(files / "o.json", inst).startswith('; but ')
