-- Sharing (F4, R15 R18-R20, R31): the recipient register, consent purposes and the append-only
-- consent history, restrictions and objections, second-person approvals of extra categories, and
-- the disclosure log with exactly what each disclosure contained. Never edited after landing.
-- Ids are UUID text, times UTC microseconds since the Unix epoch. Free text about a person (reasons,
-- justifications, the disclosure package itself) is sealed with the person's key in `record_field`,
-- so erasing the person reaches it; the rows here hold ids, codes, flags and times only.

-- Who data may go to. Recipients are organisations, bodies or meetings, never individuals.
CREATE TABLE recipient (
    id               TEXT   PRIMARY KEY,
    organisation_id  TEXT   NOT NULL REFERENCES organisation (id),
    name             TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    outside_uk       INTEGER NOT NULL,
    categories       TEXT   NOT NULL,
    bases            TEXT   NOT NULL,
    consent_required INTEGER NOT NULL,
    partner_service_id TEXT REFERENCES service (id),
    dpa_starts_at    BIGINT,
    dpa_ends_at      BIGINT,
    created_by       TEXT   NOT NULL,
    updated_at       BIGINT NOT NULL,
    retired_at       BIGINT,
    UNIQUE (organisation_id, name)
);

-- A processor's staff work for that processor.
ALTER TABLE staff ADD COLUMN recipient_id TEXT REFERENCES recipient (id);

-- What a service asks consent for (its consent form), each naming the recipient it covers.
CREATE TABLE consent_purpose (
    id           TEXT   PRIMARY KEY,
    service_id   TEXT   NOT NULL REFERENCES service (id),
    code         TEXT   NOT NULL,
    label        TEXT   NOT NULL,
    recipient_id TEXT   REFERENCES recipient (id),
    explicit     INTEGER NOT NULL,
    form_version TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (service_id, code)
);

-- Every consent decision, never changed: the latest per person and purpose is the one that holds.
CREATE TABLE consent (
    id           TEXT   PRIMARY KEY,
    person_id    TEXT   NOT NULL REFERENCES person (id),
    purpose_id   TEXT   NOT NULL REFERENCES consent_purpose (id),
    state        TEXT   NOT NULL,
    form_version TEXT   NOT NULL,
    recorded_by  TEXT   NOT NULL,
    recorded_at  BIGINT NOT NULL,
    expires_at   BIGINT
);
CREATE INDEX consent_person ON consent (person_id, purpose_id, recorded_at);

-- Restriction of processing (Art. 18) and upheld objections (Art. 21), each until lifted.
CREATE TABLE person_restriction (
    id          TEXT   PRIMARY KEY,
    person_id   TEXT   NOT NULL REFERENCES person (id),
    kind        TEXT   NOT NULL,
    recorded_by TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    lifted_at   BIGINT,
    lifted_by   TEXT
);
CREATE INDEX person_restriction_person ON person_restriction (person_id);

-- A request to send categories beyond a recipient's set, with its justification (sealed, in
-- record_field) and the second person's decision. Used by at most one disclosure.
CREATE TABLE share_approval (
    id           TEXT   PRIMARY KEY,
    person_id    TEXT   NOT NULL REFERENCES person (id),
    recipient_id TEXT   NOT NULL REFERENCES recipient (id),
    categories   TEXT   NOT NULL,
    key_version  BIGINT NOT NULL,
    requested_by TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    used_by      TEXT
);
CREATE INDEX share_approval_person ON share_approval (person_id);

-- The disclosure log: one row per disclosure, with its items below. The package (sealed) and the
-- reasons (sealed) are in record_field under the disclosure's id.
CREATE TABLE disclosure (
    id            TEXT   PRIMARY KEY,
    person_id     TEXT   NOT NULL REFERENCES person (id),
    service_id    TEXT   NOT NULL REFERENCES service (id),
    recipient_id  TEXT   NOT NULL REFERENCES recipient (id),
    basis         TEXT   NOT NULL,
    article9      TEXT,
    schedule1     TEXT,
    categories    TEXT   NOT NULL,
    key_version   BIGINT NOT NULL,
    requested_by  TEXT   NOT NULL,
    approval_id   TEXT   REFERENCES share_approval (id),
    approved_by   TEXT,
    person_told   INTEGER NOT NULL,
    emergency     INTEGER NOT NULL,
    review_state  TEXT,
    reviewed_by   TEXT,
    package_hash  BYTEA   NOT NULL,
    shared_at     BIGINT NOT NULL,
    processor_staff_id TEXT REFERENCES staff (id),
    grant_id      TEXT,
    ends_at       BIGINT,
    ended_at      BIGINT
);
CREATE INDEX disclosure_person ON disclosure (person_id, shared_at);
CREATE INDEX disclosure_recipient ON disclosure (recipient_id, shared_at);

-- Exactly what a disclosure contained: person fields by code and record entries by id.
CREATE TABLE disclosure_item (
    disclosure_id TEXT NOT NULL REFERENCES disclosure (id),
    item_kind     TEXT NOT NULL,
    item          TEXT NOT NULL,
    PRIMARY KEY (disclosure_id, item_kind, item)
);

CREATE FUNCTION sharing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER consent_no_update BEFORE UPDATE OR DELETE ON consent
    FOR EACH ROW EXECUTE FUNCTION sharing_append_only();
CREATE TRIGGER disclosure_item_no_update BEFORE UPDATE OR DELETE ON disclosure_item
    FOR EACH ROW EXECUTE FUNCTION sharing_append_only();
CREATE TRIGGER disclosure_no_delete BEFORE DELETE ON disclosure
    FOR EACH ROW EXECUTE FUNCTION sharing_append_only();

-- Only a review, and the end of a processor's referral, change a disclosure afterwards.
CREATE FUNCTION disclosure_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.person_id, NEW.service_id, NEW.recipient_id, NEW.basis, NEW.article9,
        NEW.schedule1, NEW.categories, NEW.key_version, NEW.requested_by, NEW.approval_id,
        NEW.approved_by, NEW.person_told, NEW.emergency, NEW.package_hash, NEW.shared_at,
        NEW.processor_staff_id, NEW.grant_id, NEW.ends_at)
       IS DISTINCT FROM
       (OLD.id, OLD.person_id, OLD.service_id, OLD.recipient_id, OLD.basis, OLD.article9,
        OLD.schedule1, OLD.categories, OLD.key_version, OLD.requested_by, OLD.approval_id,
        OLD.approved_by, OLD.person_told, OLD.emergency, OLD.package_hash, OLD.shared_at,
        OLD.processor_staff_id, OLD.grant_id, OLD.ends_at) THEN
        RAISE EXCEPTION 'a disclosure changes only by review or the end of a referral';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER disclosure_fixed BEFORE UPDATE ON disclosure
    FOR EACH ROW EXECUTE FUNCTION disclosure_fixed();
