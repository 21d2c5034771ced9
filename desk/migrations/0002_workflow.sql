-- Cluebox desk, schema 2: the handling procedure.

ALTER TABLE cases ADD COLUMN accepted_at INTEGER;
ALTER TABLE cases ADD COLUMN unit TEXT;

-- Every transition: who, when, from and to, the note. Intranet only.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    detail      TEXT    NOT NULL
) STRICT;

-- What goes to the API: public status changes and replies sealed to the reporter. Nothing else.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    case_id         TEXT    NOT NULL REFERENCES cases (case_id),
    kind            TEXT    NOT NULL CHECK (kind IN ('status', 'reply')),
    status          TEXT,
    sealed          BLOB,
    at              INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL,
    pushed_at       INTEGER
) STRICT;
