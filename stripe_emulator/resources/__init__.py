"""One module per Stripe resource, each declaring its `/v1` endpoints (`ENDPOINTS`).

The rule: a resource imports `stripe_emulator.core` only, never another resource and never the
server or the `Emulator`. What several resources share (money movements, an account's bank
accounts, the payment engine) is a core service; what runs when time passes is registered by
`stripe_emulator.emulator`. `.importlinter` checks it (`lint-imports`).
"""
