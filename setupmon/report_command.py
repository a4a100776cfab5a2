"""`setupmon report` and `setupmon publish` (issue 13, being built)."""

from __future__ import annotations

import argparse


def add_report_parsers(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("report", help="(being built) a board report as HTML and PDF")
    commands.add_parser("publish", help="(being built) published performance data")
