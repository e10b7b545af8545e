-- Correcting the record (issue 16). Never edited after landing.
--
-- Why an earlier value was replaced (a code: a typing mistake, a wrong detail, something missing,
-- the person's request), beside who replaced it and when. Earlier corrections have none.
ALTER TABLE field_version ADD COLUMN reason TEXT;

-- A case note marked as entered in error stays in the record, shown struck through with who marked
-- it, when and why (a code); it is no longer changed or shared.
ALTER TABLE record_entry ADD COLUMN error_at BIGINT;
ALTER TABLE record_entry ADD COLUMN error_by TEXT;
ALTER TABLE record_entry ADD COLUMN error_reason TEXT;
