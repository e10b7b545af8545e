-- Contact preferences and messages (F4, R16-R17). Never edited after landing.
-- Ids are UUID text, times UTC microseconds since the Unix epoch. The rows here hold ids, codes,
-- flags and times only: a code word, a message's address and its body are sealed with the person's
-- key in `record_field` (record id = the row's id), so erasing the person reaches them.

-- Every change of a person's contact preferences, never edited: the latest is the one that holds.
-- `allowed` and `refused` are comma-separated channel codes (letter, video, phone, home_visit,
-- email, text); a channel in neither has not been asked about.
CREATE TABLE contact_preference (
    id           TEXT    PRIMARY KEY,
    person_id    TEXT    NOT NULL REFERENCES person (id),
    allowed      TEXT    NOT NULL,
    refused      TEXT    NOT NULL,
    no_voicemail INTEGER NOT NULL,
    has_code_word INTEGER NOT NULL,
    key_version  BIGINT  NOT NULL,
    recorded_by  TEXT    NOT NULL,
    recorded_at  BIGINT  NOT NULL
);
CREATE INDEX contact_preference_person ON contact_preference (person_id, recorded_at);

-- The outbox: a templated email or text to a person, waiting, sent, or given up on.
CREATE TABLE message (
    id              TEXT    PRIMARY KEY,
    person_id       TEXT    NOT NULL REFERENCES person (id),
    channel         TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    key_version     BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT,
    queued_by       TEXT    NOT NULL,
    queued_at       BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX message_due ON message (state, next_attempt_at);
CREATE INDEX message_person ON message (person_id, queued_at);

-- The delivery log: each attempt, its outcome and the server's reply code. Never an address or a body.
CREATE TABLE message_attempt (
    message_id TEXT    NOT NULL REFERENCES message (id),
    attempt    INTEGER NOT NULL,
    at         BIGINT  NOT NULL,
    outcome    TEXT    NOT NULL,
    reply_code INTEGER,
    PRIMARY KEY (message_id, attempt)
);
