"""Black-box model inversion (He, Zhang, Lee, ACSAC'19), restricted to ``m`` of ``P`` maps.

The adversary queries the target's head ``f`` (input -> output of the attacked layer) on its
own samples ``x`` from the data distribution, keeps the maps ``S`` (``|S| = m``) that one
device would hold, and trains an inverse network ``g`` by

    min_g  1/N sum_i || g(f_S(x_i)) - x_i ||_2^2        (MSE, Adam)

It is scored on held-out images by mean SSIM and PSNR (data range 1, float64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from skimage.metrics import structural_similarity
from torch import nn

from optdist.attacks.attacker import CALIBRATION, DECODER, Attacker
from optdist.attacks.targets import to_float
from optdist.jsonfile import text_of

LR = CALIBRATION.lr
BATCH = CALIBRATION.batch


class Standardize(nn.Module):
    """``(z - mean_c) / std_c`` per channel, statistics fixed from the adversary's features."""

    def __init__(self, z: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", z.mean(dim=(0, 2, 3), keepdim=True)[0])
        self.register_buffer("std", z.std(dim=(0, 2, 3), keepdim=True)[0].clamp_min(1e-6))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std


def decoder(z_train: torch.Tensor, out_shape: Sequence[int], width: int | None = None) -> nn.Sequential:
    """A transposed-conv decoder from ``(m, h, w)`` maps to a ``(C, H, W)`` image in [0, 1].

    With ``n`` the most 2x up-samplings such that ``H / 2^n`` and ``W / 2^n`` are integers no
    smaller than ``h`` and ``w``: a ConvTranspose of kernel ``(H/2^n - h + 1, W/2^n - w + 1)``
    (a 3x3 conv when that kernel is 1x1) reaches ``(H, W) / 2^n``; ``n`` stride-2 ConvTransposes
    (k4, channels halved down to 8) double it to ``(H, W)``; a 3x3 conv and a sigmoid give the
    image. ``width`` (first-stage channels) defaults to ``clamp(m, 16, 64)``.
    """
    m, h, w = z_train.shape[1:]
    c_out, hh, ww = out_shape
    n = max(j for j in range(8) if hh % 2**j == 0 and ww % 2**j == 0 and hh >> j >= h and ww >> j >= w)
    kernel = (hh // 2**n - h + 1, ww // 2**n - w + 1)
    c = width or min(64, max(16, m))
    first = nn.Conv2d(m, c, 3, padding=1) if kernel == (1, 1) else nn.ConvTranspose2d(m, c, kernel)
    layers: list[nn.Module] = [Standardize(z_train), first]
    for _ in range(n):
        layers += [nn.ReLU(), nn.ConvTranspose2d(c, max(8, c // 2), 4, stride=2, padding=1)]
        c = max(8, c // 2)
    layers += [nn.ReLU(), nn.Conv2d(c, c_out, 3, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


@torch.no_grad()
def features(head: nn.Module, x: np.ndarray, batch: int = 500) -> torch.Tensor:
    """The attacked tensor ``f(x)`` for uint8 images ``x`` (N, C, H, W)."""
    head.eval()
    return torch.cat([head(to_float(x[i : i + batch])) for i in range(0, len(x), batch)])


def select_maps(z: torch.Tensor, P: int, maps: Sequence[int]) -> torch.Tensor:
    """Maps ``maps`` of an attacked tensor of ``P`` maps, as the decoder's ``(N, m', h, w)`` input.

    ``z`` is ``(N, P, h, w)`` (maps are channels), or ``(N, F)`` for a flat output: ``P`` maps of
    ``F / P`` values each (a global mean: ``F = P``; an fc layer: one map of ``F`` values), given to
    the decoder as ``(N, m F / P, 1, 1)``.
    """
    if z.ndim == 4:
        return z[:, list(maps)]
    if z.ndim != 2 or z.shape[1] % P:
        raise ValueError(f"attacked tensor of shape {list(z.shape)}: expected (N, {P}, h, w) or (N, k*{P})")
    return z.reshape(len(z), P, -1)[:, list(maps)].reshape(len(z), -1, 1, 1)


def train_inverse(
    z: torch.Tensor,
    images: np.ndarray,
    epochs: int,
    seed: int,
    lr: float = LR,
    batch: int = BATCH,
) -> nn.Sequential:
    """Fit a :func:`decoder` from features ``z`` back to ``images``: MSE, Adam, cosine-decayed learning rate."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    target = to_float(images)
    g = decoder(z, target.shape[1:])
    opt = torch.optim.Adam(g.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * math.ceil(len(z) / batch))
    g.train()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(z)))
        for i in range(0, len(z), batch):
            idx = order[i : i + batch]
            loss = nn.functional.mse_loss(g(z[idx]), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return g.eval()


def attack(
    attacker: Attacker, z_adv: torch.Tensor, x_adv: np.ndarray, z_test: torch.Tensor, seed: int | None = None
) -> tuple[nn.Sequential, np.ndarray]:
    """Train ``attacker``'s inverse network on ``(z_adv, x_adv)`` and reconstruct ``z_test``.

    The one training call of the calibration and the DP sweep: :func:`train_inverse` with the
    attacker's epochs, lr and batch; ``seed`` defaults to ``attacker.seed``. Returns the network
    and its reconstructions (N, C, H, W) float64 in [0, 1].
    """
    if attacker.architecture != DECODER:
        raise ValueError(f"unknown attacker architecture {text_of(attacker.architecture)}; known: {text_of(DECODER)}")
    if len(z_adv) != len(x_adv):
        raise ValueError(f"{len(z_adv)} feature tensors for {len(x_adv)} images")
    g = train_inverse(z_adv, x_adv, attacker.epochs, attacker.seed if seed is None else seed, attacker.lr, attacker.batch)
    return g, reconstruct(g, z_test)


@torch.no_grad()
def reconstruct(g: nn.Module, z: torch.Tensor, batch: int = 500) -> np.ndarray:
    """Reconstructed images in [0, 1], float64 (N, C, H, W)."""
    return torch.cat([g(z[i : i + batch]) for i in range(0, len(z), batch)]).double().numpy()


def score(recon: np.ndarray, images: np.ndarray, win_size: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and PSNR of ``recon`` in [0, 1] against uint8 ``images`` (data range 1).

    SSIM: skimage's uniform window of side ``win_size`` (odd; default 7, skimage's), mean over
    pixels and channels.
    PSNR = 10 log10(1 / max(MSE, 1e-10)) dB, i.e. capped at 100 dB for an exact copy.
    """
    truth = images.astype(np.float64) / 255.0
    ssim = np.array(
        [structural_similarity(a, b, data_range=1.0, channel_axis=0, win_size=win_size) for a, b in zip(truth, recon, strict=True)]
    )
    mse = ((truth - recon) ** 2).reshape(len(truth), -1).mean(axis=1)
    return ssim, 10 * np.log10(1.0 / np.maximum(mse, 1e-10))
