-- Text the desks sort or compare by range is compared as code points, as SQLite compares it,
-- whatever locale the database was created with: usernames (the users list) and audit times
-- (`audit_between` compares RFC 3339 text).
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C";
ALTER TABLE audit ALTER COLUMN at TYPE TEXT COLLATE "C";
