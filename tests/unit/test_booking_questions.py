"""Booking questions without a database: the one check of a client's answers, and the builder's form rules."""

from __future__ import annotations

import pytest

from booking.client import QuestionField, answers_from_form
from booking.core.models import QuestionKind
from booking.scheduling import InvalidAnswers, Question, validate_answers
from booking.workspace import InvalidSeatsAndQuestions, QuestionDraft, validate_seats_and_questions

GOAL = Question(id=1, position=0, kind=QuestionKind.SHORT_TEXT, label="Your goal", required=True)
NOTES = Question(id=2, position=1, kind=QuestionKind.LONG_TEXT, label="Anything else?", required=False)
LEVEL = Question(id=3, position=2, kind=QuestionKind.CHOICE, label="Level", required=True,
                 options=("Beginner", "Advanced"))
TERMS = Question(id=4, position=3, kind=QuestionKind.CHECKBOX, label="I agree to the house rules", required=True)
ASKED = [GOAL, NOTES, LEVEL, TERMS]


def errors_of(answers: object, questions=ASKED) -> dict[str, str]:
    with pytest.raises(InvalidAnswers) as refused:
        validate_answers(questions, answers)
    return refused.value.errors


def test_good_answers_are_kept_in_question_order_and_empty_optional_ones_left_out():
    kept = validate_answers(ASKED, {"4": True, "3": "Advanced", "1": "  learn   Rust  ", "2": ""})

    assert [(a.label, a.value) for a in kept] == [("Your goal", "learn Rust"), ("Level", "Advanced"),
                                                  ("I agree to the house rules", "yes")]
    assert [a.shown for a in kept] == ["learn Rust", "Advanced", "Yes"]


def test_every_problem_is_named_at_once_by_question():
    assert errors_of({"3": "Expert", "4": False}) == {
        "1": "Please answer this question.",
        "3": "Choose one of the options offered.",
        "4": "Please tick this box to continue.",
    }


def test_lengths_are_capped_and_long_text_keeps_its_lines():
    assert errors_of({"1": "x" * 201, "3": "Beginner", "4": "yes"}) == {
        "1": "Please keep your answer to 200 characters or fewer."}
    kept = validate_answers(ASKED, {"1": "ok", "2": "line one\nline two", "3": "Beginner", "4": "on"})
    assert kept[1].value == "line one\nline two"
    assert errors_of({"1": "ok", "2": "y" * 2001, "3": "Beginner", "4": True})["2"].startswith("Please keep")


def test_wrong_shapes_are_refused_with_a_message_not_an_exception():
    assert errors_of(["not", "an", "object"]) == {"answers": "answers must be an object: question id -> answer."}
    assert errors_of({"1": 42, "3": "Beginner", "4": True}) == {"1": "The answer must be text."}
    assert errors_of({"1": "ok", "3": "Beginner", "4": {"x": 1}}) == {"4": "Tick the box or leave it empty."}
    assert errors_of({"1": "ok", "3": "Beginner", "4": True, "99": "?"}) == {"answers": "Unknown question id: 99."}
    assert errors_of({"1": "bell\x07", "3": "Beginner", "4": True}) == {
        "1": "The answer contains characters that aren't allowed."}


def test_no_questions_take_no_answers():
    assert validate_answers([], None) == []
    assert validate_answers([], {}) == []


def test_the_booking_form_reads_an_unticked_box_as_no():
    fields = [QuestionField(key="1", kind="short_text", label="Goal", required=True),
              QuestionField(key="4", kind="checkbox", label="Rules", required=True)]

    assert answers_from_form(fields, {"answer-1": "Rust"}) == {"1": "Rust", "4": False}
    assert answers_from_form(fields, {"answer-1": "Rust", "answer-4": "yes"}) == {"1": "Rust", "4": True}


def test_the_builders_form_takes_up_to_ten_questions_with_clear_errors():
    good = validate_seats_and_questions(seats="12", drafts=[
        QuestionDraft(kind="choice", label=" Level ", required=True, options="Beginner\n\nAdvanced\n"),
        QuestionDraft(kind="short_text", label="", options=""),  # a blank row: left out
    ])
    assert good.seats == 12
    assert good.questions == [QuestionDraft(kind="choice", label="Level", required=True,
                                            options="Beginner\nAdvanced")]

    with pytest.raises(InvalidSeatsAndQuestions) as refused:
        validate_seats_and_questions(seats="0", drafts=[
            QuestionDraft(kind="choice", label="Level", options="Only one"),
            QuestionDraft(kind="short_text", label="", options="stray option"),
            QuestionDraft(kind="rating", label="Stars"),
        ] + [QuestionDraft(label=f"Q{n}") for n in range(8)])
    assert refused.value.errors == {
        "seats": "Enter a whole number of seats from 1 to 500 (1: a one-to-one session).",
        "questions": "A session type can ask at most 10 questions.",
        "q1.options": "Give at least two options, one per line.",
        "q2.label": "Write the question.",
        "q2.options": "Only a one-choice question has options: remove them or change the kind.",
        "q3.kind": "Choose what kind of answer this question takes.",
    }
