//! The ports of the installation, staff, accounts and grants.

use super::*;

/// The installation's keys: the master key's id, the wrapped index key and every person's wrapped data key.
pub trait KeyStore: Send + Sync + 'static {
    fn installation_keys(
        &self,
    ) -> impl Future<Output = Result<Option<InstallationKeys>, StoreError>> + Send;

    /// Records the installation's keys once; `Conflict` if already initialised.
    fn initialise_keys(
        &self,
        keys: &InstallationKeys,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn wrapped_data_keys(
        &self,
    ) -> impl Future<Output = Result<Vec<WrappedDataKey>, StoreError>> + Send;

    /// Replaces every wrapped key at once. `Conflict` unless the stored master key id is
    /// `old_master_key_id` and `rewrapped` covers every stored data key.
    fn rotate_master_key(
        &self,
        old_master_key_id: &str,
        keys: &InstallationKeys,
        rewrapped: &[WrappedDataKey],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Organisations, services, teams, staff accounts and their training.
pub trait StaffStore: Send + Sync + 'static {
    fn create_organisation(
        &self,
        organisation: &Organisation,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn organisations(&self) -> impl Future<Output = Result<Vec<Organisation>, StoreError>> + Send;

    fn organisation(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Organisation>, StoreError>> + Send;

    fn create_service(
        &self,
        service: &Service,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives an organisation from before the register, and those of its services named in it, the
    /// register's codes, in one transaction with its audit event; only rows without a code yet.
    fn adopt_organisation(
        &self,
        organisation_id: Uuid,
        code: &str,
        services: &[(Uuid, String)],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Renames a service (its register code and id stay); `false` if there is no such service.
    fn rename_service(
        &self,
        service_id: Uuid,
        name: &str,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn service(&self, id: Uuid)
    -> impl Future<Output = Result<Option<Service>, StoreError>> + Send;

    fn services(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Service>, StoreError>> + Send;

    fn create_staff(
        &self,
        staff: &StaffRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn staff_by_handle(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<StaffRecord>, StoreError>> + Send;

    fn staff(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<StaffRecord>, StoreError>> + Send;

    /// Every member of an organisation's staff, disabled ones included, by handle.
    fn staff_of(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<StaffRecord>, StoreError>> + Send;

    /// Disables an account: ends its sessions and revokes its tokens in the same transaction.
    /// `false` if it was already disabled or does not exist.
    fn disable_staff(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn set_staff_team(
        &self,
        staff_id: Uuid,
        team_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets an account's display name, job title and team, in one change.
    fn set_staff_details(
        &self,
        staff_id: Uuid,
        details: &StaffDetails,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn create_team(
        &self,
        team: &Team,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn team(&self, id: Uuid) -> impl Future<Output = Result<Option<Team>, StoreError>> + Send;

    fn teams(&self, service_id: Uuid)
    -> impl Future<Output = Result<Vec<Team>, StoreError>> + Send;

    fn service_scope(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Option<AccessScope>, StoreError>> + Send;

    fn set_service_scope(
        &self,
        service_id: Uuid,
        scope: AccessScope,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn add_training(
        &self,
        record: &TrainingRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every training record of the staff of an organisation (or of one member when `staff_id` is
    /// given), newest first.
    fn training_records(
        &self,
        organisation_id: Uuid,
        staff_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Vec<TrainingRecord>, StoreError>> + Send;

    /// The kinds a member of staff holds unexpired at `now_micros`.
    fn current_training(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<TrainingKind>, StoreError>> + Send;
}

/// Signing in: credentials, the lock-out throttle, recovery codes, sessions and API tokens.
pub trait AccountStore: Send + Sync + 'static {
    fn credential(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Writes the whole credential row (insert or replace), optionally a new data key for the staff
    /// member (sealing their TOTP secret) and a change of recovery codes, with the audit event.
    fn save_credential(
        &self,
        credential: &Credential,
        new_key: Option<&WrappedDataKey>,
        recovery: &RecoveryCodes,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Failed sign-ins under a user name with no usable account: (failures, locked until).
    fn sign_in_throttle(
        &self,
        handle_digest: &[u8; 32],
    ) -> impl Future<Output = Result<Option<(i64, Option<i64>)>, StoreError>> + Send;

    /// Counts one more failed sign-in under a user name with no usable account, atomically, and sets
    /// the lock `lock_after` gives for the new count (never shortening one in force), with the audit
    /// event. Returns the lock's end, if any.
    fn record_unknown_failure(
        &self,
        handle_digest: &[u8; 32],
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Counts one failed step against an account atomically (parallel failures all count) and sets
    /// the lock `lock_after` gives for the new count, never shortening one in force. Appends
    /// `failure`, or `lockout` when a lock is set. Returns the lock's end, if any.
    fn record_failure(
        &self,
        staff_id: Uuid,
        at_micros: i64,
        lock_after: &(dyn Fn(i64) -> Option<i64> + Sync),
        failure: AuditDraft,
        lockout: AuditDraft,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Records a passed second factor and clears the failure count. With a TOTP `step`, only if it is
    /// later than the last step used: `false` (nothing written) for a replayed code.
    fn second_factor_passed(
        &self,
        staff_id: Uuid,
        step: Option<i64>,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Confirms a pending two-factor enrolment with its first step, clears the failure count and
    /// replaces the recovery codes; `false` (nothing written) if it was already confirmed.
    fn confirm_enrolment(
        &self,
        staff_id: Uuid,
        step: i64,
        at_micros: i64,
        recovery_codes: &[[u8; 32]],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks an unused recovery code used; `false` if there is no such unused code.
    fn use_recovery_code(
        &self,
        staff_id: Uuid,
        code_hash: &[u8; 32],
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn unused_recovery_codes(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The live data key of a member of staff (it seals their own secrets), if any; never another
    /// owner's key, whatever id it is given.
    fn staff_key(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Option<WrappedDataKey>, StoreError>> + Send;

    /// The live data key of the person `access` reaches, if any (none once it is destroyed).
    fn person_key(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Option<WrappedDataKey>, StoreError>> + Send;

    /// Creates a session; if `replaces` is given, that session ends in the same transaction (a new
    /// token at every step of sign-in, so a token seen before sign-in is worth nothing after), and
    /// `Conflict` if it had already ended.
    fn create_session(
        &self,
        session: &SessionRecord,
        replaces: Option<Uuid>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session a token's hash stands for, with its member of staff, their organisation's name
    /// and the training they hold unexpired at `now_micros` (as [`StaffStore::current_training`]).
    fn session_by_token(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> impl Future<Output = Result<Option<SessionRow>, StoreError>> + Send;

    /// Records activity (not audited: it is not an access to personal data).
    fn touch_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a fresh password check (unlock after idling, re-authentication).
    fn reauthenticate_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn end_session(
        &self,
        session_id: Uuid,
        at_micros: i64,
        reason: &'static str,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends every live session of a member of staff but `except` (the one making the change, if
    /// any) and revokes every API token of theirs, in one transaction: what follows a password or
    /// second factor changing hands. Returns how many sessions ended.
    fn end_sessions_of(
        &self,
        staff_id: Uuid,
        except: Option<Uuid>,
        at_micros: i64,
        reason: &'static str,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn live_sessions_of(
        &self,
        staff_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    fn issue_token(
        &self,
        token: &ApiTokenRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A live (unexpired, unrevoked) token and its enabled owner.
    fn token_owner(
        &self,
        token_hash: &[u8; 32],
        now_micros: i64,
    ) -> impl Future<Output = Result<Option<(ApiTokenRecord, StaffRecord)>, StoreError>> + Send;

    fn tokens_of(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ApiTokenRecord>, StoreError>> + Send;

    /// Revokes one of `staff_id`'s tokens; `false` if there was no such live token.
    fn revoke_token(
        &self,
        token_id: Uuid,
        staff_id: Uuid,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Access grants: break-the-glass, a trustee's matter, a processor's referral.
pub trait GrantStore: Send + Sync + 'static {
    fn create_grant(
        &self,
        grant: &GrantRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The kinds of unrevoked grants `staff_id` holds on `person_id` at `now_micros`.
    fn live_grants(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<Grant>, StoreError>> + Send;

    /// The unrevoked grants `staff_id` holds on `person_id` at `now_micros`, whole (a trustee's
    /// matter with the parts it opens).
    fn live_grant_records(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
        now_micros: i64,
    ) -> impl Future<Output = Result<Vec<GrantRecord>, StoreError>> + Send;

    fn grant(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send;

    /// An organisation's grants of one kind, newest first; only pending reviews if `pending_only`.
    fn grants_of(
        &self,
        organisation_id: Uuid,
        kind: Grant,
        pending_only: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<GrantRecord>, StoreError>> + Send;

    /// Records a review decision on a pending grant (an escalation also ends the access at once);
    /// `false` if it is not pending any more.
    fn review_grant(
        &self,
        grant_id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        at_micros: i64,
        note: Option<&[u8]>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
