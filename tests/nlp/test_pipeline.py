"""The analysis pipeline's wiring, segmentation, competitor matching and keyword trackers."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from nlp.components.competitors import (
    CatalogueEntry,
    CompetitorComponent,
    CompetitorMatcher,
    context_label,
)
from nlp.components.segmenter import Segmenter, is_question
from nlp.objections.keywords import KeywordTracker
from nlp.pipeline import Pipeline, PipelineError
from nlp.types import AnalysisDoc, CompetitorSpec, Sentence, TenantNlpConfig, Utterance, Word

CATALOGUE = [
    CatalogueEntry("Salesforce", ("SFDC", "Sales Cloud")),
    CatalogueEntry("HubSpot"),
    CatalogueEntry("Pipedrive"),
    CatalogueEntry("Microsoft Dynamics", ("Dynamics 365", "Dynamics")),
    CatalogueEntry("Gong", ("Gong.io",)),
    CatalogueEntry("Close", ("Close CRM",)),
    CatalogueEntry("Outreach"),
    CatalogueEntry("ZoomInfo"),
    CatalogueEntry("Zoho", ("Zoho CRM",)),
    CatalogueEntry("Freshsales", ("Freshworks",)),
    CatalogueEntry("Chorus", ("Chorus.ai", "ZoomInfo Chorus")),
    CatalogueEntry("Clari"),
]


class Broken:
    name = "broken"
    version = "0"
    requires: tuple[str, ...] = ("sentences",)
    assigns: tuple[str, ...] = ()

    def initialize(self) -> None:
        pass

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        raise ValueError("boom")


def test_pipeline_refuses_unmet_requirements() -> None:
    with pytest.raises(PipelineError, match="'broken' requires \\['sentences'\\]"):
        Pipeline([Broken()])


def test_pipeline_names_the_failing_component() -> None:
    pipe = Pipeline([Segmenter(), Broken()])
    with pytest.raises(PipelineError, match="component 'broken' failed: boom"):
        pipe([AnalysisDoc([Utterance("customer", "Hello there.")])])
    assert pipe.version == "segmenter@1+broken@0"


def test_segmenter_keeps_spans_and_word_times() -> None:
    text = "Honestly, that is too expensive. Can you do better?"
    words = [Word(w, i * 0.5, i * 0.5 + 0.4, 0.9) for i, w in enumerate(text.split())]
    doc = AnalysisDoc([Utterance("customer", text, 0.0, 5.0, words)])
    Segmenter()([doc])
    first, second = doc.sentences
    assert text[first.begin : first.end] == "Honestly, that is too expensive."
    assert (first.start_s, first.end_s) == (0.0, 2.4)
    assert text[second.begin : second.end] == "Can you do better?" and second.is_question
    assert (second.start_s, second.end_s) == (2.5, 4.4)


@pytest.mark.parametrize(
    ("text", "question"),
    [("What does it cost?", True), ("how long is the contract", True), ("It costs a lot.", False)],
)
def test_question_detection(text: str, question: bool) -> None:
    assert is_question(text) is question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we use Salesforce for everything", ["Salesforce"]),
        ("we're on sales force today", ["Salesforce"]),
        ("our SFDC instance is a mess", ["Salesforce"]),
        ("hub spot is what marketing runs", ["HubSpot"]),
        ("HubSpot's pricing went up again", ["HubSpot"]),
        ("we left pipe drive last year", ["Pipedrive"]),
        ("salesforse is too slow", ["Salesforce"]),
        ("zoominfo and hubspott both pitched us", ["HubSpot", "ZoomInfo"]),
        ("we ran gong dot i o as a pilot", ["Gong"]),
        ("we're moving to dynamics three sixty five", ["Microsoft Dynamics"]),
        ("Gong records all our calls", ["Gong"]),
        ("we run our sequences in outreach", ["Outreach"]),
        ("we migrated off close crm", ["Close"]),
        ("we're close to a decision", []),
        ("the close date says end of March", []),
        ("our outreach to new clinics slowed down", []),
        ("the team dynamics are tough right now", []),
        ("we ring a gong when a deal closes", []),
        ("Acme Logistics is our biggest account", []),
        # Split into pieces that sound like the name; initialisms of "<name> <number>".
        ("we looked at zoe ho last spring", ["Zoho"]),
        ("pipe dryve was cheaper", ["Pipedrive"]),
        ("our D365 instance is a mess", ["Microsoft Dynamics"]),
        ("our fiscal close is the last week of June", []),
        ("check in after the merger closes, I will know more", []),
        ("so ho hum, the zoo had a quiet year", []),
        ("we don't lose deals on price", []),
        # An exact spelling beats a near one that overlaps it; no near match ends on "a".
        ("we tried fresh sales for a year", ["Freshsales"]),
        ("we want sales for a song", []),
        # Everyday-word names: cues are found inflected and further away, another vendor in
        # the sentence vouches for them, and the inflected word is not the vendor misspelt.
        ("we trialled chorus back in 2022", ["Chorus"]),
        ("we're two years into a three year deal with gong", ["Gong"]),
        ("we've got gong and clari coming in next week", ["Clari", "Gong"]),
        ("the gong proposal is half of yours", ["Gong"]),
        ("like not even close", []),
        ("most of our deals close in person at trade shows", []),
        ("if one extra deal closes because of this, it pays for itself", []),
        ("I was hoping for something closer to ten dollars a user", []),
        ("the clinic outreach programme is going well, we signed eleven practices", []),
        ("that was the dinner gong, we're running the offsite up here", []),
        # Possessives and plurals with the apostrophe lost; initialisms with spoken numbers.
        ("zohos bundle has a call recorder in it now", ["Zoho"]),
        ("the reps say the gongs trackers are easier to set up", ["Gong"]),
        ("only the senior closers would really use it", []),
        ("we're moving to d three sixty five in the autumn", ["Microsoft Dynamics"]),
        ("the dynamics licence already covers call recording", ["Microsoft Dynamics"]),
        ("the last rollout here was a total gong show", []),
    ],
)
def test_competitor_matching(text: str, expected: list[str]) -> None:
    found = CompetitorMatcher(CATALOGUE).find(text)
    assert sorted(m.competitor for m in found) == expected
    for m in found:
        assert text[m.begin : m.end] == m.surface


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("we use HubSpot for everything", "incumbent"),
        ("we're also evaluating Pipedrive", "evaluating"),
        ("Pipedrive is way cheaper than you", "comparison"),
        ("we switched from Salesforce last year", "past"),
        ("can you walk me through the HubSpot sync?", "other"),
    ],
)
def test_competitor_context(text: str, label: str) -> None:
    (mention,) = CompetitorMatcher(CATALOGUE).find(text)
    assert context_label(text, mention) == label


def test_competitor_component_uses_each_docs_catalogue() -> None:
    comp = CompetitorComponent()
    seg = Segmenter()
    tenant = TenantNlpConfig(competitors=(CompetitorSpec("HubSpot"),))
    with_catalogue = AnalysisDoc(
        [Utterance("customer", "We use HubSpot.", 1.0, 2.0)], tenant=tenant
    )
    without = AnalysisDoc([Utterance("customer", "We use HubSpot.", 1.0, 2.0)])
    seg([with_catalogue, without])
    comp([with_catalogue, without])
    (insight,) = with_catalogue.insights
    assert (insight.label, insight.context, insight.speaker) == ("HubSpot", "incumbent", "customer")
    assert (insight.start, insight.end, insight.span) == (1.0, 2.0, (0, 15))
    assert without.insights == []


def _sentence(text: str, speaker: str = "customer") -> Sentence:
    return Sentence(0, 0, len(text), text, speaker, None, None, is_question(text))  # type: ignore[arg-type]


def test_keyword_tracker_options() -> None:
    tracker = KeywordTracker("legal", ("redline", "legal review"), speaker="customer")
    assert tracker.matches(_sentence("Legal  review takes six weeks here."))
    assert not tracker.matches(_sentence("legal review takes six weeks", "rep"))
    assert not tracker.matches(_sentence("we redlined nothing"))  # whole words only
    questions = KeywordTracker("pricing-q", ("price",), speaker="any", only_questions=True)
    assert questions.matches(_sentence("what is the price?", "rep"))
    assert not questions.matches(_sentence("the price is fine."))


@pytest.mark.parametrize(
    ("turns", "agreed"),
    [
        ([("customer", "Can you send me a proposal by Friday?"), ("rep", "Absolutely.")], True),
        ([("rep", "Shall we book a demo for next Tuesday?"), ("customer", "Sounds good.")], True),
        ([("rep", "I will send the proposal tomorrow."), ("customer", "No, hold off.")], False),
        ([("rep", "We should talk at some point."), ("customer", "Sure.")], False),
        ([("customer", "Thanks for the overview."), ("rep", "Thank you.")], False),
    ],
)
def test_next_step_agreed(turns: list[tuple[str, str]], agreed: bool) -> None:
    from nlp.components.next_steps import NextStepComponent

    doc = AnalysisDoc([Utterance(s, t) for s, t in turns])  # type: ignore[arg-type]
    Segmenter()([doc])
    NextStepComponent()([doc])
    assert doc.metrics["next_step_agreed"] is agreed
    assert bool(doc.metrics["next_step_evidence"]) is agreed
