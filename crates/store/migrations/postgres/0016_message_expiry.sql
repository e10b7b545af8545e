-- A message that no longer makes sense after a moment (a reminder, after its appointment).
-- Never edited after landing.
--
-- The outbox gives up on a message whose turn comes at or after this time instead of sending it
-- (a reminder of yesterday's appointment only confuses, and may worry, the person who gets it).
ALTER TABLE message ADD COLUMN expires_at BIGINT;
