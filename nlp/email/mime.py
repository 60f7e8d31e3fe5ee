"""Raw RFC 822 input to a parsed message and its chosen text part, with clear error codes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Final

from nlp.email.model import BodyType, EmailError
from nlp.email.text import decode_bytes, html_meta_charset, unflow

MAX_DEPTH: Final = 20
MAX_PARTS: Final = 500
# policy.default parses MIME headers (Content-Type and friends) while it parses the message, in
# superlinear time: a 500 KB Content-Type takes over a minute. Real ones are a few hundred bytes.
MAX_MIME_FIELD: Final = 4096
# Share of control bytes above which the input is binary, not a message.
MAX_CONTROL_SHARE: Final = 0.10
CONTROL_SAMPLE: Final = 64 * 1024

_CONTROL_BYTES: Final = bytes([*range(0, 9), *range(14, 27), *range(28, 32), 127])
_HEADER_LINE_RE: Final = re.compile(rb"[!-9;-~]{1,76}[ \t]*:")
_MBOX_FROM_RE: Final = re.compile(rb"From [^\r\n]*\r?\n")
_KNOWN_HEADERS: Final = frozenset(
    "from to cc bcc subject date message-id mime-version content-type received return-path "
    "in-reply-to references sender reply-to delivered-to".split()
)
_MIME_FIELD_RE: Final = re.compile(rb"(?im)^content-[a-z-]{1,40}[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*")
_MULTIPART_RE: Final = re.compile(rb"(?i)multipart/")


@dataclass(slots=True)
class Body:
    """The decoded text part chosen from a message."""

    text: str
    body_type: BodyType
    charset: str
    declared_charset: str | None
    warnings: list[str] = field(default_factory=list)


def to_bytes(raw: bytes | str) -> bytes:
    """The message as bytes; a str is encoded as UTF-8 (lone surrogates replaced)."""
    if isinstance(raw, bytes):
        return raw
    try:
        # Text that was decoded with surrogateescape gets its original bytes back.
        return raw.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return raw.encode("utf-8", errors="replace")


def check_raw(data: bytes, *, max_bytes: int) -> bytes:
    """Reject empty, oversized and binary input; return the data without leading junk."""
    if len(data) > max_bytes:
        raise EmailError("too_large", f"the message is {len(data)} bytes, over {max_bytes}")
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not data.strip():
        raise EmailError("empty_email", "the message is empty")
    sample = data[:CONTROL_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > MAX_CONTROL_SHARE * len(sample):
        raise EmailError("not_an_email", f"{controls} of the first {len(sample)} bytes are binary")
    # An mbox export starts with an envelope "From " line that is not a header.
    mbox = _MBOX_FROM_RE.match(data)
    if mbox:
        data = data[mbox.end() :]
    if not _HEADER_LINE_RE.match(data):
        raise EmailError("not_an_email", "the input does not start with a header block")
    return data


def _check_structure(data: bytes) -> None:
    """Refuse inputs that would make the stdlib parser slow or recurse too deep."""
    parts = 0
    for match in _MIME_FIELD_RE.finditer(data):
        parts += 1
        if len(match.group()) > MAX_MIME_FIELD:
            name = match.group()[:40].split(b":")[0].decode("ascii", "replace")
            raise EmailError(
                "malformed_email", f"a {name} header is {len(match.group())} bytes long"
            )
    if parts > 4 * MAX_PARTS:
        raise EmailError("malformed_email", f"the message has over {MAX_PARTS} MIME parts")
    # The parser recurses once per nested multipart; this bounds it long before Python's limit.
    if len(_MULTIPART_RE.findall(data)) > 4 * MAX_DEPTH + MAX_PARTS:
        raise EmailError("malformed_email", "too many multipart containers")


def parse_message(data: bytes) -> EmailMessage:
    """Parse checked bytes with the stdlib parser, or raise malformed_email / not_an_email."""
    _check_structure(data)
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
    except RecursionError as exc:
        raise EmailError("malformed_email", "the MIME structure is nested too deeply") from exc
    except Exception as exc:  # the parser is documented not to raise, so anything is a bug in it
        raise EmailError("malformed_email", f"the parser failed: {type(exc).__name__}") from exc
    if not isinstance(message, EmailMessage):
        raise EmailError("malformed_email", "the parser returned no message")
    names = {name.lower() for name, _ in message.raw_items()}
    if not names & _KNOWN_HEADERS:
        raise EmailError("not_an_email", "no known header (From, To, Subject, Date, ...)")
    _check_depth(message)
    return message


def _check_depth(message: Message) -> None:
    """Raise malformed_email when multiparts nest deeper than MAX_DEPTH or hold too many parts."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise EmailError("malformed_email", f"multiparts nest deeper than {MAX_DEPTH} levels")
        if count > MAX_PARTS:
            raise EmailError("malformed_email", f"the message has over {MAX_PARTS} MIME parts")
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, Message))


def _text_parts(message: EmailMessage) -> tuple[list[EmailMessage], list[EmailMessage]]:
    """Inline text/plain and text/html parts in document order, attachments excluded."""
    plain: list[EmailMessage] = []
    html: list[EmailMessage] = []
    stack: list[EmailMessage] = [message]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(p for p in reversed(payload) if isinstance(p, EmailMessage))
            continue
        # Forwarded messages attached whole (message/rfc822) are attachments, not this body.
        if part.is_attachment() or part.get_content_maintype() != "text":
            continue
        subtype = part.get_content_subtype()
        if subtype == "plain":
            plain.append(part)
        elif subtype == "html":
            html.append(part)
    return plain, html


def _decode_part(part: EmailMessage, body_type: BodyType) -> Body:
    """The text of one part: transfer encoding undone, charset applied, flowed lines joined."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = b""
    declared = part.get_content_charset()
    if declared is None and body_type == "html":
        declared = html_meta_charset(payload)
    text, charset, warnings = decode_bytes(payload, declared)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if body_type == "plain" and str(part.get_param("format", "")).lower() == "flowed":
        text = unflow(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return Body(text, body_type, charset, declared, list(warnings))


def select_body(message: EmailMessage) -> Body:
    """The body to analyse: the message's own text/plain, else its HTML (warned html_only)."""
    preferred = message.get_body(preferencelist=("plain", "html"))
    plain, html = _text_parts(message)
    candidates: list[tuple[EmailMessage, BodyType]] = []
    if isinstance(preferred, EmailMessage) and preferred.get_content_maintype() == "text":
        kind: BodyType = "html" if preferred.get_content_subtype() == "html" else "plain"
        candidates.append((preferred, kind))
    candidates += [(p, "plain") for p in plain] + [(p, "html") for p in html]
    seen: set[int] = set()
    for part, kind in candidates:
        if id(part) in seen:
            continue
        seen.add(id(part))
        body = _decode_part(part, kind)
        # An empty text/plain next to a real HTML part is a mailer quirk: use the HTML.
        if body.text.strip():
            if kind == "html":
                body.warnings.insert(0, "html_only")
            return body
    if candidates:
        raise EmailError("no_body", "the message's text parts are empty")
    raise EmailError("no_body", "the message has no text/plain or text/html part")
