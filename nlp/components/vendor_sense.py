"""Whether a vendor name that is also an everyday word ("gong", "close") means the company."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Vendor names that are also everyday words: they count only in a context that makes them the
# company (a tenant can mark more entries `ambiguous`).
COMMON_WORD_NAMES = _words(
    """
    outreach apollo dynamics gong close copper chorus front notion slack zoom teams box
    monday pipeline drift clear insight compass lattice ramp brex mercury sierra anchor
    """
)
# Words near an ambiguous name that make it a product: using it, paying for it, comparing it,
# signing with it, setting it up. Matched after light stemming (see cue_forms).
VENDOR_CUES = _words(
    """
    use uses using used run runs running switched switch switching moved move migrate
    migrated migrating replace replaced replacing left leaving dropped ditched evaluating
    evaluate evaluated trial pilot demo demos vs versus than compared comparing cheaper
    pricier pricing price priced license licenses licence seats seat contract renewal renew
    subscription crm tool tools platform vendor software app integration integrate
    integrates sync syncs synced plugin records recording recordings sequences sequence
    sequencing dialer data contacts database account rep reps instance instead like also
    another offer offers offered offering showed shows pitched pitch quoted quote quotes
    came guys folks people shop users user customers importer import connector calls call
    notes recorder forecast forecasting module addon add bundle suite plan plans feature
    features review reviews sdrs sdr aes ae prospect prospecting dial dials dialing logs
    logged already front runner shortlist vendors competitor competitors rival incumbent
    contact record track proof concept poc rollout rolled microsoft ms d365 dot io com ai
    cloud 365 salesforce hubspot pipedrive zoho
    sign signed deal proposal export setup admin api transcription transcribe transcript
    summary summaries tracker scorecard copilot plug dialling dialler mature pick choice
    onboarding exit unlike
    """
)
# Phrases where the common word is just a word.
IDIOMS = (
    re.compile(
        r"\bclose (to|the|a|an|this|that|it|out|on|by|of|enough|together|call|second|date|"
        r"dates|rate|rates|plan|deals?|quarter|month|the books|ranks|friends?|look|eye|"
        r"attention)\b"
    ),
    re.compile(r"\b(to|we|they|can|could|will|would|should|might|may|and|must|help) close\b"),
    re.compile(r"\b(not|even|nowhere|anywhere|pretty|very|too|so|quite|fairly) close\b"),
    re.compile(r"\b(deals?|it|they|that|which|books|merger|acquisition|round) clos(e|es)\b"),
    re.compile(r"\bclos(es|ed|ing) (the|a|an|this|that|out|deals?|business)\b"),
    re.compile(r"\bgong show\b"),
    re.compile(r"\b(month|quarter|year)[- ]end close\b"),
    re.compile(r"\b(ring|rings|rang|hit|hits|bang|bangs) (a|the) gong\b"),
    re.compile(r"\bgong (goes|went|rings?|rang|sounds?)\b"),
    re.compile(r"\b(dinner|brass|temple|chinese) gong\b"),
    re.compile(r"\b(pricing|price|buying|deal|sales|competitive|org|social) dynamics\b"),
    re.compile(r"\b(our|your|their|community|customer|patient|market|email|cold|sales) outreach\b"),
    re.compile(r"\boutreach (to|efforts?|program(me)?|campaigns?|team)\b"),
    re.compile(
        r"\b(team|group|market|power|internal|the) dynamics\b(?! ?(licen[cs]e|instance|crm|"
        r"rollout|setup|api|contract|seats?|sync))"
    ),
    re.compile(r"\bapollo (project|program|mission|team|launch)\b"),
    re.compile(
        r"\b(the|a) (apollo|chorus|gong)\b(?! ?(io|\.io|ai|crm|pricing|contract|seats?|license|"
        r"proposal|dialer|deal|setup|rollout|api|trial|pilot|licence))"
    ),
    re.compile(r"\bcopper (wire|wiring|pipes?|piping|tubing|tubes?|prices?|mine|mining|cable)\b"),
)
WINDOW = 6  # words each side of the name searched for a cue


def cue_forms(word: str) -> set[str]:
    """The word and its likely stems, so "trialled", "plugs" and "exporting" find their cue."""
    forms = {word}
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms |= {stem, stem + "e"}
            if len(stem) > 3 and stem[-1] == stem[-2]:  # "trialled", "plugged"
                forms.add(stem[:-1])
    return forms


def has_vendor_cue(words: list[str]) -> bool:
    """Whether any of the words (lower case, possessives removed) is a vendor cue."""
    return any(not VENDOR_CUES.isdisjoint(cue_forms(w)) for w in words)


def in_idiom(lowered: str, begin: int, end: int) -> bool:
    """Whether the name at lowered[begin:end] sits inside a phrase where it is just a word."""
    for idiom in IDIOMS:
        for m in idiom.finditer(lowered):
            if m.start() <= begin < m.end() or m.start() < end <= m.end():
                return True
    return False
