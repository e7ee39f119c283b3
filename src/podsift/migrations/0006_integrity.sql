-- The publisher's podcast:integrity hash of an episode's audio, checked after download.
ALTER TABLE episodes ADD COLUMN audio_integrity TEXT NOT NULL DEFAULT '';
