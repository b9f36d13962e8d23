"""Booking questions: what a builder asks the client before they pay (up to 10 per session type).

`validate_answers` is pure and is the one check of a client's answers (the booking page, the JSON API and
`checkout.write_hold` all go through it): required, lengths, a choice among the options. The answers are
stored with the booking, with the question's words as asked; they are shown to the builder only, never
sent to Stripe, and deleted with the booking's personal data (`delete_answers`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from booking.core.models import BookingAnswer, BookingQuestion, QuestionKind

MAX_QUESTIONS = 10
LABEL_MAX = 200
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 2000
OPTION_MAX = 100
MAX_OPTIONS = 20
CHECKED = "yes"

KIND_LABELS = {
    QuestionKind.SHORT_TEXT: "Short text",
    QuestionKind.LONG_TEXT: "Long text",
    QuestionKind.CHOICE: "One choice",
    QuestionKind.CHECKBOX: "Checkbox",
}


@dataclass(frozen=True)
class Question:
    id: int
    position: int
    kind: QuestionKind
    label: str
    required: bool
    options: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """How a form or the API names the question: its id, as text."""
        return str(self.id)


@dataclass(frozen=True)
class Answer:
    question_id: int | None
    position: int
    kind: QuestionKind
    label: str
    value: str  # a checkbox: "yes" (ticked) or ""

    @property
    def shown(self) -> str:
        """The answer as the builder reads it."""
        if self.kind == QuestionKind.CHECKBOX:
            return "Yes" if self.value == CHECKED else "No"
        return self.value


class InvalidAnswers(ValueError):
    """The answers have problems: `errors` maps each question's key (or "answers") to its message."""

    code = "invalid_answers"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _is_ticked(raw: object) -> bool | None:
    """A checkbox's answer: True, False, or None when it isn't one."""
    if raw is None or raw is False or raw == "":
        return False
    if raw is True:
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("yes", "on", "true"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("no", "off", "false"):
        return False
    return None


def _check_one(question: Question, raw: object) -> tuple[str, str | None]:
    """(the stored value, or an error message)."""
    if question.kind == QuestionKind.CHECKBOX:
        ticked = _is_ticked(raw)
        if ticked is None:
            return "", "Tick the box or leave it empty."
        if question.required and not ticked:
            return "", "Please tick this box to continue."
        return (CHECKED if ticked else ""), None
    if raw is not None and not isinstance(raw, str):
        return "", "The answer must be text."
    text = (raw or "").replace("\r\n", "\n").strip()
    if question.kind == QuestionKind.CHOICE:
        if not text:
            return "", "Please choose one of the options." if question.required else None
        if text not in question.options:
            return "", "Choose one of the options offered."
        return text, None
    if question.kind == QuestionKind.SHORT_TEXT:
        text = " ".join(text.split())
    limit = LONG_TEXT_MAX if question.kind == QuestionKind.LONG_TEXT else SHORT_TEXT_MAX
    if not text:
        return "", "Please answer this question." if question.required else None
    if len(text) > limit:
        return "", f"Please keep your answer to {limit} characters or fewer."
    if _control_characters(text, allowed="\n\t" if question.kind == QuestionKind.LONG_TEXT else ""):
        return "", "The answer contains characters that aren't allowed."
    return text, None


def validate_answers(questions: Sequence[Question], answers: object) -> list[Answer]:
    """The client's answers (question key -> answer), checked against the questions: every problem at
    once (InvalidAnswers), or the answers to store (the unanswered optional ones left out)."""
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        raise InvalidAnswers({"answers": "answers must be an object: question id -> answer."})
    asked = {question.key: question for question in questions}
    errors: dict[str, str] = {}
    unknown = [str(key) for key in answers if str(key) not in asked]
    if unknown:
        errors["answers"] = f"Unknown question id: {unknown[0][:20]}."
    given = {str(key): value for key, value in answers.items()}
    checked: list[Answer] = []
    for question in sorted(questions, key=lambda q: q.position):
        value, problem = _check_one(question, given.get(question.key))
        if problem:
            errors[question.key] = problem
        elif value:
            checked.append(Answer(question_id=question.id, position=question.position, kind=question.kind,
                                  label=question.label, value=value))
    if errors:
        raise InvalidAnswers(errors)
    return checked


# --- the database ------------------------------------------------------------------------------------


def _question(row: BookingQuestion) -> Question:
    try:
        options = tuple(str(option) for option in json.loads(row.options or "[]"))
    except ValueError:
        options = ()
    return Question(id=row.id, position=row.position, kind=QuestionKind(row.kind), label=row.label,
                    required=row.required, options=options)


def questions_of(*, session: Session, session_type_id: int) -> list[Question]:
    rows = session.exec(select(BookingQuestion).where(BookingQuestion.session_type_id == session_type_id)
                        .order_by(BookingQuestion.position)).all()
    return [_question(row) for row in rows]


def store_answers(*, session: Session, booking_id: str, answers: Sequence[Answer]) -> None:
    for answer in answers:
        session.add(BookingAnswer(booking_id=booking_id, question_id=answer.question_id, position=answer.position,
                                  kind=answer.kind, label=answer.label, value=answer.value))
    if answers:
        session.flush()


def answers_of(*, session: Session, booking_id: str) -> list[Answer]:
    rows = session.exec(select(BookingAnswer).where(BookingAnswer.booking_id == booking_id)
                        .order_by(BookingAnswer.position)).all()
    return [Answer(question_id=row.question_id, position=row.position, kind=QuestionKind(row.kind), label=row.label,
                   value=row.value) for row in rows]


def delete_answers(*, session: Session, booking_id: str) -> int:
    """The booking's answers are personal data: gone with the rest of it."""
    result = session.execute(sa.delete(BookingAnswer).where(BookingAnswer.booking_id == booking_id))
    return result.rowcount or 0
