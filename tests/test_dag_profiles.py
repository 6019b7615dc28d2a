"""DAG networks (MODEL.md section 9, issue 13 item 3): profile files with inputs, add and concat
layers, and torch.fx tracing of residual blocks, inverted residuals and fire modules, with
hand-checked counts and an independent multiplication count."""

from __future__ import annotations

import copy

import pytest

from optdist.profiles import ProfileFileError, parse_profile

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from optdist.profiles import load_profile_file, write_profile_file  # noqa: E402
from optdist.tracing import profile_module  # noqa: E402
from tests.test_tracing import hook_macs  # noqa: E402


class BasicBlockNet(nn.Module):
    """Stem conv-bn-relu, one ResNet basic block (conv-bn-relu-conv-bn + identity, relu), global pool, fc."""

    def __init__(self, groups: int = 1):
        super().__init__()
        self.stem, self.bn0, self.relu0 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(8, 8, 3, padding=1, groups=groups), nn.BatchNorm2d(8), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 4)

    def forward(self, x):
        x = self.relu0(self.bn0(self.stem(x)))
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.fc(torch.flatten(self.pool(self.relu2(y + x)), 1))


class InvertedResidualNet(nn.Module):
    """Stem conv + ReLU6, a MobileNetV2 inverted residual (1x1 expand, 3x3 depthwise, 1x1 project, + x), pool, fc."""

    def __init__(self):
        super().__init__()
        self.stem, self.act0 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU6()
        self.expand, self.bn_e, self.act_e = nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.ReLU6()
        self.dw, self.bn_d, self.act_d = nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.ReLU6()
        self.project, self.bn_p = nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.act0(self.stem(x))
        y = self.bn_p(self.project(self.act_d(self.bn_d(self.dw(self.act_e(self.bn_e(self.expand(x))))))))
        return self.fc((x + y).mean((2, 3)))


class FireNet(nn.Module):
    """Stem conv + ReLU, a SqueezeNet fire module (squeeze 1x1, expand 1x1 and 3x3, cat), conv 1x1, pool, fc."""

    def __init__(self):
        super().__init__()
        self.stem, self.relu0 = nn.Conv2d(3, 8, 3), nn.ReLU()
        self.squeeze, self.relu_s = nn.Conv2d(8, 4, 1), nn.ReLU()
        self.e1, self.relu_1 = nn.Conv2d(4, 8, 1), nn.ReLU()
        self.e3, self.relu_3 = nn.Conv2d(4, 6, 3, padding=1), nn.ReLU()
        self.head, self.pool, self.fc = nn.Conv2d(14, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Linear(4, 3)

    def forward(self, x):
        s = self.relu_s(self.squeeze(self.relu0(self.stem(x))))
        y = torch.cat([self.relu_1(self.e1(s)), self.relu_3(self.e3(s))], 1)
        return self.fc(torch.flatten(self.pool(self.head(y)), 1))


def names_and_inputs(prof):
    return [(la.name, tuple(prof.layers[u].name for u in prof.inputs(k))) for k, la in enumerate(prof.layers)]


def test_resnet_basic_block():
    net = BasicBlockNet()
    prof = profile_module(net, (3, 8, 8), "block")
    assert names_and_inputs(prof) == [
        ("stem", ()), ("relu0", ("stem",)), ("conv1", ("relu0",)), ("relu1", ("conv1",)), ("conv2", ("relu1",)),
        ("add", ("conv2", "relu0")), ("relu2", ("add",)), ("pool", ("relu2",)), ("fc", ("pool",))]
    conv1 = prof.layers[2]  # 8 -> 8, 3x3, 8x8 out: c = 3*3*8*64, m = 3*3*8*4, bn1 folded
    assert (conv1.kind, conv1.segments, conv1.mults_per_segment, conv1.weight_bytes_per_segment, conv1.beta) == (
        "conv", 8, 4608, 288, 256)
    assert conv1.torch_modules == ("conv1", "bn1")
    add = prof.layers[5]
    assert (add.kind, add.segments, add.in_maps, add.mults_per_segment, add.weight_bytes_per_segment, add.beta) == (
        "add", 8, 8, 0, 0, 256)
    pool = prof.layers[7]  # global pooling: elementwise, 1x1 maps
    assert (pool.kind, pool.out_shape, pool.beta) == ("elementwise", (1, 1), 4)
    assert prof.total_mults == hook_macs(net, (3, 8, 8))


def test_mobilenetv2_inverted_residual_depthwise():
    net = InvertedResidualNet()
    prof = profile_module(net, (3, 8, 8), "ir")
    assert names_and_inputs(prof) == [
        ("stem", ()), ("act0", ("stem",)), ("expand", ("act0",)), ("act_e", ("expand",)), ("dw", ("act_e",)),
        ("act_d", ("dw",)), ("project", ("act_d",)), ("add", ("act0", "project")), ("mean", ("add",)), ("fc", ("mean",))]
    dw = prof.layers[4]  # depthwise 16 maps, 3x3, 8x8: c = 9*64, m = 9*4, whole maps (elementwise)
    assert (dw.kind, dw.segments, dw.mults_per_segment, dw.weight_bytes_per_segment, dw.groups) == (
        "elementwise", 16, 576, 36, 16)
    expand = prof.layers[2]  # 1x1, 8 -> 16: c = 16*64, beta = 64*4
    assert (expand.segments, expand.mults_per_segment, expand.weight_bytes_per_segment, expand.beta) == (8, 1024, 64, 256)
    assert prof.layers[7].kind == "add" and prof.layers[8].out_shape == (1, 1)
    assert prof.total_mults == hook_macs(net, (3, 8, 8))


def test_squeezenet_fire_concat():
    net = FireNet()
    prof = profile_module(net, (3, 10, 10), "fire")
    assert names_and_inputs(prof) == [
        ("stem", ()), ("relu0", ("stem",)), ("squeeze", ("relu0",)), ("relu_s", ("squeeze",)), ("e1", ("relu_s",)),
        ("relu_1", ("e1",)), ("e3", ("relu_s",)), ("relu_3", ("e3",)), ("cat", ("relu_1", "relu_3")),
        ("head", ("cat",)), ("pool", ("head",)), ("fc", ("pool",))]
    cat = prof.layers[8]  # 8 + 6 maps of 8x8
    assert (cat.kind, cat.segments, cat.in_maps, cat.out_maps, cat.mults_per_segment, cat.beta) == (
        "concat", 14, 14, 14, 0, 256)
    e3 = prof.layers[6]  # 4 -> 6, 3x3, 8x8: c = 9*6*64, m = 9*6*4
    assert (e3.segments, e3.mults_per_segment, e3.weight_bytes_per_segment) == (4, 3456, 216)
    head = prof.layers[9]
    assert (head.segments, head.in_maps, head.mults_per_segment) == (14, 14, 4 * 64)
    assert prof.total_mults == hook_macs(net, (3, 10, 10))


def test_grouped_convolution_counts():
    net = BasicBlockNet(groups=2)
    prof = profile_module(net, (3, 8, 8), "g2")
    conv1 = prof.layers[2]  # groups 2: c = 3*3*(8/2)*64, m = 3*3*4*4
    assert (conv1.kind, conv1.groups, conv1.mults_per_segment, conv1.weight_bytes_per_segment) == ("conv", 2, 2304, 144)
    assert prof.total_mults == hook_macs(net, (3, 8, 8))


@pytest.mark.parametrize("net,shape", [(BasicBlockNet(), (3, 8, 8)), (InvertedResidualNet(), (3, 8, 8)),
                                       (FireNet(), (3, 10, 10))], ids=["resnet", "mobilenetv2", "fire"])
def test_dag_profile_files_round_trip(tmp_path, net, shape):
    prof = profile_module(net, shape, "n")
    path = write_profile_file(prof, tmp_path / "n.profile.json")
    again = load_profile_file(path)
    assert again == prof and not again.is_chain


# --------------------------------------------------------------------------- profile file checks
def fire_doc() -> dict:
    return profile_module(FireNet(), (3, 10, 10), "fire").to_json()


def layer(doc: dict, name: str) -> dict:
    return next(la for la in doc["layers"] if la["name"] == name)


@pytest.mark.parametrize(
    "mutate,path,words",
    [
        (lambda d: layer(d, "cat").update(inputs=["relu_1", "nosuch"]), "layers[8].inputs", "not a layer"),
        (lambda d: layer(d, "e1").update(inputs=["relu_3"]), "layers[4].inputs", "topological order"),
        (lambda d: layer(d, "cat").update(inputs=["relu_1"]), "layers[8].inputs", "two or more"),
        (lambda d: layer(d, "head").update(inputs=["relu_1", "relu_3"]), "layers[9].inputs", "DAG"),
        (lambda d: layer(d, "cat").update(inputs=["relu_1", "relu_1"]), "layers[8].inputs", "twice"),
        (lambda d: layer(d, "stem").update(inputs=["relu0"]), "layers[0].inputs", "network input"),
        (lambda d: layer(d, "head").update(inputs=["relu_3"], in_maps=6, segments=6), "layers[8]", "not an input"),
        (lambda d: layer(d, "cat").update(in_maps=15), "layers[8].in_maps", "give 14 maps"),
        (lambda d: layer(d, "cat").update(kind="add"), "layers[8].in_maps", "equal map counts"),
        (lambda d: layer(d, "cat").update(out_shape=[4, 4], beta=64), "layers[8].out_shape", "one size"),
        (lambda d: layer(d, "cat").update(mults_per_segment=2), "layers[8].mults_per_segment", "0 multiplications"),
        (lambda d: layer(d, "e3").update(inputs=[]), "layers[6].inputs", "only the first layer"),
    ],
    ids=["unknown", "order", "one-input-concat", "two-input-conv", "twice", "first", "dangling", "maps", "add-maps",
         "shape", "mults", "second-input-reader"],
)
def test_dag_profile_file_problems(mutate, path, words):
    doc = copy.deepcopy(fire_doc())
    mutate(doc)
    with pytest.raises(ProfileFileError) as e:
        parse_profile(doc, "fire.json")
    got: dict[str, str] = {}
    for p in e.value.problems:
        got[p.path] = got.get(p.path, "") + f"{p.message} | {p.fix}; "
    assert path in got and words in got[path], got
    assert "fire.json" in str(e.value)


@pytest.mark.slow
def test_readme_dag_commands(tmp_path, monkeypatch, capsys):
    """The README's "DAG networks" example, with the numbers it quotes."""
    import shutil
    import sys

    from optdist.cli import main
    from tests.conftest import ROOT

    shutil.copy(ROOT / "examples" / "byon" / "resnets.py", tmp_path / "resnets.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "resnets", raising=False)
    assert main(["profile", "--module", "resnets:ResBlockNet", "--input", "3,32,32", "--out", "res.profile.json"]) == 0
    out = capsys.readouterr().out
    assert "resblocknet: 9 layers, 116 segments" in out and "| add     | conv2, stem.2 | add" in out
    assert main(["generate", "--name", "res", "--networks", "res=res.profile.json", "--requests", "res=2",
                 "--devices", "rpi4=4", "--sources", "1", "--tau", "0.8", "--privacy", "none", "--out", "res.json"]) == 0
    capsys.readouterr()
    assert main(["solve", "res.json"]) == 0  # the default engine: the decomposition, on a DAG too
    out = capsys.readouterr().out
    assert "formulation decomposed" in out
    assert "termination  optimal" in out and "feasible True" in out
    objective = float(next(line for line in out.splitlines() if line.startswith("objective")).split()[1])
    assert objective == pytest.approx(0.0157532128, rel=1e-8)
