-- Cluebox intake store, schema 2: nothing derived from an inquiry code but the keyed token hash,
-- times to the day, sealed status letters.

-- The reporter's reply key confirmed a guessed code from a database copy alone (derive the
-- key pair, find the row); the desk reads it from inside the sealed report instead. The
-- connection runs with secure_delete, and the store vacuums after this migration, so the old
-- values do not linger in free pages.
ALTER TABLE cases DROP COLUMN reply_key;

-- Stored times are whole days (midnight UTC): a seized server cannot line a case up with
-- network flow records.
UPDATE cases  SET received_at = received_at - received_at % 86400;
UPDATE inbox  SET received_at = received_at - received_at % 86400,
                  acked_at    = acked_at - acked_at % 86400;
UPDATE outbox SET at          = at - at % 86400;

-- A status change now carries the office's sealed status letter, so that the reporter's page
-- can tell it from one the server invented. SQLite cannot change a CHECK constraint in place.
CREATE TABLE outbox_v2 (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT    NOT NULL REFERENCES cases (id),
    kind    TEXT    NOT NULL CHECK (kind IN ('status', 'reply')),
    status  TEXT,
    sealed  BLOB,
    at      INTEGER NOT NULL,
    CHECK ((kind = 'status') = (status IS NOT NULL)),
    CHECK (kind = 'status' OR sealed IS NOT NULL)
) STRICT;
INSERT INTO outbox_v2 (id, case_id, kind, status, sealed, at)
    SELECT id, case_id, kind, status, sealed, at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_by_case ON outbox (case_id, id);
