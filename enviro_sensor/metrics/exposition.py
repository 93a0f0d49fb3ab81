"""prometheus_client's exposition, with each series' formatted text kept between scrapes.

prometheus_client formats every sample of every scrape from scratch: it
checks and escapes each label name and value, sorts the labels and joins
them, about 15 microseconds a sample here, most of a scrape's cost. Between
two scrapes only the values change; the series and their headers are the
same, and most families not even their values. ``MemoizedEncoder`` keeps
the text of each family's last samples, and asks the library to format each family header and
each series once (so the library stays the authority on escaping, sorting
and both formats) and then joins the kept text with the new values,
formatted by the library's own ``floatToGoString``. The output is the
library's, byte for byte (tests/test_exposition.py compares them).

What the memo cannot reproduce is handed to the library whole: a family
with sample timestamps, exemplars or native histograms, or (in the text
format) the OpenMetrics-only samples the library moves to families of
their own.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

Encoder = Callable[..., bytes]

# Samples the text format moves out of their family (to gauges at its end).
_MOVED_SUFFIXES = ("_created", "_gsum", "_gcount")
# The value a series is formatted with once to learn its text before the value.
_PROBE_VALUE = 0.0
_PROBE_TEXT = floatToGoString(_PROBE_VALUE) + "\n"
# Past these many kept series (or values) the memo starts over: label values
# here come from closed sets, so this only bounds a registry gone wrong.
MAX_KEPT = 20_000


def _same(old: list[Sample], new: list[Sample]) -> bool:
    """Whether two scrapes' samples write the same text (0.0 equals -0.0, but is written apart)."""
    if old is new:  # a family kept by its collector (kept_metrics)
        return True
    if old != new:
        return False
    return all(
        math.copysign(1.0, a.value) == math.copysign(1.0, b.value)
        for a, b in zip(old, new, strict=True)
        if a.value == 0
    )


class _Families:
    """A collector of fixed families: what the library's encoders are given to format."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class MemoizedEncoder:
    """One of prometheus_client's encoders (text or OpenMetrics), remembering what it formatted."""

    def __init__(self, encode: Encoder) -> None:
        self._encode = encode
        self._text_format = not encode(_Families(())).strip()  # OpenMetrics ends in "# EOF"
        self._trailer = encode(_Families(())).decode()
        # Per family: the samples of the last scrape and their text.
        self._last: dict[tuple[str, str, str, str], tuple[list[Sample], str]] = {}
        self._headers: dict[tuple[str, str, str, str], str] = {}
        self._prefixes: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
        self._values: dict[float, str] = {}
        self._lock = threading.Lock()

    def __call__(self, registry: object) -> bytes:
        """The exposition of everything ``registry`` collects, as the library would write it."""
        parts = [self._family(family) for family in registry.collect()]  # type: ignore[attr-defined]
        parts.append(self._trailer)
        return "".join(parts).encode("utf-8")

    def _family(self, family: Metric) -> str:
        """The family's text: the last scrape's if its samples are the same, else made anew."""
        key = (family.name, family.type, family.documentation, family.unit)
        last = self._last.get(key)
        if last is not None and _same(last[0], family.samples):
            return last[1]
        lines = self._memoized(family) if self._memoizable(family) else None
        if lines is None:
            text = self._library(family, family.samples)
        else:
            lines.insert(0, self._header(family))
            text = "".join(lines)
        self._keep(self._last, key, (family.samples, text))
        return text

    def _memoized(self, family: Metric) -> list[str] | None:
        """The family's sample lines from the kept text, or None if one cannot be kept."""
        lines = []
        for sample in family.samples:
            prefix = self._prefix(family, sample)
            if prefix is None:
                return None
            lines.append(f"{prefix}{self._value(sample.value)}\n")
        return lines

    def _memoizable(self, family: Metric) -> bool:
        for sample in family.samples:
            if sample.timestamp is not None or sample.exemplar or sample.native_histogram:
                return False
            if sample.value is None:
                return False
            if self._text_format and sample.name.endswith(_MOVED_SUFFIXES):
                return False
        return True

    def _library(self, family: Metric, samples: list[Sample]) -> str:
        """What the library writes for ``family`` with ``samples``, without the trailer."""
        copy = Metric(family.name, family.documentation, family.type, family.unit)
        copy.samples = samples
        text = self._encode(_Families((copy,))).decode("utf-8")
        return text[: len(text) - len(self._trailer)]

    def _header(self, family: Metric) -> str:
        key = (family.name, family.type, family.documentation, family.unit)
        header = self._headers.get(key)
        if header is None:
            header = self._library(family, [])
            self._keep(self._headers, key, header)
        return header

    def _prefix(self, family: Metric, sample: Sample) -> str | None:
        """The series' text before its value: name, labels and the space."""
        key = (family.type, sample.name, tuple(sample.labels.items()))
        prefix = self._prefixes.get(key)
        if prefix is None:
            probe = Sample(sample.name, sample.labels, _PROBE_VALUE)
            line = self._library(family, [probe])[len(self._header(family)) :]
            if not line.endswith(" " + _PROBE_TEXT):
                return None  # a layout this memo does not know: the library formats it
            prefix = line[: len(line) - len(_PROBE_TEXT)]
            self._keep(self._prefixes, key, prefix)
        return prefix

    def _value(self, value: float) -> str:
        # Zero is left out of the memo: 0.0 and -0.0 are one key but two texts.
        if not value or value != value:  # zero, or NaN (never equal to itself)
            return floatToGoString(value)
        text = self._values.get(value)
        if text is None:
            text = floatToGoString(value)
            self._keep(self._values, value, text)
        return text

    def _keep(self, memo: dict, key: object, text: object) -> None:  # type: ignore[type-arg]
        with self._lock:
            if len(memo) >= MAX_KEPT:
                memo.clear()
            memo[key] = text
