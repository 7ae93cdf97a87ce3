-- The cross-inspection plan (kiểm tra chéo) of a group's year: which member
-- unit inspects which. One row per inspected unit; a change of the plan
-- replaces the group-year's rows in one transaction (the audit log keeps the
-- pairs before and after). The rules are core::inspection's. Timestamps UTC text.

CREATE TABLE inspection_pairs (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    inspector_unit_id BIGINT NOT NULL REFERENCES units(id),
    inspected_unit_id BIGINT NOT NULL REFERENCES units(id),
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK (inspector_unit_id <> inspected_unit_id),
    UNIQUE (group_year_id, inspected_unit_id)
);
