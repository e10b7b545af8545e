-- Paper destroyed outside Confidant (issue 17, part 5). Never edited after landing.
--
-- A paper note or an archived paper file is shredded, or collected and destroyed by the archive
-- provider; whoever records it names who destroyed it and their reference (a destruction
-- certificate's number, a shredding log's entry), checked not to name the person. The entry's
-- status becomes `destroyed` in the same transaction. When the record itself is destroyed, these
-- lines are copied onto its certificate and deleted with the rest of it.
CREATE TABLE paper_destruction (
    id           TEXT   PRIMARY KEY,
    entry_id     TEXT   NOT NULL UNIQUE,
    person_id    TEXT   NOT NULL REFERENCES person (id),
    destroyed_by TEXT   NOT NULL,
    reference    TEXT   NOT NULL,
    destroyed_on TEXT   NOT NULL,
    recorded_by  TEXT   NOT NULL,
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX paper_destruction_person ON paper_destruction (person_id);
-- The task sweep's look-up of paper still to destroy, without reading every entry.
CREATE INDEX record_entry_paper ON record_entry (kind, due_at) WHERE kind = 'paper_note' OR kind = 'paper_file';
