"""HTML bodies to readable text, once whole and once without quoted history and signatures."""

from __future__ import annotations

import copy
import html as html_lib
import re
from typing import Final

from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml import etree
from lxml.html import HtmlElement, document_fromstring

# inscriptis converts about 1 MB of markup-dense HTML a second; bigger bodies are cut (warned
# html_truncated). Mail clients' HTML for a long reply thread is well under this.
MAX_HTML_CHARS: Final = 1_000_000

# "strict" keeps paragraph breaks but adds no indentation, so spans stay plain text.
_CONFIG: Final = ParserConfig(css=CSS_PROFILES["strict"], display_links=False)
# lxml refuses control characters and lone surrogates in text it sets, so they go first.
_XML_INVALID_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TAG_RE: Final = re.compile(r"<[^<>]{0,2000}>")
_XML_DECL_RE: Final = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")
_DROP_TAGS: Final = frozenset({"head", "script", "style", "noscript", "template", "title"})
# Containers that mail clients put quoted history or the signature in.
_QUOTE_CLASSES: Final = frozenset(
    {
        "gmail_quote",  # Gmail: the quoted message (div and blockquote)
        "gmail_quote_container",
        "gmail_attr",  # Gmail: "On ... wrote:"
        "gmail_extra",
        "gmail_signature",  # Gmail: the sender's signature
        "yahoo_quoted",
        "moz-cite-prefix",  # Thunderbird: "On ... wrote:"
        "moz-signature",
        "protonmail_quote",
        "zmail_extra",
        "outlookmessageheader",
    }
)
# Outlook puts the quoted message after a header box; everything from there on is history.
_HISTORY_IDS: Final = ("divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference")
_OUTLOOK_BOX_RE: Final = re.compile(
    r"border:\s*none;\s*border-top:\s*solid\s+#[0-9a-f]{6}\s+1\.0pt;\s*padding:\s*3\.0pt", re.I
)


def _parse(html: str) -> HtmlElement | None:
    """An lxml tree for the document, or None when there is nothing to parse."""
    html = _XML_DECL_RE.sub("", html, count=1).strip()
    if not html:
        return None
    try:
        tree = document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    for el in list(tree.iter()):
        if not isinstance(el.tag, str):
            continue  # comments and processing instructions
        if el.tag in _DROP_TAGS:
            el.drop_tree()
        elif el.tag == "hr":
            # inscriptis renders <hr> as nothing; a paragraph break keeps the text apart.
            el.tag = "p"
    return tree


def _drop_from(el: HtmlElement) -> None:
    """Remove the element and everything after it in document order."""
    node: HtmlElement | None = el
    while node is not None and node.tag not in ("body", "html"):
        parent = node.getparent()
        if parent is None:
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node = parent
    if el.getparent() is not None:
        el.drop_tree()


def _is_quote(el: HtmlElement) -> bool:
    """Whether the element holds quoted history or the signature."""
    classes = {c.lower() for c in (el.get("class") or "").split()}
    if classes & _QUOTE_CLASSES or el.get("data-smartmail") == "gmail_signature":
        return True
    if (el.get("id") or "").lower() == "signature":  # Outlook on the web
        return True
    if el.tag == "blockquote":
        style = (el.get("style") or "").lower()
        # type=cite: Apple Mail and Thunderbird; a left border: Gmail and Outlook on the web.
        return (el.get("type") or "").lower() == "cite" or "border-left" in style
    return False


def _is_history_start(el: HtmlElement) -> bool:
    """Whether quoted history starts at this element (Outlook's reply header box)."""
    ident = (el.get("id") or "").lower()
    if ident.startswith(_HISTORY_IDS):
        return True
    return el.tag == "div" and _OUTLOOK_BOX_RE.search(el.get("style") or "") is not None


def _prune(tree: HtmlElement) -> bool:
    """Remove quoted history and signature containers in place; whether anything was removed."""
    quotes: list[HtmlElement] = []
    history: HtmlElement | None = None
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        if history is None and _is_history_start(el):
            history = el
        elif _is_quote(el):
            quotes.append(el)
    # Detached elements (inside an already removed one) are harmless to remove again.
    for el in quotes:
        if el.getparent() is not None:
            el.drop_tree()
    if history is not None:
        _drop_from(history)
    return bool(quotes) or history is not None


def _render(tree: HtmlElement) -> str:
    """The tree as text (inscriptis)."""
    try:
        return str(Inscriptis(tree, _CONFIG).get_text())
    except RecursionError:
        # lxml caps nesting at 256 levels, far below Python's limit, but do not crash if not.
        return " ".join(tree.itertext())


def html_to_text(html: str) -> tuple[str, str, list[str]]:
    """(full text, text without quoted history and signature blocks, warnings)."""
    warnings: list[str] = []
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
        warnings.append("html_truncated")
    try:
        tree = _parse(_XML_INVALID_RE.sub("", html))
        if tree is None:
            return "", "", warnings
        full = _render(tree)
        pruned = copy.deepcopy(tree)
        return full, _render(pruned) if _prune(pruned) else full, warnings
    except (ValueError, etree.LxmlError, RecursionError):
        # Markup lxml cannot take: keep the words rather than fail the whole message.
        text = html_lib.unescape(_TAG_RE.sub(" ", html))
        return text, text, [*warnings, "html_fallback"]
