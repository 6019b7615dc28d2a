"""Privacy tables and the fixed Nf / split-point reading rules (MODEL.md section 6)."""

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import optdist
from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from optdist.privacy import (
    PrivacyRow,
    PrivacyTable,
    PrivacyTableError,
    check_table,
    limits_for,
    privacy_limits,
    resolve_table,
    round_ssim,
    table_warnings,
)
from optdist.profiles import load_profile
from tests.conftest import half_up


def nf_of(lim, prof, layer):
    return lim.nf[prof.index(layer)]


def test_paper_worked_example_cifar_tau_04():
    """Paper text: tau 0.4 -> Nf(ReLU11) 8, Nf(ReLU22) 16, Nf(ReLU32) 32 (cells read at one decimal)."""
    prof = load_profile("cifar")
    lim = limits_for("cifar", "paper", 0.4)
    # a layer is governed by the latest measured tensor at or before its input
    assert nf_of(lim, prof, "conv12") == 8  # input ReLU11
    assert nf_of(lim, prof, "conv31") == 16  # input pool2, after ReLU22
    assert nf_of(lim, prof, "pool3") == 32  # input ReLU32
    assert lim.governing[prof.index("ReLU11")] == "ReLU11"  # no row before: first row after
    assert lim.split_point == prof.n_layers  # ReLU32 leaks 0.6 > 0.4 with all maps: never
    assert lim.on_source[prof.index("fc1")]  # (10h): fc1 would see 128 > 32 maps


def test_strict_reading_without_rounding():
    table = resolve_table("cifar", "paper").model_copy(update={"ssim_decimals": None})
    lim = privacy_limits(load_profile("cifar"), table, 0.4)
    assert nf_of(lim, load_profile("cifar"), "pool3") == 16  # 0.41 > 0.4 strictly


@pytest.mark.parametrize("tau,sp", [(0.8, "pool3"), (0.6, "pool3")])
def test_cifar_split_point(tau, sp):
    prof = load_profile("cifar")
    lim = limits_for("cifar", "paper", tau)
    assert lim.split_point == prof.index(sp)
    assert all(c is None for c in lim.device_cap[lim.split_point:])


def test_lenet_uses_recorded_full_map_value():
    """ReLU2 has no 16-map cell: He et al.'s 0.7334 decides; SP at tau 0.8 is pool2, never at 0.6."""
    prof = load_profile("lenet")
    lim8 = limits_for("lenet", "paper", 0.8)
    assert lim8.split_point == prof.index("pool2")
    assert nf_of(lim8, prof, "ReLU2") == 4  # governed by conv1: SSIM(8)=0.99, SSIM(4)=0.2
    lim6 = limits_for("lenet", "paper", 0.6)
    assert lim6.split_point == prof.n_layers
    assert lim6.on_source[prof.index("fc1")]  # (10h): Nf 4 < 16 input maps
    assert not lim6.on_source[prof.index("fc2")] and lim6.device_cap[prof.index("fc2")] == 1


def test_missing_smaller_cells_inherit_and_nf_zero_goes_to_source():
    row = PrivacyRow(tensor="ReLU1", maps=8, cells={8: 0.9, 4: 0.7})
    assert row.ssim(2) == 0.7 and row.ssim(3) == 0.7 and row.ssim(16) == 0.9
    table = PrivacyTable(cnn="lenet", name="t", rows=[row])
    prof = load_profile("lenet")
    lim = privacy_limits(prof, table, 0.5)  # nothing <= 0.5: Nf = 0, every layer before SP on the source
    assert lim.nf[1] == 0 and all(lim.on_source[k] for k in range(prof.n_layers))
    assert privacy_limits(prof, table, 0.75).nf[1] == 4


def test_row_without_full_value_never_passes_split_point():
    row = PrivacyRow(tensor="conv1", maps=8, cells={4: 0.1})
    lim = privacy_limits(load_profile("lenet"), PrivacyTable(cnn="lenet", name="t", rows=[row]), 0.9)
    assert lim.split_point == load_profile("lenet").n_layers  # SSIM(all) = 1 assumed


def test_table_that_does_not_fit_the_cnn_is_rejected():
    bad = PrivacyTable(cnn="lenet", name="t", rows=[PrivacyRow(tensor="ReLU9", maps=8, cells={8: 0.5})])
    with pytest.raises(ValueError, match="not a layer of lenet"):
        privacy_limits(load_profile("lenet"), bad, 0.5)


def test_round_trip(tmp_path):
    t = resolve_table("vgg16", "paper")
    assert PrivacyTable.load(t.save(tmp_path / "t.json")) == t
    assert 64 in t.row("ReLU11").ambiguous


# --- SSIM*: non-monotone rows are read through the running maximum (MODEL.md section 6) ---

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"


def _table_doc(cells, tensor="ReLU1", maps=2, **top) -> dict:
    row = {"tensor": tensor, "maps": maps, "cells": cells}
    return {"format": "optdist-privacy-table/1", "cnn": "micro", "name": "t", "rows": [row], **top}


def _write(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _micro_with_table(tmp_path: Path, table_doc: dict, tau: float = 0.6) -> Path:
    _write(tmp_path / "table.json", table_doc)
    doc = json.loads(MICRO.read_text())
    doc.update(tau=tau, privacy={"micro": "table.json"})
    return _write(tmp_path / "inst.json", doc)


def test_one_map_leaking_more_than_tau_keeps_privacy_on(tmp_path):
    """{"1": 0.95, "2": 0.1} at tau 0.6: one map leaks 0.95, so SSIM*(2) = 0.95, Nf = 0, no split point.

    The old reading took the all-maps cell 0.1, put the split point on the first layer and
    lifted every cap; the result was called feasible.
    """
    prof = load_profile("micro")
    table = PrivacyTable.model_validate(_table_doc({"1": 0.95, "2": 0.1}))
    row = table.rows[0]
    assert row.ssim(1) == row.ssim(2) == row.ssim_all() == 0.95
    lim = privacy_limits(prof, table, 0.6)
    assert lim.split_point == prof.n_layers
    assert lim.nf[prof.index("ReLU1")] == lim.nf[prof.index("conv2")] == 0
    assert all(lim.on_source)  # (10h): every layer before SP runs on the source
    inst_path = _micro_with_table(tmp_path, _table_doc({"1": 0.95, "2": 0.1}))
    inst = load_instance(inst_path)
    for method in ("greedy", "milp"):
        res = optdist.solve(inst, method=method)
        assert res.evaluation.feasible, method
        own = res.assignment.owners[0]
        assert all((own[k] >= inst.n_devices).all() for k in range(prof.n_layers)), method  # no device holds a map


def test_vgg19_relu11_row_caps_at_the_running_maximum():
    """VGG19 ReLU11 reads 16 -> 0.88, 32 -> 0.81 (an ambiguous OCR cell): at tau 0.8, 16 maps leak 0.88,
    so Nf is 8, not 32 (the old max{m : SSIM(m) <= tau})."""
    table = resolve_table("vgg19", "paper")
    row = table.row("ReLU11")
    assert row.cells[16] == 0.88 and row.cells[32] == 0.81
    assert row.ssim(32) == 0.88 and row.ssim(16) == 0.88 and row.ssim(8) == 0.27
    assert table.nf(row, 0.8) == 8
    lim = limits_for("vgg19", "paper", 0.8)
    governed = [k for k, g in enumerate(lim.governing) if g == "ReLU11" and k < lim.split_point and lim.nf[k] is not None]
    assert governed and all(lim.nf[k] == 8 for k in governed)
    assert all(lim.device_cap[k] <= 8 for k in governed)


def test_nf_is_largest_m_with_every_smaller_measured_cell_within_tau():
    row = PrivacyRow(tensor="ReLU2", maps=16, cells={1: 0.2, 2: 0.5, 4: 0.3, 8: 0.4, 16: 0.9})
    table = PrivacyTable(cnn="lenet", name="t", rows=[row])
    assert [row.ssim(m) for m in (1, 2, 3, 4, 8, 16)] == [0.2, 0.5, 0.5, 0.5, 0.5, 0.9]
    assert table.nf(row, 0.45) == 1  # 4 and 8 leak <= 0.45, but 2 (a subset) leaks 0.5
    assert table.nf(row, 0.5) == 8
    # a missing smaller cell inherits the next larger one, then the running maximum applies
    gap = PrivacyRow(tensor="ReLU2", maps=16, cells={2: 0.7, 8: 0.3})
    assert gap.ssim(1) == 0.7 and gap.ssim(4) == 0.7 and gap.ssim(8) == 0.7 and gap.ssim(16) == 1.0
    # the recorded full-map value below a cell is lifted to it for the split point
    low_full = PrivacyRow(tensor="ReLU2", maps=16, cells={8: 0.8}, full_map_ssim=0.7)
    assert low_full.ssim_all() == 0.8


def test_rounding_commutes_with_the_running_maximum():
    row = PrivacyRow(tensor="ReLU1", maps=2, cells={1: 0.64, 2: 0.56})
    assert PrivacyTable(cnn="micro", name="t", ssim_decimals=1, rows=[row]).nf(row, 0.6) == 2  # 0.64 -> 0.6
    assert PrivacyTable(cnn="micro", name="t", rows=[row]).nf(row, 0.6) == 0  # 0.64 > 0.6 strictly



# --- ssim_decimals: cells are rounded half up on their written decimal, never read lower ---

def test_vgg16_paper_cells_at_a_half_read_up():
    """Python's round gives 0.8, 0.9 and 0.3 for these cells (it rounds the binary float)."""
    t = resolve_table("vgg16", "paper")
    assert t.ssim_decimals == 1
    assert t._cmp(t.row("ReLU22").cells[128]) == 0.9
    assert t._cmp(t.row("ReLU11").cells[16]) == 1.0
    assert t._cmp(t.row("ReLU43").cells[2]) == 0.4


def test_vgg16_paper_limits_after_half_up():
    """ReLU22 leaks 0.85 with all maps: at tau 0.8 the split point is past ReLU22's block (pool3, not
    pool2), whose layers get Nf 64; at tau 0.9 ReLU11's 0.95 at m = 16 caps its layers at 8 maps; at
    tau 0.3 ReLU43's 0.35 at m = 2 sends the layers it governs to the source."""
    prof = load_profile("vgg16")
    t = resolve_table("vgg16", "paper")
    lim8 = privacy_limits(prof, t, 0.8)
    assert lim8.split_point == prof.index("pool3") > prof.index("ReLU22")
    block = range(prof.index("pool2"), prof.index("pool3"))
    assert {lim8.governing[k] for k in block} == {"ReLU22"} and {lim8.nf[k] for k in block} == {64}
    assert {lim8.device_cap[k] for k in block} == {64}
    lim9 = privacy_limits(prof, t, 0.9)
    assert [lim9.nf[k] for k in range(1, prof.index("pool2"))] == [8] * 8
    lim3 = privacy_limits(prof, t, 0.3)
    after = range(prof.index("pool4"), prof.n_layers - 1)
    assert {lim3.governing[k] for k in after} == {"ReLU43"} and {lim3.nf[k] for k in after} == {0}
    assert all(lim3.on_source[k] for k in after)


@pytest.mark.parametrize("x", range(10))
def test_a_cell_at_a_half_reads_up_at_every_digit(x):
    """A cell 0.x5 at one decimal is read (x + 1) / 10: it exceeds tau x / 10 and meets tau (x + 1) / 10."""
    s = float(f"0.{x}5")
    row = PrivacyRow(tensor="ReLU1", maps=2, cells={1: s, 2: s})
    t = PrivacyTable(cnn="micro", name="t", ssim_decimals=1, rows=[row])
    assert round_ssim(s, 1) == t._cmp(s) == (x + 1) / 10
    assert t.nf(row, x / 10) == 0 and t.nf(row, (x + 1) / 10) == 2
    prof = load_profile("micro")
    assert privacy_limits(prof, t, x / 10).split_point == prof.n_layers  # never past ReLU1
    assert privacy_limits(prof, t, (x + 1) / 10).split_point == prof.index("ReLU1")
    assert PrivacyTable(cnn="micro", name="t", ssim_decimals=2, rows=[row]).nf(row, s) == 2  # 0.x5 at 2 decimals


def test_the_all_maps_check_compares_the_half_up_readings():
    """The m = P cell 0.85 and full_map_ssim 0.9 agree at one decimal (both 0.9); 0.84 and 0.9 do not."""
    row = {"tensor": "ReLU1", "maps": 2, "cells": {"2": 0.85}, "full_map_ssim": 0.9}
    doc = {"format": "optdist-privacy-table/1", "cnn": "micro", "name": "t", "ssim_decimals": 1, "rows": [row]}
    assert check_table(doc, "t.json").row("ReLU1").all_maps_value() == 0.85
    with pytest.raises(PrivacyTableError, match="disagree"):
        check_table({**doc, "rows": [{**row, "cells": {"2": 0.84}}]}, "t.json")


@given(n=st.integers(0, 10**8), places=st.integers(0, 8), decimals=st.integers(1, 6))
def test_a_cell_is_never_read_below_its_written_value_rounded(n, places, decimals):
    """Any decimal in [0, 1] as written in a table file (up to 8 places), parsed from JSON, is read as
    the written value rounded half up, so never below it rounded to the table's decimals."""
    digits = min(n, 10**places)
    s = json.loads(f"{digits}e-{places}")  # e.g. 85e-2, as JSON parses 0.85
    assert round_ssim(s, decimals) == half_up(Fraction(digits, 10**places), decimals)


@given(s=st.floats(0, 1), decimals=st.integers(1, 6))
def test_half_up_never_reads_below_rounding_the_float(s, decimals):
    """Nor below Python's round of the binary value, nor below its shortest decimal rounded half up."""
    assert round_ssim(s, decimals) >= round(s, decimals)
    assert round_ssim(s, decimals) == half_up(Fraction(repr(s)), decimals)
    assert round_ssim(s, None) == s

# --- strict validation: every defect names the file, the JSON path and the fix ---

BAD_CELLS = [
    ("NaN", 'rows[0].cells["2"]', "finite"),
    ("Infinity", 'rows[0].cells["2"]', "finite"),
    ("-Infinity", 'rows[0].cells["2"]', "finite"),
    ("1e400", 'rows[0].cells["2"]', "finite"),
    ("-0.2", 'rows[0].cells["2"]', "[0, 1]"),
    ("1.5", 'rows[0].cells["2"]', "[0, 1]"),
    ("true", 'rows[0].cells["2"]', "got true (a boolean); expected the mean SSIM"),
    ('"0.5"', 'rows[0].cells["2"]', 'got "0.5" (a string); expected the mean SSIM'),
    ("null", 'rows[0].cells["2"]', "got null; expected the mean SSIM"),
]


@pytest.mark.parametrize("value,path,what", BAD_CELLS, ids=[b[0] for b in BAD_CELLS])
def test_bad_cell_values_are_rejected_with_path_and_fix(tmp_path, value, path, what):
    text = json.dumps(_table_doc({"1": 0.3, "2": 0.5})).replace('"2": 0.5', f'"2": {value}')
    f = _write(tmp_path / "bad.json", text)
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(f)
    (p,) = e.value.problems
    assert p.path == path and what in p.message
    assert "[0, 1]" in p.fix or value == '"0.5"' and p.fix == 'write the number without quotes: "2": 0.5', p.fix
    assert str(f) in str(e.value)


@pytest.mark.parametrize("key", ["0", "-1", "01", "1.5", " 2", "+2", "two", ""])
def test_column_keys_must_be_plain_positive_integers(tmp_path, key):
    f = _write(tmp_path / "bad.json", _table_doc({key: 0.3, "2": 0.5}))
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(f)
    (p,) = e.value.problems
    assert p.path == f"rows[0].cells[{json.dumps(key)}]" and "positive" in p.message and "integer" in p.fix


def test_duplicate_rows_and_duplicate_keys_are_rejected(tmp_path):
    doc = _table_doc({"1": 0.95, "2": 0.96})
    doc["rows"].append({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.1, "2": 0.1}})
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "rows.json", doc))
    assert [p.path for p in e.value.problems] == ["rows[1].tensor"] and "two rows" in e.value.problems[0].message
    text = '{"format": "optdist-privacy-table/1", "cnn": "micro", "name": "t", "rows": [{"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.95, "2": 0.96, "1": 0.1}}]}'
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "keys.json", text))
    assert [p.path for p in e.value.problems] == ['rows[0].cells["1"]'] and "twice" in e.value.problems[0].message


@pytest.mark.parametrize("rows", [[], None])
def test_a_table_without_rows_is_an_error_not_no_privacy(tmp_path, rows):
    doc = _table_doc({"1": 0.5})
    doc["rows"] = rows
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "empty.json", doc))
    (p,) = e.value.problems
    assert p.path == "rows" and "null" in p.fix  # the explicit "no privacy limit" is null in the instance
    empty = PrivacyTable(cnn="micro", name="t", rows=[])  # buildable in memory, but never used
    with pytest.raises(PrivacyTableError, match="no rows"):
        privacy_limits(load_profile("micro"), empty, 0.6)


@pytest.mark.parametrize(
    "top,path,fix",
    [
        ({"format": "optdist-privacy-table/2"}, "format", "optdist-privacy-table/1"),
        ({"metric": "psnr"}, "metric", "ssim"),
        ({"ssim_decimals": -1}, "ssim_decimals", "1 to 6"),
        ({"ssim_decimals": 40}, "ssim_decimals", "1 to 6"),
        ({"ssim_decimals": True}, "ssim_decimals", "1 to 6"),
        ({"ssim_decimals": 1.0}, "ssim_decimals", 'write it without the decimal point: "ssim_decimals": 1'),
        ({"cnn": ""}, "cnn", "lenet"),
        ({"extra": 1}, "extra", "spelling"),
    ],
)
def test_table_level_fields_are_strict(tmp_path, top, path, fix):
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "bad.json", _table_doc({"1": 0.5, "2": 0.6}, **top)))
    assert [p.path for p in e.value.problems] == [path] and fix in e.value.problems[0].fix


def test_missing_format_is_reported(tmp_path):
    doc = _table_doc({"1": 0.5})
    del doc["format"]
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "bad.json", doc))
    assert [p.path for p in e.value.problems] == ["format"]


@pytest.mark.parametrize(
    "row,path,message",
    [
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2, "4": 0.9}}, "rows[0].cells", "exceed"),
        ({"tensor": "ReLU1", "maps": 0, "cells": {"1": 0.2}}, "rows[0].maps", "got 0 (a number); expected the tensor's number of maps P, a positive integer"),
        ({"tensor": "ReLU1", "maps": True, "cells": {"1": 0.2}}, "rows[0].maps", "got true (a boolean); expected the tensor's number of maps P, a positive integer"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "ambiguous": [True]}, "rows[0].ambiguous", "got [true] (a list); expected a list of integers"),
        ({"tensor": "ReLU1", "maps": 2.0, "cells": {"1": 0.2}}, "rows[0].maps", "got 2.0 (a number); expected the tensor's number of maps P, a positive integer"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {}}, "rows[0].cells", "measures nothing"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2, "2": 0.5}, "full_map_ssim": 0.9}, "rows[0].full_map_ssim", "disagree"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "full_map_ssim": 1.2}, "rows[0].full_map_ssim", "[0, 1]"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "spread": {"2": 0.1}}, "rows[0].spread", "no SSIM cell"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "spread": {"1": -0.1}}, 'rows[0].spread["1"]', "[0, 1]"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "psnr": {"1": "NaN"}}, 'rows[0].psnr["1"]', "number"),
        ({"tensor": "ReLU1", "maps": 2, "cells": {"1": 0.2}, "ambiguous": [2]}, "rows[0].ambiguous", "not measured"),
        ({"tensor": "", "maps": 2, "cells": {"1": 0.2}}, "rows[0].tensor", 'got "" (an empty string); expected the profile layer'),
    ],
)
def test_row_fields_are_strict(tmp_path, row, path, message):
    doc = _table_doc({})
    doc["rows"] = [row]
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(_write(tmp_path / "bad.json", doc))
    assert [p.path for p in e.value.problems] == [path] and message in e.value.problems[0].message
    assert e.value.problems[0].fix


def test_all_maps_values_agree_at_the_tables_decimals():
    """lenet-paper conv1: cell 0.99 and He et al.'s 0.9887 are one value at one decimal."""
    t = resolve_table("lenet", "paper")
    assert t.ssim_decimals == 1 and t.row("conv1").cells[8] == 0.99 and t.row("conv1").full_map_ssim == 0.9887


def test_privacy_limits_rechecks_a_table_edited_in_memory():
    table = resolve_table("micro", "synthetic").model_copy(deep=True)
    table.rows[0].cells[1] = math.nan
    with pytest.raises(PrivacyTableError, match=r'rows\[0\]\.cells\["1"\]'):
        privacy_limits(load_profile("micro"), table, 0.6)


def test_an_edited_table_file_is_read_again(tmp_path):
    f = _write(tmp_path / "t.json", _table_doc({"1": 0.3, "2": 0.5}))
    assert resolve_table("micro", str(f)).rows[0].cells[1] == 0.3
    _write(f, _table_doc({"1": 0.7, "2": 0.75}))
    assert resolve_table("micro", str(f)).rows[0].cells[1] == 0.7


def test_instance_naming_a_bad_table_is_invalid_with_file_path_and_fix(tmp_path, capsys):
    inst = _micro_with_table(tmp_path, _table_doc({"1": 0.3, "2": 1.5}))
    with pytest.raises(InstanceError) as e:
        load_instance(inst)
    (p,) = e.value.problems
    assert p.path == "privacy.micro" and str(tmp_path / "table.json") in p.message and 'rows[0].cells["2"]' in p.message
    assert main(["validate", str(inst)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and 'rows[0].cells["2"]' in out and "finite number in [0, 1]" in out
    assert main(["solve", str(inst)]) == 2  # one problem line per table problem, each with its one fix
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("  - ")]
    assert lines and all(ln.count("(fix:") == 1 and 'rows[0].cells["2"]' in ln for ln in lines)
    # a table that does not fit the CNN names the file too
    inst = _micro_with_table(tmp_path, _table_doc({"1": 0.3, "2": 0.5}, tensor="ReLU9"))
    with pytest.raises(InstanceError, match=r"(?s)table.json.*rows\[0\]\.tensor"):
        load_instance(inst)


def test_validate_warns_on_non_monotone_rows_naming_the_cells(tmp_path, capsys):
    inst = _micro_with_table(tmp_path, _table_doc({"1": 0.95, "2": 0.1}))
    assert main(["validate", str(inst)]) == 0  # a warning, not an error
    out = capsys.readouterr().out
    assert "ok" in out and "warning" in out and "rows[0] (ReLU1)" in out and "SSIM(2) = 0.1 < SSIM(1) = 0.95" in out
    assert main(["validate", str(ROOT / "models" / "privacy" / "vgg19-paper.json")]) == 0
    out = capsys.readouterr().out
    assert "privacy table vgg19-paper" in out and "SSIM(32) = 0.81 < SSIM(16) = 0.88, read as SSIM*(32) = 0.88" in out
    assert main(["validate", str(MICRO)]) == 0 and "warning" not in capsys.readouterr().out


def test_bundled_tables_are_valid_and_monotone_ones_warn_nothing():
    for f in sorted((ROOT / "models" / "privacy").glob("*.json")):
        t = PrivacyTable.load(f)
        assert t.check_against(load_profile(t.cnn)) == []
        warned = {w.split(":")[0] for w in table_warnings(t)}
        if t.cnn in ("vgg16", "vgg19"):
            assert warned  # OCR-read rows that fall with m
        else:
            assert not warned, f.name


def test_numpy_numbers_build_a_table_in_memory():
    """Calibration code may pass numpy scalars; they are numbers, booleans are not."""
    import numpy as np

    row = PrivacyRow(tensor="ReLU1", maps=np.int64(2), cells={np.int64(1): np.float32(0.25), 2: np.float64(0.5)}, ambiguous=[np.int32(2)])
    assert row.maps == 2 and row.cells == {1: 0.25, 2: 0.5} and type(row.maps) is int
    with pytest.raises(ValueError, match="expected the mean SSIM of the attack on m maps, a finite number"):
        PrivacyRow(tensor="ReLU1", maps=2, cells={1: np.bool_(True)})
