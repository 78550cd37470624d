"""Temperatures the model's dtype cannot hold are refused, and extreme ones are labelled briefly."""

from __future__ import annotations

import pytest

import simulator
from ui.panels.next_token import temperature_text


@pytest.mark.parametrize("temperature", [1e-50, 1e-39, 1e39])
def test_a_temperature_outside_the_dtype_is_refused_with_a_message(temperature: float) -> None:
    model = simulator.load("toy")
    with pytest.raises(simulator.TextError, match="for this model's float32 numbers"):
        model.trace("a fluffy blue creature", temperature=temperature)


def test_the_smallest_accepted_temperature_gives_finite_probabilities() -> None:
    import numpy as np

    model = simulator.load("toy")
    probs = model.trace("a fluffy blue creature", temperature=float(np.finfo(np.float32).tiny))["probs"]
    assert np.all(np.isfinite(probs))


@pytest.mark.parametrize(("temperature", "text"), [(1.0, "T = 1.00"), (0.05, "T = 0.05"), (1e-30, "T = 1e-30"), (1e30, "T = 1e+30"), (123456.0, "T = 1.23e+05")])
def test_temperature_labels_stay_short(temperature: float, text: str) -> None:
    assert temperature_text(temperature) == text
