-- Sending a shared package by secure email (issue 16, part 8). Never edited after landing.
--
-- A recipient's secure email address is the organisation's own (a team's secure mailbox), not a
-- person's: it is kept in the clear on its row, from the register (`secure_email`) or the register
-- page. A message the outbox sends to a recipient names the disclosure whose package it carries
-- (at most one message per disclosure); its address and text are sealed under the person's key as
-- every outbox message's are, and the package is read from the disclosure at delivery.
ALTER TABLE recipient ADD COLUMN secure_email TEXT;
ALTER TABLE message ADD COLUMN disclosure_id TEXT REFERENCES disclosure (id);
CREATE UNIQUE INDEX message_disclosure ON message (disclosure_id);
