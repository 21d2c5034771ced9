-- Cluebox intake store, schema 3: sealed bodies of new inbox items live in append-only segment
-- files beside the database (store/sqlite/segments.rs), written once instead of twice (WAL and
-- checkpoint). A row whose blob_len is set keeps an empty `sealed` and points into a segment;
-- older rows keep their bytes in `sealed`.
ALTER TABLE inbox ADD COLUMN blob_segment INTEGER;
ALTER TABLE inbox ADD COLUMN blob_offset INTEGER;
ALTER TABLE inbox ADD COLUMN blob_len INTEGER;
-- Appended in order, so this index grows at its end; it finds where each segment's committed
-- bodies end when the store opens.
CREATE INDEX inbox_by_blob ON inbox (blob_segment, blob_offset) WHERE blob_segment IS NOT NULL;
