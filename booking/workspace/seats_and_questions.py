"""A session type's seats (a workshop) and booking questions, as the workspace form edits them.

Apart from the Stripe flows of `session_types`: neither the seats nor the questions are part of the
Product or the Price, so saving them is one transaction (authorisation, the type's seats, its questions
replaced, an audit entry). Answers already given keep the words they were asked with.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from booking.accounts import audit, authz
from booking.accounts.authz import Actor
from booking.core.forms import checked
from booking.core.models import BookingQuestion, QuestionKind, SessionType, utcnow
from booking.scheduling import questions as asked
from booking.scheduling.seats import MAX_SEATS

QUESTION_KINDS = tuple(kind.value for kind in QuestionKind)


@dataclass(frozen=True)
class QuestionDraft:
    """One question as the form holds it (text fields; `options` one per line)."""

    kind: str = QuestionKind.SHORT_TEXT.value
    label: str = ""
    required: bool = False
    options: str = ""


@dataclass(frozen=True)
class SeatsAndQuestions:
    seats: int
    questions: list[QuestionDraft] = field(default_factory=list)


class InvalidSeatsAndQuestions(ValueError):
    """`errors`: "seats", "questions", or "q<n>.<field>" (n from 1, as the form numbers them) -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def _control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def parse_seats(text: object) -> int:
    raw = str(text if text is not None else "").strip()
    message = f"Enter a whole number of seats from 1 to {MAX_SEATS} (1: a one-to-one session)."
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        raise ValueError(message)
    seats = int(raw)
    if not 1 <= seats <= MAX_SEATS:
        raise ValueError(message)
    return seats


def _options(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def validate_seats_and_questions(*, seats: object, drafts: Sequence[QuestionDraft]) -> SeatsAndQuestions:
    """Every problem at once (InvalidSeatsAndQuestions), or the clean values. A draft with neither a
    label nor options is a blank row, left out."""
    errors: dict[str, str] = {}
    try:
        seat_count = parse_seats(seats)
    except ValueError as exc:
        errors["seats"], seat_count = str(exc), 1
    kept = [draft for draft in drafts if draft.label.strip() or _options(draft.options)]
    if len(kept) > asked.MAX_QUESTIONS:
        errors["questions"] = f"A session type can ask at most {asked.MAX_QUESTIONS} questions."
    clean: list[QuestionDraft] = []
    for number, draft in enumerate(kept, start=1):
        key = f"q{number}"
        label = " ".join(draft.label.split())
        if draft.kind not in QUESTION_KINDS:
            errors[f"{key}.kind"] = "Choose what kind of answer this question takes."
        if not label:
            errors[f"{key}.label"] = "Write the question."
        elif len(label) > asked.LABEL_MAX:
            errors[f"{key}.label"] = f"The question can be at most {asked.LABEL_MAX} characters."
        elif _control_characters(label):
            errors[f"{key}.label"] = "The question contains characters that aren't allowed."
        options = _options(draft.options)
        if draft.kind == QuestionKind.CHOICE.value:
            if len(options) < 2:
                errors[f"{key}.options"] = "Give at least two options, one per line."
            elif len(options) > asked.MAX_OPTIONS:
                errors[f"{key}.options"] = f"Give at most {asked.MAX_OPTIONS} options."
            elif any(len(option) > asked.OPTION_MAX for option in options):
                errors[f"{key}.options"] = f"Each option can be at most {asked.OPTION_MAX} characters."
            elif len(set(options)) != len(options):
                errors[f"{key}.options"] = "Each option must be different."
            elif any(_control_characters(option) for option in options):
                errors[f"{key}.options"] = "An option contains characters that aren't allowed."
        elif options:
            errors[f"{key}.options"] = "Only a one-choice question has options: remove them or change the kind."
        clean.append(QuestionDraft(kind=draft.kind, label=label, required=bool(draft.required),
                                   options="\n".join(options)))
    if errors:
        raise InvalidSeatsAndQuestions(errors)
    return SeatsAndQuestions(seats=seat_count, questions=clean)


def drafts_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[QuestionDraft]:
    """The form's rows ({"kind", "label", "required", "options"}) as drafts."""
    return [QuestionDraft(kind=str(row.get("kind") or ""), label=str(row.get("label") or ""),
                          required=checked(row, "required"),
                          options=str(row.get("options") or ""))
            for row in rows]


def load_seats_and_questions(*, session: Session, actor: Actor, session_type_id: object) -> SeatsAndQuestions:
    row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id)
    drafts = [QuestionDraft(kind=q.kind.value, label=q.label, required=q.required, options="\n".join(q.options))
              for q in asked.questions_of(session=session, session_type_id=row.id)]
    return SeatsAndQuestions(seats=row.seats, questions=drafts)


def _audit_view(seats: int, drafts: Sequence[QuestionDraft]) -> dict[str, Any]:
    return {"seats": seats, "questions": [f"{d.kind}{' (required)' if d.required else ''}: {d.label}" for d in drafts]}


def save_seats_and_questions(*, session: Session, actor: Actor, session_type_id: object,
                             data: SeatsAndQuestions) -> None:
    """Store the seats and replace the questions (a service: the caller commits). A lower number of seats
    applies to new holds; seats already held stay theirs."""
    row = authz.load_owned(session=session, actor=actor, model=SessionType, object_id=session_type_id,
                           for_update=True)
    before = _audit_view(row.seats, load_seats_and_questions(session=session, actor=actor,
                                                             session_type_id=row.id).questions)
    row.seats, row.updated_at = data.seats, utcnow()
    session.add(row)
    session.execute(sa.delete(BookingQuestion).where(BookingQuestion.session_type_id == row.id))
    session.flush()
    for position, draft in enumerate(data.questions):
        session.add(BookingQuestion(session_type_id=row.id, position=position, kind=QuestionKind(draft.kind),
                                    label=draft.label, required=draft.required,
                                    options=json.dumps(_options(draft.options))))
    session.flush()
    audit.record(session=session, actor=actor, action="session_type.seats_and_questions", entity_type="session_type",
                 entity_id=row.id, builder_id=row.builder_id, before=before,
                 after=_audit_view(data.seats, data.questions))
