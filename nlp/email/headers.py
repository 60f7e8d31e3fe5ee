"""Header values to addresses, ids, dates, a thread key and a direction, in linear time."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime
from typing import Final

from nlp.email.model import Direction
from nlp.email.text import decode_bytes

# Longest header value read. policy.default's header parser is superlinear (a 1 MB To: takes
# ~50 s), so values are read raw and cut here: 64 KiB still holds ~2,000 recipients.
MAX_HEADER_CHARS: Final = 64 * 1024
MAX_REFERENCES: Final = 500

_FOLD_RE: Final = re.compile(r"\r?\n(?=[ \t])")
_ID_RE: Final = re.compile(r"<([^<>\s]{1,998})>")
_ADDR_RE: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_ENCODED_WORD_RE: Final = re.compile(r"=\?[^?\s]{1,40}\?[bBqQ]\?")
_SUBJECT_PREFIX_RE: Final = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|vb|antw|antwort|r|rif|tr|ref|réf|odp|res|enc|rv|fyi)"
    r"\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:：]|\[[^\]]{0,40}\])\s*",
    re.IGNORECASE,
)
_AUTO_SUBJECT_RE: Final = re.compile(
    r"^\s*(?:automatic reply|auto[- ]?reply|auto[- ]?response|out of (?:the )?office|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|"
    r"automatisk svar|fuori sede|risposta automatica)\b",
    re.IGNORECASE,
)


def unfold(value: str) -> tuple[str, bool]:
    """A raw header value unfolded, non-ASCII bytes decoded, cut to MAX_HEADER_CHARS."""
    cut = len(value) > MAX_HEADER_CHARS
    value = _FOLD_RE.sub("", value[:MAX_HEADER_CHARS])
    if not value.isascii():
        # The bytes parser keeps 8-bit header bytes as surrogate escapes; raw UTF-8 is common.
        raw = value.encode("utf-8", errors="surrogateescape")
        value = decode_bytes(raw, None)[0]
    return value.strip(), cut


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; anything undecodable is kept as written."""
    if not _ENCODED_WORD_RE.search(value):
        return value
    try:
        chunks = decode_header(value)
    except (HeaderParseError, ValueError, LookupError, AssertionError):
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset)[0])
    return "".join(out)


def addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs from address header values, in order."""
    out: list[tuple[str, str]] = []
    for value in values:
        try:
            pairs = getaddresses([value])
        except (RecursionError, ValueError, IndexError):
            # Nested comments recurse once per "(": fall back to the bare addresses.
            pairs = [("", m) for m in _ADDR_RE.findall(value)]
        for name, addr in pairs:
            addr = addr.strip().strip("<>").lower()
            if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
                continue
            out.append((decode_words(name).strip().strip('"').strip(), addr))
    return out


def message_id(value: str | None) -> str | None:
    """The id inside <...> (or the bare token), without brackets; None when there is none."""
    if not value:
        return None
    match = _ID_RE.search(value)
    if match:
        return match.group(1)
    token = value.strip().strip("<>").split()
    return token[0][:998] if token else None


def message_ids(value: str | None) -> tuple[str, ...]:
    """All ids of a References header, deduplicated in order."""
    if not value:
        return ()
    found = _ID_RE.findall(value) or [t.strip("<>") for t in value.split() if t.strip("<>")]
    return tuple(dict.fromkeys(found))[:MAX_REFERENCES]


def parse_date(value: str | None) -> datetime | None:
    """An aware datetime from an RFC 5322 date; an unknown zone ("-0000") is taken as UTC."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def normalise_subject(subject: str) -> str:
    """The subject without Re:/Fwd:/AW:/SV: prefixes or [tags], case-folded, spaces collapsed."""
    previous = None
    while previous != subject:
        previous = subject
        subject = _SUBJECT_PREFIX_RE.sub("", subject, count=1)
    return " ".join(subject.casefold().split())


def is_auto_subject(subject: str) -> bool:
    """Whether the subject reads like an out-of-office or other automatic reply."""
    return _AUTO_SUBJECT_RE.match(subject) is not None


def thread_key(
    *,
    references: Sequence[str],
    in_reply_to: str | None,
    message_id: str | None,
    subject: str,
    participants: Iterable[str],
) -> str:
    """The thread's root message id; without ids, a hash of subject and participants."""
    if references:
        return references[0]
    if in_reply_to:
        return in_reply_to
    if message_id:
        return message_id
    people = ",".join(sorted({p.lower() for p in participants}))
    digest = hashlib.sha256(f"{normalise_subject(subject)}\x00{people}".encode()).hexdigest()
    return f"subject:{digest[:32]}"


def normalise_domains(domains: Sequence[str]) -> tuple[str, ...]:
    """Own domains lower-cased, without leading "@" or dots; empty entries dropped."""
    out = (d.strip().lower().lstrip("@").strip(".") for d in domains)
    return tuple(d for d in out if d)


def _in_domains(address: str, domains: Sequence[str]) -> bool:
    """Whether the address's domain is one of the domains or a subdomain of one."""
    domain = address.rpartition("@")[2].rstrip(".").lower()
    return any(domain == d or domain.endswith("." + d) for d in domains)


def direction(sender: str | None, recipients: Sequence[str], domains: Sequence[str]) -> Direction:
    """Outbound when we sent it, inbound when it was sent to us, else unknown."""
    if sender and _in_domains(sender, domains):
        return "outbound"
    if any(_in_domains(r, domains) for r in recipients):
        return "inbound"
    return "unknown"
