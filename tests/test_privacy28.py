"""Privacy tables speak the user's terms like instances, catalogs and profiles (one translation of
pydantic's errors, optdist.jsonfile.schema_problems with the table's Schema), and `optdist validate`
of a file that is JSON but no object claims no kind it cannot know."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from optdist import privacy
from optdist.cli import main
from optdist.privacy import PrivacyTable, PrivacyTableError, check_table

ROOT = Path(__file__).resolve().parents[1]
BASE = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())
#: pydantic's words, which a user never sees
PYDANTIC = re.compile(r"Input should|Extra inputs|Field required|valid dictionary|instance of|String should|"
                      r"PrivacyRow|PrivacyTable|model_type|dict_type")


def _broken(change) -> dict:
    doc = copy.deepcopy(BASE)
    change(doc)
    return doc


def _row(**fields):
    return lambda d: d["rows"][0].update(fields)


CASES = [  # (change, JSON path, message, fix): the exact words
    (lambda d: d.update(extra=1), "extra", 'unknown field "extra" (value 1) in the privacy table',
     'remove it or correct its spelling; the fields of the privacy table are "format", "cnn", "name", "metric", '
     '"ssim_decimals", "provenance", "rows"'),
    (lambda d: d["rows"][0].update(cels={"4": 0.2}), "rows[0].cels", 'unknown field "cels" (value {"4": 0.2}) in a row',
     'did you mean "cells"? remove it or correct its spelling; the fields of a row are "tensor", "maps", "cells", '
     '"spread", "psnr", "full_map_ssim", "ambiguous", "note"'),
    (lambda d: d.pop("cnn"), "cnn",
     "required field missing; expected the name of the CNN the table is for (a zoo name or a profile's cnn), a "
     "non-empty string", 'add "cnn": "lenet"'),
    (lambda d: d.update(name=None), "name",
     'got null; expected the table\'s name (instances name it in "privacy"), a non-empty string',
     'write a string, in quotes, e.g. "name": "calibrated"'),
    (lambda d: d.update(metric=1), "metric", 'got 1 (a number); expected "ssim"', 'write a string, in quotes, e.g. "metric": "ssim"'),
    (lambda d: d.update(provenance="paper"), "provenance",
     'got "paper" (a string); expected an object saying where the values come from',
     'write an object, in braces, e.g. "provenance": {"source": "optdist calibrate, 20 attacks per cell"}'),
    (lambda d: d.update(rows={"tensor": "conv1", "maps": 8, "cells": {"4": 0.2}}), "rows",
     'got {"tensor": "conv1", "maps": 8, "cells": {"4": 0.2}} (an object); expected a list of rows, one per attacked '
     "tensor, with at least one row",
     'put the row in a list, in square brackets: "rows": [{"tensor": "conv1", "maps": 8, "cells": {"4": 0.2}}]'),
    (lambda d: d["rows"].__setitem__(0, "conv1"), "rows[0]",
     'got "conv1" (a string); expected a row, an object with the fields tensor, maps and cells',
     'write an object, in braces, e.g. {"tensor": "ReLU2", "maps": 16, "cells": {"4": 0.2, "16": 0.7}}'),
    (_row(tensor=3), "rows[0].tensor",
     "got 3 (a number); expected the profile layer whose output tensor was attacked, a non-empty string",
     'write it in quotes: "tensor": "3"'),
    (_row(maps="8"), "rows[0].maps", 'got "8" (a string); expected the tensor\'s number of maps P, a positive integer',
     'write the number without quotes: "maps": 8'),
    (_row(maps=8.0), "rows[0].maps", "got 8.0 (a number); expected the tensor's number of maps P, a positive integer",
     'write it without the decimal point: "maps": 8'),
    (lambda d: d["rows"][0]["cells"].update({"4": "0.2"}), 'rows[0].cells["4"]',
     'got "0.2" (a string); expected the mean SSIM of the attack on m maps, a finite number in [0, 1]',
     'write the number without quotes: "4": 0.2'),
    (_row(cells=[0.2, 0.9]), "rows[0].cells",
     "got [0.2, 0.9] (a list); expected an object from each number of maps m to the mean SSIM of the attack on m maps",
     'name each value by its number of maps, in braces: "cells": {"4": 0.2, "8": 0.7}'),
    (_row(full_map_ssim="0.98"), "rows[0].full_map_ssim",
     'got "0.98" (a string); expected the SSIM of the attack on all P maps, a finite number in [0, 1]',
     'write the number without quotes: "full_map_ssim": 0.98'),
    (_row(ambiguous=8), "rows[0].ambiguous",
     "got 8 (a number); expected a list of integers, the columns (numbers of maps) whose value is uncertain",
     'put it in a list, in square brackets: "ambiguous": [8]'),
    (_row(ambiguous=["8"]), "rows[0].ambiguous",
     'got ["8"] (a list); expected a list of integers, the columns (numbers of maps) whose value is uncertain',
     'write the columns without quotes: "ambiguous": [8]'),
    (lambda d: d.update(ssim_decimals="1"), "ssim_decimals",
     'got "1" (a string); expected the number of decimals the cells are rounded to before they meet tau, an integer from 1 to 6, or null',
     'write the number without quotes: "ssim_decimals": 1'),
    (lambda d: d.update(format="optdist-privacy-table/2"), "format",
     'got "optdist-privacy-table/2", an unknown format; expected the text "optdist-privacy-table/1"',
     'set "format": "optdist-privacy-table/1"'),
]


@pytest.mark.parametrize("change,path,message,fix", CASES, ids=[c[1] for c in CASES])
def test_a_broken_table_says_path_value_kind_expected_and_fix(tmp_path, capsys, change, path, message, fix):
    f = tmp_path / "mytable.json"
    f.write_text(json.dumps(_broken(change)))
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(f)
    assert [(p.path, p.message, p.fix) for p in e.value.problems] == [(path, message, fix)]
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert f"  {path}: {message}\n      fix: {fix}\n" in out and not PYDANTIC.search(out), out


def test_an_instance_naming_a_broken_table_gives_the_same_words(tmp_path, capsys):
    (tmp_path / "t.json").write_text(json.dumps(_broken(lambda d: d["rows"][0].update(cels={"4": 0.2}))))
    doc = json.loads((ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json").read_text())
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({**doc, "privacy": {"lenet": "t.json"}}))
    assert main(["validate", str(inst)]) == 1
    out = capsys.readouterr().out
    assert f'privacy.lenet: {tmp_path / "t.json"}: rows[0].cels: unknown field "cels" (value {{"4": 0.2}}) in a row' in out
    assert 'did you mean "cells"?' in out and not PYDANTIC.search(out), out


def test_every_bundled_table_is_still_valid(capsys):
    tables = sorted((ROOT / "models" / "privacy").glob("*.json"))
    assert tables and main(["validate", *map(str, tables)]) == 0, capsys.readouterr().out


def test_a_table_that_is_no_object_says_so_with_the_tables_form():
    with pytest.raises(PrivacyTableError) as e:
        check_table([BASE], "t.json")
    (p,) = e.value.problems
    assert p.message.startswith("got [{") and p.message.endswith("(a list); the privacy table must be a JSON object")
    assert p.fix == "remove the square brackets around the object: a file holds one privacy table"
    with pytest.raises(PrivacyTableError) as e:
        check_table(42, "t.json")
    (p,) = e.value.problems
    assert p.message == "got 42 (a number); the privacy table must be a JSON object"
    assert p.fix.startswith('write the table as an object: {"format": "optdist-privacy-table/1", "cnn": "lenet"')


def test_one_translator_only():
    """The table's own translation of pydantic's errors is gone: jsonfile.schema_problem is the one."""
    assert not hasattr(privacy, "_json_path")
    source = Path(privacy.__file__).read_text()
    assert source.count("_FIXES = {") == 1 and "e[\"msg\"]" not in source
    assert privacy.SCHEMA.what == "the privacy table"


# --- validate: a file that is JSON but no object ---------------------------------------------------

OBJECT = ('every optdist document (instance, privacy table, profile, device catalog) is a JSON object {...} whose '
          '"format" names its kind')
NOT_OBJECT = [  # (file name, its text, the end of the message, the fix)
    ("x.json", "[]", "got [] (an empty list); " + OBJECT,
     'write one object whose "format" names its kind, e.g. {"format": "optdist-instance/1", ...} for an instance, '
     '{"format": "optdist-privacy-table/1", ...} for a privacy table, {"format": "optdist-device-catalog/1", ...} for '
     "a device catalog (instances/ and models/ hold examples)"),
    ("x.json", "42", "got 42 (a number); " + OBJECT, None),
    ("x.json", json.dumps([{"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.5}}]),
     'got [{"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.5}}] (a list); ' + OBJECT + "; this list holds privacy-table rows",
     'put the rows in a privacy table: {"format": "optdist-privacy-table/1", "cnn": "lenet", "name": "mine", "rows": [...]}'),
    ("x.json", json.dumps([{"format": "optdist-device-catalog/1", "devices": {}}]),
     'got [{"format": "optdist-device-catalog/1", "devices": {}}] (a list); ' + OBJECT,
     "remove the square brackets around the object: a file holds one device catalog"),
    ("mydevices.json", "[1, 2]", "got [1, 2] (a list); " + OBJECT + "; the file's name suggests a device catalog",
     'write the device catalog as one object: {"format": "optdist-device-catalog/1", "devices": {"mycam": '
     '{"memory": 1073741824, "mults_per_s": 560e6, "rate": 9025000}}}'),
    ("lenet-privacy.json", "[]", "got [] (an empty list); " + OBJECT + "; the file's name suggests a privacy table", None),
    ("myprofile.json", '[{"name": "conv1"}]', 'got [{"name": "conv1"}] (a list); ' + OBJECT
     + "; the file's name suggests a profile", None),
    ("x.json", json.dumps([{"name": "c", "kind": "conv", "segments": 2, "out_maps": 2}]), None,
     'put the layers in a profile: {"format": "optdist-profile/2", "cnn": "mynet", ..., "layers": [...]} '
     "(`optdist profile --module pkg.mod:builder --input C,H,W --out FILE` writes one)"),
]


@pytest.mark.parametrize("name,text,message,fix", NOT_OBJECT, ids=[f"{n}:{t[:20]}" for n, t, _, _ in NOT_OBJECT])
def test_validate_of_a_non_object_claims_no_kind_it_cannot_know(tmp_path, capsys, name, text, message, fix):
    f = tmp_path / name
    f.write_text(text)
    assert main(["validate", str(f)]) == 1
    out = capsys.readouterr().out
    assert "the instance must be" not in out and "read as an instance" not in out, out
    lines = out.splitlines()
    assert lines[0] == f"{f}: INVALID, 1 problem(s)" and lines[1].startswith("  (document): got "), out
    assert message is None or lines[1] == f"  (document): {message}", out
    assert fix is None or lines[2] == f"      fix: {fix}", out
