"""The engine copies what callers hand in and hands out arrays callers cannot unlock.

Traces share computed stages through the model's cache, so a caller that could write into a
value, a parameter or an input buffer the engine kept would change every other trace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

BERT = Path(__file__).parent / "fixtures" / "checkpoints" / "bert-tiny"
TEXT = "a fluffy blue creature"


@pytest.fixture
def toy() -> simulator.Model:
    return simulator.load("toy")


def cannot_unlock(arr: np.ndarray) -> bool:
    try:
        arr.flags.writeable = True
    except ValueError:
        return True
    return False


def test_a_reused_token_types_buffer_does_not_change_a_later_trace() -> None:
    model = simulator.load(BERT)
    text = "the cat sat"
    n = len(model.encode(text).ids)
    buffer = np.zeros(n, dtype=np.int64)
    first = model.trace(text, token_types=buffer)
    buffer[:] = 1  # the caller reuses its buffer before the stage is read
    np.testing.assert_array_equal(first.token_types, np.zeros(n))
    later = model.trace(text, token_types=np.zeros(n, dtype=np.int64))
    reference = simulator.load(BERT).trace(text, token_types=np.zeros(n, dtype=np.int64))
    first["token_type_embed"]
    np.testing.assert_array_equal(later["token_type_embed"], reference["token_type_embed"])


def test_set_param_copies_a_read_only_array_the_caller_owns(toy: simulator.Model) -> None:
    name = "embed.W_E"
    mine = np.array(toy.params[name])
    mine.flags.writeable = False
    toy.set_param(name, mine)
    mine.flags.writeable = True
    mine[0, 0] = 123.0
    assert toy.params[name][0, 0] != 123.0


def test_parameters_and_trace_values_cannot_be_switched_writable(toy: simulator.Model) -> None:
    trace = toy.trace(TEXT)
    assert all(cannot_unlock(toy.params[name]) for name in toy.params)
    assert all(cannot_unlock(trace[stage_id]) for stage_id in trace)
    assert cannot_unlock(trace.ids) and cannot_unlock(trace.token_types)
    toy.set_param("embed.W_E", 0.5, index=(0, 0))
    assert cannot_unlock(toy.params["embed.W_E"])
