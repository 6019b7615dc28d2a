"""What DP noise at a layer cut does, for the placement optimizer (numpy only).

``dp_effect(cnn, layer, eps, tau)`` answers, for Laplace noise (Algorithm 1, per-element budget
``eps``) on the output of ``layer``:

* ``accuracy_drop_pct``: normalised accuracy loss ``100 (acc_0 - acc_eps) / acc_0`` (noisy
  fine-tuned remote part), paid once;
* ``attacker_ssim``: inversion SSIM from the noised tensor (running max over eps, so never
  understated);
* ``frees_downstream``: ``attacker_ssim <= tau``. Every later layer only sees post-processed
  noisy data, so the Nf constraint (10f) can be dropped for all layers after the cut;
* ``eps_device``: the formal guarantee of a device holding the whole noised tensor,
  ``eps C H W`` (basic composition; not meaningful protection, reported for honesty; for a
  device holding k maps use :func:`optdist.defences.dp.accounting`).

Placement meaning: layers up to and including ``layer`` see raw data and stay on the trusted
source; the noise is added there once, and layers after ``layer`` are unconstrained when
``frees_downstream`` holds (otherwise their usual Nf limits apply).

For the placement optimizer, :func:`measured_effects` is the strict reading: only eps values the
sweep measured (no interpolation, no clamping), only cuts at or after a measured tensor (no
reading of an earlier cut from a later tensor) and only a sweep whose black-box attacker covers
the attacker of the privacy table the decision is compared with
(:func:`optdist.attacks.attacker.for_table`); anything else has no entry and is not offered.

Sources of :func:`dp_effect`, in order: a measured sweep shipped as ``optdist/data/dp_measured_<cnn>.json`` for this
CNN (the cut uses the row of the latest measured tensor at or before it, else the first after it:
the privacy-table reading rule of MODEL.md section 6), else the paper's tables (Ryu et al. 2022)
with the cut mapped to a split depth (= number of conv layers up to the cut, clamped to 1-3) and
the CNN to a dataset profile. The accuracy drop of a measured sweep is relative to the plain split
with an equally fine-tuned (noise-free) tail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from optdist.attacks.attacker import Attacker
from optdist.defences import dp, dp_tables
from optdist.jsonfile import quoted
from optdist.paths import PACKAGE_DATA
from optdist.profiles import load_profile

#: Paper dataset profile used for each zoo CNN when no measurement exists (a heuristic:
#: digits -> SVHN, 32x32 natural -> CIFAR-10, larger natural images -> worst of the three).
PAPER_PROFILE = {"lenet": "SVHN", "cifar": "CIFAR10", "vgg16": "natural", "vgg19": "natural"}


@dataclass(frozen=True)
class DPEffect:
    """The effect of DP at one cut (see module docstring)."""

    cnn: str
    layer: str
    eps: float
    tau: float
    accuracy_drop_pct: float
    attacker_ssim: float
    frees_downstream: bool
    eps_device: float
    sigma_over_B: float
    source: str
    provenance: str
    #: the measured tensor whose numbers these are (None: the paper's): the cut itself, the latest
    #: measured one before it, or, where none is at or before it, the first after it
    tensor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@cache
def load_measured(cnn: str) -> dict[str, Any] | None:
    """The shipped measured sweep for ``cnn`` (``optdist/data/dp_measured_<cnn>.json``), if any."""
    path = PACKAGE_DATA / f"dp_measured_{cnn}.json"
    from optdist.io import restore_non_finite  # a measured value JSON cannot hold: null, named in "non_finite"

    return restore_non_finite(json.loads(path.read_text()), str(path)) if path.exists() else None


def split_depth(cnn: str, layer: str) -> int:
    """Number of conv layers at or before ``layer`` in the CNN's profile."""
    prof = load_profile(cnn)
    k = prof.index(layer)
    return sum(la.kind == "conv" for la in prof.layers[: k + 1])


def governing_measured_layer(cnn: str, layer: str, measured: list[str]) -> str | None:
    """The measured tensor that stands for a cut after ``layer``: latest at or before it, else first after."""
    names = [la.name for la in load_profile(cnn).layers]
    at = sorted(names.index(m) for m in measured if m in names)
    k = names.index(layer)
    before = [t for t in at if t <= k]
    after = [t for t in at if t > k]
    return names[before[-1]] if before else (names[after[0]] if after else None)


def _measured_curves(rows: list[dict[str, Any]], attack: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = next(r for r in rows if r["mode"] == "plain")["acc_finetuned"]
    noisy = sorted((r for r in rows if r["mode"] == "dp"), key=lambda r: r["eps"])
    eps = np.array([r["eps"] for r in noisy], dtype=float)
    loss = np.array([100.0 * (base - r["acc_finetuned"]) / base for r in noisy])
    ssim = np.maximum.accumulate(np.array([r[f"ssim_{attack}"] for r in noisy]))
    return eps, loss, ssim


def _interp_log(eps: float, grid: np.ndarray, values: np.ndarray) -> float:
    return float(np.interp(np.log10(np.clip(eps, grid[0], grid[-1])), np.log10(grid), values))


def dp_effect(cnn: str, layer: str, eps: float, tau: float, source: str = "auto", attack: str = "max") -> DPEffect:
    """Effect of Laplace DP with per-element budget ``eps`` on the output of ``layer`` of ``cnn``.

    ``source``: ``auto`` (measured if available, else paper), ``measured`` or ``paper``.
    ``attack`` (measured only): ``blackbox``, ``whitebox`` or ``max`` (the stronger of the two).
    Raises ValueError unless ``eps`` is in :data:`optdist.defences.dp.EPS_RULE`'s range and ``tau`` (an SSIM) is in (0, 1].
    """
    if not dp.eps_ok(eps):
        raise ValueError(f"eps {eps:g} is not a budget optdist takes: give one of the {dp.EPS_RULE}, e.g. 100 "
                         "(no noise: leave DP out)")
    if not 0 < tau <= 1:
        raise ValueError(f"tau {tau} is not a tolerated SSIM: give a number in (0, 1], e.g. 0.3")
    prof = load_profile(cnn)
    la = prof.layers[prof.index(layer)]
    eps_device = eps * la.out_maps * (la.beta // 4)
    meas = load_measured(cnn) if source in ("auto", "measured") else None
    row_layer = None if meas is None else governing_measured_layer(cnn, layer, list(meas["layers"]))
    if meas is not None and row_layer is not None:
        entry = meas["layers"][row_layer]
        attacks = ("blackbox", "whitebox") if attack == "max" else (attack,)
        curves = [_measured_curves(entry["rows"], a) for a in attacks]
        grid, loss = curves[0][0], curves[0][1]
        ssim = np.max([c[2] for c in curves], axis=0)
        s = _interp_log(eps, grid, ssim)
        return DPEffect(
            cnn, layer, float(eps), tau, _interp_log(eps, grid, loss), s, s <= tau, eps_device,
            dp.noise_stats(eps, 1.0, (1, 1))["sigma_over_B"], "measured",
            f"measured sweep `{meas.get('command', '')}` ({meas['dataset']}, tensor {row_layer}, attack={attack}, "
            f"eps grid {grid[0]:g}-{grid[-1]:g}, interpolated in log eps, clamped outside; black-box attacker: "
            f"{_attacker_text(meas)})", row_layer,
        )  # fmt: skip
    if source == "measured":
        raise KeyError(f"no measured DP sweep for {cnn}")
    profile = PAPER_PROFILE.get(cnn, "natural")
    depth = split_depth(cnn, layer)
    pred = dp_tables.predict(profile, min(max(depth, 1), 3), eps)
    note = "" if 1 <= depth <= 3 else f"; depth {depth} clamped to the paper's range 1-3 (extrapolation)"
    return DPEffect(
        cnn, layer, float(eps), tau, pred.norm_loss_pct, pred.ssim, pred.ssim <= tau, eps_device,
        dp.noise_stats(eps, 1.0, (1, 1))["sigma_over_B"], "paper",
        pred.provenance + f"; {cnn} mapped to {profile}, depth {depth}{note}; white-box SSIM scale differs "
        "from the black-box privacy tables",
    )  # fmt: skip


def sweep_attacker(meas: dict[str, Any]) -> Attacker | None:
    """The black-box attacker a measured sweep records (None: a sweep made before attackers were recorded)."""
    rec = meas.get("attacker")
    return None if rec is None else Attacker.from_record(rec)


def _attacker_text(meas: dict[str, Any]) -> str:
    have = sweep_attacker(meas)
    return "not recorded" if have is None else have.describe()


def _conservative_curves(entries: list[list[dict[str, Any]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """eps grid, accuracy drop and SSIM (running max of the stronger of black- and white-box) of
    one measured tensor, or, for several, on the eps they all measured, the largest of each."""
    per = []
    for rows in entries:
        curves = [_measured_curves(rows, a) for a in ("blackbox", "whitebox")]
        per.append((curves[0][0], curves[0][1], np.maximum(curves[0][2], curves[1][2])))
    grid = per[0][0]
    for g, _, _ in per[1:]:
        grid = grid[np.isclose(grid[:, None], g[None, :], rtol=1e-9, atol=0).any(axis=1)]
    pick = lambda g, v: np.array([v[np.isclose(g, e, rtol=1e-9, atol=0)][0] for e in grid])  # noqa: E731
    loss = np.max([pick(g, v) for g, v, _ in per], axis=0)
    ssim = np.max([pick(g, s) for g, _, s in per], axis=0)
    return grid, loss, ssim


def measured_effects(
    cnn: str, layer: str, tau: float, attacker: Attacker, eps: list[float] | None = None
) -> tuple[list[DPEffect], str | None]:
    """Effects of DP at ``layer`` at the eps values the shipped sweep measured under ``attacker`` or stronger.

    ``eps``: the values wanted (None: every measured one); values the sweep did not measure are
    dropped. The cut is read from the latest measured tensor at or before it; the SSIM is the
    running maximum over the measured eps of the stronger of the black- and white-box attacks;
    the accuracy drop is the measured one at that eps. A cut that is not itself measured but lies
    between two measured tensors takes, eps by eps, the larger accuracy drop and the larger SSIM
    of the two (the conservative neighbour); one after the last measured tensor has no entry
    (its own noise's cost is unmeasured). Returns the effects (ascending eps) and,
    if there are none, why (a sentence naming the command that would measure them).
    """
    meas = load_measured(cnn)
    todo = f"`optdist dp-sweep --cnn {cnn} --layers <tensor> --install`"
    if meas is None:
        return [], f"no measured DP sweep for {cnn} ({todo})"
    have = sweep_attacker(meas)
    if have is None or not have.covers(attacker):
        got = "records no attacker" if have is None else f"used a weaker attacker ({have.describe()})"
        return [], f"the measured DP sweep for {cnn} {got}; the privacy table needs {attacker.describe()} ({todo})"
    names = [la.name for la in load_profile(cnn).layers]
    k = names.index(layer)
    measured = sorted((m for m in meas["layers"] if m in names), key=names.index)
    before = [m for m in measured if names.index(m) <= k]
    after = [m for m in measured if names.index(m) > k]
    if not before:
        return [], f"no measured tensor at or before {layer} in the DP sweep for {cnn} (measured: {quoted(sorted(meas['layers']))})"
    if names.index(before[-1]) == k:
        tensors = [layer]  # the cut's own measurement
    elif after:  # between two measured tensors: the conservative neighbour, eps by eps (the larger cost and SSIM)
        tensors = [before[-1], after[0]]
    else:  # noise on an unmeasured tensor after the last measured one costs what nobody measured
        return [], (f"{layer} is not measured and no measured tensor follows it in the DP sweep for {cnn} (measured: "
                    f"{quoted(measured)}): noise there has an accuracy cost of its own "
                    f"(`optdist dp-sweep --cnn {cnn} --layers {layer} --install` measures it)")
    row_layer = " and ".join(tensors)
    grid, loss, ssim = _conservative_curves([meas["layers"][t]["rows"] for t in tensors])
    want = grid if eps is None else np.asarray(eps, dtype=float)
    la = load_profile(cnn).layers[k]
    out = []
    for i, e in enumerate(grid):
        if not np.isclose(want, e, rtol=1e-9, atol=0).any():
            continue
        out.append(DPEffect(
            cnn, layer, float(e), tau, float(loss[i]), float(ssim[i]), bool(ssim[i] <= tau),
            float(e) * la.out_maps * (la.beta // 4), dp.noise_stats(float(e), 1.0, (1, 1))["sigma_over_B"], "measured",
            f"measured sweep `{meas.get('command', '')}` ({meas['dataset']}, tensor {row_layer}, eps {e:g} measured, "
            f"running-max SSIM of black-/white-box; black-box attacker: {have.describe()})",
        ))  # fmt: skip
    if not out:
        return [], f"none of eps {sorted(set(want.tolist()))} was measured at {row_layer} (measured: {grid.tolist()})"
    return out, None


def best_eps(cnn: str, layer: str, tau: float, max_drop_pct: float, grid: np.ndarray | None = None) -> DPEffect | None:
    """The largest eps on ``grid`` (default: the paper's) that frees downstream layers within the accuracy budget."""
    grid = dp_tables.grid() if grid is None else np.asarray(grid, dtype=float)
    effects = (dp_effect(cnn, layer, float(x), tau) for x in grid)
    ok = [e for e in effects if e.frees_downstream and e.accuracy_drop_pct <= max_drop_pct]
    return max(ok, key=lambda e: e.eps, default=None)
