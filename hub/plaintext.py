"""Readable plain text of HTML bodies, for every engine and plugin that stores text (mail on the
timeline, event descriptions): one copy, so a calendar provider's descriptions lose their style sheets
and scripts exactly as mail bodies do.

Public API: :func:`html_to_text`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML body.

    Hand-written on the standard library's tokenizer because the timeline needs only readable text,
    not layout; the usual converters are GPL (html2text) or pull a whole DOM library in.
    """

    BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    HIDDEN = {"script", "style", "head", "title", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body, for the timeline (the HTML itself is kept too)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the tokenizer is lenient; this is for the truly pathological
        return re.sub(r"<[^>]*>", " ", html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
