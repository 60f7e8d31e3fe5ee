"""Competitor mentions from a tenant catalogue, robust to speech-recognition spellings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz.distance import OSA

from nlp.components.name_forms import initialisms, normalise, phonetic_key, spoken_variants
from nlp.components.vendor_sense import COMMON_WORD_NAMES, WINDOW, has_vendor_cue, in_idiom
from nlp.types import AnalysisDoc, CompetitorSpec, Insight, Sentence

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.&'’][A-Za-z0-9]+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


_MAX_EDITS = 3  # the most any form allows: two for a long name, one more for a sound-alike
_INFLECTIONS = frozenset("d ed r er ers ing".split())
# Function words a split-up name cannot start or end with: "sales for a" is not Salesforce.
_FUNCTION_WORDS = frozenset("a an the for to of in on at and or is it as by we so".split())


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A competitor with its aliases; ambiguous names need vendor context to count."""

    name: str
    aliases: tuple[str, ...] = ()
    ambiguous: bool | None = None  # None: decided from the built-in common-word list


@dataclass
class _Form:
    competitor: str
    key: str
    ambiguous: bool
    fuzzy_max: int
    web: bool = False  # a web-address form ("gongio"): exact matches only
    sound: str = ""

    def __post_init__(self) -> None:
        self.sound = phonetic_key(self.key)


@dataclass(frozen=True, slots=True)
class Mention:
    """One competitor found in a sentence."""

    competitor: str
    begin: int  # character offsets within the sentence
    end: int
    surface: str
    exact: bool


@dataclass
class CompetitorMatcher:
    """Finds catalogue names in text: exact, split or joined, possessive, or off by a letter."""

    entries: Sequence[CatalogueEntry]
    max_tokens: int = 5
    _forms: dict[str, _Form] = field(default_factory=dict)
    # Forms by key length: a near match is at most a few letters longer or shorter.
    _by_length: dict[int, list[_Form]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries:
            for surface in (entry.name, *entry.aliases):
                key = normalise(surface)
                if not key:
                    continue
                words = surface.split()
                ambiguous = (
                    entry.ambiguous
                    if entry.ambiguous is not None
                    else (len(words) == 1 and key in COMMON_WORD_NAMES)
                )
                # Names under five letters only match exactly: one letter off hits real words.
                fuzzy = 0 if len(key) < 5 else (1 if len(key) < 10 else 2)
                for variant in spoken_variants(key):
                    self._forms.setdefault(variant, _Form(entry.name, variant, ambiguous, fuzzy))
                for short in initialisms(surface):
                    for variant in spoken_variants(short):  # "d365", "d three sixty five"
                        self._forms.setdefault(variant, _Form(entry.name, variant, False, 0))
                if len(words) == 1:
                    # The vendor's web address said or written: "gong.io", "close dot com".
                    for suffix in ("io", "ai", "com", "dotio", "dotai", "dotcom", "crm"):
                        form = _Form(entry.name, key + suffix, False, 0, web=True)
                        self._forms.setdefault(key + suffix, form)
        for form in self._forms.values():
            self._by_length.setdefault(len(form.key), []).append(form)

    def find(self, text: str) -> list[Mention]:
        """Non-overlapping mentions in text order: exact spellings first, then near ones,
        longest first within each pass."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        keys = [normalise(_POSSESSIVE.sub("", t)) for _, _, t in tokens]
        lowered = text.lower()
        taken = [False] * len(tokens)
        found: list[Mention] = []
        # Everyday-word names with no cue nearby: kept only if the sentence names another vendor.
        uncued: list[tuple[int, int, Mention]] = []
        # Pass 1 tries exact spellings over every word window; windows with no exact form are
        # kept, in the same order, for pass 2's near spellings, so no window is looked up twice.
        near: list[tuple[int, int, str]] = []
        for n in range(min(self.max_tokens, len(tokens)), 0, -1):
            for i in range(len(tokens) - n + 1):
                key = "".join(keys[i : i + n])
                if not key:
                    continue
                form = self._forms.get(key)
                if form is None:
                    near.append((i, n, key))
                elif not any(taken[i : i + n]):
                    self._accept(text, lowered, tokens, i, n, form, True, taken, found, uncued)
        for i, n, key in near:
            if any(taken[i : i + n]) or not _plausible_split(keys[i : i + n]):
                continue
            form = self._near(key, split=n > 1)
            if form is not None:
                self._accept(text, lowered, tokens, i, n, form, False, taken, found, uncued)
        if found:
            # "gong and clari are both coming in": another vendor makes the name a vendor too.
            for i, j, mention in uncued:
                if not any(taken[i:j]):
                    taken[i:j] = [True] * (j - i)
                    found.append(mention)
        found.sort(key=lambda m: m.begin)
        return found

    def _accept(
        self,
        text: str,
        lowered: str,
        tokens: list[tuple[int, int, str]],
        i: int,
        n: int,
        form: _Form,
        exact: bool,
        taken: list[bool],
        found: list[Mention],
        uncued: list[tuple[int, int, Mention]],
    ) -> None:
        """Keeps the window's mention, queues it when its sense is unclear, or drops it."""
        begin, end = tokens[i][0], tokens[i + n - 1][1]
        surface = text[begin:end]
        if _POSSESSIVE.search(surface):
            end -= 2
            surface = text[begin:end]
        mention = Mention(form.competitor, begin, end, surface, exact)
        if form.ambiguous:
            sense = _vendor_sense(lowered, tokens, i, i + n, surface)
            if sense is None:
                uncued.append((i, i + n, mention))
            if not sense:
                return
        taken[i : i + n] = [True] * n
        found.append(mention)

    def _near(self, key: str, *, split: bool = False) -> _Form | None:
        """The form a key with no exact spelling is a near spelling of, or None."""
        # The possessive or plural with its apostrophe lost: "zohos bundle", "gongs trackers".
        plains = [key[:-1], key[:-2]] if key.endswith("es") else [key[:-1]]
        for plain in plains if key.endswith("s") and not split else ():
            form = self._forms.get(plain)
            if form is not None and not form.web:
                return form
        # Unsplit words under five letters only match exactly: one letter off hits real words.
        if len(key) < (4 if split else 5):
            return None
        return self._nearest(key, split)

    def _nearest(self, key: str, split: bool) -> _Form | None:
        """The closest form within its allowed edits, or None."""
        sound: str | None = None  # computed only for a candidate that could use it
        best: _Form | None = None
        best_d = 99
        n = len(key)
        nearby = (
            self._by_length.get(length, ()) for length in range(n - _MAX_EDITS, n + _MAX_EDITS + 1)
        )
        for cand in (c for forms in nearby for c in forms):
            allowed = cand.fuzzy_max
            # A name the recogniser split into pieces that sound like it ("zoe ho", "pipe
            # dryv") gets one more edit: two made-up pieces rarely sound like a vendor by chance.
            if (
                split
                and not cand.web
                and cand.key[0] == key[0]
                and abs(len(cand.key) - len(key)) <= 1
            ):
                if sound is None:
                    sound = phonetic_key(key)
                if sound == cand.sound:
                    allowed += 1
            if allowed == 0 or abs(len(cand.key) - len(key)) > allowed:
                continue
            # "closes", "closer": the everyday word inflected, not the vendor misspelt.
            if cand.ambiguous and key.removeprefix(cand.key) in _INFLECTIONS:
                continue
            # OSA counts a swap of neighbouring letters ("appolo") as one edit.
            d = OSA.distance(key, cand.key, score_cutoff=allowed)
            if d <= allowed and d < best_d:
                best, best_d = cand, d
        return best


def _plausible_split(keys: list[str]) -> bool:
    """A near match over several words must not start or end on a function word."""
    return len(keys) == 1 or (keys[0] not in _FUNCTION_WORDS and keys[-1] not in _FUNCTION_WORDS)


def _vendor_sense(
    lowered: str, tokens: list[tuple[int, int, str]], i: int, j: int, surface: str
) -> bool | None:
    """True when an ambiguous name is used as a product name here, False when it is just a
    word, None when nothing nearby says (another vendor in the sentence then decides)."""
    begin, end = tokens[i][0], tokens[j - 1][1]
    # Capitalised in the middle of a sentence: a proper noun, whatever words surround it.
    proper = surface[:1].isupper() and i > 0
    if not proper and in_idiom(lowered, begin, end):
        return False
    if j - i > 1 or any(c in surface for c in ".’'") or _POSSESSIVE.search(tokens[j - 1][2]):
        return True  # "Gong.io", "Close CRM", "Gong's": a product spelling
    window = [
        _POSSESSIVE.sub("", t[2].lower())
        for t in tokens[max(0, i - WINDOW) : i] + tokens[j : j + WINDOW]
    ]
    return True if proper or has_vendor_cue(window) else None


CONTEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "past",
        re.compile(
            r"\b(used to|left|leaving|switched (away )?from|switching from|moved (off|away from|"
            r"from)|migrated (off|from)|dropped|ditched|churned|got rid of|replaced|previously|"
            r"back when|last (year|time) we|before we|we had|we tried|we were on|gave up on|"
            r"cancel+ed|sunset(ted)?|ripped out)\b"
        ),
    ),
    (
        "comparison",
        re.compile(
            r"\b(cheaper|less expensive|more expensive|pricier|better|worse|faster|slower|"
            r"easier|nicer|than|compared|comparison|versus|vs|beats?|undercut|half the price|"
            r"(a )?(third|fraction|half) of the (price|cost)|lower price|discount|offered us|"
            r"matches|does (this|that|it) for|includes?|already (does|has|gives))\b"
        ),
    ),
    (
        "evaluating",
        re.compile(
            r"\b(evaluat\w*|also looking|looking at|talking to|talked to|in the running|"
            r"shortlist\w*|consider\w*|demo\w*|trial\w*|pilot\w*|comparing|rfp|proposal from|"
            r"quote from|bake.?off|meeting with|speaking with|checking out|weighing|"
            r"second look|option)\b"
        ),
    ),
    (
        "incumbent",
        re.compile(
            r"\b(we use|we're using|we are using|using|we run|we're on|we are on|our crm|"
            r"under contract|contract with|locked in|renewal|currently|current|already use|"
            r"already have|committed to|signed with|we have|we've got|our team uses|live on|"
            r"standardi[sz]ed on|runs on|built on|records all|is our|in place|installed|"
            r"rolled out|today)\b"
        ),
    ),
)
_CLAUSE_BREAKS = (",", ";", " but ", " while ")


def context_label(sentence: str, mention: Mention) -> str:
    """incumbent / evaluating / comparison / past / other, from cue phrases near the mention."""
    lowered = sentence.lower()
    # Look at the clause around the mention first: another clause may be about another vendor.
    left = max(lowered.rfind(sep, 0, mention.begin) for sep in _CLAUSE_BREAKS)
    rights = [lowered.find(sep, mention.end) for sep in _CLAUSE_BREAKS]
    right = min([r for r in rights if r >= 0], default=len(lowered))
    clause = lowered[left + 1 if left >= 0 else 0 : right]
    for text in (clause, lowered):
        for label, pattern in CONTEXT_PATTERNS:
            if pattern.search(text):
                return label
    return "other"


class CompetitorComponent:
    """Finds the tenant's catalogue competitors in every sentence, with a context label each."""

    name: str = "competitors"
    version: str = "3"  # 3: cue stems, exact-first, vendors vouch for each other
    requires: tuple[str, ...] = ("sentences",)
    assigns: tuple[str, ...] = ("insights",)

    def __init__(
        self, cache_size: int = 256, context_model: ContextPredictor | None = None
    ) -> None:
        self._matchers: dict[tuple[CompetitorSpec, ...], CompetitorMatcher] = {}
        self._cache_size = cache_size
        self.context_model = context_model

    def initialize(self) -> None:
        """Nothing to load: catalogues are compiled on first use and cached."""

    def matcher(self, catalogue: tuple[CompetitorSpec, ...]) -> CompetitorMatcher:
        """The compiled matcher for a catalogue (tenants' catalogues change rarely)."""
        found = self._matchers.get(catalogue)
        if found is None:
            if len(self._matchers) >= self._cache_size:
                self._matchers.clear()
            entries = [CatalogueEntry(c.name, c.aliases, c.ambiguous) for c in catalogue]
            found = self._matchers[catalogue] = CompetitorMatcher(entries)
        return found

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        found: list[tuple[AnalysisDoc, Sentence, Mention]] = []
        for doc in docs:
            if not doc.tenant.competitors:
                continue
            matcher = self.matcher(doc.tenant.competitors)
            found.extend((doc, sent, m) for sent in doc.sentences for m in matcher.find(sent.text))
        if not found:
            return
        if self.context_model is not None:
            contexts = self.context_model.predict([(s.text, m) for _, s, m in found])
        else:
            contexts = [context_label(s.text, m) for _, s, m in found]
        for (doc, sent, m), ctx in zip(found, contexts, strict=True):
            doc.insights.append(mention_insight(sent, m, ctx, source=self.name))


class ContextPredictor(Protocol):
    """Labels the context of mentions (nlp.components.competitor_context.ContextModel)."""

    def predict(self, items: Sequence[tuple[str, Mention]]) -> list[str]:
        """A context label per (sentence, mention)."""
        ...


def mention_insight(sent: Sentence, m: Mention, context: str, *, source: str) -> Insight:
    """The insight for one competitor mention in a sentence."""
    return Insight(
        kind="competitor",
        label=m.competitor,
        utterance=sent.utterance,
        quote=sent.text,
        span=(sent.begin, sent.end),
        start=sent.start_s,
        end=sent.end_s,
        speaker=sent.speaker,
        confidence=1.0 if m.exact else 0.8,
        context=context,
        source=source,
    )
