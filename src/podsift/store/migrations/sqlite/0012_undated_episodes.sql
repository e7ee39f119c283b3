-- An episode whose feed gave no readable date belonged to no day, so its insights reached no digest.
-- New ones are dated when first seen; those stored before take the time they were stored.
UPDATE episodes SET published_at = created_at WHERE published_at IS NULL;
