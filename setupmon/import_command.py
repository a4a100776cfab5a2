"""`setupmon import`: publish the milestones of an EDGE or CPMS export (issue 12, being built)."""

from __future__ import annotations

import argparse


def add_import_parser(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("import", help="(being built) import an EDGE or CPMS export")
