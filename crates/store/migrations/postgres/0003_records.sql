-- The service-user record (PostgreSQL): service configuration, correction history, related people,
-- referrals with triage, cases, entries (notes, plans, goals, appointments, paper) and documents.
-- Never edited after landing. Ids are UUID text, times UTC microseconds since the Unix epoch.
-- Nothing identifying is stored in the clear: every value about a person is sealed (BYTEA), metadata
-- is ids, codes, flags (0 or 1) and times.

CREATE TABLE service_config (
    service_id         TEXT   PRIMARY KEY REFERENCES service (id),
    field_groups       TEXT   NOT NULL,
    referrals          TEXT   NOT NULL,
    partner_service_id TEXT   REFERENCES service (id),
    updated_at         BIGINT NOT NULL
);

-- Earlier values of sealed fields (a person's or an entry's), kept by corrections, still sealed with
-- the owner's key: crypto-shredding the owner makes them unreadable with everything else.
CREATE TABLE field_version (
    seq         BIGSERIAL PRIMARY KEY,
    record_id   TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    value       BYTEA    NOT NULL,
    key_version BIGINT  NOT NULL,
    changed_by  TEXT    NOT NULL,
    changed_at  BIGINT  NOT NULL
);
CREATE INDEX field_version_record ON field_version (record_id, seq);

-- Sealed fields of related people, referrals, entries and documents (record ids are unique UUIDs).
CREATE TABLE record_field (
    record_id TEXT NOT NULL,
    field     TEXT NOT NULL,
    value     BYTEA NOT NULL,
    PRIMARY KEY (record_id, field)
);

CREATE TABLE related_person (
    id               TEXT   PRIMARY KEY,
    person_id        TEXT   NOT NULL REFERENCES person (id),
    relationship     TEXT   NOT NULL,
    linked_person_id TEXT   REFERENCES person (id),
    key_version      BIGINT NOT NULL,
    created_by       TEXT   NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX related_person_person ON related_person (person_id);
CREATE INDEX related_person_linked ON related_person (linked_person_id, relationship);

CREATE TABLE referral (
    id                TEXT   PRIMARY KEY,
    service_id        TEXT   NOT NULL REFERENCES service (id),
    source            TEXT   NOT NULL,
    partner_person_id TEXT   REFERENCES person (id),
    state             TEXT   NOT NULL,
    received_at       BIGINT NOT NULL,
    last_contact_at   BIGINT,
    decided_at        BIGINT,
    person_id         TEXT   REFERENCES person (id),
    case_id           TEXT,
    key_version       BIGINT NOT NULL,
    created_by        TEXT   NOT NULL
);
CREATE INDEX referral_service ON referral (service_id, received_at);

CREATE TABLE triage_event (
    seq         BIGSERIAL PRIMARY KEY,
    referral_id TEXT    NOT NULL REFERENCES referral (id),
    state       TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL
);
CREATE INDEX triage_event_referral ON triage_event (referral_id, seq);

-- Blind indexes of an open referral's identifiers, for the duplicate check; erased with it.
CREATE TABLE referral_index (
    referral_id TEXT NOT NULL REFERENCES referral (id),
    service_id  TEXT NOT NULL,
    field       TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    PRIMARY KEY (referral_id, field)
);
CREATE INDEX referral_index_lookup ON referral_index (field, digest, service_id);

CREATE TABLE case_episode (
    id             TEXT   PRIMARY KEY,
    person_id      TEXT   NOT NULL REFERENCES person (id),
    service_id     TEXT   NOT NULL REFERENCES service (id),
    key_worker_id  TEXT   REFERENCES staff (id),
    opened_at      BIGINT NOT NULL,
    opened_by      TEXT   NOT NULL,
    closed_at      BIGINT,
    closed_by      TEXT,
    closure_reason TEXT
);
CREATE INDEX case_episode_person ON case_episode (person_id, opened_at);
-- At most one open case per person per service.
CREATE UNIQUE INDEX case_episode_one_open ON case_episode (person_id, service_id) WHERE closed_at IS NULL;

CREATE TABLE record_entry (
    id                     TEXT    PRIMARY KEY,
    person_id              TEXT    NOT NULL REFERENCES person (id),
    kind                   TEXT    NOT NULL,
    case_id                TEXT    REFERENCES case_episode (id),
    parent_id              TEXT    REFERENCES record_entry (id),
    contact_type           TEXT,
    occurs_at              BIGINT  NOT NULL,
    status                 TEXT,
    due_at                 BIGINT,
    third_party            BIGINT  NOT NULL DEFAULT 0,
    identifies_complainant BIGINT  NOT NULL DEFAULT 0,
    serious_harm           BIGINT  NOT NULL DEFAULT 0,
    author                 TEXT    NOT NULL,
    key_version            BIGINT  NOT NULL,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL
);
CREATE INDEX record_entry_person ON record_entry (person_id, kind, occurs_at);

CREATE TABLE document (
    id          TEXT    PRIMARY KEY,
    person_id   TEXT    NOT NULL REFERENCES person (id),
    media_type  TEXT    NOT NULL,
    size_bytes  BIGINT  NOT NULL,
    is_photo    BIGINT  NOT NULL DEFAULT 0,
    key_version BIGINT  NOT NULL,
    uploaded_by TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    content     BYTEA    NOT NULL
);
CREATE INDEX document_person ON document (person_id, created_at);
-- At most one photo per person: a new one replaces the old in the same transaction.
CREATE UNIQUE INDEX document_one_photo ON document (person_id) WHERE is_photo = 1;

-- Name search: keyed digests of name fragments (see core::name_index); replaced when a name changes,
-- deleted with the person's key.
CREATE TABLE person_name_gram (
    person_id  TEXT NOT NULL REFERENCES person (id),
    service_id TEXT NOT NULL,
    digest     BYTEA NOT NULL,
    PRIMARY KEY (person_id, digest)
);
CREATE INDEX person_name_gram_lookup ON person_name_gram (service_id, digest, person_id);
