"""break14: checkpoints that are not what they claim. A damaged trained-target file
(models/weights/<name>.pt) was an internal error (exit 3) quoting torch's advice to retry with
weights_only=False; a damaged sidecar JSON named no file; a text file given as --weights was
'Unsupported operand 110'; the DefQ cache was read unchecked."""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from optdist.attacks import targets
from optdist.checkpoint import read_state_dict
from optdist.cli import main
from optdist.defences.defq_measure import DefQConfig, load_or_train_multiexit

from .conftest import ROOT

UNSAFE_ADVICE = "set to `False`"


class _Runs:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def files(tmp_path):
    real = ROOT / "models/weights/lenet.pt"
    out = {"text": tmp_path / "text.pt", "empty": tmp_path / "empty.pt", "dir": tmp_path,
           "evil": tmp_path / "evil.pt", "list": tmp_path / "list.pt", "cut": tmp_path / "cut.pt",
           "module": tmp_path / "module.pt"}
    out["text"].write_text("not torch")
    out["empty"].write_bytes(b"")
    torch.save({"x": _Runs(str(tmp_path / "RAN"))}, out["evil"])
    torch.save([torch.zeros(1)], out["list"])
    out["cut"].write_bytes(real.read_bytes()[:2000])
    torch.save(torch.nn.Linear(2, 2), out["module"])  # the whole network, not its state_dict: a common slip
    return out


@pytest.mark.parametrize("kind, words", [("text", "not a PyTorch file"), ("empty", "not a PyTorch file"),
                                         ("dir", "not a file"), ("evil", "refused by torch.load(weights_only=True)"),
                                         ("list", "not a state_dict"), ("cut", "not a readable PyTorch file"),
                                         ("module", "refused by torch.load(weights_only=True)")])
def test_read_state_dict_names_the_file_and_never_runs_code(files, kind, words, tmp_path):
    with pytest.raises(ValueError) as e:
        read_state_dict(files[kind], f"--weights {files[kind]}")
    text = str(e.value)
    assert text.startswith(f"--weights {files[kind]}: ") and words in text and "torch.save(net.state_dict()" in text
    assert UNSAFE_ADVICE not in text and "\n" not in text
    assert not (tmp_path / "RAN").exists()
    if kind == "evil":
        assert "posix.system" in text or "os.system" in text
    if kind == "module":  # torch's reason, not its advice to load with weights_only=False or to allowlist the class
        assert "torch.nn.modules.linear.Linear" in text
        assert "weights_only` argument" not in text and "add_safe_globals" not in text


def _weights_dir(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    for f in ("lenet.pt", "lenet.json"):
        shutil.copy(ROOT / "models/weights" / f, d / f)
    return d


def test_a_damaged_target_is_named_with_the_fix(tmp_path):
    d = _weights_dir(tmp_path)
    net, meta = targets.load("lenet", d)  # the real files load
    (d / "lenet.pt").write_text("oops")
    with pytest.raises(ValueError, match=r"lenet\.pt: not a PyTorch file.*optdist train-target lenet"):
        targets.load("lenet", d)
    shutil.copy(ROOT / "models/weights/lenet.pt", d / "lenet.pt")
    (d / "lenet.json").write_text('{"num_classes": 10')
    with pytest.raises(ValueError, match=r"lenet\.json: damaged target metadata"):
        targets.load("lenet", d)
    (d / "lenet.json").write_text("{}")
    with pytest.raises(ValueError, match=r"lenet\.json: damaged target metadata \(KeyError"):
        targets.load("lenet", d)


def test_the_cli_exits_2_on_a_damaged_target(tmp_path, capsys):
    d = _weights_dir(tmp_path)
    torch.save({"conv1.weight": torch.zeros(2)}, d / "lenet.pt")
    assert main(["calibrate", "lenet", "--weights-dir", str(d), "--samples", "8", "--test-samples", "2",
                 "--epochs", "1", "--out", str(tmp_path / "t.json"), "--no-progress"]) == 2  # was 3
    err = " ".join(capsys.readouterr().err.split())
    assert 'does not fit target "lenet"' in err and "internal error" not in err and not (tmp_path / "t.json").exists()


def test_a_damaged_defq_cache_is_named(tmp_path):
    cfg = DefQConfig(train_samples=10, epochs=1)
    path = tmp_path / f"multiexit-mnist-n{cfg.train_samples}-e{cfg.epochs}-s{cfg.seed}.pt"
    path.write_text("garbage")
    with pytest.raises(ValueError, match="not a PyTorch file.*delete .* retrain"):
        load_or_train_multiexit(cfg, None, cache=tmp_path)
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="does not fit the multi-exit CNN"):
        load_or_train_multiexit(cfg, None, cache=tmp_path)
