"""setupmon: a real-time monitor of commercial clinical trial set-up in the NHS."""

__version__ = "0.1.0"
