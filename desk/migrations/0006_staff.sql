-- Cluebox desk, schema 6: staff accounts (desk/src/staff.rs). No default account: the first
-- admin is made by `cluebox-desk staff add`.
CREATE TABLE staff (
    login         TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('intake', 'handler', 'leader', 'auditor', 'admin')),
    regions       TEXT    NOT NULL DEFAULT '',  -- comma-separated region ids (handlers)
    password_hash TEXT    NOT NULL,             -- Argon2id PHC string
    failures      INTEGER NOT NULL DEFAULT 0,   -- wrong passwords in a row
    locked_until  INTEGER NOT NULL DEFAULT 0,   -- unix seconds
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
