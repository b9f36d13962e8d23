"""The emulator's core: state and the services every resource uses. Imports no resource, page or
server module (`.importlinter` checks it).

State and plumbing: `engine` (the `Engine`: store, clock, lock and transactions, `emit`, lookups,
clock-tick and expansion registries), `store` (SQLite), `clock`, `config` (flags) and `defaults`
(every Stripe key), `context` (who asked), `ids`, `objects` (object builders), `events` +
`webhooks` (event objects, signing and delivery), `idempotency`, `errors`.
Requests: `spec` (declarative parameters and `Endpoint`), `forms` (bracket decoding), `listing`
(pagination, filters, list endpoints), `expand`.
Money: `money` (currencies, amounts), `ledger` (balance transactions and balances),
`connect_money` (transfers, application fees, destination charges and their refunds),
`account_state` (bank accounts, requirements, payout failures), `cards` (test cards),
`payment_engine` (a payment attempt on a checkout session: PaymentIntent, charge, settlement).
"""
