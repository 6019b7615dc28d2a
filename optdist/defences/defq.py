"""DefQ (Qiu et al. 2023): 8x8 block-DCT quantization of the input image with a defensive table.

On the 0-255 pixel scale, for every channel and every 8x8 block ``X`` (the image is
edge-padded to a multiple of 8 and cropped back):

    F = D (X - 128) D^T            D: orthonormal 8-point DCT-II (= the JPEG FDCT)
    F^ = round(F / Q) * Q           the only lossy step (ties: half-up, ``floor(F/Q + 1/2)``)
    X^ = clip(D^T F^ D + 128, 0, 255)   optionally rounded to integers (uint8 codec), same tie rule

Since ``D`` is orthonormal, ``||X^ - X||_2^2 = ||F^ - F||_2^2 <= sum_uv Q_uv^2 / 4`` per block
before clipping and integer rounding (Parseval).

Table generation (the paper's Algorithm 1, reconstructed): over M clean images ``I`` and their
attacked versions ``I^`` (same images), every channel and block,

    Q0 = mean( (|DCT(I^)| + 1) / (|DCT(I)| + 1) )        (no level shift)
    Q  = round( (Q0 - min Q0) / (max Q0 - min Q0) * (hi - lo) + lo )   [lo, hi] = [20, 60]
"""

from __future__ import annotations

from functools import cache

import numpy as np

N = 8
#: The standard JPEG luminance table (ITU-T T.81, Annex K), for comparison.
JPEG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=float,
)


@cache
def dct_matrix(n: int = N) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D[u, x] = a(u) cos(pi (2x+1) u / 2n)``, ``a(0) = sqrt(1/n)``, else ``sqrt(2/n)``."""
    u = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * x + 1) * u / (2 * n))
    d[0] /= np.sqrt(2.0)
    d.setflags(write=False)
    return d


def to_blocks(x: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Edge-pad the last two axes to multiples of 8 and view them as ``(..., nh, nw, 8, 8)`` blocks."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % N, (-w) % N
    if ph or pw:
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)], mode="edge")
    nh, nw = x.shape[-2] // N, x.shape[-1] // N
    b = x.reshape(*x.shape[:-2], nh, N, nw, N)
    return np.moveaxis(b, -3, -2), (h, w)


def from_blocks(b: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`to_blocks` (crops the padding)."""
    nh, nw = b.shape[-4], b.shape[-3]
    x = np.moveaxis(b, -2, -3).reshape(*b.shape[:-4], nh * N, nw * N)
    return x[..., : size[0], : size[1]]


def block_dct(x: np.ndarray) -> np.ndarray:
    """2-D DCT of every 8x8 block: ``F = D X D^T`` on blocks ``(..., nh, nw, 8, 8)``."""
    d = dct_matrix()
    return d @ x @ d.T


def block_idct(f: np.ndarray) -> np.ndarray:
    """Inverse 2-D DCT of every block: ``X = D^T F D``."""
    d = dct_matrix()
    return d.T @ f @ d


def _round(v: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "half-up":
        return np.floor(v + 0.5)
    if rounding == "half-even":
        return np.rint(v)
    from optdist.jsonfile import json_text

    raise ValueError(f"rounding must be \"half-up\" or \"half-even\", not {json_text(rounding)}")


def defq(
    x: np.ndarray,
    table: np.ndarray,
    data_range: float = 1.0,
    level_shift: bool = True,
    to_uint8: bool = True,
    rounding: str = "half-up",
) -> np.ndarray:
    """Apply DefQ to images ``x`` (last two axes H, W; any leading axes such as N, C).

    ``x`` is on ``[0, data_range]``; the transform runs on the 0-255 scale and the result is
    returned on the input's scale.
    """
    table = np.asarray(table, dtype=float)
    if table.shape != (N, N) or not np.isfinite(table).all() or (table <= 0).any():
        raise ValueError("table must be an 8x8 array of finite positive steps")
    v = np.asarray(x, dtype=float) * (255.0 / data_range)
    shift = 128.0 if level_shift else 0.0
    blocks, size = to_blocks(v - shift)
    f = block_dct(blocks)
    fq = _round(f / table, rounding) * table
    y = np.clip(from_blocks(block_idct(fq), size) + shift, 0.0, 255.0)
    if to_uint8:
        y = _round(y, rounding)
    return y * (data_range / 255.0)


def frequency_ratio(clean: np.ndarray, attacked: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """``Q0[u, v] = mean over images, channels, blocks of (|F(I^)| + 1) / (|F(I)| + 1)`` (0-255 scale)."""
    clean, attacked = np.asarray(clean, dtype=float), np.asarray(attacked, dtype=float)
    if clean.shape != attacked.shape:
        raise ValueError(f"clean {clean.shape} and attacked {attacked.shape} must be the same images")
    s = 255.0 / data_range
    fc = block_dct(to_blocks(clean * s)[0]).reshape(-1, N, N)
    fa = block_dct(to_blocks(attacked * s)[0]).reshape(-1, N, N)
    return ((np.abs(fa) + 1.0) / (np.abs(fc) + 1.0)).mean(axis=0)


def table_from_ratio(q0: np.ndarray, lo: float = 20, hi: float = 60) -> np.ndarray:
    """Min-max map ``Q0`` to integer steps in ``[lo, hi]``: ``round((Q0 - min)/(max - min)(hi - lo) + lo)``."""
    q0 = np.asarray(q0, dtype=float)
    span = q0.max() - q0.min()
    if span <= 0:
        return np.full((N, N), float(lo))
    return np.floor((q0 - q0.min()) / span * (hi - lo) + lo + 0.5)


def generate_table(
    clean: np.ndarray, attacked: np.ndarray, lo: float = 20, hi: float = 60, data_range: float = 1.0
) -> np.ndarray:
    """Algorithm 1: the defensive table from clean/attacked pairs."""
    return table_from_ratio(frequency_ratio(clean, attacked, data_range), lo, hi)


def quantization_error_bound(table: np.ndarray) -> float:
    """Per-block bound on ``||X^ - X||_2^2`` before clipping/rounding: ``sum Q^2 / 4``."""
    return float((np.asarray(table, dtype=float) ** 2).sum() / 4.0)


def ops_per_image(height: int, width: int, channels: int) -> int:
    """Naive cost: separable 8x8 DCT + IDCT (32 MAC per value) + quantize (3 ops) = ``35 H W C``."""
    return 35 * height * width * channels


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """``10 log10(range^2 / MSE)`` in float."""
    mse = float(np.mean((np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)
