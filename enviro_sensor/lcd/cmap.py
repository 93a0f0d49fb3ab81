"""Which characters a TrueType/OpenType font can draw, read from its ``cmap`` table.

Pillow draws a missing character as the font's ``.notdef`` glyph (often an
empty space), so the renderer asks this module first and shows a visible
replacement instead. Only the Unicode subtables are read: format 12 (full
Unicode) when present, else format 4 (the Basic Multilingual Plane), as the
OpenType specification's ``cmap`` chapter describes them.
"""

from __future__ import annotations

import struct

# (platform, encoding) pairs of Unicode subtables, best first: Windows full
# Unicode, Unicode full repertoire, Windows BMP, Unicode BMP.
_UNICODE_SUBTABLES = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3))


class FontFormatError(ValueError):
    """The data is not a font with a usable Unicode ``cmap``."""


def covered_codepoints(font_data: bytes) -> frozenset[int]:
    """The code points the font maps to a real glyph (not glyph 0, ``.notdef``)."""
    try:
        cmap = _table(font_data, b"cmap")
        return _unicode_coverage(cmap)
    except struct.error as err:
        raise FontFormatError(f"truncated font data: {err}") from None


def has_table(font_data: bytes, tag: bytes) -> bool:
    """Whether the font has the table ``tag`` (``b"kern"``: pair kerning, which Pillow's basic layout applies)."""
    try:
        _table(font_data, tag)
    except (FontFormatError, struct.error):
        return False
    return True


def _table(font_data: bytes, tag: bytes) -> bytes:
    if font_data[:4] == b"ttcf":
        # A collection: use its first font, as Pillow does with index 0.
        (first,) = struct.unpack_from(">I", font_data, 12)
    else:
        first = 0
    (count,) = struct.unpack_from(">H", font_data, first + 4)
    for record in range(count):
        name, _checksum, offset, length = struct.unpack_from(">4sIII", font_data, first + 12 + 16 * record)
        if name == tag:
            return font_data[offset : offset + length]
    raise FontFormatError(f"the font has no {tag.decode()} table")


def _unicode_coverage(cmap: bytes) -> frozenset[int]:
    _version, count = struct.unpack_from(">HH", cmap, 0)
    subtables: dict[tuple[int, int, int], int] = {}
    for record in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * record)
        (fmt,) = struct.unpack_from(">H", cmap, offset)
        subtables.setdefault((platform, encoding, fmt), offset)
    for fmt, parse in ((12, _format12), (4, _format4)):
        for platform, encoding in _UNICODE_SUBTABLES:
            offset = subtables.get((platform, encoding, fmt))
            if offset is not None:
                return frozenset(parse(cmap, offset))
    raise FontFormatError("the font has no Unicode cmap subtable of format 4 or 12")


def _format12(cmap: bytes, offset: int) -> set[int]:
    # Groups of consecutive code points mapped to consecutive glyphs.
    (groups,) = struct.unpack_from(">I", cmap, offset + 12)
    covered: set[int] = set()
    for group in range(groups):
        start, end, glyph = struct.unpack_from(">III", cmap, offset + 16 + 12 * group)
        first = start if glyph else start + 1  # glyph 0 is .notdef
        covered.update(range(first, min(end, 0x10FFFF) + 1))
    return covered


def _format4(cmap: bytes, offset: int) -> set[int]:
    # Segments of code points; each maps through a delta or a glyph array.
    (seg_count_x2,) = struct.unpack_from(">H", cmap, offset + 6)
    segments = seg_count_x2 // 2
    ends_at = offset + 14
    starts_at = ends_at + seg_count_x2 + 2  # past the reserved pad
    deltas_at = starts_at + seg_count_x2
    range_offsets_at = deltas_at + seg_count_x2
    covered: set[int] = set()
    for segment in range(segments):
        (end,) = struct.unpack_from(">H", cmap, ends_at + 2 * segment)
        (start,) = struct.unpack_from(">H", cmap, starts_at + 2 * segment)
        (delta,) = struct.unpack_from(">h", cmap, deltas_at + 2 * segment)
        range_offset_at = range_offsets_at + 2 * segment
        (range_offset,) = struct.unpack_from(">H", cmap, range_offset_at)
        for code in range(start, min(end, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                # The offset counts from its own position in the table.
                (glyph,) = struct.unpack_from(">H", cmap, range_offset_at + range_offset + 2 * (code - start))
                if glyph:
                    glyph = (glyph + delta) & 0xFFFF
            if glyph:
                covered.add(code)
    return covered
