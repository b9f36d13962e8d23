"""A session type's seats and booking questions (on the Session types page): one form, saved in one
transaction by booking.workspace.save_seats_and_questions (nothing of it goes to Stripe).

Thin: the rules live in booking.workspace.seats_and_questions. The inputs are uncontrolled (their values
arrive with the submit); "Add question" appends a blank row, and a row is removed by ticking its "Remove".
"""

from __future__ import annotations

import reflex as rx

from booking.core import session_scope
from booking.scheduling import KIND_LABELS, LABEL_MAX, MAX_QUESTIONS, MAX_SEATS
from booking.workspace import (
    InvalidSeatsAndQuestions,
    QuestionDraft,
    drafts_from_rows,
    load_seats_and_questions,
    save_seats_and_questions,
    validate_seats_and_questions,
)
from booking_ui import deps
from booking_ui.admin.base import AdminState, admin_event, current_actor
from booking_ui.admin.components import error_callout, tone_callout

_BLANK = {"kind": "short_text", "label": "", "required": "", "options": ""}


def _row_of(draft: QuestionDraft) -> dict[str, str]:
    return {"kind": draft.kind, "label": draft.label, "required": "yes" if draft.required else "",
            "options": draft.options}


class SeatsQuestionsState(AdminState):
    panel_open: bool = False
    editing_session_type_id: str = ""
    panel_title: str = ""
    seats: str = "1"
    rows: list[dict[str, str]] = []  # the form's defaults, one per question row
    errors: dict[str, str] = {}  # "seats", "questions", "q<row>.<field>" (row from 0) -> message
    notice: str = ""
    form_key: str = "closed"
    _serial: int = 0

    def _remount(self) -> None:
        self._serial += 1
        self.form_key = f"{self.editing_session_type_id}-{self._serial}"

    @admin_event
    def open_panel(self, session_type_id: str):
        with session_scope(deps.engine()) as session:
            loaded = load_seats_and_questions(session=session, actor=current_actor(),
                                              session_type_id=session_type_id)
        self.editing_session_type_id = str(session_type_id)
        self.seats = str(loaded.seats)
        self.rows = [_row_of(draft) for draft in loaded.questions]
        self.errors, self.notice, self.panel_open = {}, "", True
        self._remount()

    @admin_event
    def close_panel(self):
        self.panel_open, self.editing_session_type_id, self.rows, self.errors = False, "", [], {}
        self.form_key = "closed"

    @admin_event
    def add_question(self):
        if len(self.rows) < MAX_QUESTIONS:
            self.rows = [*self.rows, dict(_BLANK)]

    @admin_event
    def save(self, form: dict):
        if not self.editing_session_type_id:
            return
        form = {str(key): value for key, value in form.items()}
        entered = [{field: str(form.get(f"q{index}_{field}") or "") for field in _BLANK}
                   for index in range(len(self.rows))]
        kept = [index for index, row in enumerate(entered)
                if not form.get(f"q{index}_remove") and (row["label"].strip() or row["options"].strip())]
        self.rows = [entered[index] for index in range(len(entered))]
        try:
            data = validate_seats_and_questions(seats=form.get("seats"),
                                                drafts=drafts_from_rows([entered[i] for i in kept]))
            with session_scope(deps.engine()) as session:
                save_seats_and_questions(session=session, actor=current_actor(),
                                         session_type_id=self.editing_session_type_id, data=data)
        except InvalidSeatsAndQuestions as exc:
            self.errors = _on_rows(exc.errors, kept)
            self.notice = ""
            return
        self.seats = str(data.seats)
        self.rows = [_row_of(draft) for draft in data.questions]
        self.errors = {}
        self.notice = (f"Saved: {data.seats} seat{'s' if data.seats != 1 else ''} per session, "
                       f"{len(data.questions)} question{'s' if len(data.questions) != 1 else ''}.")
        self._remount()


def _on_rows(errors: dict[str, str], kept: list[int]) -> dict[str, str]:
    """The service numbers the kept questions from 1: the form's rows are numbered from 0 with blanks."""
    mapped = {}
    for key, message in errors.items():
        number, _, field = key.partition(".")
        if number.startswith("q") and number[1:].isdigit() and field:
            mapped[f"q{kept[int(number[1:]) - 1]}.{field}"] = message
        else:
            mapped[key] = message
    return mapped


SQ = SeatsQuestionsState


def _error(key) -> rx.Component:
    return rx.cond(SQ.errors.contains(key), rx.text(SQ.errors[key], color_scheme="red", size="2",
                                                     data_testid="seats-questions-error"))


def _question_row(row, index) -> rx.Component:
    prefix = "q" + index.to_string()
    number = (index + 1).to_string()
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.el.label("Question " + number, html_for=prefix + "-label", font_weight="500"),
                rx.spacer(),
                rx.el.label(rx.el.input(type="checkbox", name=prefix + "_remove", value="yes",
                                        id=prefix + "-remove"), " Remove", html_for=prefix + "-remove"),
                width="100%",
            ),
            rx.input(id=prefix + "-label", name=prefix + "_label", default_value=row["label"], max_length=LABEL_MAX,
                     width="100%", data_testid="question-label"),
            _error(prefix + ".label"),
            rx.hstack(
                rx.el.label("Answer", html_for=prefix + "-kind"),
                rx.el.select(*[rx.el.option(text, value=kind.value) for kind, text in KIND_LABELS.items()],
                             id=prefix + "-kind", name=prefix + "_kind", default_value=row["kind"],
                             data_testid="question-kind"),
                rx.el.label(rx.el.input(type="checkbox", name=prefix + "_required", value="yes",
                                        id=prefix + "-required", default_checked=row["required"] == "yes",
                                        data_testid="question-required"),
                            " Required", html_for=prefix + "-required"),
                spacing="3", align="center",
            ),
            _error(prefix + ".kind"),
            rx.el.label("Options (one choice only: one per line)", html_for=prefix + "-options"),
            rx.text_area(id=prefix + "-options", name=prefix + "_options", default_value=row["options"], rows="2",
                         width="100%", data_testid="question-options"),
            _error(prefix + ".options"),
            spacing="2", width="100%",
        ),
        width="100%",
        data_testid="question-row",
    )


def seats_questions_panel() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Seats and booking questions", size="4", as_="h2"),
                rx.cond(SQ.notice != "", tone_callout(SQ.notice, "success", data_testid="seats-questions-notice")),
                rx.cond(SQ.errors.contains("questions"), error_callout(SQ.errors["questions"])),
                rx.el.label("Seats per session", html_for="sq-seats", font_weight="500"),
                rx.input(id="sq-seats", name="seats", input_mode="numeric", default_value=SQ.seats, width="8em",
                         data_testid="seats-input"),
                rx.text(f"1 for a one-to-one session; up to {MAX_SEATS} for a workshop. Each seat is booked and "
                        "paid by its own client, who never sees the others.", size="1", color_scheme="gray"),
                _error("seats"),
                rx.heading("Questions", size="3", as_="h3"),
                rx.text(f"Asked on the booking page before paying (up to {MAX_QUESTIONS}). Only you see the "
                        "answers; they never go to Stripe.", size="1", color_scheme="gray"),
                rx.foreach(SQ.rows, _question_row),
                rx.hstack(
                    rx.button("Add question", type="button", variant="soft", on_click=SQ.add_question,
                              disabled=SQ.rows.length() >= MAX_QUESTIONS, data_testid="add-question"),
                    rx.button("Save seats and questions", type="submit", data_testid="save-seats-questions"),
                    rx.button("Close", type="button", variant="soft", color_scheme="gray", on_click=SQ.close_panel),
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=SQ.save,
            reset_on_submit=False,
            key=SQ.form_key,
            width="100%",
        ),
        width="100%",
        data_testid="seats-questions-panel",
    )
