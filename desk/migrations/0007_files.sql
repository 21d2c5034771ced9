-- Cluebox desk, schema 7: evidence files (desk/src/evidence.rs). The sealed bytes are files in
-- `files/` beside this database; a row says which inbox item named the upload, its hash, and,
-- once its report is opened, what its sealed header says (name, type, size, what the browser
-- removed) or why it cannot be opened.
CREATE TABLE files (
    upload      TEXT    PRIMARY KEY,
    seq         INTEGER NOT NULL REFERENCES items (seq),
    position    INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    fetched     INTEGER NOT NULL DEFAULT 0,
    case_id     TEXT,
    name        TEXT,
    media_type  TEXT,
    size        INTEGER,
    cleaning    TEXT,
    problem     TEXT
) STRICT;
CREATE INDEX files_by_item ON files (seq, position);
CREATE INDEX files_by_case ON files (case_id, position);
