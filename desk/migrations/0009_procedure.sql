-- Cluebox desk, schema 9: the procedure as an office runs it (desk/src/workflow.rs).

-- A move that needs someone else's approval (a leader's, or a second account's confirmation)
-- waits here; at most one per case at a time.
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    to_status   TEXT    NOT NULL,
    detail      TEXT    NOT NULL,                 -- JSON: note, unit, department, reason, result
    proposed_by TEXT    NOT NULL,
    proposed_at INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused')),
    decided_by  TEXT,
    decided_at  INTEGER,
    reason      TEXT
) STRICT;
CREATE UNIQUE INDEX approvals_one_pending ON approvals (case_id) WHERE state = 'pending';

-- Contacts with a real-name reporter outside Cluebox (phone, SMS, in person, letter).
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    on_day      INTEGER NOT NULL,                 -- the day of the contact, unix seconds (midnight UTC)
    channel     TEXT    NOT NULL CHECK (channel IN ('phone', 'sms', 'in_person', 'letter')),
    outcome     TEXT    NOT NULL,
    recorded_by TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;

-- Follow-up visits (回访) and what the reporter said.
CREATE TABLE visits (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    on_day      INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('satisfied', 'not_satisfied', 'unreachable')),
    note        TEXT    NOT NULL DEFAULT '',
    recorded_by TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;
