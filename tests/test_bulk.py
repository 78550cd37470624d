"""Bulk edits in the engine (simulator.bulk): the numbers the Parameters browser's menu puts in."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import bulk
from simulator.errors import ParamError

W = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10.0


def test_each_operation_gives_the_documented_values() -> None:
    edited = W * 2
    np.testing.assert_array_equal(bulk.bulk_values(bulk.RESET, edited, W, (1,)), W[1])
    assert not bulk.bulk_values(bulk.ZERO, W, W, (0, 2)).any()
    eye = bulk.bulk_values(bulk.IDENTITY, W, W, (1,))
    np.testing.assert_array_equal(eye, np.eye(3, 4, dtype=np.float32))
    np.testing.assert_array_equal(bulk.bulk_values(bulk.SCALE, W, W, None, factor=-0.5), W * -0.5)
    first = bulk.bulk_values(bulk.RANDOMISE, W, W, None, seed=3)
    np.testing.assert_array_equal(first, bulk.bulk_values(bulk.RANDOMISE, W, W, None, seed=3))
    assert first.dtype == np.float32 and not np.array_equal(first, bulk.bulk_values(bulk.RANDOMISE, W, W, None, seed=4))
    assert abs(float(first.mean()) - float(W.mean())) < 3 * float(W.std())


def test_identity_needs_rows_and_columns() -> None:
    axes = ("head", "d_model", "d_head")
    assert bulk.identity_allowed(W, axes, (0,)) and bulk.identity_allowed(W, axes, None)
    assert not bulk.identity_allowed(W, axes, (0, 1))
    assert not bulk.identity_allowed(np.zeros((2, 4)), ("head", "d_head"), None)  # heads × entries of a bias


@pytest.mark.parametrize(
    ("op", "index", "factor", "message"),
    [("shuffle", None, 1.0, "unknown bulk operation"), (bulk.IDENTITY, (0, 1), 1.0, "needs a matrix"),
     (bulk.SCALE, None, float("nan"), "finite number"), (bulk.SCALE, None, 1e38, "beyond"), (bulk.ZERO, (5,), 1.0, "outside")],
)
def test_bad_operations_are_refused_with_one_line(op: str, index, factor: float, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ParamError, match=message):
        bulk.bulk_values(op, W, W, index, factor=factor, where="W[0]")
