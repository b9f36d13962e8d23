"""Money and Stripe: the gateway (the only Stripe caller), pricing, the ledger, Connect.

- `gateway`  talks to Stripe (or the emulator: same code, other address); `gateway_from_settings`
- `pricing`  what a client pays and what the platform keeps (fees, fee refunds)
- `ledger`   Payment and Refund rows: the only writer of money records; "which booking is this Stripe object about?"
- `movements` the money journal: every movement of a payment's money between client, platform, builder and Stripe
- `connect`  builders' Express accounts, onboarding, balances and payouts, the fee report, a payment's breakdown
- `release`  held funds paid out once a builder's payouts are enabled; Stripe's fees read; the journal's backfill
- `credits`  the credit ledger (packages, memberships): grants and their append-only lines, balances
- `disputes` charge disputes: their rows and journal entries, the recovery from the builder, the evidence form
- `promotions` promotion codes: the rules, a use reserved with the hold (given back when it ends unpaid), Stripe sync
- `sales`    what each payment sold (a session, a package, a membership invoice), to whom, for which builder
"""

from booking.payments.connect import (
    STATE_LABELS,
    AccountState,
    ConnectedBuilderRow,
    FeeMonthRow,
    HeldFunds,
    MoneyBreakdown,
    MovementLine,
    PartyTotal,
    PayoutRow,
    PayoutsNotReady,
    TotalRow,
    TransferRow,
    balance_lines,
    balance_note,
    connected_builders,
    fee_report,
    login_link,
    money_breakdown,
    payouts_view,
    refresh_money,
    renew_onboarding_link,
    start_onboarding,
    sync_account,
)
from booking.payments.credits import (
    CreditBalance,
    CreditEntryKind,
    CreditError,
    CreditSourceKind,
    ExpiredCredits,
    GrantBalance,
    NoCreditAvailable,
    NothingToRefund,
    booking_credit_state,
    client_email_key,
    grant_balance,
    return_credit,
    undo_refund,
)
from booking.payments.credits import balance as credit_balance
from booking.payments.credits import expire_due as expire_due_credits
from booking.payments.credits import grant as grant_credits
from booking.payments.credits import redeem as redeem_credit
from booking.payments.credits import refund_unused as refund_unused_credits
from booking.payments.credits import release_reservation as release_credit_reservation
from booking.payments.credits import reserve as reserve_credit
from booking.payments.disputes import (
    DisputeRow,
    EvidenceField,
    EvidenceResult,
    evidence_form,
    list_disputes,
    submit_evidence,
)
from booking.payments.gateway import (
    CheckoutMode,
    OffSessionOutcome,
    PaymentProviderError,
    StripeGateway,
    gateway_from_settings,
)
from booking.payments.pricing import describe, quote, split_text

__all__ = [
    "CreditBalance",
    "CreditEntryKind",
    "CreditError",
    "CreditSourceKind",
    "ExpiredCredits",
    "GrantBalance",
    "NoCreditAvailable",
    "NothingToRefund",
    "booking_credit_state",
    "client_email_key",
    "credit_balance",
    "expire_due_credits",
    "grant_balance",
    "grant_credits",
    "redeem_credit",
    "refund_unused_credits",
    "release_credit_reservation",
    "reserve_credit",
    "return_credit",
    "undo_refund",
    "AccountState",
    "ConnectedBuilderRow",
    "DisputeRow",
    "EvidenceField",
    "EvidenceResult",
    "FeeMonthRow",
    "HeldFunds",
    "MoneyBreakdown",
    "MovementLine",
    "PartyTotal",
    "CheckoutMode",
    "OffSessionOutcome",
    "PaymentProviderError",
    "PayoutRow",
    "PayoutsNotReady",
    "STATE_LABELS",
    "StripeGateway",
    "TotalRow",
    "TransferRow",
    "balance_lines",
    "balance_note",
    "connected_builders",
    "describe",
    "evidence_form",
    "list_disputes",
    "submit_evidence",
    "gateway_from_settings",
    "fee_report",
    "login_link",
    "money_breakdown",
    "payouts_view",
    "quote",
    "refresh_money",
    "renew_onboarding_link",
    "split_text",
    "start_onboarding",
    "sync_account",
]
