"""Counters and histograms for the worker's hot path, without a lock per increment.

prometheus-client's `Counter` and `Histogram` take a `threading.Lock` on every `inc` and
`observe`, and look a bucket up by a linear scan. A worker counts several things per event
(its outcome, its entry delay; each alert and stopped clock), all on the event loop's one
thread, while Faust's consumer thread competes for the interpreter: the locks and scans cost
a fifth of the study stage's time. These keep plain numbers per label set, which a
`Collector` turns into the usual exposition (`_total`; `_bucket`, `_count`, `_sum`) when
Prometheus scrapes. Call them from one thread (the event loop); a scrape reads a snapshot.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

Labels = tuple[str, ...]
Child = TypeVar("Child")


class _Labelled(Collector, Generic[Child]):
    """A metric family with one child per label set, made on first use and then looked up."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[Labels, Child] = {}

    def labels(self, *values: str) -> Child:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
            child = self._children[values] = self._new_child(values)
        return child

    def _new_child(self, values: Labels) -> Child:
        raise NotImplementedError


class TallyChild:
    __slots__ = ("_cell",)

    def __init__(self, cell: list[float]) -> None:
        self._cell = cell

    def inc(self, amount: float = 1.0) -> None:
        self._cell[0] += amount


class Tally(_Labelled[TallyChild]):
    """A counter: `tally.labels(*values).inc()`; exposed as `<name>_total`."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        super().__init__(name, documentation, labelnames)
        self._cells: dict[Labels, list[float]] = {}

    def _new_child(self, values: Labels) -> TallyChild:
        cell = self._cells[values] = [0.0]
        return TallyChild(cell)

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, cell in self._cells.items():
            family.add_metric(values, cell[0])
        yield family


class HistogramChild:
    __slots__ = ("_bounds", "_counts", "_sum")

    def __init__(self, bounds: tuple[float, ...], counts: list[int], total: list[float]) -> None:
        self._bounds = bounds
        self._counts = counts  # per bucket, not cumulative; the last is +Inf
        self._sum = total

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum[0] += value


class DayHistogram(_Labelled[HistogramChild]):
    """A histogram over fixed upper bounds: `histogram.labels(*values).observe(days)`."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def _new_child(self, values: Labels) -> HistogramChild:
        counts, total = self._series[values] = ([0] * (len(self.bounds) + 1), [0.0])
        return HistogramChild(self.bounds, counts, total)

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        edges = [floatToGoString(bound) for bound in self.bounds] + ["+Inf"]
        for values, (counts, total) in self._series.items():
            cumulative, buckets = 0, []
            for edge, count in zip(edges, counts, strict=True):
                cumulative += count
                buckets.append((edge, float(cumulative)))
            family.add_metric(list(values), buckets, total[0])
        yield family
