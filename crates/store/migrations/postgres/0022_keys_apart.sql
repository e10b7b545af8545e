-- Keys apart from data (issue 17, part 6). Never edited after landing.
--
-- The wrapped data keys now live in the key store, a database of its own (`vault.rs`); data_key
-- stays as their registry (owner, version, the master key that wrapped it). Before this runs, the
-- store copies every wrapped key of an existing installation into the key store. PostgreSQL keeps
-- the dropped column's bytes in the table's pages until they are rewritten: an upgraded
-- installation runs `VACUUM FULL data_key` once (docs/operations.md).
ALTER TABLE data_key DROP COLUMN wrapped;

-- A registry row deleted (destruction, erasure, merge, re-key) queues its key's deletion from the
-- key store, done after the commit or at the next start.
CREATE TABLE retired_key (
    owner_id TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (owner_id, version)
);
CREATE FUNCTION data_key_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_key (owner_id, version) VALUES (OLD.owner_id, OLD.version)
        ON CONFLICT DO NOTHING;
    RETURN OLD;
END;
$$;
CREATE TRIGGER data_key_retired AFTER DELETE ON data_key
    FOR EACH ROW EXECUTE FUNCTION data_key_retired();

-- Records erased on their own (a declined referral, a related person removed): with everyone in
-- person_destruction, the erasure ledger's list (`ledger.rs`), which a restored backup replays.
-- Ids and times only; append-only.
CREATE TABLE record_erasure (
    record_id TEXT   PRIMARY KEY,
    erased_at BIGINT NOT NULL
);
CREATE TRIGGER record_erasure_no_update BEFORE UPDATE ON record_erasure
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER record_erasure_no_delete BEFORE DELETE ON record_erasure
    FOR EACH ROW EXECUTE FUNCTION keeping_append_only();
CREATE TRIGGER record_erasure_no_truncate BEFORE TRUNCATE ON record_erasure
    FOR EACH STATEMENT EXECUTE FUNCTION keeping_append_only();
