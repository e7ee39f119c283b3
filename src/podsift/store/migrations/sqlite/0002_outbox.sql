-- The outbox is keyed by recipient, day and channel, not by digest: a digest rebuilt with
-- `--rebuild` is still the same day's delivery, and is not sent twice. The message holds its
-- Message-ID from the moment it is queued, so a retry is recognisably the same message.
CREATE TABLE deliveries_new (
    id INTEGER PRIMARY KEY,
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    channel TEXT NOT NULL,               -- email
    digest_id INTEGER REFERENCES digests(id) ON DELETE SET NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | sending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    next_attempt_at TEXT,                -- retry time while pending; lease end while sending
    sent_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (recipient_id, day, channel)
);
INSERT INTO deliveries_new (id, recipient_id, day, channel, digest_id, message_id, status, attempts, error,
                            next_attempt_at, sent_at, created_at)
    SELECT d.id, g.recipient_id, g.day, d.channel, d.digest_id, COALESCE(d.message_id, '<' || d.id || '@podsift>'),
           d.status, d.attempts, d.error, d.next_attempt_at, d.sent_at, d.created_at
    FROM deliveries d JOIN digests g ON g.id = d.digest_id;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

-- A recipient who used the unsubscribe link gets no more email; their web access stays.
ALTER TABLE recipients ADD COLUMN unsubscribed_at TEXT;
