"""lead38: a classifier ending in a softmax gets a fix (break38's open point), not only the list of
supported operations; a softmax elsewhere keeps the plain refusal (MODEL.md section 9 has no rule for it)."""

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from optdist.tracing import TraceError, profile_module  # noqa: E402


class _LogSoftmaxHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        return nn.functional.log_softmax(self.fc(self.conv(x).relu().flatten(1)), dim=1)


class _SoftmaxInside(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        return self.fc(self.conv(x).softmax(1).flatten(1))


@pytest.mark.parametrize("net", [
    nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10), nn.Softmax(dim=1)),
    _LogSoftmaxHead()], ids=["Softmax module", "log_softmax function"])
def test_a_final_softmax_is_refused_with_the_fix_to_return_the_logits(net):
    with pytest.raises(TraceError, match=r"softmax .*does not change the predicted class \(fix: profile the network "
                                         r"without it, returning the logits"):
        profile_module(net, (1, 8, 8), name="mine")


def test_a_softmax_inside_the_network_keeps_the_plain_refusal():
    with pytest.raises(TraceError, match="no profiling rule for this operation") as e:
        profile_module(_SoftmaxInside(), (1, 8, 8), name="mine")
    assert "predicted class" not in str(e.value)
