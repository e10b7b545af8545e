-- Keeping and destroying (issue 17): legal holds, and the destruction of a person's record with its
-- certificate. Never edited after landing.
--
-- A legal hold keeps a person's record from destruction until the Data Protection Officer releases
-- it. Its reasons are sealed in record_field under the person's key (a reason may name people); the
-- row itself is ids, codes and times, and outlives a destroyed person (no foreign key on person_id).
CREATE TABLE legal_hold (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    service_id      TEXT   NOT NULL REFERENCES service (id),
    person_id       TEXT   NOT NULL,
    case_id         TEXT,
    kind            TEXT   NOT NULL,
    key_version     BIGINT NOT NULL,
    placed_by       TEXT   NOT NULL,
    placed_at       BIGINT NOT NULL,
    released_by     TEXT,
    released_at     BIGINT
);
CREATE INDEX legal_hold_person ON legal_hold (person_id, released_at);

-- Everyone destroyed: pseudonymous ids and times only, append-only. While a person's id is here,
-- the append-only histories (consent, the disclosure log and what it held, merges) let their rows
-- go: destruction is the one change they allow besides their own.
CREATE TABLE person_destruction (
    person_id      TEXT   PRIMARY KEY,
    certificate_id TEXT   NOT NULL,
    destroyed_at   BIGINT NOT NULL
);
CREATE TRIGGER person_destruction_no_update BEFORE UPDATE ON person_destruction
BEGIN SELECT RAISE(ABORT, 'person_destruction is append-only'); END;
CREATE TRIGGER person_destruction_no_delete BEFORE DELETE ON person_destruction
BEGIN SELECT RAISE(ABORT, 'person_destruction is append-only'); END;

-- A destruction certificate: canonical JSON of ids, codes, counts, times and the reason given, with
-- its SHA-256; written in the destruction's transaction, beside its audit event. Append-only.
CREATE TABLE destruction_certificate (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    issued_at       BIGINT NOT NULL,
    body            TEXT   NOT NULL,
    body_sha256     TEXT   NOT NULL
);
CREATE INDEX destruction_certificate_issued ON destruction_certificate (organisation_id, issued_at);
CREATE TRIGGER destruction_certificate_no_update BEFORE UPDATE ON destruction_certificate
BEGIN SELECT RAISE(ABORT, 'a destruction certificate never changes'); END;
CREATE TRIGGER destruction_certificate_no_delete BEFORE DELETE ON destruction_certificate
BEGIN SELECT RAISE(ABORT, 'a destruction certificate never changes'); END;

DROP TRIGGER consent_no_delete;
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
WHEN NOT EXISTS (SELECT 1 FROM person_destruction x WHERE x.person_id = OLD.person_id)
BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END;

DROP TRIGGER disclosure_no_delete;
CREATE TRIGGER disclosure_no_delete BEFORE DELETE ON disclosure
WHEN NOT EXISTS (SELECT 1 FROM person_destruction x WHERE x.person_id = OLD.person_id)
BEGIN SELECT RAISE(ABORT, 'the disclosure log is append-only'); END;

DROP TRIGGER disclosure_item_no_delete;
CREATE TRIGGER disclosure_item_no_delete BEFORE DELETE ON disclosure_item
WHEN NOT EXISTS (SELECT 1 FROM disclosure d JOIN person_destruction x ON x.person_id = d.person_id
                 WHERE d.id = OLD.disclosure_id)
BEGIN SELECT RAISE(ABORT, 'what a disclosure contained never changes'); END;

DROP TRIGGER person_merge_no_delete;
CREATE TRIGGER person_merge_no_delete BEFORE DELETE ON person_merge
WHEN NOT EXISTS (SELECT 1 FROM person_destruction x WHERE x.person_id IN (OLD.merged_id, OLD.surviving_id))
BEGIN SELECT RAISE(ABORT, 'person_merge is append-only: a merge is never changed'); END;
