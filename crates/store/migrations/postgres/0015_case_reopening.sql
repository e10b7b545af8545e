-- Reopening a closed case (issue 16). Never edited after landing.
--
-- A closed case that is reopened keeps its earlier closing here (when, by whom, why), beside who
-- reopened it, when and why (a code); the case itself is open again, so the retention clock its
-- closing started stops until it closes again.
CREATE TABLE case_reopening (
    id             TEXT   PRIMARY KEY,
    case_id        TEXT   NOT NULL REFERENCES case_episode (id),
    closed_at      BIGINT NOT NULL,
    closed_by      TEXT   NOT NULL,
    closure_reason TEXT   NOT NULL,
    reopened_at    BIGINT NOT NULL,
    reopened_by    TEXT   NOT NULL,
    reason         TEXT   NOT NULL
);
CREATE INDEX case_reopening_case ON case_reopening (case_id, reopened_at);
