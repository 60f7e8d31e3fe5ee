"""Email parsing: formats, charsets, threading, direction, new text, errors, hostile input."""

from __future__ import annotations

import base64
import json
import pickle
import quopri
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from nlp.email import EmailError, ParsedEmail, email_from_fields, looks_like_html, parse_email

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "email"
BENCH = ROOT / "bench" / "data" / "insights"
OWN = ("dealsight-demo.com",)


def message(
    body: str | bytes,
    *,
    content_type: str = "text/plain; charset=utf-8",
    encoding: str = "8bit",
    sender: str = "Bob Stone <bob.stone@acme.com>",
    to: str = "Dana Smith <dana.smith@dealsight-demo.com>",
    subject: str = "Re: Proposal",
    extra: str = "",
) -> bytes:
    """A small single-part message; body bytes are used as they are, text is UTF-8 encoded."""
    head = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        "Date: Tue, 03 Nov 2026 10:02:00 -0500\nMessage-ID: <m1@acme.com>\n"
        f"{extra}MIME-Version: 1.0\nContent-Type: {content_type}\n"
        f"Content-Transfer-Encoding: {encoding}\n\n"
    )
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode("ascii") + data


def parse(raw: bytes | str) -> ParsedEmail:
    """parse_email with the seller's domain."""
    return parse_email(raw, own_domains=OWN)


# --- formats ------------------------------------------------------------------------------


def test_plain_gmail_reply_keeps_only_new_text() -> None:
    """Attribution, "> " lines, the "-- " signature and the sign-off are all removed."""
    raw = message(
        "Hi Dana,\n\nThe price is well above our budget.\n\nKevin\n\n-- \nKevin O'Hara\n"
        "VP Sales | Northbeam\n\nOn Tue, 3 Nov 2026 at 10:02, Dana Smith "
        "<dana.smith@dealsight-demo.com> wrote:\n> Hi Kevin,\n>\n> The proposal is attached.\n"
        "> > older history\n",
        sender="Kevin O'Hara <kevin@northbeam.com>",
    )
    parsed = parse(raw)
    assert parsed.new_text == "Hi Dana,\n\nThe price is well above our budget."
    assert "The proposal is attached." in parsed.full_text
    assert parsed.body_type == "plain" and parsed.warnings == ()


def test_outlook_original_message_block_and_disclaimer() -> None:
    """Everything from "-----Original Message-----" on is history; the notice above it goes."""
    raw = message(
        "Dana,\n\nNet 60 payment terms are a must for us.\n\nRegards,\nGreg Whitfield\n"
        "Procurement Manager\n\nThis email and any attachments are confidential and intended "
        "solely for the addressee.\n\n-----Original Message-----\nFrom: Dana Smith "
        "<dana.smith@dealsight-demo.com>\nSent: Monday, March 15, 2027 2:00 PM\nTo: Greg\n"
        "Subject: Order form\n\nPlease find the order form attached.\n",
        sender="Greg Whitfield <greg@vantage.com>",
    )
    assert parse(raw).new_text == "Dana,\n\nNet 60 payment terms are a must for us."


def test_outlook_header_block_without_separator_line() -> None:
    """A From:/Sent:/To:/Subject: block (any language) starts the history even without a rule."""
    raw = message(
        "Wir brauchen einen AV-Vertrag vor dem Pilot.\n\nMit freundlichen Grüßen / Best regards\n"
        "Jonas Weber\n\nVon: Dana Smith <dana.smith@dealsight-demo.com>\n"
        "Gesendet: Dienstag, 3. November 2026 10:02\nAn: Jonas Weber\nBetreff: Angebot\n\n"
        "Anbei das Angebot mit 45 Lizenzen.\n",
        sender="Jonas Weber <j.weber@nordlicht.de>",
    )
    assert parse(raw).new_text == "Wir brauchen einen AV-Vertrag vor dem Pilot."


def test_html_only_outlook_fixture() -> None:
    """HTML-only windows-1252 quoted-printable: entities decoded, script, style, history gone."""
    parsed = parse((FIXTURES / "outlook_html_only.eml").read_bytes())
    assert parsed.body_type == "html" and "html_only" in parsed.warnings
    assert parsed.declared_charset == "windows-1252" and parsed.charset == "cp1252"
    assert parsed.sender_name == "Jürgen Weiß"
    assert parsed.new_text == (
        "Hi Dana,\n\nWe’ve reviewed the order form. Our procurement team can’t accept "
        "auto-renewal, and the €38 per seat is above what Finance approved for this year.\n\n"
        "Could you send a version with a 12-month term & no renewal clause?"
    )
    assert "tracking pixel" not in parsed.full_text and "MsoNormal" not in parsed.full_text
    assert "renews every year" in parsed.full_text


def test_multipart_alternative_prefers_plain_and_ignores_attachment() -> None:
    """multipart/mixed(alternative(plain, html), pdf) with CRLF endings and RFC 2047 headers."""
    raw = (FIXTURES / "gmail_mixed_crlf.eml").read_bytes()
    assert b"\r\n" in raw
    parsed = parse(raw)
    assert parsed.body_type == "plain" and parsed.warnings == ()
    assert parsed.sender == "marta@andes-seguros.cl" and parsed.sender_name == "Marta Ibáñez"
    assert parsed.subject == "Re: Propuesta – 25 licencias"
    assert parsed.recipients == ("dana.smith@dealsight-demo.com", "lucia.nunez@andes-seguros.cl")
    assert parsed.new_text == (
        "Hi Dana,\n\nThanks for the call. Señora Núñez, our CFO, has to sign off on anything "
        "above 20 seats, and she's travelling until the 15th."
    )
    assert "JVBER" not in parsed.full_text
    assert parsed.sent_at == datetime(2027, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=-3)))


def test_apple_mail_html_base64_blockquote() -> None:
    """Base64 HTML with blockquote type=cite; "Sent from my iPhone" goes too."""
    parsed = parse((FIXTURES / "apple_html_base64.eml").read_bytes())
    assert parsed.new_text == (
        "We’re going with Chorus — they bundled it into our ZoomInfo renewal.\n\nSorry, Dana."
    )
    assert "beat any Chorus quote" in parsed.full_text


def test_html_keeps_paragraphs_and_drops_gmail_quote() -> None:
    """Paragraph breaks survive the conversion; gmail_quote and gmail_signature do not."""
    html = (
        "<html><head><style>div{color:red}</style></head><body><p>First &amp; foremost,"
        " legal needs a DPA.</p><p>Second, SSO&nbsp;is required.</p>"
        '<div class="gmail_signature">Bob Stone<br>CTO</div>'
        '<div class="gmail_quote"><div class="gmail_attr">On Tue, Dana wrote:</div>'
        '<blockquote class="gmail_quote">Our price is $40.</blockquote></div></body></html>'
    )
    parsed = parse(message(html, content_type="text/html; charset=utf-8"))
    assert parsed.new_text == "First & foremost, legal needs a DPA.\n\nSecond, SSO is required."
    assert "Our price is $40." in parsed.full_text


def test_empty_plain_alternative_falls_back_to_html() -> None:
    """A blank text/plain next to real HTML is a mailer quirk: the HTML is used."""
    raw = (
        b"From: bob@acme.com\nTo: dana@dealsight-demo.com\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"\n--b\nContent-Type: text/html; charset=utf-8\n\n<p>We chose Gong.</p>\n--b--\n"
    )
    parsed = parse(raw)
    assert parsed.new_text == "We chose Gong." and parsed.body_type == "html"


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
def test_transfer_encodings(encoding: str) -> None:
    """Quoted-printable soft breaks and base64 are undone before anything else."""
    text = "Our CFO — Zoë — says the €45 seat price is too high for a team of twenty-five reps.\n"
    if encoding == "base64":
        body = base64.encodebytes(text.encode("utf-8"))
    else:
        body = quopri.encodestring(text.encode("utf-8"))
        assert b"=\n" in body  # a soft line break is exercised
    parsed = parse(message(body, encoding=encoding))
    assert parsed.new_text == text.strip()


def test_format_flowed_lines_are_joined() -> None:
    """format=flowed soft breaks are joined; the "-- " signature line is not a soft break."""
    raw = message(
        "The pilot has to wait \nuntil the budget is \napproved in April.\n\n-- \nBob\n",
        content_type="text/plain; charset=utf-8; format=flowed",
    )
    assert parse(raw).new_text == "The pilot has to wait until the budget is approved in April."


# --- charsets and headers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "charset", "text", "warning"),
    [
        (
            "Préstamo – €5".encode("cp1252"),
            "text/plain; charset=windows-1252",
            "cp1252",
            "Préstamo – €5",
            None,
        ),
        (
            "José Peña".encode("latin-1"),
            "text/plain; charset=iso-8859-1",
            "cp1252",
            "José Peña",
            None,
        ),
        ("Зима".encode("koi8-r"), "text/plain; charset=koi8-r", "koi8-r", "Зима", None),
        (
            "Büro in Köln".encode(),
            "text/plain; charset=us-ascii",
            "utf-8",
            "Büro in Köln",
            "charset_fallback",
        ),
        ("José".encode(), "text/plain; charset=iso-8859-1", "utf-8", "José", "charset_fallback"),
        ("That’s €100".encode("cp1252"), "text/plain", "cp1252", "That’s €100", "charset_fallback"),
        ("Büro in Köln".encode(), "text/plain", "utf-8", "Büro in Köln", "charset_fallback"),
        (
            "Büro in Köln".encode(),
            "text/plain; charset=x-klingon",
            "utf-8",
            "Büro in Köln",
            "charset_fallback",
        ),
        (
            "Büro in Köln".encode("cp1252"),
            "text/plain; charset=utf-8",
            "cp1252",
            "Büro in Köln",
            "charset_fallback",
        ),
    ],
)
def test_charsets(
    body: bytes, content_type: str, charset: str, text: str, warning: str | None
) -> None:
    """Declared charset first; missing or wrong: utf-8, then cp1252, with a warning."""
    parsed = parse(message(body, content_type=content_type))
    assert (parsed.charset, parsed.new_text) == (charset, text)
    assert (warning in parsed.warnings) if warning else parsed.warnings == ()


def test_rfc2047_and_raw_utf8_headers() -> None:
    """Encoded words in names and subjects are decoded; raw 8-bit UTF-8 headers too."""
    raw = (
        "From: =?utf-8?q?Jos=C3=A9_Pe=C3=B1a?= <JPena@LarchmontUSD.org>\n"
        "To: =?iso-8859-1?q?In=E9s_=C1lvarez?= <ines@dealsight-demo.com>, "
        '"Smith, Dana" <dana@dealsight-demo.com>\n'
        "Cc: Jürgen <j@brueckner.de>\n"
        "Subject: =?utf-8?b?UmU6IFByw6lzZW50YXRpb24=?= =?utf-8?q?_d=C3=A9mo?=\n\nHola.\n"
    ).encode()
    parsed = parse(raw)
    assert parsed.sender == "jpena@larchmontusd.org" and parsed.sender_name == "José Peña"
    assert parsed.subject == "Re: Présentation démo"
    assert parsed.recipients == (
        "ines@dealsight-demo.com",
        "dana@dealsight-demo.com",
        "j@brueckner.de",
    )


def test_crlf_and_lf_give_identical_text_and_spans() -> None:
    """Line endings do not change new_text, so [begin, end) spans stay valid."""
    body = "Hi Dana,  \n\n\n\n\nWe are under contract with Chorus.\t\n\nBob Stone\nCTO, Acme\n"
    lf = parse(message(body))
    crlf = parse(message(body).replace(b"\n", b"\r\n"))
    assert lf == crlf
    assert lf.new_text == "Hi Dana,\n\nWe are under contract with Chorus."
    begin = lf.new_text.index("under contract")
    assert parse(message(body)).new_text[begin : begin + 14] == "under contract"


def test_new_text_is_clean() -> None:
    """No trailing spaces, controls or runs of blank lines; NFC so composed == decomposed."""
    body = "Jose\u0301 says:  \n\n\n\n\x00price\u00a0is fine\u200b.\n"
    parsed = parse(message(body))
    assert parsed.new_text == "José says:\n\nprice is fine."


# --- signatures, disclaimers, quotes ------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        "\n\n-- \nBob Stone\nCTO | Acme\n+1 555 010 0199",
        "\n\nBest regards,\nBob Stone\nChief Technology Officer\nAcme Corp.\nT: +1 555 010 0199",
        "\n\nThanks, Bob",
        "\n\nBob Stone\nCTO, Acme Corp\nbob.stone@acme.com",
        "\nBob",
        "\n\nCheers - Bob",
        "\n\nMit freundlichen Grüßen / Kind regards\nBob Stone",
        "\n\nSent from my iPhone",
        "\n\nBob\n\nCONFIDENTIALITY NOTICE: This message may contain protected health information."
        " If you are not the intended recipient, please delete it.",
        "\n\nAcme Ltd is registered in England and Wales, company no. 08123456.",
        "\n\nAcme GmbH · Sitz: Hamburg · Amtsgericht Hamburg HRB 123456 · Geschäftsführer: K. Berg",
        "\n\nRegards,\n\nBob Stone\nHead of Sales Operations\nwww.acme.com",
    ],
)
def test_signatures_and_disclaimers_are_removed(tail: str) -> None:
    """Sign-offs, name blocks, phone lines, legal and registration notices all go."""
    raw = message("Hi Dana,\n\nWe can't justify the price for 40 seats." + tail + "\n")
    assert parse(raw).new_text == "Hi Dana,\n\nWe can't justify the price for 40 seats."


@pytest.mark.parametrize(
    "tail",
    [
        "\n\nOwen\n\n*From:* Dana Smith <dana@dealsight-demo.com>\n*Sent:* Tuesday, November 3,"
        " 2026 10:02 AM\n*To:* Owen Price <owen.price@acme.com>\n*Subject:* Proposal\n\nOur price",
        "\n\nFrom: Dana Smith <dana@dealsight-demo.com>\nDate: Tuesday, November 3, 2026\n"
        "To: Owen\nSubject: Proposal\n\nOur price",
        "\n\n________________________________________\nFrom: Dana\nSent: Tuesday\nTo: Owen\n"
        "Subject: Proposal\n\nOur price",
        "\n\nOn Tue, Nov 3, 2026 at 10:02 AM Dana Smith <\ndana@dealsight-demo.com> wrote:\n\n"
        "> Our price",
        "\nOn Tue, 3 Nov 2026, Dana wrote:\n>Our price\n>>Older: the price",
        "\n\nLe mar. 3 nov. 2026 à 10:02, Dana Smith <dana@dealsight-demo.com> a écrit :\n"
        "> Our price",
        "\n\nAm Di., 3. Nov. 2026 um 10:02 Uhr schrieb Dana Smith <dana@dealsight-demo.com>:\n"
        "> Our price",
        "\n\nOwen Price\nHead of Partnerships | Acme\nHelping fleets run on time since 1998.",
        "\n\nOwen J. Price",
        "\n\nBest regards,\n-Owen",
        "\n\n-----Ursprüngliche Nachricht-----\nVon: Dana\nOur price",
        "\n\nBegin forwarded message:\n\nFrom: Dana\nOur price",
    ],
)
def test_reply_variants(tail: str) -> None:
    """Other clients' and languages' reply headers; signatures the sender's name opens."""
    raw = message("We need net 60." + tail + "\n", sender="Owen Price <owen.price@acme.com>")
    assert parse(raw).new_text == "We need net 60."


def test_postscript_after_signature_is_kept() -> None:
    """A "P.S." below the signature is content; the sign-off above it still goes."""
    raw = message("We need net 60.\n\nThanks,\nOwen\n\nP.S. Our CFO also wants a 3% cap.\n")
    assert parse(raw).new_text == "We need net 60.\n\nP.S. Our CFO also wants a 3% cap."


def test_html_signature_table_and_outlook_web_history() -> None:
    """A signature laid out as a table, and Outlook on the web's signature and reply box."""
    table = (
        "<p>We need net 60.</p><table><tr><td>Owen Price</td><td>VP Sales</td></tr>"
        "<tr><td>Acme</td><td>+1 555 010 0100</td></tr></table>"
    )
    owa = (
        '<div>We need net 60.</div><div id="Signature"><p>Owen Price<br>VP Sales</p></div>'
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Dana</div>'
        "<div>Our price is $40.</div>"
    )
    for html in (table, owa):
        raw = message(html, content_type="text/html", sender="Owen Price <owen.price@acme.com>")
        assert parse(raw).new_text == "We need net 60."


def test_content_that_looks_short_is_kept() -> None:
    """Lists and questions at the end are content, not a signature."""
    body = "Before we sign we need:\n\n- SSO via Okta\n- SCIM provisioning\n- EU data residency\n"
    assert parse(message(body)).new_text == body.strip()
    body = "Thanks, that's helpful.\n\nCan you do 30 seats?"
    assert parse(message(body)).new_text == body


def test_gateway_banner_on_top_is_removed() -> None:
    """The "this email originated from outside" banner is not the sender's text."""
    raw = message(
        "CAUTION: This email originated from outside of the organization. Do not click links.\n\n"
        "We went with Clari.\n"
    )
    assert parse(raw).new_text == "We went with Clari."


def test_forwarded_message_is_not_new_text() -> None:
    """Only the forwarder's comment is new; the forwarded message is history."""
    raw = message(
        "FYI, see what our CFO said.\n\n---------- Forwarded message ---------\n"
        "From: Carol <carol@acme.com>\nDate: Mon, Nov 2, 2026 at 9:00 AM\nSubject: Dealsight\n"
        "To: Bob <bob.stone@acme.com>\n\nThis is way over budget.\n"
    )
    assert parse(raw).new_text == "FYI, see what our CFO said."


def test_interleaved_and_bottom_posted_replies() -> None:
    """Answers between quotes are kept; a reply below the quote is kept."""
    intro = "On Tue, 3 Nov 2026 at 10:02, Dana Smith <dana.smith@dealsight-demo.com> wrote:\n"
    inline = message(
        "Hi Dana, answers inline.\n\n" + intro + "> How many seats?\n\nAbout 40.\n\n"
        "> When do you start?\n\nIn March.\n\nBob\n"
    )
    assert parse(inline).new_text == "Hi Dana, answers inline.\n\nAbout 40.\n\nIn March."
    bottom = message(
        intro + "> How many seats?\n> And when?\n\nAbout 40, in March.\n\nCheers,\nBob\n"
    )
    assert parse(bottom).new_text == "About 40, in March."


def test_text_after_a_top_posted_quote_is_dropped() -> None:
    """A footer after the quoted history of a top-posted reply is not new text."""
    raw = message(
        "We need SSO first.\n\nOn Tue, 3 Nov 2026, Dana <dana@dealsight-demo.com> wrote:\n"
        "> How many seats?\n\nYou received this message because you are subscribed to sales@.\n"
    )
    assert parse(raw).new_text == "We need SSO first."


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


# --- threading and direction --------------------------------------------------------------


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
