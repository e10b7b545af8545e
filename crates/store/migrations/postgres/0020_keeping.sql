-- Keeping and destroying (issue 17): legal holds, and the destruction of a person's record with its
-- certificate. Never edited after landing. (The SQLite migration of the same number explains the
-- tables.)
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

CREATE TABLE person_destruction (
    person_id      TEXT   PRIMARY KEY,
    certificate_id TEXT   NOT NULL,
    destroyed_at   BIGINT NOT NULL
);
CREATE FUNCTION keeping_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER person_destruction_no_update BEFORE UPDATE ON person_destruction
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER person_destruction_no_delete BEFORE DELETE ON person_destruction
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER person_destruction_no_truncate BEFORE TRUNCATE ON person_destruction
    FOR EACH STATEMENT EXECUTE FUNCTION keeping_append_only();

CREATE TABLE destruction_certificate (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    issued_at       BIGINT NOT NULL,
    body            TEXT   NOT NULL,
    body_sha256     TEXT   NOT NULL
);
CREATE INDEX destruction_certificate_issued ON destruction_certificate (organisation_id, issued_at);
CREATE TRIGGER destruction_certificate_no_update BEFORE UPDATE ON destruction_certificate
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER destruction_certificate_no_delete BEFORE DELETE ON destruction_certificate
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER destruction_certificate_no_truncate BEFORE TRUNCATE ON destruction_certificate
    FOR EACH STATEMENT EXECUTE FUNCTION keeping_append_only();

-- Deleting from an append-only history is refused unless its person is being destroyed (their id
-- is in person_destruction, written first in the destruction's transaction).
CREATE FUNCTION delete_only_in_destruction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'disclosure_item' THEN
        IF EXISTS (SELECT 1 FROM disclosure d JOIN person_destruction x ON x.person_id = d.person_id
                   WHERE d.id = OLD.disclosure_id) THEN
            RETURN OLD;
        END IF;
    ELSIF TG_TABLE_NAME = 'person_merge' THEN
        IF EXISTS (SELECT 1 FROM person_destruction x
                   WHERE x.person_id IN (OLD.merged_id, OLD.surviving_id)) THEN
            RETURN OLD;
        END IF;
    ELSIF EXISTS (SELECT 1 FROM person_destruction x WHERE x.person_id = OLD.person_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

DROP TRIGGER consent_no_delete ON consent;
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
    FOR EACH ROW EXECUTE FUNCTION delete_only_in_destruction();

DROP TRIGGER disclosure_no_delete ON disclosure;
CREATE TRIGGER disclosure_no_delete BEFORE DELETE ON disclosure
    FOR EACH ROW EXECUTE FUNCTION delete_only_in_destruction();

DROP TRIGGER disclosure_item_no_update ON disclosure_item;
CREATE TRIGGER disclosure_item_no_update BEFORE UPDATE ON disclosure_item
    FOR EACH ROW EXECUTE FUNCTION sharing_append_only();
CREATE TRIGGER disclosure_item_no_delete BEFORE DELETE ON disclosure_item
    FOR EACH ROW EXECUTE FUNCTION delete_only_in_destruction();

DROP TRIGGER person_merge_no_update ON person_merge;
CREATE TRIGGER person_merge_no_update BEFORE UPDATE ON person_merge
    FOR EACH ROW EXECUTE FUNCTION person_merge_fixed();
CREATE TRIGGER person_merge_no_delete BEFORE DELETE ON person_merge
    FOR EACH ROW EXECUTE FUNCTION delete_only_in_destruction();
