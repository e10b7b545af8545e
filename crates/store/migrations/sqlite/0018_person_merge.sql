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
CREATE TRIGGER person_merge_no_update BEFORE UPDATE ON person_merge
BEGIN SELECT RAISE(ABORT, 'person_merge is append-only: a merge is never changed'); END;
CREATE TRIGGER person_merge_no_delete BEFORE DELETE ON person_merge
BEGIN SELECT RAISE(ABORT, 'person_merge is append-only: a merge is never changed'); END;

DROP TRIGGER consent_no_update;
CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent
WHEN NEW.id IS NOT OLD.id OR NEW.purpose_id IS NOT OLD.purpose_id OR NEW.state IS NOT OLD.state
  OR NEW.form_version IS NOT OLD.form_version OR NEW.recorded_by IS NOT OLD.recorded_by
  OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.expires_at IS NOT OLD.expires_at
  OR NOT EXISTS (SELECT 1 FROM person_merge m
                 WHERE m.merged_id = OLD.person_id AND m.surviving_id = NEW.person_id)
BEGIN SELECT RAISE(ABORT, 'consent history is append-only'); END;

DROP TRIGGER disclosure_fixed;
CREATE TRIGGER disclosure_fixed BEFORE UPDATE ON disclosure
WHEN NEW.id IS NOT OLD.id OR NEW.service_id IS NOT OLD.service_id
  OR NEW.recipient_id IS NOT OLD.recipient_id
  OR NEW.basis IS NOT OLD.basis OR NEW.article9 IS NOT OLD.article9
  OR NEW.schedule1 IS NOT OLD.schedule1 OR NEW.categories IS NOT OLD.categories
  OR NEW.requested_by IS NOT OLD.requested_by
  OR NEW.approval_id IS NOT OLD.approval_id OR NEW.approved_by IS NOT OLD.approved_by
  OR NEW.person_told IS NOT OLD.person_told OR NEW.emergency IS NOT OLD.emergency
  OR NEW.package_hash IS NOT OLD.package_hash OR NEW.shared_at IS NOT OLD.shared_at
  OR NEW.processor_staff_id IS NOT OLD.processor_staff_id OR NEW.grant_id IS NOT OLD.grant_id
  OR NEW.ends_at IS NOT OLD.ends_at OR NEW.consent_purpose_id IS NOT OLD.consent_purpose_id
  OR ((NEW.person_id IS NOT OLD.person_id OR NEW.key_version IS NOT OLD.key_version)
      AND NOT EXISTS (SELECT 1 FROM person_merge m
                      WHERE m.merged_id = OLD.person_id AND m.surviving_id = NEW.person_id))
BEGIN SELECT RAISE(ABORT, 'a disclosure changes only by review, the end of a referral or a merge'); END;
