"""Delivering an email: over SMTP (`SMTP_URL`), or into a local folder of .eml files when none is set.

Internationalised addresses are delivered, never refused late: a domain such as `exämple.com` goes out
in its ASCII (IDNA) form, which every server accepts; a local part such as `ünï` needs SMTPUTF8 (RFC 6531),
which is used when the server offers it (a server that does not is a permanent, clearly worded failure).

The SMTP password stays inside `SmtpMailer`: its repr, its log lines and the errors it raises
show the URL with the password masked.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

log = logging.getLogger(__name__)

DEFAULT_SENDER = "Booking <bookings@localhost>"
# Set by the notification worker; the folder mailer names its files after them.
KIND_HEADER = "X-Booking-Notification-Kind"
NOTIFICATION_ID_HEADER = "X-Booking-Notification-Id"

_TRUE = {"1", "true", "yes", "on"}


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class MailDeliveryError(RuntimeError):
    """Sending failed. `permanent` means retrying the same message cannot succeed (e.g. 550 no such user)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _fill_sender(message: EmailMessage, sender: str) -> None:
    if "From" not in message:
        message["From"] = sender


ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To", "Sender")


def ascii_domain(domain: str) -> str:
    """'exämple.com' -> 'xn--exmple-cua.com' (IDNA 2008, as email-validator encodes it); ASCII stays as it is."""
    if domain.isascii():
        return domain
    try:
        return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError as exc:
        raise MailDeliveryError(f"cannot encode the domain {domain!r} for delivery: {exc}", permanent=True) from None


def prepare_addresses(message: EmailMessage) -> bool:
    """Rewrite address headers with ASCII domains; True when a local part still needs SMTPUTF8.

    (Python's default email policy would otherwise put RFC 2047 words inside an address, which no server
    can deliver.)
    """
    needs_smtputf8 = False
    for name in ADDRESS_HEADERS:
        if name not in message:
            continue
        rewritten = []
        for address in message[name].addresses:
            needs_smtputf8 |= not address.username.isascii()
            rewritten.append(Address(display_name=address.display_name, username=address.username,
                                     domain=ascii_domain(address.domain)))
        message.replace_header(name, rewritten)
    return needs_smtputf8


def message_bytes(message: EmailMessage) -> bytes:
    """The message as it is stored or sent: 8-bit UTF-8 headers only when an address needs them."""
    if prepare_addresses(message):
        return message.as_bytes(policy=message.policy.clone(utf8=True))
    return message.as_bytes()


class SmtpMailer:
    """smtp://[user:pass@]host[:port][?starttls=1][&timeout=seconds] or smtps://... (TLS from the start).

    User and password are percent-encoded in the URL; smtplib only sends ASCII credentials.
    """

    def __init__(self, url: str, *, sender: str = DEFAULT_SENDER, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:port or smtps://host:port")
        options = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
        self.use_ssl = parts.scheme == "smtps"
        self.starttls = not self.use_ssl and options.get("starttls", "").lower() in _TRUE
        self.host = parts.hostname
        self.port = parts.port or (465 if self.use_ssl else 587 if self.starttls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.timeout = float(options.get("timeout", timeout))
        self.sender = sender

    @property
    def safe_url(self) -> str:
        """The URL for logs: the password is never shown."""
        credentials = f"{quote(self.username, safe='')}:***@" if self.username else ""
        query = "?starttls=1" if self.starttls else ""
        return f"{'smtps' if self.use_ssl else 'smtp'}://{credentials}{self.host}:{self.port}{query}"

    def __repr__(self) -> str:
        return f"SmtpMailer({self.safe_url!r})"

    def send(self, message: EmailMessage) -> None:
        _fill_sender(message, self.sender)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self._password or "")
                # With a non-ASCII local part smtplib sends SMTPUTF8 (and refuses a server without it).
                prepare_addresses(message)
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as exc:
            raise MailDeliveryError(
                f"{self.host}:{self.port} cannot take an internationalised address (no SMTPUTF8): {exc}",
                permanent=True,
            ) from None
        except MailDeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise MailDeliveryError(self._describe(exc), permanent=permanent) from None
        except Exception as exc:
            # `from None`: the original traceback (e.g. inside login) could carry the password.
            raise MailDeliveryError(self._describe(exc)) from None

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__} from {self.host}:{self.port}: {exc}"
        if self._password:
            text = text.replace(self._password, "***")
        return text


class FolderMailer:
    """Development without SMTP: each message becomes <dir>/<timestamp>-<kind>-<id>.eml, and a log line."""

    def __init__(self, directory: str | os.PathLike[str], *, sender: str = DEFAULT_SENDER) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def __repr__(self) -> str:
        return f"FolderMailer({str(self.directory)!r})"

    def send(self, message: EmailMessage) -> Path:
        _fill_sender(message, self.sender)
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        kind = _file_part(message.get(KIND_HEADER, "mail"))
        notification_id = _file_part(message.get(NOTIFICATION_ID_HEADER, "0"))
        path = self.directory / f"{stamp}-{kind}-{notification_id}.eml"
        # Write then rename, so a reader of the folder never sees half a message.
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(message_bytes(message))
        os.replace(partial, path)
        log.info("mail saved to %s", path)  # never the address or the subject (a client's name) in logs
        return path


def _file_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(value))[:60] or "x"


def mailer_from_settings(settings: object) -> Mailer:
    """SMTP when `smtp_url` is set, else the mail folder (`mail_dir`)."""
    sender = getattr(settings, "mail_from", None) or DEFAULT_SENDER
    smtp_url = getattr(settings, "smtp_url", None)
    if smtp_url:
        mailer = SmtpMailer(smtp_url, sender=sender)
        log.info("mail goes out via %s", mailer.safe_url)
        return mailer
    directory = getattr(settings, "mail_dir", None) or "var/mail"
    log.info("no SMTP_URL set: mail is saved to %s", directory)
    return FolderMailer(directory, sender=sender)


def mailbox(display_name: str, address: str) -> Address:
    """A To/From value for any address, internationalised ones included (email.utils.formataddr refuses them)."""
    username, _, domain = address.rpartition("@")
    return Address(display_name=" ".join(str(display_name).split()), username=username, domain=domain)
