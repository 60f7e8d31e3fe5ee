"""Signatures, sign-offs, legal disclaimers and gateway banners at the edges of a message."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

# A sign-off is followed by at most this many lines (name, title, company, phones, links).
MAX_SIGNATURE_LINES: Final = 12

_VALEDICTIONS: Final = (
    "best", "best regards", "best wishes", "kind regards", "kindest regards", "warm regards",
    "warmest regards", "warmly", "regards", "many thanks", "thanks", "thank you", "thanks again",
    "thanks so much", "thanks a lot", "thanks in advance", "thank you again", "thx", "cheers",
    "sincerely", "yours sincerely", "sincerely yours", "yours truly", "yours", "all the best",
    "talk soon", "speak soon", "take care", "with thanks", "with best regards", "respectfully",
    "br", "rgds", "best rgds", "have a great day", "have a good day", "have a great weekend",
    "have a good weekend", "have a nice day", "mit freundlichen grüßen", "mit freundlichen grüssen",
    "freundliche grüße", "viele grüße", "beste grüße", "liebe grüße", "lg", "mfg", "gruß", "grüße",
    "cordialement", "bien cordialement", "bien à vous", "salutations", "meilleures salutations",
    "saludos", "un saludo", "saludos cordiales", "cordiales saludos", "atentamente", "un abrazo",
    "atenciosamente", "abraços", "cumprimentos", "met vriendelijke groet",
    "met vriendelijke groeten", "vriendelijke groeten", "groeten", "groet", "med vennlig hilsen",
    "vennlig hilsen", "hilsen", "med venlig hilsen", "venlig hilsen", "mvh",
    "med vänliga hälsningar", "vänliga hälsningar", "hälsningar", "cordiali saluti",
    "distinti saluti", "saluti", "pozdrawiam", "z poważaniem", "ystävällisin terveisin",
    "terveisin",
)  # fmt: skip
_V: Final = "|".join(sorted((re.escape(v) for v in _VALEDICTIONS), key=len, reverse=True))
# "Best regards,", "Thanks, Dana", "Mit freundlichen Grüßen / Best regards".
_VALEDICTION_RE: Final = re.compile(rf"^(?:{_V})(?:\s*[/|–-]\s*(?:{_V}))*\s*[,.!–—-]*\s*", re.I)
_NAME_RE: Final = re.compile(r"^[A-ZÀ-Þ][\w'’.-]*(?:\s+[A-ZÀ-Þ][\w'’.-]*){0,3}$")
# Separators between a name and the rest of its signature line; two spaces join HTML table cells.
_CELL_SPLIT_RE: Final = re.compile(r"\s{2,}|\s*[|,/(–]\s*|\s+-\s+")
_TITLE_RE: Final = re.compile(
    r"\b(?:manager|director|head|vp|vice president|chief|officer|executive|engineer|founder|"
    r"ceo|cto|cfo|coo|cmo|cro|president|lead|counsel|partner|specialist|coordinator|"
    r"consultant|analyst|representative|superintendent|owner|administrator|assistant|"
    r"associate|principal|attorney|dpo|leiter|leiterin|geschäftsführer|gerente|directeur|"
    r"directrice|responsable|délégué|déléguée|directora)\b",
    re.I,
)
_CONTACT_RE: Final = re.compile(
    r"(?:\+|\(|\b)\d[\d ().\-/]{6,30}\d|[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+|"
    r"(?:https?://|www\.)\S+|"
    r"^(?:t|m|p|f|e|w|tel|phone|mobile|mob|cell|direct|office|fax|email|e-mail|web)\s*[.:]|"
    r"\blinkedin\b|\[cid:[^\]]*\]",
    re.I,
)
_PS_RE: Final = re.compile(r"^\s*p\.?\s?s\.?(?:\s*[:.-]|\s)", re.I)
_SIG_SEPARATOR_RE: Final = re.compile(r"^\s*(?:--|—|––)\s*$")
_DISCLAIMER_RE: Final = re.compile(
    r"\bconfidential(?:ity)? (?:notice|note|statement|warning)\b"
    r"|^\W*(?:legal )?disclaimer\b"
    r"|\b(?:this|the) (?:e-?mail|message|communication|transmission)\b[^.]{0,120}"
    r"\b(?:is|are|may be|may contain|contains?)\b[^.]{0,80}\b(?:confidential|privileged|intended)"
    r"|\bintended (?:solely |only |exclusively )?for the (?:sole )?(?:use of the )?"
    r"(?:addressee|intended recipient|individual|person|entity|named)"
    r"|\bfor the sole use of the intended recipient"
    r"|\bif you (?:are not|have received) (?:the intended recipient|this (?:e-?mail|message|"
    r"communication) in error|it in error)"
    r"|\b(?:registered|incorporated) in (?:england|scotland|wales|ireland|northern ireland)\b"
    r"|\bregistered (?:office|number|no\b)"
    r"|\bcompany (?:registration )?(?:no|number|reg)\b\.?\s*:?\s*\w{0,3}\d"
    r"|\b(?:amtsgericht|handelsregister|registergericht|registre du commerce|ust-?idnr)\b"
    r"|\bhrb\s*\d|\bgesch(?:ä|ae)ftsf(?:ü|ue)hr(?:er|erin|ung)\s*:|\bsitz(?: der gesellschaft)?\s*:"
    r"|\baccepts? no (?:liability|responsibility)\b"
    r"|\bbefore printing\b|\bprint this (?:e-?mail|message)\b"
    r"|\bunauthori[sz]ed (?:review|use|disclosure|distribution|copying)\b"
    r"|\bif you (?:are not|have received)[^.]{0,40}(?:intended|addressee|recipient|in error)"
    r"|\bviews (?:or opinions )?(?:expressed|presented) in this"
    r"|\bcannot be guaranteed to be (?:secure|error[- ]free)"
    r"|\b(?:this|the) (?:e-?mail|message|communication)[^.]{0,60}\b(?:contains?|may contain|"
    r"includes?)[^.]{0,40}(?:protected health information|\bphi\b|personal data)"
    r"|\bvat (?:reg(?:istration)?\.? )?(?:no|number)\b|\bau capital de\b"
    r"|\beste (?:mensaje|correo)[^.]{0,80}confidencial|\bdiese (?:e-?mail|nachricht)[^.]{0,80}"
    r"vertraulich|\bce (?:message|courriel|mail)[^.]{0,80}confidenti",
    re.I,
)
_GREETING_RE: Final = re.compile(
    r"^(?:(?:hi|hello|hey|dear|hola|hallo|bonjour|ciao|hej|guten (?:tag|morgen)|good "
    r"(?:morning|afternoon|evening))(?:\s+[\w'’.-]+){0,3}\s*[,!:]?|[\w'’.-]+(?: [\w'’.-]+)?,)$",
    re.I,
)
# Banners that mail gateways put above the message.
_BANNER_RE: Final = re.compile(
    r"^\W*\[?external\]?\W*$"
    r"|^\W*(?:caution|warning|external(?: email| sender)?|attention)\s*:.{0,200}"
    r"\b(?:outside|external|links|attachments|sender)\b"
    r"|\b(?:originated|came|was sent|comes) from outside (?:of )?(?:the|your|our) organi[sz]ation",
    re.I,
)


def _fold(text: str) -> str:
    """Case-folded, accent-free, quotes dropped, spaces collapsed, edge punctuation stripped."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    bare = bare.replace('"', " ").replace("'", "").replace("’", "")
    return " ".join(bare.casefold().split()).strip(" ,.;:-–—|")


def signature_names(sender_name: str | None, sender: str | None) -> tuple[str, ...]:
    """Folded forms of the sender's name that can open a signature: full, first, from address."""
    names: list[str] = []
    if sender_name:
        name = sender_name
        if "," in name:  # "Smith, Dana"
            last, _, first = name.partition(",")
            name = f"{first} {last}"
        folded = _fold(name)
        if folded:
            names.append(folded)
            first_name = folded.split()[0]
            if len(first_name) >= 2:
                names.append(first_name)
    if sender:
        parts = [p for p in re.split(r"[._-]+", sender.partition("@")[0]) if p]
        if len(parts) >= 2 and all(p.isalpha() for p in parts):
            names += [_fold(" ".join(parts)), _fold(parts[0])]
    return tuple(dict.fromkeys(n for n in names if n))


def _contact_line(line: str) -> bool:
    """A line that is mostly a phone number, address, link or a "T:"-style label."""
    if len(line) > 200 or not _CONTACT_RE.search(line):
        return False
    rest = _CONTACT_RE.sub(" ", line)
    return len(re.findall(r"[^\W\d_]{2,}", rest)) <= 3


def _sig_line(line: str, *, lenient: bool = False) -> bool:
    """A line that fits in a signature block: blank, contact details or a short label."""
    s = line.strip()
    if not s or _contact_line(s):
        return True
    words = s.split()
    if len(s) > 100 or len(words) > 14 or s.endswith(":") or _PS_RE.match(s):
        return False
    if lenient:
        # Below the sender's own name even a short sentence (a motto) is still the signature.
        return True
    return len(s) <= 80 and len(words) <= 10 and not (s[-1] in ".?!;" and len(words) > 4)


def _valediction(line: str) -> bool:
    """A sign-off line: "Best regards,", "Thanks, Dana", "Mit freundlichen Grüßen / Best"."""
    s = line.strip()
    match = _VALEDICTION_RE.match(s)
    if not match:
        return False
    rest = s[match.end() :].strip().rstrip("!.,")
    return not rest or _NAME_RE.match(rest) is not None


def _name_line(line: str, names: Sequence[str]) -> bool:
    """The sender's name alone, opening a "Name | Title" line or row, or as "Owen J. Price"."""
    s = _fold(line)
    if not s:
        return False
    head = _fold(_CELL_SPLIT_RE.split(line.strip(), maxsplit=1)[0])
    if any(s == n or head == n for n in names):
        return True
    # The first name followed by more name-like words: a middle initial or a nickname.
    return _NAME_RE.match(line.strip()) is not None and s.split()[0] in names


def _generic_name(para: Sequence[str], i: int) -> bool:
    """A capitalised name followed, in its paragraph, by a job title or contact line."""
    if not _NAME_RE.match(para[i].strip()) or len(para[i].split()) < 2:
        return False
    after = para[i + 1 :]
    return any(_TITLE_RE.search(ln) or _contact_line(ln) for ln in after)


def _signature_start(para: Sequence[str], names: Sequence[str]) -> int | None:
    """Index in the paragraph where a signature starts: a sign-off or name, then only sig lines."""
    for i, line in enumerate(para):
        if len(para) - i - 1 > MAX_SIGNATURE_LINES:
            continue
        own_name = _name_line(line, names)
        opens = own_name or _valediction(line) or _generic_name(para, i)
        if opens and all(_sig_line(ln, lenient=own_name) for ln in para[i + 1 :]):
            return i
    return None


def _disclaimer_start(para: Sequence[str]) -> int | None:
    """Index of the line where a legal or registration notice starts in the paragraph."""
    text = " ".join(ln.strip() for ln in para)
    match = _DISCLAIMER_RE.search(text) if len(text) <= 5000 else None
    if match is None:
        return None
    offset = 0
    for i, line in enumerate(para):
        offset += len(line.strip()) + 1
        if offset > match.start():
            return i
    return 0


def _paragraph_start(lines: Sequence[str], end: int) -> int:
    """The first line of the paragraph that ends just before end."""
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return start


def strip_signature(lines: list[str], *, names: Sequence[str], first: bool) -> list[str]:
    """The lines without a trailing signature, sign-off, disclaimer (and banners if first)."""
    for i, line in enumerate(lines):
        if _SIG_SEPARATOR_RE.match(line):
            lines = lines[:i]
            break
    end = len(lines)
    postscript: list[str] = []
    while True:
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        if end == 0:
            break
        start = _paragraph_start(lines, end)
        para = lines[start:end]
        if _PS_RE.match(para[0]) and not postscript:
            # "P.S." after the signature is content: set it aside and strip what is above it.
            postscript = ["", *para]
            end = start
            continue
        notice = _disclaimer_start(para)
        if notice is not None:
            # Lines above the notice in the same paragraph are looked at again (name, sign-off).
            end = start + notice
            continue
        cut = _signature_start(para, names)
        if cut is None:
            if len(para) <= 6 and all(_contact_line(ln) or not ln.strip() for ln in para):
                end = start
                continue
            break
        end = start + cut
        if cut > 0:
            break
    lines = lines[:end] + postscript
    if first:
        lines = _drop_banners(lines)
    return lines


def _drop_banners(lines: list[str]) -> list[str]:
    """Drop gateway banners ("CAUTION: This email originated from outside...") at the top."""
    while True:
        start = 0
        while start < len(lines) and not lines[start].strip():
            start += 1
        end = start
        while end < len(lines) and lines[end].strip():
            end += 1
        if start == end or not _BANNER_RE.search(" ".join(lines[start:end])):
            return lines[start:]
        lines = lines[end:]


def is_greeting_only(lines: Sequence[str]) -> bool:
    """Whether the text before a quote is at most a greeting (so the reply is below the quote)."""
    text = [ln.strip() for ln in lines if ln.strip()]
    return len(text) <= 2 and all(_GREETING_RE.match(t) for t in text)
