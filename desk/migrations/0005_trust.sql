-- Cluebox desk, schema 5: quarantine, authenticated follow-ups, numbered office messages.

-- An item that cannot be opened, or holds the wrong kind of letter, is set aside with its
-- reason instead of stopping every item after it; `cluebox-desk quarantine` lists them and
-- `quarantine retry` tries again (after loading the missing key, say).
ALTER TABLE items ADD COLUMN quarantine_reason TEXT
    CHECK (quarantine_reason IN ('not_addressed', 'untrusted_sender', 'damaged', 'wrong_kind',
                                 'unsupported_version', 'unknown_case'));
ALTER TABLE items ADD COLUMN quarantine_detail TEXT;
ALTER TABLE items ADD COLUMN quarantined_at INTEGER;

-- 1: sealed with the key the reporter's code derives (checked against the reply key inside the
-- original report); 0: an older follow-up that proves nothing about its sender.
ALTER TABLE follow_ups ADD COLUMN authenticated INTEGER NOT NULL DEFAULT 0;

-- The number of the last reply or status letter sealed to this case's reporter; the status
-- page notices a missing or repeated number.
ALTER TABLE cases ADD COLUMN office_seq INTEGER NOT NULL DEFAULT 0;
