"""Spellings of a vendor name: normalised keys, spoken numbers, initialisms, a phonetic key."""

from __future__ import annotations

import re

_UNITS = "zero one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _two_digits(n: int) -> str:
    if n < 10:
        return _UNITS[n]
    if n < 20:
        return _TEENS[n - 10]
    return _TENS[n // 10] + (_UNITS[n % 10] if n % 10 else "")


def spoken_variants(key: str) -> set[str]:
    """The key plus its numbers spoken: 'dynamics365' -> 'dynamicsthreesixtyfive' ..."""
    variants = {key}
    for m in re.finditer(r"\d{2,3}", key):
        n = int(m.group())
        if n < 100:
            spoken = {_two_digits(n)}
        else:
            hundreds, rest = _UNITS[n // 100], _two_digits(n % 100)
            spoken = {hundreds + rest, hundreds + "hundred" + rest, hundreds + "hundredand" + rest}
        variants |= {key[: m.start()] + s + key[m.end() :] for s in spoken}
    return variants


_PHONETIC_RULES = (
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck|q|c(?![eiy])"), "k"),
    (re.compile(r"c"), "s"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "f"),
    (re.compile(r"dg"), "j"),
)


def phonetic_key(key: str) -> str:
    """A rough sound-alike key: 'zoeho' and 'zoho' give 'sh', 'pipedryv' gives 'ppdrf'."""
    if not key:
        return key
    s = key
    for pattern, repl in _PHONETIC_RULES:
        s = pattern.sub(repl, s)
    # Vowels carry most of a recogniser's spelling noise; keep only the first letter's.
    head, tail = s[0], re.sub(r"[aeiouyw]", "", s[1:])
    out = head
    for ch in tail:
        if ch != out[-1]:
            out += ch
    return out


def initialisms(surface: str) -> set[str]:
    """Short forms of a name with a number: 'Dynamics 365' -> 'd365' (as people write it)."""
    words = surface.split()
    return {
        normalise(words[i][:1] + words[i + 1])
        for i in range(len(words) - 1)
        if words[i + 1].isdigit() and words[i][:1].isalpha()
    }


def normalise(text: str) -> str:
    """Lowercase letters and digits only: 'Sales Force' -> 'salesforce', 'Gong.io' -> 'gongio'."""
    return re.sub(r"[^a-z0-9]", "", text.lower())
