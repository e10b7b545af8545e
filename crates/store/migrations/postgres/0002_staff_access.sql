-- Staff sign-in, sessions, need-to-know scopes, training and access grants (PostgreSQL). Never edited after
-- landing. Ids are UUID text, times UTC microseconds since the Unix epoch.

-- How far a service's staff see: every person of the service, their team's, or their own caseload.
ALTER TABLE service ADD COLUMN access_scope TEXT NOT NULL DEFAULT 'service';

CREATE TABLE team (
    id         TEXT   PRIMARY KEY,
    service_id TEXT   NOT NULL REFERENCES service (id),
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (service_id, name)
);

ALTER TABLE staff ADD COLUMN team_id TEXT REFERENCES team (id);
ALTER TABLE person ADD COLUMN team_id TEXT REFERENCES team (id);
ALTER TABLE person ADD COLUMN key_worker_id TEXT REFERENCES staff (id);

-- Sign-in secrets. The TOTP secret is sealed with the staff member's own data key (data_key row owned
-- by the staff id), so it is never stored in the clear and key rotation re-wraps it with the rest.
CREATE TABLE staff_credential (
    staff_id            TEXT   PRIMARY KEY REFERENCES staff (id),
    password_hash       TEXT,
    password_changed_at BIGINT,
    totp_secret         BYTEA,
    totp_confirmed_at   BIGINT,
    totp_last_step      BIGINT,
    failed_attempts     BIGINT NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    updated_at          BIGINT NOT NULL
);

-- Failed sign-ins under user names that match no usable account, counted like an account's own, so
-- that lock-out answers the same whether or not the name exists. Keyed by a keyed digest of the
-- name, never the name itself.
CREATE TABLE sign_in_throttle (
    handle_digest   BYTEA   PRIMARY KEY,
    failed_attempts BIGINT NOT NULL,
    locked_until    BIGINT,
    updated_at      BIGINT NOT NULL
);

-- One-time recovery codes, stored as keyed digests (HMAC-SHA-256 under the index key).
CREATE TABLE recovery_code (
    staff_id  TEXT   NOT NULL REFERENCES staff (id),
    code_hash BYTEA   NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (staff_id, code_hash)
);

-- Server-side sessions: the cookie carries a random token, the database only its SHA-256.
CREATE TABLE staff_session (
    id               TEXT   PRIMARY KEY,
    token_hash       BYTEA   NOT NULL UNIQUE,
    staff_id         TEXT   NOT NULL REFERENCES staff (id),
    stage            TEXT   NOT NULL,
    csrf_token       TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    ended_at         BIGINT,
    end_reason       TEXT
);
CREATE INDEX staff_session_staff ON staff_session (staff_id, ended_at);

ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'read_write';
CREATE INDEX api_token_staff ON api_token (staff_id);

-- Training and policy acknowledgements; lapsed ones block access to personal data.
CREATE TABLE training_record (
    id           TEXT   PRIMARY KEY,
    staff_id     TEXT   NOT NULL REFERENCES staff (id),
    kind         TEXT   NOT NULL,
    completed_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    recorded_by  TEXT   NOT NULL,
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX training_record_staff ON training_record (staff_id, kind, expires_at);

-- Access beyond a role: break the glass (reviewed by the Caldicott Guardian), a trustee's granted
-- matter, a processor's referral. Free text is sealed with the person's data key.
CREATE TABLE access_grant (
    id           TEXT   PRIMARY KEY,
    kind         TEXT   NOT NULL,
    staff_id     TEXT   NOT NULL REFERENCES staff (id),
    person_id    TEXT   NOT NULL REFERENCES person (id),
    organisation_id TEXT NOT NULL REFERENCES organisation (id),
    reason       BYTEA,
    granted_by   TEXT   NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    revoked_at   BIGINT,
    review_state TEXT,
    reviewed_by  TEXT,
    reviewed_at  BIGINT,
    review_note  BYTEA
);
CREATE INDEX access_grant_lookup ON access_grant (staff_id, person_id, ends_at);
CREATE INDEX access_grant_review ON access_grant (organisation_id, kind, review_state);
