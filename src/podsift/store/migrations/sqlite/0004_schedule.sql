-- One daily job at a time across processes (cron, `podsift serve`, a second serve by mistake):
-- a lock is a row with a lease; a process that dies frees it when the lease ends.
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);

-- The days whose job is done for each recipient (digest built, email sent or queued), so the
-- scheduler catches up missed days exactly once, at each person's own time and time zone.
CREATE TABLE recipient_days (
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (recipient_id, day)
);
