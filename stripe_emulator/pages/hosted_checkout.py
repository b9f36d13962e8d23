"""The hosted checkout page at <public-url>/c/pay/<session id>, and its 3D Secure challenge.

Plain server-rendered HTML forms; every payment goes through `checkout.pay` /
`checkout.authenticate` (resources/checkout.py), the same logic as the control API's `complete`
endpoint.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator.core import cards, invoicing, payment_engine
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.forms import decode_flat
from stripe_emulator.core.money import format_amount
from stripe_emulator.core.payment_engine import PaymentResult, SessionUnavailable, success_redirect
from stripe_emulator.pages import payment_methods
from stripe_emulator.pages.templates import page
from stripe_emulator.resources import checkout

CSS = """
.checkout{max-width:960px;margin:0 auto;padding:40px 24px;display:grid;grid-template-columns:1fr 1fr;gap:48px}
@media (max-width:760px){.checkout{grid-template-columns:1fr;gap:24px;padding:24px 16px}}
.back{display:inline-block;margin-bottom:24px;text-decoration:none;color:#3c4257;font-weight:500}
.back:hover{color:#635bff}
.amount-label{color:#697386;margin:0}
.amount{font-size:36px;font-weight:600;margin:0 0 24px;letter-spacing:-.02em}
.items{list-style:none;padding:0;margin:0}
.items li{display:flex;justify-content:space-between;gap:16px;padding:12px 0;border-bottom:1px solid #e3e8ee}
.items small{display:block;color:#697386}
.total-row{display:flex;justify-content:space-between;font-weight:600;padding-top:12px}
form label{display:block;font-size:13px;font-weight:500;color:#3c4257;margin:14px 0 4px}
form input{width:100%;font:inherit;padding:10px 12px;border:1px solid #d5dbe1;border-radius:6px;background:#fff}
form input:focus{outline:none;border-color:#635bff;box-shadow:0 0 0 3px rgba(99,91,255,.25)}
form select{width:100%;font:inherit;padding:10px 12px;border:1px solid #d5dbe1;border-radius:6px;background:#fff}
fieldset.business{border:1px solid #e3e8ee;border-radius:6px;margin:16px 0 0;padding:4px 12px 12px}
fieldset.business legend{font-size:13px;font-weight:500;color:#3c4257}
form input[aria-invalid=true]{border-color:#df1b41}
.row{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.field-error{color:#df1b41;font-size:13px;margin:4px 0 0}
.alert{background:#fff0f3;color:#a4102f;border:1px solid #ffccd5;border-radius:6px;padding:10px 12px;margin-bottom:8px}
.pay-button{width:100%;margin-top:24px;padding:12px;border:0;border-radius:6px;background:#635bff;color:#fff;
 font-weight:600;font-size:16px;cursor:pointer}
.pay-button:hover{background:#5047e5}.pay-button[disabled]{opacity:.7;cursor:progress}
.hint{font-size:12px;color:#697386;margin-top:16px}
.hint code{background:#eef1f6;border-radius:3px;padding:1px 4px}
.narrow{max-width:460px;margin:64px auto;padding:0 16px}
.actions{display:flex;gap:12px;margin-top:24px}
.actions button{flex:1;padding:12px;border-radius:6px;border:1px solid #d5dbe1;background:#fff;font-weight:600;cursor:pointer}
.actions .primary{background:#635bff;border-color:#635bff;color:#fff}
""" + payment_methods.CSS

SCRIPT = """
(function(){
  var number=document.getElementById('cardnumber');
  if(number){number.addEventListener('input',function(){
    var d=number.value.replace(/\\D/g,'').slice(0,19);
    var f=d.replace(/(\\d{4})(?=\\d)/g,'$1 ');
    if(f!==number.value){number.value=f;}
  });}
  var form=document.getElementById('payment-form');
  if(form){form.addEventListener('submit',function(){
    var b=document.getElementById('pay-button'); if(b){b.setAttribute('aria-busy','true');}
  });}
})();
"""

# Messages for failures that come back through a redirect (?error=<code>).
REDIRECT_ERRORS: dict[str, str] = {
    "payment_intent_authentication_failure": cards.AUTHENTICATION_FAILED,
    **{
        outcome.decline_code: outcome.message
        for outcome in cards.TEST_CARD_OUTCOMES.values()
        if outcome.decline_code and outcome.message
    },
}
for _outcome in cards.TEST_CARD_OUTCOMES.values():
    _after = _outcome.after_authentication
    if _after is not None and _after.decline_code and _after.message:
        REDIRECT_ERRORS[_after.decline_code] = _after.message

# The button text Stripe shows for each `submit_type`.
SUBMIT_LABELS = {"auto": "Pay", "pay": "Pay", "book": "Book", "donate": "Donate", "subscribe": "Subscribe"}

FIELDS = (
    # (field key used by payments/charging, input id and name, label, type, autocomplete, placeholder)
    ("email", "email", "Email", "email", "email", "you@example.com"),
    ("number", "cardnumber", "Card number", "text", "cc-number", "1234 1234 1234 1234"),
    ("expiry", "expiry", "Expiry", "text", "cc-exp", "MM / YY"),
    ("cvc", "cvc", "CVC", "text", "cc-csc", "CVC"),
    ("name", "name", "Cardholder name", "text", "cc-name", "Full name on card"),
)


def routes(emu: Engine) -> list[Route]:
    async def show(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        error_code = request.query_params.get("error")
        message = REDIRECT_ERRORS.get(error_code or "")
        method = request.query_params.get("method") or "card"
        return _render(emu, session_id, values={}, field_errors={}, message=message, status=200, method=method)

    async def submit(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        form = decode_flat(await request.body())
        method = form.get("method") or "card"
        if method != "card":
            return payment_methods.submit(emu, session_id, method, form, render=_render, unavailable=_unavailable)
        values = {key: form.get(name, "") for key, name, *_ in FIELDS}
        answer_errors = _record_answers(emu, session_id, form)
        if answer_errors:
            keep = {**form, "email": values["email"], "name": values["name"]}
            return _render(emu, session_id, values=keep, field_errors=answer_errors, message=None, status=400)
        try:
            result = checkout.pay(emu, session_id, **values)
        except SessionUnavailable as exc:
            return _unavailable(exc, status=409 if exc.reason != "not_found" else 404)
        return _after_payment(emu, session_id, result, values)

    async def promotion_code(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        code = decode_flat(await request.body()).get("code", "")
        try:
            problem = checkout.apply_promotion_code(emu, session_id, code)
        except SessionUnavailable as exc:
            return _unavailable(exc, status=409 if exc.reason != "not_found" else 404)
        if problem is None:
            return RedirectResponse(f"/c/pay/{session_id}", status_code=303)
        return _render(emu, session_id, values={"code": code}, field_errors={"code": problem}, message=None,
                       status=400)

    async def challenge(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        challenge_id = request.path_params["challenge_id"]
        with emu.lock:
            data = payment_engine.challenge(emu, challenge_id)
        if data is None or data["session"] != session_id:
            return _unavailable(SessionUnavailable("not_found"), status=404)
        if data["status"] != "pending":
            return RedirectResponse(f"/c/pay/{session_id}", status_code=303)
        return HTMLResponse(_challenge_html(data))

    async def resolve(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        challenge_id = request.path_params["challenge_id"]
        action = decode_flat(await request.body()).get("action", "")
        if action not in ("complete", "fail"):
            return HTMLResponse("Unknown action", status_code=400)
        try:
            result = checkout.authenticate(emu, session_id, challenge_id, action)
        except SessionUnavailable as exc:
            return _unavailable(exc, status=409 if exc.reason != "not_found" else 404)
        if result.status == "succeeded":
            return RedirectResponse(result.next_url or "/", status_code=303)
        code = (result.error or {}).get("decline_code") or (result.error or {}).get("code") or ""
        return RedirectResponse(f"/c/pay/{session_id}?error={code}", status_code=303)

    async def receipt(request: Request) -> Response:
        charge = emu.store.get("charge", request.path_params["charge_id"])
        if charge is None:
            return HTMLResponse(page("Receipt not found", "<main class='narrow'><h1>Receipt not found</h1></main>", css=CSS), 404)
        return HTMLResponse(_receipt_html(charge))

    return [
        *payment_methods.routes(emu, render=_render, unavailable=_unavailable, css=CSS),
        Route("/c/pay/{session_id}", show, methods=["GET"]),
        Route("/c/pay/{session_id}", submit, methods=["POST"]),
        Route("/c/pay/{session_id}/promotion-code", promotion_code, methods=["POST"]),
        Route("/c/pay/{session_id}/authenticate/{challenge_id}", challenge, methods=["GET"]),
        Route("/c/pay/{session_id}/authenticate/{challenge_id}", resolve, methods=["POST"]),
        Route("/receipts/{charge_id}", receipt, methods=["GET"]),
    ]


def _after_payment(
    emu: Engine, session_id: str, result: PaymentResult, values: dict[str, str]
) -> Response:
    if result.status == "succeeded":
        return RedirectResponse(result.next_url or success_redirect(result.session), status_code=303)
    if result.status == "requires_action":
        return RedirectResponse(
            f"/c/pay/{session_id}/authenticate/{result.challenge_id}", status_code=303
        )
    keep = {"email": values.get("email", ""), "name": values.get("name", "")}
    if result.status == "invalid":
        keep.update(expiry=values.get("expiry", ""), number=values.get("number", ""))
        return _render(
            emu, session_id, values=keep, field_errors=result.field_errors, message=None, status=400
        )
    return _render(emu, session_id, values=keep, field_errors={}, message=result.message, status=402)


def _render(
    emu: Engine,
    session_id: str,
    *,
    values: dict[str, str],
    field_errors: dict[str, str],
    message: str | None,
    status: int,
    method: str = "card",
) -> Response:
    with emu.tx():
        checkout.expire_due(emu)
        session = emu.store.get("checkout.session", session_id)
        if session is None:
            return _unavailable(SessionUnavailable("not_found"), status=404)
        if session["status"] != "open":
            return _unavailable(SessionUnavailable(session["status"], session), status=200)
        items = checkout.line_items(emu, session_id)
        customer = emu.store.get("customer", session["customer"]) if session.get("customer") else None
        if customer and customer.get("email") and not values.get("email"):
            values = {**values, "email": customer["email"]}  # Checkout prefills the customer's email
        products = {
            item["price"]["product"]: emu.store.get("product", item["price"]["product"]) or {}
            for item in items
        }
    return HTMLResponse(
        _payment_html(session, items, products, values, field_errors, message, emu.config.business_name,
                      method=method),
        status_code=status,
    )


def _payment_html(
    session: dict[str, Any],
    items: list[dict[str, Any]],
    products: dict[str, dict[str, Any]],
    values: dict[str, str],
    field_errors: dict[str, str],
    message: str | None,
    merchant: str,
    method: str = "card",
) -> str:
    if session.get("mode") == "setup":
        return _setup_html(session, values, field_errors, message, merchant)
    currency = session["currency"] or "usd"
    total = format_amount(session["amount_total"], currency)
    rows = []
    for item in items:
        product = products.get(item["price"]["product"], {})
        name = product.get("name") or item.get("description") or "Item"
        description = product.get("description")
        detail = ""
        if item["quantity"] > 1:
            each = format_amount(item["price"]["unit_amount"] or 0, currency)
            detail = f"<small>Qty {item['quantity']} · {escape(each)} each</small>"
        rows.append(
            "<li><div>"
            f'<strong class="item-name">{escape(name)}</strong>'
            + (f"<small>{escape(description)}</small>" if description else "")
            + detail
            + f"</div><span>{escape(format_amount(item['amount_total'], currency))}</span></li>"
        )
    back = ""
    if session.get("cancel_url"):
        back = (
            f'<a class="back" href="{escape(session["cancel_url"])}" '
            'title="Cancel and return to the merchant"><span aria-hidden="true">← </span>Back</a>'
        )
    button = SUBMIT_LABELS.get(session.get("submit_type") or "auto", "Pay")
    per = ""
    if session.get("mode") == "subscription":  # Stripe: "Subscribe to …", "£40.00 per month"
        button = "Subscribe"
        recurring = next((item["price"].get("recurring") for item in items if item["price"].get("recurring")), None)
        if recurring:
            count = recurring.get("interval_count") or 1
            per = f" per {recurring['interval']}" if count == 1 else f" every {count} {recurring['interval']}s"
    prefill = {**values, "email": values.get("email") or session.get("customer_email") or ""}
    inputs = []
    for key, name, label, input_type, autocomplete, placeholder in FIELDS:
        error = field_errors.get(key)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
        field = (
            f'<label for="{name}">{label}</label>'
            f'<input id="{name}" name="{name}" type="{input_type}" autocomplete="{autocomplete}" '
            f'placeholder="{placeholder}" value="{escape(prefill.get(key, ""))}"'
            + (' inputmode="numeric"' if key in ("number", "cvc") else "")
            + f"{described}>"
            + (f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else "")
        )
        inputs.append((key, field))
    fields = dict(inputs)
    alert = f'<div class="alert" role="alert">{escape(message)}</div>' if message else ""
    if field_errors and not message and set(field_errors) != {"code"}:
        alert = '<div class="alert" role="alert">Please check the highlighted fields.</div>'
    offered = list(session.get("payment_method_types") or ["card"])
    if method not in offered:
        method = "card" if "card" in offered else offered[0]
    card_form = f"""
    <form id="payment-form" method="post" action="/c/pay/{escape(session['id'])}" novalidate>
      {fields['email']}
      {fields['number']}
      <div class="row"><div>{fields['expiry']}</div><div>{fields['cvc']}</div></div>
      {fields['name']}
      {_answer_fields(session, values, field_errors)}
      <button type="submit" id="pay-button" class="pay-button">{button}</button>
    </form>
    <p class="hint">Test cards: <code>4242 4242 4242 4242</code> succeeds,
      <code>4000 0000 0000 0002</code> is declined, <code>4000 0000 0000 9995</code> has
      insufficient funds, <code>4000 0027 6000 3184</code> asks for 3D Secure.
      Use any future expiry and any CVC.</p>"""
    chooser = payment_methods.chooser_html(session, offered, method)
    form_html = card_form if method == "card" else payment_methods.form_html(
        session, method, values, field_errors, button, merchant)
    if session["amount_total"] == 0:  # a discount left nothing to pay: Stripe asks for the email only
        chooser = ""
        form_html = f"""
    <form id="payment-form" method="post" action="/c/pay/{escape(session['id'])}" novalidate>
      {fields['email']}
      <button type="submit" id="pay-button" class="pay-button">Complete order</button>
    </form>"""
    body = f"""
<main class="checkout">
  <section class="summary" aria-label="Order summary">
    {back}
    <p class="amount-label" data-testid="merchant-name">Pay {escape(merchant)}</p>
    <p class="amount" data-testid="amount-total">{escape(total)}<small data-testid="billing-interval">{escape(per)}</small></p>
    <ul class="items">{''.join(rows)}</ul>
    {_discount_html(session, values, field_errors)}
    <div class="total-row"><span>Total due</span><span>{escape(total)}</span></div>
  </section>
  <section class="card" aria-label="Payment">
    {alert}
    {chooser}
    {form_html}
  </section>
</main>"""
    lang = session.get("locale") or "en"
    return page(
        f"Pay {total} · {merchant}", body, css=CSS, script=SCRIPT, lang="en" if lang == "auto" else lang
    )


def _discount_html(session: dict[str, Any], values: dict[str, str], field_errors: dict[str, str]) -> str:
    """The subtotal and the discount applied, or (`allow_promotion_codes`) the field to add a code."""
    currency = session["currency"] or "usd"
    off = (session.get("total_details") or {}).get("amount_discount") or 0
    if off:
        return (f'<div class="total-row"><span>Subtotal</span><span>{escape(format_amount(session["amount_subtotal"], currency))}'
                f'</span></div><div class="total-row" data-testid="discount"><span>Discount</span>'
                f'<span>−{escape(format_amount(off, currency))}</span></div>')
    if not session.get("allow_promotion_codes"):
        return ""
    error = field_errors.get("code")
    described = ' aria-describedby="promotion-code-error" aria-invalid="true"' if error else ""
    return (f'<form class="promotion" method="post" action="/c/pay/{escape(session["id"])}/promotion-code" novalidate>'
            f'<label for="promotion-code">Promotion code</label>'
            f'<input id="promotion-code" name="code" type="text" autocomplete="off" '
            f'value="{escape(values.get("code", ""))}"{described}>'
            + (f'<p class="field-error" id="promotion-code-error" role="alert">{escape(error)}</p>' if error else "")
            + '<button type="submit">Apply</button></form>')
def _card_inputs(values: dict[str, str], field_errors: dict[str, str]) -> dict[str, str]:
    inputs = {}
    for key, name, label, input_type, autocomplete, placeholder in FIELDS:
        error = field_errors.get(key)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
        inputs[key] = (
            f'<label for="{name}">{label}</label>'
            f'<input id="{name}" name="{name}" type="{input_type}" autocomplete="{autocomplete}" '
            f'placeholder="{placeholder}" value="{escape(values.get(key, ""))}"'
            + (' inputmode="numeric"' if key in ("number", "cvc") else "")
            + f"{described}>"
            + (f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else "")
        )
    return inputs


def _setup_html(
    session: dict[str, Any], values: dict[str, str], field_errors: dict[str, str], message: str | None,
    merchant: str,
) -> str:
    """Setup mode: the card is saved for later payments; nothing is charged now."""
    fields = _card_inputs({**values, "email": values.get("email") or session.get("customer_email") or ""},
                          field_errors)
    alert = f'<div class="alert" role="alert">{escape(message)}</div>' if message else ""
    if field_errors and not message:
        alert = '<div class="alert" role="alert">Please check the highlighted fields.</div>'
    back = ""
    if session.get("cancel_url"):
        back = (f'<a class="back" href="{escape(session["cancel_url"])}" title="Cancel and return to the merchant">'
                '<span aria-hidden="true">← </span>Back</a>')
    body = f"""
<main class="checkout">
  <section class="summary" aria-label="Summary">
    {back}
    <p class="amount-label" data-testid="merchant-name">Save your card with {escape(merchant)}</p>
    <p class="amount" data-testid="amount-total">No charge now</p>
    <p>{escape(merchant)} keeps your card on file and may charge it later, as agreed with you.</p>
  </section>
  <section class="card" aria-label="Card details">
    {alert}
    <form id="payment-form" method="post" action="/c/pay/{escape(session['id'])}" novalidate>
      {fields['email']}
      {fields['number']}
      <div class="row"><div>{fields['expiry']}</div><div>{fields['cvc']}</div></div>
      {fields['name']}
      <button type="submit" id="pay-button" class="pay-button">Save card</button>
    </form>
    <p class="hint">Test cards: <code>4242 4242 4242 4242</code> and <code>4000 0025 0000 3155</code> (set up
      once, then charged off-session) are saved; <code>4000 0027 6000 3184</code> always needs authentication
      when charged; <code>4000 0000 0000 9995</code> is saved but declined when charged.</p>
  </section>
</main>"""
    return page(f"Save card · {merchant}", body, css=CSS, script=SCRIPT)


def _record_answers(emu: Engine, session_id: str, form: dict[str, str]) -> dict[str, str]:
    """The business name, tax id and custom fields the session asks for: kept for the payment
    (`core/invoicing.py`), or field -> message."""
    with emu.tx():
        session = emu.store.get("checkout.session", session_id)
        if session is None or session["status"] != "open":
            return {}
        answers, problems = invoicing.check_answers(session, form)
        if not problems:
            invoicing.record_answers(emu, session_id, answers)
        return problems


def _answer_fields(session: dict[str, Any], values: dict[str, str], field_errors: dict[str, str]) -> str:
    """Business name and tax id (`tax_id_collection`), then each of the session's `custom_fields`."""

    def text_input(name: str, label: str, autocomplete: str = "off") -> str:
        error = field_errors.get(name)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
        return (
            f'<label for="{name}">{escape(label)}</label>'
            f'<input id="{name}" name="{name}" type="text" autocomplete="{autocomplete}" '
            f'value="{escape(values.get(name, ""))}"{described}>'
            + (f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else "")
        )

    parts = []
    if invoicing.wants_tax_id(session):
        chosen = values.get("tax_id_type") or "eu_vat"
        options = "".join(
            f'<option value="{code}"{" selected" if code == chosen else ""}>{escape(label)}</option>'
            for code, label in invoicing.TAX_ID_TYPES.items()
        )
        parts.append(
            '<fieldset class="business"><legend>Purchasing as a business (optional)</legend>'
            + text_input("business_name", "Business name", "organization")
            + '<label for="tax_id_type">Tax ID type</label>'
            f'<select id="tax_id_type" name="tax_id_type">{options}</select>'
            + text_input("tax_id", "Tax ID")
            + "</fieldset>"
        )
    for field in session.get("custom_fields") or []:
        label = field["label"]["custom"] + (" (optional)" if field.get("optional") else "")
        parts.append(text_input(f"custom_{field['key']}", label))
    return "".join(parts)


def _challenge_html(data: dict[str, Any]) -> str:
    amount = format_amount(data["amount"], data["currency"])
    last4 = escape(data["card"]["number"][-4:])
    body = f"""
<main class="narrow"><div class="card">
  <h1>3D Secure authentication</h1>
  <p class="muted">Emulated bank challenge</p>
  <p>Confirm the payment of <strong>{escape(amount)}</strong> with the card ending in {last4}.</p>
  <form method="post" class="actions">
    <button type="submit" name="action" value="complete" class="primary">Complete</button>
    <button type="submit" name="action" value="fail">Fail</button>
  </form>
</div></main>"""
    return page("3D Secure authentication", body, css=CSS)


def _unavailable(exc: SessionUnavailable, *, status: int) -> Response:
    session = exc.session or {}
    if exc.reason == "expired":
        title = "This checkout session has expired"
        text = "The payment window closed before the payment was made. Return to the merchant to start again."
        link = session.get("cancel_url")
    elif exc.reason == "complete":
        title = "This checkout session has already been paid"
        text = "Thank you, your payment was received."
        link = success_redirect(session) if session.get("success_url") else None
    else:
        title = "Checkout session not found"
        text = "This link is not valid. Check the address or return to the merchant."
        link = None
    link_html = f'<p><a href="{escape(link)}">Return to merchant</a></p>' if link else ""
    body = (
        f'<main class="narrow"><div class="card"><h1>{escape(title)}</h1>'
        f'<p class="muted">{escape(text)}</p>{link_html}</div></main>'
    )
    return HTMLResponse(page(title, body, css=CSS), status_code=status)


def _paid_with(details: dict[str, Any], card: dict[str, Any]) -> str:
    method = details.get("type") or "card"
    if method != "card":
        last4 = (details.get(method) or {}).get("last4")
        label = payment_methods.LABELS.get(method, method)
        return escape(f"Paid with {label}" + (f" •••• {last4}" if last4 else ""))
    wallet = (card.get("wallet") or {}).get("type")
    prefix = f"{payment_methods.LABELS[wallet]} · " if wallet in payment_methods.LABELS else ""
    return escape(f"Card: {prefix}{card.get('brand', '')} •••• {card.get('last4', '')}")


def _receipt_html(charge: dict[str, Any]) -> str:
    currency = charge["currency"] or "usd"
    details = charge.get("payment_method_details") or {}
    card = details.get("card") or {}
    refunded = ""
    if charge["amount_refunded"]:
        refunded = f"<p>Refunded: {escape(format_amount(charge['amount_refunded'], currency))}</p>"
    refund_rows = "".join(
        f"<li data-testid='receipt-refund'>Refund {escape(format_amount(refund['amount'], currency))}: "
        f"{escape(str(refund['status']))}</li>"
        for refund in ((charge.get("refunds") or {}).get("data") or [])
    )
    if refund_rows:
        refunded += f"<ul>{refund_rows}</ul>"
    body = f"""
<main class="narrow"><div class="card">
  <h1>Receipt</h1>
  <p class="amount">{escape(format_amount(charge['amount'], currency))}</p>
  <p>Status: {escape(charge['status'])}</p>
  <p>{_paid_with(details, card)}</p>
  {refunded}
  <p class="muted">{escape(charge['id'])}</p>
</div></main>"""
    return page("Receipt", body, css=CSS)
