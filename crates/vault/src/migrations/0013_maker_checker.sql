-- Maker-checker facts the four-eyes rule needs: who created each user (NULL for the vault's
-- founding admin and for users added before this migration) and who last changed an
-- application's form (NULL until someone edits it after this migration; its creator is kept
-- in created_by).
ALTER TABLE users ADD COLUMN created_by TEXT;
ALTER TABLE applications ADD COLUMN edited_by TEXT;
