-- Search rows name their show in an indexed column, so a search is narrowed to the shows a reader
-- follows inside FTS5 (`show_id : (12 OR 40)`, an intersection of doclists) instead of ranking
-- every match in the store and dropping the rest: at a million insights that took a common word's
-- search from 9 ms to 390 ms (bench/queries.py). The column weighs nothing in the ranking.
CREATE VIRTUAL TABLE search_by_show USING fts5(
    kind UNINDEXED, ref UNINDEXED, episode_id UNINDEXED, text, show_id, tokenize = 'porter'
);
INSERT INTO search_by_show (rowid, kind, ref, episode_id, text, show_id)
    SELECT f.rowid, f.kind, f.ref, f.episode_id, f.text, e.show_id FROM search f JOIN episodes e ON e.id = f.episode_id;
DROP TABLE search;
ALTER TABLE search_by_show RENAME TO search;
INSERT INTO search (search, rank) VALUES ('rank', 'bm25(0, 0, 0, 1, 0)');
