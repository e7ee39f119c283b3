-- A digest looked at before its day was over and scanned used to be stored empty and kept, so the
-- day's insights never reached it and its email was never sent. Digests are now stored only once
-- their day is settled or sent; the empty ones that were never sent are dropped, to be built again
-- when next asked for (`podsift run --date DAY` sends a day that was missed this way).
DELETE FROM digests WHERE NOT EXISTS (SELECT 1 FROM digest_items i WHERE i.digest_id = digests.id)
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.digest_id = digests.id);
