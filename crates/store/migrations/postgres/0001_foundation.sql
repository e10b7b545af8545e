-- Confidant foundation schema (PostgreSQL). Never edited after landing; changes come as new migrations,
-- for both backends at once. Ids are UUID text, times are UTC microseconds since the Unix epoch.

CREATE TABLE installation (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_id     TEXT    NOT NULL,
    wrapped_index_key BYTEA    NOT NULL,
    created_at        BIGINT  NOT NULL
);

-- The audit chain's head, one row: every writing transaction updates it, which serialises appends.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA   NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

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
    prev_hash     BYTEA   NOT NULL,
    hash          BYTEA   NOT NULL
);
CREATE INDEX audit_event_subject ON audit_event (subject_id, seq);

-- Defence in depth: the chain detects tampering; these stop it through the ordinary interface.
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

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
    token_hash BYTEA   NOT NULL UNIQUE,
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
    wrapped       BYTEA   NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (owner_id, version)
);

-- One sealed value per person and catalogue field.
CREATE TABLE person_field (
    person_id TEXT NOT NULL REFERENCES person (id),
    field     TEXT NOT NULL,
    value     BYTEA NOT NULL,
    PRIMARY KEY (person_id, field)
);

CREATE TABLE blind_index (
    person_id  TEXT NOT NULL REFERENCES person (id),
    service_id TEXT NOT NULL,
    field      TEXT NOT NULL,
    digest     BYTEA NOT NULL,
    PRIMARY KEY (person_id, field)
);
CREATE INDEX blind_index_lookup ON blind_index (field, digest, service_id);
