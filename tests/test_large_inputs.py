"""Large inputs stay responsive (issue 12): only what visible panels need is computed, the
change-view baseline is kept only while that view is on, long passes run off the GUI thread,
and the recovery copy is written in the background.

The models here are small but shaped like GPT-2 (pre-LN, learned positions, tanh GELU); the
GPT-2-small figures at 1,024 tokens are in ``python -m tests.benchmarks``.
"""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from engine_models import build_model
from simulator.trace import FULL_PROBS_LIMIT, NEXT_TOKEN_PROBS

LONG = 20  #: tokens: 20 × 4,096 entries of probs is beyond FULL_PROBS_LIMIT


def gpt2_shaped(n_ctx: int = 32, dtype: str = "float32", **overrides) -> simulator.Model:
    """A GPT-2-shaped model scaled down (d_model 768 → 24, 12 heads → 3, 12 layers → 2, vocabulary
    50,257 → 4,096: large enough that 20 tokens pass :data:`FULL_PROBS_LIMIT`)."""
    fields = dict(
        d_model=24, n_heads=3, d_head=8, n_layers=2, d_mlp=96, vocab_size=4096, n_ctx=n_ctx,
        act="gelu_tanh", dtype=dtype,
    )
    fields.update(overrides)
    return build_model(simulator.ModelConfig(**fields), seed=3, scale=0.3)


def words(model: simulator.Model, n: int) -> str:
    return " ".join(model.tokenizer.id_to_token(1 + i % (model.config.vocab_size - 1)) for i in range(n))


# -- 1. the next-token row without the whole vocabulary at every position ---------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("temperature", [1.0, 0.35, 4.0])
def test_next_token_probs_equal_the_last_row_of_the_full_stage(dtype, temperature):
    model = gpt2_shaped(dtype=dtype)
    text = words(model, LONG)
    assert LONG * model.config.vocab_size > FULL_PROBS_LIMIT
    row = model.trace(text, temperature=temperature).next_token_probs()
    model.clear_cache()
    full = model.trace(text, temperature=temperature)["probs"][-1]
    assert row.shape == (model.config.vocab_size,) and row.dtype == full.dtype
    np.testing.assert_allclose(row, full, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-7 if dtype == "float32" else 1e-15)
    assert abs(float(row.sum()) - 1.0) < 1e-5


def test_next_token_probs_compute_neither_logits_nor_probs():
    model = gpt2_shaped()
    trace = model.trace(words(model, LONG))
    with model.recording() as computed:
        row = trace.next_token_probs()
    assert "logits" not in computed and "probs" not in computed
    assert computed[-1] == NEXT_TOKEN_PROBS
    assert not row.flags.writeable
    with model.recording() as again:  # a new trace of the same input reuses it from the cache
        model.trace(words(model, LONG)).next_token_probs()
    assert again == []


def test_next_token_probs_reuse_a_full_stage_already_computed():
    model = gpt2_shaped()
    trace = model.trace(words(model, 6))
    full = trace["probs"]
    with model.recording() as computed:
        row = trace.next_token_probs()
    assert computed == [] and np.array_equal(row, full[-1])


def test_next_token_probs_follow_the_temperature_and_weight_edits():
    model = gpt2_shaped()
    text = words(model, LONG)
    cold = model.trace(text, temperature=0.5).next_token_probs()
    warm = model.trace(text, temperature=2.0).next_token_probs()
    assert not np.allclose(cold, warm)
    model.set_param("unembed.b_U", 5.0, (7,))
    edited = model.trace(text, temperature=0.5).next_token_probs()
    assert edited[7] > cold[7]
    np.testing.assert_allclose(edited, model.trace(text, temperature=0.5)["probs"][-1], rtol=1e-5, atol=1e-7)


def test_a_small_pass_gives_the_full_stage_row_bit_for_bit():
    model = gpt2_shaped(vocab_size=97)
    trace = model.trace(words(model, 12))
    row = trace.next_token_probs()
    assert trace.computed("probs") is not None and np.array_equal(row, trace["probs"][-1])


def test_next_token_probs_refused_for_a_model_without_probs():
    model = gpt2_shaped(unembed=False, causal=False, pooling="mean")
    with pytest.raises(simulator.UnknownStageError, match="probs"):
        model.trace(words(model, 4)).next_token_probs()


# -- 1b. hidden panels ask the engine for nothing -----------------------------------------------------
def _type(window, text: str) -> None:
    from ui.commands import SetTextCommand

    window.state.undo_stack.push(SetTextCommand(window.state, text))


def test_a_hidden_next_token_panel_computes_nothing_and_catches_up_when_shown(make_main_window, qtbot):
    window = make_main_window()
    model, panel = window.state.model, window.next_token
    assert panel.isVisible()
    window.next_token_dock.hide()
    qtbot.waitUntil(lambda: not panel.isVisible())
    with model.recording() as computed:
        _type(window, window.state.text + " the")
    assert NEXT_TOKEN_PROBS not in computed and "logits" not in computed and "probs" not in computed
    assert panel.stale
    rows = panel.predictions()  # reading catches up: never the old sentence's bars
    expected = window.state.trace["probs"][-1]
    assert rows and not panel.stale and all(abs(p - float(expected[i])) < 1e-6 for i, p in rows)
    _type(window, window.state.text + " a")
    assert panel.stale
    window.next_token_dock.show()
    qtbot.waitUntil(panel.isVisible)
    assert not panel.stale
    expected = model.trace(window.state.text)["probs"][-1]
    assert [i for i, _ in panel.predictions()] == [int(i) for i in np.argsort(-expected, kind="stable")[: len(panel.predictions())]]


def test_the_visible_next_token_panel_needs_only_the_last_row(qtbot):
    from ui.commands import SetTextCommand
    from ui.panels.next_token import NextTokenView
    from ui.state import AppState

    model = gpt2_shaped()
    state = AppState(model, words(model, LONG))
    view = NextTokenView(state)
    qtbot.addWidget(view)
    view.resize(500, 350)
    with qtbot.waitExposed(view):
        view.show()
    with model.recording() as computed:
        state.undo_stack.push(SetTextCommand(state, words(model, LONG + 1)))
    assert NEXT_TOKEN_PROBS in computed
    assert "logits" not in computed and "probs" not in computed
    assert not view.stale
    expected = model.trace(words(model, LONG + 1))["probs"][-1]
    top = view.predictions()
    assert [i for i, _ in top] == [int(i) for i in np.argsort(-expected, kind="stable")[: len(top)]]
    np.testing.assert_allclose([p for _, p in top], expected[[i for i, _ in top]], rtol=1e-5)


# -- 2. the change view's baseline is held whole only while that view is on ------------------------
def held_bytes(trace: simulator.Trace) -> int:
    return sum(value.nbytes for sid in trace.stage_ids() if (value := trace.computed(sid)) is not None)


def _state_after_a_full_pass(qtbot, stage: str = "blocks.0.attn.q"):
    from ui.state import AppState

    model = gpt2_shaped()
    state = AppState(model, words(model, LONG))
    state.set_stage(stage)
    before = {sid: np.array(state.trace[sid]) for sid in model.stage_ids()}  # every stage, like a long session
    return model, state, before


def test_with_the_change_view_off_the_baseline_keeps_only_the_current_layer(qtbot):
    model, state, before = _state_after_a_full_pass(qtbot)
    whole = held_bytes(state.trace)
    state.apply_param("blocks.0.attn.W_Q", 2.0, (0, 1, 2))
    baseline = state.baseline
    assert baseline is not None and baseline.computed("blocks.1.resid_post") is None and baseline.computed("probs") is None
    assert baseline.computed("blocks.0.attn.q") is not None
    assert held_bytes(baseline) < whole / 2
    # switched on, the change view still compares with the values before the edit
    state.apply_view(show_difference=True)
    for sid in ("blocks.1.resid_post", "probs", "blocks.0.attn.q"):
        np.testing.assert_array_equal(state.baseline[sid], before[sid])
    assert not np.array_equal(state.trace["blocks.1.resid_post"], before["blocks.1.resid_post"])


def test_the_change_view_on_keeps_the_whole_baseline_and_switching_it_off_lets_go(qtbot):
    model, state, before = _state_after_a_full_pass(qtbot)
    state.apply_view(show_difference=True)
    state.apply_param("blocks.0.attn.W_Q", 2.0, (0, 1, 2))
    assert state.baseline.computed("blocks.1.resid_post") is not None
    state.apply_view(show_difference=False)
    assert state.baseline.computed("blocks.1.resid_post") is None
    assert state.baseline.computed("blocks.0.attn.q") is not None


# -- 3. long passes run on a worker thread -------------------------------------------------------------
def _threads_of(model: simulator.Model, monkeypatch) -> dict[str, int]:
    """Which thread computed each stage (the model's cache is written once per computed stage)."""
    import threading

    seen: dict[str, int] = {}
    put = model._cache_put

    def recording_put(stage_id, key, value, *rest):
        seen[stage_id] = threading.get_ident()
        put(stage_id, key, value, *rest)

    monkeypatch.setattr(model, "_cache_put", recording_put)
    return seen


def _long_state(qtbot, stage: str = "blocks.1.attn.pattern"):
    from ui.state import AppState

    model = gpt2_shaped()
    state = AppState(model, words(model, LONG))
    state.set_stage(stage)
    state.background_cost = 0  # every pass counts as long
    return model, state


def test_a_long_pass_runs_off_the_gui_thread_and_is_installed_when_done(qtbot, monkeypatch):
    import threading

    from ui.commands import SetTextCommand

    model, state = _long_state(qtbot)
    old = state.trace
    old.compute([NEXT_TOKEN_PROBS, "blocks.1.attn.pattern"])  # what the window would have read
    threads = _threads_of(model, monkeypatch)
    installed, messages = [], []
    state.trace_changed.connect(lambda: installed.append(state.trace))
    state.message.connect(messages.append)
    with qtbot.waitSignal(state.busy_changed, timeout=100):
        state.undo_stack.push(SetTextCommand(state, words(model, LONG + 1)))
    assert state.busy and state.trace is old and state.text == words(model, LONG + 1)
    # the trace still on screen holds only its current layer meanwhile (not two passes at once)
    assert old.computed("blocks.1.attn.pattern") is not None and old.computed("blocks.0.mlp_out") is None
    qtbot.waitUntil(lambda: not state.busy, timeout=5000)
    assert len(installed) == 1 and installed[0] is state.trace and state.trace.ids.shape == (LONG + 1,)
    assert state.trace.computed("blocks.1.attn.pattern") is not None and state.trace.computed("blocks.1.mlp_out") is not None
    main = threading.get_ident()
    assert threads and all(ident != main for ident in threads.values())
    assert any(m.startswith(f"Computing the forward pass for {LONG + 1:,} tokens") for m in messages)
    assert messages[-1] == f"Forward pass for {LONG + 1:,} tokens done"


def test_a_newer_keystroke_supersedes_the_pass_in_flight(qtbot):
    from ui.commands import SetTextCommand

    model, state = _long_state(qtbot)
    installed = []
    state.trace_changed.connect(lambda: installed.append(state.trace))
    for n in (LONG + 1, LONG + 2, LONG + 3):
        state.undo_stack.push(SetTextCommand(state, words(model, n)))
    qtbot.waitUntil(lambda: not state.busy, timeout=5000)
    qtbot.wait(50)  # any late result of an older pass would arrive now
    assert [t.ids.shape[0] for t in installed] == [LONG + 3]
    assert state.trace.text == state.text == words(model, LONG + 3)


def test_small_passes_stay_synchronous(qtbot):
    from ui.commands import SetTextCommand
    from ui.state import AppState

    model = gpt2_shaped()
    state = AppState(model, words(model, LONG))
    state.undo_stack.push(SetTextCommand(state, words(model, LONG + 1)))
    assert not state.busy and state.trace.ids.shape == (LONG + 1,)


def test_the_window_shows_progress_and_the_visible_bars_come_from_the_worker(make_main_window, qtbot, monkeypatch):
    import threading

    window = make_main_window()
    state, model = window.state, window.state.model
    state.background_cost = 0
    threads = _threads_of(model, monkeypatch)
    _type(window, state.text + " the")
    assert state.busy
    assert window.statusBar().currentMessage().startswith("Computing the forward pass")
    assert window.pass_progress.isVisible()
    qtbot.waitUntil(lambda: not state.busy, timeout=5000)
    assert not window.pass_progress.isVisible()
    main = threading.get_ident()
    assert threads.get("probs") not in (None, main)  # the toy's small probs stage, on the worker
    assert window.next_token.predictions()[0][1] > 0
    assert window.statusBar().currentMessage().startswith("Forward pass for")


# -- 4. the recovery copy is written in the background -------------------------------------------------
class _HeldWrites:
    """``save_session`` stand-in that records the writing thread and waits to be released
    (for two seconds at most, so a write on the GUI thread cannot hang the test)."""

    def __init__(self, monkeypatch) -> None:
        import threading

        import ui.recovery

        self.release = threading.Event()
        self.threads: list[int] = []
        self._save = ui.recovery.save_session
        monkeypatch.setattr(ui.recovery, "save_session", self)

    def __call__(self, path, session, extra=None):
        import threading

        self.threads.append(threading.get_ident())
        self.release.wait(2.0)
        self._save(path, session, extra=extra)


def _edit(window, value: float) -> None:
    from ui.commands import SetParamCommand

    state = window.state
    state.undo_stack.push(SetParamCommand(state, "blocks.0.attn.W_Q", np.float32(value), (0, 1, 2)))


def test_the_timed_recovery_copy_is_written_off_the_gui_thread_from_a_snapshot(make_main_window, qtbot, monkeypatch):
    import threading
    import time

    from ui.session_file import load_session

    window = make_main_window()
    recovery = window.recovery
    held = _HeldWrites(monkeypatch)
    _edit(window, 0.25)
    start = time.perf_counter()
    assert recovery.autosave_if_needed()
    assert time.perf_counter() - start < 0.5, "the GUI thread waited for the write"
    assert recovery.writing and held.threads and held.threads[0] != threading.get_ident()
    _edit(window, 0.75)  # an edit while the copy is written belongs to the next copy
    assert not recovery.autosave_if_needed(), "one write at a time"
    with qtbot.waitSignal(recovery.autosaved, timeout=3000):
        held.release.set()
    copy = load_session(recovery.file)
    assert float(copy.model.params["blocks.0.attn.W_Q"][0, 1, 2]) == 0.25
    assert recovery.autosave_if_needed()
    recovery.wait_for_writer()
    assert float(load_session(recovery.file).model.params["blocks.0.attn.W_Q"][0, 1, 2]) == 0.75


def test_a_copy_still_being_written_when_the_work_is_saved_does_not_come_back(make_main_window, qtbot, monkeypatch, tmp_path):
    window = make_main_window()
    recovery = window.recovery
    held = _HeldWrites(monkeypatch)
    _edit(window, 0.5)
    assert recovery.autosave_if_needed()
    assert window.sessions.save_as(tmp_path / "saved.npz")  # clean: the copy is discarded
    held.release.set()
    recovery.wait_for_writer()
    qtbot.wait(20)
    assert not recovery.file.exists()
