"""What the fuzzer demands of each answer of `validate_event`, as a list of problems (empty: fine).

- It answers: no exception escapes (the caller records one as a problem).
- A rejection carries one of the contract's codes, a detail sentence, and a milestone label
  that is a real milestone or none; when the input was built to break one known rule, it is
  that rule's code.
- It agrees with the independent reading (`tests/fuzz/contract.py`): valid messages are
  accepted, invalid ones rejected.
- An accepted message holds exactly what the message said, and its wire form
  (`Milestone.to_json`) validates again to an equal event (it round-trips).
"""

from __future__ import annotations

from core.codec import dumps
from events.milestones import Milestone
from events.validation import Rejection, validate_event
from tests.fuzz.contract import (
    CONTRACT_CODES,
    SITE_MILESTONES,
    STUDY_MILESTONES,
    Expected,
    Invalid,
    contract_verdict,
)

MILESTONE_NAMES = frozenset(STUDY_MILESTONES + SITE_MILESTONES)
ACCEPTED = "accepted"


def outcome(result: Milestone | Rejection) -> str:
    """ "accepted", or the rejection's code, for the summary's counts."""
    return ACCEPTED if isinstance(result, Milestone) else str(result.reason.value)


def judge(raw: bytes, result: object, expect: frozenset[str] | None) -> list[str]:
    """Problems with one answer. `expect`: the outcomes the input was built for (None: any)."""
    if isinstance(result, Rejection):
        problems = _rejection_problems(result)
    elif isinstance(result, Milestone):
        problems = []
    else:
        return [f"validate_event returned {type(result).__name__}, not Milestone or Rejection"]
    got = outcome(result)
    if expect is not None and got not in expect:
        problems.append(f"expected {' or '.join(sorted(expect))}, got {got}: {_said(result)}")
    verdict = contract_verdict(raw)
    if isinstance(verdict, Invalid):
        if isinstance(result, Milestone):
            problems.append(f"accepted, but the contract refuses it: {verdict}")
    elif isinstance(result, Rejection):
        problems.append(f"rejected a valid event as {got}: {result.detail}")
    else:
        problems += _acceptance_problems(result, verdict)
    return problems


def _rejection_problems(rejection: Rejection) -> list[str]:
    problems = []
    if rejection.reason.value not in CONTRACT_CODES:
        problems.append(f"rejection code {rejection.reason.value!r} is not a contract code")
    if not isinstance(rejection.detail, str) or not rejection.detail.strip():
        problems.append(f"rejection {rejection.reason.value} has no detail")
    if rejection.milestone is not None and rejection.milestone not in MILESTONE_NAMES:
        problems.append(f"metric label {rejection.milestone!r} is not a milestone")
    return problems


def _acceptance_problems(event: Milestone, wanted: Expected) -> list[str]:
    attributes = None if event.attributes is None else event.attributes.to_json()
    if attributes is not None:
        attributes = {name: value for name, value in attributes.items() if value is not None}
    held = Expected(
        event.event_id,
        event.study_id,
        event.milestone.value,
        event.date,
        event.recorded_at,
        event.recorded_day,
        event.source,
        event.site_id,
        event.retract,
        attributes,
    )
    problems = []
    for name in Expected.__dataclass_fields__:
        if getattr(held, name) != getattr(wanted, name):
            problems.append(
                f"accepted {name} {getattr(held, name)!r}, the message said {getattr(wanted, name)!r}"
            )
    if held.recorded_at.utcoffset() != wanted.recorded_at.utcoffset():
        problems.append(f"recorded_at offset {held.recorded_at.utcoffset()} is not the message's")
    again = validate_event(dumps(event.to_json()))
    if again != event:
        problems.append(f"the wire form does not round-trip: {_said(again)}")
    return problems


def _said(result: object) -> str:
    if isinstance(result, Rejection):
        return f"{result.reason.value}: {result.detail}"
    return repr(result)[:300]
