"""dp_effect: the optimizer-facing answer per layer cut (numpy only)."""

from __future__ import annotations

import pytest

from optdist.defences import dp_effect as eff
from optdist.defences import dp_tables


def test_split_depth_counts_convs_up_to_the_cut():
    assert [eff.split_depth("lenet", la) for la in ("conv1", "pool1", "conv2", "ReLU2", "fc1")] == [1, 1, 2, 2, 2]
    assert eff.split_depth("cifar", "pool2") == 4


def test_paper_source_matches_table_prediction():
    e = eff.dp_effect("cifar", "ReLU12", 200.0, 0.2, source="paper")
    p = dp_tables.predict("CIFAR10", 2, 200.0)
    assert e.source == "paper" and e.accuracy_drop_pct == pytest.approx(p.norm_loss_pct)
    assert e.attacker_ssim == pytest.approx(0.15) and e.frees_downstream
    assert e.eps_device == 200.0 * 64 * 32 * 32  # all maps of a 64 x 32 x 32 tensor
    assert not eff.dp_effect("cifar", "ReLU12", 5000.0, 0.2, source="paper").frees_downstream
    assert "clamped" in eff.dp_effect("cifar", "pool3", 100.0, 0.2, source="paper").provenance


def _fake(acc_ft, ssim_bb, ssim_wb):
    def row(mode, eps, acc, bb, wb):
        return {"mode": mode, "eps": eps, "acc_noisy": acc, "acc_finetuned": acc} | {
            "ssim_blackbox": bb, "ssim_whitebox": wb
        }

    rows = [row("plain", None, 0.98, 0.7, 0.5)]
    rows += [row("dp", *v) for v in zip((1.0, 10.0, 100.0), acc_ft, ssim_bb, ssim_wb, strict=True)]
    return {"format": "optdist-dp-measured/1", "dataset": "mnist", "command": "t", "layers": {"ReLU2": {"rows": rows}}}


def test_measured_source_interpolates_in_log_eps(monkeypatch):
    fake = _fake((0.49, 0.882, 0.98), (0.1, 0.3, 0.6), (0.2, 0.25, 0.4))
    monkeypatch.setattr(eff, "load_measured", lambda cnn: fake if cnn == "lenet" else None)
    e = eff.dp_effect("lenet", "ReLU2", 10.0, 0.3)
    assert e.source == "measured" and e.accuracy_drop_pct == pytest.approx(10.0)
    assert e.attacker_ssim == pytest.approx(0.3) and e.frees_downstream  # max of black-/white-box
    mid = eff.dp_effect("lenet", "ReLU2", 10**1.5, 0.3, attack="whitebox")
    assert mid.attacker_ssim == pytest.approx(0.325) and not mid.frees_downstream
    later = eff.dp_effect("lenet", "fc1", 10.0, 0.3)  # governed by the latest measured tensor before it
    assert later.source == "measured" and "tensor ReLU2" in later.provenance
    assert eff.dp_effect("lenet", "pool1", 10.0, 0.3).source == "measured"  # none before: the first after
    assert eff.dp_effect("lenet", "pool1", 10.0, 0.3, source="paper").source == "paper"
    best = eff.best_eps("lenet", "ReLU2", 0.3, 15.0, grid=[1, 3, 10, 30, 100])
    assert best is not None and best.eps == 10


def test_measured_source_required(monkeypatch):
    monkeypatch.setattr(eff, "load_measured", lambda cnn: None)
    assert eff.dp_effect("lenet", "ReLU2", 10.0, 0.3).source == "paper"
    with pytest.raises(KeyError):
        eff.dp_effect("lenet", "ReLU2", 10.0, 0.3, source="measured")


def test_governing_rule():
    assert eff.governing_measured_layer("lenet", "conv2", ["pool1", "ReLU2"]) == "pool1"
    assert eff.governing_measured_layer("lenet", "conv1", ["pool1", "ReLU2"]) == "pool1"
    assert eff.governing_measured_layer("lenet", "fc2", ["pool1", "ReLU2"]) == "ReLU2"
    assert eff.governing_measured_layer("lenet", "fc2", []) is None


def test_running_max_never_understates(monkeypatch):
    fake = _fake((0.9, 0.95, 0.98), (0.1, 0.4, 0.3), (0.0, 0.0, 0.0))
    monkeypatch.setattr(eff, "load_measured", lambda cnn: fake)
    assert eff.dp_effect("lenet", "ReLU2", 100.0, 0.35, attack="blackbox").attacker_ssim == pytest.approx(0.4)


def test_analytic_modules_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from optdist.defences import dp, dp_tables, dp_effect, defq, latency\n"
        "dp_effect.dp_effect('cifar', 'pool1', 100.0, 0.3)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
