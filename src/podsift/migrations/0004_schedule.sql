-- One daily job at a time across processes (cron, `podsift serve`, a second serve by mistake):
-- a lock is a row with a lease; a process that dies frees it when the lease ends.
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);

-- Days whose daily job finished, so the scheduler catches up missed days exactly once.
CREATE TABLE daily_runs (
    day TEXT PRIMARY KEY,
    finished_at TEXT NOT NULL
);
