"""Why an export cannot be imported at all (as opposed to a Problem in one of its rows)."""

from __future__ import annotations

from core.errors import InputError


class ImportRefused(InputError):
    """The file cannot be read as an export: wrong kind, unreadable, no header, bad sheet."""


class MappingError(ImportRefused):
    """A mapping file is missing or wrong; the message names the file and the key."""
