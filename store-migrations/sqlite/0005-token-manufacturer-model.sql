-- OATH hardware tokens: manufacturer and model
-- serial (migration 1) identifies an imported token; these two are shown by tokens list
ALTER TABLE methods ADD COLUMN manufacturer TEXT;
ALTER TABLE methods ADD COLUMN model TEXT;
