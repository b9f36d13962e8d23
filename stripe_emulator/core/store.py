"""SQLite persistence: objects as JSON blobs by id and type, plus events, deliveries,
idempotency records, private per-session data and a small key/value table.

Each object row also records which account owns it: NULL for the platform, `acct_...` for a
connected account (what the `Stripe-Account` header selects). Lookups take `account=` to see
only one account's objects; the default `ANY` sees everything (internal bookkeeping).

Every method takes the store's own lock; the emulator adds a coarser lock around whole
operations, and `transaction()` groups writes so a crash never leaves half a payment.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created INTEGER NOT NULL,
    data TEXT NOT NULL,
    account TEXT
);
CREATE INDEX IF NOT EXISTS objects_type ON objects(type, created);
CREATE TABLE IF NOT EXISTS event_delivery (
    event_id TEXT PRIMARY KEY,
    ordering_key TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    url TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL,
    succeeded INTEGER NOT NULL,
    final INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS private (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TABLES = ("objects", "event_delivery", "deliveries", "idempotency", "private", "meta")


class _Any:
    def __repr__(self) -> str:
        return "ANY"


# "Objects of every account", the default for lookups that are not scoped to a request.
ANY: Any = _Any()


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, uri=path.startswith("file:")
        )
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(objects)")}
        if "account" not in columns:  # a state file from before Connect
            self._conn.execute("ALTER TABLE objects ADD COLUMN account TEXT")
        self._conn.execute("CREATE INDEX IF NOT EXISTS objects_account ON objects(type, account)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outermost:
                    self._conn.execute("COMMIT")

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, args)

    # --- objects -------------------------------------------------------------------------

    def put(self, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        """Insert or update; `account` (the owner) is set on insert and never changes."""
        self._execute(
            "INSERT INTO objects (id, type, created, data, account) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (obj["id"], obj["object"], int(obj.get("created") or 0), json.dumps(obj), account),
        )
        return obj

    def get(self, object_type: str, object_id: str, account: Any = ANY) -> dict[str, Any] | None:
        sql, args = "SELECT data FROM objects WHERE id = ? AND type = ?", [object_id, object_type]
        if account is not ANY:
            sql += " AND account IS ?"
            args.append(account)
        row = self._execute(sql, tuple(args)).fetchone()
        return json.loads(row[0]) if row else None

    def find(self, object_id: str) -> dict[str, Any] | None:
        row = self._execute("SELECT data FROM objects WHERE id = ?", (object_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def owner(self, object_id: str) -> str | None:
        """The connected account owning an object, None for the platform (or unknown ids)."""
        row = self._execute("SELECT account FROM objects WHERE id = ?", (object_id,)).fetchone()
        return row[0] if row else None

    def delete(self, object_id: str) -> None:
        self._execute("DELETE FROM objects WHERE id = ?", (object_id,))

    def all(self, object_type: str, account: Any = ANY) -> list[dict[str, Any]]:
        """Newest first, like Stripe's lists."""
        sql, args = "SELECT data FROM objects WHERE type = ?", [object_type]
        if account is not ANY:
            sql += " AND account IS ?"
            args.append(account)
        rows = self._execute(sql + " ORDER BY created DESC, rowid DESC", tuple(args)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def where(self, object_type: str, field: str, value: Any, account: Any = ANY) -> list[dict[str, Any]]:
        sql = "SELECT data FROM objects WHERE type = ? AND json_extract(data, ?) = ?"
        args: list[Any] = [object_type, f"$.{field}", value]
        if account is not ANY:
            sql += " AND account IS ?"
            args.append(account)
        rows = self._execute(sql + " ORDER BY created DESC, rowid DESC", tuple(args)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def accounts_with(self, object_type: str) -> list[str | None]:
        """Every owner that has at least one object of this type."""
        rows = self._execute(
            "SELECT DISTINCT account FROM objects WHERE type = ?", (object_type,)
        ).fetchall()
        return [row[0] for row in rows]

    def open_sessions_due(self, now: int) -> list[dict[str, Any]]:
        rows = self._execute(
            "SELECT data FROM objects WHERE type = 'checkout.session' "
            "AND json_extract(data, '$.status') = 'open' "
            "AND json_extract(data, '$.expires_at') <= ? ORDER BY created, rowid",
            (now,),
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def due(self, object_type: str, status: str, time_field: str, now: int) -> list[dict[str, Any]]:
        """Objects in `status` whose `time_field` (a timestamp) is at or before `now`, oldest first."""
        rows = self._execute(
            "SELECT data FROM objects WHERE type = ? AND json_extract(data, '$.status') = ? "
            "AND json_extract(data, ?) <= ? ORDER BY json_extract(data, ?), rowid",
            (object_type, status, f"$.{time_field}", now, f"$.{time_field}"),
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, object_type: str) -> int:
        return self._execute(
            "SELECT COUNT(*) FROM objects WHERE type = ?", (object_type,)
        ).fetchone()[0]

    # --- events and their delivery -------------------------------------------------------

    def add_event(self, event: dict[str, Any], ordering_key: str, status: str) -> None:
        with self.transaction():
            self.put(event, account=event.get("account"))
            self._execute(
                "INSERT OR REPLACE INTO event_delivery (event_id, ordering_key, status) "
                "VALUES (?, ?, ?)",
                (event["id"], ordering_key, status),
            )

    def event_delivery(self, event_id: str) -> tuple[str, str] | None:
        row = self._execute(
            "SELECT ordering_key, status FROM event_delivery WHERE event_id = ?", (event_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def delivery_statuses(self) -> dict[str, str]:
        rows = self._execute("SELECT event_id, status FROM event_delivery").fetchall()
        return {row[0]: row[1] for row in rows}

    def set_event_status(self, event_id: str, status: str) -> None:
        self._execute(
            "UPDATE event_delivery SET status = ? WHERE event_id = ?", (status, event_id)
        )

    def pending_events(self) -> list[tuple[str, str]]:
        """(event_id, ordering_key) still awaiting delivery, oldest first."""
        rows = self._execute(
            "SELECT d.event_id, d.ordering_key FROM event_delivery d "
            "JOIN objects o ON o.id = d.event_id WHERE d.status = 'pending' "
            "ORDER BY o.created, o.rowid"
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def add_delivery(self, record: dict[str, Any]) -> dict[str, Any]:
        cursor = self._execute(
            "INSERT INTO deliveries (event_id, event_type, attempt, url, status_code, error, "
            "duration_ms, succeeded, final, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record["event_id"],
                record["event_type"],
                record["attempt"],
                record["url"],
                record["status_code"],
                record["error"],
                record["duration_ms"],
                int(record["succeeded"]),
                int(record["final"]),
                record.get("at", time.time()),
            ),
        )
        return {**record, "id": cursor.lastrowid}

    def deliveries(self, event_id: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT id, event_id, event_type, attempt, url, status_code, error, duration_ms, "
            "succeeded, final, at FROM deliveries"
        )
        args: tuple[Any, ...] = ()
        if event_id:
            sql += " WHERE event_id = ?"
            args = (event_id,)
        rows = self._execute(sql + " ORDER BY id", args).fetchall()
        keys = ["id", "event_id", "event_type", "attempt", "url", "status_code", "error", "duration_ms", "succeeded", "final", "at"]
        result = []
        for row in rows:
            record = dict(zip(keys, row))
            record["succeeded"] = bool(record["succeeded"])
            record["final"] = bool(record["final"])
            result.append(record)
        return result

    # --- idempotency ---------------------------------------------------------------------

    def idempotent_response(self, key: str) -> dict[str, Any] | None:
        row = self._execute(
            "SELECT fingerprint, endpoint, status, body, request_id, created "
            "FROM idempotency WHERE key = ?",
            (key,),
        ).fetchone()
        if not row:
            return None
        return dict(zip(("fingerprint", "endpoint", "status", "body", "request_id", "created"), row))

    def save_idempotent_response(
        self, key: str, fingerprint: str, endpoint: str, status: int, body: str, request_id: str, created: int
    ) -> None:
        self._execute(
            "INSERT OR REPLACE INTO idempotency "
            "(key, fingerprint, endpoint, status, body, request_id, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, fingerprint, endpoint, status, body, request_id, created),
        )

    def prune_idempotency(self, older_than: int) -> None:
        self._execute("DELETE FROM idempotency WHERE created < ?", (older_than,))

    # --- private data and meta -----------------------------------------------------------

    def put_private(self, key: str, data: Any) -> None:
        self._execute(
            "INSERT OR REPLACE INTO private (key, data) VALUES (?, ?)", (key, json.dumps(data))
        )

    def get_private(self, key: str) -> Any:
        row = self._execute("SELECT data FROM private WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def reset(self) -> None:
        with self.transaction():
            for table in TABLES:
                self._execute(f"DELETE FROM {table}")
