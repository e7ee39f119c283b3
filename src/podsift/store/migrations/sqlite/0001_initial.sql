-- podsift's first schema: the whole product's data model, so that later stages add columns,
-- not redesigns. Portable SQL (SQLite now, Postgres behind the same Store later): times are
-- ISO-8601 UTC text, lists are JSON text, booleans are 0/1.

-- People who receive digests. A single-person install has one, created on first use, with no email.
CREATE TABLE recipients (
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    timezone TEXT,                       -- NULL: the configured time zone
    delivery_time TEXT,                  -- 'HH:MM' in that zone; NULL: the configured time
    interests TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);

-- A show is stored once however many recipients follow it.
CREATE TABLE shows (
    id INTEGER PRIMARY KEY,
    feed_url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    etag TEXT,
    last_modified TEXT,
    last_checked_at TEXT,
    last_status INTEGER,
    error TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    next_check_at TEXT,
    paused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE subscriptions (
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (recipient_id, show_id)
);

-- The store is the queue: each stage takes episodes in its input state and moves them on.
-- skipped (older than a first scan takes) | new | downloaded | transcribed | extracted | failed
CREATE TABLE episodes (
    id INTEGER PRIMARY KEY,
    show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    audio_url TEXT NOT NULL,
    audio_type TEXT NOT NULL DEFAULT '',
    audio_bytes INTEGER NOT NULL DEFAULT -1,
    published_at TEXT,
    duration REAL NOT NULL DEFAULT 0,
    transcript_links TEXT NOT NULL DEFAULT '[]',
    soundbites TEXT NOT NULL DEFAULT '[]',
    persons TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'new',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    audio_path TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (show_id, guid)
);
CREATE INDEX episodes_by_state ON episodes (state);
CREATE INDEX episodes_by_audio ON episodes (show_id, audio_url);
CREATE INDEX episodes_by_published ON episodes (published_at);

-- One transcript per episode: sentence-level segments as JSON [[start, end, speaker, text], ...].
CREATE TABLE transcripts (
    episode_id INTEGER PRIMARY KEY REFERENCES episodes(id) ON DELETE CASCADE,
    source TEXT NOT NULL,                -- publisher | whisper
    format TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    segments TEXT NOT NULL,
    audio_seconds REAL NOT NULL DEFAULT 0,
    work_seconds REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- An episode's statements worth knowing, ranked within the episode.
CREATE TABLE insights (
    id INTEGER PRIMARY KEY,
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    text TEXT NOT NULL,                  -- what a reader sees
    quote TEXT NOT NULL,                 -- the exact transcript words it rests on
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL DEFAULT '{}',
    embedding BLOB,
    created_at TEXT NOT NULL,
    UNIQUE (episode_id, rank)
);

-- A digest is built once per recipient and day and kept; asking again returns the same one.
CREATE TABLE digests (
    id INTEGER PRIMARY KEY,
    recipient_id INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (recipient_id, day)
);

CREATE TABLE digest_items (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    insight_id INTEGER NOT NULL REFERENCES insights(id),
    also_heard TEXT NOT NULL DEFAULT '[]', -- insight ids of the same idea on other shows
    PRIMARY KEY (digest_id, rank)
);

-- The outbox: a delivery row is written before sending and marked sent after the server accepts.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,               -- email | atom | web
    message_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    next_attempt_at TEXT,
    sent_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (digest_id, channel)
);
