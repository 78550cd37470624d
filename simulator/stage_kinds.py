"""What each stage kind means, written once: where the navigator files it, which colour scale it
shares, how its equation is laid out on the canvas, and which explanation text describes it.

A stage's *kind* is its id without the block prefix (``blocks.0.attn.q`` has kind ``attn.q``).
Every kind the engine builds has a :class:`StageKind` here; :func:`stage_kind` raises
:class:`UnknownStageKindError` for any other, so a new kind without an entry fails loudly in a
test instead of being drawn with a made-up default.

The equation layout is a *template*: a sequence of :class:`Operand` s and operator strings. An
operand names its data by role, never by a constructed name: ``Operand(INPUT, 0)`` is the
stage's first ``spec.inputs`` entry, ``Operand(PARAM, 1)`` its second ``spec.params`` entry,
``Operand(RESULT)`` the stage itself. The UI (``ui.stage_layouts``) resolves the roles against the
graph, so inserting a stage between two others changes what is shown without touching a template.

This module is pure data (no Qt, no NumPy maths); kinds whose layout depends on the model or the
run options give a function of a :class:`LayoutContext` instead of a fixed tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

# -- operand roles ------------------------------------------------------------------------------
INPUT = "input"  # spec.inputs[index]
PARAM = "param"  # spec.params[index]
RESULT = "result"  # the stage itself
EACH_INPUT = "each_input"  # every entry of spec.inputs in turn, joined by "+"

# -- links: how a hovered result cell (r, c) maps to an operand's cells, in its own data layout ----
ROW = "row"  # the operand's row r
COL = "col"  # the operand's column c
CELL = "cell"  # the operand's cell (r, c)
ROW_ALL = "row_all"  # row r (a row-wise operation such as softmax or LayerNorm)
ROW_OF_COL = "row_of_col"  # the operand's row c (K's row for the key column of a score)
VEC = "vec"  # entry c of a vector
TOKEN_ROW_CELL = "token_row_cell"  # W_E[ids[r], c]
NONE = "none"
LINKS = frozenset({ROW, COL, CELL, ROW_ALL, ROW_OF_COL, VEC, TOKEN_ROW_CELL, NONE})

# -- navigator groups ---------------------------------------------------------------------------
EMBEDDING = "embedding"  # before the blocks
BLOCK = "block"  # directly under a block (residual stream, a post-LN norm)
ATTENTION = "attention"  # a block's attention part
MLP = "mlp"  # a block's MLP part
OUTPUT = "output"  # after the blocks
NAVIGATOR_GROUPS = frozenset({EMBEDDING, BLOCK, ATTENTION, MLP, OUTPUT})

#: colour groups: quantities in one group (and one scope, see ``ui.stage_layouts.LevelTable``)
#: share a colour scale; "prob" and "onehot" are fixed to 0..1
LEVEL_GROUPS = frozenset({"prob", "onehot", "scores", "scaled", "qk", "vz", "normed", "mlp", "logits", "stream"})

#: how activation functions are named in the canvas's operator text
ACTIVATION_NAMES = {"relu": "ReLU", "gelu": "GELU", "gelu_tanh": "GELU"}


class UnknownStageKindError(LookupError):
    """A stage kind with no entry in the registry: a programming error (the engine built a kind
    nobody described), not bad user input, so it is not a ``SimulatorError``."""


@dataclass(frozen=True)
class Operand:
    """One matrix of an equation template, named by its role in the stage's spec."""

    role: str
    index: int = 0
    link: str = NONE
    #: "{input}" is replaced by the title of the operand's stage
    title: str = ""
    by_head: bool = False
    transpose: bool = False
    #: a fixed head instead of the one on screen (the columns of a head sum)
    head: int | None = None
    #: "onehot": token ids drawn as one-hot rows; "mask": the causal mask itself
    special: str = ""


@dataclass(frozen=True)
class LayoutContext:
    """What a template may depend on besides the spec's own inputs and params."""

    n_inputs: int
    n_params: int
    causal: bool
    n_heads: int
    d_head: int
    act: str


Template = tuple[Operand | str, ...]
TemplateFn = Callable[[LayoutContext], Template]


@dataclass(frozen=True)
class StageKind:
    """Everything the UI needs to know about one kind of stage."""

    name: str
    #: one of :data:`NAVIGATOR_GROUPS`, or a mapping from ``ModelConfig.norm`` to one (a LayerNorm
    #: belongs to the part it feeds when it comes first, to the block itself when it comes last)
    navigator: str | Mapping[str, str]
    level_group: str
    template: Template | TemplateFn
    #: the file ``resources/explanations/<explanation>.md``
    explanation: str
    #: the text talks about the causal mask (the panel warns when the mask is off)
    about_mask: bool = False
    #: the stage's zeros where its masked input was −∞ are hatched like the −∞ they came from
    hatches_masked_input: bool = False

    def navigator_group(self, norm: str) -> str:
        """The navigator group for a model whose ``ModelConfig.norm`` is ``norm``."""
        if isinstance(self.navigator, str):
            return self.navigator
        return self.navigator[norm]

    def layout(self, context: LayoutContext) -> Template:
        """The equation template for one stage (roles still unresolved)."""
        return self.template(context) if callable(self.template) else self.template


_REGISTRY: dict[str, StageKind] = {}


def register(kind: StageKind) -> StageKind:
    """Add (or replace) a kind's entry; a group, role or link the UI does not know raises
    ``ValueError``."""
    if kind.level_group not in LEVEL_GROUPS:
        raise ValueError(f"stage kind {kind.name!r}: unknown colour group {kind.level_group!r}")
    groups = [kind.navigator] if isinstance(kind.navigator, str) else list(kind.navigator.values())
    for group in groups:
        if group not in NAVIGATOR_GROUPS:
            raise ValueError(f"stage kind {kind.name!r}: unknown navigator group {group!r}")
    if not callable(kind.template):
        _check_template(kind.name, kind.template)
    _REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind's entry (tests that add a throw-away kind)."""
    _REGISTRY.pop(name, None)


def stage_kind(name: str) -> StageKind:
    """The registry entry of a kind; an unknown kind raises :class:`UnknownStageKindError`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownStageKindError(
            f"unknown stage kind {name!r}: add a StageKind for it in simulator/stage_kinds.py "
            "(and an explanation in resources/explanations)"
        ) from None


def known_kinds() -> tuple[str, ...]:
    """Every registered kind, in registration order."""
    return tuple(_REGISTRY)


def _check_template(name: str, template: Template) -> None:
    for item in template:
        if isinstance(item, Operand):
            if item.role not in (INPUT, PARAM, RESULT, EACH_INPUT):
                raise ValueError(f"stage kind {name!r}: unknown operand role {item.role!r}")
            if item.link not in LINKS:
                raise ValueError(f"stage kind {name!r}: unknown link {item.link!r}")


# -- the kinds ----------------------------------------------------------------------------------
_RESULT = Operand(RESULT)
_NORM_BY_PLACEMENT = {"pre": ATTENTION, "post": BLOCK}


def _layernorm(context: LayoutContext) -> Template:
    each = Operand(EACH_INPUT, link=ROW_ALL if context.n_inputs == 1 else CELL, title="{input}")
    return (
        each,
        "normalise each {rows: row | columns: column}, then ×",
        Operand(PARAM, 0, link=VEC, title="w (gain)"),
        "+",
        Operand(PARAM, 1, link=VEC, title="b (bias)"),
        "=",
        _RESULT,
    )


def _residual_sum(context: LayoutContext) -> Template:
    if context.n_inputs < 2:
        return (_RESULT,)
    return (Operand(EACH_INPUT, link=CELL, title="{input}"), "=", _RESULT)


def _projection(m: str) -> Template:
    return (
        Operand(INPUT, 0, link=ROW, title="X ({input})"),
        "·",
        Operand(PARAM, 0, link=COL, title=f"W_{m}", by_head=True),
        "+",
        Operand(PARAM, 1, link=VEC, title=f"b_{m}", by_head=True),
        "=",
        _RESULT,
    )


def _positions(context: LayoutContext) -> Template:
    if not context.n_params:  # sinusoidal: computed, no table to show
        return (_RESULT,)
    return (Operand(PARAM, 0, link=CELL, title="W_pos (first rows)"), "→", _RESULT)


def _masked(context: LayoutContext) -> Template:
    scaled = Operand(INPUT, 0, link=CELL, title="Scaled scores", by_head=True)
    if not context.causal:
        return (scaled, "no mask →", _RESULT)
    return (scaled, "+", Operand(INPUT, 0, link=CELL, title="Causal mask", by_head=True, special="mask"), "=", _RESULT)


def _pattern(context: LayoutContext) -> Template:
    title = "Masked scores" if context.causal else "Scaled scores (nothing masked)"
    return (Operand(INPUT, 0, link=ROW_ALL, title=title, by_head=True), "softmax each {rows: row | columns: column} →", _RESULT)


def _head_sum(context: LayoutContext) -> Template:
    # every head's ΔE side by side fits for two heads; with more, the panels got too narrow to
    # read and pushed the sum off screen: the current head stands for the others ([ and ])
    n = context.n_heads
    terms: list[Operand | str] = []
    if n <= 2:
        for h in range(n):
            terms += [Operand(INPUT, 0, link=CELL, title=f"ΔE head {h}", head=h), "+"]
    else:
        terms = [Operand(INPUT, 0, link=CELL, title=f"ΔE of this head (1 of {n})", by_head=True), f"+ the other {n - 1} heads +"]
    return (*terms, Operand(PARAM, 0, link=VEC, title="b_O"), "=", _RESULT)


def _builtin() -> tuple[StageKind, ...]:
    return (
        StageKind("tokens", EMBEDDING, "onehot", (Operand(RESULT, special="onehot", title="Tokens as one-hot rows"),), "tokens"),
        StageKind(
            "embed", EMBEDDING, "stream",
            (
                Operand(INPUT, 0, link=ROW, title="Tokens (one-hot)", special="onehot"),
                "·",
                Operand(PARAM, 0, link=TOKEN_ROW_CELL, title="W_E (embedding matrix)"),
                "=",
                _RESULT,
            ),
            "embed",
        ),
        StageKind("pos_embed", EMBEDDING, "stream", _positions, "pos_embed"),
        StageKind("token_type_embed", EMBEDDING, "stream", (Operand(PARAM, 0, title="W_tt (segment table)"), "→", _RESULT), "token_type_embed"),
        StageKind("embed_ln", EMBEDDING, "normed", _layernorm, "embed_ln"),
        StageKind("resid_pre", BLOCK, "stream", _residual_sum, "resid_pre"),
        StageKind("ln1", _NORM_BY_PLACEMENT, "normed", _layernorm, "ln1"),
        StageKind("attn.q", ATTENTION, "qk", _projection("Q"), "attn.q"),
        StageKind("attn.k", ATTENTION, "qk", _projection("K"), "attn.k"),
        StageKind("attn.v", ATTENTION, "vz", _projection("V"), "attn.v"),
        StageKind(
            "attn.scores", ATTENTION, "scores",
            (
                Operand(INPUT, 0, link=ROW, title="Q", by_head=True),
                "·",
                Operand(INPUT, 1, link=ROW_OF_COL, title="Kᵀ", transpose=True, by_head=True),
                "=",
                _RESULT,
            ),
            "attn.scores",
        ),
        StageKind(
            "attn.scaled", ATTENTION, "scaled",
            lambda c: (Operand(INPUT, 0, link=CELL, title="Q·Kᵀ", by_head=True), f"÷ √{c.d_head} =", _RESULT),
            "attn.scaled",
        ),
        StageKind("attn.masked", ATTENTION, "scaled", _masked, "attn.masked", about_mask=True),
        StageKind("attn.pattern", ATTENTION, "prob", _pattern, "attn.pattern", about_mask=True, hatches_masked_input=True),
        StageKind(
            "attn.z", ATTENTION, "vz",
            (
                Operand(INPUT, 0, link=ROW, title="Attention pattern A", by_head=True),
                "·",
                Operand(INPUT, 1, link=COL, title="V", by_head=True),
                "=",
                _RESULT,
            ),
            "attn.z",
        ),
        StageKind(
            "attn.head_out", ATTENTION, "stream",
            (
                Operand(INPUT, 0, link=ROW, title="Z", by_head=True),
                "·",
                Operand(PARAM, 0, link=COL, title="W_O", by_head=True),
                "=",
                _RESULT,
            ),
            "attn.head_out",
        ),
        StageKind("attn_out", ATTENTION, "stream", _head_sum, "attn_out"),
        StageKind("resid_mid", BLOCK, "stream", _residual_sum, "resid_mid"),
        StageKind("ln2", {"pre": MLP, "post": BLOCK}, "normed", _layernorm, "ln2"),
        StageKind(
            "mlp.pre", MLP, "mlp",
            (
                Operand(INPUT, 0, link=ROW, title="X ({input})"),
                "·",
                Operand(PARAM, 0, link=COL, title="W_in (one column per neuron)"),
                "+",
                Operand(PARAM, 1, link=VEC, title="b_in"),
                "=",
                _RESULT,
            ),
            "mlp.pre",
        ),
        StageKind(
            "mlp.post", MLP, "mlp",
            lambda c: (Operand(INPUT, 0, link=CELL, title="Neuron inputs H"), f"{ACTIVATION_NAMES[c.act]} →", _RESULT),
            "mlp.post",
        ),
        StageKind(
            "mlp_out", MLP, "stream",
            (
                Operand(INPUT, 0, link=ROW, title="Neuron answers H'"),
                "·",
                Operand(PARAM, 0, link=COL, title="W_out (one row per neuron)"),
                "+",
                Operand(PARAM, 1, link=VEC, title="b_out"),
                "=",
                _RESULT,
            ),
            "mlp_out",
        ),
        StageKind("resid_post", BLOCK, "stream", _residual_sum, "resid_post"),
        # the stream of a model with no blocks: shown on its own, as before the registry
        StageKind("resid_final", OUTPUT, "stream", (_RESULT,), "resid_final"),
        StageKind("ln_final", OUTPUT, "normed", _layernorm, "ln_final"),
        StageKind(
            "logits", OUTPUT, "logits",
            (
                Operand(INPUT, 0, link=ROW, title="x ({input})"),
                "·",
                Operand(PARAM, 0, link=COL, title="W_U (unembedding)"),
                "+",
                Operand(PARAM, 1, link=VEC, title="b_U"),
                "=",
                _RESULT,
            ),
            "logits",
        ),
        StageKind("probs", OUTPUT, "prob", (Operand(INPUT, 0, link=ROW_ALL, title="Logits"), "softmax(÷ T) →", _RESULT), "probs"),
        StageKind("pooled", OUTPUT, "stream", (Operand(INPUT, 0, link=COL, title="{input}"), "mean over tokens →", _RESULT), "pooled"),
    )


for _kind in _builtin():
    register(_kind)
