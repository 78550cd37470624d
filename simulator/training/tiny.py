"""The recipe of the ``tiny-trained`` preset: corpus, model size, training settings and report.

:func:`retrain` (run by ``python -m simulator.training``) generates the corpus from
``resources/corpus/grammar.json``, trains a 2-layer, 4-head, 32-dimensional model on it from a
fixed seed, measures it on held-out sentences, names the attention heads after what they
learned to look at, and saves everything (weights, vocabulary, head names, description and
per-stage notes) to ``resources/presets/tiny-trained.npz``.

Training sequences: sentences are shuffled (seeded) into one stream, and each training window
of ``n_ctx + 1`` tokens starts at a sentence start and runs on into the next sentences. There
is no beginning-of-sequence token: a window begins exactly as a sentence typed into the app
does, at position 0, and the full stop that ends every sentence is followed by the next one.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from resources import RESOURCES_DIR
from simulator.config import ModelConfig
from simulator.corpus import ROLES, Corpus, build_corpus
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.model_file import save_model
from simulator.training.analysis import Accuracy, baseline_accuracies, head_scores, next_token_accuracy, role_attention
from simulator.training.backprop import forward
from simulator.training.data import group_by_length, pack_windows
from simulator.training.optim import AdamSettings
from simulator.training.trainer import StepReport, Trainer, TrainSettings

NAME = "tiny-trained"
WEIGHTS_PATH = RESOURCES_DIR / "presets" / "tiny-trained.npz"

CORPUS_SEED = 0
N_TRAIN = 8000
N_HELD_OUT = 1000
#: seeds the order in which training sentences are packed into windows
ORDER_SEED = 1

SETTINGS = TrainSettings(
    steps=2000,
    batch_size=32,
    lr=5e-3,
    warmup=100,
    final_lr_ratio=0.1,
    adam=AdamSettings(weight_decay=0.1, clip_norm=1.0),
    seed=0,
    embed_std=0.5,
)

#: a head is named after a behaviour when at least this share of its attention follows it
NAMING_THRESHOLD = 0.5

SUGGESTED = (
    "the cat walks by the bank to find fish",
    "the mole digs in the hole to find worms",
    "a fluffy blue creature sits on the mat.",
    "a fluffy cat walks by the river. the fluffy cat",
    "the cat and the dog walk to the river",
    "an old owl perches on the tree to find seeds",
)


def model_config(vocab_size: int) -> ModelConfig:
    """GPT-2 in miniature: pre-LN, learned positions, GELU (tanh), causal, float32."""
    return ModelConfig(
        d_model=32, n_heads=4, d_head=8, n_layers=2, d_mlp=128, vocab_size=vocab_size, n_ctx=24,
        act="gelu_tanh", norm="pre", ln_eps=1e-5, positional="learned", causal=True, scale_scores=True,
        dtype="float32",
    )


@lru_cache(maxsize=1)
def tiny_corpus() -> Corpus:
    """The preset's corpus (immutable, so it is built once per process)."""
    return build_corpus(N_TRAIN, N_HELD_OUT, CORPUS_SEED)


def training_windows(corpus: Corpus, n_ctx: int, seed: int = ORDER_SEED) -> np.ndarray:
    """Training sentences in a seeded random order, packed into windows of ``n_ctx + 1`` tokens."""
    order = np.random.default_rng(seed).permutation(len(corpus.train))
    return pack_windows([corpus.encode(corpus.train[int(i)]) for i in order], n_ctx)


# -- what heads look at ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Behaviour:
    """Something an attention head can do that a student can read off its pattern."""

    label: str  # short, for the head axis
    text: str  # one sentence for the description and notes
    query_role: str = ""  # for role behaviours: attention from words of this role ...
    key_role: str = ""  # ... to words of this role


PREVIOUS = Behaviour("previous word", "it looks at the word just before the current one")
START = Behaviour("sentence start", "it looks back at the first word of the text")
ROLE_BEHAVIOURS = (
    Behaviour("find → subject", "at 'find' it looks back at the subject, which decides what is found (a cat finds fish, a mole worms)", "find", "subject"),
    Behaviour("is → subject", "at 'is' it looks back at the subject, whose kind decides which adjectives fit", "is", "subject"),
    Behaviour("verb → subject", "at the verb it looks back at the subject", "verb", "subject"),
    Behaviour("prep → verb", "at a preposition it looks back at the verb, which decides the kind of place (swims → in the river)", "prep", "verb"),
    Behaviour("to → verb", "at 'to' it looks back at the verb, to tell 'walks to the river' from 'to find'", "to", "verb"),
    Behaviour("place → prep", "at a place word it looks back at its preposition", "place", "prep"),
    Behaviour("the → prep", "at a determiner it looks at the preposition before it: a place comes next, not an animal", "det", "prep"),
    Behaviour("goal → find", "at the thing found it looks back at 'find'", "goal", "find"),
    Behaviour("noun → det", "at a noun it looks back at its determiner", "subject", "det"),
)


@dataclass(frozen=True)
class HeadFinding:
    """The readable behaviour of one head (``None`` if nothing reaches the threshold)."""

    layer: int
    head: int
    behaviour: Behaviour | None
    score: float  # share of attention following the behaviour (the best candidate's, if unnamed)
    previous: float  # average attention on the previous token (queries at position ≥ 2)
    start: float  # average attention on position 0 (queries at position ≥ 2)

    @property
    def label(self) -> str:
        return f"head {self.head}: {self.behaviour.label}" if self.behaviour else f"head {self.head}"


def find_head_behaviours(weights: Mapping[str, np.ndarray], config: ModelConfig, corpus: Corpus) -> tuple[HeadFinding, ...]:
    """Name each head after the candidate behaviour that best describes its held-out attention."""
    sequences = [corpus.encode(s) for s in corpus.held_out]
    positional = head_scores(weights, config, sequences)
    by_role = role_attention(weights, config, sequences, [s.roles for s in corpus.held_out], ROLES)
    findings = []
    for layer in range(config.n_layers):
        for head in range(config.n_heads):
            scored = [
                (float(positional.previous[layer, head]), PREVIOUS),
                (float(positional.start[layer, head]), START),
                *(
                    (float(by_role[layer, head, ROLES.index(b.query_role), ROLES.index(b.key_role)]), b)
                    for b in ROLE_BEHAVIOURS
                ),
            ]
            score, behaviour = max(scored, key=lambda item: item[0])
            findings.append(
                HeadFinding(
                    layer, head, behaviour if score >= NAMING_THRESHOLD else None, score,
                    float(positional.previous[layer, head]), float(positional.start[layer, head]),
                )
            )
    return tuple(findings)


def head_labels(findings: tuple[HeadFinding, ...], config: ModelConfig) -> ModelLabels:
    table = [[f"head {h}" for h in range(config.n_heads)] for _ in range(config.n_layers)]
    for f in findings:
        table[f.layer][f.head] = f.label
    return ModelLabels(heads=tuple(tuple(row) for row in table))


# -- measuring -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    """How training went and what the model learned, as written into the preset's description."""

    steps: int
    seconds: float
    final_loss: float
    n_params: int
    held_out: Accuracy
    train: Accuracy
    baselines: dict[str, float]
    #: accuracy at predicting the thing after "find", model vs. the bigram baseline
    goal_accuracy: tuple[float, float]
    findings: tuple[HeadFinding, ...]

    def summary(self) -> str:
        """A few lines for the terminal."""
        b = self.baselines
        lines = [
            f"trained {self.steps} steps in {self.seconds:.1f} s (final batch loss {self.final_loss:.3f})",
            f"held-out top-1 next-token accuracy {self.held_out.value:.1%} over {self.held_out.total} predictions "
            f"(training sentences {self.train.value:.1%})",
            f"baselines: bigram {b['bigram']:.1%}, most frequent token {b['unigram']:.1%}, chance {b['chance']:.2%}",
            f"after 'find': model {self.goal_accuracy[0]:.1%}, bigram {self.goal_accuracy[1]:.1%}",
        ]
        for f in self.findings:
            what = f"{f.behaviour.label} ({f.score:.2f})" if f.behaviour else f"no single behaviour (best {f.score:.2f})"
            lines.append(f"  layer {f.layer} head {f.head}: {what}; previous word {f.previous:.2f}, start {f.start:.2f}")
        return "\n".join(lines)


def goal_accuracy(params: Mapping[str, np.ndarray], config: ModelConfig, corpus: Corpus) -> tuple[float, float]:
    """How often the word after 'find' is predicted right, by the model and by the bigram baseline."""
    find_id = corpus.vocab.index("find")
    followers: Counter[int] = Counter()
    for s in corpus.train:
        ids = corpus.encode(s)
        followers.update(int(ids[i + 1]) for i in np.flatnonzero(ids[:-1] == find_id))
    bigram_guess = followers.most_common(1)[0][0] if followers else -1
    hits = bigram_hits = total = 0
    for batch in group_by_length([corpus.encode(s) for s in corpus.held_out]).values():
        rows, cols = np.nonzero(batch[:, :-1] == find_id)
        if rows.size == 0:
            continue
        predicted = forward(params, config, batch[:, :-1]).logits.argmax(axis=-1)
        truth = batch[rows, cols + 1]
        hits += int((predicted[rows, cols] == truth).sum())
        bigram_hits += int((truth == bigram_guess).sum())
        total += rows.size
    return (hits / total, bigram_hits / total) if total else (0.0, 0.0)


def measure(params: Mapping[str, np.ndarray], config: ModelConfig, corpus: Corpus, steps: int, seconds: float, final_loss: float) -> Report:
    held = [corpus.encode(s) for s in corpus.held_out]
    train = [corpus.encode(s) for s in corpus.train]
    return Report(
        steps=steps,
        seconds=seconds,
        final_loss=final_loss,
        n_params=int(sum(v.size for v in params.values())),
        held_out=next_token_accuracy(params, config, held),
        train=next_token_accuracy(params, config, train[: len(held)]),
        baselines=baseline_accuracies(train, held, config.vocab_size),
        goal_accuracy=goal_accuracy(params, config, corpus),
        findings=find_head_behaviours(params, config, corpus),
    )


# -- what the learner reads ------------------------------------------------------------------------------
def describe(report: Report, config: ModelConfig) -> ModelInfo:
    """Title, description, suggestions and per-stage notes, with the measured numbers."""
    b = report.baselines
    named = sorted((f for f in report.findings if f.behaviour), key=lambda f: -f.score)
    best_prev = max(report.findings, key=lambda f: f.previous)
    heads_text = " ".join(_behaviour_sentence(behaviour, group) for behaviour, group in _by_behaviour(named).items())
    prev_text = (
        f"Layer {best_prev.layer} head {best_prev.head} is a previous-word head ({best_prev.previous:.0%} on the word before)."
        if best_prev.behaviour is PREVIOUS
        else f"No head became a clean previous-word head: the closest, layer {best_prev.layer} head {best_prev.head}, "
        f"puts {best_prev.previous:.0%} of its attention on the word before, because in this grammar a word's role "
        f"(preposition, verb, subject) tells more than its position."
    )
    description = (
        f"A {config.n_layers}-layer, {config.n_heads}-head, {config.d_model}-dimensional transformer "
        f"({report.n_params:,} numbers) that nobody designed: it was trained from random weights, in NumPy, "
        f"to predict the next word of {N_TRAIN:,} sentences generated from a small English grammar "
        f"(resources/corpus/grammar.json, {config.vocab_size} words), for {report.steps:,} Adam steps. "
        f"On {N_HELD_OUT:,} held-out sentences it guesses the next word right {report.held_out.value:.1%} of the time "
        f"(top-1 over {report.held_out.total:,} predictions). For comparison: always guessing the most frequent word "
        f"scores {b['unigram']:.1%}, guessing from the current word alone (the best bigram table) {b['bigram']:.1%}, "
        f"and chance {b['chance']:.2%}. Much of the text is a free choice among many words, so no model gets near 100%; "
        f"the gain is where context decides: after 'find' it names the right thing {report.goal_accuracy[0]:.0%} "
        f"of the time, against {report.goal_accuracy[1]:.0%} for the bigram table. "
        f"Heads with a readable job: {heads_text or 'none reached the naming threshold.'} {prev_text} "
        f"Dimensions and MLP neurons have no names: they mean whatever training made them mean."
    )
    return ModelInfo(
        name=NAME,
        title="Tiny trained (learned by itself)",
        description=description,
        suggested=SUGGESTED,
        notes=stage_notes(named, config),
        source="preset:tiny-trained (python -m simulator.training)",
    )


def _by_behaviour(findings: list[HeadFinding]) -> dict[Behaviour, list[HeadFinding]]:
    groups: dict[Behaviour, list[HeadFinding]] = {}
    for f in findings:
        if f.behaviour is not None:
            groups.setdefault(f.behaviour, []).append(f)
    return groups


def _behaviour_sentence(behaviour: Behaviour, group: list[HeadFinding]) -> str:
    which = " and ".join(f"layer {f.layer} head {f.head}" for f in group)
    shares = " and ".join(f"{f.score:.0%}" for f in group)
    whose = "its" if len(group) == 1 else "their"
    return f"{which[0].upper()}{which[1:]} ({behaviour.label}, {shares} of {whose} attention): {behaviour.text}."


def stage_notes(named: list[HeadFinding], config: ModelConfig) -> dict[str, str]:
    """A short "what to look for" per stage kind, pointing at the heads training produced."""
    find_head = next((f for f in named if f.behaviour and f.behaviour.query_role == "find"), None)
    star = named[0] if named else None
    star_text = f"layer {star.layer} head {star.head} ({star.behaviour.label})" if star and star.behaviour else "the layer-1 heads"
    find_text = (
        f"layer {find_head.layer} head {find_head.head}" if find_head else "the layer-1 heads"
    )
    return {
        "tokens": f"One token per word from a {config.vocab_size}-word vocabulary; words the grammar never uses become <unk>.",
        "embed": "Learned word vectors: no dimension has a name, but words used alike (cat, dog, rabbit) got similar rows.",
        "pos_embed": "Learned position vectors; position 0 is special because every training sentence starts there.",
        "resid_pre": "Word plus position in block 0; in block 1, everything block 0 added.",
        "ln1": "Each row rescaled to mean 0 and spread 1, then multiplied by learned gains: a few dimensions get louder.",
        "attn.q": f"What each word is looking for. In {find_text}, the row of 'find' matches the keys of animal and person nouns.",
        "attn.k": "What each word offers to queries: nouns, verbs and prepositions answer different questions.",
        "attn.v": "What each word passes on when it is looked at.",
        "attn.scores": f"Raw matches of queries and keys; in {find_text} the 'find' row peaks at the subject noun.",
        "attn.scaled": f"The same scores divided by √{config.d_head}: every score shrinks, the ranking stays.",
        "attn.masked": "Later words are −∞: the model learned to predict the next word, so it may never look ahead.",
        "attn.pattern": f"Each row sums to 1. Look at {star_text}: its rows are sharp where the grammar needs context, blurry elsewhere.",
        "attn.z": f"Values mixed by the pattern: at 'find' in {find_text} this is almost the subject's own value.",
        "attn.head_out": "Each head's delta in the residual stream's 32 unnamed dimensions.",
        "attn_out": "All heads' deltas added together (plus a bias).",
        "resid_mid": "The stream after attention: a word's vector now also carries context (at 'find': who is looking).",
        "ln2": "Normalised again before the MLP.",
        "mlp.pre": f"{config.d_mlp} neurons' inputs. Nobody named them: compare which neurons fire for nouns and for verbs.",
        "mlp.post": "GELU (tanh): negative inputs are squashed to about zero, positive ones pass.",
        "mlp_out": "What the MLP adds back to the stream.",
        "resid_post": "The stream after the whole block; block 1 reads this.",
        "ln_final": "One last normalisation before the words are scored.",
        "logits": "A score for every word. After 'the cat walks by the bank to find', things cats look for score highest.",
        "probs": "Softmax of the logits: after 'find' the probability goes to what the subject looks for; after a verb, to prepositions and '.'.",
    }


# -- training --------------------------------------------------------------------------------------------
def train(
    settings: TrainSettings = SETTINGS,
    progress: Callable[[StepReport], None] | None = None,
    corpus: Corpus | None = None,
) -> tuple[Model, Report]:
    """Train the preset from scratch; return the model (with labels and description) and its report."""
    corpus = corpus or tiny_corpus()
    config = model_config(len(corpus.vocab))
    trainer = Trainer(config, training_windows(corpus, config.n_ctx), settings)
    if progress is not None:
        trainer.add_callback(progress)
    start = time.perf_counter()
    trainer.run()
    seconds = time.perf_counter() - start
    final_loss = float(np.mean(trainer.history[-50:])) if trainer.history else float("nan")
    report = measure(trainer.parameters(), config, corpus, trainer.step_count, seconds, final_loss)
    model = trainer.to_model(corpus.tokenizer(), head_labels(report.findings, config), describe(report, config))
    return model, report


def retrain(
    path: str | Path = WEIGHTS_PATH,
    settings: TrainSettings = SETTINGS,
    progress: Callable[[StepReport], None] | None = None,
) -> Report:
    """Train and save the preset's weights file."""
    model, report = train(settings, progress)
    save_model(model, path)
    return report
