"""What people are told: the email outbox, its templates and mailer, calendar invites and feeds.

- `outbox`         queue an email for a booking event; the worker delivers due ones with retries
- `templates`      what each email says (plain text + HTML), in the recipient's zone
- `mailer`         SMTP, or `.eml` files in `var/mail` when no SMTP is set
- `ics`            RFC 5545 invites and feeds; `booking_uid` is the one UID rule
- `invites`        the "Add to calendar" download (signed, short-lived, by the invite's opaque UID)
- `calendar_links` "Add to Google Calendar" / "Add to Outlook" links (nothing secret in them)
- `calendar_feed`  a builder's private subscription feed
- `manage_links`   the client's manage link (derived token) and its CSRF tokens
- `calendar_writeback` confirmed bookings written to the builder's CalDAV calendar (an outbox, retried)
- `reminders`      reminder rows that follow the booking's lifecycle, sent once by the worker
"""

from booking.notifications.calendar_feed import issue_token, load_feed
from booking.notifications.calendar_links import CalendarEvent, CalendarLinks, links_for, session_event
from booking.notifications.calendar_writeback import queue_calendar_write, send_due_calendar_writes
from booking.notifications.invites import invite_for_uid, invite_path
from booking.notifications.mailer import Mailer, mailer_from_settings
from booking.notifications.manage_links import ACTIONS, csrf_ok, csrf_token, looks_like_token, token_hash
from booking.notifications.outbox import send_due_notifications
from booking.notifications.reminders import (
    InvalidReminderTimes,
    builder_offsets,
    format_offsets,
    parse_offsets,
    schedule_missing_reminders,
    send_due_reminders,
)

__all__ = [
    "ACTIONS",
    "Mailer",
    "csrf_ok",
    "csrf_token",
    "CalendarEvent",
    "CalendarLinks",
    "links_for",
    "invite_for_uid",
    "invite_path",
    "session_event",
    "issue_token",
    "load_feed",
    "looks_like_token",
    "mailer_from_settings",
    "queue_calendar_write",
    "send_due_calendar_writes",
    "send_due_notifications",
    "send_due_reminders",
    "schedule_missing_reminders",
    "InvalidReminderTimes",
    "builder_offsets",
    "format_offsets",
    "parse_offsets",
    "token_hash",
]
