"""One attacker definition (optdist/attacks/attacker.py) for the privacy tables and the DP sweep.

What has to hold: calibration and the DP sweep take their adversary (images, budget, optimiser,
architecture, scored images) from one :class:`Attacker`; a table's attacker is read back from its
provenance; the DP sweep compared with a table uses that attacker or the stronger calibration
one; and both code paths, given the same attacker, train the same inverse network, so the DP
sweep's undefended row reproduces the table's all-maps cell exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optdist.attacks.attacker import CALIBRATION, Attacker, for_table, stronger
from optdist.privacy import resolve_table


def test_shipped_calibrated_table_records_the_calibration_attacker():
    prov = resolve_table("lenet", "calibrated").provenance  # written before the 'attacker' field: free text
    assert Attacker.from_provenance(prov) == CALIBRATION
    assert Attacker.from_provenance(resolve_table("lenet", "paper").provenance) is None  # the paper's: none
    assert for_table(resolve_table("lenet", "paper").provenance) == (CALIBRATION, "calibration attacker (the table records no attacker)")
    assert for_table(None)[0] == CALIBRATION


def test_record_round_trip_and_bad_records():
    a = dataclasses.replace(CALIBRATION, samples=9000, epochs=8)
    assert Attacker.from_record(a.record()) == a
    assert Attacker.from_provenance({"attacker": a.record(), "attack": {"epochs": 1}}) == a  # the record wins
    with pytest.raises(ValueError, match=r'unknown field\(s\) "budget"'):
        Attacker.from_record({**a.record(), "budget": 3})
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        Attacker(epochs=0)


def test_stronger_and_covers():
    weak = Attacker(samples=2000, epochs=5)  # the DP sweep's attacker before issue 12
    assert not weak.covers(CALIBRATION) and CALIBRATION.covers(weak) and CALIBRATION.covers(CALIBRATION)
    mixed = Attacker(samples=8000, epochs=2)
    both = stronger(mixed, CALIBRATION)
    assert (both.samples, both.epochs) == (8000, 6) and both.covers(mixed) and both.covers(CALIBRATION)
    assert not Attacker(lr=1e-3).covers(CALIBRATION)  # another optimiser: no order
    with pytest.raises(ValueError, match="not comparable"):
        stronger(Attacker(batch=32), CALIBRATION)
    big = {"attacker": dataclasses.replace(CALIBRATION, samples=9000).record()}
    assert for_table(big) == (Attacker(samples=9000), "the table's attacker")
    small = {"attacker": dataclasses.replace(CALIBRATION, samples=100, epochs=9).record()}
    assert for_table(small)[0] == Attacker(samples=5000, epochs=9)
    other = {"attacker": Attacker(lr=1e-3).record()}
    assert for_table(other)[0] == Attacker(lr=1e-3)  # no order: the table's own attacker must be met


@pytest.mark.learn
def test_calibration_and_dp_sweep_defaults_are_the_one_attacker():
    pytest.importorskip("torch")
    from optdist.attacks import calibrate, inversion
    from optdist.defences import dp_measure

    assert calibrate.Config().attacker() == CALIBRATION == dp_measure.SweepConfig().attacker
    assert (inversion.LR, inversion.BATCH) == (CALIBRATION.lr, CALIBRATION.batch)
    chosen, source = dp_measure.attacker_for("lenet", "calibrated")
    assert chosen == CALIBRATION and source["rule"] == "the table's attacker"


def _synthetic_mnist():
    """Random 28x28 'digits' with the MNIST split layout (no download, seconds to attack)."""
    from optdist.attacks.datasets import Dataset, Split

    rng = np.random.default_rng(0)

    def split(n):
        x = (rng.random((n, 1, 28, 28)) ** 3 * 255).astype(np.uint8)
        return Split(x, rng.integers(0, 10, n).astype(np.int64))

    return Dataset("mnist", {"train": split(300), "attack": split(240), "test": split(90)}, 10, "synthetic", "mnist")


@pytest.mark.learn
def test_dp_sweep_and_calibration_build_the_same_attacker(monkeypatch):
    torch = pytest.importorskip("torch")
    from optdist import zoo
    from optdist.attacks import calibrate, datasets, targets
    from optdist.defences import dp_measure

    torch.manual_seed(3)
    net = zoo.build("lenet").eval()
    meta = {"num_classes": 10, "data_spec": "mnist", "test_accuracy": None}
    ds = _synthetic_mnist()
    monkeypatch.setattr(datasets, "load", lambda spec, shape=None: ds)
    monkeypatch.setattr(targets, "load_or_train", lambda *a, **k: (net, meta))
    monkeypatch.setattr(dp_measure, "load_target", lambda cfg: (net, meta))
    torch.set_num_threads(1)
    # one config: 100 of the 240 attack images, 2 epochs, scored on 30 of the 90 test images
    cfg = calibrate.Config(layers=("ReLU2",), maps=(16,), subsets=1, samples=100, epochs=2, test_samples=30, show=2)
    table = calibrate.run(cfg, progress=False).table
    attacker = cfg.attacker()
    assert Attacker.from_provenance(table.provenance) == attacker  # the table records what it used
    sweep = dp_measure.SweepConfig(layers=("ReLU2",), eps=(), attacker=attacker, finetune_samples=100,
                                   accuracy_samples=50, rmle_samples=5, rmle_steps=2)  # fmt: skip
    res = dp_measure.run_sweep(sweep, progress=False)
    assert Attacker.from_record(res["attacker"]) == attacker
    plain = res["layers"]["ReLU2"]["rows"][0]
    assert plain["mode"] == "plain"
    # the same images, training and scoring: the undefended DP row is the table's all-maps cell
    assert round(plain["ssim_blackbox"], 4) == table.row("ReLU2").cells[16]
    # a different attacker (other images) gives another number: the check can fail
    other = dp_measure.run_sweep(dataclasses.replace(sweep, attacker=dataclasses.replace(attacker, data_seed=5)), progress=False)
    assert round(other["layers"]["ReLU2"]["rows"][0]["ssim_blackbox"], 4) != table.row("ReLU2").cells[16]


@pytest.mark.learn
def test_dp_sweep_cli_names_a_bad_privacy_table(tmp_path, capsys):
    pytest.importorskip("torch")
    from optdist.cli import main

    assert main(["dp-sweep", "--privacy-table", "nosuch", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--privacy-table nosuch" in err and '"calibrated"' in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
