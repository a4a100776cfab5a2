"""Headless Chromium (Debian's `chromium`): the report's PDF, and a screenshot or the rendered
DOM for the tests and the README's sample.

Chromium runs as a subprocess with its own throw-away profile, so two reports made at once do
not fight over one profile's lock. `--no-sandbox` because containers and CI often run as root,
where Chromium refuses its sandbox.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from core.errors import SetupmonError

CHROMIUM_NAMES = ("chromium", "chromium-browser")
TIMEOUT_SECONDS = 120.0
INSTALL_HINT = "install it with `make report-tools` (Debian's chromium), or pass --no-pdf"


class BrowserError(SetupmonError):
    """Chromium is missing, failed, or did not finish in time."""


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError(
        f"headless Chromium was not found (looked for {' or '.join(CHROMIUM_NAMES)}): {INSTALL_HINT}"
    )


def _run(arguments: list[str], page: Path, timeout: float) -> bytes:
    """Chromium on one local page; its standard output. Its stderr is noisy (D-Bus), so it
    is shown only when Chromium fails."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="setupmon-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *arguments,
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - a fixed program on our own file
                command, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise BrowserError(f"Chromium did not finish within {timeout:.0f}s on {page}") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.decode(errors="replace").splitlines()[-5:])
        raise BrowserError(f"Chromium failed (exit {done.returncode}) on {page}:\n{tail}")
    return done.stdout


def print_pdf(page: Path, pdf: Path, timeout: float = TIMEOUT_SECONDS) -> None:
    """`page` printed to `pdf` (A4 as the page's print CSS asks), without the browser's own
    header and footer (date, file path)."""
    pdf.unlink(missing_ok=True)
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}"], page, timeout)
    if not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
        # Seen with pages of many thousand table rows: Chromium gives up printing quietly.
        size = page.stat().st_size / 1e6
        raise BrowserError(
            f"Chromium exited without writing {pdf} (the page is {size:.1f} MB; a very long "
            "page may be too big to print: the HTML is complete, or try a smaller scope)"
        )


def screenshot(
    page: Path,
    png: Path,
    *,
    width: int = 1200,
    height: int = 1600,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """The top `width` x `height` pixels of the page as a PNG."""
    png.unlink(missing_ok=True)
    _run(
        ["--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={png.resolve()}"],
        page,
        timeout,
    )
    if not png.is_file():
        raise BrowserError(f"Chromium reported success but wrote no screenshot at {png}")


def dump_dom(page: Path, timeout: float = TIMEOUT_SECONDS) -> str:
    """The page's DOM as the browser built it (what a reader sees, not just the file's text)."""
    return _run(["--dump-dom"], page, timeout).decode("utf-8")
