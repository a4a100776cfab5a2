"""Writes the sample exports in this folder (synthetic; run it again to remake them).

    .venv/bin/python deploy/samples/make_samples.py

- `cpms-studies.csv`: a CPMS study export of six commercial-looking studies (one marked
  non-commercial, which the cpms mapping imports as excluded);
- `edge-sites-south.csv`: an EDGE site-record export from trusts in the South and the
  Midlands, as a CSV with the quirks real ones have: blank cells, trailing spaces in labels
  and cells, an ODS code in lower case, a study ID given as CPMS-62003, dates as 31/03/2026,
  2026-03-31 and 31/03/2026 00:00, and one row exported twice;
- `edge-sites-north.xlsx`: another trust group's EDGE export as a workbook, with real date
  cells, one date typed as an Excel serial number and one as text.

Sites are ODS codes of `deploy/sites/sample-sites.csv`, so their regions resolve. Dates run
up to 20 November 2026, so an import on 30 November 2026 shows clocks met, missed, running,
at risk and breached (and waiting, and excluded). Same input, same files: the workbook's
timestamps are fixed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2026, 11, 20, 17, 0, 0)  # noqa: DTZ001 - a workbook property, local
FIXED_STAMP = b"2026-11-20T17:00:00Z"
EXCEL_EPOCH = date(1899, 12, 30)


def d(text: str) -> date:
    return date.fromisoformat(text)


CPMS_LABELS = [
    "Study ID", "IRAS ID", "Short Title", "Sponsor", "Commercial", "CTIMP", "ATIMP",
    "Date added to portfolio", "Regulatory submission date", "Regulatory approval date",
    "HRA approval date", "Study Status",
]  # fmt: skip
# study, IRAS, title, sponsor, commercial, CTIMP, ATIMP, added, submitted, approved, HRA, status
STUDIES = [
    ("62001", "1009871", "ACME-201: weekly GLP-1 analogue in type 2 diabetes", "Acme Pharma Ltd",
     "Yes", "Yes", "No", "2026-02-16", "2026-03-02", "2026-04-20", "2026-04-22", "Open"),
    ("62002", "1009872", "BOR-CAR19: autologous CAR-T in relapsed lymphoma", "Borealis Therapeutics",
     "Y", "Y", "Y", "2026-07-20", "2026-08-03", "2026-10-20", "2026-10-22", "In set-up"),
    ("62003", "1009873", "NOVA-HF: oral sGC stimulator in heart failure", "Northwind Biotech plc",
     "Yes", "Yes", "", "2026-05-11", "2026-06-01", "2026-08-05", "2026-08-10", "In set-up"),
    ("62004", "1009874", "HELIX-AD: tau inhibitor in early Alzheimer's disease", "Helix Biosciences",
     "Yes", "Yes", "No", "2026-10-19", "2026-11-02", "", "", "In set-up"),
    ("62005", "1009875", "QUILL-COPD: inhaled triple therapy", "Quill Respiratory plc",
     "Yes", "Yes", "No", "2026-06-22", "2026-07-06", "2026-08-20", "2026-10-05", "In set-up"),
    ("62006", "1009876", "ORBIT: physiotherapy after hip fracture", "University of Northshire",
     "No", "No", "No", "2026-03-09", "2026-03-23", "2026-04-30", "2026-05-04", "Open"),
]  # fmt: skip

EDGE_LABELS = [
    "NIHR Portfolio Study ID", "IRAS Number", "Short Title", "Site ODS Code", "Site Name",
    "Date site invited", "Date site selected", "Date site confirmed by Sponsor",
    "Date site confirmed", "Open to recruitment", "First patient consented",
    "First patient recruited",
]  # fmt: skip
DATE_LABELS = EDGE_LABELS[5:]
# study, site as exported, dates (invited, selected, sponsor confirmed, confirmed, opened,
# consented, recruited); "" = blank. What each shows on 30 Nov 2026 is in the comment.
SOUTH = [
    # all met: site_open 44 days, first participant 20, approval to first 64, set-up 115
    ("62001", "RGT", "2026-03-10", "2026-04-01", "2026-05-20", "2026-05-28", "2026-06-05",
     "2026-06-20", "2026-06-25"),
    # missed: opened 80 days after selection, first participant 52 days after opening
    ("62001", "RF7 ", "2026-03-12", "2026-05-01", "2026-07-01", "2026-07-14", "2026-07-20",
     "2026-09-08", "2026-09-10"),
    # breached: selected 20 Aug (after HRA approval), not open after 100 days
    ("CPMS-62003", "RLY", "2026-06-15", "2026-08-20", "", "", "", "", ""),
    # site_open met (50 days); first participant breached: open since 1 Oct, nobody recruited
    ("62003", "rhe", "2026-06-15", "2026-08-12", "2026-09-20", "2026-09-25", "2026-10-01",
     "", ""),
    # at risk: HRA approval 5 Oct, selected before it, not open after 56 of 60 days
    ("62005", "RGT", "2026-08-24", "2026-09-14", "", "", "", "", ""),
    # running, and flagged missing_site_selected: only invited, the clock runs from HRA
    ("62002", "RF7", "2026-10-26", "", "", "", "", "", ""),
    # waiting: the study has no HRA approval yet
    ("62004", "RLY", "2026-11-09", "", "", "", "", "", ""),
    # excluded: a non-commercial study (CPMS says Commercial = No)
    ("62006", "RHE", "2026-04-01", "2026-04-15", "", "2026-05-20", "2026-06-01", "2026-07-01",
     "2026-07-02"),
]  # fmt: skip
NORTH = [
    # site_open met (51 days), first participant missed (48 days)
    ("62001", "RMG", "2026-03-20", "2026-04-10", "2026-05-22", "2026-06-01", "2026-06-12",
     "2026-07-28", "2026-07-30"),
    # first participant at risk: open since 5 Nov, 25 of 30 days
    ("62005", "RDN", "2026-08-24", "2026-09-20", "2026-10-20", "2026-10-29", "2026-11-05", "", ""),
    # running: selected 28 Oct, after HRA approval
    ("62002", "RDN", "2026-10-12", "2026-10-28", "", "", "", "", ""),
    # first participant breached: open since 15 Sep
    ("62003", "RD0", "2026-07-01", "2026-08-11", "2026-08-30", "2026-09-07", "2026-09-15",
     "", ""),
]  # fmt: skip
SITE_NAMES = {
    "RGT": "Guildford Teaching Hospitals", "RF7": "Barts University Hospitals",
    "RLY": "Birmingham Community Health", "RHE": "Newcastle Healthcare",
    "RMG": "Manchester University Hospitals", "RDN": "Oxford Healthcare",
    "RD0": "Bristol University Hospitals",
}  # fmt: skip


def uk_form(day: date, n: int) -> str:
    """The forms EDGE exports use, in turn: 31/03/2026, 2026-03-31, 31/03/2026 00:00."""
    forms = (f"{day:%d/%m/%Y}", day.isoformat(), f"{day:%d/%m/%Y} 00:00")
    return forms[n % len(forms)]


def study_of(study: str) -> tuple[str, ...]:
    return next(s for s in STUDIES if study.endswith(s[0]))


def edge_row(record: tuple[str, ...]) -> tuple[str, str, str, str, str, list[str]]:
    study, site, *dates = record
    _, iras, title, *_ = study_of(study)
    return study, iras, title, site, SITE_NAMES[site.strip().upper()], dates


def write_cpms(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CPMS_LABELS)
        for n, study in enumerate(STUDIES):
            *head, added, submitted, approved, hra, status = study
            dates = [
                uk_form(d(x), n + i) if x else ""
                for i, x in enumerate((added, submitted, approved, hra))
            ]
            writer.writerow([*head, *dates, status])


def write_edge_csv(path: Path) -> None:
    labels = [label + " " if label == "Open to recruitment" else label for label in EDGE_LABELS]
    rows = []
    for n, record in enumerate(SOUTH):
        study, iras, title, site, name, dates = edge_row(record)
        cells = [uk_form(d(x), n + i) if x else "" for i, x in enumerate(dates)]
        rows.append([study, iras, title, site, name, *cells])
    rows.insert(1, rows[0])  # the same record twice, as exports joined from two reports have
    # Excel's "CSV UTF-8" starts with a byte order mark
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(labels)
        writer.writerows(rows)


def write_edge_xlsx(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:
        raise RuntimeError("a new workbook has an active sheet")
    sheet.title = "Site records"
    sheet.append(EDGE_LABELS)
    for n, record in enumerate(NORTH):
        study, iras, title, site, name, dates = edge_row(record)
        cells: list[object] = [
            datetime.combine(d(x), datetime.min.time()) if x else None for x in dates
        ]
        if n == 0:
            cells[4] = (d(dates[4]) - EXCEL_EPOCH).days  # typed as a number: 46185
        if n == 1:
            cells[1] = uk_form(d(dates[1]), 0)  # typed as text: 20/09/2026
        sheet.append([int(study), int(iras), title, site, name, *cells])
    for column in "FGHIJKL":
        for cell in sheet[column][1:]:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD/MM/YYYY"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same workbook bytes on every run: zip entries carry the time they were written."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + FIXED_STAMP, data)
            target.writestr(fixed, data)
    return out.getvalue()


def main() -> None:
    write_cpms(HERE / "cpms-studies.csv")
    write_edge_csv(HERE / "edge-sites-south.csv")
    write_edge_xlsx(HERE / "edge-sites-north.xlsx")
    for name in ("cpms-studies.csv", "edge-sites-south.csv", "edge-sites-north.xlsx"):
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
