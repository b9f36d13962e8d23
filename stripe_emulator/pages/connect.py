"""Hosted Connect pages: the onboarding page an Account Link opens, and the small Express
dashboard a Login Link opens.

Onboarding (`<public-url>/setup/s/<acct>/<token>`) offers Stripe-test-mode-style choices:
**Complete onboarding** (with a choice of test bank account: one that pays out, or one whose
payouts fail) and **Leave incomplete**. Both are plain form posts to the same URL
(`choice=complete|incomplete`, `bank_account=<test account number>`) and redirect (303) to the
link's `return_url`; an expired or already used link redirects to its `refresh_url`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator.core import account_state, errors, ledger
from stripe_emulator.core.engine import Engine
from stripe_emulator.core.forms import decode_flat
from stripe_emulator.core.money import format_amount
from stripe_emulator.pages.templates import page
from stripe_emulator.resources import account_links, accounts, login_links

CSS = """
.narrow{max-width:520px;margin:48px auto;padding:0 16px}
.wide{max-width:860px;margin:32px auto;padding:0 16px}
fieldset{border:1px solid #e3e8ee;border-radius:8px;margin:16px 0;padding:12px 16px}
legend{font-weight:600;color:#3c4257;padding:0 4px}
fieldset label{display:block;margin:6px 0}
.actions{display:flex;gap:12px;margin-top:24px}
.actions button{flex:1;padding:12px;border-radius:6px;border:1px solid #d5dbe1;background:#fff;font-weight:600;cursor:pointer}
.actions .primary{background:#635bff;border-color:#635bff;color:#fff}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e8ee}
.due{color:#a4102f}
"""

BANK_CHOICES = (
    ("000123456789", "Test bank account 000123456789 (payouts succeed)"),
    ("000111111116", "Test bank account 000111111116 (payouts fail: no_account)"),
    ("000111111113", "Test bank account 000111111113 (payouts fail: account_closed)"),
)


def routes(emu: Engine) -> list[Route]:
    def link_for(request: Request) -> dict[str, Any] | None:
        token = request.path_params["token"]
        with emu.lock:
            link = emu.store.get_private(account_links.private_key(token))
        if link is None or link["account"] != request.path_params["account_id"]:
            return None
        return link

    def unusable(link: dict[str, Any]) -> bool:
        return bool(link["used"]) or emu.clock.now() > int(link["expires_at"])

    async def onboarding(request: Request) -> Response:
        link = link_for(request)
        if link is None:
            return _not_found("This onboarding link is not valid.")
        if unusable(link):
            return RedirectResponse(link["refresh_url"], status_code=303)
        with emu.lock:
            account = emu.store.get("account", link["account"], None)
        if account is None:
            return _not_found("This account no longer exists.")
        return HTMLResponse(_onboarding_html(emu, account, str(request.url.path)))

    async def choose(request: Request) -> Response:
        link = link_for(request)
        if link is None:
            return _not_found("This onboarding link is not valid.")
        form = decode_flat(await request.body())
        choice = form.get("choice", "")
        if choice not in ("complete", "incomplete"):
            return HTMLResponse("Unknown choice", status_code=400)
        bank = form.get("bank_account") or account_state.DEFAULT_BANK_ACCOUNT
        if choice == "complete" and bank not in dict(BANK_CHOICES):
            return HTMLResponse("Unknown bank account", status_code=400)
        try:
            with emu.tx():
                link = emu.store.get_private(account_links.private_key(request.path_params["token"]))
                if link is None or unusable(link):
                    return RedirectResponse((link or {}).get("refresh_url", "/"), status_code=303)
                link["used"] = True
                emu.store.put_private(account_links.private_key(request.path_params["token"]), link)
                if choice == "complete":
                    accounts.complete_onboarding(
                        emu,
                        link["account"],
                        bank_account_number=bank,
                        ip=request.client.host if request.client else None,
                        user_agent=request.headers.get("user-agent"),
                    )
                else:
                    accounts.leave_incomplete(emu, link["account"])
        except errors.StripeError:
            return _not_found("This account no longer exists.")
        return RedirectResponse(link["return_url"], status_code=303)

    async def dashboard(request: Request) -> Response:
        token = request.path_params["token"]
        with emu.lock:
            login = emu.store.get_private(login_links.private_key(token))
        if login is None or login["account"] != request.path_params["account_id"]:
            return _not_found("This login link is not valid.")
        with emu.tx():
            emu.tick_quietly()
            account = emu.store.get("account", login["account"], None)
            if account is None:
                return _not_found("This account no longer exists.")
            balance = ledger.balance(emu, account["id"])
            payouts = emu.store.all("payout", account["id"])[:20]
        return HTMLResponse(_dashboard_html(emu, account, balance, payouts))

    return [
        Route("/setup/s/{account_id}/{token}", onboarding, methods=["GET"]),
        Route("/setup/s/{account_id}/{token}", choose, methods=["POST"]),
        Route("/express/{account_id}/{token}", dashboard, methods=["GET"]),
    ]


def _not_found(text: str) -> HTMLResponse:
    body = f'<main class="narrow"><div class="card"><h1>Link not found</h1><p class="muted">{escape(text)}</p></div></main>'
    return HTMLResponse(page("Link not found", body, css=CSS), status_code=404)


def _onboarding_html(emu: Engine, account: dict[str, Any], action: str) -> str:
    platform = emu.config.business_name
    choices = "".join(
        f'<label><input type="radio" name="bank_account" value="{number}"'
        + (" checked" if index == 0 else "")
        + f' data-testid="bank-{number}"> {escape(label)}</label>'
        for index, (number, label) in enumerate(BANK_CHOICES)
    )
    email = escape(account.get("email") or "no email on file")
    body = f"""
<main class="narrow"><div class="card">
  <h1>Set up payouts with {escape(platform)}</h1>
  <p class="muted">{escape(platform)} partners with Stripe for secure payments and payouts.
  This is the emulator's test onboarding for account <code>{escape(account['id'])}</code> ({email}).</p>
  <form method="post" action="{escape(action)}">
    <fieldset><legend>Bank account for payouts</legend>{choices}</fieldset>
    <div class="actions">
      <button type="submit" name="choice" value="complete" class="primary" data-testid="onboarding-complete">Complete onboarding</button>
      <button type="submit" name="choice" value="incomplete" data-testid="onboarding-incomplete">Leave incomplete</button>
    </div>
  </form>
  <p class="muted">Complete onboarding enables charges and payouts and clears the requirements.
  Leave incomplete keeps <code>external_account</code> and
  <code>individual.verification.document</code> due.</p>
</div></main>"""
    return page(f"Set up payouts · {platform}", body, css=CSS)


def _time(ts: Any) -> str:
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%d") if ts else ""


def _dashboard_html(
    emu: Engine, account: dict[str, Any], balance: dict[str, Any], payouts: list[dict[str, Any]]
) -> str:
    rows = "".join(
        f"<tr><td>{escape(entry['currency'].upper())}</td>"
        f"<td data-testid='available-{escape(entry['currency'])}'>{escape(format_amount(entry['amount'], entry['currency']))}</td>"
        f"<td>{escape(format_amount(pending['amount'], pending['currency']))}</td></tr>"
        for entry, pending in zip(balance["available"], balance["pending"], strict=True)
    )
    payout_rows = "".join(
        f"<tr><td>{escape(_time(p['arrival_date']))}</td>"
        f"<td>{escape(format_amount(p['amount'], p['currency']))}</td>"
        f"<td>{escape(p['status'])}</td><td>{escape(p.get('failure_code') or '')}</td></tr>"
        for p in payouts
    ) or '<tr><td colspan="4" class="muted">No payouts yet</td></tr>'
    banks = "".join(
        f"<li>{escape(bank['bank_name'] or 'Bank')} •••• {escape(bank['last4'])} ({escape(bank['status'])})</li>"
        for bank in account["external_accounts"]["data"]
    ) or "<li class='due'>No bank account</li>"
    due = account["requirements"]["currently_due"]
    due_html = (
        "<p class='due'>Information needed: " + escape(", ".join(due)) + "</p>" if due else ""
    )
    body = f"""
<main class="wide"><div class="card">
  <h1>Express dashboard</h1>
  <p class="muted">{escape(account.get('email') or account['id'])} · paid by {escape(emu.config.business_name)}</p>
  {due_html}
  <h2>Balance</h2>
  <table><thead><tr><th>Currency</th><th>Available</th><th>Pending</th></tr></thead><tbody>{rows}</tbody></table>
  <h2>Bank account</h2><ul>{banks}</ul>
  <h2>Payouts</h2>
  <table><thead><tr><th>Arrival</th><th>Amount</th><th>Status</th><th>Failure</th></tr></thead><tbody>{payout_rows}</tbody></table>
</div></main>"""
    return page("Express dashboard", body, css=CSS)
