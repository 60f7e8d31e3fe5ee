"""Which cluster of a mono call is the rep: self-introductions, never a guess."""

from __future__ import annotations

import pytest

from nlp.speakers import identify_rep


def test_rep_found_from_self_introduction() -> None:
    roles = identify_rep(
        {"S0": ["Hi, this is Dana from Dealsight."], "S1": ["Hello Dana, I have a few minutes."]},
        rep_name="Dana Smith",
    )
    # The customer saying "Hello Dana" is not an introduction; with two voices the
    # other one is the customer.
    assert roles == {"S0": "rep", "S1": "customer"}


@pytest.mark.parametrize(
    "intro",
    [
        "My name is DANA and I'm calling about",
        "Dana here, from sales",
        "dana speaking",
        "I'm Dana.",
    ],
)
def test_introduction_forms(intro: str) -> None:
    roles = identify_rep({"A": ["Good morning."], "B": [intro]}, rep_name="Dana")
    assert roles == {"A": "customer", "B": "rep"}


def test_customer_introduction_makes_the_other_voice_the_rep() -> None:
    roles = identify_rep(
        {"S0": ["Thanks, have a good day."], "S1": ["Hi, this is Laura speaking."]},
        rep_name=None,
        customer_names=["Laura Jones", "Sam Lee"],
    )
    assert roles == {"S0": "rep", "S1": "customer"}


def test_both_introductions_agree() -> None:
    roles = identify_rep(
        {"S0": ["Hello Dana, this is Laura."], "S1": ["Hi, this is Dana from Acme."]},
        rep_name="Dana Smith",
        customer_names=["Laura"],
    )
    assert roles == {"S0": "customer", "S1": "rep"}


def test_no_evidence_is_unknown() -> None:
    utterances = {"S0": ["We use HubSpot today."], "S1": ["Can you send a proposal?"]}
    assert identify_rep(utterances, rep_name="Dana Smith") == {
        "S0": "unknown",
        "S1": "unknown",
    }
    assert identify_rep(utterances, rep_name=None) == {"S0": "unknown", "S1": "unknown"}


def test_a_tie_is_not_decided() -> None:
    roles = identify_rep(
        {"S0": ["This is Dana."], "S1": ["Oh, this is Dana? Great."]}, rep_name="Dana"
    )
    assert roles == {"S0": "unknown", "S1": "unknown"}


def test_more_than_two_voices_only_label_what_is_evidenced() -> None:
    roles = identify_rep(
        {"S0": ["Dana from Acme here."], "S1": ["This is Laura."], "S2": ["Sounds good."]},
        rep_name="Dana",
        customer_names=["Laura"],
    )
    assert roles == {"S0": "rep", "S1": "customer", "S2": "unknown"}


def test_rep_phrases_count_only_when_the_direction_fits() -> None:
    utterances = {"S0": ["Thank you for calling Acme, how can I help you?"], "S1": ["Hi."]}
    assert identify_rep(utterances, rep_name=None, direction="inbound") == {
        "S0": "rep",
        "S1": "customer",
    }
    assert identify_rep(utterances, rep_name=None, direction="outbound") == {
        "S0": "unknown",
        "S1": "unknown",
    }
    outbound = {"S0": ["Hello?"], "S1": ["Thanks for taking my call, is now a good time?"]}
    assert identify_rep(outbound, rep_name=None, direction="outbound")["S1"] == "rep"


def test_a_name_introduction_outweighs_rep_phrases() -> None:
    roles = identify_rep(
        {"S0": ["Thanks for taking my call."], "S1": ["Hi, this is Dana."]}, rep_name="Dana"
    )
    assert roles == {"S0": "customer", "S1": "rep"}
