-- Followed topics: an idea a person follows across every show the install follows, and what each
-- day's digest carried for it (so that the email, its Atom feed and a resend all say the same, and
-- no topic repeats what that person was sent before). Each insight keeps the vectors of the
-- sentences it spans, so a topic is matched against what a sentence says, not only the passage's mean.
CREATE TABLE topics (
    id INTEGER PRIMARY KEY,
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (recipient_id, query)
);
CREATE TABLE topic_items (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    insight_id INTEGER NOT NULL REFERENCES insights(id),
    also_heard TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (digest_id, topic_id, rank)
);
CREATE INDEX topic_items_by_topic ON topic_items (topic_id);
ALTER TABLE insights ADD COLUMN sentence_vectors BLOB;
