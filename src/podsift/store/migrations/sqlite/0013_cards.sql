-- A language model's edit of an insight (issue #14): at most one per insight, kept with the model
-- and prompt version that made it. "accepted" cards are what readers see; "rejected" ones keep
-- the extractive text and say why; "failed" ones (the endpoint was down, slow or refused) are
-- tried again at the next scan.
CREATE TABLE cards (
    insight_id INTEGER PRIMARY KEY REFERENCES insights(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    prompt_version INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'failed')),
    title TEXT,
    text TEXT,
    reason TEXT,
    tokens INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
