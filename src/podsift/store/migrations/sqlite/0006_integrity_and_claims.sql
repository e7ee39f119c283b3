-- The publisher's podcast:integrity hash of an episode's audio, checked after download.
ALTER TABLE episodes ADD COLUMN audio_integrity TEXT NOT NULL DEFAULT '';
-- Which process (host:pid) holds an email's sending lease, so a successor can tell that it died.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
