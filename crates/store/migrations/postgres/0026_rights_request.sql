-- Rights requests (issue 18, part 1). Never edited after landing.
--
-- A request about a person's rights, with how it arrived, who asked on the person's behalf (a
-- related person of their record, whose details are sealed there) and on what authority, and its
-- clock as days: received, day one (once identity is confirmed), days stopped for clarification,
-- an extension, the due date worked out from them. Ids, codes and days only: nothing here is
-- sealed, and it goes with the person's record when that is destroyed. `version` is bumped by
-- every step, so two people deciding at once cannot both win.
CREATE TABLE rights_request (
    id                TEXT    PRIMARY KEY,
    organisation_id   TEXT    NOT NULL REFERENCES organisation (id),
    service_id        TEXT    NOT NULL REFERENCES service (id),
    person_id         TEXT    NOT NULL REFERENCES person (id),
    kind              TEXT    NOT NULL,
    channel           TEXT    NOT NULL,
    representative_id TEXT,
    authority         TEXT,
    received_on       TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    identity_check    TEXT,
    start_on          TEXT,
    stopped_days      BIGINT  NOT NULL,
    stopped_on        TEXT,
    extended_on       TEXT,
    extension_reason  TEXT,
    due_on            TEXT,
    safety_review     BIGINT  NOT NULL,
    created_by        TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    closed_on         TEXT,
    version           BIGINT  NOT NULL
);
CREATE INDEX rights_request_service ON rights_request (service_id, state, due_on);
CREATE INDEX rights_request_person ON rights_request (person_id);

-- Each step of a request, in order: what its clock rests on.
CREATE TABLE rights_request_step (
    id          TEXT   PRIMARY KEY,
    request_id  TEXT   NOT NULL REFERENCES rights_request (id),
    step        TEXT   NOT NULL,
    on_day      TEXT   NOT NULL,
    detail      TEXT,
    actor       TEXT   NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX rights_request_step_request ON rights_request_step (request_id, at);
