-- Caseloads (issue 16). Never edited after landing.
--
-- A record number: short, per service, given in order of creation and never reused, so staff can
-- say and write it ("record 1042") where a 36-character id is no use. A table of its own keeps the
-- last one given in each service: a new person takes the next under that row's lock, which no
-- other change of the service takes (so it never waits on the service's row).
CREATE TABLE service_record_number (
    service_id  TEXT   PRIMARY KEY REFERENCES service (id),
    last_number BIGINT NOT NULL
);
ALTER TABLE person ADD COLUMN record_number BIGINT;
UPDATE person SET record_number = (
    SELECT COUNT(*) FROM person q
    WHERE q.service_id = person.service_id
      AND (q.created_at < person.created_at OR (q.created_at = person.created_at AND q.id <= person.id))
);
INSERT INTO service_record_number (service_id, last_number)
    SELECT service_id, MAX(record_number) FROM person GROUP BY service_id;
CREATE UNIQUE INDEX person_record_number ON person (service_id, record_number);

-- A key worker's caseload, and the service's caseloads per worker.
CREATE INDEX person_key_worker ON person (service_id, key_worker_id);
