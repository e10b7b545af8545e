-- Caseloads (issue 16). Never edited after landing.
--
-- A record number: short, per service, given in order of creation and never reused, so staff can
-- say and write it ("record 1042") where a 36-character id is no use. The service keeps the last
-- one given; a new person takes the next under the service row's lock.
ALTER TABLE service ADD COLUMN last_record_number BIGINT NOT NULL DEFAULT 0;
ALTER TABLE person ADD COLUMN record_number BIGINT;
UPDATE person SET record_number = (
    SELECT COUNT(*) FROM person q
    WHERE q.service_id = person.service_id
      AND (q.created_at < person.created_at OR (q.created_at = person.created_at AND q.id <= person.id))
);
UPDATE service SET last_record_number = (
    SELECT COALESCE(MAX(p.record_number), 0) FROM person p WHERE p.service_id = service.id
);
CREATE UNIQUE INDEX person_record_number ON person (service_id, record_number);

-- A key worker's caseload, and the service's caseloads per worker.
CREATE INDEX person_key_worker ON person (service_id, key_worker_id);
