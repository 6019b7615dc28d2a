"""MaskablePPO (sb3-contrib) on the registered environment: an off-the-shelf baseline to the DQN.

The agent trains on ``gymnasium.make("optdist/DistPrivacy-v0", ...)`` (:mod:`optdist.rl.env`,
one segment per step, one layer per episode) with sb3-contrib's action masking
(``env.action_masks()``), the stage reward by default and the instance's preset units
(:func:`optdist.rl.presets.preset_for`). Not in the paper. Its actor is a plain MLP over the
whole observation, so a policy serves the number of devices it was trained on.

Placing uses the DQN's loop (:func:`optdist.rl.decide.place_requests`): requests in order,
the most probable allowed device per segment (``deterministic=True``), a request rejected when
a segment has no allowed device; the states of many segments go through the actor at once.

Saved as ``policy.pt`` (the actor-critic's ``state_dict``, loaded with
``torch.load(weights_only=True)``; SB3's zip files are never loaded, as they unpickle) and
``policy.json`` (format :data:`PPO_FORMAT`, sizes, observation layout, training settings).
Needs the ``rl-baselines`` extra.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from optdist.heuristics.incremental import OnlineOutcome, require_parallel_uplink
from optdist.instance import Instance
from optdist.io import atomic_write_json
from optdist.jsonfile import quoted, value_text
from optdist.result import SolveResult, Termination
from optdist.rl import ENV_ID
from optdist.rl.decide import place_requests
from optdist.rl.env import N_DEVICE_FEATURES, Features, Reward
from optdist.rl.policy import (MAX_DEPTH, MAX_FEATURES, MAX_WIDTH, _read_weights, check_layout,
                               merge_extra, not_modelled, read_policy_config, stopping_training, training_notes,
                               time_limit_extra, train_deadline)
from optdist.rl.presets import Preset, count_in_range, preset_for
from optdist.rl.train import POLICY_FORMAT, save_state_dict, stop_signal_name, training_began
from optdist.rl.trajectory import DeviceRows

PPO_FORMAT = "optdist-rl-ppo/1"
INSTALL_HINT = "MaskablePPO needs sb3-contrib and stable-baselines3: pip install 'optdist[rl-baselines]'"
DEFAULT_TIMESTEPS = 20_000
NET_ARCH = (64, 64)


def _sb3():
    """The sb3-contrib classes; ImportError with the install hint when the extra is missing."""
    try:
        from sb3_contrib import MaskablePPO
        from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from None
    return MaskablePPO, MaskableActorCriticPolicy


@dataclass
class PPOPolicy:
    """A MaskablePPO actor-critic (eval mode) and its ``policy.json`` configuration."""

    net: torch.nn.Module
    config: dict
    #: the folder or file it was loaded from (:func:`load_ppo`), named in errors; None when trained in-process
    source: str | None = None


class PPOConfig(BaseModel):
    """The fields of a PPO ``policy.json`` that loading and placing read (others kept as written)."""

    model_config = ConfigDict(extra="allow", strict=True)

    format: Literal[PPO_FORMAT]  # type: ignore[valid-type]
    net_arch: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(max_length=MAX_DEPTH)
    obs_size: int = Field(ge=1, le=MAX_FEATURES)
    n_actions: int = Field(ge=1, le=MAX_FEATURES)
    cnns: list[str] = Field(min_length=1)
    max_layers: int = Field(ge=1, le=MAX_FEATURES)
    instance: str
    reward: str
    seed: int
    timesteps: int


def _build(obs_size: int, n_actions: int, net_arch: list[int]) -> torch.nn.Module:
    import gymnasium as gym

    _, policy_cls = _sb3()
    return policy_cls(gym.spaces.Box(0.0, 1.0, (obs_size,), np.float32), gym.spaces.Discrete(n_actions),
                      lambda _: 0.0, net_arch=list(net_arch))


def train_maskable_ppo(
    inst: Instance,
    timesteps: int | None = DEFAULT_TIMESTEPS,
    seed: int = 0,
    *,
    reward: Reward = "stage",
    preset: Preset | None = None,
    n_steps: int = 256,
    deadline: float | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    instance_sha256: str | None = None,
    cli: bool = False,
) -> tuple[PPOPolicy, float]:
    """Train MaskablePPO for ``timesteps`` env steps (segments); the policy and the training seconds.

    It collects whole rollouts, so it takes ``timesteps`` rounded up to a multiple of ``n_steps``
    (``env_steps`` in the configuration).

    Hyper-parameters (ours): rollouts of ``n_steps``, minibatches of 64, 4 epochs, learning rate
    3e-4, the preset's gamma (paper Table 4: 0.95), 64-64 actor and critic. Same seed, same
    weights (single-threaded CPU). Raises ImportError (install hint) without sb3-contrib.

    Inside a :func:`~optdist.solvers.base.stop_on_signals` block (``optdist train-rl``), a SIGINT or
    SIGTERM ends the training at the next env step (:func:`~optdist.solvers.base.stop_requested`,
    checked by an SB3 callback): the policy so far, its config with ``interrupted`` (the signal's
    name), ``env_steps`` done and ``updates`` (SB3's gradient steps; 0: the initial weights).
    ``deadline`` (a :func:`time.perf_counter` time, s; ``solve(method="rl-ppo", time_limit=...)``)
    ends it the same way at the first env step past it: the config then has ``cut_at_deadline``
    (true); an update started before the deadline runs to its end.
    Raises ValueError for ``timesteps`` not a whole number >= 1 (:func:`~optdist.rl.presets.count_in_range`).

    ``checkpoint`` (a folder; ``optdist train-rl``): at the start of every rollout after the first
    update the training's state is written there (:func:`optdist.rl.train.write_checkpoint`: the actor-critic's and the
    optimiser's state dicts, the counters, the torch, numpy and ``random`` RNG states, the last
    observation and the actions of the environment's pass; SB3's own zip is not used, as loading
    it unpickles); ``resume``: continue from the one there (refused where its settings differ) to
    ``timesteps`` (None: those it had planned). A signal stops the training within a rollout: the
    resumed one collects that rollout again from its start and, for the seed, ends with the
    weights of an uninterrupted training, bit for bit. ``resume`` without ``checkpoint``:
    ValueError. A checkpoint refused on resume is a ValueError in this function's words
    (``resume=True``, ``checkpoint=``, ``timesteps=``; :func:`optdist.rl.train.python_words`), in
    ``optdist train-rl``'s (``--resume``, ``--force``, ``--out``) where ``cli``.
    """
    from optdist.rl.train import (CHECKPOINT_FILES, check_ppo_counters, check_resume_folder, checkpoint_preset,
                                  in_callers_words, read_checkpoint, resume_note)

    preset = preset_for(inst) if preset is None else preset
    settings = {"algo": "maskable-ppo", "instance": inst.name, "instance_sha256": instance_sha256,
                "preset": checkpoint_preset(preset), "reward": reward, "seed": seed, "n_steps": n_steps}
    check_resume_folder(resume, checkpoint)
    with in_callers_words(cli, "train_maskable_ppo"):
        saved = read_checkpoint(Path(checkpoint), settings) if resume else None
        if saved is not None:
            check_ppo_counters(Path(checkpoint) / CHECKPOINT_FILES[1], saved[0])
    given_timesteps = timesteps is not None
    if timesteps is None:
        timesteps = saved[0]["timesteps_planned"] if saved is not None else DEFAULT_TIMESTEPS
    if not count_in_range(timesteps):  # 0 or -1: learn() ran no step and the initial weights placed
        raise ValueError(f"timesteps = {value_text(timesteps)}: give a whole number >= 1 of env steps, e.g. {DEFAULT_TIMESTEPS}")
    import gymnasium as gym

    from stable_baselines3.common.callbacks import BaseCallback

    from optdist.solvers.base import stop_requested

    class StopOnSignal(BaseCallback):
        """Ends ``learn`` at the env step after SIGINT/SIGTERM or past ``deadline`` (SB3 stops when
        ``_on_step`` is False)."""

        def _on_step(self) -> bool:
            return not stop_requested() and (deadline is None or time.perf_counter() < deadline)

        def _on_rollout_start(self) -> None:
            if checkpoint is not None and self.model._n_updates:  # none before the first update (nothing to keep)
                _save_ppo_checkpoint(Path(checkpoint), settings, self.model, env.unwrapped, timesteps,
                                     before_s + time.perf_counter() - t0)

    maskable_ppo, _ = _sb3()
    require_parallel_uplink(inst, "rl-ppo", training=True)
    torch.set_num_threads(1)
    unit = preset.stage_unit_s if reward == "stage" else preset.latency_unit_s
    env = gym.make(ENV_ID, instance=inst, reward=reward, sigma=preset.sigma, beta=preset.beta, latency_unit_s=unit)
    model = maskable_ppo("MlpPolicy", env, n_steps=n_steps, batch_size=64, n_epochs=4, learning_rate=3e-4,
                         gamma=preset.gamma, policy_kwargs={"net_arch": list(NET_ARCH)}, seed=seed, device="cpu", verbose=0)
    t0, before_s, remaining, fresh = time.perf_counter(), 0.0, timesteps, True
    if saved is not None:
        meta, state = saved
        with in_callers_words(cli, "train_maskable_ppo"):
            note = resume_note(meta, timesteps, given_timesteps, checkpoint, done="env_steps",
                               planned="timesteps_planned", flag="--timesteps", unit="env step")
            _restore_ppo(model, env.unwrapped, meta, state, Path(checkpoint))
        logging.getLogger("optdist").warning(note)
        before_s, remaining, fresh = meta["train_s"], timesteps - meta["env_steps"], False
    if not stop_requested():  # a signal while the model was made: no step (learn() takes one before its callback)
        training_began()
        model.learn(total_timesteps=remaining, callback=StopOnSignal(), reset_num_timesteps=fresh)
    train_s = before_s + time.perf_counter() - t0
    f = env.unwrapped.features
    config = {
        "format": PPO_FORMAT, "algo": "maskable-ppo", "instance": inst.name, "reward": reward, "seed": seed,
        "timesteps": timesteps, "env_steps": int(model.num_timesteps), "n_steps": n_steps,
        "preset": preset.name, "net_arch": list(NET_ARCH),
        "obs_size": f.size, "n_actions": inst.n_devices, "cnns": f.cnns, "max_layers": f.max_layers,
        "device_ids": list(inst.node_ids[: inst.n_devices]), "train_s": train_s, "updates": int(model._n_updates),
    }
    if saved is not None:
        config["resumed_at"] = saved[0]["env_steps"]
    if stop_requested() and model.num_timesteps < timesteps:
        config["interrupted"] = stop_signal_name()
    elif model.num_timesteps < timesteps:  # only the deadline ends learn() early otherwise
        config["cut_at_deadline"] = True
    return PPOPolicy(model.policy.eval(), config), train_s


def _save_ppo_checkpoint(folder: Path, settings: dict, model, env, planned: int, train_s: float) -> None:
    """The training's state at the start of a rollout (see :func:`train_maskable_ppo`)."""
    import random
    import uuid

    from optdist.rl.train import CHECKPOINT_FORMAT, write_checkpoint

    save_id = uuid.uuid4().hex
    np_state = np.random.get_state()
    state = {
        "save_id": save_id, "policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(), "numpy_rng_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "last_obs": torch.from_numpy(np.array(model._last_obs)),
        "episode_starts": torch.from_numpy(np.array(model._last_episode_starts)),
        "pass_actions": torch.tensor(env.pass_actions, dtype=torch.int64),
    }
    write_checkpoint(folder, state, {
        "format": CHECKPOINT_FORMAT, "save_id": save_id, "settings": settings, "env_steps": int(model.num_timesteps),
        "timesteps_planned": planned, "updates": int(model._n_updates), "episode_num": int(model._episode_num),
        "numpy_rng": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "random_rng": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "train_s": train_s, "resume": "optdist train-rl INSTANCE --algo maskable-ppo --resume --out DIR (the same settings)",
    })


def _restore_ppo(model, env, meta: dict, state: dict, folder: Path) -> None:
    """Put a checkpoint's state into a new ``model`` (made with the same seed) and its environment
    ``env`` (reset, its pass's actions stepped again through the model's vectorised environment)."""
    import random

    from optdist.rl.train import CHECKPOINT_FILES

    model.policy.load_state_dict(state["policy"])
    model.policy.optimizer.load_state_dict(state["optimizer"])
    model.num_timesteps, model._n_updates, model._episode_num = meta["env_steps"], meta["updates"], meta["episode_num"]
    obs = model.env.reset()
    for a in state["pass_actions"].tolist():
        obs, _, _, _ = model.env.step(np.array([a]))
    if env.pass_actions != state["pass_actions"].tolist() or not np.array_equal(obs, state["last_obs"].numpy()):
        raise ValueError(f"{folder / CHECKPOINT_FILES[0]}: field pass_actions: the environment did not come back to "
                         "the checkpoint's state (fix: leave out --resume and give --force to train afresh)")
    model._last_obs, model._last_episode_starts = obs, state["episode_starts"].numpy()
    torch.set_rng_state(state["torch_rng"])
    name, pos, has_gauss, gauss = meta["numpy_rng"]
    np.random.set_state((name, state["numpy_rng_keys"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = meta["random_rng"]
    random.setstate((version, tuple(internal), gauss_next))


def save_ppo(policy: PPOPolicy, out: str | Path) -> Path:
    """Write ``policy.pt`` (state dict, with ``policy.json``'s training fields:
    :func:`optdist.rl.train.save_state_dict`) and ``policy.json`` into ``out``; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_state_dict(policy.net.state_dict(), policy.config, out / "policy.pt")
    atomic_write_json(out / "policy.json", policy.config)
    return out


def load_ppo(path: str | Path) -> PPOPolicy:
    """Load a folder (or its ``policy.pt``) that :func:`save_ppo` wrote.

    ``policy.json`` is validated first (:class:`PPOConfig`), then the weights are loaded
    weights-only and checked against the network it describes. Raises FileNotFoundError,
    :class:`optdist.rl.policy.PolicyError` or ImportError (install hint).
    """
    pt, raw, spec = read_policy_config(path, PPOConfig, "`optdist train-rl FILE --algo maskable-ppo --out DIR`",
                                       "retrain it with `optdist train-rl INSTANCE --algo maskable-ppo --out DIR`",
                                       other=(POLICY_FORMAT, "a DQN policy, not a MaskablePPO one", "rl"),
                                       document="policy.json as train-rl --algo maskable-ppo writes it")
    net = _build(spec.obs_size, spec.n_actions, spec.net_arch)
    retrain = "retrain it with `optdist train-rl INSTANCE --algo maskable-ppo --out DIR`"
    state = _read_weights(pt, {k: tuple(v.shape) for k, v in net.state_dict().items()}, raw,
                          '"net_arch", "obs_size" and "n_actions"', retrain)
    check_layout(pt.with_suffix(".json"), raw, spec.obs_size - N_DEVICE_FEATURES * spec.n_actions, spec.n_actions,
                 retrain)
    net.load_state_dict(state)
    return PPOPolicy(net.eval(), raw, str(path))


#: float32's unit roundoff
_U = 2.0**-24


def _torch_chooser(net: torch.nn.Module):
    """``choose(glob, dev, allowed)``: the actor's most probable allowed device, computed as sb3-contrib's
    ``net.get_distribution(obs, action_masks=allowed).get_actions(deterministic=True)`` computes it
    (the same torch operations on the same tensors: the actor's logits normalised, masked with
    -1e8, normalised again, ``argmax`` of their softmax), without what costs more than these on a
    few states: SB3's three distribution objects and their argument checks, its observation
    preprocessing and flattening (the identity on :func:`_build`'s ``MlpPolicy`` of float32 (K, n)
    observations) and ``nn.Module`` calls."""
    layers = [(m.weight, m.bias) if isinstance(m, torch.nn.Linear) else m
              for m in [*net.mlp_extractor.policy_net, net.action_net]]
    huge_neg = torch.tensor(-1e8)  # MaskableCategorical.apply_masking's HUGE_NEG

    def choose(glob: np.ndarray, dev: DeviceRows, allowed: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.concatenate([glob, dev.dense().reshape(len(glob), -1)], axis=1))
        with torch.inference_mode():
            for layer in layers:
                x = F.linear(x, *layer) if isinstance(layer, tuple) else layer(x)
            x = x - x.logsumexp(-1, keepdim=True)  # Categorical(logits=...)
            x = torch.where(torch.as_tensor(allowed), x, huge_neg)  # apply_masking, then Categorical again
            x = x - x.logsumexp(-1, keepdim=True)
            return torch.softmax(x, -1).argmax(1).numpy()  # .probs, then mode(): int64

    return choose


def _chooser(net: torch.nn.Module) -> _Chooser:
    """``choose(glob, dev, allowed)`` for :func:`place_requests`: the actor's most probable allowed
    device, the action of :func:`_torch_chooser` (sb3-contrib's deterministic one), state by state
    (:class:`_Chooser`). Raises ValueError for an actor of other layers."""
    return _Chooser(net)


class _Chooser:
    """The actor's most probable allowed device, in float64 numpy where a float32 error bound proves it.

    The actor (Linear and Tanh layers: :func:`_build`'s ``MlpPolicy``) runs in float64 numpy; a
    state's choice is its allowed device of largest logit where that logit exceeds every other
    allowed one by more than what float32 rounding can move them (a bound on the gap between
    torch's float32 logits and exact ones: ``(n + 2) u (|W| |a| + |b|)`` per Linear of n inputs, u =
    2**-24, carried through with ``|tanh| <= 1`` and tanh's error within 8 u: affine in ``|x|`` with nonnegative
    coefficients, found once, so one product per state instead of a forward of the bound;
    plus 16 u (1 + 4 max |logit| + 3 log D) for the two normalisations and the softmax): torch's float32 computation
    then has the same unique argmax. Any other state (a near tie, e.g. two devices of equal output
    weights, or none allowed) is decided by :func:`_torch_chooser` alone (one state per call, as one forward per
    segment decides it). The actions are those of one SB3 forward per segment
    (``tests/test_lenet42.py``, ``tests/test_ppo42.py``), save where the best allowed logit lies more
    than 1e8 below a masked one (actor outputs of order 1e8, far from any trained policy's): SB3's
    masking value, -1e8, then lets it pick a masked device, and this picks the allowed one (verify42); about 195 -> 38 us a call of one state on 10 devices (68 us
    without the bound: :func:`_torch_chooser`; ``benchmarks/online/ppo_choose.py``), and :meth:`one` decides a lone
    segment from its observation vector with the same arithmetic on 1-D arrays (no batch of one built).
    Raises ValueError for an actor of other layers.
    """

    def __init__(self, net: torch.nn.Module):
        mods = [*net.mlp_extractor.policy_net, net.action_net]
        if not (all(isinstance(m, torch.nn.Linear) for m in mods[::2])
                and all(isinstance(m, torch.nn.Tanh) for m in mods[1::2]) and len(mods) % 2):
            raise ValueError(f"MaskablePPO actor layers {[type(m).__name__ for m in mods]}: placing reads Linear layers "
                             "with Tanh between them (fix: a policy of optdist.rl.ppo's MlpPolicy, net_arch of Linear + Tanh)")
        self.wb = [(m.weight.detach().numpy().T.astype(np.float64), m.bias.detach().numpy().astype(np.float64))
                   for m in mods[::2]]
        # |float32 logit - exact logit| <= e: e = g (|x| |W| + |b|) after the first Linear (g = (n + 2) u: n products
        # and the bias in float32, and our float64 rounding, far below u), then e = (e + 8 u) |W| + g (|W| 1 + |b|)
        # after each Tanh and Linear (tanh is 1-Lipschitz, its own error within 8 u, its values within [-1, 1]);
        # e is affine in |x| with nonnegative coefficients: e = |x| A + c, A and c found here (one product per state)
        w, b = self.wb[0]
        g = (w.shape[0] + 2) * _U
        self.err_slope, self.err_base = g * np.abs(w), g * np.abs(b)
        for w, b in self.wb[1:]:
            aw = np.abs(w)
            self.err_slope = self.err_slope @ aw
            self.err_base = (self.err_base + 8 * _U) @ aw + (w.shape[0] + 2) * _U * (aw.sum(axis=0) + np.abs(b))
        self.exact = _torch_chooser(net)
        self.log_d = float(np.log(max(self.wb[-1][0].shape[1], 2)))

    def _logits(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The float64 logits of inputs ``x`` ((K, n) or (n,) float64) and their float32 error bound ``e``."""
        e = np.abs(x) @ self.err_slope
        e += self.err_base
        for n, (w, b) in enumerate(self.wb):
            if n:
                np.tanh(x, out=x)
            x = x @ w
            x += b
        return x, e

    def _margin(self, x: np.ndarray) -> np.ndarray:
        """What the two normalisations and the softmax add to a gap's float32 error, per state of logits ``x``."""
        return 16 * _U * (1.0 + 4 * np.abs(x).max(axis=-1) + 3 * self.log_d)

    def __call__(self, glob: np.ndarray, dev: DeviceRows, allowed: np.ndarray) -> np.ndarray:
        """(K,) int64: per state of ``glob`` (K, G), ``dev`` (:class:`DeviceRows`) and ``allowed`` (K, D) bool."""
        blocks = dev.dense()
        x, e = self._logits(np.concatenate([glob, blocks.reshape(len(glob), -1)], axis=1).astype(np.float64))
        z = np.where(allowed, x, -np.inf)
        best = z.argmax(axis=1)
        states = np.arange(len(z))
        top = z[states, best]
        z[states, best] = -np.inf
        reach = e[states, best] + np.where(allowed, e, 0.0).max(axis=1)  # how far the gap may close in float32
        gap = top - np.where(np.isfinite(top), z.max(axis=1), 0.0)  # (none allowed: top -inf, so not sure)
        sure = gap > reach + self._margin(x)
        for q in np.flatnonzero(~sure):
            best[q] = self.exact(glob[q:q + 1], DeviceRows.of(blocks[q:q + 1]), allowed[q:q + 1])[0]
        return best

    def one(self, obs: np.ndarray, allowed: np.ndarray) -> int:
        """The device of one state: its observation vector ``obs`` (n,) float32 (:class:`Features`' layout)
        and ``allowed`` (D,) bool; the choice of ``self(glob, dev, allowed[None])`` on that state, with the
        same bound on 1-D arrays (:func:`optdist.rl.decide.decide_segment`: a segment decided alone)."""
        x, e = self._logits(obs.astype(np.float64))
        j = np.flatnonzero(allowed)
        if len(j):
            z = x[j]
            k = int(z.argmax())
            top = z[k]
            z[k] = -np.inf
            gap = top - z.max()  # (one allowed: inf)
            if gap > e[j[k]] + e[j].max() + self._margin(x):
                return int(j[k])
        n = len(obs) - self.wb[-1][0].shape[1] * N_DEVICE_FEATURES  # (a near tie or none allowed: torch's choice)
        return int(self.exact(obs[None, :n], DeviceRows.of(obs[None, n:].reshape(1, N_DEVICE_FEATURES, -1)),
                              allowed[None])[0])


#: the fix of a MaskablePPO policy whose layout does not fit the instance (its actor has one output per device)
_TRAIN_HERE = ("train one on this instance, `optdist train-rl INSTANCE --algo maskable-ppo --out DIR`, then "
               "--method rl-ppo --policy DIR")


def place_maskable_ppo(inst: Instance, policy: PPOPolicy, active: np.ndarray | None = None,
                       warmup: bool = True) -> tuple[OnlineOutcome, list[float], list[int]]:
    """Place every request with a MaskablePPO policy: the outcome, decision seconds and segments per request.

    The instance needs the policy's CNNs and number of devices; ValueError otherwise. ``warmup``
    (default on), as for the DQN (:func:`optdist.rl.policy.place_online`): before the first arrival,
    each CNN's first request is decided on a scratch copy of the empty usage
    (:func:`optdist.rl.decide.warm_up`), so that the first real request has the guesses later ones
    get from the request before (same decisions): the actor has no ranking of the devices, so a
    CNN's first request was otherwise decided one forward per segment in its layers of
    :data:`optdist.rl.decide.RANKED_MIN` segments or more (the first of
    ``instances/coupled/cifar-12x10-rpi3.json``, 1473 segments: 820-940 ms, the others 5-57 ms). Its
    seconds are the outcome's ``warmup_s`` (None without warm-up), apart from the decision seconds.
    """
    require_parallel_uplink(inst, "rl-ppo")
    cfg = policy.config
    which = "the PPO policy" if policy.source is None else f"the PPO policy {policy.source}"
    unknown = sorted(set(inst.request_cnn) - set(cfg["cnns"]))
    if unknown or inst.n_devices != cfg["n_actions"]:
        raise ValueError(f"{which} was trained for CNNs {quoted(cfg['cnns'])} on {cfg['n_actions']} devices (policy.json's "
                         f"\"cnns\" and \"n_actions\"); {inst.name} has {quoted(sorted(set(inst.request_cnn)))} on "
                         f"{inst.n_devices} (fix: {_TRAIN_HERE})")
    feats = Features(inst, cfg["cnns"], cfg["max_layers"])
    if feats.size != cfg["obs_size"]:
        raise ValueError(f"{which} reads {cfg['obs_size']} features (policy.json's \"obs_size\"), {inst.name} gives "
                         f"{feats.size} (fix: {_TRAIN_HERE})")
    torch.set_num_threads(1)
    return place_requests(inst, feats, _chooser(policy.net), True, active, warmup=warmup)


def solve_rl_ppo(
    inst: Instance,
    *,
    policy: PPOPolicy | str | Path | None = None,
    timesteps: int | None = None,
    seed: int | None = None,
    time_limit: float | None = None,
    threads: int | None = None,
) -> SolveResult:
    """Place ``inst`` online with a MaskablePPO policy (a :class:`PPOPolicy` or a saved folder).

    Without a policy one is first trained on ``inst`` (``timesteps``, default
    :data:`DEFAULT_TIMESTEPS`; ``seed``); its seconds are in ``extra["train_s"]``, neither in the
    decision times nor in ``wall_time``, the placement's. ``threads`` is accepted for the common method interface and not used.
    ``time_limit`` (s, from the call) as for ``rl`` (:func:`optdist.rl.policy.solve_rl`): the
    training ends at the first env step past :data:`~optdist.rl.policy.TRAIN_SHARE` of it
    (``extra["train_cut"]``: env steps done and planned), then every request is placed by the
    policy (``extra["decided_past_deadline"]``: those decided after the limit). A signal during that
    training, or a given policy whose train-rl a signal stopped: as for ``rl`` (the training ends at
    the next env step, the run is ``interrupted``, ``extra["train_interrupted"]``; a saved one warns).
    ``extra["warmup_s"]``: the warm-up before the first request (:func:`place_maskable_ppo`), in
    ``wall_time`` and before the decisions (``time_limit``), not in the decision times.
    """
    from optdist.solvers.base import stop_on_signals  # not at import: it loads Pyomo

    start = time.perf_counter()
    extra: dict = {}
    if policy is None:
        with stop_on_signals(lambda signum: None, stopping=stopping_training()):
            policy, extra["train_s"] = train_maskable_ppo(inst, DEFAULT_TIMESTEPS if timesteps is None else timesteps,
                                                          0 if seed is None else seed,
                                                          deadline=train_deadline(start, time_limit))
    elif not isinstance(policy, PPOPolicy):
        extra["policy"] = str(policy)
        policy = load_ppo(policy)
    training_notes(extra, policy.config, trained="train_s" in extra)
    t0 = time.perf_counter()
    out, decision_s, segments = place_maskable_ppo(inst, policy)
    wall = time.perf_counter() - t0
    dec = np.array(decision_s) * 1e3
    cfg = policy.config
    merge_extra(extra, time_limit_extra(start, time_limit, t0 + (out.warmup_s or 0.0), decision_s, policy.config,
                                        "train_s" in extra))
    res = out.result(
        "rl-ppo", wall, masked=True, **extra, warmup_s=out.warmup_s,
        decision_ms_mean=float(dec.mean()), decision_ms_max=float(dec.max()),
        decision_us_per_segment=float(1e3 * dec.sum() / max(sum(segments), 1)),
        decision_ms_per_request=[float(x) for x in dec],
        policy_config={k: cfg[k] for k in ("instance", "reward", "timesteps", "seed")},
        not_modelled=not_modelled("rl-ppo", True),
    )
    res.options = {"policy": extra.get("policy"), "masked": True}
    if "interrupted" in extra:
        res.termination = Termination.INTERRUPTED
    return res
