"""Exit statistics and the edge/cloud latency model of a multi-exit CNN (DefQ setting).

A multi-exit network has outputs ``k = 1..K+1`` (internal classifiers, then the final one),
cumulative cost ``macs[k]`` up to output k (earlier exit heads included) and ``c~_k = macs[k] /
macs[K+1]``. ``p`` is the exit distribution. The edge hosts outputs ``1..s`` and offloads the
split tensor of ``feat_bytes[s]`` bytes otherwise:

    T(k) = macs[k] / R_e                                                  k <= s
    T(k) = macs[s] / R_e + RTT + 8 feat_bytes[s] / uplink + (macs[k] - macs[s]) / R_c    k > s
    E[T] = t_pre + sum_k p_k T(k),   offload rate O = sum_{k > s} p_k

Efficacy (DeepSloth) is the area under "fraction exited vs fraction of compute":
``EFCY = trapz([0, F_1..F_{K+1}], [0, c~_1..1]) = 1 - sum_k p_k m_k`` with
``m_k = (c~_{k-1} + c~_k) / 2``. Everything is linear in ``p``, so an attacked fraction
``alpha`` mixes as ``p(alpha) = (1 - alpha) p_clean + alpha p_adv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from optdist.paths import PACKAGE_DATA


@dataclass(frozen=True)
class Link:
    """Edge/cloud throughputs [MAC/s], uplink [bit/s], round trip [s] and pre-processing time [s]."""

    edge_macs_per_s: float
    cloud_macs_per_s: float
    uplink_bps: float
    rtt_s: float
    t_pre_s: float = 0.0


#: The illustrative link of the reference notes (not from the paper): 5 GMAC/s edge,
#: 1 TMAC/s cloud, 20 Mbit/s uplink, 20 ms RTT.
EXAMPLE_LINK = Link(5e9, 1e12, 20e6, 0.020)


@dataclass(frozen=True)
class ExitProfile:
    """Cumulative MACs per output (``K+1`` values, last = full network) and split-tensor bytes per output."""

    macs: tuple[float, ...]
    feat_bytes: tuple[float, ...]

    @property
    def ctilde(self) -> np.ndarray:
        m = np.asarray(self.macs, dtype=float)
        return m / m[-1]


def efficacy(p: np.ndarray, ctilde: np.ndarray) -> float:
    """DeepSloth efficacy: ``trapz([0, F], [0, c~])`` with the last cumulative fraction forced to 1."""
    f = np.cumsum(np.asarray(p, dtype=float))
    f[-1] = 1.0
    x = np.concatenate([[0.0], np.asarray(ctilde, dtype=float)])
    y = np.concatenate([[0.0], f])
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def edge_exit_ratio(p: np.ndarray, split: int) -> float:
    """Share of samples leaving at outputs ``1..split`` (T3-ER for ``split = 3``)."""
    return float(np.sum(np.asarray(p, dtype=float)[:split]))


def exit_distribution(exit_index: np.ndarray, n_outputs: int) -> np.ndarray:
    """Histogram of 0-based exit indices as a distribution over ``n_outputs`` outputs."""
    return np.bincount(np.asarray(exit_index), minlength=n_outputs) / len(exit_index)


def output_latency(profile: ExitProfile, split: int, link: Link) -> np.ndarray:
    """``T(k)`` for every output ``k`` (seconds), edge hosting outputs ``1..split``."""
    macs = np.asarray(profile.macs, dtype=float)
    t = macs / link.edge_macs_per_s
    if split < len(macs):
        t_off = (
            macs[split - 1] / link.edge_macs_per_s
            + link.rtt_s
            + 8.0 * profile.feat_bytes[split - 1] / link.uplink_bps
            + (macs - macs[split - 1]) / link.cloud_macs_per_s
        )
        t[split:] = t_off[split:]
    return t


def expected_cost(p: np.ndarray, profile: ExitProfile, split: int, link: Link) -> dict[str, float]:
    """Expected latency, offload rate, uplink bytes and edge MACs per sample."""
    p = np.asarray(p, dtype=float)
    macs = np.asarray(profile.macs, dtype=float)
    off = float(p[split:].sum())
    return {
        "latency_s": link.t_pre_s + float(p @ output_latency(profile, split, link)),
        "offload_rate": off,
        "uplink_bytes": off * profile.feat_bytes[split - 1],
        "edge_macs": float(p @ np.minimum(macs, macs[split - 1])),
    }


def best_split(p: np.ndarray, profile: ExitProfile, link: Link) -> tuple[int, float]:
    """``argmin_s E[T](s)`` over all splits (``s = K+1``: everything on the edge)."""
    lat = [expected_cost(p, profile, s, link)["latency_s"] for s in range(1, len(profile.macs) + 1)]
    s = int(np.argmin(lat)) + 1
    return s, float(lat[s - 1])


def mix(p_clean: np.ndarray, p_adv: np.ndarray, alpha: float) -> np.ndarray:
    """Exit distribution when a fraction ``alpha`` of the traffic is attacked."""
    return (1.0 - alpha) * np.asarray(p_clean, dtype=float) + alpha * np.asarray(p_adv, dtype=float)


def break_even_alpha(clean_cost: float, adv_gain: float) -> float:
    """Attacked fraction above which an always-on defence pays: ``cost / (cost + gain)`` (0 if free)."""
    if clean_cost <= 0:
        return 0.0
    if adv_gain <= 0:
        return 1.0
    return clean_cost / (clean_cost + adv_gain)


def two_tier_latency(
    edge_ratio: float, efcy: float, ctilde_edge: np.ndarray, total_macs: float, feat_bytes: float, link: Link
) -> dict[str, float]:
    """Latency from the paper's two moments (edge-exit ratio, efficacy) at ``s = len(ctilde_edge)``.

    Edge mass is spread uniformly over the ``s`` edge exits; the offloaded mass gets the mean
    cost ``E[c~ | off] = ((1 - EFCY) - ER m_edge) / (1 - ER)`` (``m_edge`` = mean trapezoid midpoint
    of the edge exits), floored at ``c~_s``.
    """
    c = np.asarray(ctilde_edge, dtype=float)
    s = len(c)
    m = (np.concatenate([[0.0], c[:-1]]) + c) / 2.0
    t_edge = float(np.mean(c)) * total_macs / link.edge_macs_per_s
    out = {"latency_s": link.t_pre_s + edge_ratio * t_edge, "offload_rate": 1.0 - edge_ratio}
    if edge_ratio < 1.0:
        c_off = max(c[-1], ((1.0 - efcy) - edge_ratio * float(np.mean(m))) / (1.0 - edge_ratio))
        t_off = (
            c[s - 1] * total_macs / link.edge_macs_per_s
            + link.rtt_s
            + 8.0 * feat_bytes / link.uplink_bps
            + (c_off - c[s - 1]) * total_macs / link.cloud_macs_per_s
        )
        out["latency_s"] += (1.0 - edge_ratio) * t_off
    out["uplink_bytes"] = out["offload_rate"] * feat_bytes
    return {k: float(v) for k, v in out.items()}


@cache
def paper_tables() -> dict[str, Any]:
    """DefQ paper Tables I-IV and the SDN exit profiles (``optdist/data/defq_tables.json``)."""
    return json.loads((PACKAGE_DATA / "defq_tables.json").read_text())


def paper_latency(model: str, rad: str, sample: str, defended: bool, link: Link = EXAMPLE_LINK) -> dict[str, float]:
    """Two-tier latency of a paper scenario (``model`` in VGG16/ResNet56/MobileNet, ``rad`` '5'/'10',
    ``sample`` Clean/Linf/L2/L1) with or without DefQ, edge = first three exits."""
    t = paper_tables()
    col = 1 if defended else 0
    er = t["T3ER"][rad][sample][model][col]
    ef = t["EFCY"][rad][sample][model][col]
    prof = t["sdn_profiles"][model]
    return two_tier_latency(er, ef, prof["ctilde_exits_1_3"], prof["total_mmac"] * 1e6, prof["feat_bytes_exit3"], link)
