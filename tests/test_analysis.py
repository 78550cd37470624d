"""The side views' read-outs (top-k, 2-D PCA, cosine similarity) against independent computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import simulator
from simulator import analysis
from simulator.analysis import cosine_similarity, pca_2d, top_k


# -- top_k ---------------------------------------------------------------------------------------
def test_top_k_matches_a_plain_python_sort() -> None:
    rng = np.random.default_rng(0)
    for size, k in [(1, 1), (5, 3), (40, 10), (1000, 30), (7, 7), (7, 20)]:
        row = rng.random(size)
        expected = sorted(enumerate(row.tolist()), key=lambda item: (-item[1], item[0]))[:k]
        assert top_k(row, k) == [(i, p) for i, p in expected]


def test_top_k_ties_keep_the_lower_index_first() -> None:
    row = np.array([0.1, 0.3, 0.2, 0.3, 0.3, 0.0])
    assert top_k(row, 2) == [(1, 0.3), (3, 0.3)]
    assert [i for i, _ in top_k(row, 4)] == [1, 3, 4, 2]


def test_top_k_on_the_engine_probabilities() -> None:
    trace = simulator.load("toy").trace("a fluffy blue creature")
    row = trace["probs"][-1]
    best = top_k(row, 10)
    assert len(best) == 10
    assert best[0][0] == int(np.argmax(row))
    assert [p for _, p in best] == sorted((p for _, p in best), reverse=True)
    assert min(p for _, p in best) >= np.sort(row)[-10]


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_top_k_rejects_bad_k(k) -> None:
    with pytest.raises(ValueError):
        top_k(np.ones(4), k)


def test_top_k_rejects_a_matrix() -> None:
    with pytest.raises(ValueError):
        top_k(np.ones((2, 3)), 1)


# -- pca_2d ----------------------------------------------------------------------------------------
def _covariance_pca(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The textbook route: eigenvectors of the covariance matrix (independent of the SVD)."""
    centred = points - points.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def test_pca_matches_the_covariance_eigenvectors() -> None:
    rng = np.random.default_rng(1)
    scales = np.array([5.0, 2.0, 0.5, 0.1, 0.05, 0.01])
    before = rng.standard_normal((6, 6)) * scales
    after = rng.standard_normal((6, 6)) * scales
    (cb, ca), ratio = pca_2d([before, after])
    points = np.concatenate([before, after])
    values, vectors = _covariance_pca(points)
    np.testing.assert_allclose(ratio, values[:2] / values.sum(), rtol=1e-9)
    centred = points - points.mean(axis=0)
    coords = np.concatenate([cb, ca])
    for j in range(2):
        reference = centred @ vectors[:, j]
        sign = np.sign(reference @ coords[:, j])  # eigenvectors have no preferred sign
        np.testing.assert_allclose(coords[:, j], sign * reference, atol=1e-9)
    assert cb.shape == (6, 2) and ca.shape == (6, 2)


def test_pca_of_a_plane_keeps_every_distance() -> None:
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.standard_normal((5, 2)))[0]  # an orthonormal plane in 5-D
    flat = rng.standard_normal((8, 2)) @ basis.T + 3.0
    (coords,), ratio = pca_2d([flat])
    assert ratio.sum() == pytest.approx(1.0)
    for i, j in itertools.combinations(range(8), 2):
        assert np.linalg.norm(coords[i] - coords[j]) == pytest.approx(np.linalg.norm(flat[i] - flat[j]))


def test_pca_of_points_on_a_line() -> None:
    line = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0], [2.0, 4.0, 4.0]])
    (coords,), ratio = pca_2d([line])
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(coords[:, 0]), [3.0, 0.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)


def test_pca_of_one_token_before_and_after() -> None:
    (b, a), ratio = pca_2d([np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 2.0, 7.0]])])
    np.testing.assert_allclose(ratio, [1.0, 0.0])
    assert abs(a[0, 0] - b[0, 0]) == pytest.approx(4.0)
    assert b[0, 0] + a[0, 0] == pytest.approx(0.0)
    np.testing.assert_array_equal(np.concatenate([b, a])[:, 1], 0.0)


@pytest.mark.parametrize(
    "arrays",
    [
        [np.full((3, 4), 0.7), np.full((3, 4), 0.7)],
        [np.zeros((1, 4)), np.zeros((1, 4))],
        [np.full((2, 16), 1e300)],
        [np.array([[5.0], [6.0], [9.0]])],
    ],
    ids=["identical", "zeros", "huge identical", "one dimension"],
)
def test_pca_degenerate_inputs_give_finite_results(arrays) -> None:
    with np.errstate(all="raise"):
        coords, ratio = pca_2d(arrays)
    assert all(np.all(np.isfinite(c)) for c in coords) and np.all(np.isfinite(ratio))
    assert [c.shape for c in coords] == [(a.shape[0], 2) for a in arrays]
    assert ratio[1] == 0.0 and np.all(coords[0][:, 1] == 0.0)


def test_pca_orientation_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    points = rng.standard_normal((10, 4))
    (first,), _ = pca_2d([points])
    (again,), _ = pca_2d([points.copy()])
    np.testing.assert_array_equal(first, again)
    centred = points - points.mean(axis=0)
    for j in range(2):  # recover each axis from the coordinates: its largest loading is positive
        axis = np.linalg.lstsq(centred, first[:, j], rcond=None)[0]
        assert axis[np.argmax(np.abs(axis))] > 0


def test_pca_rejects_mismatched_widths() -> None:
    with pytest.raises(ValueError):
        pca_2d([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError):
        pca_2d([])


# -- cosine_similarity -------------------------------------------------------------------------------
def test_cosine_of_known_vectors() -> None:
    assert cosine_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine_similarity([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert cosine_similarity([1, 2], [-1, -2]) == pytest.approx(-1.0)
    assert cosine_similarity([1, 0], [1, 1]) == pytest.approx(math.cos(math.pi / 4))
    assert isinstance(cosine_similarity([1.0, 2.0], [3.0, 4.0]), float)


def test_cosine_of_a_zero_vector_is_zero() -> None:
    with np.errstate(all="raise"):
        assert cosine_similarity([0, 0, 0], [1, 2, 3]) == 0.0


def test_cosine_table_matches_the_formula_row_by_row() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    table = cosine_similarity(a, b)
    assert table.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            expected = float(a[i] @ b[j]) / math.sqrt(float(a[i] @ a[i]) * float(b[j] @ b[j]))
            assert table[i, j] == pytest.approx(expected)


def test_cosine_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        cosine_similarity([1, 2], [1, 2, 3])


def test_change_is_new_minus_old_where_both_are_finite() -> None:
    old = np.array([[1.0, -np.inf, 3e38, 2.0], [np.inf, 0.5, -3e38, np.nan]], dtype=np.float32)
    new = np.array([[1.5, -np.inf, -3e38, np.inf], [4.0, 0.5, 3e38, 1.0]], dtype=np.float32)
    with np.errstate(all="raise"):  # no warning escapes, even for the overflowing difference
        got = analysis.change(old, new)
    expected = [[0.5, -np.inf, -np.inf, np.inf], [4.0, 0.0, np.inf, 1.0]]
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.float32))


# -- pca_basis / project_2d: the fixed frame of the embedding view ------------------------------------
def test_pca_basis_axes_are_the_covariance_eigenvectors_and_match_pca_2d() -> None:
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((40, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    basis = analysis.pca_basis([rows])
    values, vectors = np.linalg.eigh(np.cov(rows.T))
    for j in range(2):
        assert abs(abs(float(basis.axes[j] @ vectors[:, -1 - j])) - 1) < 1e-9
    np.testing.assert_allclose(basis.ratio, values[::-1][:2] / values.sum(), rtol=1e-9)
    np.testing.assert_allclose(basis.mean, rows.mean(axis=0), atol=1e-12)
    (coords,) = analysis.project_2d(basis, [rows])
    (expected,), ratio = pca_2d([rows])
    np.testing.assert_allclose(coords, expected, atol=1e-9)  # the same axes, the same signs
    np.testing.assert_allclose(basis.ratio, ratio, rtol=1e-9)


def test_pca_basis_is_deterministic_and_its_orientation_stable() -> None:
    rng = np.random.default_rng(4)
    rows = rng.standard_normal((30, 5)) @ rng.standard_normal((5, 5))
    first = analysis.pca_basis([rows])
    again = analysis.pca_basis([rows])
    shuffled = analysis.pca_basis([rows[rng.permutation(30)]])
    split = analysis.pca_basis([rows[:10], rows[10:]])
    for other in (again, shuffled, split):
        np.testing.assert_allclose(other.axes, first.axes, atol=1e-10)  # never flipped
    np.testing.assert_array_equal(again.axes, first.axes)
    for axis in first.axes:
        assert axis[np.argmax(np.abs(axis))] > 0, "each axis's largest loading is positive"
        assert np.linalg.norm(axis) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "rows",
    [np.ones((1, 5)), np.zeros((1, 5)), np.full((4, 3), 0.1), np.arange(6.0).reshape(6, 1), np.zeros((0, 4)),
     np.array([[1.0, np.nan, 2.0], [np.inf, 0, 0], [3.0, 1.0, 2.0]])],
    ids=["one row", "one zero row", "identical rows", "one column", "no rows", "non-finite rows"],
)
def test_pca_basis_degenerate_vocabularies_give_no_nan(rows) -> None:
    basis = analysis.pca_basis([rows])
    assert basis.axes.shape == (2, rows.shape[1])
    assert np.all(np.isfinite(basis.axes)) and np.all(np.isfinite(basis.ratio)) and np.all(np.isfinite(basis.mean))
    (coords,) = analysis.project_2d(basis, [rows])
    assert coords.shape == (rows.shape[0], 2) and np.all(np.isfinite(coords))
    if rows.shape[0] == 1:
        np.testing.assert_array_equal(basis.axes, np.zeros((2, rows.shape[1])))
        np.testing.assert_array_equal(coords, np.zeros((1, 2)))
        np.testing.assert_array_equal(basis.mean, rows[0])


def test_pca_basis_on_a_line_has_one_axis() -> None:
    rows = np.outer(np.arange(5.0), [1.0, 2.0, 2.0])
    basis = analysis.pca_basis([rows])
    np.testing.assert_allclose(basis.axes[0], [1 / 3, 2 / 3, 2 / 3], atol=1e-12)
    np.testing.assert_array_equal(basis.axes[1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(basis.ratio, [1.0, 0.0], atol=1e-12)


def test_pca_basis_of_huge_values_stays_finite() -> None:
    rows = np.array([[1e300, 0.0], [-1e300, 1e299], [0.0, -1e299]])
    basis = analysis.pca_basis([rows])
    assert np.all(np.isfinite(basis.axes)) and basis.ratio[0] > 0.9
    (coords,) = analysis.project_2d(basis, [rows])
    assert np.all(np.isfinite(coords))


def test_pca_basis_max_rows_fits_on_evenly_spaced_rows() -> None:
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((1000, 4)) * np.array([4.0, 2.0, 1.0, 0.5])
    sampled = analysis.pca_basis([rows], max_rows=100)
    np.testing.assert_array_equal(sampled.axes, analysis.pca_basis([rows], max_rows=100).axes)
    np.testing.assert_allclose(sampled.axes, analysis.pca_basis([rows[np.linspace(0, 999, 100).round().astype(int)]]).axes)
    assert abs(float(sampled.axes[0] @ analysis.pca_basis([rows]).axes[0])) > 0.99
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_rows"):
            analysis.pca_basis([rows], max_rows=bad)


def test_project_2d_places_non_finite_rows_at_the_origin_and_checks_widths() -> None:
    basis = analysis.pca_basis([np.eye(3)])
    (coords,) = analysis.project_2d(basis, [np.array([[np.nan, 0, 0], [1e308, -1e308, 1e308], [1.0, 0, 0]])])
    np.testing.assert_array_equal(coords[0], [0.0, 0.0])
    assert np.all(np.isfinite(coords))
    with pytest.raises(ValueError, match="project_2d"):
        analysis.project_2d(basis, [np.zeros((2, 4))])
    with pytest.raises(ValueError, match="pca_basis"):
        analysis.pca_basis([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="pca_basis"):
        analysis.pca_basis([np.zeros(3)])
    with pytest.raises(ValueError, match="pca_basis"):
        analysis.pca_basis([])
