"""fix32b: defects left by the rl31/rlfix31 sessions (real torch training on tiny instances, real
HiGHS; no mocks).

2. ``optdist diagnose`` passes its own gap of 1 raw where the solver profile sets a raw gap
   (``mip_rel_gap``), so the solver stops at the first incumbent: the solver's own log says the
   tolerance it was given.
3. A DQN checkpoint kept the replay buffer as float32 arrays: 330.7 MB for the 70-device VGG training
   (50,000 rows of 815-value observations); now packed (:data:`optdist.rl.train.BUFFER_ENCODING`),
   still read with ``torch.load(weights_only=True)``, its size said, resumed bit for bit.
4. ``train(..., on_episode=...)`` refused a checkpoint: now both (on_episode called as usual, the
   checkpoints written and resumed).
5. A checkpoint's two files are renamed with SIGINT/SIGTERM held back, so that a second Ctrl-C does not
   leave a .pt and a .json of two saves; the hold (``pthread_sigmask`` of the main thread) held
   nothing where another thread runs (train-rl's tqdm monitor): the kernel gave the signal to that
   thread and Python ran the handler between the renames. Now held by swapping the handlers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402

from .conftest import ROOT, requires_solver  # noqa: E402

pytestmark = pytest.mark.learn

MICRO = ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json"
LENET = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


# --- 2. diagnose: its gap of 1 passed raw over a profile's raw gap ---------------------------------------------------

@requires_solver("highs")
def test_diagnose_gives_highs_its_gap_of_1_raw_over_a_profiles_raw_gap(tmp_path, capsys):
    """The profile asks for mip_rel_gap 1e-4 raw; the diagnosis's relaxations stop at the first
    incumbent, so HiGHS must be given mip_rel_gap 1: its log's "Gap ... (tolerance: 100%)" says what
    it got (without the fix: "tolerance: 0.01%")."""
    log = tmp_path / "highs.log"
    profile = tmp_path / "gapped.toml"
    profile.write_text(f'name = "gapped"\nsolver = "highs"\n[solver_options]\nmip_rel_gap = 0.0001\n'
                       f'log_file = "{log}"\noutput_flag = true\nlog_to_console = false\n')
    rc = main(["diagnose", str(MICRO), "--solver", str(profile), "--families", "privacy"])
    out = capsys.readouterr().out
    assert rc == 0 and "full MILP: feasible" in out, out
    said = re.findall(r"\(tolerance: ([^)]*)\)", log.read_text())
    assert said and set(said) == {"100%"}, log.read_text()[-2000:]
    # the same profile through solve keeps its own raw gap: the log is the evidence, not a constant
    log.unlink()
    assert main(["solve", str(MICRO), "--solver", str(profile), "--out", str(tmp_path / "r.json")]) == 0
    assert set(re.findall(r"\(tolerance: ([^)]*)\)", log.read_text())) == {"0.01%"}, log.read_text()[-2000:]


# --- 3. the replay buffer packed in checkpoint.pt --------------------------------------------------------------------

def _train(folder: Path, episodes: int, **kw):
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    inst = load_instance(LENET)
    return train(inst, preset_for(inst), episodes=episodes, masked=True, double=True, reward="stage", seed=3,
                 progress=False, checkpoint=folder, **kw)


def test_the_replay_buffer_is_packed_read_weights_only_and_its_size_said(tmp_path, caplog):
    from optdist.rl.train import BUFFER_ENCODING, BUFFER_FIELDS

    folder = tmp_path / "ck"
    with caplog.at_level(logging.INFO, logger="optdist"):
        res = _train(folder, 80, checkpoint_every=60)
    pt = folder / "checkpoint.pt"
    meta = json.loads((folder / "checkpoint.json").read_text())
    assert meta["episodes"] == 60 and meta["buffer_encoding"] == BUFFER_ENCODING
    state = torch.load(pt, weights_only=True)  # tensors and plain containers only: nothing unpickled
    assert all(state["buffer"][k].dtype == torch.uint8 and state["buffer"][k].dim() == 1 for k in BUFFER_FIELDS)
    n = meta["buffer_size"]
    raw = sum(getattr(res.agent.buffer, k)[:n].nbytes for k in BUFFER_FIELDS)  # before: all of it in the file
    packed = sum(state["buffer"][k].numel() for k in BUFFER_FIELDS)
    assert n > 300 and packed < raw / 4 and pt.stat().st_size < raw, (packed, pt.stat().st_size, raw)
    said = [r.getMessage() for r in caplog.records if str(pt) in r.getMessage()]
    size = r"\d+(\.\d)? [kM]B"
    assert said and re.search(rf"wrote {re.escape(str(pt))} \({size}; the replay buffer's {n} rows packed: {size} "
                              rf"of {size}\)", said[0]), said


def test_a_damaged_packed_buffer_is_refused_naming_the_field_and_the_fix(tmp_path, capsys):
    from optdist.rl.presets import preset_for
    from optdist.rl.train import train

    folder = tmp_path / "ck"
    inst = load_instance(MICRO)
    train(inst, preset_for(inst), episodes=60, checkpoint=folder, checkpoint_every=40, progress=False)
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    state["buffer"]["obs"] = state["buffer"]["obs"][:-7]  # cut short
    torch.save(state, folder / "checkpoint.pt")
    assert main(["train-rl", str(MICRO), "--resume", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt: field buffer.obs" in err and "fix: delete the checkpoint" in err and "Traceback" not in err, err


# --- 4. on_episode with checkpoints -----------------------------------------------------------------------------------

def test_on_episode_runs_with_checkpoints_and_a_resume_ends_bit_for_bit(tmp_path):
    """Before: ValueError "a checkpoint keeps a training without on_episode". Now the checkpoint is
    written as without on_episode, on_episode is called before every episode > 0, also after a
    resume (from the checkpoint's episode), and the resumed weights are the uninterrupted run's."""
    whole, seen = [], []
    uninterrupted = _train(tmp_path / "whole", 80, checkpoint_every=60, on_episode=lambda i, env, agent: whole.append(i))
    assert whole == list(range(1, 80))
    assert json.loads((tmp_path / "whole" / "checkpoint.json").read_text())["episodes"] == 60
    # the checkpoint at episode 60 (train() leaves it; train-rl removes it at the end), resumed to 80
    resumed = _train(tmp_path / "whole", 80, resume=True, on_episode=lambda i, env, agent: seen.append(i))
    assert seen == list(range(60, 80)) and resumed.config["resumed_at"] == 60
    a, b = uninterrupted.agent.q.state_dict(), resumed.agent.q.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.curves.equals(uninterrupted.curves)


# --- 5. a Ctrl-C between the checkpoint's two renames comes after both ------------------------------------------------

_AT_RENAME: list[str] = []  # the file whose rename sends SIGINT (once), for the audit hook below
_HOOKED = False


def _sigint_at_rename(event: str, args: tuple) -> None:
    if event == "os.rename" and _AT_RENAME and os.fspath(args[1]).endswith(_AT_RENAME[0]):
        _AT_RENAME.clear()
        os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_between_the_checkpoints_renames_comes_after_both(tmp_path, sigint_handled):
    """A real SIGINT sent as checkpoint.json is renamed into place (Python's audit event of the
    rename), while another thread runs as tqdm's monitor does in train-rl. Before: the
    KeyboardInterrupt came right after that rename, so checkpoint.pt stayed the earlier save's
    (a checkpoint --resume refuses: files of two saves); now after both renames."""
    global _HOOKED
    from optdist.rl.train import write_checkpoint

    write_checkpoint(tmp_path, {"save_id": "one"}, {"save_id": "one"})
    if not _HOOKED:  # an audit hook stays for the process: one, inert unless armed
        sys.addaudithook(_sigint_at_rename)
        _HOOKED = True
    done = threading.Event()
    threading.Thread(target=done.wait, daemon=True).start()
    _AT_RENAME.append("checkpoint.json")
    try:
        with pytest.raises(KeyboardInterrupt):
            write_checkpoint(tmp_path, {"save_id": "two"}, {"save_id": "two"})
    finally:
        _AT_RENAME.clear()
        done.set()
    assert json.loads((tmp_path / "checkpoint.json").read_text())["save_id"] == "two"
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["save_id"] == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.pt"]  # no temporary left
