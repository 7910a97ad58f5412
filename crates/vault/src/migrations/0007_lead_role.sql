-- The underwriter lead role (may give the second approval of a high-risk application).
-- SQLite cannot change a CHECK constraint in place: the users table is rebuilt, same columns.
CREATE TABLE users_next (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'underwriter', 'auditor')),
    disabled             INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    totp_secret          BLOB,
    totp_confirmed       INTEGER NOT NULL DEFAULT 0,
    totp_last_step       INTEGER,
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    last_login_at        TEXT
) STRICT;
INSERT INTO users_next (id, username, role, disabled, must_change_password, totp_secret,
    totp_confirmed, totp_last_step, created_at, password_changed_at, last_login_at)
SELECT id, username, role, disabled, must_change_password, totp_secret, totp_confirmed,
    totp_last_step, created_at, password_changed_at, last_login_at FROM users;
DROP TABLE users;
ALTER TABLE users_next RENAME TO users;
