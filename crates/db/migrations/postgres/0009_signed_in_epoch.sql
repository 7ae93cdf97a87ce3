-- What a signed-in request reads of its session, user and grants (the
-- statement of users::signed_in) changes only with a new value here, so a
-- server may keep that reading while the value stays the same. The value is
-- random, not counted: a database restored from a backup never brings back a
-- value with other rows behind it.
--
-- Not here, on purpose: a new session or user (nobody has kept it yet) and
-- a session's last_seen_at moving forward (written once a minute per user;
-- a server that kept an older one only reads it again before ending the
-- session for idleness). Moving it back, as a test or an operator might,
-- does change the value.
CREATE TABLE signed_in_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
-- 62 random bits from two draws (SQLite's random() gives 64)
CREATE FUNCTION signed_in_epoch_draw() RETURNS bigint AS $$
    SELECT (floor(random() * 2147483648)::bigint << 31) | floor(random() * 2147483648)::bigint;
$$ LANGUAGE sql VOLATILE;
INSERT INTO signed_in_epoch (id, value) VALUES (1, signed_in_epoch_draw());

-- The row stays: without it no server could keep a session safely.
CREATE FUNCTION signed_in_epoch_stays() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'signed_in_epoch cannot be deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER signed_in_epoch_no_delete BEFORE DELETE ON signed_in_epoch
    FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_stays();
CREATE TRIGGER signed_in_epoch_no_truncate BEFORE TRUNCATE ON signed_in_epoch
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_stays();

-- Runs as the owner of the schema (the role that ran the migrations): the
-- role that serves needs only SELECT on the table, and cannot set a value
-- back. Its search path is the schema's, then pg_temp last (a temporary
-- table of the same name cannot stand in).
CREATE FUNCTION signed_in_epoch_bump() RETURNS trigger AS $$
BEGIN
    UPDATE signed_in_epoch SET value = signed_in_epoch_draw() WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
DO $$ BEGIN
    EXECUTE format('ALTER FUNCTION signed_in_epoch_bump() SET search_path = %I, pg_temp', current_schema());
END $$;

-- The row triggers are deferred to the commit: the epoch's row is then the
-- last lock a transaction takes, after its rows and the audit log's lock,
-- so two transactions never wait for each other through it (a sign-out
-- beside an account locked, two logins sweeping expired sessions, a
-- sign-out beside an import). TRUNCATE cannot have a deferred trigger; it
-- is an operator's statement, alone in its transaction.
CREATE CONSTRAINT TRIGGER signed_in_epoch_session_update AFTER UPDATE OF id_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_session_back AFTER UPDATE OF last_seen_at ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.last_seen_at COLLATE "C" < OLD.last_seen_at COLLATE "C")
    EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_session_delete AFTER DELETE ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_user_change AFTER UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_grant_change AFTER INSERT OR UPDATE OR DELETE ON role_grants
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_unit_update AFTER UPDATE OF id, name, authority_id ON units
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_unit_delete AFTER DELETE ON units
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_authority_update AFTER UPDATE OF id, name ON authorities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE CONSTRAINT TRIGGER signed_in_epoch_authority_delete AFTER DELETE ON authorities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION signed_in_epoch_bump();
CREATE TRIGGER signed_in_epoch_session_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_bump();
CREATE TRIGGER signed_in_epoch_user_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_bump();
CREATE TRIGGER signed_in_epoch_grant_truncate AFTER TRUNCATE ON role_grants
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_bump();
CREATE TRIGGER signed_in_epoch_unit_truncate AFTER TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_bump();
CREATE TRIGGER signed_in_epoch_authority_truncate AFTER TRUNCATE ON authorities
    FOR EACH STATEMENT EXECUTE FUNCTION signed_in_epoch_bump();

-- also while session_replication_role is replica (logical replication and
-- tools that load data that way)
ALTER TABLE signed_in_epoch ENABLE ALWAYS TRIGGER signed_in_epoch_no_delete;
ALTER TABLE signed_in_epoch ENABLE ALWAYS TRIGGER signed_in_epoch_no_truncate;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER signed_in_epoch_session_update;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER signed_in_epoch_session_back;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER signed_in_epoch_session_delete;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER signed_in_epoch_session_truncate;
ALTER TABLE users ENABLE ALWAYS TRIGGER signed_in_epoch_user_change;
ALTER TABLE users ENABLE ALWAYS TRIGGER signed_in_epoch_user_truncate;
ALTER TABLE role_grants ENABLE ALWAYS TRIGGER signed_in_epoch_grant_change;
ALTER TABLE role_grants ENABLE ALWAYS TRIGGER signed_in_epoch_grant_truncate;
ALTER TABLE units ENABLE ALWAYS TRIGGER signed_in_epoch_unit_update;
ALTER TABLE units ENABLE ALWAYS TRIGGER signed_in_epoch_unit_delete;
ALTER TABLE units ENABLE ALWAYS TRIGGER signed_in_epoch_unit_truncate;
ALTER TABLE authorities ENABLE ALWAYS TRIGGER signed_in_epoch_authority_update;
ALTER TABLE authorities ENABLE ALWAYS TRIGGER signed_in_epoch_authority_delete;
ALTER TABLE authorities ENABLE ALWAYS TRIGGER signed_in_epoch_authority_truncate;
