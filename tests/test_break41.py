"""break41: a new user who brings their own network, devices and privacy table.

1. ``optdist profile --module :net`` (no module before the colon) said importlib's "Empty module
   name", naming neither the flag nor the fix; ``--module mynets:`` said 'mynets has no attribute ""'.
   Both are now "write MODULE:BUILDER" with examples, as ``--module mynets`` was.
2. ``--module notes.txt:net`` (a file that is not Python) tried to import the package ``notes``
   ("No module named 'notes'"); now it says the file is not a Python file and the fix.
3. A module that was found but failed to import (a syntax error in it; an import inside it of a
   package that is not installed) got the fix of a module not found: "run in the folder that holds
   it, or give its file". Now: the syntax error's file and line to correct; the package it imports.
4. A module whose ``forward`` raised its own error while torch.fx traced it was told "torch.fx
   cannot trace the module (RuntimeError: boom); write forward() without data-dependent control
   flow"; now its error, the file and line that raised it, and a forward pass that shows it.
5. The privacy-table warnings' fix for a table of the user's own network (a deeper row governing
   shallow layers; an elementwise layer's own output row stricter than its governing row) said
   ``optdist calibrate mynet --layers ...``, which is refused ("unknown target"): only the zoo
   targets calibrate by name. Now it is ``optdist calibrate mynet --module MOD:BUILDER --input
   C,H,W --images DIR --layers ...`` on the profile's input shape.
6. ``optdist devices --catalog FILE`` said "leave them out"; now "did you mean --devices-catalog?".
7. ``optdist calibrate`` of a network or table name with a / (or \\, or . or ..) wrote into a folder
   it made under --out (``OUT/a/b-calibrated.json``); refused before any attack, naming the fix.
8. ``optdist generate`` of your network without --privacy (default paper) said "e.g. a bundled name
   listed here" where none is: now its table file or none.
9. ``optdist validate TABLE PROFILE`` of your network's table said "ok" for rows that do not fit the
   profile; now checked against the profile of its name given beside it (else a note says unchecked).
"""

from __future__ import annotations

import json
import sys

import pytest

from optdist.cli import main
from optdist.privacy import CALIBRATE_TARGETS, calibrate_command, check_table, deeper_row_warnings
from optdist.profiles import load_profile
from tests.conftest import ROOT

MODULE_FORM = "write MODULE:BUILDER, e.g. mynets:small_cnn or path/to/file.py:Net"
NETS = """import torch.nn as nn

class Raises(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")

def raises():
    return nn.Sequential(nn.Conv2d(1, 2, 3), Raises())
"""


def profile_error(tmp_path, monkeypatch, capsys, spec: str) -> str:
    """``optdist profile --module spec`` run in ``tmp_path``: it must exit 2 and write no profile; its stderr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as `python -m optdist` run there: the folder is importable
    for name in ("nets_b41", "broken_b41", "needs_b41"):  # imported afresh from this test's folder
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert main(["profile", "--module", spec, "--input", "1,8,8", "--out", "p.json"]) == 2
    assert not (tmp_path / "p.json").exists()
    return capsys.readouterr().err


@pytest.mark.parametrize("spec", [":raises", "nets_b41:", " :raises"])
def test_module_spec_without_a_module_or_builder(spec, tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "nets_b41.py").write_text(NETS)
    err = profile_error(tmp_path, monkeypatch, capsys, spec)
    assert err == f'optdist profile: error: --module "{spec}": {MODULE_FORM}\n'


def test_module_file_that_is_not_python(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "notes_b41.txt").write_text(NETS)
    err = profile_error(tmp_path, monkeypatch, capsys, "notes_b41.txt:raises")
    assert err == ('optdist profile: error: --module "notes_b41.txt:raises": notes_b41.txt is a file but not a Python '
                   'file (fix: give a .py file, e.g. --module path/to/mynets.py:build, or a module name, e.g. '
                   'mynets:build)\n')


@pytest.mark.parametrize("by_file", [False, True])
def test_module_with_a_syntax_error_names_its_line(by_file, tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "broken_b41.py").write_text("import torch.nn as nn\n\ndef net(:\n    pass\n")
    err = profile_error(tmp_path, monkeypatch, capsys, "broken_b41.py:net" if by_file else "broken_b41:net")
    assert err.endswith(f"(fix: correct the syntax of {tmp_path / 'broken_b41.py'} at line 3)\n"), err
    assert "SyntaxError" in err and "run in the folder" not in err


@pytest.mark.parametrize("by_file", [False, True])
def test_module_importing_a_missing_package_names_it(by_file, tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "needs_b41.py").write_text("import no_such_package_b41\n")
    err = profile_error(tmp_path, monkeypatch, capsys, "needs_b41.py:net" if by_file else "needs_b41:net")
    where = "needs_b41.py" if by_file else "needs_b41"
    assert err.endswith(f"(fix: {where} imports no_such_package_b41, which is not found: install it, or run in "
                        "the folder that holds it)\n"), err


def test_module_not_found_keeps_its_fix(tmp_path, monkeypatch, capsys):
    """The fix of a module that is not there is unchanged (tests/test_break38.py)."""
    pytest.importorskip("torch")
    err = profile_error(tmp_path, monkeypatch, capsys, "absent_b41.sub:net")
    assert err.endswith("(fix: run in the folder that holds it, or give its file, e.g. "
                        "--module path/to/mynets.py:build)\n"), err


def test_forward_raising_while_traced_names_its_error(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    (tmp_path / "nets_b41.py").write_text(NETS)
    err = profile_error(tmp_path, monkeypatch, capsys, "nets_b41:raises")
    assert err == (f"optdist profile: error: raises: its forward raised RuntimeError: boom at "
                   f"{tmp_path / 'nets_b41.py'} line 5 while torch.fx traced it (fix: the error is your module's own; "
                   "a forward pass in Python, net(torch.zeros(1, 1, 8, 8)), shows its traceback)\n")


def test_fx_limits_keep_their_advice():
    """Control flow on a traced value is fx's limit, raised inside torch: the advice stays."""
    torch = pytest.importorskip("torch")
    from optdist.tracing import TraceError, profile_module

    class Branches(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x) if x.sum() > 0 else x

    with pytest.raises(TraceError, match=r"torch\.fx cannot trace the module \(TraceError: .*\); write forward\(\) "
                                         "without data-dependent control flow"):
        profile_module(torch.nn.Sequential(Branches(), torch.nn.ReLU()), (1, 8, 8))


def own_lenet(tmp_path):
    """The zoo LeNet's profile file as a user's network ``mynet`` and a table for it with only a deeper
    row (fc1): the shallow layers are governed by it, a warning whose fix names a calibrate command."""
    doc = json.loads((ROOT / "models" / "profiles" / "lenet.json").read_text())
    doc["cnn"] = "mynet"
    prof = tmp_path / "mynet.profile.json"
    prof.write_text(json.dumps(doc))
    table = {"format": "optdist-privacy-table/1", "cnn": "mynet", "name": "own", "metric": "ssim",
             "ssim_decimals": None, "provenance": {"source": "test"},
             "rows": [{"tensor": "fc1", "maps": 1, "cells": {"1": 0.3}}]}
    path = tmp_path / "mynet-own.json"
    path.write_text(json.dumps(table))
    return prof, path, table


def test_deeper_row_fix_for_your_network_is_a_command_that_runs(tmp_path, capsys):
    prof, table, _ = own_lenet(tmp_path)
    assert main(["profile", str(prof), "--privacy", str(table), "--tau", "0.6"]) == 0
    err = capsys.readouterr().err
    assert ("e.g. `optdist calibrate mynet --module MOD:BUILDER --input 1,28,28 --images DIR --layers conv1,fc1`)"
            in err), err
    assert "optdist calibrate mynet --layers" not in err


def test_output_row_fix_for_your_network_is_a_command_that_runs(tmp_path, capsys):
    prof, path, table = own_lenet(tmp_path)
    table["rows"] = [{"tensor": "ReLU1", "maps": 8, "cells": {"1": 0.3, "8": 0.5}},
                     {"tensor": "ReLU2", "maps": 16, "cells": {"1": 0.7, "16": 0.9}}]
    path.write_text(json.dumps(table))
    assert main(["profile", str(prof), "--privacy", str(path), "--tau", "0.6"]) == 0
    err = capsys.readouterr().err
    assert ("e.g. `optdist calibrate mynet --module MOD:BUILDER --input 1,28,28 --images DIR --layers "
            "ReLU1,conv2,ReLU2`)" in err), err


def test_a_zoo_target_keeps_its_calibrate_command(tmp_path):
    _, _, table = own_lenet(tmp_path)
    table["cnn"] = "lenet"
    warnings = deeper_row_warnings(check_table(table, "t.json"), load_profile("lenet"), "t.json")
    assert warnings and warnings[0].endswith("e.g. `optdist calibrate lenet --layers conv1,fc1`)")
    # a zoo CNN that calibrate does not train by name (`optdist calibrate vgg16`: "unknown target")
    assert calibrate_command("vgg16", load_profile("vgg16"), "ReLU11") == \
        "optdist calibrate vgg16 --module MOD:BUILDER --input 3,128,128 --images DIR --layers ReLU11"


def test_calibrate_targets_are_the_trainable_ones():
    pytest.importorskip("torch")
    from optdist.attacks.targets import TARGETS

    assert set(CALIBRATE_TARGETS) == set(TARGETS)


def test_devices_catalog_flag_by_its_last_word(capsys):
    assert main(["devices", "--catalog", "mydevices.json"]) == 2
    assert capsys.readouterr().err == ("optdist devices: error: unrecognized arguments --catalog mydevices.json (fix: did "
                                       "you mean --devices-catalog? `optdist devices --help` lists the flags)\n")


BYON = ROOT / "examples" / "byon"


@pytest.mark.parametrize("args, said", [
    (["x/y"], 'network name (CNN, or the "cnn" of the --profile file) "x/y" is no file name'),
    ([".."], 'network name (CNN, or the "cnn" of the --profile file) ".." is no file name'),
    (["--name", "a/b"], '--name "a/b" is no file name'),
])
def test_calibrate_name_that_is_no_file_name_is_refused(args, said, tmp_path, capsys):
    """7. ``optdist calibrate x/y --module ...`` (or ``--name a/b``, or a --profile whose "cnn" is "a/b",
    as ``optdist profile --name a/b`` writes) wrote its table and files into a folder ``OUT/x`` it made."""
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["calibrate", *args, "--module", f"{BYON / 'mynets.py'}:lenet_32_64", "--input", "1,28,28",
                 "--data", "natural", "--layers", "0", "--maps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "(fix: write it without / or \\, e.g. " in err, err
    assert list(out.iterdir()) == []


def test_calibrate_profile_named_with_a_slash_is_refused_before_the_attacks(tmp_path, capsys):
    pytest.importorskip("torch")
    prof = tmp_path / "slash.profile.json"
    assert main(["profile", "--module", f"{BYON / 'mynets.py'}:lenet_32_64", "--input", "1,28,28", "--out", str(prof)]) == 0
    prof.write_text(prof.read_text().replace('"cnn": "lenet_32_64"', '"cnn": "a/b"'))  # `profile --name a/b` is refused (left44)
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    assert main(["calibrate", "--module", f"{BYON / 'mynets.py'}:lenet_32_64", "--profile", str(prof), "--data",
                 "natural", "--layers", "0", "--maps", "1", "--out", str(out)]) == 2
    assert ('network name (CNN, or the "cnn" of the --profile file) "a/b" is no file name: the files calibrate writes '
            "take it (CNN-NAME.json and its -attacks.json, -grid.png, -nf.md) (fix: write it without / or \\, e.g. "
            "a-b)\n") in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_generate_your_network_without_privacy_says_it_has_no_bundled_table(tmp_path, capsys):
    """8. ``optdist generate --networks mynet=FILE --requests mynet=2`` without --privacy (its default:
    paper) said "(fix: give one of those, e.g. a bundled name listed here, ...)" where none is listed:
    a network of your own has no bundled tables."""
    prof, _, _ = own_lenet(tmp_path)
    out = tmp_path / "g.json"
    assert main(["generate", "--name", "g", "--networks", f"mynet={prof}", "--requests", "mynet=2", "--devices",
                 "rpi4=3", "--sources", "1", "--tau", "0.8", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.endswith("(fix: your network has no bundled tables (--privacy defaults to paper): give its table file, "
                        "e.g. --privacy mynet=mynet-privacy.json (`optdist calibrate --module` writes one), or "
                        "--privacy mynet=none)\n"), err
    assert not out.exists()


def test_generate_your_network_with_a_missing_table_file_suggests_no_bundled_name(tmp_path, capsys):
    """8b. ``--privacy mynet=nope.json`` (missing) said "or give a bundled name, e.g. --privacy
    mynet=paper", which is refused the same way: your network has none."""
    prof, _, _ = own_lenet(tmp_path)
    out = tmp_path / "g.json"
    assert main(["generate", "--name", "g", "--networks", f"mynet={prof}", "--requests", "mynet=2", "--devices",
                 "rpi4=3", "--sources", "1", "--tau", "0.8", "--privacy", "mynet=nope_b41.json", "--out", str(out)]) == 2
    assert capsys.readouterr().err.endswith("(fix: correct the path, or --privacy mynet=none)\n")
    assert not out.exists()


def test_validate_checks_your_table_against_your_profile_given_beside_it(tmp_path, capsys):
    """9. ``optdist validate TABLE PROFILE`` (a table of your network and its profile file, as
    ``optdist calibrate --profile`` writes them: the table's "cnn" is the profile's) said "ok" for a
    table whose rows do not fit the profile (a row's "maps" wrong): only a zoo CNN's table was
    checked against its layers. Now against the profile of its name given beside it; without one, a
    note says the rows were not checked."""
    prof, path, table = own_lenet(tmp_path)
    table["rows"] = [{"tensor": "ReLU1", "maps": 6, "cells": {"1": 0.3, "6": 0.5}}]  # ReLU1 has 8 maps
    path.write_text(json.dumps(table))
    assert main(["validate", str(path), str(prof)]) == 1
    out = capsys.readouterr().out
    assert f'{path}: INVALID, 1 problem(s)\n  rows[0].maps: got "maps": 6, but "ReLU1" outputs 8 maps' in out, out
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == (
        f'{path}: ok (privacy table mynet-own, 1 rows)\n  note: its rows are not checked against the layers of '
        f'"mynet": no zoo CNN, and no profile file whose "cnn" is "mynet" is given here (fix: give that profile file '
        f"too, `optdist validate {path} mynet.profile.json`, or validate the instance that names the table)\n")


def test_validate_warns_on_your_table_as_on_a_zoo_table(tmp_path, capsys):
    prof, path, _ = own_lenet(tmp_path)  # a deeper row (fc1) governs the shallow layers
    assert main(["validate", str(prof), str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: " in out and "governed by a deeper row" in out and "note: " not in out, out


def test_an_unknown_dataset_says_the_fix():
    """``calibrate --data nosuch`` listed the specs without a fix (break41's note)."""
    from optdist.attacks import datasets

    with pytest.raises(ValueError, match=r'^unknown dataset "nosuch": use one of .* \(fix: give one of those, e\.g\. '
                                         r"--data mnist, or --data folder:DIR for a folder of your images"):
        datasets.check_spec("nosuch")
