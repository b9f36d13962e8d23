"""The hosted page's other payment methods (core/methods.py): the Apple Pay / Google Pay buttons and
their emulated wallet sheet, the method chooser, the SEPA / Bacs Direct Debit forms (with Stripe's
test account numbers), and PayPal's test redirect page ("Authorize test payment" / "Fail test
payment"). The card form stays in hosted_checkout.py."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator.core import methods, paypal
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.forms import decode_flat
from stripe_emulator.core.money import format_amount
from stripe_emulator.core.payment_engine import PaymentResult, SessionUnavailable, success_redirect
from stripe_emulator.pages.templates import page
from stripe_emulator.resources import checkout

CSS = """
.express{display:flex;gap:12px;margin-bottom:8px}
.wallet{flex:1;display:block;text-align:center;padding:11px;border-radius:6px;background:#000;color:#fff;
 font-weight:600;text-decoration:none}
.wallet.google_pay{background:#fff;color:#3c4043;border:1px solid #d5dbe1}
.or{text-align:center;color:#697386;font-size:13px;margin:12px 0}
.methods{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 4px}
.methods a{padding:8px 12px;border:1px solid #d5dbe1;border-radius:6px;text-decoration:none;color:#3c4257;
 font-weight:500;font-size:14px}
.methods a[aria-current=page]{border-color:#635bff;color:#635bff;box-shadow:0 0 0 1px #635bff}
.mandate{font-size:12px;color:#697386;margin-top:12px}
.paypal-page{max-width:460px;margin:64px auto;padding:0 16px}
.paypal-logo{font-weight:800;font-size:28px;color:#003087;margin:0 0 8px}
.paypal-logo span{color:#009cde}
"""

FORM_FIELDS = {
    # method -> (form name, label, autocomplete, placeholder)
    "sepa_debit": (
        ("email", "Email", "email", "you@example.com"),
        ("name", "Full name", "name", "First and last name"),
        ("iban", "IBAN", "off", "DE00 0000 0000 0000 0000 00"),
    ),
    "bacs_debit": (
        ("email", "Email", "email", "you@example.com"),
        ("name", "Full name", "name", "First and last name"),
        ("sort_code", "Sort code", "off", "10-88-00"),
        ("account_number", "Account number", "off", "00012345"),
    ),
    "paypal": (("email", "Email", "email", "you@example.com"),),
}
HINTS = {
    "sepa_debit": "Test IBANs: <code>AT61 1904 3002 3457 3201</code> succeeds, "
                  "<code>AT86 1904 3002 3547 3202</code> fails; <code>AT32 1904 3002 3547 3204</code> succeeds "
                  "and <code>AT05 1904 3002 3547 3205</code> fails after three minutes (on the emulator's clock).",
    "bacs_debit": "Test sort code <code>10-88-00</code> with account <code>00012345</code> succeeds, "
                  "<code>33333335</code> fails; <code>90012345</code> succeeds and <code>93333335</code> fails after "
                  "three minutes (on the emulator's clock).",
    "paypal": "You will be redirected to PayPal's test page to authorize or fail the payment.",
}
MANDATES = {
    "sepa_debit": "By providing your payment information and confirming this payment, you authorise {merchant} "
                  "and Stripe, our payment service provider, to send instructions to your bank to debit your "
                  "account and your bank to debit your account in accordance with those instructions.",
    "bacs_debit": "You authorise {merchant} to collect this payment by Bacs Direct Debit. Payments are protected "
                  "by the Direct Debit Guarantee.",
}

Render = Callable[..., Response]
LABELS = methods.LABELS


def chooser_html(session: dict[str, Any], offered: list[str], method: str) -> str:
    """The wallet buttons (cards) and a link per method; the chosen one is marked."""
    base = f"/c/pay/{escape(session['id'])}"
    parts = []
    if "card" in offered:
        wallets = "".join(
            f'<a class="wallet {wallet}" href="{base}/wallet/{wallet}">{methods.LABELS[wallet]}</a>'
            for wallet in methods.WALLETS
        )
        parts.append(f'<div class="express" aria-label="Express checkout">{wallets}</div>'
                     '<p class="or">Or pay another way</p>')
    if len(offered) > 1:
        links = "".join(
            f'<a href="{base}?method={m}"' + (' aria-current="page"' if m == method else "")
            + f' data-method="{m}">{methods.LABELS[m]}</a>'
            for m in offered
        )
        parts.append(f'<nav class="methods" aria-label="Payment method">{links}</nav>')
    return "".join(parts)


def form_html(session: dict[str, Any], method: str, values: dict[str, str], field_errors: dict[str, str],
              button: str, merchant: str = "") -> str:
    prefill = {**values, "email": values.get("email") or session.get("customer_email") or ""}
    inputs = []
    for name, label, autocomplete, placeholder in FORM_FIELDS[method]:
        error = field_errors.get(name)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
        inputs.append(
            f'<label for="{name}">{label}</label>'
            f'<input id="{name}" name="{name}" type="{"email" if name == "email" else "text"}" '
            f'autocomplete="{autocomplete}" placeholder="{placeholder}" value="{escape(prefill.get(name, ""))}"'
            f"{described}>"
            + (f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else "")
        )
    label = "Continue to PayPal" if method == "paypal" else button
    mandate = MANDATES.get(method, "").format(merchant=escape(merchant or "the merchant"))
    return (
        f'<form id="payment-form" method="post" action="/c/pay/{escape(session["id"])}" novalidate>'
        f'<input type="hidden" name="method" value="{method}">'
        + "".join(inputs)
        + (f'<p class="mandate">{mandate}</p>' if mandate else "")
        + f'<button type="submit" id="pay-button" class="pay-button">{label}</button></form>'
        f'<p class="hint">{HINTS[method]}</p>'
    )


def submit(emu: Engine, session_id: str, method: str, form: dict[str, str], *, render: Render,
           unavailable: Callable[..., Response]) -> Response:
    names = {name for fields in FORM_FIELDS.values() for name, *_ in fields}
    values = {name: form.get(name, "") for name in names if name in form}
    try:
        if method in methods.WALLETS:
            result = checkout.pay_with(emu, session_id, method, email=form.get("email", ""),
                                       name=form.get("name", ""))
        else:
            result = checkout.pay_with(emu, session_id, method, **values)
    except SessionUnavailable as exc:
        if exc.reason == "method_not_offered":
            return render(emu, session_id, values={}, field_errors={}, status=400,
                          message="This payment method is not available for this payment.")
        return unavailable(exc, status=409 if exc.reason != "not_found" else 404)
    return after(emu, session_id, method, result, values, render=render)


def after(emu: Engine, session_id: str, method: str, result: PaymentResult, values: dict[str, str], *,
          render: Render) -> Response:
    if result.status in ("succeeded", "processing"):
        return RedirectResponse(result.next_url or success_redirect(result.session), status_code=303)
    if result.status == "requires_action":
        return RedirectResponse(result.next_url or f"/c/pay/{session_id}", status_code=303)
    if method in methods.WALLETS:
        method = "card"
    status = 400 if result.status == "invalid" else 402
    return render(emu, session_id, values=values, field_errors=result.field_errors, message=result.message
                  if result.status != "invalid" or not result.field_errors else None, status=status, method=method)


def routes(emu: Engine, *, render: Render, unavailable: Callable[..., Response], css: str) -> list[Route]:
    async def wallet_sheet(request: Request) -> Response:
        session_id, wallet = request.path_params["session_id"], request.path_params["wallet"]
        if wallet not in methods.WALLETS:
            return unavailable(SessionUnavailable("not_found"), status=404)
        with emu.tx():
            try:
                session = checkout.payable_session(emu, session_id)
            except SessionUnavailable as exc:
                return unavailable(exc, status=409 if exc.reason != "not_found" else 404)
        label = methods.LABELS[wallet]
        amount = format_amount(session["amount_total"], session["currency"] or "usd")
        email = escape(session.get("customer_email") or "")
        body = f"""
<main class="narrow"><div class="card">
  <h1>{label}</h1>
  <p class="muted">Emulated wallet sheet · Visa •••• 4242</p>
  <p>Pay <strong>{escape(amount)}</strong> to {escape(emu.config.business_name)}.</p>
  <form method="post" novalidate>
    <label for="email">Email</label><input id="email" name="email" type="email" value="{email}">
    <label for="name">Name</label><input id="name" name="name" type="text" value="Wallet Payer">
    <div class="actions">
      <button type="submit" name="action" value="pay" class="primary">Pay with {label}</button>
      <button type="submit" name="action" value="cancel">Cancel</button>
    </div>
  </form>
</div></main>"""
        return HTMLResponse(page(label, body, css=css))

    async def wallet_pay(request: Request) -> Response:
        session_id, wallet = request.path_params["session_id"], request.path_params["wallet"]
        form = decode_flat(await request.body())
        if wallet not in methods.WALLETS:
            return unavailable(SessionUnavailable("not_found"), status=404)
        if form.get("action") == "cancel":
            return RedirectResponse(f"/c/pay/{session_id}", status_code=303)
        return submit(emu, session_id, wallet, form, render=render, unavailable=unavailable)

    async def paypal_page(request: Request) -> Response:
        session_id, attempt_id = request.path_params["session_id"], request.path_params["attempt_id"]
        with emu.lock:
            data = paypal.attempt(emu, attempt_id)
        if data is None or data["session"] != session_id:
            return unavailable(SessionUnavailable("not_found"), status=404)
        if data["status"] != "pending":
            return RedirectResponse(f"/c/pay/{session_id}?method=paypal", status_code=303)
        amount = format_amount(data["amount"], data["currency"])
        body = f"""
<main class="paypal-page"><div class="card">
  <p class="paypal-logo">Pay<span>Pal</span></p>
  <h1>PayPal test payment page</h1>
  <p class="muted">This test page stands in for PayPal. Authorize or fail the payment of
    <strong>{escape(amount)}</strong> to {escape(emu.config.business_name)}.</p>
  <form method="post" class="actions">
    <button type="submit" name="action" value="authorize" class="primary">Authorize test payment</button>
    <button type="submit" name="action" value="fail">Fail test payment</button>
  </form>
</div></main>"""
        return HTMLResponse(page("PayPal test payment page", body, css=css))

    async def paypal_resolve(request: Request) -> Response:
        session_id, attempt_id = request.path_params["session_id"], request.path_params["attempt_id"]
        action = decode_flat(await request.body()).get("action", "")
        if action not in ("authorize", "fail"):
            return HTMLResponse("Unknown action", status_code=400)
        try:
            result = checkout.resolve_paypal(emu, session_id, attempt_id, action)
        except SessionUnavailable as exc:
            return unavailable(exc, status=409 if exc.reason != "not_found" else 404)
        if result.status == "succeeded":
            return RedirectResponse(result.next_url or "/", status_code=303)
        code = (result.error or {}).get("code") or ""
        return RedirectResponse(f"/c/pay/{session_id}?method=paypal&error={code}", status_code=303)

    return [
        Route("/c/pay/{session_id}/wallet/{wallet}", wallet_sheet, methods=["GET"]),
        Route("/c/pay/{session_id}/wallet/{wallet}", wallet_pay, methods=["POST"]),
        Route("/c/pay/{session_id}/paypal/{attempt_id}", paypal_page, methods=["GET"]),
        Route("/c/pay/{session_id}/paypal/{attempt_id}", paypal_resolve, methods=["POST"]),
    ]
