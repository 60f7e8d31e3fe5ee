"""Bytes to text with charset fallbacks, and the light whitespace clean-up every body gets."""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import Final

# Labels that mean "some 8-bit Western text": browsers (WHATWG Encoding) decode all of them as
# cp1252, which only differs from latin-1 in 0x80-0x9F, where latin-1 has unprintable controls.
_LATIN1_LABELS: Final = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "cp819"})
# Superset codecs for labels that mailers use loosely (also the WHATWG choices).
_SUPERSETS: Final = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "utf8": "utf-8",
}
# Single-byte charsets under which valid multi-byte UTF-8 almost certainly means a wrong label.
_SINGLE_BYTE: Final = frozenset({"cp1252", "iso-8859-15", "us-ascii", "ascii", "windows-1252"})

_CONTROL_RE: Final = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u00ad]")
_SPACE_RE: Final = re.compile("[\t\u00a0\u2007\u202f]")
_BREAK_RE: Final = re.compile("\r\n|[\r\x0b\x0c\u2028\u2029\x85]")
_TRAILING_RE: Final = re.compile(r"[ ]+$", re.MULTILINE)
_BLANKS_RE: Final = re.compile(r"\n{3,}")
_HTML_META_RE: Final = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I
)


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when Python does not know it."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = "cp1252" if name in _LATIN1_LABELS else _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def html_meta_charset(payload: bytes) -> str | None:
    """The charset an HTML document declares in a <meta> tag near its start."""
    match = _HTML_META_RE.search(payload[:4096])
    return match.group(1).decode("ascii") if match else None


def decode_bytes(payload: bytes, declared: str | None) -> tuple[str, str, list[str]]:
    """Decode with the declared charset, else utf-8, else cp1252; return text, codec, warnings."""
    codec = _codec(declared)
    non_ascii = not payload.isascii()
    if codec is not None:
        if non_ascii and codec in _SINGLE_BYTE and _is_utf8(payload):
            # Mislabelled UTF-8 decoded as cp1252 would show as "JosÃ©": trust the bytes.
            return payload.decode("utf-8"), "utf-8", ["charset_fallback"]
        try:
            return payload.decode(codec), codec, []
        except (UnicodeDecodeError, LookupError):
            pass
    elif not non_ascii:
        # No (or an unknown) label on plain ASCII: nothing can go wrong, so no warning.
        return payload.decode("ascii"), "ascii", []
    if _is_utf8(payload):
        return payload.decode("utf-8"), "utf-8", ["charset_fallback"]
    return payload.decode("cp1252", errors="replace"), "cp1252", ["charset_fallback"]


def _is_utf8(payload: bytes) -> bool:
    """Whether the bytes are valid UTF-8."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of a format=flowed (RFC 3676) body."""
    out: list[str] = []
    pending = ""
    pending_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        if pending and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
            pending = ""
        if body.endswith(" ") and body != "-- ":
            pending += body[:-1] if delsp else body
            pending_depth = depth
            continue
        full = pending + body
        pending = ""
        out.append(">" * depth + (" " if depth else "") + full)
    if pending:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


def clean_text(text: str) -> str:
    """Light, deterministic normalisation: LF breaks, no controls, NFC, no trailing spaces."""
    text = _BREAK_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text)
    # NFC so that "José" typed composed or decomposed gives the same string (and the same spans).
    text = unicodedata.normalize("NFC", text)
    text = _TRAILING_RE.sub("", text)
    text = _BLANKS_RE.sub("\n\n", text)
    return text.strip()
