"""Checkout sessions: creation with Stripe's validation, expiry (manual and automatic), line items,
and paying an open session (the hosted page and the control API; the charging itself is the
core payment engine's, `core/payment_engine.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stripe_emulator.core import (
    bank_debits,
    billing,
    connect_money,
    customers,
    discounts,
    errors,
    ids,
    methods,
    objects,
    payment_engine,
    paypal,
    setup_engine,
    wallets,
)
from stripe_emulator.core.context import AUTOMATIC, RequestContext
from stripe_emulator.core.listing import list_endpoint, paginate
from stripe_emulator.core.money import Currency, amount_in, check_chargeable, unit_amount
from stripe_emulator.core.objects import clean_metadata
from stripe_emulator.core.payment_engine import PaymentResult, SessionUnavailable
from stripe_emulator.core.spec import (
    EXPAND,
    RETRIEVE,
    Boolean,
    Email,
    Endpoint,
    Hash,
    Integer,
    List,
    Metadata,
    Number,
    String,
    Url,
    join,
    list_spec,
)

if TYPE_CHECKING:
    from stripe_emulator.core.engine import Engine

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
DEFAULT_EXPIRY = MAX_EXPIRY
# Requests take time to arrive; don't reject `now + 24h` computed a moment ago.
EXPIRY_GRACE = 10

SUPPORTED_PAYMENT_METHOD_TYPES = methods.IMPLEMENTED
# Stripe's payment method types for Checkout (API 2026-10-28.endive).
PAYMENT_METHOD_TYPES = (
    "acss_debit", "affirm", "afterpay_clearpay", "alipay", "alma", "amazon_pay", "au_becs_debit",
    "bacs_debit", "bancontact", "billie", "bizum", "blik", "boleto", "card", "cashapp", "crypto",
    "customer_balance", "eps", "fpx", "giropay", "grabpay", "ideal", "kakao_pay", "klarna",
    "konbini", "kr_card", "link", "mb_way", "mobilepay", "multibanco", "naver_pay",
    "nz_bank_account", "oxxo", "p24", "pay_by_bank", "payco", "paynow", "paypal", "paypay",
    "payto", "pix", "promptpay", "revolut_pay", "samsung_pay", "satispay", "scalapay",
    "sepa_debit", "sequra", "sofort", "sunbit", "swish", "twint", "upi", "us_bank_account",
    "wechat_pay", "zip",
)
LOCALES = (
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr",
    "fr-CA", "hi-IN", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl",
    "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)
SUBMIT_TYPES = ("auto", "book", "donate", "pay", "subscribe")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


PRODUCT_DATA = Hash(
    name=String(required=True, max_length=250),
    description=String(max_length=40000),
    images=List(Url(), max_items=8),
    metadata=Metadata(),
    tax_code=String(),
    unit_label=String(max_length=12),
)
PRICE_DATA = Hash(
    currency=Currency(required=True),
    product=String(),
    product_data=PRODUCT_DATA,
    recurring=Hash(
        interval=String(required=True, choices=("day", "month", "week", "year")),
        interval_count=Integer(minimum=1),
    ),
    tax_behavior=String(choices=TAX_BEHAVIORS),
    unit_amount=Integer(minimum=0, maximum=99_999_999),
    unit_amount_decimal=String(),
)
LINE_ITEM = Hash(
    price=String(),
    price_data=PRICE_DATA,
    quantity=Integer(required=True, minimum=1, maximum=999_999),
    metadata=Metadata(),
)
TRANSFER_DATA = Hash(destination=String(required=True))
PAYMENT_INTENT_DATA = Hash(
    application_fee_amount=Integer(minimum=0),
    capture_method=String(
        choices=("automatic", "automatic_async", "manual"), supported=("automatic", "automatic_async")
    ),
    description=String(max_length=1000),
    metadata=Metadata(),
    receipt_email=Email(),
    statement_descriptor=String(max_length=22),
    statement_descriptor_suffix=String(max_length=22),
    transfer_data=TRANSFER_DATA,
    transfer_group=String(),
)
# Memberships (mode=subscription, core/billing.py): a destination charge on every invoice.
SUBSCRIPTION_DATA = Hash(
    application_fee_percent=Number(minimum=0, maximum=100),
    description=String(max_length=500),
    metadata=Metadata(),
    transfer_data=Hash(destination=String(required=True)),
)
# Receipts and invoices: an Invoice after payment, the payer's tax id and extra fields.
INVOICE_CREATION = Hash(
    enabled=Boolean(required=True),
    invoice_data=Hash(
        account_tax_ids=List(String()),
        custom_fields=List(
            Hash(name=String(required=True, max_length=40), value=String(required=True, max_length=140)),
            max_items=4,
        ),
        description=String(max_length=1500),
        footer=String(max_length=5000),
        metadata=Metadata(),
    ),
)
# (A mapping: `required` is also Hash's own keyword.)
TAX_ID_COLLECTION = Hash(
    {"enabled": Boolean(required=True), "required": String(choices=("if_supported", "never"))}
)
CUSTOM_FIELD = Hash(
    key=String(required=True, max_length=200),
    label=Hash(
        required=True,
        custom=String(required=True, max_length=50),
        type=String(required=True, choices=("custom",)),
    ),
    optional=Boolean(),
    text=Hash(
        default_value=String(max_length=255),
        maximum_length=Integer(minimum=1, maximum=255),
        minimum_length=Integer(minimum=1, maximum=255),
    ),
    type=String(required=True, choices=("dropdown", "numeric", "text"), supported=("text",)),
)
# POST /v1/checkout/sessions: exactly what the emulator applies. Every other Stripe parameter
# (automatic_tax, shipping_options, ...) is refused with `parameter_unknown`.
CREATE = Hash(
    allow_promotion_codes=Boolean(),
    allowed_payment_method_types=List(String(choices=PAYMENT_METHOD_TYPES)),
    billing_address_collection=String(choices=("auto", "required"), supported=("auto",)),
    cancel_url=Url(),
    client_reference_id=String(max_length=200),
    currency=Currency(),
    customer=String(),
    customer_creation=String(choices=("always", "if_required"), supported=("if_required",)),
    custom_fields=List(CUSTOM_FIELD, max_items=3),
    customer_email=Email(),
    discounts=List(Hash(coupon=String(), promotion_code=String())),
    excluded_payment_method_types=List(String(choices=PAYMENT_METHOD_TYPES)),
    expand=EXPAND,
    expires_at=Integer(),
    integration_identifier=String(max_length=200),
    invoice_creation=INVOICE_CREATION,
    line_items=List(LINE_ITEM, max_items=100),
    locale=String(choices=LOCALES),
    metadata=Metadata(),
    mode=String(required=True, choices=("payment", "setup", "subscription")),
    payment_intent_data=PAYMENT_INTENT_DATA,
    setup_intent_data=Hash(description=String(max_length=1000), metadata=Metadata()),
    submit_type=String(choices=SUBMIT_TYPES),
    subscription_data=SUBSCRIPTION_DATA,
    success_url=Url(required=True),
    tax_id_collection=TAX_ID_COLLECTION,
    ui_mode=String(
        choices=("elements", "embedded_page", "form", "hosted_page"), supported=("hosted_page",)
    ),
)
UPDATE = Hash(expand=EXPAND, metadata=Metadata())
LIST_FILTERS = {
    "payment_intent": ("payment_intent", String()),
    "status": ("status", String(choices=("complete", "expired", "open"))),
}


def private_key(session_id: str) -> str:
    return f"session:{session_id}"


def _check_mode(args: dict[str, Any]) -> None:
    """What each mode takes: line items and `payment_intent_data` are for payments; a setup session
    names its currency (dynamic payment methods) and may carry `setup_intent_data`."""
    if args["mode"] == "setup":
        for param in ("line_items", "payment_intent_data", "invoice_creation", "submit_type"):
            if param in args:
                raise errors.invalid(param, f"You can not pass `{param}` in `setup` mode.")
        if not args.get("currency"):
            raise errors.invalid(
                "currency", "`currency` is required in `setup` mode when `payment_method_types` is not passed."
            )
    elif "setup_intent_data" in args:
        raise errors.invalid("setup_intent_data", "You can only pass `setup_intent_data` in `setup` mode.")


def create_session(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    _check_mode(args)
    _check_mode_params(args)
    if args["mode"] == "setup":
        return _create_setup_session(emu, ctx, args)
    mode = args["mode"]
    intent_data = dict(args.get("payment_intent_data") or {})
    intent_data["metadata"] = clean_metadata(intent_data.get("metadata"))
    sub_data = dict(args.get("subscription_data") or {})

    with emu.tx():
        now = emu.clock.now()
        expires_at = _validate_expiry(args.get("expires_at"), now)
        items = _line_items(emu, ctx, args.get("line_items") or [], now, mode)
        currency = items[0]["currency"]
        requested_currency = (args.get("currency") or "").lower()
        if requested_currency and requested_currency != currency:
            items = [_presented_in(emu, item, requested_currency, index) for index, item in enumerate(items)]
            currency = requested_currency
        subtotal = sum(item["amount_subtotal"] for item in items)
        check_chargeable(subtotal, currency, "line_items")
        payment_method_types = _payment_method_types(args, currency)
        if args.get("discounts") and args.get("allow_promotion_codes"):
            raise errors.invalid("allow_promotion_codes", "You may only specify one of these parameters: "
                                 "allow_promotion_codes, discounts.")
        discount = discounts.resolve(emu, args.get("discounts") or [], subtotal=subtotal, currency=currency,
                                     email=args.get("customer_email"), account=ctx.account)
        total = subtotal - (discounts.discount_amount(discount[0], subtotal) if discount else 0)
        if mode == "subscription":
            if discount:
                raise errors.not_implemented("discounts", "discounts on subscriptions")
            payment_method_types = _subscription_methods(payment_method_types)
            intent_data = _subscription_intent_data(emu, ctx, sub_data, subtotal)
        connect_money.validate(emu, ctx, intent_data, total)
        customer = _customer(emu, ctx, args)
        session_id = ids.new_id("cs_test")
        session = objects.checkout_session(
            id=session_id,
            allow_promotion_codes=args.get("allow_promotion_codes"),
            allowed_payment_method_types=args.get("allowed_payment_method_types"),
            amount_subtotal=subtotal,
            amount_total=subtotal,
            billing_address_collection=args.get("billing_address_collection"),
            cancel_url=args.get("cancel_url"),
            client_reference_id=args.get("client_reference_id"),
            created=now,
            currency=currency,
            customer=customer,
            customer_email=args.get("customer_email"),
            expires_at=expires_at,
            integration_identifier=args.get("integration_identifier"),
            locale=args.get("locale"),
            metadata=clean_metadata(args.get("metadata")),
            mode=mode,
            payment_method_types=payment_method_types,
            submit_type=args.get("submit_type"),
            success_url=args["success_url"],
            url=f"{emu.config.base_url}/c/pay/{session_id}",
        )
        if args.get("excluded_payment_method_types"):
            session["excluded_payment_method_types"] = list(args["excluded_payment_method_types"])
        _invoice_options(session, args)
        if discount:
            discounts.apply(session, items, *discount)
        emu.store.put(session, account=ctx.account)
        emu.store.put_private(
            private_key(session_id),
            {"line_items": items, "payment_intent_data": intent_data, "subscription_data": sub_data},
        )
        return session


def _customer(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> str | None:
    """An existing, not deleted customer of the account (its email prefills the page)."""
    if not args.get("customer"):
        return None
    if args.get("customer_email"):
        raise errors.StripeError(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
            code="parameters_exclusive",
        )
    return customers.get_live(emu, args["customer"], ctx.account, param="customer", status=400)["id"]


def _create_setup_session(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    """Checkout in setup mode: a card saved for later, nothing charged (`core/setup_engine.py`)."""
    with emu.tx():
        now = emu.clock.now()
        expires_at = _validate_expiry(args.get("expires_at"), now)
        currency = args["currency"].lower()
        customer = _customer(emu, ctx, args)
        payment_method_types = [m for m in _payment_method_types(args, currency) if m == "card"]
        if not payment_method_types:
            raise errors.not_implemented("allowed_payment_method_types", "setting up payment methods other than cards")
        session_id = ids.new_id("cs_test")
        session = objects.checkout_session(
            id=session_id,
            allowed_payment_method_types=args.get("allowed_payment_method_types"),
            amount_subtotal=None,
            amount_total=None,
            cancel_url=args.get("cancel_url"),
            client_reference_id=args.get("client_reference_id"),
            created=now,
            currency=currency,
            customer=customer,
            customer_email=args.get("customer_email"),
            expires_at=expires_at,
            integration_identifier=args.get("integration_identifier"),
            locale=args.get("locale"),
            metadata=clean_metadata(args.get("metadata")),
            mode="setup",
            payment_method_types=payment_method_types,
            payment_status="no_payment_required",
            success_url=args["success_url"],
            url=f"{emu.config.base_url}/c/pay/{session_id}",
        )
        setup_data = dict(args.get("setup_intent_data") or {})
        setup_data["metadata"] = clean_metadata(setup_data.get("metadata"))
        emu.store.put(session, account=ctx.account)
        emu.store.put_private(private_key(session_id), {"line_items": [], "setup_intent_data": setup_data})
        return session


def _check_mode_params(args: dict[str, Any]) -> None:
    """Parameters that belong to one mode only, refused in the other as Stripe does."""
    mode = args["mode"]
    if mode == "subscription":
        for param in ("payment_intent_data", "invoice_creation", "submit_type"):
            if param in args:
                raise errors.invalid(param, f"You can not pass `{param}` in `subscription` mode.")
    elif "subscription_data" in args:
        raise errors.invalid(
            "subscription_data", "You can only pass `subscription_data` in `subscription` mode."
        )


def _subscription_methods(types: list[str]) -> list[str]:
    """Renewals charge a saved card off-session: the emulator offers cards (wallets included)."""
    if "card" not in types:
        raise errors.not_implemented(
            "allowed_payment_method_types", "subscriptions paid by anything but a card"
        )
    return ["card"]


def _subscription_intent_data(
    emu: Engine, ctx: RequestContext, sub_data: dict[str, Any], subtotal: int
) -> dict[str, Any]:
    """The first invoice's payment: a destination charge when `subscription_data` asks for one."""
    percent = sub_data.get("application_fee_percent")
    transfer = sub_data.get("transfer_data")
    if percent is not None and not transfer and not ctx.account:
        raise errors.invalid(
            "subscription_data[application_fee_percent]",
            "Can only apply an application_fee_percent when the subscription is attempting a direct "
            "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
            "`transfer_data[destination]`).",
        )
    if transfer:
        connect_money.destination_account(
            emu, transfer["destination"], "subscription_data[transfer_data][destination]"
        )
    data: dict[str, Any] = {"metadata": {}, "description": "Subscription creation"}
    if transfer:
        data["transfer_data"] = {"destination": transfer["destination"]}
        data["transfer_group"] = None
    if percent is not None and transfer:
        data["application_fee_amount"] = billing.fee_from_percent(subtotal, percent)
    return data


def _invoice_options(session: dict[str, Any], args: dict[str, Any]) -> None:
    """`invoice_creation`, `tax_id_collection` and `custom_fields` as Stripe echoes them."""
    creation = args.get("invoice_creation")
    if creation is not None:
        data = creation.get("invoice_data") or {}
        session["invoice_creation"] = {
            "enabled": creation["enabled"],
            "invoice_data": {
                "account_tax_ids": data.get("account_tax_ids"),
                "custom_fields": data.get("custom_fields"),
                "description": data.get("description"),
                "footer": data.get("footer"),
                "issuer": {"type": "self"} if creation["enabled"] else None,
                "metadata": clean_metadata(data.get("metadata")),
                "rendering_options": None,
            },
        }
    tax = args.get("tax_id_collection")
    if tax is not None:
        session["tax_id_collection"] = {"enabled": tax["enabled"], "required": tax.get("required") or "never"}
    fields = []
    for field in args.get("custom_fields") or []:
        text = field.get("text") or {}
        fields.append(
            {
                "dropdown": None,
                "key": field["key"],
                "label": {"custom": field["label"]["custom"], "type": "custom"},
                "numeric": None,
                "optional": bool(field.get("optional")),
                "text": {
                    "default_value": text.get("default_value"),
                    "maximum_length": text.get("maximum_length"),
                    "minimum_length": text.get("minimum_length"),
                    "value": None,
                },
                "type": field["type"],
            }
        )
    if fields:
        session["custom_fields"] = fields


def _payment_method_types(args: dict[str, Any], currency: str) -> list[str]:
    """Dynamic payment methods: what Stripe offers for the currency (`core/methods.py`), narrowed by
    `allowed_payment_method_types` and without `excluded_payment_method_types`."""
    allowed = args.get("allowed_payment_method_types")
    excluded = args.get("excluded_payment_method_types") or []
    types = methods.offered(currency, allowed, excluded)
    if not types:
        param = "excluded_payment_method_types" if excluded else "allowed_payment_method_types"
        raise errors.invalid(
            param,
            "No valid payment method types for this Checkout Session. The emulator offers "
            + ", ".join(methods.offered(currency))
            + f" for {currency.upper()}; check `allowed_payment_method_types` and "
            "`excluded_payment_method_types`.",
        )
    return types


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


def _line_items(
    emu: Engine, ctx: RequestContext, raw_items: list[dict[str, Any]], now: int, mode: str = "payment"
) -> list[dict[str, Any]]:
    if not raw_items:
        raise errors.missing("line_items")
    items = []
    for index, item in enumerate(raw_items):
        path = f"line_items[{index}]"
        if "price" in item and "price_data" in item:
            raise errors.StripeError(
                "You may only specify one of these parameters: price, price_data.",
                param=f"{path}[price]",
                code="parameters_exclusive",
            )
        if "price" in item:
            price = _existing_price(emu, ctx, item["price"], f"{path}[price]", mode)
        elif "price_data" in item:
            price = inline_price(emu, ctx, item["price_data"], f"{path}[price_data]", now)
            _price_fits_mode(price, f"{path}[price_data]", mode)
        else:
            raise errors.missing(f"{path}[price]")
        product = emu.store.get("product", price["product"]) or {}
        line = objects.line_item(
            price_obj=price, quantity=item["quantity"], description=product.get("name")
        )
        line["metadata"] = clean_metadata(item.get("metadata"))
        items.append(line)
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise errors.invalid(
            "line_items", "All line items must use the same currency: got " + ", ".join(sorted(currencies))
        )
    return items


def _presented_in(emu: Engine, item: dict[str, Any], currency: str, index: int) -> dict[str, Any]:
    """`currency=eur` on a session whose Price has a EUR currency option: the line item in EUR."""
    amount = amount_in(emu.store, item["price"], currency)
    if amount is None:
        raise errors.invalid(
            "currency",
            f"The price specified in line_items[{index}][price] has no currency option for {currency}; "
            "the currency must match the currency of the line items or one of their currency_options.",
        )
    quantity = int(item["quantity"] or 1)
    return {**item, "currency": currency, "amount_subtotal": amount * quantity, "amount_total": amount * quantity}


def _existing_price(
    emu: Engine, ctx: RequestContext, price_id: str, path: str, mode: str = "payment"
) -> dict[str, Any]:
    price = emu.get("price", price_id, param=path, status=400, account=ctx.account)
    if not price["active"]:
        raise errors.invalid(
            path,
            f"The price specified ({price_id}) is inactive. This field only accepts active prices.",
        )
    _price_fits_mode(price, path, mode)
    return price


def _price_fits_mode(price: dict[str, Any], path: str, mode: str) -> None:
    if mode == "payment" and price["type"] != "one_time":
        raise errors.invalid(
            path,
            "The price specified is set to `type=recurring` but this field only accepts prices "
            "with `type=one_time` in `payment` mode.",
        )
    if mode == "subscription" and price["type"] != "recurring":
        # Stripe adds one-time prices to the first invoice; the emulator bills recurring ones only.
        raise errors.not_implemented(path, "one-time prices in `subscription` mode")


def inline_price(
    emu: Engine, ctx: RequestContext, data: dict[str, Any], path: str, now: int
) -> dict[str, Any]:
    """`price_data` creates an (inactive) Price and, with `product_data`, a Product."""
    amount = unit_amount(data, path)
    if "product" in data and "product_data" in data:
        raise errors.StripeError(
            "You may only specify one of these parameters: product, product_data.",
            param=join(path, "product"),
            code="parameters_exclusive",
        )
    if "product" in data:
        product = emu.get(
            "product", data["product"], param=join(path, "product"), status=400, account=ctx.account
        )
    elif "product_data" in data:
        pd = data["product_data"]
        product = objects.product(
            id=ids.new_id("prod"),
            created=now,
            updated=now,
            name=pd["name"],
            description=pd.get("description"),
            images=pd.get("images") or [],
            metadata=clean_metadata(pd.get("metadata")),
            tax_code=pd.get("tax_code"),
            unit_label=pd.get("unit_label"),
        )
        emu.store.put(product, account=ctx.account)
    else:
        raise errors.missing(join(path, "product_data"))
    recurring = data.get("recurring")
    price = objects.price(
        id=ids.new_id("price"),
        active=False,
        created=now,
        currency=data["currency"].lower(),
        product=product["id"],
        unit_amount=amount,
        tax_behavior=data.get("tax_behavior") or "unspecified",
        recurring={
            "interval": recurring["interval"], "interval_count": recurring.get("interval_count") or 1,
            "meter": None, "trial_period_days": None, "usage_type": "licensed",
        } if recurring else None,
        type="recurring" if recurring else "one_time",
    )
    emu.store.put(price, account=ctx.account)
    return price


def line_items(emu: Engine, session_id: str) -> list[dict[str, Any]]:
    data = emu.store.get_private(private_key(session_id)) or {}
    return data.get("line_items", [])


def payment_intent_data(emu: Engine, session_id: str) -> dict[str, Any]:
    data = emu.store.get_private(private_key(session_id)) or {}
    return data.get("payment_intent_data", {})


def line_items_list(emu: Engine, session_id: str, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(
        line_items(emu, session_id), args, f"/v1/checkout/sessions/{session_id}/line_items", "item"
    )


def expire_session(emu: Engine, session_id: str, ctx: RequestContext) -> dict[str, Any]:
    with emu.tx():
        expire_due(emu)
        session = emu.get("checkout.session", session_id, account=ctx.account)
        if session["status"] != "open":
            raise errors.StripeError(
                f"Only Checkout Sessions with a status of `open` can be expired. This Checkout "
                f"Session ({session_id}) has a status of `{session['status']}`."
            )
        return _expire(emu, session, ctx)


def expire_due(emu: Engine) -> list[str]:
    """Expire every open session whose `expires_at` has passed on the emulator clock."""
    with emu.tx():
        expired = []
        for session in emu.store.open_sessions_due(emu.clock.now()):
            _expire(emu, session, AUTOMATIC)
            expired.append(session["id"])
        return expired


def _expire(emu: Engine, session: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
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


# --- paying (hosted page, control API) ----------------------------------------------------------


def payable_session(emu: Engine, session_id: str) -> dict[str, Any]:
    expire_due(emu)
    session = emu.store.get("checkout.session", session_id)
    if session is None:
        raise SessionUnavailable("not_found")
    if session["status"] != "open":
        raise SessionUnavailable(session["status"], session)
    return session


def pay(emu: Engine, session_id: str, **form: str) -> PaymentResult:
    """One payment attempt with what the payer typed (`email`, `name`, `number`, `expiry`, `cvc`).
    A session whose discount leaves nothing to pay completes with the email alone."""
    with emu.tx():
        session = payable_session(emu, session_id)
        if session.get("mode") == "setup":
            setup_data = (emu.store.get_private(private_key(session_id)) or {}).get("setup_intent_data", {})
            return setup_engine.save_card(emu, session, setup_data, **form)
        if session["amount_total"] == 0:
            return complete_without_payment(emu, session, email=form.get("email", ""), name=form.get("name", ""))
        return payment_engine.pay(emu, session, payment_intent_data(emu, session_id), **form)


def complete_without_payment(emu: Engine, session: dict[str, Any], *, email: str, name: str = "") -> PaymentResult:
    """Stripe's free order: `payment_status=no_payment_required`, no PaymentIntent, and
    checkout.session.completed."""
    email = (email or "").strip()
    if not payment_engine.EMAIL_RE.match(email):
        problem = "Your email address is incomplete." if not email else "Your email address is invalid."
        return PaymentResult("invalid", session, error={"type": "validation_error", "code": "email_invalid",
                                                        "message": problem}, field_errors={"email": problem})
    session.update(
        status="complete",
        payment_status="no_payment_required",
        url=None,
        customer_details={
            "address": None, "business_name": None, "email": email, "individual_name": None,
            "name": (name or "").strip() or None, "phone": None, "tax_exempt": "none", "tax_ids": [],
        },
    )
    discounts.redeem(emu, session)
    emu.store.put(session)
    emu.emit("checkout.session.completed", session, AUTOMATIC, session["id"])
    return PaymentResult("succeeded", session, next_url=payment_engine.success_redirect(session))


def apply_promotion_code(emu: Engine, session_id: str, code: str) -> str | None:
    """The hosted page's "Add promotion code" (`allow_promotion_codes`): None when applied, else why not."""
    with emu.tx():
        session = payable_session(emu, session_id)
        if not session.get("allow_promotion_codes"):
            return "This checkout does not take promotion codes."
        if session.get("discounts"):
            return "A promotion code is already applied."
        owner = emu.store.owner(session_id)
        promo = discounts.find_code(emu, code, owner) if code.strip() else None
        if promo is None:
            return "This code is invalid."
        items = line_items(emu, session_id)
        subtotal = sum(item["amount_subtotal"] for item in items)
        try:
            coupon = discounts.check_promotion_code(emu, promo, subtotal=subtotal, currency=session["currency"],
                                                    email=session.get("customer_email"), account=owner)
        except discounts.NotRedeemable as refusal:
            return refusal.message
        intent_data = payment_intent_data(emu, session_id)
        total = subtotal - discounts.discount_amount(coupon, subtotal)
        if (intent_data.get("application_fee_amount") or 0) > total:
            return "This code can't be applied to this payment."
        discounts.apply(session, items, coupon, promo)
        if session.get("payment_intent"):  # a declined attempt made one: it now asks for the new total
            intent = emu.store.get("payment_intent", session["payment_intent"])
            if intent is not None and intent["status"] not in ("succeeded", "processing"):
                intent["amount"] = session["amount_total"]
                emu.store.put(intent)
        emu.store.put(session)
        private = dict(emu.store.get_private(private_key(session_id)) or {})
        emu.store.put_private(private_key(session_id), {**private, "line_items": items})
        return None


def authenticate(emu: Engine, session_id: str, challenge_id: str, action: str) -> PaymentResult:
    """Resolve a 3D Secure challenge: action 'complete' charges the card, 'fail' fails it."""
    if action not in ("complete", "fail"):
        raise ValueError("action must be 'complete' or 'fail'")
    with emu.tx():
        challenge = payment_engine.challenge(emu, challenge_id)
        if challenge is None or challenge["session"] != session_id:
            raise SessionUnavailable("not_found")
        session = payable_session(emu, session_id)
        return payment_engine.authenticate(emu, session, challenge, action)


def _offers(session: dict[str, Any], method: str) -> None:
    if method not in (session.get("payment_method_types") or []):
        raise SessionUnavailable("method_not_offered", session)


def pay_with(emu: Engine, session_id: str, method: str, **form: str) -> PaymentResult:
    """One attempt with another method than a typed card: `sepa_debit` / `bacs_debit` (email, name,
    iban or sort_code + account_number), `paypal` (email: starts the redirect), `apple_pay` /
    `google_pay` (email, name: the wallet's card)."""
    with emu.tx():
        session = payable_session(emu, session_id)
        if session.get("mode") == "setup":  # a setup session saves a typed card only
            raise SessionUnavailable("method_not_offered", session)
        intent_data = payment_intent_data(emu, session_id)
        if method in methods.WALLETS:
            _offers(session, "card")
            return wallets.pay(emu, session, intent_data, wallet=method, email=form.get("email", ""),
                               name=form.get("name", ""))
        _offers(session, method)
        if method == "paypal":
            return paypal.start(emu, session, intent_data, email=form.get("email", ""))
        if method in methods.DELAYED:
            return bank_debits.pay(emu, session, intent_data, method=method, **form)
        raise SessionUnavailable("method_not_offered", session)


def resolve_paypal(emu: Engine, session_id: str, attempt_id: str, action: str) -> PaymentResult:
    """PayPal's test page: action 'authorize' charges, 'fail' fails (back to Checkout)."""
    if action not in ("authorize", "fail"):
        raise ValueError("action must be 'authorize' or 'fail'")
    with emu.tx():
        data = paypal.attempt(emu, attempt_id)
        if data is None or data["session"] != session_id:
            raise SessionUnavailable("not_found")
        session = payable_session(emu, session_id)
        return paypal.resolve(emu, session, data, action)


# --- endpoints ---------------------------------------------------------------------------------


def _create(emu: Engine, ctx: RequestContext, args: dict[str, Any]) -> dict[str, Any]:
    return create_session(emu, ctx, args)


def _retrieve(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.retrieve("checkout.session", id, ctx.account)


def _update(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return emu.update_fields("checkout.session", id, args, ctx)


def _expire_endpoint(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    return expire_session(emu, id, ctx)


def _line_items_endpoint(emu: Engine, ctx: RequestContext, args: dict[str, Any], id: str) -> dict[str, Any]:
    with emu.tx():
        emu.get("checkout.session", id, account=ctx.account)
        return line_items_list(emu, id, args)


ENDPOINTS = [
    Endpoint("POST", "/v1/checkout/sessions", CREATE, _create),
    list_endpoint("/v1/checkout/sessions", "checkout.session", LIST_FILTERS),
    Endpoint("GET", "/v1/checkout/sessions/{id}", RETRIEVE, _retrieve),
    Endpoint("POST", "/v1/checkout/sessions/{id}", UPDATE, _update),
    Endpoint("POST", "/v1/checkout/sessions/{id}/expire", RETRIEVE, _expire_endpoint),
    Endpoint("GET", "/v1/checkout/sessions/{id}/line_items", list_spec(), _line_items_endpoint),
]
