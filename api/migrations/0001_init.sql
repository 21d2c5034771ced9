-- Cluebox intake store, schema 1. Migrations are append-only: never edit a released file, add
-- the next one. Nothing here holds plaintext, a lookup token or a client address.

-- One row per report: the keyed hash of its lookup token and the reporter's reply public key.
CREATE TABLE cases (
    id          TEXT    PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    reply_key   BLOB    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

-- What the desk pulls: sealed reports and follow-ups, in arrival order.
CREATE TABLE inbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT    NOT NULL REFERENCES cases (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('report', 'follow_up')),
    sealed        BLOB    NOT NULL,
    sealed_sha256 BLOB    NOT NULL,
    received_at   INTEGER NOT NULL,
    acked_at      INTEGER
) STRICT;
CREATE INDEX inbox_by_case ON inbox (case_id, kind, seq);
CREATE INDEX inbox_by_time ON inbox (received_at);

-- What the desk pushes: public status changes and replies sealed to the reporter.
CREATE TABLE outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT    NOT NULL REFERENCES cases (id),
    kind    TEXT    NOT NULL CHECK (kind IN ('status', 'reply')),
    status  TEXT,
    sealed  BLOB,
    at      INTEGER NOT NULL,
    CHECK ((kind = 'status') = (status IS NOT NULL)),
    CHECK ((kind = 'reply') = (sealed IS NOT NULL))
) STRICT;
CREATE INDEX outbox_by_case ON outbox (case_id, id);

-- Retried requests: the first answer, returned again for the same key and request.
CREATE TABLE idempotency (
    key            TEXT PRIMARY KEY,
    request_sha256 BLOB NOT NULL,
    response       TEXT NOT NULL
) STRICT;
