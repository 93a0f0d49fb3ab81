"""Turning a posted message into the characters the LCD can draw.

``clean`` removes what has no business on a screen (control characters,
stray surrogates) and keeps line breaks. ``substitute`` splits the text into
user-perceived characters (a base letter with its accents, an emoji with its
modifiers and joiners, a flag's pair of regional indicators) and replaces
each one the fonts cannot draw with U+FFFD, one per character as a reader
sees it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

REPLACEMENT = "\ufffd"
ZERO_WIDTH_JOINER = "\u200d"

# Line breaks in their various spellings, and spaces that may break a line.
# No-break spaces (U+00A0, U+2007, U+202F) stay inside their word.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_BREAKING_SPACES = re.compile(r"[\t\u1680\u2000-\u2006\u2008-\u200a\u205f\u3000]")


def clean(text: str) -> str:
    """``text`` with line breaks as ``\\n``, tabs as spaces, and no control characters."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _BREAKING_SPACES.sub(" ", text)
    # A lone surrogate (JSON allows "\ud800") is no character at all.
    text = "".join(REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in text)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")
    # Composed forms: a font draws "é" far better than "e" plus a floating accent.
    return unicodedata.normalize("NFC", text)


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the character before it."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (text or emoji style)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def clusters(text: str) -> Iterator[str]:
    """Split ``text`` into user-perceived characters (an approximation of UAX #29)."""
    index = 0
    while index < len(text):
        end = index + 1
        if text[index] == "\n":
            yield "\n"  # a line break takes no accents
            index = end
            continue
        if _is_regional_indicator(text[index]) and end < len(text) and _is_regional_indicator(text[end]):
            end += 1  # a flag is a pair
        while end < len(text):
            if _extends(text[end]):
                end += 1
            elif text[end] == ZERO_WIDTH_JOINER:
                end += 2  # the joiner and what it joins
            else:
                break
        yield text[index:end]
        index = end


def _ignorable(char: str) -> bool:
    # Format characters (joiners, direction marks, soft hyphens) and variation
    # selectors change how neighbours look; on their own they draw nothing.
    code = ord(char)
    return unicodedata.category(char) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def substitute(text: str, covered: Callable[[str], bool]) -> tuple[str, int]:
    """``text`` with every cluster the fonts cannot draw replaced by U+FFFD.

    Returns the new text and the number of replacements.
    """
    out: list[str] = []
    replaced = 0
    for cluster in clusters(text):
        drawable = "".join(c for c in cluster if not _ignorable(c))
        if not drawable:
            continue
        if drawable != REPLACEMENT and (drawable == "\n" or all(covered(c) for c in drawable)):
            out.append(drawable)
        else:
            out.append(REPLACEMENT)
            replaced += 1
    return "".join(out), replaced


def visible(text: str) -> bool:
    """Whether ``text`` holds anything but spaces, line breaks and control characters."""
    return any(not c.isspace() and not _ignorable(c) for c in clean(text))
