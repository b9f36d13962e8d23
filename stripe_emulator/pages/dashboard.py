"""A read-only HTML dashboard at / listing what happened, and a JSON view of any object."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from stripe_emulator.core.engine import Engine
from stripe_emulator.core.money import format_amount
from stripe_emulator.pages.templates import page

CSS = """
main{max-width:1200px;margin:0 auto;padding:24px}
table{width:100%;border-collapse:collapse;background:#fff;font-size:13px;margin-bottom:8px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e8ee;vertical-align:top}
th{background:#f0f3f7;font-weight:600;color:#3c4257}
td code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
pre{background:#fff;padding:16px;border-radius:8px;overflow:auto}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e3e8ee}
.ok{background:#d7f7c2;color:#05690d}.bad{background:#ffe7f2;color:#b3093c}.wait{background:#fcedb9;color:#a82c00}
.meta{color:#697386;margin:0 0 16px}
"""
ROW_LIMIT = 200
DELIVERY_LABELS = {"none": "not sent (no webhook URL)", "succeeded": "delivered"}
GOOD = {"complete", "paid", "succeeded", "delivered", "true"}
BAD = {"expired", "failed", "canceled", "requires_payment_method", "false"}


def _time(ts: Any) -> str:
    if not ts:
        return ""
    moment = datetime.fromtimestamp(float(ts), tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _pill(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    css = "ok" if text in GOOD else "bad" if text in BAD else "wait"
    return f'<span class="pill {css}">{escape(text)}</span>'


def _link(object_id: Any) -> str:
    if not object_id:
        return ""
    text = str(object_id)
    short = text if len(text) <= 28 else text[:24] + "…"
    return (
        f'<a href="/objects/{escape(text)}" title="{escape(text)}"><code>{escape(short)}</code></a>'
    )


def _money(obj: dict[str, Any], key: str = "amount") -> str:
    if obj.get(key) is None or not obj.get("currency"):
        return ""
    return escape(format_amount(obj[key], obj["currency"]))


def _table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, Callable[[dict[str, Any]], str]]]) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{render(row)}</td>" for _, render in columns) + "</tr>"
        for row in rows[:ROW_LIMIT]
    )
    if not rows:
        body = f'<tr><td colspan="{len(columns)}" class="muted">None yet</td></tr>'
    return f'<h2>{escape(title)} <span class="muted">({len(rows)})</span></h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_dashboard(emu: Engine) -> str:
    state = emu.snapshot()
    sessions = _table(
        "Checkout sessions",
        state["checkout_sessions"],
        [
            ("ID", lambda s: _link(s["id"])),
            ("Status", lambda s: _pill(s["status"])),
            ("Payment", lambda s: _pill(s["payment_status"])),
            ("Total", lambda s: _money(s, "amount_total")),
            ("Reference", lambda s: escape(s.get("client_reference_id") or "")),
            ("Created", lambda s: _time(s["created"])),
            ("Expires", lambda s: _time(s["expires_at"])),
            ("Payment intent", lambda s: _link(s.get("payment_intent"))),
            ("Page", lambda s: f'<a href="/c/pay/{escape(s["id"])}">open</a>'),
        ],
    )
    intents = _table(
        "Payment intents",
        state["payment_intents"],
        [
            ("ID", lambda p: _link(p["id"])),
            ("Status", lambda p: _pill(p["status"])),
            ("Amount", _money),
            ("Latest charge", lambda p: _link(p.get("latest_charge"))),
            ("Last error", lambda p: escape((p.get("last_payment_error") or {}).get("message") or "")),
            ("Created", lambda p: _time(p["created"])),
        ],
    )
    charges = _table(
        "Charges",
        state["charges"],
        [
            ("ID", lambda c: _link(c["id"])),
            ("Status", lambda c: _pill(c["status"])),
            ("Amount", _money),
            ("Refunded", lambda c: _money(c, "amount_refunded")),
            ("Card", lambda c: escape(str((((c.get("payment_method_details") or {}).get("card")) or {}).get("last4", "")))),
            ("Failure", lambda c: escape(c.get("failure_message") or "")),
            ("Created", lambda c: _time(c["created"])),
        ],
    )
    refunds = _table(
        "Refunds",
        state["refunds"],
        [
            ("ID", lambda r: _link(r["id"])),
            ("Status", lambda r: _pill(r["status"])),
            ("Amount", _money),
            ("Charge", lambda r: _link(r.get("charge"))),
            ("Payment intent", lambda r: _link(r.get("payment_intent"))),
            ("Reason", lambda r: escape(r.get("reason") or "")),
            ("Created", lambda r: _time(r["created"])),
        ],
    )
    catalog = _table(
        "Products",
        state["products"],
        [
            ("ID", lambda p: _link(p["id"])),
            ("Name", lambda p: escape(p.get("name") or "")),
            ("Active", lambda p: _pill(p["active"])),
            ("Default price", lambda p: _link(p.get("default_price"))),
        ],
    ) + _table(
        "Prices",
        state["prices"],
        [
            ("ID", lambda p: _link(p["id"])),
            ("Product", lambda p: _link(p.get("product"))),
            ("Amount", lambda p: _money(p, "unit_amount")),
            ("Active", lambda p: _pill(p["active"])),
            ("Type", lambda p: escape(p.get("type") or "")),
        ],
    )
    connect = _table(
        "Connected accounts",
        state["accounts"],
        [
            ("ID", lambda a: _link(a["id"])),
            ("Email", lambda a: escape(a.get("email") or "")),
            ("Charges", lambda a: _pill(a["charges_enabled"])),
            ("Payouts", lambda a: _pill(a["payouts_enabled"])),
            ("Due", lambda a: escape(", ".join(a["requirements"]["currently_due"]))),
            ("Created", lambda a: _time(a["created"])),
        ],
    ) + _table(
        "Transfers",
        state["transfers"],
        [
            ("ID", lambda t: _link(t["id"])),
            ("Amount", _money),
            ("Reversed", lambda t: _money(t, "amount_reversed")),
            ("Destination", lambda t: _link(t.get("destination"))),
            ("Charge", lambda t: _link(t.get("source_transaction"))),
            ("Created", lambda t: _time(t["created"])),
        ],
    ) + _table(
        "Application fees",
        state["application_fees"],
        [
            ("ID", lambda f: _link(f["id"])),
            ("Amount", _money),
            ("Refunded", lambda f: _money(f, "amount_refunded")),
            ("Account", lambda f: _link(f.get("account"))),
            ("Created", lambda f: _time(f["created"])),
        ],
    ) + _table(
        "Payouts",
        state["payouts"],
        [
            ("ID", lambda p: _link(p["id"])),
            ("Status", lambda p: _pill(p["status"])),
            ("Amount", _money),
            ("Arrival", lambda p: _time(p["arrival_date"])),
            ("Failure", lambda p: escape(p.get("failure_code") or "")),
        ],
    )
    events = _table(
        "Events",
        state["events"],
        [
            ("ID", lambda e: _link(e["id"])),
            ("Type", lambda e: f"<code>{escape(e['type'])}</code>"),
            ("Object", lambda e: _link(e["data"]["object"].get("id"))),
            ("Account", lambda e: _link(e.get("account"))),
            ("Delivery", lambda e: _pill(DELIVERY_LABELS.get(e["delivery_status"], e["delivery_status"]))),
            ("Created", lambda e: _time(e["created"])),
        ],
    )
    deliveries = _table(
        "Webhook deliveries",
        list(reversed(state["deliveries"])),
        [
            ("Event", lambda d: _link(d["event_id"])),
            ("Type", lambda d: f"<code>{escape(d['event_type'])}</code>"),
            ("Attempt", lambda d: str(d["attempt"])),
            ("Result", lambda d: _pill("delivered" if d["succeeded"] else "failed")),
            ("Status", lambda d: escape(str(d["status_code"] or d["error"] or ""))),
            ("Duration", lambda d: f"{d['duration_ms']:.0f} ms"),
            ("At", lambda d: _time(d["at"])),
        ],
    )
    config = emu.config
    meta = (
        f'<p class="meta">Clock: {_time(state["now"])} UTC (offset {state["clock_offset"]:g}s) · '
        f'Webhook URL: <code>{escape(config.webhook_url or "none")}</code> · '
        f'Pending deliveries: {state["pending_deliveries"]} · '
        f'Control API: {"on" if config.test_mode else "off"} · '
        '<a href="/">Refresh</a></p>'
    )
    body = f"<main><h1>Stripe emulator</h1>{meta}{sessions}{intents}{charges}{refunds}{connect}{events}{deliveries}{catalog}</main>"
    return page("Stripe emulator dashboard", body, css=CSS)


def routes(emu: Engine) -> list[Route]:
    async def dashboard(request: Request) -> Response:
        return HTMLResponse(render_dashboard(emu))

    async def show_object(request: Request) -> Response:
        object_id = request.path_params["object_id"]
        with emu.lock:
            obj = emu.store.find(object_id)
        if obj is None:
            return HTMLResponse(page("Not found", f"<main><h1>No object {escape(object_id)}</h1><p><a href='/'>Dashboard</a></p></main>", css=CSS), 404)
        body = (
            f"<main><p><a href='/'>← Dashboard</a></p><h1>{escape(obj.get('object', ''))} "
            f"<code>{escape(object_id)}</code></h1><pre>{escape(json.dumps(obj, indent=2))}</pre></main>"
        )
        return HTMLResponse(page(object_id, body, css=CSS))

    return [
        Route("/", dashboard, methods=["GET"]),
        Route("/objects/{object_id}", show_object, methods=["GET"]),
    ]
