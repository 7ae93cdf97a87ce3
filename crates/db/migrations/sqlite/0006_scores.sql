-- The score chain (core::workflow): every value written for a line of a
-- unit's sheet at a stage is a new row of score_entries, never changed (the
-- triggers refuse UPDATE and DELETE); its id is the entry's sequence number.
-- sheets holds the state of each unit's self-assessment sheet. Values and
-- evidence keys are JSON text; timestamps UTC text.

CREATE TABLE score_entries (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    line_code TEXT NOT NULL,
    stage TEXT NOT NULL,
    value_json TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    evidence_json TEXT NOT NULL DEFAULT '[]',
    by_user BIGINT NOT NULL REFERENCES users(id),
    by_unit BIGINT REFERENCES units(id),
    at TEXT NOT NULL
);
CREATE INDEX score_entries_sheet ON score_entries(group_year_id, unit_id, line_code);

CREATE TRIGGER score_entries_no_update BEFORE UPDATE ON score_entries
BEGIN
    SELECT RAISE(ABORT, 'score_entries is append-only');
END;
CREATE TRIGGER score_entries_no_delete BEFORE DELETE ON score_entries
BEGIN
    SELECT RAISE(ABORT, 'score_entries is append-only');
END;

CREATE TABLE sheets (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    state TEXT NOT NULL,
    submitted_by BIGINT REFERENCES users(id),
    submitted_at TEXT,
    reopened_by BIGINT REFERENCES users(id),
    reopen_reason TEXT,
    UNIQUE (group_year_id, unit_id)
);
