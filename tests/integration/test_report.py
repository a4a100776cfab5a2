"""Board reports as a person sees them (issue 13): `setupmon report` run as a command, the page
rendered by headless Chromium (screenshot, DOM), the PDF read back, and every number checked
against what `setupmon evaluate` says about the same events. Then the same report from the
topics of a real worker fed those events, and `setupmon publish`.
"""

from __future__ import annotations

import csv
import html
import json
import re
import struct
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from core.codec import loads
from core.settings import Settings
from core.time import LiveCalendar
from reports.scope import Period
from setupmon.report_browser import dump_dom, find_chromium, screenshot
from setupmon.simulator import plan_events
from setupmon.sites import load_sites, read_sites
from tests.integration.conftest import worker_env
from tests.integration.kafka_io import produce, read_all, run, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SITES_FILE = ROOT / "deploy" / "sites" / "sample-sites.csv"
PERIOD = Period(date(2025, 4, 1), date(2025, 9, 30))
PREVIOUS = Period(date(2024, 10, 1), date(2025, 3, 31))
SITE_KPIS = ("site_open", "first_participant", "approval_to_first_participant")


# -- the events and what `evaluate` says about them ---------------------------------------


def plan(*, late: bool = False) -> list[tuple[bytes, bytes]]:
    """The simulator's events (late entries, corrections, duplicates, malformed lines) for 40
    studies at 16 sites of three regions, as far as they were recorded by the period's end
    (`late`: and those entered after it)."""
    sites = read_sites(SITES_FILE)
    chosen = [s.site_id for s in sites if s.region in ("London", "Midlands", "North West")][:16]
    planned = plan_events(chosen, studies=40, first_day=date(2024, 9, 1), span_days=300, seed=7)
    return [(p.key, p.value) for p in planned if late or p.recorded_day <= PERIOD.end]


def setupmon(*arguments: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "setupmon.cli", *arguments],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, f"setupmon {' '.join(arguments)}:\n{done.stderr}"
    return done.stdout


@dataclass
class Expected:
    """The report's numbers, worked out here from `evaluate`'s clocks."""

    clocks: list[dict[str, Any]]
    regions: dict[str, str]

    def mine(self, scope: str | None) -> list[dict[str, Any]]:
        return [c for c in self.clocks if scope is None or c["site_id"] == scope]

    def of_region(self, region: str) -> list[dict[str, Any]]:
        return [c for c in self.clocks if c["site_id"] and self.regions.get(c["site_id"]) == region]

    @staticmethod
    def tally(clocks: Iterable[dict[str, Any]], kpi: str, period: Period) -> tuple[int, int]:
        stopped = [
            c["state"]
            for c in clocks
            if c["kpi"] == kpi
            and c["state"] in ("met", "missed")
            and period.start <= date.fromisoformat(c["stop_date"]) <= period.end
        ]
        return stopped.count("met"), stopped.count("missed")

    def figures(self, site: str | None) -> dict[str, str]:
        """data-figure name -> text, for the compliance table and the breached-now count."""
        mine = self.mine(site)
        groups = {"period": (mine, PERIOD), "previous": (mine, PREVIOUS)}
        if site is not None:
            groups["region"] = (self.of_region(self.regions[site]), PERIOD)
            groups["england"] = (self.clocks, PERIOD)
        out: dict[str, str] = {}
        for kpi in SITE_KPIS:
            for name, (clocks, period) in groups.items():
                met, missed = self.tally(clocks, kpi, period)
                out[f"compliance.{kpi}.{name}"] = percent(met, missed)
                if name == "period":
                    out[f"met.{kpi}.period"] = f"{met:,}"
                    out[f"missed.{kpi}.period"] = f"{missed:,}"
        out["breached-now.count"] = f"{sum(1 for c in mine if c['state'] == 'breached'):,}"
        return out

    def listed(self, site: str | None) -> dict[str, int | None]:
        """Every clock the exceptions table must list (breached now, missed in the period, or
        invalid), with its days over the limit."""
        return {
            f"{c['study_id']}|{c['site_id'] or '-'}|{c['kpi']}": (
                None if c["state"] == "invalid" else c["elapsed_days"] - c["limit_days"]
            )
            for c in self.mine(site)
            if c["state"] in ("breached", "invalid")
            or (
                c["state"] == "missed"
                and PERIOD.start <= date.fromisoformat(c["stop_date"]) <= PERIOD.end
            )
        }


def percent(met: int, missed: int) -> str:
    return "no clocks" if met + missed == 0 else f"{100 * met / (met + missed):.1f}%"


@dataclass
class Made:
    events: Path
    out: Path
    expected: Expected
    trust: str


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """Events file, evaluate's JSON, and a trust report (HTML + PDF) and an England report."""
    folder = tmp_path_factory.mktemp("report")
    events = folder / "events.jsonl"
    events.write_bytes(b"".join(value + b"\n" for _, value in plan()))
    document = json.loads(setupmon("evaluate", "--events", str(events), "--as-of", str(PERIOD.end)))
    regions = {site.site_id: site.region for site in read_sites(SITES_FILE)}
    expected = Expected(document["clocks"], regions)
    # the trust with the most breached clocks: the most to check
    breached = Counter(
        c["site_id"] for c in expected.clocks if c["state"] == "breached" and c["site_id"]
    )
    trust = breached.most_common(1)[0][0]
    out = folder / "out"
    period = ["--from", str(PERIOD.start), "--to", str(PERIOD.end), "--sites", str(SITES_FILE)]
    setupmon("report", "--site", trust, *period, "--events", str(events), "--out", str(out))
    setupmon("report", *period, "--events", str(events), "--out", str(out), "--no-pdf")
    return Made(events, out, expected, trust)


def page(made: Made, scope: str, kind: str = "html") -> Path:
    return made.out / f"report-{scope}-{PERIOD.start}-{PERIOD.end}.{kind}"


def figures_in(markup: str) -> dict[str, str]:
    found = re.findall(r'data-figure="([^"]+)"[^>]*>([^<]*)<', markup)
    return {name: html.unescape(text).strip() for name, text in found}


def clocks_in(markup: str) -> set[str]:
    return set(re.findall(r'data-clock="([^"]+)"', markup))


def count(text: str) -> int:
    """A count as the page writes it: digits in groups of three ("5,331"), nothing else."""
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    return int(text.replace(",", ""))


# -- the page in a browser ----------------------------------------------------------------


@pytest.mark.parametrize("scope", ["trust", "england"])
def test_the_rendered_page_shows_evaluates_numbers(made: Made, scope: str) -> None:
    site = made.trust if scope == "trust" else None
    dom = dump_dom(page(made, made.trust if site else "england"))
    shown = figures_in(dom)
    expected = made.expected.figures(site)
    assert {name: shown.get(name) for name in expected} == expected
    wanted = made.expected.listed(site)
    listed = clocks_in(dom)
    if site is not None:  # a trust's report lists every one
        assert listed == set(wanted)
    else:  # England lists the 200 most days over; the counts stay whole
        assert listed <= set(wanted) and len(listed) == min(200, len(wanted)) < len(wanted)
        over = [wanted[key] if wanted[key] is not None else -(10**6) for key in wanted]
        least_listed = min(wanted[key] or -(10**6) for key in listed)
        assert sorted(over, reverse=True)[len(listed) - 1] == least_listed
        assert f"{len(wanted) - len(listed):,} more not listed" in dom
    assert count(expected["breached-now.count"]) > 0  # the scenario has something to show
    # the sections a board reads, each with its chart or table
    for section in ("compliance", "trend", "distribution", "exceptions", "timeliness", "method"):
        assert re.search(rf'<section id="{section}"><h2>[^<]+</h2>', dom), section
    assert dom.count("<svg") >= 5 and dom.count("<table") >= 3
    assert "http://" not in dom and "https://" not in dom  # nothing fetched, nothing linked


# Run inside a copy of the page (the report itself has no script): the captions of the tables
# wider than their section, i.e. cut off or scrolling sideways, and the window's width.
OVERFLOW_PROBE = (
    "<script>document.body.setAttribute('data-probe', innerWidth + '|' + "
    "Array.from(document.querySelectorAll('table')).filter(t => t.getBoundingClientRect()"
    ".right > t.closest('section').getBoundingClientRect().right + 1)"
    ".map(t => t.caption.textContent).join('|'))</script>"
)


@pytest.mark.parametrize("width", [1100, 1000])
def test_every_table_fits_the_page_on_a_laptop_screen(
    made: Made, tmp_path: Path, width: int
) -> None:
    for scope in (made.trust, "england"):
        probe = tmp_path / f"probe-{scope}.html"
        markup = page(made, scope).read_text(encoding="utf-8")
        probe.write_text(markup.replace("</body>", OVERFLOW_PROBE + "</body>"), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - a fixed program on our own file
            [
                find_chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--window-size={width},1400",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        found = re.search(r'data-probe="([^"]*)"', done.stdout)
        assert found is not None, "the probe did not run"
        shown_width, *too_wide = html.unescape(found.group(1)).split("|")
        assert (int(shown_width), too_wide) == (width, [""]), scope


def test_the_screenshot_is_a_page_not_a_blank(made: Made, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    screenshot(page(made, made.trust), png, width=1100, height=1400)
    width, height, pixels = decode_png(png.read_bytes())
    assert (width, height) == (1100, 1400)
    colours = Counter(pixels)
    _, most = colours.most_common(1)[0]
    assert len(colours) > 300, "a page of text and charts has many colours (anti-aliasing)"
    assert most < 0.95 * len(pixels), "almost every pixel is the background"
    nhs_blue = sum(n for (r, g, b), n in colours.items() if r < 40 and 70 < g < 120 and b > 150)
    assert nhs_blue > 500, "no NHS blue: the heading or the charts are missing"


def test_the_pdf_carries_the_same_numbers(made: Made) -> None:
    reader = PdfReader(page(made, made.trust, "pdf"))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 2
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=2)  # A4: 210 mm
    flat = re.sub(r"\s+", " ", text)
    for name, value in made.expected.figures(made.trust).items():
        if name.startswith("compliance.") and name.endswith(".period") and value != "no clocks":
            assert value in flat, name
    for listed in made.expected.listed(made.trust):
        assert listed.split("|")[0] in flat, listed
    assert "file://" not in flat  # no browser header or footer


# -- publish ------------------------------------------------------------------------------


def test_publish_equals_evaluate(made: Made, tmp_path: Path) -> None:
    period = ["--from", str(PERIOD.start), "--to", str(PERIOD.end), "--sites", str(SITES_FILE)]
    setupmon("publish", *period, "--events", str(made.events), "--out", str(tmp_path))
    with (tmp_path / "site-performance.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["site_name"] for row in rows)
    for row in rows:
        mine = made.expected.mine(row["site_id"])
        met, missed = Expected.tally(mine, row["kpi"], PERIOD)
        assert (int(row["met"]), int(row["missed"])) == (met, missed), row
        compliance = "" if met + missed == 0 else str(round(met / (met + missed), 4))
        assert row["compliance"] == compliance
    with (tmp_path / "study-setup-times.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert "sponsor_id" not in header
    aggregate = json.loads((tmp_path / "aggregate.json").read_text(encoding="utf-8"))
    by_kpi = {row["kpi"]: row for row in aggregate}  # rows, as the CSV
    for kpi in ("combined_review", "study_setup"):
        met, missed = Expected.tally(made.expected.mine(None), kpi, PERIOD)
        assert (by_kpi[kpi]["met"], by_kpi[kpi]["missed"]) == (met, missed)


# -- from the broker ----------------------------------------------------------------------


def status_matches(settings: Settings, wanted: dict[str, set[tuple[Any, ...]]]) -> bool:
    """Whether `study-status` holds, for every study, the clocks evaluate gives as of today."""
    latest = {
        r.key.decode(): loads(r.value)
        for r in run(read_all(settings, settings.topic("study-status")))
        if r.key is not None and r.value is not None
    }
    return all(
        study in latest and shape(latest[study]["clocks"]) == clocks
        for study, clocks in wanted.items()
    )


def shape(clocks: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(c["kpi"], c["site_id"], c["state"], c["start_date"], c["stop_date"]) for c in clocks}


def test_a_report_from_the_topics_equals_the_report_from_the_file(
    settings: Settings, start_worker: Any, tmp_path: Path
) -> None:
    """A worker fed every event, late entries included; its topics give the report that the
    file gives with --with-late-entries (both take today's clocks back to the period end)."""
    events = tmp_path / "events.jsonl"
    everything = plan(late=True)
    events.write_bytes(b"".join(value + b"\n" for _, value in everything))
    run(load_sites(settings, read_sites(SITES_FILE)))
    start_worker(settings)
    run(produce(settings, settings.topic("milestones"), everything))
    today = LiveCalendar().today()
    now = json.loads(setupmon("evaluate", "--events", str(events), "--as-of", str(today)))
    wanted: dict[str, set[tuple[Any, ...]]] = {}
    for clock in now["clocks"]:
        wanted.setdefault(clock["study_id"], set()).update(shape([clock]))
    wait_until(lambda: status_matches(settings, wanted), timeout=60, what="the worker's status")

    trust = _busiest_site(now["clocks"])
    common = ["report", "--site", trust, "--from", str(PERIOD.start), "--to", str(PERIOD.end)]
    pages = {}
    for name in ("topics", "file"):
        out = tmp_path / name
        source = (
            ["--events", str(events), "--sites", str(SITES_FILE), "--with-late-entries"]
            if name == "file"
            else []
        )
        printed = setupmon(
            *common, *source, "--out", str(out), "--no-pdf", env=worker_env(settings)
        )
        pages[name] = Path(printed.strip()).read_text(encoding="utf-8")
    assert figures_in(pages["topics"]) == figures_in(pages["file"])
    assert clocks_in(pages["topics"]) == clocks_in(pages["file"])
    assert count(figures_in(pages["topics"])["timeliness.all.count"]) > 0
    assert settings.topic("study-status") in pages["topics"]  # the source is named


def _busiest_site(clocks: list[dict[str, Any]]) -> str:
    return Counter(c["site_id"] for c in clocks if c["site_id"]).most_common(1)[0][0]


# -- a PNG, read without an imaging library -----------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                near = min(
                    (abs(guess - left), 0, left),
                    (abs(guess - up), 1, up),
                    (abs(guess - corner), 2, corner),
                )
                line[i] = (line[i] + near[2]) & 0xFF
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, channels)]  # type: ignore[misc]
        previous = line
    return width, height, pixels
