-- Cluebox desk, schema 8: web desk sessions (desk/src/web/session.rs). Only a hash of each
-- session cookie is kept, so a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,                                  -- hex SHA-256 of the cookie value
    login      TEXT    NOT NULL REFERENCES staff (login) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,                                     -- the token every form carries
    created_at INTEGER NOT NULL,                                     -- unix seconds
    seen_at    INTEGER NOT NULL                                      -- last request, unix seconds
) STRICT;
