-- Cluebox desk, schema 1. Append-only: add the next file, never edit a released one.
-- This database is in the confidential intranet: it holds opened (plaintext) reports.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Sealed items exactly as received from the API (pull) or a bundle (import).
CREATE TABLE items (
    seq           INTEGER PRIMARY KEY,  -- the API's inbox position
    case_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('report', 'follow_up')),
    sealed        BLOB    NOT NULL,
    sealed_sha256 TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('pull', 'import')),
    opened_at     INTEGER
) STRICT;

-- One row per opened report.
CREATE TABLE cases (
    case_id     TEXT PRIMARY KEY,
    profile     TEXT    NOT NULL,
    locale      TEXT    NOT NULL,
    reply_key   TEXT    NOT NULL,
    report_json TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    status      TEXT    NOT NULL
) STRICT;

-- The reporter's follow-ups, opened.
CREATE TABLE follow_ups (
    seq         INTEGER PRIMARY KEY REFERENCES items (seq),
    case_id     TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

-- Every action, hash-chained: hash = SHA-256(prev_hash || canonical JSON of the entry).
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;
