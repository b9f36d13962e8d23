"""Checkout sessions: creation with Stripe's validation, expiry (manual and automatic), line items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator import errors, resources
from stripe_emulator.context import AUTOMATIC, RequestContext
from stripe_emulator.listing import paginate
from stripe_emulator.money import KNOWN_CURRENCIES
from stripe_emulator.params import Params

if TYPE_CHECKING:
    from stripe_emulator.emulator import Emulator

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
DEFAULT_EXPIRY = MAX_EXPIRY
# Requests take time to arrive; don't reject `now + 24h` computed a moment ago.
EXPIRY_GRACE = 10

# Real Stripe parameters of POST /v1/checkout/sessions. The ones the emulator does not model
# are accepted and ignored; anything else is rejected like Stripe does.
CREATE_PARAMS = frozenset(
    ["adaptive_pricing", "after_expiration", "allow_promotion_codes", "automatic_tax", "billing_address_collection", "branding_settings", "cancel_url", "client_reference_id", "consent_collection", "currency", "custom_fields", "custom_text", "customer", "customer_creation", "customer_email", "customer_update", "discounts", "expand", "expires_at", "invoice_creation", "line_items", "locale", "metadata", "mode", "name_collection", "optional_items", "origin_context", "payment_intent_data", "payment_method_collection", "payment_method_configuration", "payment_method_data", "payment_method_options", "payment_method_types", "permissions", "phone_number_collection", "redirect_on_completion", "return_url", "saved_payment_method_options", "setup_intent_data", "shipping_address_collection", "shipping_options", "submit_type", "subscription_data", "success_url", "tax_id_collection", "ui_mode", "wallet_options"]
)
LINE_ITEM_PARAMS = frozenset(
    {"price", "price_data", "quantity", "adjustable_quantity", "dynamic_tax_rates", "tax_rates",
     "metadata"}
)
PRICE_DATA_PARAMS = frozenset(
    {"currency", "product", "product_data", "unit_amount", "unit_amount_decimal", "recurring",
     "tax_behavior"}
)
PRODUCT_DATA_PARAMS = frozenset({"name", "description", "images", "metadata", "tax_code", "unit_label"})
PAYMENT_INTENT_DATA_PARAMS = frozenset(
    {"application_fee_amount", "capture_method", "description", "metadata", "on_behalf_of",
     "receipt_email", "setup_future_usage", "shipping", "statement_descriptor",
     "statement_descriptor_suffix", "transfer_data", "transfer_group"}
)
SUPPORTED_PAYMENT_METHOD_TYPES = ("card",)


def private_key(session_id: str) -> str:
    return f"session:{session_id}"


def create_session(emu: Emulator, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    p = Params(params)
    p.reject_unknown(CREATE_PARAMS)
    mode = p.string("mode", required=True, choices=("payment", "setup", "subscription"))
    if mode != "payment":
        raise errors.invalid("mode", f"The emulator only supports mode=payment, not mode={mode}.")
    ui_mode = p.string("ui_mode", choices=("hosted", "embedded", "custom")) or "hosted"
    if ui_mode != "hosted":
        raise errors.invalid("ui_mode", "The emulator only supports ui_mode=hosted.")
    success_url = p.url("success_url", required=True)
    cancel_url = p.url("cancel_url")
    customer = p.string("customer")
    if customer:
        raise errors.no_such("customer", customer, param="customer", status=400)
    customer_email = p.email("customer_email")
    client_reference_id = p.string("client_reference_id", max_length=200)
    metadata = {k: v for k, v in (p.metadata() or {}).items() if v != ""}
    payment_method_types = p.string_array("payment_method_types") or ["card"]
    for index, method in enumerate(payment_method_types):
        if method not in SUPPORTED_PAYMENT_METHOD_TYPES:
            raise errors.invalid(
                f"payment_method_types[{index}]",
                f"The payment method type `{method}` is not supported by the emulator; "
                "use `card`.",
            )
    intent_data = _payment_intent_data(p.sub("payment_intent_data"))
    requested_currency = p.string("currency")
    extras = {
        "locale": p.string("locale"),
        "submit_type": p.string("submit_type", choices=("auto", "book", "donate", "pay", "subscribe")),
        "billing_address_collection": p.string(
            "billing_address_collection", choices=("auto", "required")
        ),
        "allow_promotion_codes": p.boolean("allow_promotion_codes"),
        "customer_creation": p.string("customer_creation", choices=("always", "if_required")),
        "payment_method_collection": p.string(
            "payment_method_collection", choices=("always", "if_required")
        ),
    }
    phone_enabled = p.sub("phone_number_collection").boolean("enabled")
    expires_at_param = p.integer("expires_at")

    with emu.tx():
        now = emu.clock.now()
        expires_at = _validate_expiry(expires_at_param, now)
        items = _line_items(emu, p, now)
        currency = items[0]["currency"]
        if requested_currency and requested_currency.lower() != currency:
            raise errors.invalid(
                "currency", "The currency must match the currency of the line items."
            )
        subtotal = sum(item["amount_subtotal"] for item in items)
        session_id = resources.new_id("cs_test")
        session = resources.checkout_session(
            id=session_id,
            amount_subtotal=subtotal,
            amount_total=subtotal,
            cancel_url=cancel_url,
            client_reference_id=client_reference_id,
            created=now,
            currency=currency,
            customer_email=customer_email,
            expires_at=expires_at,
            metadata=metadata,
            payment_method_types=payment_method_types,
            success_url=success_url,
            url=f"{emu.config.base_url}/c/pay/{session_id}",
        )
        for key, value in extras.items():
            if value is not None:
                session[key] = value
        if phone_enabled is not None:
            session["phone_number_collection"] = {"enabled": phone_enabled}
        emu.store.put(session)
        emu.store.put_private(
            private_key(session_id), {"line_items": items, "payment_intent_data": intent_data}
        )
        return session


def _validate_expiry(expires_at: int | None, now: int) -> int:
    if expires_at is None:
        return now + DEFAULT_EXPIRY
    if expires_at < now + MIN_EXPIRY - EXPIRY_GRACE:
        raise errors.invalid(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            f"creation (it is {expires_at - now} seconds away).",
        )
    if expires_at > now + MAX_EXPIRY + EXPIRY_GRACE:
        raise errors.invalid(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session "
            f"creation (it is {expires_at - now} seconds away).",
        )
    return expires_at


def _payment_intent_data(pid: Params) -> dict[str, Any]:
    pid.reject_unknown(PAYMENT_INTENT_DATA_PARAMS)
    capture_method = pid.string(
        "capture_method", choices=("automatic", "automatic_async", "manual")
    )
    if capture_method == "manual":
        raise errors.invalid(
            pid.path("capture_method"), "The emulator does not support manual capture."
        )
    return {
        "metadata": {k: v for k, v in (pid.metadata() or {}).items() if v != ""},
        "description": pid.string("description", max_length=1000),
        "receipt_email": pid.email("receipt_email"),
        "statement_descriptor": pid.string("statement_descriptor", max_length=22),
        "statement_descriptor_suffix": pid.string("statement_descriptor_suffix", max_length=22),
        "setup_future_usage": pid.string(
            "setup_future_usage", choices=("on_session", "off_session")
        ),
        "capture_method": capture_method or "automatic",
        "transfer_group": pid.string("transfer_group"),
    }


def _line_items(emu: Emulator, p: Params, now: int) -> list[dict[str, Any]]:
    raw_items = p.array("line_items")
    if not raw_items:
        raise errors.missing("line_items")
    items = []
    for index, raw in enumerate(raw_items):
        ip = Params(raw, f"line_items[{index}]")
        ip.reject_unknown(LINE_ITEM_PARAMS)
        if ip.has("price") and ip.has("price_data"):
            raise errors.invalid(
                ip.path("price"),
                "You may only specify one of these parameters: price, price_data.",
            )
        if ip.has("price"):
            price = _existing_price(emu, ip)
        elif ip.has("price_data"):
            price = inline_price(emu, ip.sub("price_data"), now)
        else:
            raise errors.missing(ip.path("price"))
        quantity = ip.integer("quantity", required=True, minimum=1, maximum=999_999)
        assert quantity is not None
        product = emu.store.get("product", price["product"]) or {}
        items.append(
            resources.line_item(
                price_obj=price, quantity=quantity, description=product.get("name")
            )
        )
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise errors.invalid(
            "line_items", "All line items must use the same currency: got " + ", ".join(sorted(currencies))
        )
    return items


def _existing_price(emu: Emulator, ip: Params) -> dict[str, Any]:
    price_id = ip.string("price", required=True)
    assert price_id is not None
    price = emu.get("price", price_id, param=ip.path("price"), status=400)
    if not price["active"]:
        raise errors.invalid(
            ip.path("price"),
            f"The price specified ({price_id}) is inactive. This field only accepts active prices.",
        )
    if price["type"] != "one_time":
        raise errors.invalid(
            ip.path("price"),
            "The price specified is set to `type=recurring` but this field only accepts prices "
            "with `type=one_time` in `payment` mode.",
        )
    return price


def currency_param(p: Params, key: str = "currency") -> str:
    currency = p.string(key, required=True)
    assert currency is not None
    if currency.lower() not in KNOWN_CURRENCIES:
        raise errors.invalid(p.path(key), f"Invalid currency: {currency}.", "parameter_invalid")
    return currency.lower()


def unit_amount_param(p: Params) -> int:
    amount = p.integer("unit_amount", minimum=0, maximum=99_999_999)
    if amount is None:
        decimal = p.string("unit_amount_decimal")
        if decimal is None:
            raise errors.missing(p.path("unit_amount"))
        try:
            amount = round(float(decimal))
        except ValueError:
            raise errors.invalid(p.path("unit_amount_decimal"), f"Invalid decimal: {decimal}") from None
        if amount < 0:
            raise errors.invalid(p.path("unit_amount_decimal"), "This value must be >= 0.")
    return amount


def inline_price(emu: Emulator, pd: Params, now: int) -> dict[str, Any]:
    """`price_data` creates an (inactive) Price and, with `product_data`, a Product."""
    pd.reject_unknown(PRICE_DATA_PARAMS)
    currency = currency_param(pd)
    unit_amount = unit_amount_param(pd)
    if pd.has("recurring"):
        raise errors.invalid(
            pd.path("recurring"),
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if pd.has("product") and pd.has("product_data"):
        raise errors.invalid(
            pd.path("product"), "You may only specify one of these parameters: product, product_data."
        )
    if pd.has("product"):
        product_id = pd.string("product", required=True)
        assert product_id is not None
        product = emu.get("product", product_id, param=pd.path("product"), status=400)
    elif pd.has("product_data"):
        data = pd.sub("product_data")
        data.reject_unknown(PRODUCT_DATA_PARAMS)
        product = resources.product(
            id=resources.new_id("prod"),
            created=now,
            updated=now,
            name=data.string("name", required=True, max_length=250),
            description=data.string("description", max_length=40000),
            images=data.string_array("images"),
            metadata={k: v for k, v in (data.metadata() or {}).items() if v != ""},
            tax_code=data.string("tax_code"),
            unit_label=data.string("unit_label"),
        )
        emu.store.put(product)
    else:
        raise errors.missing(pd.path("product_data"))
    price = resources.price(
        id=resources.new_id("price"),
        active=False,
        created=now,
        currency=currency,
        product=product["id"],
        unit_amount=unit_amount,
        tax_behavior=pd.string("tax_behavior", choices=("exclusive", "inclusive", "unspecified"))
        or "unspecified",
    )
    emu.store.put(price)
    return price


def line_items(emu: Emulator, session_id: str) -> list[dict[str, Any]]:
    data = emu.store.get_private(private_key(session_id)) or {}
    return data.get("line_items", [])


def payment_intent_data(emu: Emulator, session_id: str) -> dict[str, Any]:
    data = emu.store.get_private(private_key(session_id)) or {}
    return data.get("payment_intent_data", {})


def line_items_list(emu: Emulator, session_id: str, p: Params) -> dict[str, Any]:
    return paginate(
        line_items(emu, session_id), p, f"/v1/checkout/sessions/{session_id}/line_items", "item"
    )


def expire_session(emu: Emulator, session_id: str, ctx: RequestContext) -> dict[str, Any]:
    with emu.tx():
        expire_due(emu)
        session = emu.get("checkout.session", session_id)
        if session["status"] != "open":
            raise errors.StripeError(
                f"Only Checkout Sessions with a status of `open` can be expired. This Checkout "
                f"Session ({session_id}) has a status of `{session['status']}`."
            )
        return _expire(emu, session, ctx)


def expire_due(emu: Emulator) -> list[str]:
    """Expire every open session whose `expires_at` has passed on the emulator clock."""
    with emu.tx():
        expired = []
        for session in emu.store.open_sessions_due(emu.clock.now()):
            _expire(emu, session, AUTOMATIC)
            expired.append(session["id"])
        return expired


def _expire(emu: Emulator, session: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    now = emu.clock.now()
    pi_id = session.get("payment_intent")
    if pi_id:
        pi = emu.store.get("payment_intent", pi_id)
        if pi is not None and pi["status"] not in ("succeeded", "canceled", "processing"):
            pi.update(
                status="canceled",
                canceled_at=now,
                cancellation_reason="abandoned",
                next_action=None,
            )
            emu.store.put(pi)
            emu.emit("payment_intent.canceled", pi, ctx, session["id"])
    session["status"] = "expired"
    session["url"] = None
    emu.store.put(session)
    emu.emit("checkout.session.expired", session, ctx, session["id"])
    return session
