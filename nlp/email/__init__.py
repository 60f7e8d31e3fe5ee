"""Parse sales emails (raw RFC 822 or CRM fields) into headers, threading and only the new text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from nlp.email.headers import (
    addresses,
    decode_words,
    direction,
    is_auto_subject,
    message_id,
    message_ids,
    normalise_domains,
    parse_date,
    thread_key,
    unfold,
)
from nlp.email.htmltext import html_to_text
from nlp.email.mime import check_raw, parse_message, select_body, to_bytes
from nlp.email.model import BodyType, Direction, EmailError, EmailErrorCode, ParsedEmail
from nlp.email.reply import new_text
from nlp.email.signature import signature_names
from nlp.email.text import clean_text

__all__ = [
    "BodyType",
    "Direction",
    "EmailError",
    "EmailErrorCode",
    "ParsedEmail",
    "email_from_fields",
    "looks_like_html",
    "parse_email",
]

DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024

_HEADERS: Final = (
    "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-autoreply", "x-autorespond", "precedence", "x-precedence",
)  # fmt: skip
_HTML_DOC_RE: Final = re.compile(r"<(?:!doctype\s+html|html|body)\b", re.I)
_HTML_TAG_RE: Final = re.compile(
    r"</?(?:p|div|br|span|table|tr|td|a|b|i|u|strong|em|ul|ol|li|blockquote|h[1-6]|font|img)"
    r"(?:\s[^<>]{0,500})?/?>",
    re.I,
)


def _raw_headers(message_items: list[tuple[str, str]]) -> tuple[dict[str, list[str]], bool]:
    """Header values we use, unfolded and decoded to str, and whether any was cut."""
    out: dict[str, list[str]] = {}
    cut = False
    for name, value in message_items:
        key = name.lower()
        if key in _HEADERS and isinstance(value, str):
            text, was_cut = unfold(value)
            cut = cut or was_cut
            out.setdefault(key, []).append(text)
    return out, cut


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    """The first value of a header."""
    values = headers.get(name)
    return values[0] if values else None


def _is_auto_reply(headers: dict[str, list[str]], subject: str) -> bool:
    """RFC 3834 Auto-Submitted, the common X- headers, or an out-of-office subject."""
    auto = (_first(headers, "auto-submitted") or "no").strip().lower()
    precedence = (_first(headers, "precedence") or _first(headers, "x-precedence") or "").lower()
    return (
        not auto.startswith("no")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or precedence.strip() == "auto_reply"
        or is_auto_subject(subject)
    )


def _body_texts(text: str, body_type: BodyType) -> tuple[str, str, list[str]]:
    """(full_text, the text to search for new text in, warnings) for a decoded body."""
    if body_type == "html":
        full, pruned, warnings = html_to_text(text)
        return clean_text(full), clean_text(pruned), warnings
    full = clean_text(text)
    return full, full, []


def _assemble(
    *,
    headers: dict[str, list[str]],
    body: str,
    body_type: BodyType,
    charset: str,
    declared_charset: str | None,
    own_domains: Sequence[str],
    warnings: list[str],
    sent_at: datetime | None,
) -> ParsedEmail:
    """Build the ParsedEmail from decoded header values and the decoded body."""
    senders = addresses(headers.get("from", []))
    sender_name, sender = senders[0] if senders else (None, None)
    if sender is None:
        warnings.append("no_sender")
    recipients = tuple(
        dict.fromkeys(a for _, a in addresses(headers.get("to", []) + headers.get("cc", [])))
    )
    subject = " ".join(decode_words(_first(headers, "subject") or "").split())
    mid = message_id(_first(headers, "message-id"))
    reply_to = message_id(_first(headers, "in-reply-to"))
    refs = message_ids(" ".join(headers.get("references", [])))
    full, searchable, html_warnings = _body_texts(body, body_type)
    warnings += html_warnings
    if not full:
        raise EmailError("no_body", "the body has no text once decoded")
    names = signature_names(sender_name or None, sender)
    new, reply_warnings = new_text(searchable, names=names)
    warnings += reply_warnings
    auto = _is_auto_reply(headers, subject)
    if auto:
        warnings.append("auto_reply")
    participants = ([sender] if sender else []) + list(recipients)
    return ParsedEmail(
        message_id=mid,
        in_reply_to=reply_to,
        references=refs,
        thread_key=thread_key(
            references=refs,
            in_reply_to=reply_to,
            message_id=mid,
            subject=subject,
            participants=participants,
        ),
        subject=subject,
        sender=sender,
        sender_name=sender_name or None,
        recipients=recipients,
        sent_at=sent_at,
        direction=direction(sender, recipients, normalise_domains(own_domains)),
        new_text=clean_text(new),
        full_text=full,
        body_type=body_type,
        charset=charset,
        declared_charset=declared_charset,
        auto_reply=auto,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def parse_email(
    raw: bytes | str,
    *,
    own_domains: Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedEmail:
    """Parse a raw RFC 822 message; raise EmailError with a stable code when it cannot be."""
    if isinstance(raw, str) and len(raw) > max_bytes:
        raise EmailError("too_large", f"the message is over {max_bytes} bytes")
    data = check_raw(to_bytes(raw), max_bytes=max_bytes)
    message = parse_message(data)
    headers, cut = _raw_headers(list(message.raw_items()))
    try:
        body = select_body(message)
    except EmailError:
        raise
    except Exception as exc:  # broken MIME parameters or encodings deep in the stdlib
        raise EmailError("malformed_email", f"the body cannot be decoded: {exc!r}"[:300]) from exc
    warnings = list(body.warnings)
    if cut:
        warnings.append("header_truncated")
    if message.defects:
        warnings.append("mime_defects")
    sent_at = parse_date(_first(headers, "date"))
    if sent_at is None and "date" in headers:
        warnings.append("bad_date")
    return _assemble(
        headers=headers,
        body=body.text,
        body_type=body.body_type,
        charset=body.charset,
        declared_charset=body.declared_charset,
        own_domains=own_domains,
        warnings=warnings,
        sent_at=sent_at,
    )


def looks_like_html(body: str) -> bool:
    """Whether a body posted as a string is HTML rather than plain text."""
    head = body[:100_000]
    return _HTML_DOC_RE.search(head) is not None or len(_HTML_TAG_RE.findall(head, 0)) >= 2


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    """One header value or a list of them as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def _field_date(value: datetime | str | None, warnings: list[str]) -> datetime | None:
    """A CRM's sent_at: an aware datetime, an ISO 8601 or RFC 5322 string; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = parse_date(value)
            if parsed is None:
                warnings.append("bad_date")
            return parsed
    else:
        when = value
    if when.tzinfo is None:
        warnings.append("naive_sent_at")
        when = when.replace(tzinfo=UTC)
    return when


def email_from_fields(
    from_: str,
    to: str | Sequence[str],
    subject: str | None,
    body: str,
    sent_at: datetime | str | None,
    message_id: str | None,
    in_reply_to: str | None,
    references: str | Sequence[str] | None,
    *,
    own_domains: Sequence[str] = (),
    cc: str | Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedEmail:
    """Parse an email a CRM posted as fields; the body may be plain text or HTML."""
    size = len(body.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise EmailError("too_large", f"the body is {size} bytes, over {max_bytes}")
    if not body.strip():
        if not (from_ or "").strip() and not (subject or "").strip():
            raise EmailError("empty_email", "no sender, subject or body")
        raise EmailError("no_body", "the body is empty")
    sample = body[:65536]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v\x1b")
    if controls > 0.1 * len(sample):
        raise EmailError(
            "not_an_email", f"{controls} of the first {len(sample)} characters are binary"
        )
    warnings: list[str] = []
    body_type: BodyType = "html" if looks_like_html(body) else "plain"
    if body_type == "html":
        warnings.append("html_only")
    headers = {
        "from": [unfold(from_ or "")[0]],
        "to": [unfold(v)[0] for v in _as_list(to)],
        "cc": [unfold(v)[0] for v in _as_list(cc)],
        "subject": [unfold(subject or "")[0]],
        "message-id": _as_list(message_id),
        "in-reply-to": _as_list(in_reply_to),
        # Bare ids from a list are bracketed so that References parsing keeps every one.
        "references": [
            references
            if isinstance(references, str)
            else " ".join(f"<{r.strip().strip('<>')}>" for r in _as_list(references))
        ],
    }
    return _assemble(
        headers=headers,
        body=body,
        body_type=body_type,
        charset="utf-8",
        declared_charset=None,
        own_domains=own_domains,
        warnings=warnings,
        sent_at=_field_date(sent_at, warnings),
    )
