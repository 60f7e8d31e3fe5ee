"""Email parsing: threads, direction, fields, error codes, hostile input and the labelled set."""

from __future__ import annotations

import json
import pickle
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nlp.email import EmailError, ParsedEmail, email_from_fields, looks_like_html, parse_email
from tests.nlp.test_email import message, parse

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "email"
BENCH = ROOT / "bench" / "data" / "insights"
OWN = ("dealsight-demo.com",)


def test_out_of_office_is_flagged_and_kept() -> None:
    """An auto-reply keeps its text (it is the message) but says it is automatic."""
    raw = message(
        "I am out of the office until Monday. For pricing questions contact sales@acme.com.\n",
        subject="Automatic reply: Proposal",
        extra="Auto-Submitted: auto-replied\n",
    )
    parsed = parse(raw)
    assert parsed.auto_reply and "auto_reply" in parsed.warnings
    assert parsed.new_text.startswith("I am out of the office")
    assert not parse(message("Hello")).auto_reply


def _threaded(mid: str, reply_to: str | None, refs: str | None, sender: str, to: str) -> bytes:
    """A message with the given threading headers."""
    extra = f"In-Reply-To: <{reply_to}>\n" if reply_to else ""
    extra += f"References: {refs}\n" if refs else ""
    raw = message("Text.", sender=sender, to=to, extra=extra)
    return raw.replace(b"<m1@acme.com>", f"<{mid}>".encode())


def test_three_message_thread_shares_the_root_id() -> None:
    """Message-ID / In-Reply-To / References all lead to the first message's id."""
    first = parse(
        _threaded("root@dealsight-demo.com", None, None, "dana@dealsight-demo.com", "bob@acme.com")
    )
    second = parse(
        _threaded(
            "r1@acme.com",
            "root@dealsight-demo.com",
            "<root@dealsight-demo.com>",
            "bob@acme.com",
            "dana@dealsight-demo.com",
        )
    )
    third = parse(
        _threaded(
            "r2@dealsight-demo.com",
            "r1@acme.com",
            "<root@dealsight-demo.com>\n <r1@acme.com>",
            "dana@dealsight-demo.com",
            "bob@acme.com",
        )
    )
    assert first.message_id == "root@dealsight-demo.com"
    assert third.references == ("root@dealsight-demo.com", "r1@acme.com")
    assert third.in_reply_to == "r1@acme.com"
    assert first.thread_key == second.thread_key == third.thread_key == "root@dealsight-demo.com"
    # A reply that only has In-Reply-To (no References) still joins through the parent id.
    only_parent = parse(
        _threaded("x@acme.com", "root@dealsight-demo.com", None, "bob@acme.com", "d@e.com")
    )
    assert only_parent.thread_key == "root@dealsight-demo.com"


def test_thread_key_without_ids_is_deterministic() -> None:
    """Without ids: a hash of the normalised subject and the participants."""

    def key(subject: str, sender: str, to: str) -> str:
        return email_from_fields(sender, [to], subject, "Hi.", None, None, None, None).thread_key

    base = key("Pricing", "bob@acme.com", "dana@dealsight-demo.com")
    assert base.startswith("subject:")
    assert key("RE: Fwd: AW: SV: [EXT] pricing", "dana@dealsight-demo.com", "BOB@acme.com") == base
    assert key("Pricing for 2027", "bob@acme.com", "dana@dealsight-demo.com") != base
    assert key("Pricing", "carol@acme.com", "dana@dealsight-demo.com") != base


@pytest.mark.parametrize(
    ("sender", "to", "domains", "expected"),
    [
        ("dana@dealsight-demo.com", "bob@acme.com", OWN, "outbound"),
        ("Dana@EU.Dealsight-Demo.COM", "bob@acme.com", OWN, "outbound"),
        ("bob@acme.com", "dana@dealsight-demo.com", OWN, "inbound"),
        (
            "bob@acme.com",
            "carol@acme.com, dana@mail.dealsight-demo.com",
            ("@Dealsight-Demo.com",),
            "inbound",
        ),
        ("bob@acme.com", "carol@acme.com", OWN, "unknown"),
        ("bob@notdealsight-demo.com", "carol@acme.com", OWN, "unknown"),
        ("dana@dealsight-demo.com", "bob@acme.com", (), "unknown"),
    ],
)
def test_direction(sender: str, to: str, domains: tuple[str, ...], expected: str) -> None:
    """Own domain (or a subdomain, any case) sending: outbound; receiving: inbound."""
    assert (
        parse_email(message("Hi.", sender=sender, to=to), own_domains=domains).direction == expected
    )


# --- CRM fields ---------------------------------------------------------------------------


def test_email_from_fields_plain_and_html() -> None:
    """A CRM's fields: HTML detected and converted, ids normalised, dates made aware."""
    parsed = email_from_fields(
        "Bob Stone <Bob.Stone@acme.com>",
        ["dana@dealsight-demo.com", "Carol <carol@acme.com>"],
        "Re: Proposal",
        "<p>We need SSO.</p><p>Thanks,<br>Bob</p>",
        "2026-11-03T10:02:00Z",
        None,
        "<a1@acme.com>",
        ["root@dealsight-demo.com", "<a1@acme.com>"],
        own_domains=OWN,
    )
    assert parsed.body_type == "html" and parsed.new_text == "We need SSO."
    assert parsed.references == ("root@dealsight-demo.com", "a1@acme.com")
    assert parsed.thread_key == "root@dealsight-demo.com" and parsed.in_reply_to == "a1@acme.com"
    assert parsed.sent_at == datetime(2026, 11, 3, 10, 2, tzinfo=UTC)
    assert parsed.direction == "inbound" and parsed.sender == "bob.stone@acme.com"
    plain = email_from_fields(
        "bob@acme.com", "dana@dealsight-demo.com", None, "Is 5 < 6? Send <dana@x.com> the MSA.",
        datetime(2026, 11, 3, 10, 2), "<m@x>", None, None, own_domains=OWN,
    )  # fmt: skip
    assert plain.body_type == "plain" and plain.new_text == "Is 5 < 6? Send <dana@x.com> the MSA."
    assert plain.sent_at == datetime(2026, 11, 3, 10, 2, tzinfo=UTC)
    assert "naive_sent_at" in plain.warnings and plain.thread_key == "m@x"
    rfc = email_from_fields(
        "a@b.com", [], "s", "x", "Tue, 03 Nov 2026 10:02:00 -0500", None, None, None
    )
    assert rfc.sent_at is not None and rfc.sent_at.utcoffset() == timedelta(hours=-5)


def test_looks_like_html() -> None:
    """Tags make HTML; angle-bracketed addresses and comparisons do not."""
    assert looks_like_html("<div>Hi</div><div>there</div>")
    assert looks_like_html("<!DOCTYPE html><p>x")
    assert not looks_like_html("Write to <dana@dealsight-demo.com> if 3 < 4 > 2.")


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_email"),
        (" \r\n\t \n", "empty_email"),
        (b"\x00\x01\x02\x03 binary \xff\xfe" * 100, "not_an_email"),
        (b"Just a note without any headers.\n\nSecond paragraph.\n", "not_an_email"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not_an_email"),
        (b"Xyz: 1\n\nbody\n", "not_an_email"),
        (b"From: a@b.com\nSubject: nothing\n", "no_body"),
        (b"From: a@b.com\nContent-Type: text/plain\n\n  \n\n", "no_body"),
        (
            b"From: a@b.com\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
            b"JVBERi0xLjQK\n",
            "no_body",
        ),
        (
            b"From: a@b.com\nContent-Type: text/plain; " + b"a=b; " * 2000 + b"\n\nx\n",
            "malformed_email",
        ),
    ],
)
def test_error_codes(raw: bytes | str, code: str) -> None:
    """Each kind of bad input gets its own stable code."""
    with pytest.raises(EmailError) as info:
        parse(raw)
    assert info.value.code == code and info.value.message


def test_too_large() -> None:
    """Over max_bytes (bytes or str) is too_large before any parsing."""
    raw = message("x" * 2000)
    with pytest.raises(EmailError) as info:
        parse_email(raw, max_bytes=1000)
    assert info.value.code == "too_large"
    with pytest.raises(EmailError) as info:
        parse_email(raw.decode(), max_bytes=1000)
    assert info.value.code == "too_large"
    with pytest.raises(EmailError) as info:
        email_from_fields("a@b.com", [], "s", "x" * 2000, None, None, None, None, max_bytes=1000)
    assert info.value.code == "too_large"


def test_fields_errors() -> None:
    """email_from_fields reports empty, bodiless and binary input with the same codes."""
    cases = [
        ("", "", "empty_email"),
        ("a@b.com", " \n", "no_body"),
        ("a@b.com", "\x00\x01" * 50, "not_an_email"),
    ]
    for sender, body, code in cases:
        with pytest.raises(EmailError) as info:
            email_from_fields(sender, [], "", body, None, None, None, None)
        assert info.value.code == code


def test_nesting_deeper_than_the_limit_is_malformed() -> None:
    """Multiparts nested past 20 levels are refused; 10 levels parse."""

    def nested(depth: int) -> bytes:
        head = b"From: a@b.com\nContent-Type: multipart/mixed; boundary=b0\n\n"
        parts = b"".join(
            b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
            for i in range(depth)
        )
        return head + parts + b"--b%d\nContent-Type: text/plain\n\nhello\n" % depth

    assert parse(nested(10)).new_text == "hello"
    for depth in (25, 3000):
        with pytest.raises(EmailError) as info:
            parse(nested(depth))
        assert info.value.code == "malformed_email"


def test_email_error_pickles() -> None:
    """The error crosses process boundaries (Celery) with its code."""
    error = pickle.loads(pickle.dumps(EmailError("no_body", "empty")))
    assert error.code == "no_body" and error.message == "empty"


# --- hostile input ------------------------------------------------------------------------


def _outcome(raw: bytes) -> ParsedEmail | EmailError:
    """Parse, returning the EmailError instead of raising it; anything else propagates."""
    try:
        return parse(raw)
    except EmailError as error:
        return error


@pytest.mark.timeout(120)
def test_random_truncated_and_mutated_input() -> None:
    """Random bytes, cut-off and bit-flipped messages: a result or an EmailError, never a crash."""
    rnd = random.Random(20261103)
    samples = [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 4000))) for _ in range(100)]
    samples += [
        b"From: a@b.com\n\n" + bytes(rnd.getrandbits(8) for _ in range(2000)) for _ in range(50)
    ]
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    seeds += [(BENCH / "emails" / name).read_bytes() for name in ("e03.eml", "e04.eml", "e13.eml")]
    for seed in seeds:
        samples += [seed[: rnd.randrange(len(seed))] for _ in range(40)]
        for _ in range(40):
            mutated = bytearray(seed)
            for _ in range(rnd.randrange(1, 60)):
                mutated[rnd.randrange(len(mutated))] = rnd.getrandbits(8)
            samples.append(bytes(mutated))
    for sample in samples:
        assert isinstance(_outcome(sample), ParsedEmail | EmailError)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "name",
    [
        "10mb_plain", "10mb_one_line", "10mb_html", "1mb_subject", "1mb_to", "1mb_nested_comments",
        "1mb_encoded_words", "1mb_references", "1mb_content_type", "many_parts", "deep_html",
        "control_chars_html", "quoted_only",
    ],
)  # fmt: skip
def test_large_and_pathological_input(name: str) -> None:
    """Inputs that make naive parsers quadratic or recursive still get an answer."""
    head = b"From: a@b.com\nTo: dana@dealsight-demo.com\n"
    limit = 10 * 1024 * 1024 - 200
    raw = {
        "10mb_plain": head
        + b"\n"
        + (b"Price is too high for us this year. " * 3 + b"\n")[:100] * (limit // 100),
        "10mb_one_line": head + b"\nOn " + b"x" * limit,
        "10mb_html": head
        + b"Content-Type: text/html\n\n"
        + b"<div><p>a <b>b</b></p></div>" * (limit // 30),
        "1mb_subject": head + b"Subject: " + b"a" * 1_000_000 + b"\n\nbody\n",
        "1mb_to": b"From: a@b.com\nTo: " + b"x@y.com, " * 110_000 + b"\n\nbody\n",
        "1mb_nested_comments": b"From: " + b"(" * 1_000_000 + b"\nTo: a@b.com\n\nbody\n",
        "1mb_encoded_words": head + b"Subject: " + b"=?utf-8?q?a?= " * 70_000 + b"\n\nbody\n",
        "1mb_references": head + b"References: " + b"<a@b> " * 170_000 + b"\n\nbody\n",
        "1mb_content_type": head + b"Content-Type: text/plain; " + b"a=b; " * 200_000 + b"\n\nx\n",
        "many_parts": head
        + b"Content-Type: multipart/mixed; boundary=b\n\n"
        + b"--b\nContent-Type: text/plain\n\nx\n" * 3000
        + b"--b--\n",
        "deep_html": head + b"Content-Type: text/html\n\n" + b"<div>" * 200_000 + b"x",
        "control_chars_html": head
        + b"Content-Type: text/html\n\n<p>a\x01b</p><blockquote type=cite>"
        b"q\x02</blockquote>\x0b<p>c</p>",
        "quoted_only": head + b"\n" + b"> old line\n" * 200_000,
    }[name]
    assert len(raw) <= 10 * 1024 * 1024
    result = _outcome(raw)
    assert isinstance(result, ParsedEmail | EmailError)
    if isinstance(result, ParsedEmail):
        assert "\x00" not in result.full_text and len(result.new_text) <= len(result.full_text)


def test_parsing_is_deterministic() -> None:
    """The same input gives the same output, spans included."""
    raw = (FIXTURES / "gmail_mixed_crlf.eml").read_bytes()
    assert parse(raw) == parse(raw) == parse(raw.decode("ascii"))


# --- the labelled data set ----------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """How well new_text matches the labels of a split of bench/data/insights/emails.jsonl."""

    emails: int
    new_found: int
    new_total: int
    quoted_leaked: int
    quoted_total: int
    direction_right: int
    failures: tuple[str, ...]

    @property
    def kept(self) -> float:
        """Share of new-text phrases found in new_text."""
        return self.new_found / self.new_total

    @property
    def leaked(self) -> float:
        """Share of quoted/signature/disclaimer phrases wrongly left in new_text."""
        return self.quoted_leaked / self.quoted_total


def _squash(text: str) -> str:
    """Whitespace collapsed, as the labels are written."""
    return re.sub(r"\s+", " ", text)


def score_emails(splits: tuple[str, ...]) -> Scores:
    """Parse every labelled email of the splits and compare new_text with the phrases."""
    rows = [json.loads(line) for line in (BENCH / "emails.jsonl").read_text().splitlines() if line]
    found = total = leaked = quoted = right = 0
    failures: list[str] = []
    chosen = [row for row in rows if row["split"] in splits]
    for row in chosen:
        parsed = parse_email((BENCH / "emails" / row["file"]).read_bytes(), own_domains=OWN)
        text = _squash(parsed.new_text)
        missing = [p for p in row["new_text_contains"] if _squash(p) not in text]
        kept_wrongly = [p for p in row["quoted_text_contains"] if _squash(p) in text]
        found += len(row["new_text_contains"]) - len(missing)
        total += len(row["new_text_contains"])
        leaked += len(kept_wrongly)
        quoted += len(row["quoted_text_contains"])
        right += parsed.direction == row["direction"]
        if missing or kept_wrongly or parsed.direction != row["direction"]:
            failures.append(
                f"{row['file']}: missing {missing} leaked {kept_wrongly} {parsed.direction}"
            )
    return Scores(len(chosen), found, total, leaked, quoted, right, tuple(failures))


@pytest.mark.parametrize(
    "splits", [("train",), ("test",), ("train", "test")], ids=["train", "test", "all"]
)
def test_labelled_emails(splits: tuple[str, ...]) -> None:
    """≥ 95 % of new-text phrases kept and ≤ 5 % of quoted phrases leaked; direction right."""
    scores = score_emails(splits)
    print(
        f"{'+'.join(splits)}: {scores.emails} emails, new-text phrases kept "
        f"{scores.new_found}/{scores.new_total} ({scores.kept:.1%}), quoted phrases leaked "
        f"{scores.quoted_leaked}/{scores.quoted_total} ({scores.leaked:.1%}), direction "
        f"{scores.direction_right}/{scores.emails}",
        *scores.failures,
        sep="\n",
    )
    assert scores.kept >= 0.95 and scores.leaked <= 0.05, scores.failures
    assert scores.direction_right == scores.emails, scores.failures


if __name__ == "__main__":
    for split in (("train",), ("test",)):
        result = score_emails(split)
        print(split[0], f"kept {result.kept:.1%}", f"leaked {result.leaked:.1%}", *result.failures)
