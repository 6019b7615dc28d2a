"""Privacy tables and the fixed Nf / split-point reading rules (MODEL.md section 6)."""

import pytest

from optdist.privacy import PrivacyRow, PrivacyTable, limits_for, privacy_limits, resolve_table
from optdist.profiles import load_profile


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
