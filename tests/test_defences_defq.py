"""DefQ transform and table generation (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from optdist.defences import defq


def test_dct_matrix_is_orthonormal_and_equals_jpeg_fdct():
    d = defq.dct_matrix()
    np.testing.assert_allclose(d @ d.T, np.eye(8), atol=1e-12)
    x = np.random.default_rng(0).uniform(-128, 127, (8, 8))
    c = np.where(np.arange(8) == 0, 1 / np.sqrt(2), 1.0)
    k = np.arange(8)
    cos = np.cos((2 * k[:, None] + 1) * k[None, :] * np.pi / 16)  # cos[(2x+1) u pi / 16], [x, u]
    jpeg = 0.25 * c[:, None] * c[None, :] * np.einsum("xy,xu,yv->uv", x, cos, cos)
    np.testing.assert_allclose(defq.block_dct(x), jpeg, atol=1e-9)


def test_dct_round_trip_with_padding():
    x = np.random.default_rng(1).random((2, 3, 28, 30))
    blocks, size = defq.to_blocks(x)
    assert blocks.shape == (2, 3, 4, 4, 8, 8)
    np.testing.assert_allclose(defq.from_blocks(defq.block_idct(defq.block_dct(blocks)), size), x, atol=1e-12)


def test_tiny_steps_are_lossless_and_error_obeys_parseval_bound():
    x = np.random.default_rng(2).integers(0, 256, (3, 32, 32)).astype(float)
    same = defq.defq(x, np.full((8, 8), 1e-9), data_range=255, to_uint8=False)
    np.testing.assert_allclose(same, x, atol=1e-6)
    table = np.random.default_rng(3).integers(20, 61, (8, 8)).astype(float)
    y = defq.defq(x / 255.0, table, to_uint8=False) * 255.0
    unclipped = y[(y > 0) & (y < 255)]
    assert unclipped.size > 0
    err = ((y - x) ** 2).reshape(3, 4, 8, 4, 8).sum(axis=(2, 4))  # per 8x8 block
    assert err.max() <= defq.quantization_error_bound(table) + 1e-6


def test_constant_block_keeps_its_dc_quantised():
    x = np.full((1, 8, 8), 200.0)
    table = np.full((8, 8), 20.0)
    # DC = 8 (200 - 128) = 576 -> round(28.8) * 20 = 580 -> pixel 580 / 8 + 128 = 200.5 -> 201 (half-up)
    y = defq.defq(x, table, data_range=255)
    np.testing.assert_array_equal(y, 201.0)
    with pytest.raises(ValueError):
        defq.defq(x, table, rounding="down")


def test_output_stays_in_range_and_scale():
    x = np.random.default_rng(4).random((5, 1, 28, 28))
    y = defq.defq(x, defq.JPEG_LUMA)
    assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0
    np.testing.assert_allclose(y * 255, np.round(y * 255), atol=1e-9)
    assert defq.psnr(x, y) > 15


def test_table_generation_single_frequency_attack():
    # clean = constant images (only DC); the attack adds a * basis(u0, v0) to every block,
    # so Dif = a + 1 at (u0, v0) and 1 elsewhere
    d = defq.dct_matrix()
    u0, v0, a = 2, 5, 30.0
    basis = np.outer(d[u0], d[v0])  # F(basis) = e_{u0 v0}
    clean = np.full((4, 3, 16, 16), 100.0)
    attacked = clean + a * np.tile(basis, (2, 2))
    q0 = defq.frequency_ratio(clean, attacked, data_range=255)
    want = np.ones((8, 8))
    want[u0, v0] = a + 1
    np.testing.assert_allclose(q0, want, atol=1e-9)
    table = defq.generate_table(clean, attacked, data_range=255)
    assert table[u0, v0] == 60 and (np.delete(table.ravel(), u0 * 8 + v0) == 20).all()


def test_table_min_max_mapping_and_ablation_ranges():
    q0 = np.ones((8, 8))
    q0[0, :] = np.linspace(1.0, 2.0, 8)
    t = defq.table_from_ratio(q0)
    np.testing.assert_array_equal(t[0], np.floor(np.linspace(20, 60, 8) + 0.5))
    assert defq.table_from_ratio(q0, 20, 100).max() == 100
    assert (defq.table_from_ratio(np.full((8, 8), 1.3)) == 20).all()


def test_reference_figure4_fragment_is_reproduced():
    # reference notes: Fig. 4(a) rows 0-1 with min Q0 = 1.01 and max Q0 = 2.21 give Q_def
    # row 0 = 20 22 26 28 31 35 44 55 and row 1 = 22 25 27 29 32 36 43 54
    q0 = np.full((8, 8), 1.5)
    q0[0] = [1.01, 1.08, 1.18, 1.24, 1.33, 1.47, 1.73, 2.07]
    q0[1] = [1.07, 1.15, 1.21, 1.28, 1.37, 1.5, 1.71, 2.03]
    q0[5, 7] = 2.21
    t = defq.table_from_ratio(q0)
    np.testing.assert_array_equal(t[0], [20, 22, 26, 28, 31, 35, 44, 55])
    np.testing.assert_array_equal(t[1], [22, 25, 27, 29, 32, 36, 43, 54])


def test_invalid_inputs():
    with pytest.raises(ValueError):
        defq.defq(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError):
        defq.frequency_ratio(np.zeros((1, 8, 8)), np.zeros((2, 8, 8)))
    assert defq.ops_per_image(32, 32, 3) == 107_520
