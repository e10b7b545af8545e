-- The retention review queue (issue 17, part 2). Never edited after landing.
--
-- The sweep puts a record whose retention period has ended on the queue; nothing is destroyed
-- without review: a reviewer decides (destroy, keep until a date, transfer), the Data Protection
-- Officer approves the destroy decisions in a batch, a waiting period runs, and only then does the
-- sweep destroy it. Ids, codes, dates and times only; a decision's reason is checked not to name the
-- person before it is kept (it is copied onto the certificate). No foreign key on person_id: the
-- row outlives the record it was about.
CREATE TABLE retention_review (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    service_id      TEXT   NOT NULL REFERENCES service (id),
    person_id       TEXT   NOT NULL,
    rules           TEXT   NOT NULL,
    due_on          TEXT   NOT NULL,
    found_at        BIGINT NOT NULL,
    state           TEXT   NOT NULL,
    decided_by      TEXT,
    decided_at      BIGINT,
    keep_until      TEXT,
    reason          TEXT,
    scope           TEXT,
    approved_by     TEXT,
    approved_at     BIGINT,
    destroy_after   BIGINT,
    closed_at       BIGINT,
    outcome         TEXT,
    certificate_id  TEXT
);
-- One review at a time per record: the sweep never queues it twice.
CREATE UNIQUE INDEX retention_review_one_open ON retention_review (person_id) WHERE closed_at IS NULL;
CREATE INDEX retention_review_queue ON retention_review (organisation_id, state, due_on);
CREATE INDEX retention_review_person ON retention_review (person_id, state);

-- A job that must run in one process at a time (the daily retention sweep): whoever holds the row
-- until a time in the future runs it; a holder that died frees it when its time passes.
CREATE TABLE job_lock (
    name   TEXT   PRIMARY KEY,
    holder TEXT   NOT NULL,
    until  BIGINT NOT NULL
);
