-- The register is the one source (issue 15). Never edited after landing.
--
-- Organisations, services and recipients carry the code the register of processing activities names
-- them by: start-up finds them by it, never by name. A row without a code predates the register or
-- belongs to an organisation no register governs.
ALTER TABLE organisation ADD COLUMN code TEXT;
CREATE UNIQUE INDEX organisation_code ON organisation (code);
ALTER TABLE service ADD COLUMN code TEXT;
CREATE UNIQUE INDEX service_code ON service (code);
ALTER TABLE recipient ADD COLUMN code TEXT;
CREATE UNIQUE INDEX recipient_code ON recipient (organisation_id, code);

-- A consent purpose covers any number of recipients (one consent form line, several recipients),
-- and a purpose the register no longer has is retired: it unlocks nothing and leaves the form, while
-- the decisions recorded on it stay.
CREATE TABLE consent_purpose_recipient (
    purpose_id   TEXT NOT NULL REFERENCES consent_purpose (id),
    recipient_id TEXT NOT NULL REFERENCES recipient (id),
    PRIMARY KEY (purpose_id, recipient_id)
);
INSERT INTO consent_purpose_recipient (purpose_id, recipient_id)
    SELECT id, recipient_id FROM consent_purpose WHERE recipient_id IS NOT NULL;
ALTER TABLE consent_purpose ADD COLUMN retired_at BIGINT;

-- The consent purpose a disclosure relied on, where it relied on consent.
ALTER TABLE disclosure ADD COLUMN consent_purpose_id TEXT REFERENCES consent_purpose (id);

-- A trustee's matter (of a type the register names) opens the parts of the record it states: field
-- group codes and entry kinds. A flagged note is opened only with a reason (sealed with the
-- person's key, like the grant's own reason).
ALTER TABLE access_grant ADD COLUMN matter TEXT;
ALTER TABLE access_grant ADD COLUMN parts TEXT NOT NULL DEFAULT '';
ALTER TABLE access_grant ADD COLUMN flagged_reason BLOB;
