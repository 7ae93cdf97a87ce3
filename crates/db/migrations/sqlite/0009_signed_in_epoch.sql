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
INSERT INTO signed_in_epoch (id, value) VALUES (1, random());
-- The row stays: without it no server could keep a session safely.
CREATE TRIGGER signed_in_epoch_no_delete BEFORE DELETE ON signed_in_epoch
BEGIN
    SELECT RAISE(ABORT, 'signed_in_epoch cannot be deleted');
END;

CREATE TRIGGER signed_in_epoch_session_update AFTER UPDATE OF id_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent ON sessions
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_session_back AFTER UPDATE OF last_seen_at ON sessions
    WHEN NEW.last_seen_at < OLD.last_seen_at
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_session_delete AFTER DELETE ON sessions
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_user_update AFTER UPDATE ON users
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_user_delete AFTER DELETE ON users
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_grant_insert AFTER INSERT ON role_grants
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_grant_update AFTER UPDATE ON role_grants
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_grant_delete AFTER DELETE ON role_grants
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_unit_update AFTER UPDATE OF id, name, authority_id ON units
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_unit_delete AFTER DELETE ON units
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_authority_update AFTER UPDATE OF id, name ON authorities
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
CREATE TRIGGER signed_in_epoch_authority_delete AFTER DELETE ON authorities
BEGIN
    UPDATE signed_in_epoch SET value = random() WHERE id = 1;
END;
