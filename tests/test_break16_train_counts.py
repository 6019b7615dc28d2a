"""Zero or negative epochs and image counts are refused before anything is trained or saved
(break16: `optdist train-target lenet --epochs 0` and `--samples 0` saved an untrained LeNet,
test accuracy 0.098, over models/weights/lenet.pt with exit 0; `--samples -5` ended in numpy's
"negative dimensions are not allowed")."""

from __future__ import annotations

import pytest

from optdist.cli import main


@pytest.mark.parametrize("args, flag", [
    (["train-target", "lenet", "--epochs", "0"], "--epochs"),
    (["train-target", "lenet", "--samples", "0"], "--samples"),
    (["train-target", "lenet", "--samples", "-5"], "--samples"),
    (["calibrate", "lenet", "--target-epochs", "0"], "--target-epochs"),
    (["calibrate", "lenet", "--target-samples", "0"], "--target-samples"),
    (["calibrate", "lenet", "--test-samples", "0"], "--test-samples"),
])
def test_a_count_below_one_is_refused_and_nothing_is_written(tmp_path, capsys, args, flag):
    assert main([*args, "--weights-dir", str(tmp_path)]) == 2
    assert f"error: {flag} {args[-1]} is out of range (fix: " in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("field", ["epochs", "samples"])
def test_the_library_refuses_them_too(field):
    pytest.importorskip("torch")
    from optdist.attacks import datasets, targets

    with pytest.raises(ValueError, match=rf"target {field} = 0: give a whole number >= 1"):
        targets.train(targets.spec("lenet"), datasets.load_mnist(), **{field: 0}, progress=False)
