"""Predictors of accuracy loss and attacker SSIM versus epsilon from Ryu et al.'s tables.

Data: ``optdist/data/dp_tables.json`` (Tables 1-6 as printed, with provenance and errata).
A *profile* is one of the paper's datasets (``SVHN``, ``GTSRB``, ``STL10``, ``CIFAR10``) or
``natural`` (pooled GTSRB/STL-10/CIFAR-10, conservative: worst loss and worst SSIM of the three);
``depth`` is the number of conv layers in the local part (1-3).

* normalised loss ``L(eps) = (acc_0 - acc(eps)) / acc_0`` (percent), ``acc_0`` from Table 2;
* lookup: linear interpolation in ``log10 eps``, clamped to the grid [0.1, 5000];
* attacker SSIM uses the running maximum ``max_{eps' <= eps} SSIM(eps')`` (never understates leakage);
* pooled Hill fit ``SSIM(eps) = s0 + (s_inf - s0) eps^p / (eps^p + eps_h^p)`` with inverse
  ``eps*(tau) = eps_h ((tau - s0) / (s_inf - tau))^(1/p)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from optdist.jsonfile import json_text, quoted
from optdist.paths import PACKAGE_DATA

DATASETS = ("SVHN", "GTSRB", "STL10", "CIFAR10")
POOLED = ("GTSRB", "STL10", "CIFAR10")
PROFILES = (*DATASETS, "natural")
DEPTHS = (1, 2, 3)


@cache
def load_tables() -> dict[str, Any]:
    """The shipped paper tables (parsed JSON)."""
    return json.loads((PACKAGE_DATA / "dp_tables.json").read_text())


def grid() -> np.ndarray:
    """The paper's epsilon grid (0.1 ... 5000)."""
    return np.asarray(load_tables()["epsilon"], dtype=float)


def _check(profile: str, depth: int) -> None:
    if profile not in PROFILES:
        raise KeyError(f"unknown DP profile {json_text(profile)}; use one of {quoted(PROFILES)}")
    if depth not in DEPTHS:
        raise ValueError(f"depth {depth} outside the paper's split cases {DEPTHS}")


def column(dataset: str, depth: int, name: str) -> np.ndarray:
    """A printed column (``acc_pct``, ``mse``, ``ssim``, ``psnr_printed_db``) on the grid."""
    return np.asarray(load_tables()["tables"][dataset][str(depth)][name], dtype=float)


def baseline_acc(dataset: str, depth: int) -> float:
    """Table 2: accuracy (%) without DP."""
    return float(load_tables()["baseline_acc_pct"][dataset][str(depth)])


def bound(dataset: str, depth: int) -> float:
    """Table 1: the clip bound B."""
    return float(load_tables()["bound"][dataset][str(depth)])


def norm_loss(dataset: str, depth: int) -> np.ndarray:
    """Normalised accuracy loss (%) on the grid: ``100 (acc_0 - acc) / acc_0``."""
    a0 = baseline_acc(dataset, depth)
    return 100.0 * (a0 - column(dataset, depth, "acc_pct")) / a0


def ssim_running_max(dataset: str, depth: int) -> np.ndarray:
    """``max_{eps' <= eps} SSIM(eps')`` on the grid."""
    return np.maximum.accumulate(column(dataset, depth, "ssim"))


def psnr_from_mse(mse: np.ndarray | float) -> np.ndarray:
    """``10 log10(255^2 / MSE)`` in float (the paper's printed PSNR is a uint8 artefact)."""
    return 10.0 * np.log10(255.0**2 / np.asarray(mse, dtype=float))


def _interp(eps: float, values: np.ndarray) -> float:
    x = np.log10(grid())
    return float(np.interp(np.log10(np.clip(eps, grid()[0], grid()[-1])), x, values))


@dataclass(frozen=True)
class DPPrediction:
    """Predicted effect of DP at ``eps`` for a paper profile and split depth."""

    profile: str
    depth: int
    eps: float
    norm_loss_pct: float
    acc_pct: float | None
    ssim: float
    mse: float | None
    extrapolated: bool
    provenance: str


def _curves(profile: str, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if profile == "natural":
        loss = np.max([norm_loss(d, depth) for d in POOLED], axis=0)
        ssim = np.max([ssim_running_max(d, depth) for d in POOLED], axis=0)
        return loss, ssim, None, None
    return norm_loss(profile, depth), ssim_running_max(profile, depth), column(profile, depth, "acc_pct"), column(
        profile, depth, "mse"
    )


def predict(profile: str, depth: int, eps: float) -> DPPrediction:
    """Table lookup (log-linear interpolation, clamped) of loss, accuracy, running-max SSIM, MSE."""
    _check(profile, depth)
    loss, ssim, acc, mse = _curves(profile, depth)
    g = grid()
    src = "natural = worst of GTSRB/STL-10/CIFAR-10" if profile == "natural" else profile
    return DPPrediction(
        profile=profile,
        depth=depth,
        eps=float(eps),
        norm_loss_pct=_interp(eps, loss),
        acc_pct=None if acc is None else _interp(eps, acc),
        ssim=_interp(eps, ssim),
        mse=None if mse is None else _interp(eps, mse),
        extrapolated=not (g[0] <= eps <= g[-1]),
        provenance=f"Ryu et al. 2022 Tables 2-6 ({src}, case {depth}), white-box rMLE SSIM, log-eps interpolation",
    )


def hill_ssim(depth: int, eps: float | np.ndarray) -> np.ndarray | float:
    """Pooled Hill fit of SSIM(eps) for split depth ``depth``."""
    h = load_tables()["hill_ssim_pooled"][str(depth)]
    r = (np.asarray(eps, dtype=float) / h["eps_h"]) ** h["p"]
    return h["s0"] + (h["s_inf"] - h["s0"]) * r / (1.0 + r)


def hill_eps_star(depth: int, tau: float) -> float:
    """Largest eps with pooled-fit SSIM <= tau: ``eps_h ((tau - s0)/(s_inf - tau))^(1/p)``."""
    h = load_tables()["hill_ssim_pooled"][str(depth)]
    if tau <= h["s0"]:
        return 0.0
    if tau >= h["s_inf"]:
        return float("inf")
    return float(h["eps_h"] * ((tau - h["s0"]) / (h["s_inf"] - tau)) ** (1.0 / h["p"]))


def feasible_eps(profile: str, depth: int, max_loss_pct: float, tau: float) -> tuple[float, float] | None:
    """Grid interval ``[eps_lo, eps_hi]`` meeting both targets, or ``None``.

    ``eps_lo``: smallest grid eps from which the normalised loss stays <= ``max_loss_pct`` for all
    larger grid eps; ``eps_hi``: largest grid eps with running-max SSIM <= ``tau``.
    """
    _check(profile, depth)
    loss, ssim, _, _ = _curves(profile, depth)
    g = grid()
    ok_after = np.flip(np.logical_and.accumulate(np.flip(loss <= max_loss_pct)))
    lo = g[ok_after][0] if ok_after.any() else None
    hi = g[ssim <= tau][-1] if (ssim <= tau).any() else None
    if lo is None or hi is None or lo > hi:
        return None
    return float(lo), float(hi)


def headline_losses() -> dict[str, float]:
    """Mean normalised loss over the 3 cases at the paper's 'largest protecting' eps (Sec. 4).

    SVHN and GTSRB at eps = 200, STL-10 and CIFAR-10 at eps = 500. The paper prints
    0.476/2.066/5.021/12.454 %, which its own tables do not reproduce.
    """
    at = {"SVHN": 200.0, "GTSRB": 200.0, "STL10": 500.0, "CIFAR10": 500.0}
    g = grid()
    return {d: float(np.mean([norm_loss(d, c)[g == e][0] for c in DEPTHS])) for d, e in at.items()}
