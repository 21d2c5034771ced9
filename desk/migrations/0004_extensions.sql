-- Cluebox desk, schema 4: extended handling time (12389: the reporter is told of the delay).
ALTER TABLE cases ADD COLUMN extension_days INTEGER NOT NULL DEFAULT 0;
