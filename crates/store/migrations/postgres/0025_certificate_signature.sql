-- Signed certificates (issue 17, part 4). Never edited after landing.
--
-- A destruction certificate is signed as it is issued, in the destruction's transaction, with the
-- installation's audit signing key where the process holds it (`serve`, `confidant destroy`,
-- `confidant retention sweep`): Ed25519 over the body, and the key's public half. Never signed
-- later: a certificate written into the database by anything else stays unsigned.
ALTER TABLE destruction_certificate ADD COLUMN signature TEXT;
ALTER TABLE destruction_certificate ADD COLUMN public_key TEXT;
