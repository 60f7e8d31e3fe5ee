"""The parsed-email record and the error raised for messages that cannot be parsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EmailErrorCode = Literal["empty_email", "too_large", "not_an_email", "no_body", "malformed_email"]
Direction = Literal["outbound", "inbound", "unknown"]
BodyType = Literal["plain", "html"]


class EmailError(Exception):
    """An input message that cannot be parsed, with a stable machine-readable code."""

    def __init__(self, code: EmailErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: EmailErrorCode = code
        self.message = message

    def __reduce__(self) -> tuple[type[EmailError], tuple[EmailErrorCode, str]]:
        """Pickle by code and message, so the error survives a trip between worker processes."""
        return (EmailError, (self.code, self.message))


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """One email: headers, threading, direction, the full body and only the new text in it."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    thread_key: str
    subject: str
    sender: str | None
    sender_name: str | None
    recipients: tuple[str, ...]
    sent_at: datetime | None
    direction: Direction
    # What later code analyses and quotes with [begin, end) spans: only what the sender wrote in
    # this message, without quotes, reply headers, signatures or disclaimers.
    new_text: str
    # The decoded body (HTML already converted to text) before anything was stripped.
    full_text: str
    body_type: BodyType
    # The charset the body was decoded with, and the one the message declared (None if missing).
    charset: str
    declared_charset: str | None
    # Out-of-office and other automatic replies: new_text is kept, but nobody wrote it.
    auto_reply: bool
    warnings: tuple[str, ...]
