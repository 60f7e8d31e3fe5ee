"""The new text of a message: quoted history, reply headers, signatures and disclaimers removed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import quotequail

from nlp.email.signature import is_greeting_only, strip_signature

# Only this much of a body is searched for the new text: quotequail tries ~35 patterns a line,
# and no real reply has thousands of lines above the quoted history.
MAX_REPLY_CHARS: Final = 200_000
MAX_REPLY_LINES: Final = 2_500
# quotequail is re-run after each ">" block it stops at; more blocks than this are not searched.
MAX_SCANS: Final = 20

_SEPARATOR_RE: Final = re.compile(r"^\s*[-_=*~]{5,}\s*$")
# Outlook and other clients quote without ">": a From: line followed by Sent:/To:/Subject: lines.
_FROM_RE: Final = re.compile(
    r"^\s*[*_]*(?:from|von|de|fra|från|van|da|od|от|lähettäjä|feladó)\s*[*_]*\s*:[*_]*\s*\S",
    re.IGNORECASE,
)
_HEADER_RE: Final = re.compile(
    r"^\s*[*_]*(?:sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|à|objet|enviado|"
    r"fecha|para|asunto|sendt|til|emne|skickat|till|ämne|verzonden|aan|onderwerp|inviato|a|"
    r"oggetto|data|do|temat|wysłano|отправлено|кому|тема|lähetetty|vastaanottaja|aihe)"
    r"\s*[*_]*\s*:",
    re.IGNORECASE,
)
_ATTRIBUTION_RE: Final = re.compile(
    r"(?:\b(?:wrote|writes|schrieb|a écrit|escribió|escreveu|schreef|skrev|ha scritto|"
    r"napisał|kirjoitti|написал(?:\(а\))?|yazdı)\s*[:：]$)"
    r"|(?:^(?:on|am|le|el|em|op|den|il|w dniu|dne|på)\b.{0,300}\d.{0,300}[:：]$)"
    r"|(?:^.{0,200}@.{0,200}[:：]$)",
    re.IGNORECASE,
)
_OPENER_RE: Final = re.compile(r"^\s*(?:on|am|le|el|em|op|den|il|w dniu|dne|på)\b", re.I)
_SENT_FROM_RE: Final = re.compile(
    r"^\s*(?:sent from (?:my |outlook|mail|yahoo|samsung|aol)|get outlook for |sent (?:with|via) |"
    r"von meinem .{1,40} gesendet|envoyé de mon |enviado desde mi |inviato da(?:l mio)? |"
    r"verzonden (?:met|vanaf) |skickat från |sendt fra ).{0,60}$",
    re.IGNORECASE,
)


def _quoted(line: str) -> bool:
    """Whether the line is ">"-quoted."""
    return line.lstrip(" ").startswith(">")


def _block_end(lines: Sequence[str], start: int, stop: int) -> int:
    """The index after the ">" block that starts at start, blank lines inside it included."""
    i = start
    while i < stop:
        if _quoted(lines[i]):
            i += 1
            continue
        j = i
        while j < stop and not lines[j].strip():
            j += 1
        if j > i and j < stop and _quoted(lines[j]):
            i = j
            continue
        # A quoted line wrapped by a mailer that forgot the ">" on its continuation.
        if j == i and i + 1 < stop and _quoted(lines[i - 1]) and _quoted(lines[i + 1]):
            i += 1
            continue
        break
    return i


def _intro_is_marked(lines: Sequence[str], idx: int) -> bool:
    """Whether the intro at idx is followed by ">"-quoted lines (else it quotes to the end)."""
    k = idx + 1
    # A wrapped intro: "On ..., Dana Smith <dana@x>" / "wrote:".
    wrapped = not lines[idx].endswith(":")
    if wrapped and k < len(lines) and lines[k].strip() and not _quoted(lines[k]):
        k += 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    return k < len(lines) and _quoted(lines[k])


def _quotequail_cut(lines: list[str]) -> int | None:
    """The first reply intro or forward separator that is not followed by ">" lines."""
    # Intros inside ">" blocks are history anyway; blank lines cost quotequail nothing.
    masked = ["" if _quoted(ln) else ln for ln in lines]
    start = 0
    for _ in range(MAX_SCANS):
        rest = masked[start:]
        parts = quotequail.quote("\n".join(rest), quote_intro_line=True, limit=len(rest) + 1)
        if len(parts) < 2:
            return None
        head = parts[0][1]
        idx = start + (head.count("\n") + 1 if head else 0)
        if idx >= len(lines):
            return None
        if _quoted(lines[idx]):
            start = _block_end(lines, idx, len(lines))
        elif _intro_is_marked(lines, idx):
            k = idx + 1
            while k < len(lines) and not _quoted(lines[k]):
                k += 1
            start = _block_end(lines, k, len(lines))
        else:
            return idx
        if start >= len(lines):
            return None
    return None


def _header_block_cut(lines: Sequence[str]) -> int | None:
    """The first unquoted From: line followed by at least two more reply-header lines."""
    for i, line in enumerate(lines):
        if not _FROM_RE.match(line) or _quoted(line):
            continue
        following = [ln for ln in lines[i + 1 : i + 8] if ln.strip()][:5]
        if sum(1 for ln in following if _HEADER_RE.match(ln)) >= 2:
            return i
    return None


def _history_cut(lines: list[str]) -> int:
    """Where unmarked quoted history starts (len(lines) when there is none)."""
    cuts = [c for c in (_quotequail_cut(lines), _header_block_cut(lines)) if c is not None]
    cut = min(cuts) if cuts else len(lines)
    # "-----Original Message-----" or "_____" rules and blank lines before a header belong to it.
    while cut > 0 and (not lines[cut - 1].strip() or _SEPARATOR_RE.match(lines[cut - 1])):
        cut -= 1
    return cut


def _drop_attribution(segment: list[str]) -> None:
    """Remove the "On ... wrote:" lines (wrapped over up to three lines) ending the segment."""
    end = len(segment)
    while end > 0 and not segment[end - 1].strip():
        end -= 1
    best: int | None = None
    for size in (1, 2, 3):
        start = end - size
        if start < 0 or not all(ln.strip() for ln in segment[start:end]):
            break
        joined = " ".join(ln.strip() for ln in segment[start:end])
        if len(joined) > 600 or not _ATTRIBUTION_RE.search(joined):
            continue
        # "Dana <dana@x> wrote:" alone, or a wrapped intro from its "On ..." line; never more.
        opener = _OPENER_RE.match(segment[start]) is not None
        if size == 1 or opener:
            best = start
        if opener:
            break
    if best is not None:
        del segment[best:]


def _segments(lines: list[str]) -> tuple[list[list[str]], int]:
    """The unquoted runs of lines between ">" blocks, and the number of blocks."""
    segments: list[list[str]] = [[]]
    blocks = 0
    i = 0
    while i < len(lines):
        if _quoted(lines[i]):
            _drop_attribution(segments[-1])
            i = _block_end(lines, i, len(lines))
            blocks += 1
            segments.append([])
            continue
        segments[-1].append(lines[i])
        i += 1
    return segments, blocks


def new_text(text: str, *, names: Sequence[str]) -> tuple[str, list[str]]:
    """The text the sender wrote in this message (cleaned text in), and warnings."""
    warnings: list[str] = []
    truncated = len(text) > MAX_REPLY_CHARS
    if truncated:
        text = text[: text.rfind("\n", 0, MAX_REPLY_CHARS) + 1 or MAX_REPLY_CHARS]
    lines = text.split("\n")
    if len(lines) > MAX_REPLY_LINES:
        truncated = True
        lines = lines[:MAX_REPLY_LINES]
    lines = [ln for ln in lines if not _SENT_FROM_RE.match(ln)]
    while lines and not lines[-1].strip():
        lines.pop()
    cut = _history_cut(lines)
    if truncated and cut == len(lines):
        warnings.append("new_text_truncated")
    segments, blocks = _segments(lines[:cut])
    if blocks and not (blocks >= 2 or is_greeting_only(segments[0])):
        # Top-posting: what follows the quote is the quoted thread's tail or a server footer.
        segments = segments[:-1]
    kept = [strip_signature(seg, names=names, first=(n == 0)) for n, seg in enumerate(segments)]
    parts = ["\n".join(seg).strip("\n") for seg in kept]
    return "\n\n".join(p for p in parts if p.strip()), warnings
