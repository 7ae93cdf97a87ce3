-- The calendar of a group's year. The organising authority sets, per year and
-- event, a default date and the window (earliest, latest) its groups may move
-- the event in; a group-year may give an event a date of its own inside that
-- window. Dates are 'YYYY-MM-DD'; timestamps UTC text. Events:
-- covenant_signing, mid_year_review, self_assessment_deadline, head_review,
-- explanation, appraisal, deliberation, year_end_review (core::calendar::Event).

CREATE TABLE calendar_defaults (
    id INTEGER PRIMARY KEY,
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    year INTEGER NOT NULL REFERENCES years(year),
    event TEXT NOT NULL CHECK (event IN ('covenant_signing', 'mid_year_review', 'self_assessment_deadline', 'head_review', 'explanation', 'appraisal', 'deliberation', 'year_end_review')),
    default_on TEXT NOT NULL,
    earliest_on TEXT NOT NULL,
    latest_on TEXT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TEXT NOT NULL,
    CHECK (earliest_on <= default_on AND default_on <= latest_on),
    UNIQUE (authority_id, year, event)
);

CREATE TABLE group_calendar (
    id INTEGER PRIMARY KEY,
    group_year_id BIGINT NOT NULL REFERENCES group_years(id),
    event TEXT NOT NULL CHECK (event IN ('covenant_signing', 'mid_year_review', 'self_assessment_deadline', 'head_review', 'explanation', 'appraisal', 'deliberation', 'year_end_review')),
    date_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TEXT NOT NULL,
    UNIQUE (group_year_id, event)
);
