"""Hand-written DQN (Mnih et al.; paper Algorithm 1) with optional action masking and double DQN.

Q-network ``Q(s, .; theta)`` (:class:`DeviceQNet`) and a target copy ``theta'`` synced every G steps; a replay
buffer of ``(s, a, r, s', done, mask')``; epsilon-greedy acting. Each step a minibatch minimises
eq. 15, ``(y - Q(s, a; theta))^2`` with

    y = r + gamma * (1 - done) * Q(s', a*; theta'),
    a* = argmax_a Q(s', a; theta')      (plain DQN, the paper)
    a* = argmax_a Q(s', a; theta)       (double DQN, van Hasselt et al.)

where, with masking, the argmax runs over the actions valid in s' (all actions if none is).

A training step computes these numbers bit for bit as autograd of the dense expressions (every
device of every sampled state, B * D rows of the shared MLP) does, at about half of the cost: the
loss and ``Q(s', a*; theta')`` of double DQN read one device per state, so only those B rows are
forwarded (:meth:`DeviceQNet.at`, :class:`TakenGradients`); only ``argmax_a Q(s', a; theta)``
needs all B * D. Whether this machine's matrix kernels give the same rows for B as for B * D
rows is checked once per run, on the first batch and 16 more of its shapes (:func:`fast_path_is_exact`);
if not, the step stays dense. Batches of fewer than :data:`FAST_PATH_MIN_BATCH` states always take the
dense step: there the kernels' rows may differ from batch to batch after the check passed. The check is a sample: at the presets' shapes every batch tried
passed, so a seed gives the same weights as before this fast path (the committed policies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

#: batches of fewer states than this always take the dense step (the fast path saves nothing worth a
#: risk there): at 2 states, one 4-unit layer and 2 devices, with seed 2, the check passed on the first
#: batch and 16 more and a later batch's rows differed in the last bit on one 2-core Xeon
#: (tests/test_rl_dqn.py, 2026-12-03; the presets' 64 states passed on every machine tried)
FAST_PATH_MIN_BATCH = 16


@dataclass(frozen=True)
class DQNConfig:
    gamma: float = 0.95
    lr: float = 1e-4
    buffer_size: int = 50_000
    batch_size: int = 64
    target_update: int = 100  # G: env steps between target syncs
    hidden: tuple[int, ...] = (64, 64)
    learning_starts: int = 64
    train_freq: int = 1  # env steps per gradient step
    masked: bool = False
    double: bool = False


class DeviceQNet(nn.Module):
    """``Q(s, j) = MLP([g(s), x_j(s)])``: one MLP shared by every device j.

    The observation is ``g`` (``n_global`` entries) followed by ``n_device`` blocks of one value
    per device; device j's input is ``g`` and the j-th entry of every block. Sharing the weights
    makes the network's size and its sample needs independent of the number of devices.
    """

    def __init__(self, n_global: int, n_device: int, n_actions: int, hidden: tuple[int, ...]):
        super().__init__()
        self.n_global, self.n_device, self.n_actions = n_global, n_device, n_actions
        layers: list[nn.Module] = []
        width = n_global + n_device
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        B, D = obs.shape[0], self.n_actions
        g = obs[:, : self.n_global].unsqueeze(1).expand(B, D, self.n_global)
        x = obs[:, self.n_global:].reshape(B, self.n_device, D).transpose(1, 2)
        return self.mlp(torch.cat([g, x], dim=2)).squeeze(2)

    def inputs(self, obs: torch.Tensor, devices: torch.Tensor) -> torch.Tensor:
        """(B, n_global + n_device): the MLP's input row of ``Q(obs[b], devices[b])`` for each of the
        B states ``obs`` (B, n_global + n_device * D) and device indices ``devices`` (B,) int64."""
        B = obs.shape[0]
        x = obs[:, self.n_global:].reshape(B, self.n_device, self.n_actions)[torch.arange(B), :, devices]
        return torch.cat([obs[:, : self.n_global], x], dim=1)

    def at(self, obs: torch.Tensor, devices: torch.Tensor) -> torch.Tensor:
        """(B,): ``Q(obs[b], devices[b])``, the entries ``forward(obs).gather(1, devices[:, None])[:, 0]``
        from B rows of the MLP instead of B * D; bit for bit where the matrix kernels compute a row
        of a linear layer the same in a batch of B rows as of B * D (:func:`fast_path_is_exact`)."""
        return self.mlp(self.inputs(obs, devices))[:, 0]


def masked_argmax(q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise argmax over ``mask``-valid actions (over all actions in a row with none valid)."""
    usable = mask & mask.any(dim=1, keepdim=True) | ~mask.any(dim=1, keepdim=True)
    return torch.where(usable, q, torch.finfo(q.dtype).min).argmax(dim=1)


class TakenGradients:
    """Sets every parameter's ``.grad`` to the gradient of eq. 15's loss and returns the loss.

    ``grads(net, obs, actions, target)``: the loss is ``mse_loss(net(obs).gather(1, actions[:,
    None])[:, 0], target)`` for B states ``obs`` (B, n_global + n_device * D), taken devices
    ``actions`` (B,) int64 and targets ``target`` (B,); the gradients are autograd's of that
    expression, bit for bit, at about half of its cost. Only the B taken rows ``(b, actions[b])``
    of the B * D rows the dense forward computes reach the loss, so the forward pass and the
    backward pass to each layer's input run on those B rows (row by row the same numbers). A
    weight or bias gradient is a sum over rows, and a float sum depends on how its terms are
    grouped: it is taken over the dense B * D rows (zero but the taken ones), with the operations
    autograd's ``addmm`` backward uses (``grad.t().mm(input)``, ``grad.sum(0)``), so it groups them
    as autograd does. Bit for bit needs the row by row part to hold, which depends on the matrix
    kernels for these shapes (it holds for the presets' 64 states of up to 100 devices and 64-64
    networks with MKL; not for some tiny shapes): :func:`fast_path_is_exact` checks it. The dense
    zero matrices are kept between calls (allocating them afresh faults their pages in again every
    step). ``net.mlp`` must be Linear layers with ReLUs between them (as :class:`DeviceQNet`
    builds it).
    """

    def __init__(self) -> None:
        self._zeros: dict[tuple[str, int, int], torch.Tensor] = {}

    def _dense(self, role: str, rows: torch.Tensor, taken: torch.Tensor, n: int) -> torch.Tensor:
        """A kept (n, width) zero matrix holding ``rows`` at the row indices ``taken``."""
        key = (role, n, rows.shape[1])
        if key not in self._zeros:
            self._zeros[key] = torch.zeros(n, rows.shape[1])
        out = self._zeros[key]
        out[taken] = rows
        return out

    def __call__(self, net: DeviceQNet, obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor) -> float:
        B, D = obs.shape[0], net.n_actions
        taken = torch.arange(B) * D + actions  # the taken rows among the dense forward's B * D
        h = net.inputs(obs, actions)
        inputs: list[torch.Tensor] = []  # each Linear's input (B rows); a ReLU's output is the next one's input
        with torch.no_grad():
            for m in net.mlp:
                if isinstance(m, nn.Linear):
                    inputs.append(h)
                h = m(h)
        q = h[:, 0].requires_grad_()
        loss = nn.functional.mse_loss(q, target)
        (grad,) = torch.autograd.grad(loss, q)
        grad = grad[:, None]  # d loss / d the last layer's output, on the taken rows
        linears = [m for m in net.mlp if isinstance(m, nn.Linear)]
        for n in range(len(linears) - 1, -1, -1):
            layer, x = linears[n], inputs[n]
            dense_grad, dense_x = self._dense("grad", grad, taken, B * D), self._dense("input", x, taken, B * D)
            layer.weight.grad = dense_grad.t().mm(dense_x)
            layer.bias.grad = dense_grad.sum([0], keepdim=True).view(-1)
            dense_grad[taken], dense_x[taken] = 0.0, 0.0  # zero again for the next call
            if n:  # through the ReLU whose output x is
                grad = torch.ops.aten.threshold_backward(grad.mm(layer.weight.detach()), x, 0)
        return loss.item()


def dense_gradients(net: DeviceQNet, obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor) -> float:
    """:class:`TakenGradients`' result by autograd of the dense expression (B * D rows): sets every
    parameter's ``.grad`` and returns the loss."""
    net.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(net(obs).gather(1, actions[:, None])[:, 0], target)
    loss.backward()
    return loss.item()


def fast_path_is_exact(net: DeviceQNet, grads: TakenGradients, obs: torch.Tensor, actions: torch.Tensor,
                       target: torch.Tensor, samples: int = 16) -> bool:
    """Whether :meth:`DeviceQNet.at` and ``grads`` give the dense expressions' numbers bit for bit
    on this batch (shapes as in :class:`TakenGradients`) and on ``samples`` more batches of its
    shapes (uniform [0, 1) states, uniform devices, normal targets, from a generator of its own
    with a fixed seed: the global torch seed is not drawn from). A sample, not a proof: at tiny
    shapes (2 states, one 4-unit layer, 2 devices) the kernels' rows differ from batch to batch,
    so one batch passing did not decide (tests/test_rl_dqn.py); at the presets' shapes (64
    states, 64-64 networks) every batch tried passed (1-120 devices, 15 batches each, 1 and 2
    threads). Leaves every ``.grad`` None."""
    gen = torch.Generator().manual_seed(0)
    B, D = obs.shape[0], net.n_actions
    batches = [(obs, actions, target)] + [
        (torch.rand(obs.shape, generator=gen), torch.randint(0, D, (B,), generator=gen),
         torch.randn(B, generator=gen)) for _ in range(samples)]
    return all(_same_on(net, grads, *batch) for batch in batches)


def _same_on(net: DeviceQNet, grads: TakenGradients, obs: torch.Tensor, actions: torch.Tensor,
             target: torch.Tensor) -> bool:
    """:func:`fast_path_is_exact` on one batch."""
    with torch.no_grad():
        same = torch.equal(net.at(obs, actions), net(obs).gather(1, actions[:, None])[:, 0])
    loss = dense_gradients(net, obs, actions, target)
    want = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=True)
    same = same and grads(net, obs, actions, target) == loss
    same = same and all(torch.equal(p.grad, w) for p, w in zip(net.parameters(), want))
    net.zero_grad(set_to_none=True)
    return same


class ReplayBuffer:
    """Ring buffer of transitions, sampled uniformly."""

    def __init__(self, capacity: int, n_obs: int, n_actions: int):
        self.obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.next_obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.next_mask = np.zeros((capacity, n_actions), dtype=bool)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, obs, action: int, reward: float, next_obs, done: bool, next_mask) -> None:
        p = self.pos
        self.obs[p], self.action[p], self.reward[p] = obs, action, reward
        self.next_obs[p], self.done[p], self.next_mask[p] = next_obs, done, next_mask
        self.pos = (p + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(0, self.size, n)
        return tuple(
            torch.from_numpy(a[idx])
            for a in (self.obs, self.action, self.reward, self.next_obs, self.done, self.next_mask)
        )


class DQNAgent:
    """Online network, target network, replay buffer, optimiser; see module docstring."""

    def __init__(self, n_global: int, n_device: int, n_actions: int, cfg: DQNConfig, seed: int = 0):
        torch.manual_seed(seed)
        self.cfg, self.n_actions = cfg, n_actions
        self.q = DeviceQNet(n_global, n_device, n_actions, cfg.hidden)
        self.target = DeviceQNet(n_global, n_device, n_actions, cfg.hidden)
        self.target.load_state_dict(self.q.state_dict())
        self.opt = torch.optim.Adam(self.q.parameters(), lr=cfg.lr)
        self.buffer = ReplayBuffer(cfg.buffer_size, n_global + n_device * n_actions, n_actions)
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        self._grads = TakenGradients()
        # fast_path_is_exact on the first batch and 16 more of its shapes, False below FAST_PATH_MIN_BATCH states
        # (None: not trained yet)
        self.exact_rows: bool | None = None

    def act(self, obs: np.ndarray, mask: np.ndarray, epsilon: float) -> int:
        """Epsilon-greedy; with masking both the random and the greedy choice keep to ``mask``."""
        use_mask = self.cfg.masked and mask.any()
        if self.rng.random() < epsilon:
            choices = np.flatnonzero(mask) if use_mask else np.arange(self.n_actions)
            return int(self.rng.choice(choices))
        with torch.no_grad():
            q = self.q(torch.from_numpy(obs)[None])
        m = torch.from_numpy(mask if use_mask else np.ones_like(mask))[None]
        return int(masked_argmax(q, m)[0])

    def observe(self, obs, action: int, reward: float, next_obs, done: bool, next_mask) -> float | None:
        """Store a transition; train and sync the target on schedule. Returns the loss if trained."""
        self.buffer.add(obs, action, reward, next_obs, done, next_mask)
        self.steps += 1
        loss = None
        if self.buffer.size >= max(self.cfg.learning_starts, self.cfg.batch_size) and self.steps % self.cfg.train_freq == 0:
            loss = self._learn()
        if self.steps % self.cfg.target_update == 0:
            self.target.load_state_dict(self.q.state_dict())
        return loss

    def _learn(self) -> float:
        cfg = self.cfg
        s, a, r, s2, done, m2 = self.buffer.sample(cfg.batch_size, self.rng)
        if not cfg.masked:
            m2 = torch.ones_like(m2)
        if self.exact_rows is None:
            self.exact_rows = len(a) >= FAST_PATH_MIN_BATCH and fast_path_is_exact(self.q, self._grads, s, a, r)
        with torch.no_grad():
            if cfg.double:
                pick = masked_argmax(self.q(s2), m2)  # the target network's Q at the picked devices only
                q_next = self.target.at(s2, pick) if self.exact_rows else self.target(s2).gather(1, pick[:, None])[:, 0]
            else:
                q_all = self.target(s2)
                q_next = q_all.gather(1, masked_argmax(q_all, m2)[:, None])[:, 0]
            y = r + cfg.gamma * (1.0 - done) * q_next
        self.opt.zero_grad()
        loss = (self._grads if self.exact_rows else dense_gradients)(self.q, s, a, y)
        self.opt.step()
        return loss
