"""Profiles of users' torch modules (issue 13 item 1): section-9 counts, an independent MAC
count, hand-checked layers, and clear errors for every operation without a rule."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from optdist.cli import main  # noqa: E402
from optdist.profiles import load_profile, load_profile_file, write_profile_file  # noqa: E402
from optdist.tracing import TraceError, profile_module  # noqa: E402


def hook_macs(module: nn.Module, input_shape) -> int:
    """Multiply-accumulates of Conv2d and Linear, counted from forward hooks (independent of the tracer)."""
    total = 0

    def conv(m, inp, out):
        nonlocal total
        total += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin(m, inp, out):
        nonlocal total
        total += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else lin)
             for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        module.eval()(torch.zeros((1, *input_shape)))
    for h in hooks:
        h.remove()
    return total


def lenet5_32_64() -> nn.Module:
    """The issue's "own LeNet with 32/64 channels"."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 5)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(32, 64, 5)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(64 * 4 * 4, 120)), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(120, 84)), ("relu4", nn.ReLU()), ("fc3", nn.Linear(84, 10)),
    ]))


def mobilenet_chain() -> nn.Module:
    """MobileNet-style depthwise-separable blocks without residuals (a chain), BN, ReLU6, global pool."""
    def block(c_in, c_out, stride):
        return [nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in), nn.ReLU6(),
                nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6()]
    return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
                         *block(16, 32, 1), *block(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(64, 10))


def alexnet_like() -> nn.Module:
    """torchvision's AlexNet architecture, written out (torchvision is not a dependency)."""
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))),
        ("avgpool", nn.AdaptiveAvgPool2d((6, 6))), ("flatten", nn.Flatten()),
        ("classifier", nn.Sequential(
            nn.Dropout(), nn.Linear(256 * 36, 4096), nn.ReLU(inplace=True),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 1000))),
    ]))


class Functional(nn.Module):
    """Functional ops, a view-flatten and a global mean."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 12, 3, stride=2), nn.Linear(12, 5)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.sigmoid(self.c2(x)).mean((2, 3))
        return torch.tanh(self.fc(x.view(x.size(0), -1)))


def test_depthwise_conv_has_section9_counts():
    """Issue 13: Conv2d(16, 16, 3, groups=16) on 32x32 maps is 9,216 mults and 36 B per segment, not 147,456 and 576."""
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                        nn.ReLU(), nn.Flatten(), nn.Linear(16 * 32 * 32, 10))
    prof = profile_module(net, (3, 32, 32))
    dw = prof.layers[2]
    assert (dw.op, dw.groups, dw.kernel) == ("conv2d", 16, (3, 3))
    assert (dw.segments, dw.mults_per_segment, dw.weight_bytes_per_segment) == (16, 9216, 36)
    assert dw.kind == "elementwise" and dw.is_depthwise  # maps stay whole: moved as elementwise (section 9)
    dense = prof.layers[0]
    assert (dense.kind, dense.mults_per_segment, dense.weight_bytes_per_segment) == ("conv", 3 * 3 * 16 * 1024, 576)


def test_grouped_conv_counts():
    prof = profile_module(nn.Sequential(nn.Conv2d(8, 16, 3, groups=4), nn.ReLU()), (8, 10, 10))
    g = prof.layers[0]
    assert (g.kind, g.groups, g.segments) == ("conv", 4, 8)
    assert g.mults_per_segment == 3 * 3 * (16 // 4) * 8 * 8
    assert g.weight_bytes_per_segment == 3 * 3 * (16 // 4) * 4


@pytest.mark.parametrize(
    "builder,shape",
    [(lenet5_32_64, (1, 28, 28)), (mobilenet_chain, (3, 32, 32)), (alexnet_like, (3, 224, 224)),
     (Functional, (3, 16, 16))],
    ids=["lenet5-32-64", "mobilenet-chain", "alexnet", "functional"],
)
def test_total_multiplications_match_hook_count(builder, shape):
    net = builder()
    assert profile_module(net, shape).total_mults == hook_macs(net, shape)


@pytest.mark.parametrize("cnn", ["lenet", "cifar"])
def test_zoo_profiles_match_hook_count(cnn):
    from optdist import zoo

    assert load_profile(cnn).total_mults == hook_macs(zoo.build(cnn), zoo.ZOO[cnn].input_shape)


def test_alexnet_hand_checked_layers():
    prof = profile_module(alexnet_like(), (3, 224, 224), "alexnet")
    conv1, fc1 = prof.layers[prof.index("features.0")], prof.layers[prof.index("classifier.1")]
    assert (conv1.segments, conv1.out_maps, conv1.out_shape) == (3, 64, (55, 55))
    assert conv1.mults_per_segment == 11 * 11 * 64 * 55 * 55 == 23_425_600
    assert conv1.weight_bytes_per_segment == 11 * 11 * 64 * 4
    assert (fc1.kind, fc1.in_maps, fc1.mults_per_segment) == ("fc", 256, 9216 * 4096)
    assert fc1.torch_modules == ("classifier.1", "classifier.2")  # the ReLU folds into the fc, Dropout is dropped
    pool = prof.layers[prof.index("avgpool")]
    assert (pool.kind, pool.op, pool.out_shape, pool.beta) == ("elementwise", "adaptive_avg_pool2d", (6, 6), 144)
    assert [la.kind for la in prof.layers].count("conv") == 5 and prof.n_layers == 17


def test_batchnorm_folds_into_the_conv_before_it_else_is_elementwise():
    net = nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("relu", nn.ReLU()),
                                     ("bn2", nn.BatchNorm2d(4)), ("gap", nn.AdaptiveAvgPool2d(1)),
                                     ("flat", nn.Flatten()), ("fc", nn.Linear(4, 2)), ("bn3", nn.BatchNorm1d(2))]))
    prof = profile_module(net, (3, 8, 8))
    assert [la.name for la in prof.layers] == ["conv", "relu", "bn2", "gap", "fc"]
    assert prof.layers[0].torch_modules == ("conv", "bn") and prof.layers[2].op == "batchnorm2d"
    assert prof.layers[-1].torch_modules == ("fc", "bn3")
    assert prof.layers[3].out_shape == (1, 1) and prof.layers[4].in_maps == 4


def test_functional_graph_profile():
    prof = profile_module(Functional(), (3, 16, 16), "fn")
    assert [(la.name, la.op) for la in prof.layers] == [
        ("c1", "conv2d"), ("relu", "relu"), ("max_pool2d", "maxpool2d"), ("c2", "conv2d"), ("sigmoid", "sigmoid"),
        ("mean", "global_avg_pool"), ("fc", "linear")]
    assert prof.layers[-1].torch_modules == ("fc", "tanh")


def test_profile_file_round_trip(tmp_path):
    import optdist

    prof = optdist.profile_module(mobilenet_chain(), (3, 32, 32), "mb")
    path = write_profile_file(prof, tmp_path / "mb.profile.json")
    assert load_profile_file(path) == prof
    assert json.loads(path.read_text())["format"] == "optdist-profile/2"


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Linear(8, 2)

    def forward(self, x):
        y = torch.relu(self.conv1(x))
        return self.fc((self.conv2(y) + y).mean((2, 3)))


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], 1)


class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)

    def forward(self, x):
        self.a(x)  # a's output has no user
        return self.b(x)  # conv b reads the input, not a's output: a branch


class Product(nn.Module):  # squeeze-and-excitation style gating: no rule in MODEL.md section 9
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.a(x)
        return self.b(y) * y


def test_residual_is_a_dag_with_an_add_layer():
    """conv1 -> relu -> conv2 -> add(conv2, relu) -> global mean -> fc (formerly refused as a DAG)."""
    prof = profile_module(Residual(), (3, 8, 8), "res")
    assert [la.name for la in prof.layers] == ["conv1", "relu", "conv2", "add", "mean", "fc"]
    assert [prof.inputs(k) for k in range(6)] == [(), (0,), (1,), (2, 1), (3,), (4,)]
    add = prof.layers[3]
    assert (add.kind, add.segments, add.mults_per_segment, add.weight_bytes_per_segment, add.beta) == ("add", 8, 0, 0, 256)


class Flow(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


@pytest.mark.parametrize(
    "module,pattern",
    [
        (Concat(), r'node "b" \(Conv2d \(module "b"\)\): reads the network input, which only the first operation may read'),
        (Branch(), r'node "b" \(Conv2d \(module "b"\)\): reads the network input'),
        (Product(), r'node "mul" \(function _operator.mul\): no profiling rule for this merge.*residual add'),
        (nn.Sequential(nn.Conv2d(3, 4, 1), nn.Upsample(scale_factor=2)),
         r'node "1" \(Upsample \(module "1"\)\): no profiling rule.*Supported: Conv2d'),
        (nn.Sequential(nn.Conv2d(3, 4, 1), nn.Softmax(dim=1)), r"Softmax.*no profiling rule"),
        (nn.Sequential(nn.Conv2d(3, 4, 1), nn.Linear(8, 2)), r"applied to a 4-D tensor.*flatten it first"),
        (Flow(), r"torch.fx cannot trace"),
    ],
    ids=["concat-of-input", "branch", "product", "upsample", "softmax", "linear-on-maps", "control-flow"],
)
def test_unsupported_operations_name_node_and_op(module, pattern):
    with pytest.raises(TraceError, match=pattern):
        profile_module(module, (3, 8, 8))


def test_bad_input_shape_is_a_clear_error():
    with pytest.raises(TraceError, match=r"forward pass on input shape \[1, 8, 8\] failed"):
        profile_module(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 8, 8))
    with pytest.raises(TraceError, match=r"mat1 and mat2 shapes cannot be multiplied"):
        profile_module(nn.Sequential(nn.Conv2d(3, 4, 1), nn.Flatten(), nn.Linear(5, 2)), (3, 8, 8))


def test_cli_profile_module_writes_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "mynets.py").write_text(
        "from torch import nn\n"
        "def small():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))\n"
        "def broken():\n"
        "    import torch\n"
        "    class R(nn.Module):\n"
        "        def __init__(s):\n"
        "            super().__init__(); s.c = nn.Conv2d(3, 3, 1)\n"
        "        def forward(s, x):\n"
        "            return s.c(x) + x\n"
        "    return R()\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "--module", "mynets:small", "--input", "3,16,16", "--out", "small.profile.json"]) == 0
    prof = load_profile_file(tmp_path / "small.profile.json")
    assert prof.cnn == "small" and prof.n_layers == 4 and prof.layers[0].mults_per_segment == 3 * 3 * 8 * 14 * 14
    assert main(["profile", "--module", str(tmp_path / "mynets.py") + ":small", "--input", "3,16,16",
                 "--out", "again.json", "--name", "mine"]) == 0
    assert load_profile_file(tmp_path / "again.json").cnn == "mine"
    assert main(["validate", "small.profile.json"]) == 0
    assert "small.profile.json: ok (profile small, 4 layers" in capsys.readouterr().out
    assert main(["profile", "small.profile.json"]) == 0
    assert "adaptive_avg_pool2d" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["profile", "--module", "mynets:broken", "--input", "3,8,8", "--out", "b.json"]) == 2
    assert 'node "add"' in capsys.readouterr().err and not (tmp_path / "b.json").exists()
    assert main(["profile", "--module", "mynets:nothing", "--input", "3,8,8", "--out", "b.json"]) == 2
    assert 'has no attribute "nothing"' in capsys.readouterr().err
    assert main(["profile", "--module", "mynets:small", "--out", "b.json"]) == 2
    assert "--module needs --input" in capsys.readouterr().err
    assert main(["profile", "--module", "mynets:small", "--input", "3,x", "--out", "b.json"]) == 2
    assert "give C,H,W as whole numbers" in capsys.readouterr().err
    assert main(["profile", "--module", "mynets:small", "--input", "1,16,16", "--out", "b.json"]) == 2  # 3 channels
    err = capsys.readouterr().err
    assert "a forward pass on input shape [1, 16, 16] failed" in err and "Traceback" not in err  # torch's print kept off


def test_torchvision_alexnet_profiles_and_resnet_mobilenet_squeezenet_are_dags():
    tv = pytest.importorskip("torchvision", reason="torchvision not installed: pip install requests; pip install --no-deps "
                                                   "torchvision==0.15.2 (what make venv-full installs; not a core dependency)")
    net = tv.models.alexnet(weights=None)
    prof = profile_module(net, (3, 224, 224), "alexnet")
    assert prof.total_mults == hook_macs(net, (3, 224, 224))
    assert prof.layers[0].mults_per_segment == 23_425_600
    for build, kinds in ((tv.models.resnet18, {"add"}), (tv.models.mobilenet_v2, {"add"}),
                         (tv.models.squeezenet1_0, {"concat"})):
        net = build(weights=None)
        prof = profile_module(net, (3, 64, 64))
        assert not prof.is_chain and kinds <= {la.kind for la in prof.layers}
        assert prof.total_mults == hook_macs(net, (3, 64, 64))


def test_readme_three_commands(tmp_path, monkeypatch, capsys):
    """The README's "Your own network and devices" walk-through, with the numbers it quotes."""
    import shutil
    import sys

    from tests.conftest import ROOT

    for f in ("mynets.py", "mydevices.json"):
        shutil.copy(ROOT / "examples" / "byon" / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "mynets", raising=False)
    assert main(["profile", "--module", "mynets:lenet_32_64", "--input", "1,28,28", "--out", "mynet.profile.json"]) == 0
    out = capsys.readouterr().out
    assert "lenet_32_64: 9 layers, 228 segments" in out and "total multiplications 3,871,400, weights 743,200 B" in out
    assert main(["generate", "--name", "mine", "--networks", "mynet=mynet.profile.json", "--requests", "mynet=3",
                 "--devices", "rpi4=12", "--devices-catalog", "mydevices.json", "--sources", "3",
                 "--source-type", "pizero2w", "--tau", "0.8", "--privacy", "none", "--out", "mine.json"]) == 0
    capsys.readouterr()
    assert main(["solve", "mine.json"]) == 0
    out = capsys.readouterr().out
    assert "termination  optimal" in out and "feasible True" in out
    total = float(next(line for line in out.splitlines() if line.startswith("total latency")).split()[2])
    assert total == pytest.approx(0.00871063463, rel=1e-8)
