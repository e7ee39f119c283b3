-- Web sessions live in the store, not only in a signed cookie, so that logging out or a new password
-- ends them everywhere: a copied cookie then names a session that no longer exists. The cookie holds
-- a random token; the store keeps only its SHA-256.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX sessions_by_recipient ON sessions (recipient_id);
