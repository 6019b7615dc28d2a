"""What DP noise at a layer cut does, for the placement optimizer (numpy only).

``dp_effect(cnn, layer, eps, tau)`` answers, for Laplace noise (Algorithm 1, per-element budget
``eps``) on the output of ``layer``:

* ``accuracy_drop_pct``: normalised accuracy loss ``100 (acc_0 - acc_eps) / acc_0`` (noisy
  fine-tuned remote part), paid once;
* ``attacker_ssim``: inversion SSIM from the noised tensor (running max over eps, so never
  understated);
* ``frees_downstream``: ``attacker_ssim <= tau`` and, measured, the SSIM lower than the no-noise
  one by more than :data:`SE_FACTOR` standard errors of the difference (noise whose effect is
  within the measurement's error is not shown to protect; ``note`` says so). Every later layer
  only sees post-processed noisy data, so the Nf constraint (10f) can be dropped for all layers
  after the cut. An eps above the largest measured one is read as no noise (its SSIM: the
  no-noise one), not as the largest measured eps;
* ``eps_device``: the formal guarantee of a device holding the whole noised tensor,
  ``eps C H W`` (basic composition; not meaningful protection, reported for honesty; for a
  device holding k maps use :func:`optdist.defences.dp.accounting`).

Placement meaning: layers up to and including ``layer`` see raw data and stay on the trusted
source; the noise is added there once, and layers after ``layer`` are unconstrained when
``frees_downstream`` holds (otherwise their usual Nf limits apply).

For the placement optimizer, :func:`measured_effects` is the strict reading: only eps values the
sweep measured (no interpolation, no clamping), only cuts at or after a measured tensor (no
reading of an earlier cut from a later tensor; an unmeasured cut between two measured tensors takes
the larger cost and SSIM of the two, one after the last is not offered) and only a sweep whose black-box attacker covers
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
    #: measured: the attacker's SSIM without noise, and why the effect does not free although
    #: ``attacker_ssim <= tau`` (e.g. within two standard errors of no noise), else ""
    ssim_no_noise: float | None = None
    note: str = ""

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


def _tensors_of(cnn: str, layer: str, measured: list[str]) -> list[str]:
    """The measured tensors whose numbers stand for a cut after ``layer``: its own; else the two
    measured around it (the larger cost and SSIM are taken); else the one
    :func:`governing_measured_layer` names (latest before, else first after); [] if none."""
    names = [la.name for la in load_profile(cnn).layers]
    at = sorted(names.index(m) for m in measured if m in names)
    k = names.index(layer)
    before, after = [t for t in at if t <= k], [t for t in at if t > k]
    if before and before[-1] == k:
        return [layer]
    if before and after:
        return [names[before[-1]], names[after[0]]]
    one = governing_measured_layer(cnn, layer, measured)
    return [] if one is None else [one]


def _measured_curves(rows: list[dict[str, Any]], attack: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = next(r for r in rows if r["mode"] == "plain")["acc_finetuned"]
    noisy = sorted((r for r in rows if r["mode"] == "dp"), key=lambda r: r["eps"])
    eps = np.array([r["eps"] for r in noisy], dtype=float)
    loss = np.array([100.0 * (base - r["acc_finetuned"]) / base for r in noisy])
    ssim = np.maximum.accumulate(np.array([r[f"ssim_{attack}"] for r in noisy]))
    return eps, loss, ssim


#: an SSIM lower than the no-noise one by at most this many standard errors of the difference is
#: not counted as protection (about 95 %): the noise is not shown to do anything
SE_FACTOR = 2.0


def _samples(meas: dict[str, Any], attack: str) -> int:
    """Images the mean SSIM of ``attack`` was taken over (black-box: the attacker's test images;
    white-box: the sweep's ``rmle_samples``)."""
    cfg = meas.get("config") or {}
    if attack == "blackbox":
        return int((meas.get("attacker") or cfg.get("attacker") or {}).get("test_samples", 500))
    return int(cfg.get("rmle_samples", 100))


def _ssim_and_se(meas: dict[str, Any], rows: list[dict[str, Any]], attacks: tuple[str, ...]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """eps grid (ascending), running-max SSIM of the stronger attack, its standard error (of the
    row and attack attaining it), and the no-noise SSIM and its standard error."""

    def best(r: dict[str, Any]) -> tuple[float, float]:
        vals = [(r[f"ssim_{a}"], (r.get(f"ssim_{a}_std") or 0.0) / np.sqrt(_samples(meas, a))) for a in attacks]
        return max(vals)

    plain = next(r for r in rows if r["mode"] == "plain")
    noisy = sorted((r for r in rows if r["mode"] == "dp"), key=lambda r: r["eps"])
    eps = np.array([r["eps"] for r in noisy], dtype=float)
    pairs = [best(r) for r in noisy]
    ssim, se = np.empty(len(pairs)), np.empty(len(pairs))
    top = (-np.inf, 0.0)
    for i, pr in enumerate(pairs):
        top = max(top, pr)
        ssim[i], se[i] = top
    ps, pse = best(plain)
    return eps, ssim, se, float(ps), float(pse)


def _within_noise(ssim: float, se: float, plain: float, plain_se: float) -> bool:
    """Whether ``ssim`` is within :data:`SE_FACTOR` standard errors of the no-noise ``plain``."""
    return plain - ssim <= SE_FACTOR * float(np.hypot(se, plain_se))


def _not_shown(ssim: float, se: float, plain: float, plain_se: float) -> str:
    return (f"attacker SSIM {ssim:.4f} is within {SE_FACTOR:g} standard errors ({SE_FACTOR * np.hypot(se, plain_se):.4f}) "
            f"of the no-noise {plain:.4f}: the noise is not shown to protect, so it frees nothing")


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
    tensors = None if meas is None else _tensors_of(cnn, layer, list(meas["layers"]))
    if meas is not None and tensors:
        attacks = ("blackbox", "whitebox") if attack == "max" else (attack,)
        loss, s, frees, notes = [], [], True, []
        plain = None
        for t in tensors:  # one tensor, or the two around an unmeasured cut: the larger cost and SSIM
            rows = meas["layers"][t]["rows"]
            grid, t_loss, _ = _measured_curves(rows, attacks[0])
            _, ssim, se, t_plain, plain_se = _ssim_and_se(meas, rows, attacks)
            if eps > grid[-1]:  # less noise than any measured: the conservative reading is no noise at all
                t_s, t_se = max(t_plain, float(ssim[-1])), plain_se
            else:
                t_s, t_se = _interp_log(eps, grid, ssim), _interp_log(eps, grid, se)
            if t_s <= tau and _within_noise(t_s, t_se, t_plain, plain_se):
                frees = False
                notes.append(_not_shown(t_s, t_se, t_plain, plain_se) + (f" (at {t})" if len(tensors) > 1 else ""))
            loss.append(_interp_log(eps, grid, t_loss))
            s.append(t_s)
            plain = t_plain if plain is None else max(plain, t_plain)
        row_layer = " and ".join(tensors)
        frees = bool(frees and max(s) <= tau)
        if eps > grid[-1]:
            notes.insert(0, f"eps {eps:g} is above the largest measured ({grid[-1]:g}): read as no noise (attacker "
                            f"SSIM {max(s):.4f}), not as eps {grid[-1]:g}")
        return DPEffect(
            cnn, layer, float(eps), tau, max(loss), max(s), frees, eps_device,
            dp.noise_stats(eps, 1.0, (1, 1))["sigma_over_B"], "measured",
            f"measured sweep `{meas.get('command', '')}` ({meas['dataset']}, tensor {row_layer}"
            + (" (the larger of the two)" if len(tensors) > 1 else "") + f", attack={attack}, "
            f"eps grid {grid[0]:g}-{grid[-1]:g}, interpolated in log eps; below the grid its smallest eps, above it "
            f"no noise; black-box attacker: {_attacker_text(meas)})", row_layer, plain, "; ".join(dict.fromkeys(notes)),
        )  # fmt: skip
    if source == "measured":
        raise KeyError(f"no measured DP sweep for {cnn} (fix: leave out --source measured, or give --source paper, for "
                       f"the paper's white-box numbers; or measure it: `optdist dp-sweep --cnn {cnn} --layers {layer} "
                       "--install`)")
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


def _conservative_curves(meas: dict[str, Any], entries: list[list[dict[str, Any]]]) -> tuple:
    """eps grid, accuracy drop and SSIM (running max of the stronger of black- and white-box) of
    one measured tensor, or, for several, on the eps they all measured, the largest of each; per
    eps whether the SSIM is measurably below no noise at every tensor (else why not); the
    largest no-noise SSIM."""
    per = []
    for rows in entries:
        g, loss, _ = _measured_curves(rows, "blackbox")
        per.append((g, loss, *_ssim_and_se(meas, rows, ("blackbox", "whitebox"))[1:]))
    grid = per[0][0]
    for p in per[1:]:
        grid = grid[np.isclose(grid[:, None], p[0][None, :], rtol=1e-9, atol=0).any(axis=1)]
    pick = lambda g, v: np.array([v[np.isclose(g, e, rtol=1e-9, atol=0)][0] for e in grid])  # noqa: E731
    loss = np.max([pick(p[0], p[1]) for p in per], axis=0)
    ssim = np.max([pick(p[0], p[2]) for p in per], axis=0)
    # the noise protects only if it does so measurably at every tensor it stands for
    shown = np.all([[not _within_noise(s, se, p[4], p[5]) for s, se in zip(pick(p[0], p[2]), pick(p[0], p[3]))]
                    for p in per], axis=0)
    notes = ["" if ok else "; ".join(_not_shown(s, se, p[4], p[5]) for p in per
                                     for s, se in [(pick(p[0], p[2])[i], pick(p[0], p[3])[i])]
                                     if _within_noise(s, se, p[4], p[5]))
             for i, ok in enumerate(shown)]
    plain = max(p[4] for p in per)
    return grid, loss, ssim, shown, notes, plain


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
    grid, loss, ssim, shown, notes, plain = _conservative_curves(meas, [meas["layers"][t]["rows"] for t in tensors])
    want = grid if eps is None else np.asarray(eps, dtype=float)
    la = load_profile(cnn).layers[k]
    out = []
    for i, e in enumerate(grid):
        if not np.isclose(want, e, rtol=1e-9, atol=0).any():
            continue
        out.append(DPEffect(
            cnn, layer, float(e), tau, float(loss[i]), float(ssim[i]), bool(ssim[i] <= tau and shown[i]),
            float(e) * la.out_maps * (la.beta // 4), dp.noise_stats(float(e), 1.0, (1, 1))["sigma_over_B"], "measured",
            f"measured sweep `{meas.get('command', '')}` ({meas['dataset']}, tensor {row_layer}, eps {e:g} measured, "
            f"running-max SSIM of black-/white-box; black-box attacker: {have.describe()})",
            None, plain, "" if ssim[i] > tau else notes[i],
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
