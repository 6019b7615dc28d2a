"""Gymnasium environment of the RL-DistPrivacy MDP (paper section 3.4, MODEL.md sections 4-6).

A step places one segment on one device (action ``j in 0..D-1``; the paper's one-hot action
with ``sum A_t = 1``, so C1 always holds); an episode is one layer of one request. Layers
pinned to the source (first, last, (10h)) are placed by the environment between episodes.
Requests are served in arrival order (or shuffled per pass); after the last request a new
pass starts with empty capacities (a new period).

State (3.4.2), every entry in [0, 1]: one-hot CNN, one-hot layer, segment index ``t / P_k``;
per device four binaries (enough memory, compute, sender bandwidth for one more segment, and
below the privacy cap ``Nf``), its share ``n_j / cap_k`` of the current layer, its share of
the previous layer's segments (on a DAG, MODEL.md section 9: of all the input layers' segments
together), and a one-hot of the device holding the current segment's input map (previous layer
elementwise; on a DAG the first elementwise input edge that reads the segment). Not in the
paper: per device, the stage-time rise ``max(f_j' - T_k, 0)`` and the segment delay if it
takes the segment, each divided by its largest value over the candidates, and its speed ``e_j`` and radio rate ``rho_j`` divided by
the largest. The observation is the global part (CNN, layer, segment; ``n_global`` entries)
followed by ``n_device`` blocks of ``D`` per-device values. The action mask (``info["action_mask"]``,
:meth:`action_masks`) is the AND of the four binaries.

Reward, ``reward="paper"`` (eq. 11, Algorithm 1): 0 if the step breaks a constraint
(C2 capacities, C3 privacy), else ``max(1, sigma * n_j) - delay_j / u - beta * low_j`` with
``n_j`` the segments j now holds in this layer, ``delay_j = O_ij / rho_i + c_k / e_j`` the
paper's latency penalty of this segment, ``low_j = 1`` for devices slower than the fastest,
``u = latency_unit_s``. ``reward="stage"`` (not in the paper): ``-(T_k' - T_k) / u - beta *
low_j``, the increase of the layer's stage time (the episode return is ``-T_k / u`` on equal
devices) with the paper's beta penalty for slower devices (its proxy for the later layers'
cost, which a one-layer episode does not see), minus 1 per broken constraint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from optdist.heuristics.incremental import LayerState, RequestPlacer, Usage, require_parallel_uplink
from optdist.instance import Instance, load_instance
from optdist.jsonfile import json_text, value_text

Reward = Literal["paper", "stage"]


#: the features of each device in an observation (:class:`Features`: four feasibility bits, its
#: segments, the previous layer's share, source, rise, delay, speed and rate)
N_DEVICE_FEATURES = 11


class Features:
    """Observation vector and action mask of a layer state (see module docstring)."""

    def __init__(self, inst: Instance, cnns: list[str] | None = None, max_layers: int | None = None):
        """``cnns`` / ``max_layers`` fix the layout (a trained policy's); default: the instance's."""
        self.inst = inst
        self.cnns = sorted(set(inst.request_cnn)) if cnns is None else list(cnns)
        self.max_layers = max(inst.profiles[c].n_layers for c in set(inst.request_cnn)) if max_layers is None else max_layers
        missing = sorted(set(inst.request_cnn) - set(self.cnns))
        if missing or max(inst.profiles[c].n_layers for c in set(inst.request_cnn)) > self.max_layers:
            raise ValueError(f"observation layout for CNNs {self.cnns} (<= {self.max_layers} layers) does not cover {inst.name}")
        self.D = inst.n_devices
        self.n_global = len(self.cnns) + self.max_layers + 1
        self.n_device = N_DEVICE_FEATURES
        self.size = self.n_global + self.n_device * self.D
        e, rho = inst.mults_per_s[: self.D], inst.rate[: self.D]
        self.static = np.concatenate([e / e.max(), rho / rho.max()]).astype(np.float32)

    def __call__(self, r: int, st: LayerState) -> tuple[np.ndarray, np.ndarray]:
        D, n_cnn = self.D, len(self.cnns)
        obs = np.zeros(self.size, dtype=np.float32)
        obs[self.cnns.index(self.inst.request_cnn[r])] = 1.0
        obs[n_cnn + st.k] = 1.0
        o = n_cnn + self.max_layers
        obs[o] = st.t / st.P
        binaries, counts, prev, source, rise, delay, static = (o + 1 + n * D for n in (0, 4, 5, 6, 7, 8, 9))
        obs[static:] = self.static
        mask = np.zeros(D, dtype=bool)
        if not st.done:
            parts = st.feasible_parts()
            for n, name in enumerate(("memory", "compute", "bandwidth", "privacy")):
                obs[binaries + n * D:binaries + (n + 1) * D] = parts[name][:D]
            mask = (parts["memory"] & parts["compute"] & parts["bandwidth"] & parts["privacy"])[:D]
            i = st.sender()
            owner = st.input_owner()
            if owner is not None and owner < D:
                obs[source + owner] = 1.0
            cand = st.cand[:D]
            obs[rise:rise + D] = _relative(np.maximum(st.steps(i, 1)[:D, 0] - st.stage_time, 0.0), cand)
            obs[delay:delay + D] = _relative(st.segment_delay()[:D], cand)
        obs[counts:counts + D] = np.minimum(st.cnt[:D] / st.cap, 1.0)
        if st.prev_total:
            obs[prev:prev + D] = st.prev_cnt[:D] / st.prev_total
        return obs, mask


def _integer_scalar(action: object) -> bool:
    """Whether ``action`` is an integer scalar: a Python int or numpy integer, or a 0-d integer
    array; a bool (Python's or numpy's), which ``Discrete.contains`` takes as 0 or 1, is not."""
    if isinstance(action, np.ndarray):
        return action.shape == () and np.issubdtype(action.dtype, np.integer)
    return isinstance(action, (int, np.integer)) and not isinstance(action, bool)


def _relative(x: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """``x_j / max_{candidates} x`` in [0, 1]; 1 for non-candidates, 0 when every candidate has 0."""
    if cand.all():  # (the usual case: no device has left) the same numbers without selecting the candidates
        top = x.max()
        return x / top if top > 0 else np.zeros_like(x)
    top = x[cand].max() if cand.any() else 0.0
    return np.where(cand, x / top if top > 0 else 0.0, 1.0)


class DistPrivacyEnv(gym.Env):
    """One segment per step, one layer per episode, requests of ``inst`` in order (see module docstring)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        instance: Instance | str | Path,
        *,
        reward: Reward = "paper",
        sigma: float = 1.0,
        beta: float = 0.5,
        latency_unit_s: float = 1e-3,
        shuffle: bool = False,
        render_mode: str | None = None,
    ):
        """``instance``: an :class:`Instance` or its file; the rest as in the module docstring.

        Also made by ``gymnasium.make("optdist/DistPrivacy-v0", instance=..., ...)`` once
        :mod:`optdist.rl` is imported. Raises TypeError for an ``instance`` that is neither,
        ValueError for a serial-uplink instance, an unknown reward, ``sigma`` or ``beta`` not a
        finite number >= 0, ``latency_unit_s`` not a finite number > 0, ``shuffle`` not a bool, a
        ``render_mode`` other than None (the environment renders nothing: ``metadata["render_modes"]``
        is empty, Gymnasium's convention), and :class:`optdist.instance.InstanceError` for a bad
        instance file.
        """
        if render_mode is not None:
            raise ValueError(f"render_mode {json_text(render_mode)}: optdist/DistPrivacy-v0 renders nothing "
                             f"(its metadata[\"render_modes\"] is empty) (fix: leave render_mode out)")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be true or false, got {json_text(shuffle)}")
        if not isinstance(instance, (Instance, str, Path)):
            doc = "; an instance document (a dict) is one after optdist.instance.parse(doc)" if isinstance(instance, dict) else ""
            raise TypeError(f"instance must be an optdist Instance or the path of an instance file, "
                            f"not {type(instance).__name__} (fix: e.g. instance=optdist.load_instance(path) or "
                            f"instance=\"instances/tiny/lenet-1x4-tau0.8.json\"{doc})")
        for name, value, low in (("sigma", sigma, 0.0), ("beta", beta, 0.0), ("latency_unit_s", latency_unit_s, None)):
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or (value < low if low is not None else value <= 0):
                raise ValueError(f"{name} must be a finite number {'>= 0' if low is not None else '> 0 (seconds)'}, "
                                 f"got {value_text(value)}")
        inst = instance if isinstance(instance, Instance) else load_instance(instance)
        require_parallel_uplink(inst, "the RL environment", training=True)
        if reward not in ("paper", "stage"):
            raise ValueError(f"reward must be \"paper\" or \"stage\", got {json_text(reward)}")
        self.inst, self.reward_kind = inst, reward
        self.sigma, self.beta, self.unit, self.shuffle = sigma, beta, latency_unit_s, bool(shuffle)
        self.render_mode = None
        self.features = Features(inst)
        D = inst.n_devices
        self.action_space = spaces.Discrete(D)
        self.observation_space = spaces.Box(0.0, 1.0, (self.features.size,), np.float32)
        self.active = np.ones(inst.n_nodes, dtype=bool)
        #: the actions taken since the current pass (of every request, from empty capacities) began:
        #: with the devices all active and no shuffle, stepping them again after ``reset(seed=...)``
        #: brings a new environment to this one's state (a resumed training, :mod:`optdist.rl.train`)
        self.pass_actions: list[int] = []
        e = inst.mults_per_s[:D]
        self.low = (e < e.max()).astype(float)
        self._started = False

    # ---- simulation ----------------------------------------------------------------------
    def remove_devices(self, devices: list[int]) -> None:
        """Devices leave the system (paper Fig. 10): from the next layer on they hold no resources.
        ``devices``: device indices in ``[0, n_devices)`` (ValueError naming the fix otherwise: an
        index past the nodes was numpy's IndexError, a source's index took the camera away)."""
        idx = np.atleast_1d(np.asarray(devices))
        D = self.inst.n_devices
        if idx.size and (idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= D):
            raise ValueError(f"remove_devices: {value_text(devices)} is not a list of device indices (fix: give indices in "
                             f"[0, {D}), e.g. [0, 1]; the sources, indices {D} on, stay)")
        self.active[idx.astype(np.int64)] = False

    def _restart(self) -> None:
        self.usage = Usage.zeros(self.inst.n_nodes)
        self._queue: list[int] = []
        self._rp: RequestPlacer | None = None
        self._started = True

    def _next_episode(self) -> None:
        """Advance to the next layer that needs decisions, placing source-pinned layers on the way."""
        inst = self.inst
        while True:
            if self._rp is None or self._rp.done:
                if not self._queue:  # a new pass: a new period with empty capacities
                    self.usage = Usage.zeros(inst.n_nodes)
                    self.pass_actions = []
                    order = self.np_random.permutation(inst.n_requests) if self.shuffle else np.arange(inst.n_requests)
                    self._queue = [int(r) for r in order]
                self._rp = RequestPlacer(inst, self.usage, self._queue.pop(0), self.active)
            st = self._rp.next_layer()
            if st.on_source:
                st.commit(np.full(st.P, int(inst.request_source[self._rp.r])))
                self._rp.close(st)
                continue
            self._st = st
            self._stats = {"reward": 0.0, "latency_penalty_s": 0.0, "valid": True, "steps": 0}
            return

    def _observe(self) -> tuple[np.ndarray, dict[str, Any]]:
        obs, self._mask = self.features(self._rp.r, self._st)
        info = {
            "action_mask": self._mask.astype(np.int8),
            "request": self.inst.request_ids[self._rp.r],
            "layer": self._st.layer.name,
            "segment": self._st.t,
        }
        return obs, info

    def action_masks(self) -> np.ndarray:
        """Devices the next segment may go to without breaking a constraint: (D,) bool. Raises
        RuntimeError, as :meth:`step` does, after the layer's episode ended or before the first
        ``reset()`` (before, it returned all False: no next segment to mask)."""
        self._require_segment()
        return self._mask.copy()

    def _require_segment(self) -> None:
        """RuntimeError where no segment awaits a device: before the first ``reset()`` or after the episode ended."""
        if not self._started or self._st.done:
            raise RuntimeError("the layer's episode is over: call reset() to start the next one" if self._started else
                               "no episode yet: call reset() first")

    # ---- Gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start the next layer episode; a seed (or ``options={"restart": True}``) restarts the simulation.

        ``options`` is Gymnasium's "additional information to specify how the environment is reset
        (depending on the specific environment)": here None or a mapping whose only key is
        ``"restart"`` (true or false; true: empty capacities and the first request again, as a
        ``seed`` does). Another key or value is a ValueError, another type a TypeError, naming it
        and the fix, before anything changes: an unknown key (``{"restrat": True}``) was ignored
        and the simulation went on unsaid, a list an AttributeError."""
        self._check_reset_options(options)
        super().reset(seed=seed)
        if seed is not None or not self._started or (options or {}).get("restart"):
            self._restart()
        self._next_episode()
        return self._observe()

    @staticmethod
    def _check_reset_options(options: Any) -> None:
        """:meth:`reset`'s ``options``: None or a mapping with at most ``"restart"``, true or false."""
        fix = 'fix: options={"restart": True} restarts the simulation, or leave options out'
        if options is None:
            return
        if not isinstance(options, Mapping):
            raise TypeError(f"reset: options is {type(options).__name__} {json_text(options)}, not a mapping ({fix})")
        if unknown := [k for k in options if k != "restart"]:
            raise ValueError(f"reset: options {json_text(unknown)} unknown: this environment reads only \"restart\" ({fix})")
        if "restart" in options and not isinstance(options["restart"], (bool, np.bool_)):
            raise ValueError(f"reset: options \"restart\" is {json_text(options['restart'])}, not true or false ({fix})")

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Place the next segment on device ``action`` (an integer in ``0..D-1``: a Python int, a
        numpy integer or a 0-d integer array, as ``Discrete.contains`` takes them; never a bool).
        Raises ValueError for another action (a bool, a float, an array with a shape) and
        RuntimeError after the layer's episode ended (``reset()`` starts the next), both before any
        change."""
        if not _integer_scalar(action) or not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in the action space {self.action_space}: "
                             f"give a device index, an integer in [0, {self.action_space.n})")
        self._require_segment()
        st, j = self._st, int(action)
        self.pass_actions.append(j)
        valid = bool(self._mask[j])
        delay = float(st.segment_delay()[j])
        before = st.stage_time
        st.place(j)
        if self.reward_kind == "paper":
            reward = max(1.0, self.sigma * st.cnt[j]) - delay / self.unit - self.beta * self.low[j] if valid else 0.0
        else:
            reward = -(st.stage_time - before) / self.unit - self.beta * self.low[j] - (0.0 if valid else 1.0)
        s = self._stats
        s["reward"] += reward
        s["latency_penalty_s"] += delay
        s["valid"] &= valid
        s["steps"] += 1
        terminated = st.done
        if terminated:
            self._rp.close(st)
        obs, info = self._observe()
        if terminated:
            info["episode_stats"] = {**s, "stage_time_s": st.stage_time}
        return obs, float(reward), terminated, False, info
