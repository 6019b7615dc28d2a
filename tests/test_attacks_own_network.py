"""``optdist calibrate`` on a user's network (issue 13 item 3): a torch module builder, its weights and
profile file, a folder of the user's images; the tensor at any profile layer of a DAG (MODEL.md
section 9), a residual ``add`` included; the table drives an instance solve."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from optdist import solve
from optdist.attacks import datasets, inversion
from optdist.attacks.datasets import DatasetMissing
from optdist.cli import main
from optdist.instance import load_instance
from optdist.privacy import PrivacyTable, privacy_limits
from optdist.profiles import load_profile_file
from optdist.tracing import TraceError, head_at, load_builder, profile_module
from tests.conftest import ROOT, hand_doc

RESNET = f"{ROOT / 'examples' / 'byon' / 'resnets.py'}:ResBlockNet"


class ConcatNet(nn.Module):
    """Two branches on one stem, concatenated: a DAG with a concat layer."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.a, self.b = nn.Conv2d(4, 3, 1), nn.Conv2d(4, 5, 3, padding=1)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 2)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        return self.fc(torch.flatten(self.pool(torch.cat([self.a(x), self.b(x)], 1)), 1))


def photos(folder: Path, n: int, size: int = 40, seed: int = 0) -> Path:
    """``n`` random crops of scikit-image's bundled photos, written as PNG (RGB) and JPEG (grayscale)."""
    from skimage import data as sk

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pics = [sk.astronaut(), sk.chelsea(), sk.coffee(), sk.rocket()]
    for i in range(n):
        p = pics[i % len(pics)]
        r, c = rng.integers(0, p.shape[0] - size), rng.integers(0, p.shape[1] - size)
        crop = Image.fromarray(np.ascontiguousarray(p[r : r + size, c : c + size, :3]))
        if i % 3 == 2:
            crop.convert("L").save(folder / f"img{i:03d}.jpg")
        else:
            crop.save(folder / f"img{i:03d}.png")
    return folder


# --------------------------------------------------------------------------- the tensor at a named layer


@pytest.mark.parametrize("builder, shape", [(lambda: load_builder(RESNET)(), (3, 16, 16)), (ConcatNet, (1, 8, 8))])
def test_head_at_gives_every_profile_layers_tensor(builder, shape):
    torch.manual_seed(0)
    net = builder().eval()
    prof = profile_module(net, shape, "mynet")
    x = torch.rand(3, *shape)
    for la in prof.layers:
        z = head_at(net, prof, la.name)(x)
        assert tuple(z.shape[1:]) == ((la.out_maps, *la.out_shape) if la.kind != "fc" else la.out_shape), la.name
    assert torch.allclose(head_at(net, prof, prof.layers[-1].name)(x), net(x))


def test_head_at_the_residual_add_is_the_sum_of_its_branches():
    torch.manual_seed(0)
    net = load_builder(RESNET)().eval()
    prof = profile_module(net, (3, 16, 16), "mynet")
    assert prof.layers[prof.index("add")].kind == "add"
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        stem = net.stem(x)
        want = net.bn2(net.conv2(net.relu1(net.bn1(net.conv1(stem))))) + stem
        assert torch.allclose(head_at(net, prof, "add")(x), want)
        assert torch.allclose(head_at(net, prof, "conv1")(x), net.bn1(net.conv1(stem)))  # BatchNorm folded in


def test_head_at_refuses_a_profile_of_another_module():
    prof = profile_module(ConcatNet(), (1, 8, 8), "other")
    with pytest.raises(KeyError, match='no layer "add"'):
        head_at(ConcatNet(), prof, "add")
    with pytest.raises(TraceError, match="traced from another module"):
        head_at(load_builder(RESNET)(), prof, "a")


def test_select_maps_of_flat_tensors():
    z = torch.arange(12.0).reshape(2, 6)
    assert inversion.select_maps(z, 6, [1, 4]).shape == (2, 2, 1, 1)  # a global mean: one value per map
    assert inversion.select_maps(z, 1, [0]).shape == (2, 6, 1, 1)  # an fc output: one map of 6 values
    assert torch.equal(inversion.select_maps(z, 3, [2])[:, :, 0, 0], z[:, 4:6])
    with pytest.raises(ValueError, match="expected"):
        inversion.select_maps(z, 4, [0])


# --------------------------------------------------------------------------- the user's image folder


def test_image_folder_is_converted_and_split_by_seed(tmp_path):
    root = photos(tmp_path / "imgs", 10)
    (root / "notes.txt").write_text("not an image: skipped")
    ds = datasets.load_images(root, (1, 12, 20), test_fraction=0.3, seed=0)
    assert ds.shape == (1, 12, 20) and len(ds["attack"]) == 7 and len(ds["test"]) == 3
    rgb = datasets.load_images(root, (3, 12, 20), test_fraction=0.3, seed=0)
    assert rgb.shape == (3, 12, 20)
    again = datasets.load_images(root, (1, 12, 20), test_fraction=0.3, seed=0)
    other = datasets.load_images(root, (1, 12, 20), test_fraction=0.3, seed=1)
    assert np.array_equal(ds["test"].x, again["test"].x) and not np.array_equal(ds["test"].x, other["test"].x)
    rows = {img.tobytes() for s in ("attack", "test") for img in ds[s].x}
    assert len(rows) == 10  # the two splits are disjoint and cover every image
    gray = np.asarray(Image.open(root / "img002.jpg").convert("L").resize((20, 12), Image.BILINEAR))
    assert any(np.array_equal(img[0], gray) for s in ("attack", "test") for img in ds[s].x)


def test_sixteen_bit_and_alpha_images_keep_their_content(tmp_path):
    """A 16-bit grayscale PNG is scaled to 8 bits (PIL alone clips it to white); RGBA drops alpha;
    a 32-bit float TIFF (no known range) is refused naming the file."""
    root = tmp_path / "deep"
    root.mkdir()
    ramp = (np.arange(16 * 16, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)  # 0 .. 65535 in steps of 257
    Image.fromarray(ramp).save(root / "a16.png")
    assert Image.open(root / "a16.png").mode.startswith("I;16")
    rgba = np.random.default_rng(0).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(root / "b.png")
    ds = datasets.load_images(root, (1, 16, 16), test_fraction=0.5, seed=0)
    x = {img.tobytes(): img for s in ("attack", "test") for img in ds[s].x}
    assert any(np.array_equal(img[0], np.arange(256, dtype=np.uint8).reshape(16, 16)) for img in x.values())
    rgb = datasets.load_images(root, (3, 16, 16), test_fraction=0.5, seed=0)
    assert any(np.array_equal(img, rgba[..., :3].transpose(2, 0, 1)) for s in ("attack", "test") for img in rgb[s].x)
    Image.fromarray(np.ones((16, 16), np.float32)).save(root / "c.tif")
    with pytest.raises(ValueError, match=r"c.tif: not a readable image .*32-bit float .*8 or 16 bits"):
        datasets.load_images(root, (1, 16, 16))


def test_image_folder_errors_name_the_folder_or_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetMissing, match=r"empty: 0 image file\(s\)"):
        datasets.load_images(empty, (3, 8, 8))
    with pytest.raises(DatasetMissing, match="no such folder"):
        datasets.load_images(tmp_path / "ghost", (3, 8, 8))
    root = photos(tmp_path / "imgs", 3)
    with pytest.raises(ValueError, match=r"\[4, 8, 8\].*1 \(grayscale\) or 3 \(RGB\)"):
        datasets.load_images(root, (4, 8, 8))
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        datasets.load_images(root, (3, 8, 8))


def test_bundled_split_is_conformed_to_the_networks_shape():
    split = datasets.Split(np.random.default_rng(0).integers(0, 256, (4, 1, 28, 28), dtype=np.uint8), np.zeros(4, np.int64))
    out = datasets.conform(split, (3, 16, 16))
    assert out.x.shape == (4, 3, 16, 16) and np.array_equal(out.x[:, 0], out.x[:, 2])  # gray replicated to RGB
    assert datasets.conform(split, (1, 28, 28)) is split


# --------------------------------------------------------------------------- the command, end to end


@pytest.fixture(scope="module")
def own_resnet(tmp_path_factory):
    """A profile file, weights and 30 images for the residual block network at 3x16x16."""
    d = tmp_path_factory.mktemp("own")
    assert main(["profile", "--module", RESNET, "--input", "3,16,16", "--name", "mynet",
                 "--out", str(d / "mynet.profile.json")]) == 0
    torch.manual_seed(3)
    torch.save(load_builder(RESNET)().state_dict(), d / "mynet.pt")
    photos(d / "imgs", 30)
    return d


def calibrate_args(d: Path, *extra: str) -> list[str]:
    return ["calibrate", "--module", RESNET, "--profile", str(d / "mynet.profile.json"), "--weights",
            str(d / "mynet.pt"), "--images", str(d / "imgs"), "--maps", "16,4,1", "--subsets", "2", "--epochs", "2",
            "--no-progress", *extra]


@pytest.fixture(scope="module")
def own_table(own_resnet):
    d = own_resnet
    assert main(calibrate_args(d, "--layers", "add,conv1", "--out", str(d / "out"), "--table",
                               str(d / "mynet-privacy.json"))) == 0
    return d / "mynet-privacy.json"


def test_calibrate_own_dag_network_writes_a_table_of_its_layers(own_resnet, own_table):
    t = PrivacyTable.load(own_table)
    prof = load_profile_file(own_resnet / "mynet.profile.json")
    assert t.cnn == "mynet" and [r.tensor for r in t.rows] == ["add", "conv1"]
    assert t.check_against(prof) == []
    for r in t.rows:
        assert r.maps == 16 and sorted(r.cells) == [1, 4, 16]
        for m, v in r.cells.items():
            assert 0 <= v <= 1 and 0 <= r.spread[m] <= 0.5 and 5 < r.psnr[m] < 60
        assert r.spread[16] == 0 and "{16: 1, 4: 2, 1: 2}" in r.note  # one all-maps attack, 2 subsets otherwise
        stars = [r.ssim(m) for m in (1, 4, 16)]
        assert stars == sorted(stars)  # the table's reading SSIM* is monotone in m
    prov = t.provenance
    assert prov["target"]["module"] == RESNET and prov["target"]["profile"].endswith("mynet.profile.json")
    assert len(prov["target"]["weights_sha256"]) == 64
    assert prov["attacker"]["samples"] == 24 and prov["attacker"]["test_samples"] == 6  # 30 images, 20 % held out
    attacks = json.loads((own_resnet / "out" / "mynet-calibrated-attacks.json").read_text())
    assert len(attacks) == 2 * 5
    for r in t.rows:  # each cell is the mean of its attacks
        for m, v in r.cells.items():
            ssims = [a["ssim"] for a in attacks if a["layer"] == r.tensor and a["m"] == m]
            assert v == pytest.approx(max(0.0, float(np.mean(ssims))), abs=1e-4)
    nf = (own_resnet / "out" / "mynet-calibrated-nf.md").read_text()
    assert "| add | 16 |" in nf and "| relu2 | 16 | add |" in nf


def test_the_table_validates_shows_nf_and_drives_an_instance_solve(own_resnet, own_table, capsys):
    d = own_resnet
    t = PrivacyTable.load(own_table)
    prof = load_profile_file(d / "mynet.profile.json")
    assert main(["validate", str(own_table)]) == 0
    lo = min(v for r in t.rows for v in r.cells.values()) / 2  # every cell leaks more: governed layers on the source
    mid = max(r.ssim(4) for r in t.rows)  # 4 maps of each tensor are tolerated, 16 are not
    assert mid < min(r.ssim(16) for r in t.rows)  # sensible: 16 maps leak more than any 4 of them
    capsys.readouterr()
    assert main(["profile", str(d / "mynet.profile.json"), "--privacy", str(own_table), "--tau", str(mid)]) == 0
    shown = capsys.readouterr().out
    assert f"privacy table {own_table} at tau {mid}: split point" in shown
    for tau, nf in ((lo, 0), (mid, 4), (0.99, None)):
        doc = hand_doc(tau=tau)
        doc["devices"].append({**doc["devices"][2], "id": "d3"})  # 4 devices x Nf = 4 maps hold 16
        doc["networks"] = {"mynet": "mynet.profile.json"}
        doc["privacy"] = {"mynet": own_table.name}
        doc["requests"][0]["cnn"] = "mynet"
        path = d / f"inst-{tau}.json"
        path.write_text(json.dumps(doc))
        assert main(["validate", str(path)]) == 0
        inst = load_instance(path)
        lim = inst.limits["mynet"]
        want = privacy_limits(prof, t, tau)
        assert (lim.split_point, lim.nf, lim.on_source) == (want.split_point, want.nf, want.on_source)
        inner = range(1, prof.n_layers - 1)
        assert [lim.nf[k] for k in inner] == [nf] * len(inner)  # every inner layer is governed by conv1 or add
        res = solve(inst, "milp")
        assert res.termination.value == "optimal"
        assert res.evaluation.objective == pytest.approx(res.objective, rel=1e-6)  # re-scored by the evaluator
        for k in inner:
            counts = res.assignment.counts(inst, 0, k)
            on_devices = counts[: inst.n_devices]
            if nf == 0:  # (10h): on the source
                assert on_devices.sum() == 0
            else:
                assert counts[inst.n_devices :].sum() == 0  # not an allowed source layer
                if nf is not None:  # (10f): at most Nf maps per device
                    assert on_devices.max() <= nf
        if nf == 0:  # all on the source (1 Mmult/s), no transfers
            assert res.objective == pytest.approx(prof.total_mults / 1e6, rel=1e-9)


def test_calibrate_own_network_errors(own_resnet, tmp_path, capsys):
    d = own_resnet
    other = tmp_path / "other.profile.json"
    concat = tmp_path / "concatnet.py"
    concat.write_text("import torch\nfrom torch import nn\n\nclass Net(nn.Module):\n"
                      "    def __init__(self):\n        super().__init__()\n        self.c = nn.Conv2d(3, 4, 3)\n"
                      "        self.fc = nn.Linear(4 * 14 * 14, 2)\n\n"
                      "    def forward(self, x):\n        return self.fc(torch.flatten(self.c(x), 1))\n")
    assert main(["profile", "--module", f"{concat}:Net", "--input", "3,16,16", "--out", str(other)]) == 0
    capsys.readouterr()
    cases = [
        (calibrate_args(d, "--layers", "ghost"), 'has no layer "ghost"'),
        ([a if a != str(d / "mynet.profile.json") else str(other) for a in calibrate_args(d)], "not the profile of"),
        ([a if a != str(d / "mynet.pt") else str(tmp_path / "none.pt") for a in calibrate_args(d)], "none.pt: no such file"),
        (["calibrate", "--module", RESNET, "--input", "3,16,16"], "give the attacker's images"),
        (["calibrate", "--module", RESNET, "--images", str(d / "imgs")], "give the input shape"),
        (["calibrate", "lenet", "--weights", "x.pt"], "--weights go with --module"),
        (["calibrate"], "name a target"),
        (calibrate_args(d, "--data", "natural"), "give the attacker's images one way, not both"),
        (calibrate_args(d, "--weights-dir", "w"), "--weights-dir go with a zoo target"),
    ]
    torch.save({"fc.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    cases.append(([a if a != str(d / "mynet.pt") else str(tmp_path / "bad.pt") for a in calibrate_args(d)],
                  "bad.pt: does not fit"))
    for args, words in cases:
        assert main(args) != 0, args
        assert words in capsys.readouterr().err, (args, words)


@pytest.mark.slow
def test_calibrate_own_network_on_real_photos_end_to_end(tmp_path):
    """300 photo crops (scikit-image) attacked at the first convolution of the residual network and at its
    residual add: with all 16 maps the inversion recovers the image better than from one map."""
    torch.set_num_threads(1)
    photos(tmp_path / "imgs", 300)
    assert main(["calibrate", RESNET.rsplit(":", 1)[1].lower(), "--module", RESNET, "--input", "3,32,32", "--images",
                 str(tmp_path / "imgs"), "--layers", "stem.0,add", "--maps", "16,1", "--subsets", "2", "--epochs", "8",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    t = PrivacyTable.load(tmp_path / "out" / "resblocknet-calibrated.json")
    assert [r.tensor for r in t.rows] == ["stem.0", "add"]
    for r in t.rows:
        assert r.cells[16] > r.cells[1] + 0.05, r
        assert r.cells[16] > 0.3 and r.psnr[16] > r.psnr[1] and math.isfinite(r.psnr[1])


def test_calibrate_own_network_on_a_bundled_dataset_in_its_input_shape(tmp_path):
    """--data natural (3x32x32 RGB patches) converted to the network's 1x16x16 grayscale input."""
    net = tmp_path / "graynet.py"
    net.write_text("from torch import nn\n\ndef build():\n    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), "
                   "nn.ReLU(), nn.Flatten(), nn.Linear(4 * 16 * 16, 3))\n")
    table = tmp_path / "gray.json"
    assert main(["calibrate", "gray", "--module", f"{net}:build", "--input", "1,16,16", "--data", "natural",
                 "--samples", "64", "--test-samples", "16", "--epochs", "1", "--maps", "4,1", "--subsets", "1",
                 "--table", str(table), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    t = PrivacyTable.load(table)
    assert t.cnn == "gray" and [r.tensor for r in t.rows] == ["0", "1"]  # every layer but the last (fc)
    assert t.provenance["attacker"]["samples"] == 64 and t.provenance["test_samples"] == 16
    assert t.provenance["target"]["input_shape"] == [1, 16, 16]
    assert "adversary_samples" in t.provenance and t.provenance["adversary_samples"].startswith("64 from the 'natural'")


@pytest.mark.parametrize("flag, value, words", [
    ("--maps", "0,16", "--maps 0,16 is not a list of whole numbers >= 1 (fix: give them separated by commas, "
                       "e.g. --maps 16,4,1)"),
    ("--maps", "-4", "--maps -4 is not a list of whole numbers >= 1"),
    ("--maps", "four", "--maps four is not a list of whole numbers >= 1"),
    ("--input", "3,0,32", "--input 3,0,32 is not a list of whole numbers >= 1 (fix: give them separated by commas, "
                          "e.g. --input 3,32,32)"),
    ("--test-fraction", "1", "--test-fraction 1 is out of range (fix: give a share strictly between 0 and 1, "
                             "e.g. --test-fraction 0.2)"),
    ("--test-fraction", "nan", "--test-fraction nan is not a number"),
])
def test_calibrate_refuses_bad_numbers_before_any_work(tmp_path, capsys, flag, value, words):
    """m = 0 or negative was silently dropped (the table then had only the all-maps column): refused, exit 2."""
    args = ["calibrate", "--module", RESNET, "--input", "3,32,32", "--images", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*args, f"{flag}={value}"]) == 2
    assert f"optdist calibrate: error: {words}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
