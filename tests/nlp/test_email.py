"""Email parsing: formats, charsets, quotes, signatures and the new text."""

from __future__ import annotations

import base64
import quopri
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from nlp.email import ParsedEmail, parse_email

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
