"""Regenerate `stripe_api_<API_VERSION>.json` (today 2026-10-28.endive) from the official `stripe` npm package's typed
definitions: the members of each object the emulator serves and the parameters of each
endpoint it implements. The tests compare the emulator with this snapshot, so a version bump
is: install the new package, run this script, fix what the tests then report.

    npm install --prefix /tmp/stripe-types stripe
    python -m tests.emulator.stripe_api_snapshot /tmp/stripe-types/node_modules/stripe

(MIT-licensed type definitions, (c) Stripe, Inc.; only names and optionality are kept.)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from stripe_emulator.core.config import API_VERSION

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / f"stripe_api_{API_VERSION}.json"

_OPEN = re.compile(
    r"^(\s*)(?:export )?(?:declare )?(interface|namespace|class) (\w+)(?:<[^>]*>)?"
    r"(?: extends ([^{]+))? \{$"
)
_MEMBER = re.compile(r"^(\s*)(\w+)(\??): (.*?);?$")
_IDENT = re.compile(r"[A-Z]\w*(?:\.[A-Z]\w*)*")
PAGINATION = {"ending_before", "limit", "starting_after"}

# object type -> (file, interface)
OBJECTS = {
    "checkout.session": ("resources/Checkout/Sessions.d.ts", "Session"),
    "payment_intent": ("resources/PaymentIntents.d.ts", "PaymentIntent"),
    "charge": ("resources/Charges.d.ts", "Charge"),
    "refund": ("resources/Refunds.d.ts", "Refund"),
    "product": ("resources/Products.d.ts", "Product"),
    "price": ("resources/Prices.d.ts", "Price"),
    "event": ("resources/Events.d.ts", "EventBase"),
    "item": ("resources/LineItems.d.ts", "LineItem"),
    "payment_method": ("resources/PaymentMethods.d.ts", "PaymentMethod"),
    "account": ("resources/Accounts.d.ts", "Account"),
    "deleted_account": ("resources/Accounts.d.ts", "DeletedAccount"),
    "bank_account": ("resources/BankAccounts.d.ts", "BankAccount"),
    "account_link": ("resources/AccountLinks.d.ts", "AccountLink"),
    "login_link": ("resources/LoginLinks.d.ts", "LoginLink"),
    "transfer": ("resources/Transfers.d.ts", "Transfer"),
    "transfer_reversal": ("resources/TransferReversals.d.ts", "TransferReversal"),
    "application_fee": ("resources/ApplicationFees.d.ts", "ApplicationFee"),
    "fee_refund": ("resources/FeeRefunds.d.ts", "FeeRefund"),
    "balance": ("resources/Balance.d.ts", "Balance"),
    "balance_transaction": ("resources/BalanceTransactions.d.ts", "BalanceTransaction"),
    "payout": ("resources/Payouts.d.ts", "Payout"),
    "dispute": ("resources/Disputes.d.ts", "Dispute"),
    "coupon": ("resources/Coupons.d.ts", "Coupon"),
    "promotion_code": ("resources/PromotionCodes.d.ts", "PromotionCode"),
    "discount": ("resources/Discounts.d.ts", "Discount"),
    "subscription": ("resources/Subscriptions.d.ts", "Subscription"),
    "subscription_item": ("resources/SubscriptionItems.d.ts", "SubscriptionItem"),
    "invoice_payment": ("resources/InvoicePayments.d.ts", "InvoicePayment"),
    "billing_portal.session": ("resources/BillingPortal/Sessions.d.ts", "Session"),
    "customer": ("resources/Customers.d.ts", "Customer"),
    "deleted_customer": ("resources/Customers.d.ts", "DeletedCustomer"),
    "setup_intent": ("resources/SetupIntents.d.ts", "SetupIntent"),
}

# "METHOD path" -> (file, params interface)
ENDPOINTS = {
    "POST /v1/checkout/sessions": ("resources/Checkout/Sessions.d.ts", "Checkout.SessionCreateParams"),
    "GET /v1/checkout/sessions": ("resources/Checkout/Sessions.d.ts", "Checkout.SessionListParams"),
    "GET /v1/checkout/sessions/{id}": ("resources/Checkout/Sessions.d.ts", "Checkout.SessionRetrieveParams"),
    "POST /v1/checkout/sessions/{id}": ("resources/Checkout/Sessions.d.ts", "Checkout.SessionUpdateParams"),
    "POST /v1/checkout/sessions/{id}/expire": ("resources/Checkout/Sessions.d.ts", "Checkout.SessionExpireParams"),
    "GET /v1/checkout/sessions/{id}/line_items": (
        "resources/Checkout/Sessions.d.ts", "Checkout.SessionListLineItemsParams"),
    "GET /v1/payment_intents": ("resources/PaymentIntents.d.ts", "PaymentIntentListParams"),
    "GET /v1/payment_intents/{id}": ("resources/PaymentIntents.d.ts", "PaymentIntentRetrieveParams"),
    "POST /v1/payment_intents/{id}": ("resources/PaymentIntents.d.ts", "PaymentIntentUpdateParams"),
    "GET /v1/payment_methods/{id}": ("resources/PaymentMethods.d.ts", "PaymentMethodRetrieveParams"),
    "GET /v1/charges": ("resources/Charges.d.ts", "ChargeListParams"),
    "GET /v1/charges/{id}": ("resources/Charges.d.ts", "ChargeRetrieveParams"),
    "POST /v1/charges/{id}": ("resources/Charges.d.ts", "ChargeUpdateParams"),
    # Still in Stripe's API, no longer in the Node SDK: a plain list (pagination and expand).
    "GET /v1/charges/{id}/refunds": ("", ""),
    "POST /v1/refunds": ("resources/Refunds.d.ts", "RefundCreateParams"),
    "GET /v1/refunds": ("resources/Refunds.d.ts", "RefundListParams"),
    "GET /v1/refunds/{id}": ("resources/Refunds.d.ts", "RefundRetrieveParams"),
    "POST /v1/refunds/{id}": ("resources/Refunds.d.ts", "RefundUpdateParams"),
    "POST /v1/products": ("resources/Products.d.ts", "ProductCreateParams"),
    "GET /v1/products": ("resources/Products.d.ts", "ProductListParams"),
    "GET /v1/products/{id}": ("resources/Products.d.ts", "ProductRetrieveParams"),
    "POST /v1/products/{id}": ("resources/Products.d.ts", "ProductUpdateParams"),
    "POST /v1/prices": ("resources/Prices.d.ts", "PriceCreateParams"),
    "GET /v1/prices": ("resources/Prices.d.ts", "PriceListParams"),
    "GET /v1/prices/{id}": ("resources/Prices.d.ts", "PriceRetrieveParams"),
    "POST /v1/prices/{id}": ("resources/Prices.d.ts", "PriceUpdateParams"),
    "GET /v1/events": ("resources/Events.d.ts", "EventListParams"),
    "GET /v1/events/{id}": ("resources/Events.d.ts", "EventRetrieveParams"),
    "POST /v1/accounts": ("resources/Accounts.d.ts", "AccountCreateParams"),
    "GET /v1/accounts": ("resources/Accounts.d.ts", "AccountListParams"),
    "GET /v1/accounts/{id}": ("resources/Accounts.d.ts", "AccountRetrieveParams"),
    "POST /v1/accounts/{id}": ("resources/Accounts.d.ts", "AccountUpdateParams"),
    "DELETE /v1/accounts/{id}": ("resources/Accounts.d.ts", "AccountDeleteParams"),
    "GET /v1/account": ("resources/Accounts.d.ts", "AccountRetrieveCurrentParams"),
    "POST /v1/account_links": ("resources/AccountLinks.d.ts", "AccountLinkCreateParams"),
    "POST /v1/accounts/{id}/login_links": ("resources/Accounts.d.ts", "AccountCreateLoginLinkParams"),
    "POST /v1/transfers": ("resources/Transfers.d.ts", "TransferCreateParams"),
    "GET /v1/transfers": ("resources/Transfers.d.ts", "TransferListParams"),
    "GET /v1/transfers/{id}": ("resources/Transfers.d.ts", "TransferRetrieveParams"),
    "POST /v1/transfers/{id}": ("resources/Transfers.d.ts", "TransferUpdateParams"),
    "POST /v1/transfers/{id}/reversals": ("resources/Transfers.d.ts", "TransferCreateReversalParams"),
    "GET /v1/transfers/{id}/reversals": ("resources/Transfers.d.ts", "TransferListReversalsParams"),
    "GET /v1/transfers/{transfer}/reversals/{id}": ("resources/Transfers.d.ts", "TransferRetrieveReversalParams"),
    "POST /v1/transfers/{transfer}/reversals/{id}": ("resources/Transfers.d.ts", "TransferUpdateReversalParams"),
    "GET /v1/application_fees": ("resources/ApplicationFees.d.ts", "ApplicationFeeListParams"),
    "GET /v1/application_fees/{id}": ("resources/ApplicationFees.d.ts", "ApplicationFeeRetrieveParams"),
    "POST /v1/application_fees/{id}/refunds": ("resources/ApplicationFees.d.ts", "ApplicationFeeCreateRefundParams"),
    "GET /v1/application_fees/{id}/refunds": ("resources/ApplicationFees.d.ts", "ApplicationFeeListRefundsParams"),
    "GET /v1/application_fees/{fee}/refunds/{id}": (
        "resources/ApplicationFees.d.ts", "ApplicationFeeRetrieveRefundParams"),
    "POST /v1/application_fees/{fee}/refunds/{id}": (
        "resources/ApplicationFees.d.ts", "ApplicationFeeUpdateRefundParams"),
    "GET /v1/balance": ("resources/Balance.d.ts", "BalanceRetrieveParams"),
    "GET /v1/balance_transactions": ("resources/BalanceTransactions.d.ts", "BalanceTransactionListParams"),
    "GET /v1/balance_transactions/{id}": ("resources/BalanceTransactions.d.ts", "BalanceTransactionRetrieveParams"),
    "POST /v1/payouts": ("resources/Payouts.d.ts", "PayoutCreateParams"),
    "GET /v1/payouts": ("resources/Payouts.d.ts", "PayoutListParams"),
    "GET /v1/payouts/{id}": ("resources/Payouts.d.ts", "PayoutRetrieveParams"),
    "POST /v1/payouts/{id}": ("resources/Payouts.d.ts", "PayoutUpdateParams"),
    "GET /v1/disputes": ("resources/Disputes.d.ts", "DisputeListParams"),
    "GET /v1/disputes/{id}": ("resources/Disputes.d.ts", "DisputeRetrieveParams"),
    "POST /v1/disputes/{id}": ("resources/Disputes.d.ts", "DisputeUpdateParams"),
    "POST /v1/disputes/{id}/close": ("resources/Disputes.d.ts", "DisputeCloseParams"),
    "POST /v1/coupons": ("resources/Coupons.d.ts", "CouponCreateParams"),
    "GET /v1/coupons": ("resources/Coupons.d.ts", "CouponListParams"),
    "GET /v1/coupons/{id}": ("resources/Coupons.d.ts", "CouponRetrieveParams"),
    "POST /v1/coupons/{id}": ("resources/Coupons.d.ts", "CouponUpdateParams"),
    "POST /v1/promotion_codes": ("resources/PromotionCodes.d.ts", "PromotionCodeCreateParams"),
    "GET /v1/promotion_codes": ("resources/PromotionCodes.d.ts", "PromotionCodeListParams"),
    "GET /v1/promotion_codes/{id}": ("resources/PromotionCodes.d.ts", "PromotionCodeRetrieveParams"),
    "POST /v1/promotion_codes/{id}": ("resources/PromotionCodes.d.ts", "PromotionCodeUpdateParams"),
    "GET /v1/invoices": ("resources/Invoices.d.ts", "InvoiceListParams"),
    "GET /v1/invoices/{id}": ("resources/Invoices.d.ts", "InvoiceRetrieveParams"),
    "GET /v1/invoice_payments": ("resources/InvoicePayments.d.ts", "InvoicePaymentListParams"),
    "GET /v1/invoice_payments/{id}": ("resources/InvoicePayments.d.ts", "InvoicePaymentRetrieveParams"),
    "GET /v1/subscriptions": ("resources/Subscriptions.d.ts", "SubscriptionListParams"),
    "GET /v1/subscriptions/{id}": ("resources/Subscriptions.d.ts", "SubscriptionRetrieveParams"),
    "POST /v1/subscriptions/{id}": ("resources/Subscriptions.d.ts", "SubscriptionUpdateParams"),
    "DELETE /v1/subscriptions/{id}": ("resources/Subscriptions.d.ts", "SubscriptionCancelParams"),
    "POST /v1/billing_portal/sessions": ("resources/BillingPortal/Sessions.d.ts", "BillingPortal.SessionCreateParams"),
    "POST /v1/customers": ("resources/Customers.d.ts", "CustomerCreateParams"),
    "GET /v1/customers": ("resources/Customers.d.ts", "CustomerListParams"),
    "GET /v1/customers/{id}": ("resources/Customers.d.ts", "CustomerRetrieveParams"),
    "POST /v1/customers/{id}": ("resources/Customers.d.ts", "CustomerUpdateParams"),
    "DELETE /v1/customers/{id}": ("resources/Customers.d.ts", "CustomerDeleteParams"),
    "GET /v1/customers/{id}/payment_methods": (
        "resources/Customers.d.ts", "CustomerListPaymentMethodsParams"),
    "GET /v1/setup_intents": ("resources/SetupIntents.d.ts", "SetupIntentListParams"),
    "GET /v1/setup_intents/{id}": ("resources/SetupIntents.d.ts", "SetupIntentRetrieveParams"),
    "POST /v1/setup_intents/{id}": ("resources/SetupIntents.d.ts", "SetupIntentUpdateParams"),
    "POST /v1/payment_intents": ("resources/PaymentIntents.d.ts", "PaymentIntentCreateParams"),
    "GET /v1/payment_methods": ("resources/PaymentMethods.d.ts", "PaymentMethodListParams"),
    "POST /v1/payment_methods/{id}/attach": ("resources/PaymentMethods.d.ts", "PaymentMethodAttachParams"),
    "POST /v1/payment_methods/{id}/detach": ("resources/PaymentMethods.d.ts", "PaymentMethodDetachParams"),
}


def parse(path: Path) -> dict[str, dict[str, Any]]:
    """{qualified interface name: {"extends": str, "members": {name: {optional, type}}}}."""
    interfaces: dict[str, dict[str, Any]] = {}
    stack: list[tuple[int, str, str]] = []
    in_comment = False
    for line in path.read_text().split("\n"):
        stripped = line.strip()
        if stripped.startswith("/**") or stripped.startswith("/*"):
            in_comment = not stripped.endswith("*/")
            continue
        if in_comment:
            in_comment = not stripped.endswith("*/")
            continue
        opened = _OPEN.match(line)
        if opened:
            stack.append((len(opened.group(1)), opened.group(2), opened.group(3)))
            if opened.group(2) == "interface":
                name = ".".join(n for _, _, n in stack)
                interfaces[name] = {"extends": (opened.group(4) or "").strip(), "members": {}}
            continue
        if stripped == "}" and stack and len(line) - len(line.lstrip()) == stack[-1][0]:
            stack.pop()
            continue
        if stack and stack[-1][1] == "interface":
            member = _MEMBER.match(line)
            if member and len(member.group(1)) == stack[-1][0] + 4:
                name = ".".join(n for _, _, n in stack)
                interfaces[name]["members"][member.group(2)] = {
                    "optional": bool(member.group(3)),
                    "type": member.group(4),
                }
    return interfaces


def _resolve(interfaces: dict[str, Any], scope: str, ident: str) -> str | None:
    parts = scope.split(".")[:-1]
    while True:
        candidate = ".".join([*parts, ident])
        if candidate in interfaces:
            return candidate
        if not parts:
            return None
        parts.pop()


def _tree(interfaces: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
    info = interfaces[name]
    members = dict(info["members"])
    if "PaginationParams" in info["extends"]:
        members.update({key: {"optional": True, "type": "string"} for key in PAGINATION})
    tree: dict[str, Any] = {}
    for key, member in sorted(members.items()):
        node: dict[str, Any] = {"optional": member["optional"]}
        if depth < 5:
            fields: dict[str, Any] = {}
            for ident in _IDENT.findall(member["type"]):
                target = _resolve(interfaces, name, ident)
                if target is not None and target != name:
                    fields.update(_tree(interfaces, target, depth + 1))
            if fields:
                node["fields"] = fields
        tree[key] = node
    return tree


def _plain_list() -> dict[str, Any]:
    return {key: {"optional": True} for key in sorted({*PAGINATION, "expand"})}


def build(package: Path) -> dict[str, Any]:
    """Names resolve within each definition file (plus shared.d.ts), as TypeScript modules do:
    `Session` in Checkout/Sessions.d.ts is not BillingPortal's."""
    esm = package / "esm"
    shared = parse(esm / "shared.d.ts")

    def scope(file: str) -> dict[str, Any]:
        return {**shared, **parse(esm / file)}

    version = re.search(r'ApiVersion = "([^"]+)"', (esm / "apiVersion.d.ts").read_text())
    package_version = json.loads((package / "package.json").read_text())["version"]
    return {
        "api_version": version.group(1) if version else None,
        "source": f"stripe npm package {package_version}, esm/resources/*.d.ts",
        "objects": {
            object_type: {
                key: {"optional": member["optional"]}
                for key, member in sorted(scope(file)[name]["members"].items())
            }
            for object_type, (file, name) in OBJECTS.items()
        },
        "params": {
            route: _tree(scope(file), name, 0) if name else _plain_list()
            for route, (file, name) in ENDPOINTS.items()
        },
    }


def main(argv: list[str]) -> int:
    package = Path(argv[1] if len(argv) > 1 else "/tmp/stripe-types/node_modules/stripe")
    snapshot = build(package)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} ({snapshot['api_version']}, {snapshot['source']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
