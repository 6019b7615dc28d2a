"""left44: small defects the last sessions left, each with a test that fails on the old code.

5. ``optdist.tracing.measure_module`` traced the module twice (``profile_module`` to check it against the
   profile, then ``torch.fx.symbolic_trace`` again to time it): it times the graph it checked.
"""

from __future__ import annotations

import pytest

# --- 5. measure_module traces once -------------------------------------------------------------------------------


def test_measure_module_traces_the_module_once():
    """A trace calls ``forward`` once (with proxies; the timed runs go through the graph, not ``forward``):
    before, two calls."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from optdist.tracing import measure_module, profile_module

    class Counted(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc, self.calls = nn.Conv2d(1, 2, 3), nn.Linear(2 * 4 * 4, 3), 0

        def forward(self, x):
            self.calls += 1
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    net = Counted()
    prof = profile_module(net, (1, 6, 6), "counted")
    net.calls = 0
    times = measure_module(net, prof, repeats=2, warmup=1)
    assert net.calls == 1 and len(times.seconds_per_segment) == prof.n_layers
