"""Who may use the builder workspace: accounts, password hashing, sign-in sessions, throttling,
authorisation (one place that loads an object *and* checks its owner) and the audit log."""
