-- Merging two records of one person in a service (issue 16). Never edited after landing.
--
-- A merge keeps the surviving record and moves everything of the merged one into it, resealed under
-- the survivor's key; the merged record's key is then destroyed, so it stays only as this row (ids,
-- codes and times) and its audit trail. The consent history and the disclosure log are append-only:
-- the one change they allow besides their own is moving a row from a merged record to its survivor,
-- as recorded here (the merge moves every row in its transaction, and its key is gone after, so no
-- row of the merged record is left to move later). A disclosure's consent purpose is now fixed too.
CREATE TABLE person_merge (
    merged_id      TEXT   PRIMARY KEY REFERENCES person (id),
    surviving_id   TEXT   NOT NULL REFERENCES person (id),
    service_id     TEXT   NOT NULL REFERENCES service (id),
    confirmed_how  TEXT   NOT NULL,
    merged_by      TEXT   NOT NULL,
    merged_at      BIGINT NOT NULL,
    moved          TEXT   NOT NULL
);
CREATE INDEX person_merge_surviving ON person_merge (surviving_id, merged_at);
CREATE FUNCTION person_merge_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'person_merge is append-only: a merge is never changed';
END;
$$;
CREATE TRIGGER person_merge_no_update BEFORE UPDATE OR DELETE ON person_merge
    FOR EACH ROW EXECUTE FUNCTION person_merge_fixed();
CREATE TRIGGER person_merge_no_truncate BEFORE TRUNCATE ON person_merge
    FOR EACH STATEMENT EXECUTE FUNCTION person_merge_fixed();

-- Consent: deletes stay refused as before; an update only moves a row to a merge's survivor.
DROP TRIGGER consent_no_update ON consent;
CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent
    FOR EACH ROW EXECUTE FUNCTION sharing_append_only();
CREATE FUNCTION consent_merge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.purpose_id, NEW.state, NEW.form_version, NEW.recorded_by, NEW.recorded_at,
        NEW.expires_at)
       IS DISTINCT FROM
       (OLD.id, OLD.purpose_id, OLD.state, OLD.form_version, OLD.recorded_by, OLD.recorded_at,
        OLD.expires_at)
       OR NOT EXISTS (SELECT 1 FROM person_merge m
                      WHERE m.merged_id = OLD.person_id AND m.surviving_id = NEW.person_id) THEN
        RAISE EXCEPTION 'consent history is append-only';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
    FOR EACH ROW EXECUTE FUNCTION consent_merge_only();

-- A disclosure: a review, the end of a referral, or moving to a merge's survivor (person and key).
CREATE OR REPLACE FUNCTION disclosure_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.service_id, NEW.recipient_id, NEW.basis, NEW.article9,
        NEW.schedule1, NEW.categories, NEW.requested_by, NEW.approval_id,
        NEW.approved_by, NEW.person_told, NEW.emergency, NEW.package_hash, NEW.shared_at,
        NEW.processor_staff_id, NEW.grant_id, NEW.ends_at, NEW.consent_purpose_id)
       IS DISTINCT FROM
       (OLD.id, OLD.service_id, OLD.recipient_id, OLD.basis, OLD.article9,
        OLD.schedule1, OLD.categories, OLD.requested_by, OLD.approval_id,
        OLD.approved_by, OLD.person_told, OLD.emergency, OLD.package_hash, OLD.shared_at,
        OLD.processor_staff_id, OLD.grant_id, OLD.ends_at, OLD.consent_purpose_id)
       OR ((NEW.person_id, NEW.key_version) IS DISTINCT FROM (OLD.person_id, OLD.key_version)
           AND NOT EXISTS (SELECT 1 FROM person_merge m
                           WHERE m.merged_id = OLD.person_id AND m.surviving_id = NEW.person_id)) THEN
        RAISE EXCEPTION 'a disclosure changes only by review, the end of a referral or a merge';
    END IF;
    RETURN NEW;
END;
$$;
