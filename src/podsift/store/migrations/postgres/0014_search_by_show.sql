-- Search rows name their show, so a search is narrowed to the shows a reader follows by an index
-- (a bitmap of the show's rows against the words' GIN bitmap) before any row is read or ranked.
ALTER TABLE search ADD COLUMN show_id BIGINT;
UPDATE search f SET show_id = e.show_id FROM episodes e WHERE e.id = f.episode_id;
DELETE FROM search WHERE show_id IS NULL;
ALTER TABLE search ALTER COLUMN show_id SET NOT NULL;
CREATE INDEX search_by_show ON search (show_id);
