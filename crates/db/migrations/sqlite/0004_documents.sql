-- Group documents (quy chế, giao ước, kế hoạch, biên bản…) and their versions.
-- The bytes live in the file store (content-addressed by SHA-256); the
-- database keeps the metadata. A version is never changed or removed: a new
-- file for the same document is a new version.

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    kind TEXT NOT NULL CHECK (kind IN ('regulation', 'covenant', 'plan', 'minutes', 'other')),
    title TEXT NOT NULL,
    search_key TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (group_year_id, kind, title)
);

CREATE TABLE document_versions (
    id INTEGER PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents(id),
    version INTEGER NOT NULL CHECK (version >= 1),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    file_type TEXT NOT NULL CHECK (file_type IN ('pdf', 'docx', 'xlsx', 'png', 'jpeg', 'webp')),
    file_name TEXT NOT NULL,
    note TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL,
    UNIQUE (document_id, version)
);
CREATE INDEX document_versions_sha256 ON document_versions(sha256);

CREATE TRIGGER document_versions_no_update BEFORE UPDATE ON document_versions
BEGIN
    SELECT RAISE(ABORT, 'document_versions are never changed: add a new version');
END;
CREATE TRIGGER document_versions_no_delete BEFORE DELETE ON document_versions
BEGIN
    SELECT RAISE(ABORT, 'document_versions are never removed');
END;
