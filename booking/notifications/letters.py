"""The shape the emails without a booking behind them share (payouts, disputes, credits, memberships): a
greeting, paragraphs, a table of details, one link and closing lines, as plain text and HTML; and the one
way every email becomes a message (headers, both parts)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from booking.notifications.mailer import KIND_HEADER, NOTIFICATION_ID_HEADER, mailbox

_PAGE = ('<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5; color: #222;">\n'
         "{body}\n</body></html>\n")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str  # the HTML link's words: "Open your wallet"
    text_label: str | None = None  # the text part's "Your wallet: <url>"; None: the address on its own line


def page(body: Sequence[str]) -> str:
    """An HTML email around `body`'s elements."""
    return _PAGE.format(body="\n".join(body))


def render_letter(*, subject: str, name: str, paragraphs: Sequence[str], details: Sequence[tuple[str, str]] = (),
                  link: Link | None = None, closing: Sequence[str] = ()) -> RenderedEmail:
    esc = html.escape
    text = [f"Hi {name},", "", *[paragraph + "\n" for paragraph in paragraphs]]
    text += [f"  {label}: {value}" for label, value in details]
    body = [f"<p>Hi {esc(name)},</p>", *[f"<p>{esc(paragraph)}</p>" for paragraph in paragraphs]]
    if details:
        body += ["<table>", *[f'<tr><th style="text-align: left; padding-right: 12px;">{esc(label)}</th>'
                              f"<td>{esc(value)}</td></tr>" for label, value in details], "</table>"]
    if link is not None:
        if details:
            text.append("")
        text.append(f"{link.text_label}: {link.url}" if link.text_label else link.url)
        body.append(f'<p><a href="{esc(link.url, quote=True)}">{esc(link.label)}</a></p>')
    for line in closing:
        text += ["", line]
        body.append(f"<p>{esc(line)}</p>")
    return RenderedEmail(subject=subject, text="\n".join(text) + "\n", html=page(body))


def email_message(*, rendered: RenderedEmail, to_name: str | None, recipient: str, message_id: str,
                  kind: str, notification_id: int, now: datetime) -> EmailMessage:
    """`rendered` as a message from the outbox. `message_id` is stable across retries (the part before `@`
    and the domain), so a receiving server can drop a duplicate of an at-least-once resend."""
    message = EmailMessage()
    message["To"] = mailbox(to_name, recipient)  # formataddr refuses ünï@exämple.com
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<{message_id}>"
    message[KIND_HEADER] = str(kind)
    message[NOTIFICATION_ID_HEADER] = str(notification_id)
    # Quoted-printable keeps the saved .eml files readable (names, £, dashes are not ASCII).
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return message
