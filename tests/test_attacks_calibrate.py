"""Calibrated privacy tables: the CLI sweep end to end, and how a table moves Nf / split points."""

from __future__ import annotations

import json

import pytest

from optdist.privacy import PrivacyTable, privacy_limits, round_ssim, table_path
from optdist.profiles import load_profile

TAUS = (0.8, 0.6, 0.4)


def _limits(table: PrivacyTable, tau: float):
    return privacy_limits(load_profile(table.cnn), table, tau)


def test_shipped_lenet_table_is_valid_and_has_provenance():
    t = PrivacyTable.load(table_path("lenet", "calibrated"))
    assert t.check_against(load_profile("lenet")) == []
    assert [r.tensor for r in t.rows] == ["conv1", "ReLU2"]
    assert sorted(t.row("conv1").cells) == [1, 2, 4, 8] and sorted(t.row("ReLU2").cells) == [1, 2, 4, 8, 16]
    for key in ("command", "data", "target", "attack", "test_samples"):
        assert key in t.provenance
    assert t.provenance["target"]["test_accuracy"] > 0.97
    for r in t.rows:  # all maps leak at least as much as one map (up to the subset spread)
        assert r.cells[r.maps] >= r.cells[1] - 2 * r.spread[1]


def test_calibrated_table_changes_nf_where_it_differs_from_the_paper():
    """The split point is past ReLU2 exactly when ReLU2's all-map SSIM <= tau; Nf follows the cells."""
    cal = PrivacyTable.load(table_path("lenet", "calibrated"))
    paper = PrivacyTable.load(table_path("lenet", "paper"))
    profile = load_profile("lenet")
    pool2 = profile.index("pool2")
    differs = False
    for tau in TAUS:
        lc, lp = _limits(cal, tau), _limits(paper, tau)
        for t, lim in ((cal, lc), (paper, lp)):
            assert (lim.split_point <= pool2) == (round_ssim(t.row("ReLU2").ssim_all(), t.ssim_decimals) <= tau)
            if lim.split_point > pool2:  # pool2 is governed by ReLU2 and constrained
                assert lim.nf[pool2] == t.nf(t.row("ReLU2"), tau)
        differs |= (lc.split_point, lc.nf, lc.on_source) != (lp.split_point, lp.nf, lp.on_source)
    assert differs, "the calibrated table should move Nf or the split point somewhere"


def test_calibrated_lenet_limits_are_tighter_than_the_papers():
    """Our attack leaks more than the paper's Table 2 on every partial-map cell that decides Nf, so at
    every tau each layer's device cap is no larger and the source runs at least the same layers:
    a placement feasible under the calibrated table is feasible under the paper's (MILP optimum >=)."""
    cal = PrivacyTable.load(table_path("lenet", "calibrated"))
    paper = PrivacyTable.load(table_path("lenet", "paper"))
    for tau in TAUS:
        lc, lp = _limits(cal, tau), _limits(paper, tau)
        assert lc.split_point >= lp.split_point
        for k, (cc, cp) in enumerate(zip(lc.device_cap, lp.device_cap, strict=True)):
            assert lc.on_source[k] or not lp.on_source[k]
            if not lc.on_source[k]:
                assert cc is not None and (cp is None or cc <= cp)
    tight = _limits(cal, 0.8)  # ReLU2 with all 16 maps gives SSIM ~0.9 > 0.8: no split point
    assert tight.split_point == load_profile("lenet").n_layers and _limits(paper, 0.8).split_point < tight.split_point


def test_leakier_table_never_loosens_the_limits():
    """Raising cells (a stronger attack) gives Nf <= and a split point >= the original's."""
    base = PrivacyTable.load(table_path("lenet", "paper"))
    leaky = base.model_copy(deep=True)
    for r in leaky.rows:
        r.cells = {m: min(1.0, s + 0.3) for m, s in r.cells.items()}
        r.full_map_ssim = None if r.full_map_ssim is None else min(1.0, r.full_map_ssim + 0.3)
    for tau in TAUS:
        lb, ll = _limits(base, tau), _limits(leaky, tau)
        assert ll.split_point >= lb.split_point
        for k in range(lb.split_point):
            if lb.nf[k] is not None and ll.nf[k] is not None:
                assert ll.nf[k] <= lb.nf[k]


@pytest.mark.slow
@pytest.mark.learn
def test_calibrate_cli_end_to_end(tmp_path, capsys):
    pytest.importorskip("torch")
    from optdist.cli import main

    out, weights = tmp_path / "out", tmp_path / "w"
    table = tmp_path / "lenet-tiny.json"
    rc = main(
        ["calibrate", "lenet", "--layers", "conv1,ReLU2", "--maps", "2,9", "--subsets", "2", "--epochs", "1",
         "--samples", "400", "--test-samples", "40", "--target-samples", "1000", "--target-epochs", "1",
         "--name", "tiny", "--out", str(out), "--table", str(table), "--weights-dir", str(weights),
         "--threads", "1", "--no-progress"]
    )  # fmt: skip
    assert rc == 0
    t = PrivacyTable.load(table)
    assert t.name == "tiny" and sorted(t.row("conv1").cells) == [2, 8] and sorted(t.row("ReLU2").cells) == [2, 9, 16]
    assert t.row("ReLU2").spread[2] >= 0 and t.row("conv1").spread[8] == 0  # one subset of all maps
    assert "calibrate lenet" in t.provenance["command"] and t.provenance["attack"]["subsets"] == 2
    attacks = json.loads((out / "lenet-tiny-attacks.json").read_text())
    assert len(attacks) == 1 + 2 + 1 + 2 + 2
    assert (out / "lenet-tiny-grid.png").read_bytes()[:4] == b"\x89PNG"
    assert "Split point" in (out / "lenet-tiny-nf.md").read_text()
    assert (weights / "lenet.pt").exists() and json.loads((weights / "lenet.json").read_text())["epochs"] == 1
    for tau in TAUS:  # the table plugs into the placement model's reading rules
        assert _limits(t, tau).cnn == "lenet"
    shown = capsys.readouterr()
    assert "Nf (tau 0.4)" in shown.out
    assert "--maps 2,9: layer conv1 has 8 maps, so 9 are left out there" in shown.err  # not silently


@pytest.mark.learn
def test_report_markdown_of_the_shipped_table():
    pytest.importorskip("torch")
    from optdist.attacks.calibrate import nf_markdown, report_markdown

    md = report_markdown(PrivacyTable.load(table_path("lenet", "calibrated")))
    assert "## table 'calibrated'" in md and "## table 'paper'" in md and "| ReLU2 (16) | 0.9" in md
    unprofiled = PrivacyTable(cnn="orlvgg", name="x", rows=[])
    assert "No layer profile" in nf_markdown(unprofiled)
