"""The domain: plain Python, no web framework. Sub-packages by capability, as layers (each imports only
from those below it; `lint-imports` checks it):

    ops                  cli, demo data, leader locks, the job worker
    client | workspace   what the client sees (no account) | the builder's workspace
    events               Stripe webhooks, the stored-event processor, reconcile
    lifecycle            a booking's states: holds, checkout, fulfilment, endings, refunds
    payments             the Stripe gateway, pricing, the money ledger, Connect
    notifications        the email outbox, templates, invites and feeds, manage links
    scheduling           availability, busy spans, slot search, the cancellation policy
    accounts             workspace accounts, sessions, authorisation, audit
    core                 settings, db, schema, money, time

The UI (`booking_ui`) imports only each sub-package's public face (its `__init__`).
"""
