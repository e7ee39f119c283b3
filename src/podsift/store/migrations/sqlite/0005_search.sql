-- Full-text search over transcript sentences and insights (SQLite FTS5; a Postgres store would use
-- its own text search behind Store.search). `ref` says where a hit lives: "episode:start" for a
-- sentence, the insight id for an insight.
CREATE VIRTUAL TABLE search USING fts5(kind UNINDEXED, ref UNINDEXED, episode_id UNINDEXED, text, tokenize = 'porter');
INSERT INTO search (kind, ref, episode_id, text)
    SELECT 'sentence', json_extract(s.value, '$[0]'), t.episode_id, json_extract(s.value, '$[3]')
    FROM transcripts t, json_each(t.segments) s;
INSERT INTO search (kind, ref, episode_id, text) SELECT 'insight', id, episode_id, text FROM insights;
