-- Cluebox desk, schema 3: possible repeats found when a report is opened, and links staff made.

CREATE TABLE repeat_flags (
    case_id   TEXT NOT NULL REFERENCES cases (case_id),
    candidate TEXT NOT NULL REFERENCES cases (case_id),
    reason    TEXT NOT NULL,
    PRIMARY KEY (case_id, candidate)
) STRICT;

CREATE TABLE links (
    case_id TEXT    NOT NULL REFERENCES cases (case_id),
    other   TEXT    NOT NULL REFERENCES cases (case_id),
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    PRIMARY KEY (case_id, other)
) STRICT;
