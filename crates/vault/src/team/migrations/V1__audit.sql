-- The team store's first tables: the one audit chain of the team (docs/adr/0001-team-store.md,
-- §4). Run by `desk team migrate` as the owner role, with search_path set to the `desk` schema.
-- Append-only like the SQLite migrations: never edit a released file; add V2, V3, …
--
-- The desks' role (boarding_desk_app) may only read the log and append to it. The triggers also
-- stop the owner from changing or removing an entry by mistake; a deliberate owner can drop
-- them, which is what the chain's signatures and the desks' checkpoints are for.

CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY CHECK (seq > 0),
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL,
    detail    TEXT,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL,
    signer    TEXT,
    signature BYTEA
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_target ON audit (target);

-- The chain's end, one row: a unit that appends reads it FOR UPDATE, so the desks' appends are
-- serialised and the chain never forks.
CREATE TABLE audit_head (
    one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (one, seq, hash) VALUES (TRUE, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints of the log, as in the local vault (migration 0017).
CREATE TABLE audit_checkpoints (
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL,
    at        TEXT NOT NULL,
    signer    TEXT NOT NULL,
    actor     TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, signature)
);

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % table is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

GRANT USAGE ON SCHEMA desk TO boarding_desk_app;
GRANT SELECT ON refinery_schema_history TO boarding_desk_app;
GRANT SELECT, INSERT ON audit, audit_checkpoints TO boarding_desk_app;
GRANT SELECT, UPDATE ON audit_head TO boarding_desk_app;
