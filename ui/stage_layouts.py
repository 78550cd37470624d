"""What the stage canvas shows for each stage: the result and its operands, as the equation reads.

A layout is a list of :class:`Term` s (matrices) and operator strings, e.g. for a query
projection ``[X, "·", W_Q[h], "+", b_Q[h], "=", Q[h]]``. Each term says where its data comes
from (a stage or a parameter of the current trace), whether it is sliced by the current head
or shown transposed, and which of its cells produced a hovered result cell (``link``).

In the "columns" layout (queries as columns, as in 3Blue1Brown's videos) every matrix is shown
transposed and the two factors of the product swap places, since (A·B)ᵀ = Bᵀ·Aᵀ.

Nothing here computes model maths: data comes from the trace; this module only selects,
slices and labels it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from simulator import analysis, ops, stage_kinds
from simulator.model import Model
from simulator.stages import StageSpec, param_axes
from simulator.trace import Trace
from ui import colors
from ui.math_html import choose_variants
from ui.panels.heatmap import Matrix, mask_extra, masked_cells

#: Vocabulary axes longer than this show only the most relevant tokens.
MAX_VOCAB_COLUMNS = 40
#: Position axes longer than this are still drawn in full; parameter rows beyond it are cut.
MAX_PARAM_ROWS = 64

# link kinds (how a result cell maps to an operand's cells) are defined with the stage kinds
ROW, COL, CELL, ROW_ALL, ROW_OF_COL, VEC, TOKEN_ROW_CELL, NONE = (
    stage_kinds.ROW, stage_kinds.COL, stage_kinds.CELL, stage_kinds.ROW_ALL, stage_kinds.ROW_OF_COL,
    stage_kinds.VEC, stage_kinds.TOKEN_ROW_CELL, stage_kinds.NONE,
)


@dataclass(frozen=True)
class Term:
    """One matrix of a layout."""

    source: str
    is_param: bool = False
    by_head: bool = False
    transpose: bool = False
    link: str = NONE
    title: str = ""
    #: for the columns of the attention head sum: a fixed head instead of the current one
    head: int | None = None
    #: "onehot": the tokens shown as one-hot rows; "mask": the causal mask itself
    special: str = ""


Layout = list  # list[Term | str]


def layout_for(model: Model, stage_id: str, causal: bool) -> Layout:
    """The equation layout of a stage, in rows-are-queries orientation: its kind's template from
    :mod:`simulator.stage_kinds`, with each operand read from the stage's own ``inputs`` and
    ``params`` in the graph (an unknown kind raises ``UnknownStageKindError``)."""
    spec = model.graph[stage_id]
    c = model.config
    context = stage_kinds.LayoutContext(len(spec.inputs), len(spec.params), bool(causal), c.n_heads, c.d_head, c.act)
    layout: Layout = []
    for item in stage_kinds.stage_kind(spec.kind).layout(context):
        if isinstance(item, str):
            layout.append(item)
        elif item.role == stage_kinds.EACH_INPUT:
            for i, source in enumerate(spec.inputs):
                if i:
                    layout.append("+")
                layout.append(_term(model, item, source))
        else:
            layout.append(_term(model, item, _operand_source(spec, item)))
    return layout


def shows_heads(model: Model, stage_id: str, causal: bool) -> bool:
    """True when the stage's equation shows one attention head at a time, or each head on its
    own (the head chooser applies)."""
    return any(isinstance(t, Term) and (t.by_head or t.head is not None) for t in layout_for(model, stage_id, causal))


def _operand_source(spec: StageSpec, operand: stage_kinds.Operand) -> str:
    """The stage or parameter name an operand of ``spec``'s template stands for."""
    if operand.role == stage_kinds.RESULT:
        return spec.id
    names = spec.inputs if operand.role == stage_kinds.INPUT else spec.params
    if operand.index >= len(names):
        raise stage_kinds.UnknownStageKindError(
            f"stage {spec.id!r} ({spec.kind}) has no {operand.role} {operand.index} for its equation template"
        )
    return names[operand.index]


def _term(model: Model, operand: stage_kinds.Operand, source: str) -> Term:
    """A canvas term for one resolved operand."""
    if operand.role == stage_kinds.RESULT:
        spec = model.graph[source]
        return Term(source, by_head=spec.has_heads, title=operand.title or spec.title, special=operand.special)
    is_param = operand.role == stage_kinds.PARAM
    title = operand.title
    if "{input}" in title:
        title = title.replace("{input}", model.graph[source].title)
    return Term(
        source, is_param=is_param, by_head=operand.by_head, transpose=operand.transpose, link=operand.link,
        title=title, head=operand.head, special=operand.special,
    )


def oriented(layout: Layout, columns: bool) -> Layout:
    """The layout for the chosen convention: in columns mode, transpose and swap the factors.
    Operator words written with layout variants ("softmax each {rows: row | columns: column}")
    are worded for the chosen convention too."""
    chosen = {"columns" if columns else "rows"}
    words = [choose_variants(t, chosen) if isinstance(t, str) else t for t in layout]
    if not columns:
        return words
    items = [replace(t, transpose=not t.transpose) if isinstance(t, Term) else t for t in words]
    if "·" in items:
        i = items.index("·")
        items[i - 1], items[i + 1] = items[i + 1], items[i - 1]
    return items


# -- data ----------------------------------------------------------------------------------------


#: next-token probability maps whose largest entry is below this are drawn on 0..(that entry, rounded up)
PROBABILITY_ZOOM_BELOW = 0.5
#: the colour scale reaches at most this many times the median non-zero magnitude of its group
BULK_FACTOR = 4.0
#: at most about this many values of each array are looked at for that median
BULK_SAMPLE = 65536


def level_group(kind: str) -> str:
    """Quantities that share a colour scale (the kind's colour group in the registry)."""
    return stage_kinds.stage_kind(kind).level_group


class LevelTable:
    """Colour levels per group of quantities for one trace, computed once and reused.

    Levels are symmetric around 0 (rounded up to 1, 2 or 5 × 10ᵏ), come from the bulk of the
    values (:func:`bulk_peak`: outliers are drawn saturated and marked), and are shared by every
    stage of a group within a scope, so a colour means the same value from step to step: one layer for
    residual-stream, LayerNorm and MLP quantities; one head of one layer for queries and keys,
    values and weighted values, and scores (a head whose scores reach 40 is not drawn on the
    ±200 scale of another head); the embedding stages together with W_E and W_pos, so a copied
    row has the colours of the weights it was copied from. Probabilities are always 0..1.
    """

    #: groups scaled per attention head
    PER_HEAD = ("qk", "vz", "scores", "scaled")
    #: weights whose rows the embedding stages copy: they share the embedding stages' scale
    EMBEDDING_PARAMS = ("embed.W_E", "pos_embed.W_pos")

    def __init__(self, trace: Trace, reference: Trace | None = None) -> None:
        """``reference``: the trace before the last weight edit (or before a whole scrub). Its
        stages already computed widen the scales, so an edit does not recolour matrices whose
        numbers did not change, and a downstream change is seen against the old colours. It is
        ignored unless it ran the same model on the same tokens with the same options."""
        self._trace = trace
        self._cache: dict[tuple, tuple[float, float]] = {}
        same_input = (
            reference is not None
            and reference.model is trace.model
            and np.array_equal(reference.ids, trace.ids)
            and reference.options == trace.options
        )
        self._reference = reference if same_input else None

    def for_stage(self, stage_id: str, head: int | None = None) -> tuple[float, float]:
        """Levels for a stage (``head``: which head's slice is shown, for per-head stages)."""
        model = self._trace.model
        spec = model.graph[stage_id]
        group = level_group(spec.kind)
        if spec.kind == "probs":
            return probability_levels(self._trace[stage_id])
        if group in ("prob", "onehot"):
            return (0.0, 1.0)
        per_head = group in self.PER_HEAD and spec.has_heads and head is not None
        key = (group, spec.block, head if per_head else None)
        if key not in self._cache:
            pooled = []
            for sid, other in model.graph.items():
                if level_group(other.kind) != group or other.block != spec.block:
                    continue
                for values in (self._trace[sid], self._reference.computed(sid) if self._reference else None):
                    if values is not None:
                        pooled.append(values[head] if per_head and other.has_heads else values)
            if group == "stream" and spec.block is None:
                pooled.extend(self._trace.param(name) for name in self.EMBEDDING_PARAMS if name in model.params)
            self._cache[key] = symmetric(bulk_peak(pooled))
        return self._cache[key]

    def for_param(self, name: str) -> tuple[float, float]:
        """Levels for a weight tensor: its own largest value, except W_E and W_pos (see above)."""
        if name in self.EMBEDDING_PARAMS and "embed" in self._trace.model.graph:
            return self.for_stage("embed")
        key = (name, -1)
        if key not in self._cache:
            self._cache[key] = symmetric(bulk_peak([self._trace.param(name)]))
        return self._cache[key]


def bulk_peak(arrays: list[np.ndarray]) -> float:
    """The magnitude the colour scale reaches: the largest finite |value|, but at most
    :data:`BULK_FACTOR` times the median of the non-zero ones, so one outlier (a typed 1e308, an
    attention sink's 84.85, a few massive activations) does not wash out everything else; cells
    beyond are drawn saturated and marked (see ``ui.panels.heatmap.beyond_scale``)."""
    samples = []
    for arr in arrays:
        flat = np.abs(np.asarray(arr, dtype=np.float64).ravel())
        if flat.size > BULK_SAMPLE:  # an even sample is plenty for a median
            flat = flat[:: flat.size // BULK_SAMPLE + 1]
        samples.append(flat[np.isfinite(flat) & (flat > 0)])
    values = np.concatenate(samples) if samples else np.zeros(0)
    if not values.size:
        return 0.0
    return float(min(values.max(), BULK_FACTOR * np.median(values)))


def probability_levels(probs: np.ndarray) -> tuple[float, float]:
    """0..1, unless no probability reaches PROBABILITY_ZOOM_BELOW: then 0 to the next "nice"
    number above the largest, so a top prediction of 15 % is not a pale cell on an empty map
    (the colour bar says which scale is used)."""
    finite = np.asarray(probs, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    peak = float(finite.max()) if finite.size else 1.0
    if peak >= PROBABILITY_ZOOM_BELOW or peak <= 0:
        return (0.0, 1.0)
    return (0.0, symmetric(peak)[1])


def symmetric(peak: float) -> tuple[float, float]:
    """(−L, L) with L the next "nice" number ≥ peak (1, 2 or 5 × 10ᵏ)."""
    if not math.isfinite(peak) or peak <= 0:
        return (-1.0, 1.0)
    exp = math.floor(math.log10(peak))
    for mult in (1, 2, 5, 10):
        nice = mult * 10.0**exp
        if nice >= peak * (1 - 1e-9):
            return (-nice, nice)
    return (-peak, peak)


def token_labels(trace: Trace) -> tuple[str, ...]:
    return trace.token_labels


def vocab_selection(trace: Trace) -> tuple[int, ...] | None:
    """Vocabulary ids to show on a vocab axis: all of them when few, else the top predictions."""
    vocab = trace.model.config.vocab_size
    if vocab <= MAX_VOCAB_COLUMNS * 2 or "logits" not in trace:
        return None
    return tuple(int(i) for i, _ in analysis.top_k(trace["logits"][-1], MAX_VOCAB_COLUMNS))


def term_matrix(term: Term, trace: Trace, head: int, levels: LevelTable, columns: bool) -> Matrix:
    """Build the :class:`Matrix` a heatmap shows for one term."""
    model = trace.model
    tokens = token_labels(trace)
    h = term.head if term.head is not None else head
    if term.special == "onehot":
        ids = trace.ids
        vocab_ids = _onehot_columns(trace)
        data = ops.one_hot(ids, vocab_ids)
        names = model.axis_labels("vocab", None, model.config.vocab_size)  # "#id" for padded rows
        cols = tuple(names[i] for i in vocab_ids)
        note = "" if len(vocab_ids) == model.config.vocab_size else f"{len(vocab_ids)} of {model.config.vocab_size} words shown"
        return _orient(
            Matrix(data, tokens, cols, "token", "vocabulary", term.title, (0.0, 1.0), colors.SEQUENTIAL, "tokens", col_index=vocab_ids, note=note),
            term,
        )
    if term.is_param:
        return _param_matrix(term, trace, h, levels, columns)
    spec = model.graph[term.source]
    data = trace[term.source]
    axes = spec.axes
    prefix: tuple[int, ...] = ()
    if term.by_head or term.head is not None:
        data = data[h]
        axes = axes[1:]
        prefix = (h,)
    lv = levels.for_stage(term.source, h if prefix else None)
    kind = colors.SEQUENTIAL if level_group(spec.kind) == "prob" else colors.DIVERGING
    if term.special == "mask":
        data = np.where(ops.causal_mask(data.shape[0]), -np.inf, 0.0)
    labels = [_axis_labels(trace, a, spec.layer, n, tokens) for a, n in zip(axes, data.shape)]
    col_index = None
    if len(axes) == 2 and axes[1] == "vocab":
        col_index = vocab_selection(trace)
        if col_index is not None:
            data = data[:, list(col_index)]
            labels[1] = tuple(labels[1][i] for i in col_index)
    title = term.title + (f" · head {h}" if prefix and term.head is None else "")
    extra = {}
    masked_source = _masked_scores_of(trace, spec) if stage_kinds.stage_kind(spec.kind).hatches_masked_input else None
    if masked_source is not None:  # the weights of keys the mask hid: hatched, like the −∞ they came from
        hidden = np.isneginf(masked_source[h] if prefix else masked_source)
        if hidden.shape == data.shape:
            hidden &= data == 0  # (a row whose scores all overflowed to −∞ is spread evenly: not masked)
            if hidden.any():
                extra["masked"] = mask_extra(hidden)
    if len(axes) == 1:
        matrix = Matrix(
            data[None, :], ("",), labels[0], "", axes[0], title, lv, kind, term.source, prefix=prefix, extra={"vector": True}
        )
    else:
        note = f"top {len(col_index)} of {model.config.vocab_size} tokens" if col_index else ""
        matrix = Matrix(
            data, labels[0], labels[1], _axis_name(axes[0]), _axis_name(axes[1], predicted=True), title, lv, kind, term.source,
            col_index=col_index, prefix=prefix, note=note, extra=extra,
        )
    return _orient(matrix, term)


def _masked_scores_of(trace: Trace, spec: StageSpec) -> np.ndarray | None:
    """The masked scores a pattern stage was computed from (its input that the mask is about),
    if the trace has them."""
    for source in spec.inputs:
        if stage_kinds.stage_kind(trace.model.graph[source].kind).about_mask:
            return trace[source]
    return None


def _param_matrix(term: Term, trace: Trace, h: int, levels: LevelTable, columns: bool) -> Matrix:
    model = trace.model
    name = term.source
    data = trace.param(name)
    axes = param_axes(name)
    prefix: tuple[int, ...] = ()
    if axes[0] == "head":
        data = data[h]
        axes = axes[1:]
        prefix = (h,)
    layer = model.param_layer(name)
    tokens = token_labels(trace)
    lv = levels.for_param(name)
    title = term.title + (f" · head {h}" if prefix else "")
    if len(axes) == 1:
        labels = _axis_labels(trace, axes[0], layer, data.shape[0], tokens)
        col_index = vocab_selection(trace) if axes[0] == "vocab" else None
        if col_index is not None:
            data = data[list(col_index)]
            labels = tuple(labels[i] for i in col_index)
        return _orient(
            Matrix(data[None, :], ("",), labels, "", axes[0], title, lv, colors.DIVERGING, name,
                   col_index=col_index, prefix=prefix, editable=True, extra={"vector": True}),
            term,
        )
    row_index = col_index = None
    note = ""
    if axes[0] == "vocab":
        if model.config.vocab_size > MAX_VOCAB_COLUMNS * 2:
            row_index = tuple(sorted(set(int(i) for i in trace.ids)))
            note = f"rows of the {len(row_index)} words in the sentence"
    elif axes[0] == "pos":
        row_index = tuple(range(min(len(tokens), data.shape[0])))
        note = f"first {len(row_index)} of {data.shape[0]} positions"
    if axes[1] == "vocab":
        col_index = vocab_selection(trace)
        if col_index is not None:
            note = f"columns of the top {len(col_index)} predictions"
    shown = data
    if row_index is not None:
        shown = shown[list(row_index)]
    if col_index is not None:
        shown = shown[:, list(col_index)]
    row_labels = _axis_labels(trace, axes[0], layer, data.shape[0], tokens)
    col_labels = _axis_labels(trace, axes[1], layer, data.shape[1], tokens)
    if axes[0] == "pos":
        row_labels = tuple(f"pos {i}" for i in range(data.shape[0]))
    if row_index is not None:
        row_labels = tuple(row_labels[i] for i in row_index)
    if col_index is not None:
        col_labels = tuple(col_labels[i] for i in col_index)
    matrix = Matrix(
        shown, row_labels, col_labels, _axis_name(axes[0]), _axis_name(axes[1], predicted=True), title, lv, colors.DIVERGING, name,
        row_index=row_index, col_index=col_index, prefix=prefix, note=note, editable=True,
    )
    return _orient(matrix, term)


def _orient(matrix: Matrix, term: Term) -> Matrix:
    if not term.transpose:
        return matrix
    extra = matrix.extra
    hidden = masked_cells(matrix)
    if hidden is not None:
        extra = {**extra, "masked": mask_extra(hidden.T)}
    return replace(
        matrix,
        extra=extra,
        data=matrix.data.T,
        row_labels=matrix.col_labels,
        col_labels=matrix.row_labels,
        row_axis=matrix.col_axis,
        col_axis=matrix.row_axis,
        row_index=matrix.col_index,
        col_index=matrix.row_index,
        transposed=True,
    )


def _onehot_columns(trace: Trace) -> tuple[int, ...]:
    vocab = trace.model.config.vocab_size
    if vocab <= MAX_VOCAB_COLUMNS * 2:
        return tuple(range(vocab))
    return tuple(sorted(set(int(i) for i in trace.ids)))


def _axis_labels(trace: Trace, axis: str, layer: int | None, size: int, tokens: tuple[str, ...]) -> tuple[str, ...]:
    if axis in ("pos", "query_pos", "key_pos"):
        return tokens[:size]
    return trace.model.axis_labels(axis, layer, size)


def _axis_name(axis: str, predicted: bool = False) -> str:
    """A reader's name for an axis; a vocabulary axis in columns lists candidate next words."""
    if axis == "vocab":
        return "next word" if predicted else "word"
    return {"pos": "token", "query_pos": "query", "key_pos": "key", "d_mlp": "neuron", "token_type": "segment"}.get(axis, axis)


def linked_cells(term: Term, matrix: Matrix, result_index: tuple[int, ...], ids: np.ndarray) -> list[tuple[str, int, int]]:
    """Which cells of an operand produced the hovered result cell, in the operand's display.

    ``result_index`` is the hovered cell as (row, col) of the result's data layout (head removed).
    """
    if len(result_index) == 1:
        r, c = 0, result_index[0]
    else:
        r, c = result_index[0], result_index[1]
    link = term.link
    if link == NONE:
        return []
    if link == VEC:
        targets = [("col", 0, c)]
    elif link == ROW or link == ROW_ALL:
        targets = [("row", r, 0)]
    elif link == COL:
        targets = [("col", 0, c)]
    elif link == ROW_OF_COL:
        targets = [("row", c, 0)]
    elif link == CELL:
        targets = [("cell", r, c)]
    elif link == TOKEN_ROW_CELL:
        targets = [("cell", int(ids[r]), c)]
    else:
        return []
    return [_to_display(t, matrix) for t in targets if _to_display(t, matrix) is not None]  # type: ignore[misc]


def _to_display(target: tuple[str, int, int], matrix: Matrix) -> tuple[str, int, int] | None:
    """Map a (kind, source row, source col) target to display coordinates of ``matrix``."""
    kind, r, c = target
    if matrix.extra.get("vector"):
        col = _position(matrix.col_index if not matrix.transposed else matrix.row_index, c)
        if col is None:
            return None
        return ("cell", col, 0) if matrix.transposed else ("cell", 0, col)
    rows_index, cols_index = (matrix.row_index, matrix.col_index)
    if matrix.transposed:
        rows_index, cols_index = cols_index, rows_index
    sr = _position(rows_index, r) if kind in ("row", "cell") else 0
    sc = _position(cols_index, c) if kind in ("col", "cell") else 0
    if sr is None or sc is None:
        return None
    if matrix.transposed:
        flipped = {"row": "col", "col": "row", "cell": "cell"}[kind]
        return (flipped, sc, sr)
    return (kind, sr, sc)


def _position(index: tuple[int, ...] | None, value: int) -> int | None:
    if index is None:
        return value
    try:
        return index.index(value)
    except ValueError:
        return None
