-- The team's keyring (docs/adr/0001 §2): what `keyring.json` holds on a local desk that every
-- desk of the team shares — members' sealed password slots and signed registrations, the class
-- keys sealed to members' public keys, retired registrations, desk keys, the blocklist's desk
-- copies. One row, replaced whole by a desk under a version check (compare-and-set), so two
-- desks changing it at once never lose either change: the second is refused and retried.
--
-- Nothing in it is trusted for being here: a registration verifies through its admin's, down
-- to the founding one that each desk anchored when it joined (its join code), and every key in
-- it is sealed (under argon2id of a password, or to a member's public key). What stays on each
-- desk, in its own keyring.json: its failure records and their MAC, its record id, and the
-- newest audit head it wrote.
CREATE TABLE keyring (
    id      SMALLINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL CHECK (version > 0),
    body    BYTEA NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON keyring TO boarding_desk_app;
