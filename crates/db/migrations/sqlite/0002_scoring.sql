-- Scoring-table templates of an authority, the versions of each group-year's
-- table, and the covenant: its text, per-unit targets, signatures, and the
-- penalties the secretariat records for units that did not sign.
-- Table contents are JSON documents (thidua_core::scoring::ScoringTable);
-- points are integers in hundredths.

CREATE TABLE table_templates (
    id INTEGER PRIMARY KEY,
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    name TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    content TEXT NOT NULL,
    published_on TEXT,
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (authority_id, name)
);

CREATE TABLE scoring_tables (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    adopted_at TEXT,
    adopted_by BIGINT REFERENCES users(id),
    effective_from TEXT,
    UNIQUE (group_year_id, version)
);

CREATE TABLE covenants (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL UNIQUE REFERENCES group_years(id),
    text TEXT NOT NULL,
    table_id BIGINT REFERENCES scoring_tables(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE covenant_targets (
    id INTEGER PRIMARY KEY,
    covenant_id BIGINT NOT NULL REFERENCES covenants(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    line_code TEXT NOT NULL,
    target BIGINT NOT NULL,
    set_by BIGINT REFERENCES users(id),
    set_at TEXT NOT NULL,
    UNIQUE (covenant_id, unit_id, line_code)
);

CREATE TABLE covenant_signatures (
    id INTEGER PRIMARY KEY,
    covenant_id BIGINT NOT NULL REFERENCES covenants(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    signed_by BIGINT NOT NULL REFERENCES users(id),
    signer_name TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    UNIQUE (covenant_id, unit_id)
);

CREATE TABLE covenant_penalties (
    id INTEGER PRIMARY KEY,
    covenant_id BIGINT NOT NULL REFERENCES covenants(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    points BIGINT NOT NULL,
    reason TEXT NOT NULL,
    decided_by BIGINT NOT NULL REFERENCES users(id),
    decided_at TEXT NOT NULL,
    UNIQUE (covenant_id, unit_id)
);
