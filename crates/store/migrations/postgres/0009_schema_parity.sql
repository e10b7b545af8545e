-- Schema parity (PostgreSQL). Never edited after landing.
--
-- TRUNCATE skips row-level triggers, so the append-only tables of 0004 (consent history, the
-- disclosure log and what each disclosure contained) could still be emptied by a TRUNCATE, where on
-- SQLite (which has no TRUNCATE) deleting every row fires their delete triggers and is refused. The
-- audit log has refused TRUNCATE since 0001; these now do too. Found by the schema-parity test
-- (crates/store/tests/conformance/schema_parity.rs).
CREATE TRIGGER consent_no_truncate BEFORE TRUNCATE ON consent
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_append_only();
CREATE TRIGGER disclosure_no_truncate BEFORE TRUNCATE ON disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_append_only();
CREATE TRIGGER disclosure_item_no_truncate BEFORE TRUNCATE ON disclosure_item
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_append_only();
