"""A small English corpus, generated from the grammar in ``resources/corpus/grammar.json``.

The tiny-trained preset learns from these sentences, so the grammar is built to contain
regularities a small transformer can discover by itself, some of which need attention:

* ``a`` or ``an`` agrees with the sound of the next word (``a fluffy cat``, ``an old cat``);
* up to two adjectives, always in English order (opinion, quality, size, age, texture, colour),
  then a noun;
* the verb follows the subject noun and suits it (fish swim, birds fly, moles dig), and it is
  plural after a compound subject (``the cat and the dog walk``: the model must look back for
  the ``and``);
* the verb decides which prepositions and places may follow (``swims`` → ``in the river``), two
  or three words later;
* ``to find`` is followed by something the *subject* looks for (a cat finds fish, a mole finds
  worms, a person finds money), which sits up to a dozen words back;
* ``to`` right after a verb starts a place (``walks to the river``); ``to`` after a noun starts
  a purpose (``by the river to find fish``);
* in a two-sentence story the second sentence names the subject again (``a fluffy cat sits.
  the fluffy cat ...``), so continuing it means copying words from earlier in the text;
* every sentence ends with ``.``.

Shapes (``?`` optional, ``{0,2}`` up to two; a "sentence" below may be a two-sentence story)::

    action:       det adj{0,2} noun [and det adj{0,2} noun] verb [prep det adj? place] [to find goal] .
    description:  det adj{0,2} noun [and det adj{0,2} noun] is|are adj [prep det adj? place] .
    story:        det adj{0,2} noun verb [prep det adj? place] .  the adj{0,2} noun (action or description)

Words within each list of the grammar are drawn with Zipf-like weights (the first listed is the
most common), so, as in real text, a few words are frequent and most are rare.

Generation is deterministic for a seed. :func:`build_corpus` splits the stream into training
sentences and held-out sentences, none of which occurs (as text) among the training sentences.
Each word carries a grammatical role (``det``, ``adj``, ``subject``, ``verb``, ...), which the
training analysis uses to describe what attention heads look at.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from resources import RESOURCES_DIR
from simulator.errors import SimulatorError
from simulator.tokenizer import UNK, WordTokenizer

GRAMMAR_PATH = RESOURCES_DIR / "corpus" / "grammar.json"

#: Every role a word can play, in the order a sentence meets them.
ROLES = ("det", "adj", "subject", "and", "verb", "is", "prep", "place", "to", "find", "goal", "end")

_INDEFINITE = "a|an"
_WORD = re.compile(r"^[a-z]+$")


class GrammarError(SimulatorError):
    """The grammar file is malformed or inconsistent."""


@dataclass(frozen=True)
class Sentence:
    """One generated sentence (or two-sentence story): its words, final ``.`` included, and roles."""

    words: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def text(self) -> str:
        """The sentence as a person would type it (no space before the full stop)."""
        return " ".join(self.words).replace(" .", ".")

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class _Verb:
    singular: str
    plural: str
    motion: bool
    places: tuple[str, ...] | None


@dataclass(frozen=True)
class _PlaceClass:
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    static_preps: tuple[str, ...]
    motion_preps: tuple[str, ...]


@dataclass(frozen=True)
class _SubjectGroup:
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    verbs: tuple[str, ...]
    places: tuple[str, ...]
    goals: tuple[str, ...]


class Grammar:
    """The sentence grammar: lexicon, probabilities and agreement rules, validated on load."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            self._parse(data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, GrammarError):
                raise
            raise GrammarError(f"grammar is malformed: {exc!r}") from exc
        self._validate()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] = GRAMMAR_PATH) -> "Grammar":
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GrammarError(f"cannot read the grammar {source}: {exc}") from exc
        return cls(data)

    # -- loading ---------------------------------------------------------------------------------
    def _parse(self, data: Mapping[str, Any]) -> None:
        self.sentence_kinds = _Table.of(data["sentence_kinds"])
        probs = data["probabilities"]
        self.zipf_exponent = float(probs["zipf_exponent"])
        self.p_compound = float(probs["compound_subject"])
        self.p_place = float(probs["place_phrase"])
        self.p_purpose = float(probs["purpose"])
        self.p_description_place = float(probs["description_place"])
        self.p_story_action = float(probs["story_second_action"])
        self.max_words = int(probs["max_words"])
        self.adjective_count = _Table.of({n: p for n, p in enumerate(probs["adjective_count"])})
        self.place_adjective_count = _Table.of({n: p for n, p in enumerate(probs["place_adjective_count"])})
        words = data["function_words"]
        self.end, self.and_, self.to, self.find = words["end"], words["and"], words["to"], words["find"]
        self.is_, self.are, self.definite = words["is"], words["are"], words["definite"]
        self.determiners = {str(role): _Table.of(table) for role, table in data["determiners"].items()}
        article = data["indefinite_article"]
        self.article_consonant = str(article["before_consonant"])
        self.article_vowel = str(article["before_vowel"])
        self.vowel_letters = str(article["vowel_letters"])
        self.consonant_sound = frozenset(article["consonant_sound_exceptions"])
        self.vowel_sound = frozenset(article["vowel_sound_exceptions"])
        self.adjective_order: tuple[str, ...] = tuple(data["adjective_order"])
        self.adjectives: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data["adjectives"].items()}
        self.verbs: dict[str, _Verb] = {
            name: _Verb(name, str(v["plural"]), bool(v["motion"]), tuple(v["places"]) if "places" in v else None)
            for name, v in data["verbs"].items()
        }
        self.places: dict[str, _PlaceClass] = {
            name: _PlaceClass(tuple(p["nouns"]), tuple(p["adjectives"]), tuple(p["static_preps"]), tuple(p["motion_preps"]))
            for name, p in data["places"].items()
        }
        self.subjects: dict[str, _SubjectGroup] = {
            name: _SubjectGroup(tuple(s["nouns"]), tuple(s["adjectives"]), tuple(s["verbs"]), tuple(s["places"]), tuple(s["goals"]))
            for name, s in data["subjects"].items()
        }

    def _validate(self) -> None:
        if set(self.sentence_kinds.keys) - {"action", "description", "story"}:
            raise GrammarError("sentence_kinds may only weigh 'action', 'description' and 'story'")
        if set(self.determiners) != {"subject", "place"}:
            raise GrammarError("determiners must have a 'subject' and a 'place' table")
        if set(self.adjective_order) != set(self.adjectives):
            raise GrammarError("adjective_order must list every adjective category exactly once")
        for name, group in self.subjects.items():
            self._check_categories(f"subject group {name}", group.adjectives)
            for verb in group.verbs:
                if verb not in self.verbs:
                    raise GrammarError(f"subject group {name} uses the unknown verb {verb!r}")
                if not self._place_classes(group, self.verbs[verb]):
                    raise GrammarError(f"subject group {name} and verb {verb!r} share no place class")
            for place in group.places:
                if place not in self.places:
                    raise GrammarError(f"subject group {name} uses the unknown place class {place!r}")
            if not (group.nouns and group.verbs and group.goals):
                raise GrammarError(f"subject group {name} needs nouns, verbs and goals")
        for name, place_class in self.places.items():
            self._check_categories(f"place class {name}", place_class.adjectives)
            if not (place_class.nouns and place_class.static_preps):
                raise GrammarError(f"place class {name} needs nouns and static prepositions")
        bad = sorted(w for w in self.vocabulary()[2:] if not _WORD.match(w))
        if bad:
            raise GrammarError(f"words must be lower-case letters only: {', '.join(bad[:5])}")

    def _check_categories(self, where: str, categories: Sequence[str]) -> None:
        unknown = [c for c in categories if c not in self.adjectives]
        if unknown:
            raise GrammarError(f"{where} uses unknown adjective categories: {', '.join(unknown)}")

    # -- vocabulary ------------------------------------------------------------------------------
    def vocabulary(self) -> tuple[str, ...]:
        """Every word the grammar can produce, after ``<unk>`` and ``.``, grouped by role.

        The order (function words, determiners, prepositions, adjectives by category, subject
        nouns by group, verbs, places, goals) keeps related words together on vocabulary axes.
        """
        words: list[str] = [UNK, self.end]
        dets = [d for table in self.determiners.values() for d in table.keys]
        for det in dets:
            words.extend([self.article_consonant, self.article_vowel] if det == _INDEFINITE else [det])
        words += [self.definite, self.and_, self.is_, self.are, self.to, self.find]
        for place in self.places.values():
            words += place.static_preps
        for place in self.places.values():
            words += place.motion_preps
        for category in self.adjective_order:
            words += self.adjectives[category]
        for group in self.subjects.values():
            words += group.nouns
        words += [v.singular for v in self.verbs.values()]
        words += [v.plural for v in self.verbs.values()]
        for place in self.places.values():
            words += place.nouns
        for group in self.subjects.values():
            words += group.goals
        return tuple(dict.fromkeys(words))

    def tokenizer(self) -> WordTokenizer:
        return WordTokenizer(self.vocabulary())

    # -- generation ------------------------------------------------------------------------------
    def sentence(self, rng: np.random.Generator) -> Sentence:
        """One random sentence (or story); the same generator state always gives the same one."""
        while True:
            kind = self.sentence_kinds.draw(rng)
            words: list[str] = []
            roles: list[str] = []
            if kind == "story":
                self._story(rng, words, roles)
            else:
                groups = self._subject(rng, words, roles, kind, compound=True)
                self._predicate(rng, words, roles, kind, groups, purpose=True)
            if len(words) <= self.max_words:
                return Sentence(tuple(words), tuple(roles))

    def _story(self, rng: np.random.Generator, words: list[str], roles: list[str]) -> None:
        """Two sentences about one subject; the second names it again with ``the``.

        ``a fluffy cat walks by the river. the fluffy cat sleeps.`` Continuing the second
        subject means copying words from the first sentence, which a model can only learn by
        looking back for an earlier occurrence of the current word and what followed it.
        """
        start = len(words)
        groups = self._subject(rng, words, roles, "action", compound=False)
        phrase = words[start + 1 :]  # the subject without its determiner
        self._predicate(rng, words, roles, "action", groups, purpose=False)
        words += [self.definite, *phrase]
        roles += ["det", *(["adj"] * (len(phrase) - 1)), "subject"]
        kind = "action" if rng.random() < self.p_story_action else "description"
        self._predicate(rng, words, roles, kind, groups, purpose=True)

    def _subject(self, rng: np.random.Generator, words: list[str], roles: list[str], kind: str, compound: bool) -> list[str]:
        """A subject noun phrase, sometimes two joined by ``and``; returns their subject groups."""
        groups = [self._pick(rng, list(self.subjects))]
        self._noun_phrase(rng, words, roles, "subject", self.subjects[groups[0]])
        if compound and rng.random() < self.p_compound:
            verbs = set(self.subjects[groups[0]].verbs)
            other = self._pick(rng, list(self.subjects))
            if kind == "action" and not verbs & set(self.subjects[other].verbs):
                other = groups[0]
            groups.append(other)
            words.append(self.and_)
            roles.append("and")
            self._noun_phrase(rng, words, roles, "subject", self.subjects[other])
        return groups

    def _predicate(
        self, rng: np.random.Generator, words: list[str], roles: list[str], kind: str, groups: list[str], purpose: bool
    ) -> None:
        """Verb (or ``is``/``are`` and an adjective), optional place and purpose, full stop."""
        plural = len(groups) > 1
        first = self.subjects[groups[0]]
        if kind == "action":
            verbs = set(first.verbs).intersection(*(self.subjects[g].verbs for g in groups))
            verb = self.verbs[self._word(rng, [v for v in first.verbs if v in verbs])]
            words.append(verb.plural if plural else verb.singular)
            roles.append("verb")
            if rng.random() < self.p_place:
                places = list(dict.fromkeys(p for g in groups for p in self._place_classes(self.subjects[g], verb)))
                self._place_phrase(rng, words, roles, self._pick(rng, places), verb.motion)
            if purpose and rng.random() < self.p_purpose:
                goals = list(dict.fromkeys(goal for g in groups for goal in self.subjects[g].goals))
                words += [self.to, self.find, self._word(rng, goals)]
                roles += ["to", "find", "goal"]
        else:
            words.append(self.are if plural else self.is_)
            roles.append("is")
            category = self._pick(rng, list(first.adjectives))
            words.append(self._word(rng, self.adjectives[category]))
            roles.append("adj")
            if rng.random() < self.p_description_place:
                self._place_phrase(rng, words, roles, self._pick(rng, list(first.places)), False)
        words.append(self.end)
        roles.append("end")

    def sentences(self, n: int, seed: int) -> list[Sentence]:
        rng = np.random.default_rng(seed)
        return [self.sentence(rng) for _ in range(n)]

    def _place_classes(self, group: _SubjectGroup, verb: _Verb) -> list[str]:
        return [p for p in group.places if verb.places is None or p in verb.places]

    def _noun_phrase(self, rng: np.random.Generator, words: list[str], roles: list[str], role: str, group: _SubjectGroup) -> None:
        n_adj = int(self.adjective_count.draw(rng))
        self._phrase(rng, words, roles, "subject", group.adjectives, n_adj, self._word(rng, group.nouns), role)

    def _place_phrase(self, rng: np.random.Generator, words: list[str], roles: list[str], place_class: str, motion: bool) -> None:
        place = self.places[place_class]
        preps = place.static_preps + (place.motion_preps if motion else ())
        words.append(self._word(rng, preps))
        roles.append("prep")
        n_adj = int(self.place_adjective_count.draw(rng))
        self._phrase(rng, words, roles, "place", place.adjectives, n_adj, self._word(rng, place.nouns), "place")

    def _phrase(
        self,
        rng: np.random.Generator,
        words: list[str],
        roles: list[str],
        det_table: str,
        categories: Sequence[str],
        n_adj: int,
        noun: str,
        role: str,
    ) -> None:
        """Determiner, ``n_adj`` adjectives of different categories in English order, noun."""
        remaining = list(categories)
        picked = [remaining.pop(int(rng.integers(len(remaining)))) for _ in range(min(n_adj, len(categories)))]
        ordered = sorted(picked, key=self.adjective_order.index)
        adjectives: list[str] = []
        for category in ordered:
            options = [a for a in self.adjectives[category] if a not in adjectives]
            adjectives.append(self._word(rng, options))
        det = self.determiners[det_table].draw(rng)
        if det == _INDEFINITE:
            det = self.article_for((adjectives or [noun])[0])
        words += [det, *adjectives, noun]
        roles += ["det", *(["adj"] * len(adjectives)), role]

    def article_for(self, word: str) -> str:
        """``a`` or ``an`` for the word that follows it, by sound (``an old``, ``a unicorn``)."""
        if word in self.vowel_sound:
            return self.article_vowel
        if word in self.consonant_sound:
            return self.article_consonant
        return self.article_vowel if word[:1] in self.vowel_letters else self.article_consonant

    @staticmethod
    def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
        """Uniformly: for kinds of things (subject groups, place classes, adjective categories)."""
        return options[int(rng.integers(len(options)))]

    def _word(self, rng: np.random.Generator, options: Sequence[str]) -> str:
        """Zipf-like: the k-th word of a list is drawn with weight 1 / k^s, as in real text."""
        weights = _zipf_weights(len(options), self.zipf_exponent)
        index = bisect.bisect_right(weights, rng.random() * weights[-1])
        return options[min(index, len(options) - 1)]


@dataclass(frozen=True)
class Corpus:
    """Training and held-out sentences with the vocabulary they are written in."""

    train: tuple[Sentence, ...]
    held_out: tuple[Sentence, ...]
    vocab: tuple[str, ...]
    seed: int

    def tokenizer(self) -> WordTokenizer:
        return WordTokenizer(self.vocab)

    def encode(self, sentence: Sentence) -> np.ndarray:
        """Token ids of a sentence (every word of a generated sentence is in the vocabulary)."""
        index = _vocab_index(self.vocab)
        return np.array([index[w] for w in sentence.words], dtype=np.int64)


def build_corpus(n_train: int = 6000, n_held_out: int = 1000, seed: int = 0, grammar: Grammar | None = None) -> Corpus:
    """Generate ``n_train`` training sentences, then ``n_held_out`` sentences not among them.

    Training sentences may repeat (short ones are common, as in real text); held-out sentences
    are distinct from every training sentence and from each other, so held-out accuracy
    measures generalisation rather than memory.
    """
    if n_train < 1 or n_held_out < 0:
        raise GrammarError("a corpus needs at least one training sentence and no negative counts")
    g = grammar or Grammar.from_file()
    rng = np.random.default_rng(seed)
    train = tuple(g.sentence(rng) for _ in range(n_train))
    seen = {s.words for s in train}
    held: list[Sentence] = []
    attempts = 0
    while len(held) < n_held_out:
        attempts += 1
        if attempts > 100 * (n_held_out + 10):
            raise GrammarError("the grammar is too small to find enough unseen held-out sentences")
        s = g.sentence(rng)
        if s.words not in seen:
            seen.add(s.words)
            held.append(s)
    return Corpus(train, tuple(held), g.vocabulary(), seed)


@lru_cache(maxsize=256)
def _zipf_weights(n: int, exponent: float) -> tuple[float, ...]:
    """Cumulative weights 1, 1 + 1/2^s, … of a list of ``n`` words."""
    return tuple(float(w) for w in np.cumsum(1.0 / np.arange(1, n + 1) ** exponent))


@lru_cache(maxsize=8)
def _vocab_index(vocab: tuple[str, ...]) -> dict[str, int]:
    return {w: i for i, w in enumerate(vocab)}


@dataclass(frozen=True)
class _Table:
    """Keys with weights, drawn from with one uniform number (fast and deterministic)."""

    keys: tuple[Any, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: Mapping[Any, Any]) -> "_Table":
        values = [float(v) for v in weights.values()]
        if not values or any(not np.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
            raise GrammarError(f"weights must be non-negative numbers with a positive sum, got {dict(weights)!r}")
        total = sum(values)
        return cls(tuple(weights), tuple(float(c) for c in np.cumsum(values) / total))

    def draw(self, rng: np.random.Generator) -> Any:
        index = bisect.bisect_right(self.cumulative, rng.random())
        return self.keys[min(index, len(self.keys) - 1)]
