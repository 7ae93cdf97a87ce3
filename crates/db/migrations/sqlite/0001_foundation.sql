-- Foundation: authorities, units and lineage, years, groups and memberships,
-- users, role grants, sessions, login attempts, the audit log.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ'; dates are 'YYYY-MM-DD'.

CREATE TABLE authorities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    short_name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('central', 'ministry', 'province')),
    parent_id BIGINT REFERENCES authorities(id),
    search_key TEXT NOT NULL,
    closed_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('department', 'commune', 'province', 'ministry', 'party', 'mass', 'enterprise', 'other')),
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    active_from TEXT,
    active_to TEXT,
    search_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (authority_id, name)
);
CREATE INDEX units_search ON units(search_key);

CREATE TABLE unit_lineage (
    id INTEGER PRIMARY KEY,
    predecessor_id BIGINT NOT NULL REFERENCES units(id),
    successor_id BIGINT NOT NULL REFERENCES units(id),
    kind TEXT NOT NULL CHECK (kind IN ('merged', 'split', 'renamed')),
    effective_on TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (predecessor_id <> successor_id),
    UNIQUE (predecessor_id, successor_id)
);

CREATE TABLE years (
    year INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE emulation_groups (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('cluster', 'block')),
    name TEXT NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    search_key TEXT NOT NULL,
    closed_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (authority_id, name)
);

CREATE TABLE group_years (
    id INTEGER PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES emulation_groups(id),
    year INTEGER NOT NULL REFERENCES years(year),
    created_at TEXT NOT NULL,
    UNIQUE (group_id, year)
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    role TEXT NOT NULL CHECK (role IN ('head', 'deputy', 'member')),
    created_at TEXT NOT NULL,
    UNIQUE (group_year_id, unit_id)
);
CREATE UNIQUE INDEX memberships_one_head ON memberships(group_year_id) WHERE role = 'head';
CREATE UNIQUE INDEX memberships_one_deputy ON memberships(group_year_id) WHERE role = 'deputy';
CREATE INDEX memberships_unit ON memberships(unit_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE role_grants (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'secretariat', 'council', 'viewer', 'unit_leader', 'unit_officer')),
    authority_id BIGINT REFERENCES authorities(id),
    unit_id BIGINT REFERENCES units(id),
    created_at TEXT NOT NULL
);
CREATE INDEX role_grants_user ON role_grants(user_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TEXT NOT NULL,
    success BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts(username, at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    authority_id BIGINT,
    before_json TEXT,
    after_json TEXT,
    reason TEXT,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);

-- The last row of the audit log, written with every append: a row removed
-- from the end of the log (or the whole log emptied) no longer matches it.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
