-- The scoring year of a group (core::workflow::Phase) and the evidence files
-- of the score chain. score_years holds the phase a group-year is in (a
-- missing row means self-assessment), the decision that reopened final
-- results, and the publication of the results. evidence_files holds the
-- metadata of each evidence file (the bytes live in the file store,
-- content-addressed by SHA-256); a score entry names its evidence by these
-- ids in evidence_json. Evidence files are never changed or removed: a file
-- is taken off a line by a new score entry without it.

CREATE TABLE score_years (
    group_year_id BIGINT PRIMARY KEY REFERENCES group_years(id),
    phase TEXT NOT NULL CHECK (phase IN ('self_assessment', 'inspection', 'head_review', 'explanation', 'appraisal', 'final', 'final_reopened')),
    decision TEXT,
    changed_by BIGINT NOT NULL REFERENCES users(id),
    changed_at TEXT NOT NULL,
    published_by BIGINT REFERENCES users(id),
    published_at TEXT,
    publish_reasons BIGINT NOT NULL DEFAULT 0 CHECK (publish_reasons IN (0, 1))
);

CREATE TABLE evidence_files (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    unit_id BIGINT NOT NULL REFERENCES units(id),
    line_code TEXT NOT NULL,
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    file_type TEXT NOT NULL CHECK (file_type IN ('pdf', 'docx', 'xlsx', 'png', 'jpeg', 'webp')),
    file_name TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL
);
CREATE INDEX evidence_files_sheet ON evidence_files(group_year_id, unit_id, line_code);

CREATE TRIGGER evidence_files_no_update BEFORE UPDATE ON evidence_files
BEGIN
    SELECT RAISE(ABORT, 'evidence_files are never changed');
END;
CREATE TRIGGER evidence_files_no_delete BEFORE DELETE ON evidence_files
BEGIN
    SELECT RAISE(ABORT, 'evidence_files are never removed');
END;
