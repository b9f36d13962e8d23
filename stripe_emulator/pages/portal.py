"""The hosted customer portal (a billing portal session's `url`: <public-url>/p/session/<id>): the
customer's subscriptions with their status and next renewal, "Cancel plan" (takes effect at the end
of the period, as the portal's default configuration does) and "Update payment method" (a new card
for the next invoices; not charged now), and a link back to `return_url`."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator.core import billing, cards
from stripe_emulator.core.context import AUTOMATIC
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.money import format_amount
from stripe_emulator.pages.templates import page

CSS = """
.portal{max-width:640px;margin:40px auto;padding:0 16px}
.portal .card{margin-bottom:16px}
.portal label{display:block;font-weight:600;margin:12px 0 4px}
.portal input{width:100%;padding:10px;border:1px solid #d5dbe1;border-radius:6px;font:inherit}
.portal button{margin-top:16px;padding:10px 16px;border-radius:6px;border:0;background:#635bff;color:#fff;
 font-weight:600;cursor:pointer}
.portal button.secondary{background:#fff;color:#c0123c;border:1px solid #d5dbe1}
.status{display:inline-block;border-radius:4px;padding:2px 8px;font-weight:600;background:#e3e8ee}
.alert{background:#fde8ec;color:#a41c4e;border-radius:6px;padding:10px;margin-bottom:12px}
.notice{background:#d7f7c2;color:#05690d;border-radius:6px;padding:10px;margin-bottom:12px}
"""


def _date(timestamp: int | None) -> str:
    return datetime.fromtimestamp(timestamp or 0, tz=UTC).strftime("%d %B %Y")


def routes(emu: Engine) -> list[Route]:
    def load(session_id: str) -> tuple[dict[str, Any] | None, bool]:
        with emu.tx():
            emu.tick_quietly()
            session = emu.store.get("billing_portal.session", session_id)
            meta = emu.store.get_private(f"portal:{session_id}") or {}
            expired = bool(meta) and emu.clock.now() > meta.get("expires_at", 0) + 3600
            return session, expired

    def render(session: dict[str, Any], *, notice: str = "", error: str = "",
               field_errors: dict[str, str] | None = None, status: int = 200) -> Response:
        with emu.tx():
            subscriptions = [
                sub for sub in emu.store.where("subscription", "customer", session["customer"])
                if sub["status"] != "canceled"
            ]
            customer = emu.store.get("customer", session["customer"]) or {}
            cards_shown = {sub["id"]: emu.store.get("payment_method", sub["default_payment_method"] or "")
                           for sub in subscriptions}
            products = {sub["id"]: emu.store.get("product", sub["items"]["data"][0]["price"]["product"]) or {}
                        for sub in subscriptions}
        return HTMLResponse(
            _html(emu, session, customer, subscriptions, cards_shown, products, notice, error,
                  field_errors or {}),
            status_code=status,
        )

    async def show(request: Request) -> Response:
        session, expired = load(request.path_params["session_id"])
        if session is None or expired:
            return _not_found()
        return render(session)

    async def cancel(request: Request) -> Response:
        session, expired = load(request.path_params["session_id"])
        if session is None or expired:
            return _not_found()
        form = await request.form()
        with emu.tx():
            sub = emu.store.get("subscription", str(form.get("subscription") or ""))
            if sub is None or sub["customer"] != session["customer"] or sub["status"] == "canceled":
                return render(session, error="That subscription cannot be changed.", status=400)
            billing.set_cancel_at_period_end(emu, sub, True, AUTOMATIC)
        return RedirectResponse(f"/p/session/{session['id']}?done=canceled", status_code=303)

    async def update_card(request: Request) -> Response:
        session, expired = load(request.path_params["session_id"])
        if session is None or expired:
            return _not_found()
        form = await request.form()
        name = str(form.get("name") or "").strip()
        with emu.tx():
            today = datetime.fromtimestamp(emu.clock.now(), tz=UTC).date()
            card, problems = cards.validate_card(str(form.get("number") or ""), str(form.get("expiry") or ""),
                                                 str(form.get("cvc") or ""), today)
            if not name:
                problems["name"] = "Your cardholder name is incomplete."
            if problems or card is None:
                return render(session, error=next(iter(problems.values())), field_errors=problems, status=400)
            customer = emu.store.get("customer", session["customer"]) or {}
            billing.replace_card(emu, session["customer"], card, email=customer.get("email"), name=name,
                                 ctx=AUTOMATIC)
        return RedirectResponse(f"/p/session/{session['id']}?done=card", status_code=303)

    async def show_done(request: Request) -> Response:
        session, expired = load(request.path_params["session_id"])
        if session is None or expired:
            return _not_found()
        done = request.query_params.get("done")
        notice = {"canceled": "Your plan will be canceled at the end of the billing period.",
                  "card": "Your payment method was updated."}.get(done or "", "")
        return render(session, notice=notice)

    return [
        Route("/p/session/{session_id}", show_done, methods=["GET"]),
        Route("/p/session/{session_id}/cancel", cancel, methods=["POST"]),
        Route("/p/session/{session_id}/payment-method", update_card, methods=["POST"]),
    ]


def _not_found() -> Response:
    body = "<main class='portal'><div class='card'><h1>This link has expired</h1>" \
           "<p>Go back to the website and open the billing portal again.</p></div></main>"
    return HTMLResponse(page("Link expired", body, css=CSS), status_code=404)


def _html(
    emu: Engine,
    session: dict[str, Any],
    customer: dict[str, Any],
    subscriptions: list[dict[str, Any]],
    cards_shown: dict[str, dict[str, Any] | None],
    products: dict[str, dict[str, Any]],
    notice: str,
    error: str,
    field_errors: dict[str, str],
) -> str:
    merchant = emu.config.business_name
    parts = []
    for sub in subscriptions:
        price = sub["items"]["data"][0]["price"]
        _, end = billing.current_period(sub)
        amount = format_amount(int(price["unit_amount"] or 0), price["currency"])
        interval = (price.get("recurring") or {}).get("interval") or "period"
        name = products[sub["id"]].get("name") or "Subscription"
        pm = cards_shown.get(sub["id"]) or {}
        last4 = ((pm.get("card") or {}).get("last4")) or "----"
        if sub["cancel_at_period_end"]:
            when = f"Cancels {_date(end)}"
            action = ""
        else:
            when = f"Renews {_date(end)}"
            action = (f'<form method="post" action="/p/session/{escape(session["id"])}/cancel">'
                      f'<input type="hidden" name="subscription" value="{escape(sub["id"])}">'
                      '<button type="submit" class="secondary">Cancel plan</button></form>')
        parts.append(
            f'<section class="card" data-testid="portal-subscription">'
            f"<h2>{escape(name)}</h2><p><strong>{escape(amount)} per {escape(interval)}</strong></p>"
            f'<p><span class="status" data-testid="subscription-status">{escape(sub["status"])}</span> '
            f'<span data-testid="renewal">{escape(when)}</span></p>'
            f'<p data-testid="card-on-file">Card ending in {escape(last4)}</p>{action}</section>'
        )
    if not parts:
        parts.append('<section class="card"><p>You have no current subscriptions.</p></section>')
    values = {key: "" for key in ("number", "expiry", "cvc", "name")}
    fields = "".join(
        f'<label for="{key}">{label}</label><input id="{key}" name="{key}" value="{escape(values[key])}"'
        + (' aria-invalid="true"' if key in field_errors else "") + ">"
        for key, label in (("number", "Card number"), ("expiry", "Expiry"), ("cvc", "CVC"),
                           ("name", "Cardholder name"))
    )
    card_form = (
        '<section class="card"><h2>Payment method</h2>'
        f'<form method="post" action="/p/session/{escape(session["id"])}/payment-method">{fields}'
        '<button type="submit">Update payment method</button></form></section>'
        if subscriptions else ""
    )
    back = (f'<p><a href="{escape(session["return_url"])}">Return to {escape(merchant)}</a></p>'
            if session.get("return_url") else "")
    alerts = (f'<div class="notice" role="status">{escape(notice)}</div>' if notice else "") + (
        f'<div class="alert" role="alert">{escape(error)}</div>' if error else "")
    who = escape(customer.get("email") or customer.get("name") or "")
    body = (f'<main class="portal"><h1>{escape(merchant)}</h1><p class="muted">{who}</p>'
            f"{alerts}{back}{''.join(parts)}{card_form}</main>")
    return page(f"{merchant} · Billing", body, css=CSS, lang=session.get("locale") or "en")
