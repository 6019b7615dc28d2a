"""The Laplace mechanism of Ryu et al. 2022 (Algorithm 1, after ARDEN) and its closed forms.

For one sample's local-part output ``x`` (any shape, ``m`` elements), bound ``B`` and
per-element budget ``eps``:

1. ``d = ||x||_inf`` over the *whole* tensor;
2. ``x~ = x / max(1, d / B)`` (a global rescale, not an element-wise clamp), so ``|x~_i| <= B``;
3. ``x* = x~ + n`` with ``n_i ~ Lap(b)`` i.i.d., ``b = 2B / eps`` (per-coordinate sensitivity 2B).

``B`` is the median of ``||x||_inf`` over 100 random training samples. Each released
coordinate is ``eps``-DP; a device receiving ``k`` maps of ``H x W`` sees ``kHW`` coordinates
and, by basic composition, only ``eps_dev = eps * k * H * W`` (an upper bound). Every later
computation on ``x*`` is post-processing and costs no further budget.

Functions take a batch: axis 0 indexes samples, the other axes form one sample's tensor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CALIBRATION_SAMPLES = 100

#: The per-element Laplace budgets optdist takes, everywhere one is given (an instance's
#: ``defence.*.epsilons``, ``--eps`` of ``dp-effect`` and ``dp-sweep``, :func:`optdist.defences.
#: dp_effect.dp_effect`, the sweep's grid): ``[EPS_MIN, EPS_MAX]``. Below it the noise statistics
#: under- and overflow (eps 1e-300: "math domain error"), above it the noise vanishes below float
#: resolution (eps 1e200: ZeroDivisionError); both ends are far past any useful budget.
EPS_MIN, EPS_MAX = 1e-6, 1e6
EPS_RULE = f"per-element Laplace budgets in [{EPS_MIN:g}, {EPS_MAX:g}]"


def eps_ok(eps: float) -> bool:
    """``eps`` is a budget optdist takes (:data:`EPS_MIN` <= eps <= :data:`EPS_MAX`; nan is not)."""
    return EPS_MIN <= eps <= EPS_MAX


def laplace_scale(eps: float, bound: float) -> float:
    """Laplace scale ``b = 2B / eps``; raises ValueError unless both are finite and > 0
    (``eps = inf`` is no noise: leave DP out instead)."""
    if not (math.isfinite(eps) and eps > 0 and math.isfinite(bound) and bound > 0):
        raise ValueError(f"eps and B must be finite numbers > 0 (got eps={eps}, B={bound})")
    return 2.0 * bound / eps


def sup_norms(x: np.ndarray) -> np.ndarray:
    """``||x_n||_inf`` of every sample ``x_n`` of the batch ``x``."""
    x = np.asarray(x)
    return np.abs(x.reshape(x.shape[0], -1)).max(axis=1)


def calibrate_bound(
    features: np.ndarray, n: int = CALIBRATION_SAMPLES, rng: np.random.Generator | None = None
) -> float:
    """``B = median_n ||x_n||_inf`` over ``n`` random samples of ``features`` (all if fewer)."""
    features = np.asarray(features)
    rng = np.random.default_rng(0) if rng is None else rng
    idx = rng.choice(features.shape[0], size=min(n, features.shape[0]), replace=False)
    return float(np.median(sup_norms(features[idx])))


def clip_rescale(x: np.ndarray, bound: float) -> np.ndarray:
    """Step 2-3 of Algorithm 1 per sample: ``x_n / max(1, ||x_n||_inf / B)``."""
    x = np.asarray(x, dtype=float)
    scale = np.maximum(1.0, sup_norms(x) / bound)
    return x / scale.reshape((-1,) + (1,) * (x.ndim - 1))


def privatize(x: np.ndarray, bound: float, eps: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Algorithm 1: global rescale to ``||.||_inf <= B`` then i.i.d. ``Lap(2B/eps)`` per element."""
    rng = np.random.default_rng() if rng is None else rng
    xt = clip_rescale(x, bound)
    return xt + rng.laplace(0.0, laplace_scale(eps, bound), size=xt.shape)


def noise_stats(
    eps: float, bound: float, map_shape: tuple[int, int], mean_square: np.ndarray | None = None
) -> dict[str, Any]:
    """Closed-form noise statistics for maps of ``H x W``.

    ``b = 2B/eps``; variance ``sigma^2 = 2 b^2 = 8 B^2 / eps^2``; per map
    ``E||n||_2^2 = HW sigma^2`` and ``E||n||_1 = HW b``; peak SNR ``B^2/sigma^2 = eps^2/8``
    (``20 log10 eps - 9.03`` dB); ``P(|n| > B) = exp(-eps/2)``. With the clipped signal's
    per-map mean square ``q_c = mean(x~_c^2)``, ``SNR_c = q_c / sigma^2 = q_c eps^2 / (8 B^2)``.
    """
    b = laplace_scale(eps, bound)
    var = 2.0 * b * b
    hw = map_shape[0] * map_shape[1]
    out: dict[str, Any] = {
        "b": b,
        "variance": var,
        "sigma": math.sqrt(var),
        "sigma_over_B": math.sqrt(var) / bound,
        "energy_per_map": hw * var,
        "l1_per_map": hw * b,
        "peak_snr_db": 10.0 * math.log10(bound * bound / var),
        "p_exceed_B": math.exp(-eps / 2.0),
    }
    if mean_square is not None:
        snr = np.asarray(mean_square, dtype=float) / var
        out["snr"] = snr
        with np.errstate(divide="ignore"):
            out["snr_db"] = 10.0 * np.log10(snr)
    return out


def map_mean_square(x: np.ndarray, bound: float) -> np.ndarray:
    """``q_c = mean over samples and pixels of x~_c^2`` for a batch ``(N, C, H, W)`` after clipping."""
    xt = clip_rescale(x, bound)
    return (xt**2).mean(axis=(0, 2, 3))


def accounting(eps: float, k_maps: int, height: int, width: int) -> dict[str, float]:
    """Per-element and per-device budget: ``eps_dev = eps * k * H * W`` (basic composition)."""
    n = k_maps * height * width
    return {"eps_element": eps, "coordinates": n, "eps_device": eps * n}


def eps_element_for_device(eps_device: float, k_maps: int, height: int, width: int) -> float:
    """Per-element budget that meets a device-level target: ``eps_dev / (k H W)``."""
    return eps_device / (k_maps * height * width)
