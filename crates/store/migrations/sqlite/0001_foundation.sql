-- Confidant foundation schema (SQLite). Never edited after landing; changes come as new migrations,
-- for both backends at once. Ids are UUID text, times are UTC microseconds since the Unix epoch.

CREATE TABLE installation (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_id     TEXT    NOT NULL,
    wrapped_index_key BLOB    NOT NULL,
    created_at        BIGINT  NOT NULL
);

-- The audit chain's head, one row: every writing transaction updates it, which serialises appends.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BLOB   NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit_event (
    seq           BIGINT PRIMARY KEY,
    at            BIGINT NOT NULL,
    actor         TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_id   TEXT,
    subject_id    TEXT,
    purpose       TEXT   NOT NULL,
    outcome       TEXT   NOT NULL,
    prev_hash     BLOB   NOT NULL,
    hash          BLOB   NOT NULL
);
CREATE INDEX audit_event_subject ON audit_event (subject_id, seq);

-- Defence in depth: the chain detects tampering; these stop it through the ordinary interface.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE organisation (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE service (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    name            TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (organisation_id, name)
);

CREATE TABLE staff (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    service_id      TEXT   REFERENCES service (id),
    role            TEXT   NOT NULL,
    handle          TEXT   NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);

CREATE TABLE api_token (
    id         TEXT   PRIMARY KEY,
    staff_id   TEXT   NOT NULL REFERENCES staff (id),
    token_hash BLOB   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE person (
    id          TEXT   PRIMARY KEY,
    service_id  TEXT   NOT NULL REFERENCES service (id),
    key_version BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX person_service ON person (service_id, id);

-- Data keys, wrapped by the master key. Owners are people and (later) third parties, hence no
-- foreign key. Deleting a row crypto-shreds everything its owner sealed under it.
CREATE TABLE data_key (
    owner_id      TEXT   NOT NULL,
    version       BIGINT NOT NULL,
    master_key_id TEXT   NOT NULL,
    wrapped       BLOB   NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (owner_id, version)
);

-- One sealed value per person and catalogue field.
CREATE TABLE person_field (
    person_id TEXT NOT NULL REFERENCES person (id),
    field     TEXT NOT NULL,
    value     BLOB NOT NULL,
    PRIMARY KEY (person_id, field)
);

CREATE TABLE blind_index (
    person_id  TEXT NOT NULL REFERENCES person (id),
    service_id TEXT NOT NULL,
    field      TEXT NOT NULL,
    digest     BLOB NOT NULL,
    PRIMARY KEY (person_id, field)
);
CREATE INDEX blind_index_lookup ON blind_index (field, digest, service_id);
