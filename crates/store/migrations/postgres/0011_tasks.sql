-- The task inbox (issue 16). Never edited after landing.
--
-- Everything that waits for someone is a task: what kind, what it is about (ids only: a referral, an
-- approval, a disclosure, a grant, a recipient, a member of staff, and the person where there is
-- one), when it is due, whom it is for, and when, by whom and how it was closed. A task is opened
-- and closed in the transaction of the change that makes it (with that change's audit event), or
-- by the sweep for what falls due with time. Closed tasks are kept.
CREATE TABLE task (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    service_id      TEXT   REFERENCES service (id),
    kind            TEXT   NOT NULL,
    subject_id      TEXT   NOT NULL,
    person_id       TEXT,
    -- One open task per kind, subject and person.
    open_key        TEXT   NOT NULL,
    due_at          BIGINT,
    opened_at       BIGINT NOT NULL,
    opened_by       TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    closed_at       BIGINT,
    closed_by       TEXT,
    -- How it was closed: the change that did it (`referral.accept`), or how someone was told
    -- (`email`, `letter` …) with the date they were told.
    outcome         TEXT,
    done_on         TEXT
);
CREATE UNIQUE INDEX task_open_once ON task (open_key) WHERE state = 'open';
CREATE INDEX task_by_organisation ON task (organisation_id, state, due_at);
CREATE INDEX task_by_subject ON task (kind, subject_id, state);

-- Whom a task is for: a member of staff by id, or the holders of a role (in one team, in one
-- service, or in the whole organisation). A task is in someone's inbox when any of its rows names
-- them.
CREATE TABLE task_audience (
    task_id    TEXT NOT NULL REFERENCES task (id),
    staff_id   TEXT REFERENCES staff (id),
    role       TEXT,
    service_id TEXT REFERENCES service (id),
    team_id    TEXT REFERENCES team (id)
);
CREATE INDEX task_audience_task ON task_audience (task_id);
CREATE INDEX task_audience_staff ON task_audience (staff_id);
CREATE INDEX task_audience_role ON task_audience (role, service_id);
