-- Work on an episode is claimed, as an email's sending is: a lease held by one process (host:pid)
-- and renewed while it works, so that any number of scans and workers can run at once and each
-- episode is downloaded, transcribed and extracted once. Finishing a stage (a transcript or the
-- insights stored, a failure recorded) frees the claim in the same transaction.
ALTER TABLE episodes ADD COLUMN claimed_by TEXT;
ALTER TABLE episodes ADD COLUMN claimed_until TEXT;
CREATE INDEX episodes_by_claim ON episodes (claimed_by);
