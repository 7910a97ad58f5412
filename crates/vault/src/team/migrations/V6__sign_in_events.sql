-- Sign-in failures shared by the team's desks (docs/adr/0001 §3): one row per failed attempt,
-- and one per lockout lifted (a successful sign-in, an admin's unlock), each signed by the desk
-- that saw it. A lockout is derived from the rows of the last day: `max_failures` failures since
-- the last lifting lock the user on every desk. Desks only append; the triggers refuse changes
-- as they do for the audit log. The row names the member's slot (a hash of the username),
-- never the typed name.
CREATE TABLE sign_in_events (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('failure', 'cleared')),
    at        BIGINT NOT NULL,
    desk      TEXT NOT NULL,
    signature BYTEA NOT NULL
);
CREATE INDEX sign_in_events_by_slot ON sign_in_events (slot, at);

CREATE TRIGGER sign_in_events_append_only BEFORE UPDATE OR DELETE ON sign_in_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER sign_in_events_no_truncate BEFORE TRUNCATE ON sign_in_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

GRANT SELECT, INSERT ON sign_in_events TO boarding_desk_app;
