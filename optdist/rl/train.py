"""Train a DQN placement policy on an instance; save it and its convergence curves (paper Figs. 6-9).

Per episode (one layer) the curves record the return, the latency penalty (sum of the paper's
per-segment delays ``O_ij / rho_i + c_k / e_j``, Fig. 8), the stage time ``T_k`` the layer got,
and whether every step met every constraint (Figs. 7 and 9). The policy is saved as
``policy.pt`` (the Q-network's ``state_dict``, load with ``torch.load(..., weights_only=True)``)
plus ``policy.json`` (everything needed to rebuild it and its observation layout).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from optdist.instance import Instance
from optdist.io import atomic_path, atomic_write_json, atomic_write_text
from optdist.jsonfile import value_text
from optdist.rl.dqn import DQNAgent, DQNConfig
from optdist.rl.env import DistPrivacyEnv, Reward
from optdist.rl.presets import Preset, count_in_range

POLICY_FORMAT = "optdist-rl-policy/1"

#: whether the training running has begun its first episode (:func:`train`) or env step
#: (:func:`optdist.rl.ppo.train_maskable_ppo`) after its last check for a stop
_began: list[bool] = [False]


def training_begins() -> Callable[[], bool]:
    """A training is about to run: clears the flag :func:`training_began` sets and returns a function
    that reads it (for a signal's note, :func:`optdist.rl.policy.stopping_training`: a signal before
    it is set leaves nothing trained, the untrained (initial) policy places)."""
    _began[0] = False
    return lambda: _began[0]


def training_began() -> None:
    """The training passed its check for a stop and begins its first episode or env step: a signal
    from now on leaves at least one done (:func:`train` ends after the episode running)."""
    _began[0] = True


@dataclass
class TrainResult:
    agent: DQNAgent
    curves: pd.DataFrame
    config: dict
    train_s: float


def train(
    inst: Instance,
    preset: Preset,
    *,
    episodes: int | None = None,
    masked: bool = False,
    double: bool = False,
    reward: Reward = "paper",
    seed: int = 0,
    train_freq: int = 1,
    progress: bool = True,
    on_episode: Callable[[int, DistPrivacyEnv, DQNAgent], None] | None = None,
    deadline: float | None = None,
) -> TrainResult:
    """Epsilon-greedy DQN training for ``episodes`` layer episodes (default: the preset's).

    ``train_freq``: env steps per gradient step (the paper: 1); none is taken before the replay
    buffer holds a batch. The config records ``env_steps`` and ``gradient_steps`` (0: the network
    kept its initial weights). ``on_episode(i, env, agent)`` runs before episode i > 0 (e.g. to
    remove devices, Fig. 10). Raises ValueError for ``episodes`` that is not a whole number >= 1.

    Inside a :func:`~optdist.solvers.base.stop_on_signals` block (``optdist train-rl``), a SIGINT or
    SIGTERM ends the training after the episode running (:func:`~optdist.solvers.base.stop_requested`):
    the result is the agent so far, its config has ``interrupted`` (the signal's name), ``episodes``
    (the episodes done) and ``episodes_planned``; the curves have one row per episode done.
    ``deadline`` (a :func:`time.perf_counter` time, s; ``solve(method="rl", time_limit=...)``) ends
    it the same way, checked before each episode: the config then has ``cut_at_deadline`` (true),
    ``episodes`` and ``episodes_planned`` (0 episodes done: the network's initial weights).
    """
    from optdist.solvers.base import stop_requested  # not at import: it loads Pyomo

    torch.set_num_threads(1)
    episodes = preset.episodes if episodes is None else episodes
    if not count_in_range(episodes):  # 0 or -1 trained nothing
        raise ValueError(f"episodes = {value_text(episodes)}: give a whole number >= 1 of layer episodes, e.g. 2000")
    unit = preset.latency_unit_s if reward == "paper" else preset.stage_unit_s
    env = DistPrivacyEnv(inst, reward=reward, sigma=preset.sigma, beta=preset.beta, latency_unit_s=unit)
    cfg = DQNConfig(
        gamma=preset.gamma, lr=preset.lr, buffer_size=preset.buffer_size, batch_size=preset.batch_size,
        target_update=preset.target_update, masked=masked, double=double, train_freq=train_freq,
    )
    f = env.features
    agent = DQNAgent(f.n_global, f.n_device, env.action_space.n, cfg, seed=seed)
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    eps, rows, updates = preset.eps_start, [], 0
    for ep in tqdm(range(episodes), desc=f"train-rl {inst.name}", unit="ep", disable=not progress):
        if stop_requested():  # SIGINT/SIGTERM: keep the episodes done
            break
        if deadline is not None and time.perf_counter() >= deadline:  # time limit: keep the episodes done
            break
        training_began()  # a signal from here ends the training after this episode: one is done
        if on_episode is not None and ep:
            on_episode(ep, env, agent)
        done, losses = False, []
        while not done:
            a = agent.act(obs, info["action_mask"].astype(bool), eps)
            nxt, r, done, _, info = env.step(a)
            loss = agent.observe(obs, a, r, nxt, done, info["action_mask"].astype(bool))
            if loss is not None:
                losses.append(loss)
            obs = nxt
        updates += len(losses)
        s = info["episode_stats"]
        rows.append({
            "episode": ep, "request": info["request"], "layer": info["layer"], "steps": s["steps"],
            "reward": s["reward"], "latency_penalty_ms": 1e3 * s["latency_penalty_s"],
            "stage_time_ms": 1e3 * s["stage_time_s"], "constraints_met": int(s["valid"]),
            "epsilon": eps, "loss": float(np.mean(losses)) if losses else np.nan,
        })
        eps = max(preset.eps_min, eps * preset.eps_decay)
        obs, info = env.reset()
    config = {
        "format": POLICY_FORMAT, "instance": inst.name, "preset": asdict(preset), "episodes": len(rows),
        "reward": reward, "masked": masked, "double": double, "seed": seed, "train_freq": train_freq, "hidden": list(cfg.hidden),
        "env_steps": agent.steps, "gradient_steps": updates,
        "n_global": f.n_global, "n_device": f.n_device, "n_actions": int(env.action_space.n),
        "cnns": env.features.cnns, "max_layers": env.features.max_layers,
        "device_ids": list(inst.node_ids[: inst.n_devices]),
    }
    if len(rows) < episodes:
        config["episodes_planned"] = episodes
        if stop_requested():
            config["interrupted"] = stop_signal_name()
        else:
            config["cut_at_deadline"] = True
    return TrainResult(agent, pd.DataFrame(rows), config, time.perf_counter() - t0)


def stop_signal_name() -> str:
    """The name of the signal that stopped the training (:func:`~optdist.solvers.base.signals_received`)."""
    from optdist.solvers.base import signals_received

    got = signals_received()
    return signal.Signals(got[0]).name if got else "SIGINT"


def save_policy(res: TrainResult, out: str | Path) -> Path:
    """Write ``policy.pt`` and ``policy.json`` into ``out``; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "policy.pt") as tmp:
        torch.save(res.agent.q.state_dict(), tmp)
    atomic_write_json(out / "policy.json", {**res.config, "train_s": res.train_s})
    return out


def smooth(x: pd.Series, window: int) -> pd.Series:
    return x.rolling(window, min_periods=1).mean()


def write_curves(curves: pd.DataFrame, out: str | Path, title: str, window: int = 50, marks: dict[str, int] | None = None) -> tuple[Path, Path]:
    """``curves.csv`` and ``curves.png``: reward, latency penalty, constraint satisfaction per episode.

    ``marks``: labelled episodes to draw as vertical lines (e.g. devices leaving).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "curves.csv"
    atomic_write_text(csv, curves.to_csv(index=False))
    panels = (("reward", "return per episode"), ("latency_penalty_ms", "latency penalty (ms)"), ("constraints_met", "constraints met"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, (col, label) in zip(axes, panels):
        ax.plot(curves["episode"], curves[col], color="0.8", lw=0.5)
        ax.plot(curves["episode"], smooth(curves[col], window), color="C0", lw=1.5, label=f"mean of {window}")
        for name, ep in (marks or {}).items():
            ax.axvline(ep, color="C3", ls="--", lw=1)
            ax.text(ep, ax.get_ylim()[1], f" {name}", color="C3", va="top", fontsize=8)
        ax.set_xlabel("episode (one layer)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = out / "curves.png"
    with atomic_path(png, keep_suffix=True) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return csv, png
