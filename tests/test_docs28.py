"""docs28: a whole number written as a decimal and out of range is told its range (never "write it
without the decimal point" with a number still out of range); privacy rows name a wrong "maps" against
the profile before the cells read against it; device type names "" or with invisible characters are
refused; messages quote names as JSON does; a layer listing itself as its input is told so."""

from __future__ import annotations

import copy
import json

import pytest

from optdist.devices import DeviceCatalogError, device_catalog
from optdist.privacy import PrivacyTableError, check_table, resolve_table, validate_table_file
from optdist.profiles import ProfileFileError, load_profile_file
from tests.conftest import ROOT

PROFILE = json.loads((ROOT / "models" / "profiles" / "lenet.json").read_text())
TABLE = json.loads((ROOT / "models" / "privacy" / "lenet-paper.json").read_text())


def _profile_problems(tmp_path, change) -> list[str]:
    doc = copy.deepcopy(PROFILE)
    change(doc)
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ProfileFileError) as e:
        load_profile_file(tmp_path / "p.json")
    return [f"{p.path}: {p.message} (fix: {p.fix})" for p in e.value.problems]


# before: 'fix: write it without the decimal point: "mults_per_segment": 1000000000000000052504760255...' (301 digits)
@pytest.mark.parametrize("field,value,lo", [("mults_per_segment", 1e300, 0), ("mults_per_segment", 1e20, 0),
                                            ("mults_per_segment", 1e16, 0), ("segments", 1e18, 1),
                                            ("mults_per_segment", -2.0, 0)])
def test_decimal_whole_number_out_of_range_is_told_its_range(tmp_path, field, value, lo):
    (msg,) = _profile_problems(tmp_path, lambda d: d["layers"][0].update({field: value}))
    assert f"layers[0].{field}: got {value:g}" in msg and f"out of range [{lo}, 1e+15]" in msg, msg
    assert "without the decimal point" not in msg and f'e.g. "{field}": ' in msg, msg
    example = int(msg.split(f'e.g. "{field}": ')[1].split(";")[0].split(")")[0])
    assert lo <= example <= 10**15


def test_decimal_whole_number_in_range_keeps_the_decimal_point_fix(tmp_path):
    (msg,) = _profile_problems(tmp_path, lambda d: d["layers"][0].update(segments=8.0))
    assert 'write it without the decimal point: "segments": 8' in msg, msg


def _table_problems(change, profile=True, tmp_path=None) -> list[str]:
    doc = copy.deepcopy(TABLE)
    change(doc)
    with pytest.raises(PrivacyTableError) as e:
        if profile:
            path = tmp_path / "t.json"
            path.write_text(json.dumps(doc))
            validate_table_file(path)
        else:
            check_table(doc, "t.json")
    return [f"{p.path}: {p.message} (fix: {p.fix})" for p in e.value.problems]


def test_privacy_maps_1e20_is_out_of_range():
    (msg,) = _table_problems(lambda d: d["rows"][0].update(maps=1e20), profile=False)
    assert "rows[0].maps: got 1e+20 (a number), out of range [1, 1e+15]" in msg and '"maps": 16' in msg, msg
    assert "without the decimal point" not in msg


# before: only 'rows[0].full_map_ssim: two all-maps values disagree: cells["800"] = 0.9 ...'
def test_privacy_wrong_maps_named_before_the_cells(tmp_path):
    (msg,) = _table_problems(lambda d: d["rows"][0].update(maps=800, cells={"4": 0.2, "800": 0.9}, ambiguous=[]),
                             tmp_path=tmp_path)
    assert msg == 'rows[0].maps: got "maps": 800, but "conv1" outputs 8 maps in the profile (fix: set "maps": 8)'
    # before: 'columns [8] exceed the row's 7 maps (fix: remove them or correct 'maps' (P of conv1))'
    (msg,) = _table_problems(lambda d: d["rows"][0].update(maps=7), tmp_path=tmp_path)
    assert msg == 'rows[0].maps: got "maps": 7, but "conv1" outputs 8 maps in the profile (fix: set "maps": 8)'


def test_privacy_column_above_a_right_maps_is_to_be_removed(tmp_path):
    (msg,) = _table_problems(lambda d: d["rows"][0].update(cells={"16": 0.5}), tmp_path=tmp_path)
    assert msg == ('rows[0].cells: column "16" is above the 8 maps of "conv1" ("maps": 8) (fix: remove it: a column '
                   'is a number of maps m from 1 to 8, e.g. "cells": {"4": 0.2, "8": 0.7})'), msg
    assert "correct" not in msg


def test_privacy_column_above_maps_without_profile_names_the_value():
    (msg,) = _table_problems(lambda d: d["rows"][0].update(maps=7), profile=False)
    assert msg == ('rows[0].cells: column "8" exceeds the row\'s "maps": 7 (fix: remove it, or set "maps" to the '
                   'number of maps of "conv1" (at least 8), e.g. "maps": 8)'), msg


def test_resolve_table_names_the_wrong_maps(tmp_path):
    doc = copy.deepcopy(TABLE)
    doc["rows"][0].update(maps=7)
    (tmp_path / "t.json").write_text(json.dumps(doc))
    with pytest.raises(PrivacyTableError) as e:
        resolve_table("lenet", "t.json", tmp_path)
    assert [p.path for p in e.value.problems] == ["rows[0].maps"], e.value


@pytest.mark.parametrize("name,words", [("", 'type name "" is empty'), (" ", 'type name " " is blank'),
                                        ("x\u200b", 'type name "x\\u200b" holds control or invisible characters')])
def test_catalog_type_names_empty_or_invisible_are_refused(tmp_path, name, words):
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"format": "optdist-device-catalog/1",
                                "devices": {name: {"memory": 5e8, "mults_per_s": 4e8, "rate": 9e6}}}))
    with pytest.raises(DeviceCatalogError) as e:
        device_catalog(path)
    (p,) = e.value.problems
    assert words in p.message and 'e.g. "devices": {"mycam": {' in p.fix, p


def test_json_quoting(tmp_path):
    (msg,) = _table_problems(lambda d: d["rows"].append(copy.deepcopy(d["rows"][0])), profile=False)
    assert 'tensor "conv1" has two rows' in msg, msg
    (msg,) = _table_problems(lambda d: d["rows"][0].update(tensor="convX"), tmp_path=tmp_path)
    assert '"convX" is not a layer of lenet ("conv1", ' in msg and "['" not in msg, msg
    doc = copy.deepcopy(TABLE)
    doc["cnn"] = "cifar"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match='privacy table is for CNN "cifar", not "lenet"'):
        resolve_table("lenet", "c.json", tmp_path)
    (tmp_path / "cat.json").write_text(json.dumps({"format": "optdist-device-catalog/1", "devices": {"x": {"memory": 1e9}}}))
    with pytest.raises(DeviceCatalogError) as e:
        device_catalog(tmp_path / "cat.json")
    assert 'new type "x" lacks "mults_per_s", "rate"' in e.value.problems[0].message
    (msg,) = _profile_problems(tmp_path, lambda d: d["layers"][1].update(name=d["layers"][0]["name"]))
    assert 'duplicate layer name "conv1"' in msg and '"name": "conv1_1"' in msg, msg


# before: 'layers[1].inputs: "ReLU1" comes at or after "ReLU1"'
def test_layer_as_its_own_input(tmp_path):
    msgs = _profile_problems(tmp_path, lambda d: d["layers"][1].update(inputs=[d["layers"][1]["name"]]))
    assert msgs[0] == ('layers[1].inputs: "ReLU1": a layer cannot be its own input (fix: name the layers whose '
                       'outputs "ReLU1" reads, e.g. "inputs": ["conv1"])'), msgs
