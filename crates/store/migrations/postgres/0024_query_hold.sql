-- Legal holds on a query (issue 17, part 3). Never edited after landing.
--
-- An inquiry, a claim or a review may cover everyone a service worked with in a period, named or
-- not: such a hold keeps every record with a case in the service open at any time in the period,
-- and every record of the service made in it, while it is in force, whoever they are and however
-- many (new matches included). Its reason says why without naming anyone (it is about no one
-- record, so it is not sealed under a person's key). Released only by the Data Protection Officer,
-- with a reason; never deleted.
CREATE TABLE legal_hold_query (
    id              TEXT   PRIMARY KEY,
    organisation_id TEXT   NOT NULL REFERENCES organisation (id),
    service_id      TEXT   NOT NULL REFERENCES service (id),
    kind            TEXT   NOT NULL,
    from_on         TEXT   NOT NULL,
    to_on           TEXT   NOT NULL,
    from_at         BIGINT NOT NULL,
    to_at           BIGINT NOT NULL,
    reason          TEXT   NOT NULL,
    placed_by       TEXT   NOT NULL,
    placed_at       BIGINT NOT NULL,
    released_by     TEXT,
    released_at     BIGINT,
    release_reason  TEXT
);
CREATE INDEX legal_hold_query_service ON legal_hold_query (service_id, released_at);
CREATE INDEX legal_hold_query_organisation ON legal_hold_query (organisation_id, placed_at);
