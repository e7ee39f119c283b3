-- A day's episodes of the shows someone follows, without reading every episode those shows ever
-- had: the digest's query walks this index per show (10,000 episodes of history made it read them all).
CREATE INDEX episodes_by_show_published ON episodes (show_id, published_at);
