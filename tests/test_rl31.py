"""review31 (rl31): `optdist train-rl` keeps a checkpoint (every --checkpoint-every episodes and when a
signal stops it) and `--resume` continues from it to the policy an uninterrupted training gets, bit
for bit; a checkpoint of other settings is refused, naming the field and the fix. A Ctrl-C while the
trained policy places the requests stops at once (a second one too), without a traceback or a
partial file. MaskablePPO keeps one at the start of every rollout and resumes the same way."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")

import torch  # noqa: E402

from optdist.cli import main  # noqa: E402
from optdist.instance import load_instance  # noqa: E402

from .helpers import read_until  # noqa: E402

pytestmark = pytest.mark.learn

ROOT = Path(__file__).resolve().parents[1]
TINY_INSTANCE = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"
LARGE_INSTANCE = ROOT / "instances" / "coupled" / "lenet-250x70-nexus-rpi3.json"  # its placement takes seconds


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "optdist", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "policy.pt", weights_only=True)


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.slow
def test_sigint_then_resume_ends_with_the_uninterrupted_policy(tmp_path):
    """A real SIGINT stops a DQN training (exit 130) and leaves checkpoint.pt/.json beside the policy;
    `train-rl ... --resume` continues it to the end (exit 0, checkpoint removed) and, for the seed,
    ends with the weights and curves of the same training run uninterrupted, bit for bit (the replay
    buffer is kept whole in the checkpoint). Before: no checkpoint, no --resume: the training was lost."""
    planned = "500"
    common = ("train-rl", str(TINY_INSTANCE), "--episodes", planned, "--seed", "3", "--checkpoint-every", "200")
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    proc = _start(*common, "--out", str(cut))
    seen = read_until(proc, re.compile(rb"\b(6\d|[7-9]\d|\d{3})/500 \["), wait_s=120.0)  # past 60 episodes
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = (seen + err).decode(errors="replace")
    assert proc.returncode == 130, err[-2000:]
    stopped = json.loads((cut / "policy.json").read_text())
    assert stopped["interrupted"] == "SIGINT" and 60 <= stopped["episodes"] < 500, stopped
    meta = json.loads((cut / "checkpoint.json").read_text())
    assert meta["episodes"] == stopped["episodes"] and meta["settings"]["seed"] == 3
    assert "the same train-rl command with --resume" in err
    # the same command again without --resume is refused, naming --resume (the checkpoint is not lost)
    again = subprocess.run([sys.executable, "-m", "optdist", *common, "--out", str(cut)], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr, again.stderr
    assert (cut / "checkpoint.pt").is_file()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    resumed = subprocess.run([sys.executable, "-m", "optdist", *common, "--resume", "--out", str(cut)], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    uninterrupted = subprocess.run([sys.executable, "-m", "optdist", *common, "--out", str(whole)], cwd=ROOT,
                                   capture_output=True, text=True, env=env, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    config = json.loads((cut / "policy.json").read_text())
    assert "interrupted" not in config and config["episodes"] == 500 and config["resumed_at"] == stopped["episodes"]
    assert not (cut / "checkpoint.pt").exists() and not (cut / "checkpoint.json").exists()
    assert not (whole / "checkpoint.pt").exists()  # a training run to its end leaves none
    assert _same_weights(cut, whole)
    assert (cut / "curves.csv").read_text() == (whole / "curves.csv").read_text()


def test_a_periodic_checkpoint_resumes_bit_for_bit_and_refuses_other_settings(tmp_path):
    """The checkpoint saved every N episodes (what a SIGKILL or a crash leaves) resumes to the
    uninterrupted training's weights and curves; one of another seed, preset, reward, masking or
    instance file is refused, naming the field, the flag and the fix."""
    from optdist.rl.presets import PRESETS, preset_for
    from optdist.rl.train import train

    inst = load_instance(TINY_INSTANCE)
    preset = preset_for(inst)
    whole = train(inst, preset, episodes=90, seed=5, checkpoint=tmp_path, checkpoint_every=40, progress=False,
                  instance_sha256="a" * 64)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["episodes"] == 80 and meta["episodes_planned"] == 90  # the last periodic one, before episode 80
    resumed = train(inst, preset, seed=5, checkpoint=tmp_path, resume=True, progress=False, instance_sha256="a" * 64)
    assert resumed.config["episodes"] == 90 and resumed.config["resumed_at"] == 80
    a, b = whole.agent.q.state_dict(), resumed.agent.q.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert whole.curves.equals(resumed.curves)
    assert resumed.config["env_steps"] == whole.config["env_steps"]
    assert resumed.config["gradient_steps"] == whole.config["gradient_steps"]

    for change, field, flag in ((dict(seed=6), "settings.seed", "seed="),  # train's words (fixd32b), not the flags
                                (dict(masked=True), "settings.masked", "masked=False"),
                                (dict(reward="stage"), "settings.reward", "reward="),
                                (dict(preset=PRESETS["vgg"]), "settings.preset", "preset="),
                                (dict(instance_sha256="b" * 64), "settings.instance_sha256", "instance_sha256=")):
        kwargs = dict(preset=preset, seed=5, instance_sha256="a" * 64) | change
        with pytest.raises(ValueError) as e:
            train(inst, checkpoint=tmp_path, resume=True, progress=False, **kwargs)
        msg = str(e.value)
        assert field in msg and flag in msg and "fix:" in msg and "checkpoint.json" in msg, msg
    with pytest.raises(ValueError, match=r"episodes=50: the checkpoint .* has 80 episodes done"):
        train(inst, preset, episodes=50, seed=5, checkpoint=tmp_path, resume=True, progress=False)


def test_resume_without_a_checkpoint_and_a_checkpoint_without_resume_are_refused(tmp_path, capsys):
    """--resume where --out holds no checkpoint names the fix; train-rl without --resume over a
    folder that holds one refuses (naming --resume and --force) before any training; a DQN
    checkpoint is not resumed by --algo maskable-ppo (field settings.algo)."""
    from optdist.rl.presets import preset_for
    from optdist.rl.train import save_policy, train

    empty = tmp_path / "empty"
    assert main(["train-rl", str(TINY_INSTANCE), "--resume", "--out", str(empty), "--episodes", "5"]) == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint to resume" in err and "fix:" in err and "Traceback" not in err, err
    assert not empty.exists()  # the folder it created for --out is removed again

    held = tmp_path / "held"
    inst = load_instance(TINY_INSTANCE)
    res = train(inst, preset_for(inst), episodes=30, checkpoint=held, checkpoint_every=20, progress=False)
    save_policy(res, held)
    before = (held / "checkpoint.pt").read_bytes()
    assert main(["train-rl", str(TINY_INSTANCE), "--episodes", "5", "--out", str(held)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint" in err and "--resume" in err and "--force" in err, err
    assert (held / "checkpoint.pt").read_bytes() == before

    pytest.importorskip("sb3_contrib")
    assert main(["train-rl", str(TINY_INSTANCE), "--algo", "maskable-ppo", "--resume", "--out", str(held)]) == 2
    err = capsys.readouterr().err
    assert "field settings.algo" in err and '"dqn"' in err and "--algo" in err and "fix:" in err, err


def test_checkpoint_files_are_read_weights_only(tmp_path):
    """checkpoint.pt holds only what torch.load(weights_only=True) reads (no numpy objects), and a
    .pt of another save than checkpoint.json describes is refused, naming save_id."""
    from optdist.rl.presets import preset_for
    from optdist.rl.train import read_checkpoint, train

    inst = load_instance(TINY_INSTANCE)
    res = train(inst, preset_for(inst), episodes=25, checkpoint=tmp_path, checkpoint_every=10, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(state) >= {"q", "target", "optimizer", "buffer", "torch_rng", "pass_actions", "curves"}
    settings = json.loads((tmp_path / "checkpoint.json").read_text())["settings"]
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    meta["save_id"] = "0" * 32
    (tmp_path / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="field save_id"):
        read_checkpoint(tmp_path, settings)
    assert res.config["episodes"] == 25


@pytest.mark.slow
def test_two_ctrl_c_while_the_policy_places_stop_at_once_without_a_traceback(tmp_path):
    """train-rl trained, its policy placing a 250-request instance (seconds): a SIGINT stops it
    (exit 130, "interrupted", no traceback), a second one 0.3 s later too; the policy files written
    before stay whole and no temporary file is left. Measured before (a 2-core machine): the line
    at once, then 2.3-2.7 s of the interpreter's last garbage collection before the exit; now 0.3 s."""
    out = tmp_path / "pol"
    proc = _start("train-rl", str(LARGE_INSTANCE), "--episodes", "3", "--out", str(out))
    read_until(proc, re.compile(rb"wrote .*curves.png"), proc.stdout, wait_s=120.0)
    time.sleep(0.5)  # the policy is placing the requests (about 6 s here)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    err = err.decode(errors="replace")
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "optdist train-rl: interrupted" in err, err[-2000:]
    assert took < 2.0, f"exited {took:.2f} s after the first SIGINT"
    assert sorted(p.name for p in out.iterdir()) == ["curves.csv", "curves.png", "policy.json", "policy.pt"]
    assert "interrupted" not in json.loads((out / "policy.json").read_text())


def test_maskable_ppo_resumes_from_its_rollout_checkpoint_bit_for_bit(tmp_path):
    """MaskablePPO writes a checkpoint at the start of every rollout (state dicts, counters, the
    torch, numpy and random RNG states, the last observation, the environment's pass actions; not
    SB3's pickled zip); resumed from the last one it ends with the uninterrupted run's weights."""
    pytest.importorskip("sb3_contrib")
    from optdist.rl.ppo import train_maskable_ppo

    inst = load_instance(TINY_INSTANCE)
    whole, _ = train_maskable_ppo(inst, 768, seed=2, n_steps=256, checkpoint=tmp_path)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["env_steps"] == 512 and meta["timesteps_planned"] == 768 and meta["updates"] > 0
    torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    resumed, _ = train_maskable_ppo(inst, None, seed=2, n_steps=256, checkpoint=tmp_path, resume=True)
    assert resumed.config["resumed_at"] == 512 and resumed.config["env_steps"] == 768
    assert resumed.config["updates"] == whole.config["updates"]
    a, b = whole.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match=r"field settings\.seed.*checkpoint's seed=, or call train_maskable_ppo"):
        train_maskable_ppo(inst, None, seed=3, n_steps=256, checkpoint=tmp_path, resume=True)


@pytest.mark.slow
def test_maskable_ppo_sigint_then_resume_through_the_cli(tmp_path):
    """`train-rl --algo maskable-ppo` stopped by a real SIGINT after its first update keeps its
    rollout checkpoint; `--resume` ends with the uninterrupted run's weights, bit for bit."""
    pytest.importorskip("sb3_contrib")
    common = ("train-rl", str(TINY_INSTANCE), "--algo", "maskable-ppo", "--timesteps", "1536", "--seed", "1")
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    proc = _start(*common, "--out", str(cut))
    deadline = time.monotonic() + 120
    while True:  # past the first update: a checkpoint of a later rollout's start
        try:
            if json.loads((cut / "checkpoint.json").read_text())["env_steps"] >= 256:
                break
        except (OSError, ValueError):
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode(errors="replace")[-2000:]
    stopped = json.loads((cut / "policy.json").read_text())
    assert stopped["interrupted"] == "SIGINT" and stopped["env_steps"] < 1536, stopped
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in ((*common, "--resume", "--out", str(cut)), (*common, "--out", str(whole))):
        done = subprocess.run([sys.executable, "-m", "optdist", *args], cwd=ROOT, capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert not (cut / "checkpoint.pt").exists() and not (whole / "checkpoint.json").exists()
    assert json.loads((cut / "policy.json").read_text())["env_steps"] == 1536
    assert _same_weights(cut, whole)
