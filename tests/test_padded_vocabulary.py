"""A model whose embedding has more rows than its tokeniser has pieces (a padded vocabulary)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import simulator


def padded_toy(extra: int = 3) -> simulator.Model:
    toy = simulator.load("toy")
    config = replace(toy.config, vocab_size=toy.config.vocab_size + extra)
    params = {name: np.array(value) for name, value in toy.params.items()}
    shapes = simulator.param_shapes(config)
    for name, shape in shapes.items():
        if params[name].shape != shape:
            grown = np.zeros(shape, dtype=params[name].dtype)
            grown[tuple(slice(0, n) for n in params[name].shape)] = params[name]
            params[name] = grown
    return simulator.Model(config, params, toy.tokenizer)


def test_ids_up_to_the_embedding_size_trace_and_read_as_hash_id() -> None:
    model = padded_toy()
    pieces = model.tokenizer.vocab_size
    trace = model.trace([1, pieces + 2])
    assert trace.tokens[1] == f"#{pieces + 2}"
    assert trace.text.endswith(f"#{pieces + 2}")
    assert np.all(np.isfinite(trace["probs"]))
