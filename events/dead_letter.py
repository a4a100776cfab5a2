"""The dead-letter record: `{error, detail, original, topic, partition, offset, rejected_at}`."""

from __future__ import annotations

import base64
from datetime import datetime

from events.validation import Rejection


def original_text(raw: bytes) -> str:
    """The raw message as text, or base64 when it is not UTF-8 (CONTRACT.md section 1)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii")


def dead_letter_record(
    rejection: Rejection,
    raw: bytes,
    *,
    topic: str,
    partition: int,
    offset: int,
    rejected_at: datetime,
) -> dict[str, object]:
    try:
        raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "base64"
    return {
        "error": rejection.reason.value,
        "detail": rejection.detail,
        "original": original_text(raw),
        # Added field (contract allows additions): tells a reader how to decode `original`.
        "original_encoding": encoding,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "rejected_at": rejected_at.isoformat(),
    }
