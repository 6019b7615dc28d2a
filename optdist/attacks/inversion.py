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
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn
from tqdm import tqdm

from optdist.attacks.targets import to_float


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

    ``n = max(0, round(log2(H / h)))`` stride-2 transposed convs (k4, doubling h) bring the
    maps close to the image size, a bilinear resize makes it exact, and two 3x3 convs and a
    sigmoid produce the image. ``width`` defaults to ``clamp(2 m, 32, 64)`` channels.
    """
    m, h, _ = z_train.shape[1:]
    c, hh, ww = out_shape
    width = width or min(64, max(32, 2 * m))
    layers: list[nn.Module] = [Standardize(z_train), nn.Conv2d(m, width, 3, padding=1), nn.ReLU()]
    size = h
    for _ in range(max(0, round(math.log2(hh / h)))):
        layers += [nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU()]
        size *= 2
    if size != hh or z_train.shape[3] * (size // h) != ww:
        layers.append(nn.Upsample(size=(hh, ww), mode="bilinear", align_corners=False))
    layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, c, 3, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


@torch.no_grad()
def features(head: nn.Module, x: np.ndarray, batch: int = 500) -> torch.Tensor:
    """The attacked tensor ``f(x)`` for uint8 images ``x`` (N, C, H, W)."""
    head.eval()
    return torch.cat([head(to_float(x[i : i + batch])) for i in range(0, len(x), batch)])


def train_inverse(
    z: torch.Tensor,
    images: np.ndarray,
    epochs: int,
    seed: int,
    lr: float = 1e-3,
    batch: int = 64,
    progress: tqdm | None = None,
) -> nn.Sequential:
    """Fit a :func:`decoder` to map features ``z`` back to ``images`` (MSE, Adam)."""
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
            if progress is not None:
                progress.set_postfix(mse=f"{loss.item():.4f}", refresh=False)
    return g.eval()


@torch.no_grad()
def reconstruct(g: nn.Module, z: torch.Tensor, batch: int = 500) -> np.ndarray:
    """Reconstructed images in [0, 1], float64 (N, C, H, W)."""
    return torch.cat([g(z[i : i + batch]) for i in range(0, len(z), batch)]).double().numpy()


def score(recon: np.ndarray, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and PSNR (dB) of ``recon`` in [0, 1] against uint8 ``images``, data range 1."""
    truth = images.astype(np.float64) / 255.0
    ssim = np.empty(len(truth))
    psnr = np.empty(len(truth))
    for i, (a, b) in enumerate(zip(truth, recon, strict=True)):
        ssim[i] = structural_similarity(a, b, data_range=1.0, channel_axis=0)
        psnr[i] = peak_signal_noise_ratio(a, b, data_range=1.0)
    return ssim, psnr
