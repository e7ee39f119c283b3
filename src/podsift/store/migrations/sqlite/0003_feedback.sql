-- Thumbs up or down on an insight, per recipient; the ranker lifts what is like the liked ones
-- and sinks what is like the disliked ones.
CREATE TABLE feedback (
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    insight_id INTEGER NOT NULL REFERENCES insights(id) ON DELETE CASCADE,
    vote INTEGER NOT NULL,               -- 1 or -1
    created_at TEXT NOT NULL,
    PRIMARY KEY (recipient_id, insight_id)
);
