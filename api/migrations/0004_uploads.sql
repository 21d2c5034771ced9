-- Cluebox intake store, schema 4: evidence file uploads. An upload's bytes live in the blob
-- store (store/blobs.rs, one file per upload); this row says how long it will be, the day it
-- was started (uploads never filed expire), the SHA-256 of its sealed bytes once complete, and
-- the inbox item (report or follow-up) it was filed with, in the item's order. No name, type
-- or time finer than a day: those travel sealed.
CREATE TABLE uploads (
    id          TEXT    PRIMARY KEY,
    length      INTEGER NOT NULL,
    created_day INTEGER NOT NULL,
    sha256      BLOB,
    inbox_seq   INTEGER REFERENCES inbox (seq),
    position    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX uploads_by_item ON uploads (inbox_seq, position) WHERE inbox_seq IS NOT NULL;
CREATE INDEX uploads_unfiled ON uploads (created_day) WHERE inbox_seq IS NULL;
