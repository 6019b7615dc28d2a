"""A small multi-exit (SDN-style) CNN, its early-exit rule and the DeepSloth L-inf slow-down attack.

Backbone: five 3x3 conv blocks (ReLU; 2x2 max pool after blocks 2 and 4); an internal classifier
(IC) after every block: mixed pooling ``a maxpool + (1 - a) avgpool`` to 4x4 with learned ``a``,
then one linear layer; final classifier fc-128-C. Trained with the sum of the cross-entropies of
all K+1 outputs.

Early exit: a sample leaves at the first IC whose max softmax is >= q, else at the final output.
The threshold q is the cheapest one on a grid whose early-exit accuracy stays above
``acc_final (1 - RAD/100)`` (DeepSloth's rule).

DeepSloth (L-inf, white-box, per sample): minimise ``sum_{ICs} CE(f_i(x'), uniform)`` by signed
gradient steps, ``x'`` kept in the eps-ball around ``x`` and in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

THRESHOLDS = tuple(np.round(np.concatenate([np.linspace(0.05, 0.95, 19), [0.98, 0.99, 0.995, 0.999]]), 4))


class ExitHead(nn.Module):
    """SDN internal classifier: learned mix of 4x4 adaptive max and avg pooling, then linear."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(0.5))
        self.max = nn.AdaptiveMaxPool2d(4)
        self.avg = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Linear(channels * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha.clamp(0.0, 1.0)
        return self.fc((a * self.max(x) + (1 - a) * self.avg(x)).flatten(1))


class MultiExitCNN(nn.Module):
    """Five conv blocks, an IC after each, and a final classifier; ``forward`` returns all K+1 logits."""

    def __init__(
        self,
        in_shape: tuple[int, int, int] = (1, 28, 28),
        num_classes: int = 10,
        widths: Sequence[int] = (8, 16, 16, 32, 32),
        pools: Sequence[bool] = (False, True, False, True, False),
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        blocks, heads = [], []
        for width, pool in zip(widths, pools, strict=True):
            layers: list[nn.Module] = [nn.Conv2d(c, width, 3, padding=1), nn.ReLU()]
            if pool:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            blocks.append(nn.Sequential(*layers))
            heads.append(ExitHead(width, num_classes))
            c = width
        self.blocks = nn.ModuleList(blocks)
        self.heads = nn.ModuleList(heads)
        self.final = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 128), nn.ReLU(), nn.Linear(128, num_classes))
        self.in_shape = tuple(in_shape)

    @property
    def n_outputs(self) -> int:
        return len(self.heads) + 1

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for block, head in zip(self.blocks, self.heads, strict=True):
            x = block(x)
            outs.append(head(x))
        outs.append(self.final(x))
        return outs

    def cost_profile(self) -> tuple[list[int], list[int]]:
        """Cumulative MACs up to each output (earlier IC heads included) and fp32 bytes of each block's output.

        ``macs[k]`` = conv/linear MACs of blocks 1..k+1 and heads 1..k+1 (last: every block, every IC
        head and the final classifier); ``feat_bytes[k]`` = size of the tensor after block k+1.
        """
        counts: list[int] = []

        def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if isinstance(mod, nn.Conv2d):
                counts.append(out[0].numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1])
            elif isinstance(mod, nn.Linear):
                counts.append(mod.in_features * mod.out_features)

        macs, feats, total = [], [], 0
        x = torch.zeros((1, *self.in_shape))
        with torch.no_grad():
            for block, head in zip(self.blocks, self.heads, strict=True):
                for part in (block, head):
                    hs = [m.register_forward_hook(hook) for m in part.modules()]
                    y = part(x)
                    for h in hs:
                        h.remove()
                    if part is block:
                        x = y
                total += sum(counts)
                counts.clear()
                macs.append(total)
                feats.append(4 * x.numel())
            total += sum(m.in_features * m.out_features for m in self.final if isinstance(m, nn.Linear))
        macs.append(total)
        feats.append(4 * 10)
        return macs, feats


def train_multiexit(
    net: MultiExitCNN, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int = 0, lr: float = 1e-3, batch: int = 128
) -> MultiExitCNN:
    """Adam on the sum of the K+1 cross-entropies (equal weights)."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = sum(nn.functional.cross_entropy(o, y[idx]) for o in net(x[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def softmax_outputs(net: MultiExitCNN, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Softmax of every output, shape (K+1, N, C)."""
    net.eval()
    parts = [torch.stack([o.softmax(1) for o in net(x[i : i + batch])]) for i in range(0, len(x), batch)]
    return torch.cat(parts, dim=1)


def early_exit(probs: torch.Tensor, q: float) -> tuple[np.ndarray, np.ndarray]:
    """0-based exit index and prediction per sample: first IC with max prob >= q, else the final output."""
    conf, pred = probs.max(dim=2)  # (K+1, N)
    fires = conf[:-1] >= q
    fires = torch.cat([fires, torch.ones_like(fires[:1])])
    idx = fires.int().argmax(dim=0)
    return idx.numpy(), pred.gather(0, idx[None]).squeeze(0).numpy()


def pick_threshold(probs: torch.Tensor, y: np.ndarray, macs: Sequence[float], rad_pct: float) -> float:
    """Cheapest q on :data:`THRESHOLDS` with early-exit accuracy > ``acc_final (1 - RAD/100)``."""
    acc_final = float((probs[-1].argmax(1).numpy() == y).mean())
    cost = np.asarray(macs, dtype=float)
    best, best_cost = THRESHOLDS[-1], np.inf
    for q in THRESHOLDS:
        idx, pred = early_exit(probs, float(q))
        c = cost[idx].mean()
        if (pred == y).mean() > acc_final * (1 - rad_pct / 100) and c < best_cost:
            best, best_cost = float(q), c
    return float(best)


def deepsloth_linf(
    net: MultiExitCNN, x: torch.Tensor, eps: float = 0.03125, steps: int = 30, step: float = 0.002, seed: int = 0,
    batch: int = 250,
) -> torch.Tensor:
    """DeepSloth L-inf: signed-gradient descent of the ICs' cross-entropy to the uniform distribution."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(x), batch):
        x0 = x[i : i + batch]
        xa = (x0 + (torch.rand(x0.shape, generator=gen) * 2 - 1) * step).clamp(0, 1)
        for _ in range(steps):
            xa.requires_grad_(True)
            loss = sum(-o.log_softmax(1).mean(1).sum() for o in net(xa)[:-1])
            (g,) = torch.autograd.grad(loss, xa)
            xa = xa.detach() - step * g.sign()
            xa = torch.min(torch.max(xa, x0 - eps), x0 + eps).clamp(0, 1)
        out.append(xa.detach())
    for p in net.parameters():
        p.requires_grad_(True)
    return torch.cat(out)
