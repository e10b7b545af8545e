-- Access requests' bundles (issue 18, part 3). Never edited after landing.
--
-- What an access request's search found, each item by where it comes from and its id (a field's
-- code, an entry's id …), why it was flagged, what was proposed (withhold, under which
-- exemption) and what the reviewer decided with the legal reason, a health professional's opinion
-- where one is needed, the second check and the release (its disclosure log entry). Ids, codes
-- and days only: the content stays in the record, sealed there; `digest` is a keyed digest of the
-- item as it was reviewed (the installation's index key), so a change before release is seen. It goes with the person's record
-- when that is destroyed. `version` is bumped by every change.
CREATE TABLE rights_bundle (
    request_id    TEXT    PRIMARY KEY REFERENCES rights_request (id),
    compiled_by   TEXT    NOT NULL,
    compiled_at   BIGINT  NOT NULL,
    manifest      TEXT    NOT NULL,
    checked_by    TEXT,
    checked_at    BIGINT,
    released_by   TEXT,
    released_at   BIGINT,
    disclosure_id TEXT,
    version       BIGINT  NOT NULL
);

CREATE TABLE rights_bundle_item (
    request_id        TEXT    NOT NULL REFERENCES rights_bundle (request_id),
    position          BIGINT  NOT NULL,
    source            TEXT    NOT NULL,
    reference         TEXT    NOT NULL,
    digest            TEXT    NOT NULL,
    flags             TEXT    NOT NULL,
    proposed_withhold BIGINT  NOT NULL,
    exemption         TEXT,
    locked            BIGINT  NOT NULL,
    decision          TEXT,
    reason            TEXT,
    opinion_on        TEXT,
    opinion_by        TEXT,
    decided_by        TEXT,
    decided_at        BIGINT,
    PRIMARY KEY (request_id, position)
);
