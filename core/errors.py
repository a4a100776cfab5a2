"""The project's exceptions, under one root."""

from __future__ import annotations


class SetupmonError(Exception):
    """Root of every error setupmon raises on purpose."""

    retriable = False


class ConfigError(SetupmonError):
    """A setting in the environment is missing or wrong."""


class InputError(SetupmonError):
    """A file or argument given on the command line cannot be used."""
