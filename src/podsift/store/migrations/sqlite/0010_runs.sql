-- What the service has been doing, for `podsift status` and the web app's status page: one row per
-- scan and per daily job, and one per scheduler (the thread of `podsift serve`) that it updates at
-- every tick, so a scheduler that stopped or died shows as such instead of going unnoticed.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                  -- scheduler | daily | scan
    holder TEXT NOT NULL,                -- host:pid
    started_at TEXT NOT NULL,
    beat_at TEXT NOT NULL,               -- the last sign of life: a job's end, a scheduler's latest tick
    outcome TEXT NOT NULL DEFAULT 'running',  -- running | ok | incomplete | failed | stopped
    summary TEXT NOT NULL DEFAULT '',
    error TEXT,                          -- the last error, with error_at; a scheduler keeps running after one
    error_at TEXT
);
CREATE INDEX runs_by_kind ON runs (kind, id);
