//! The ports of people, their records, referrals, sharing, contact, notices and the audit chain.

use super::*;

/// People: their sealed fields, blind indexes, name grams, placement and keys, and each service's configuration.
pub trait PersonStore: Send + Sync + 'static {
    fn placement(
        &self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Option<Placement>, StoreError>> + Send;

    /// Puts a person in a team and/or gives them a key worker (`None` clears).
    fn assign_person(
        &self,
        access: &PersonAccess,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates a person; answers the record number the service gave them.
    fn create_person(
        &self,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The record and its live data key; `None` if there is no record or its key was destroyed (then
    /// nothing is written).
    fn read_person(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<(SealedPerson, WrappedDataKey)>, StoreError>> + Send;

    /// Applies field, index and (when given) name-gram changes, keeping each replaced or removed
    /// value (still sealed) in the correction history with `stamp`; `false` (and nothing written) if the record is gone, and
    /// `Conflict` if its `updated_at` is no longer `expected_updated_at_micros`.
    #[allow(clippy::too_many_arguments)]
    fn update_person(
        &self,
        access: &PersonAccess,
        fields: &[FieldChange],
        indexes: &[IndexChange],
        name_grams: Option<&[crate::name_index::GramDigest]>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The people of a service holding every one of `grams` (name search candidates), ordered by
    /// id, after `after`, at most `limit`, with only `fields` filled; and the id to read on after
    /// if there may be more (the last candidate of a full page, even one that has since gone).
    fn search_people_by_grams(
        &self,
        service_id: Uuid,
        grams: &[crate::name_index::GramDigest],
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<CandidatePage, StoreError>> + Send;

    /// One page of a service's people (ordered by id, after `after`), with only `fields` filled.
    fn list_people(
        &self,
        service_id: Uuid,
        fields: &[PersonField],
        after: Option<Uuid>,
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(SealedPerson, WrappedDataKey)>, StoreError>> + Send;

    /// Ids of a service's people whose blind index `field` equals `digest`.
    fn find_people(
        &self,
        service_id: Uuid,
        field: IndexField,
        digest: &[u8; 16],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// The people of a service holding any of these blind-index digests, ordered by id, each with
    /// the indexes that matched (in the order given): one read, recorded by one audit event.
    fn find_people_by_indexes(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(Uuid, Vec<IndexField>)>, StoreError>> + Send;

    fn service_config(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Option<ServiceConfig>, StoreError>> + Send;

    fn set_service_config(
        &self,
        config: &ServiceConfig,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The rest of a person's record: corrections, related people, cases, entries and documents.
pub trait RecordStore: Send + Sync + 'static {
    /// Earlier values of a record's sealed fields (a person's, or an entry's), oldest first.
    fn field_history(
        &self,
        record_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<FieldVersion>, StoreError>> + Send;

    fn add_related(
        &self,
        related: &RelatedRecord,
        fields: &SealedFields,
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's related people with their fields and live keys.
    fn related_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(RelatedRecord, SealedFields, WrappedDataKey)>, StoreError>>
    + Send;

    /// Opens a closed case of the person `access` reaches again, keeping its closing in the case's
    /// history (with who reopened it, when and why). `false` if there is no such closed case;
    /// `Conflict` if the person has another case open in the service.
    fn reopen_case(
        &self,
        case_id: Uuid,
        access: &PersonAccess,
        reason: ReopenReason,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The earlier closings of a case, oldest first: (closed at, closed by, why; reopened at,
    /// reopened by, why).
    fn case_reopenings(
        &self,
        case_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CaseReopening>, StoreError>> + Send;

    /// Changes a related person of the record `access` reaches: their relationship and sealed
    /// fields, each replaced value kept in the history (under their own key). `false` if there is
    /// no such related person of that record.
    fn update_related(
        &self,
        related_id: Uuid,
        access: &PersonAccess,
        relationship: Relationship,
        fields: &[SealedChange],
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes a related person from a record: their row, fields and key. `false` if there is none.
    fn remove_related(
        &self,
        related_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whether `person_id` is linked as an alleged perpetrator in the record `victim` reaches.
    fn is_alleged_perpetrator_in(
        &self,
        victim: &PersonAccess,
        person_id: Uuid,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Opens a case; `Conflict` if the person already has an open case in the service.
    fn open_case(
        &self,
        case: &CaseRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Closes an open case; `false` if it is not open.
    fn close_case(
        &self,
        case_id: Uuid,
        reason: ClosureReason,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn case(
        &self,
        case_id: Uuid,
    ) -> impl Future<Output = Result<Option<CaseRecord>, StoreError>> + Send;

    /// A person's cases, newest first (metadata: ids, dates and codes), audited in the same
    /// transaction.
    fn cases_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<CaseRecord>, StoreError>> + Send;

    fn create_entry(
        &self,
        entry: &EntryRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes an entry's status, due date and sealed fields, keeping each replaced value in the
    /// history; `Conflict` if it changed since `expected_updated_at_micros`, `false` if it is gone.
    #[allow(clippy::too_many_arguments)]
    fn update_entry(
        &self,
        entry_id: Uuid,
        status: Option<EntryStatus>,
        due_at_micros: Option<i64>,
        fields: &[SealedChange],
        reason: Option<CorrectionReason>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks one of the person's entries as entered in error; `false` if there is no such entry of
    /// theirs, or it is marked already.
    fn mark_entry_in_error(
        &self,
        access: &PersonAccess,
        entry_id: Uuid,
        error: &EntryError,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The earlier values of a person's entries of these kinds (their sealed fields' history),
    /// oldest first, recording the read.
    fn entry_history(
        &self,
        access: &PersonAccess,
        kinds: &[crate::field::RecordKind],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<FieldVersion>, StoreError>> + Send;

    /// A person's entries of these kinds, newest first by `occurs_at`, with their sealed fields.
    fn entries_of(
        &self,
        access: &PersonAccess,
        kinds: &[crate::field::RecordKind],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(EntryRecord, SealedFields)>, StoreError>> + Send;

    /// The id and kind of each of a person's entries (no values), for counting them.
    fn entry_kinds(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(Uuid, crate::field::RecordKind)>, StoreError>> + Send;

    /// Paper entries of a service that are still held (not destroyed), soonest due first (metadata).
    fn paper_register(
        &self,
        service_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<EntryRecord>, StoreError>> + Send;

    /// Stores a document (or replaces the person's photo) with its sealed content, in one
    /// transaction: there is never a partial one.
    fn add_document(
        &self,
        document: &DocumentRecord,
        content: &[u8],
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's documents (metadata and sealed fields; no content), newest first.
    fn documents_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<(DocumentRecord, SealedFields)>, StoreError>> + Send;

    /// What a person's overview shows, read in one transaction, and `audit` (one event per part
    /// read) recorded as the accesses it was for; `None` if there is no record or its key was
    /// destroyed (then nothing is recorded).
    fn person_overview(
        &self,
        access: &PersonAccess,
        parts: OverviewParts<'_>,
        audit: Vec<AuditDraft>,
    ) -> impl Future<Output = Result<Option<OverviewRows>, StoreError>> + Send;

    /// One document of a person with its sealed fields and content, for moving it (the read is
    /// audited with `audit`).
    fn sealed_document(
        &self,
        document_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<(DocumentRecord, SealedFields, Vec<u8>)>, StoreError>> + Send;

    /// Moves a document from the record `from` reaches to the record `to` reaches, resealed under
    /// that person's key (`key_version`, `fields`, `content`), with an event on each record
    /// (`audits`), in one transaction. `false` if the document is not (or no longer) `from`'s, or
    /// either person's live key (`from_key_version`, `key_version`) is gone: an erasure or a
    /// rotation came first.
    #[allow(clippy::too_many_arguments)]
    fn move_document(
        &self,
        document_id: Uuid,
        from: &PersonAccess,
        from_key_version: i64,
        to: &PersonAccess,
        key_version: i64,
        fields: &SealedFields,
        content: &[u8],
        audits: Vec<AuditDraft>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One document of a person with its sealed content.
    fn read_document(
        &self,
        document_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Option<(DocumentRecord, Vec<u8>)>, StoreError>> + Send;
}

/// Referrals into a service and their triage.
pub trait ReferralStore: Send + Sync + 'static {
    fn create_referral(
        &self,
        referral: &ReferralRecord,
        fields: &SealedFields,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A referral's metadata (nothing identifying; not audited).
    fn referral(
        &self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Option<ReferralRecord>, StoreError>> + Send;

    /// A service's referrals, newest first, with the fields named in `fields` and their live keys
    /// (none for an erased referral).
    fn referrals(
        &self,
        service_id: Uuid,
        open_only: bool,
        fields: &[&str],
        limit: u32,
        audit: AuditDraft,
    ) -> impl Future<
        Output = Result<Vec<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError>,
    > + Send;

    fn read_referral(
        &self,
        referral_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<
        Output = Result<Option<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError>,
    > + Send;

    fn triage_events(
        &self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Vec<TriageEvent>, StoreError>> + Send;

    /// Moves a referral from `from` to `to` (recording the step); `false` (nothing written) if it is
    /// no longer in `from` or `from` may not become `to` ([`TriageState::may_become`]): so of
    /// racing callers one moves it and the rest get `false`. Contact attempted sets the last contact; an outcome sets the decision
    /// time. Declining also erases what was received: the sealed fields, blind indexes and key.
    fn move_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        to: TriageState,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Accepts a referral still in `from`: creates the person (with their key and indexes) and opens
    /// their case, in one transaction. `false` (nothing written) if it moved meanwhile or `from` is
    /// not open: a referral is accepted once, however many callers race for it.
    #[allow(clippy::too_many_arguments)]
    fn accept_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        case: &CaseRecord,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// People of a service and its open referrals with any of these blind-index digests: possible
    /// duplicates, found without decrypting anything. `except` leaves out the asking referral.
    fn duplicate_candidates(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        except: Option<Uuid>,
    ) -> impl Future<Output = Result<(Vec<Uuid>, Vec<Uuid>), StoreError>> + Send;
}

/// The recipient register, consent, restrictions, approvals and the disclosure log.
pub trait SharingStore: Send + Sync + 'static {
    /// Adds a recipient, or changes it (same id). A name already used in the organisation is a
    /// conflict.
    fn save_recipient(
        &self,
        recipient: &RecipientRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn recipient(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RecipientRecord>, StoreError>> + Send;

    /// The organisation's recipients, by name.
    fn recipients(
        &self,
        organisation_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RecipientRecord>, StoreError>> + Send;

    /// Makes a processor's worker work for that processor (`None`: for none).
    fn set_staff_recipient(
        &self,
        staff_id: Uuid,
        recipient_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn staff_recipient(
        &self,
        staff_id: Uuid,
    ) -> impl Future<Output = Result<Option<Uuid>, StoreError>> + Send;

    /// Adds a consent purpose to a service's form, or changes one (label, recipients, explicitness,
    /// form version, retirement) with the same id, service and code; a code already used there by
    /// another line is a conflict.
    fn save_consent_purpose(
        &self,
        purpose: &ConsentPurposeRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn consent_purposes(
        &self,
        service_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ConsentPurposeRecord>, StoreError>> + Send;

    /// Appends a consent decision (the history is never changed).
    fn add_consent(
        &self,
        consent: &ConsentRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's consent history, oldest first.
    fn consents_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<ConsentRecord>, StoreError>> + Send;

    /// Records a restriction or upheld objection; `Conflict` if one of that kind is already in force
    /// for the person (so of racing callers one records it).
    fn add_restriction(
        &self,
        restriction: &RestrictionRecord,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lifts a live restriction of this person; false if there is none with that id.
    fn lift_restriction(
        &self,
        id: Uuid,
        access: &PersonAccess,
        lifted_by: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn restrictions_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<RestrictionRecord>, StoreError>> + Send;

    /// Saves a request for approval with its sealed justification.
    fn create_approval(
        &self,
        approval: &ApprovalRecord,
        justification: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Decides a pending request; false if it is not this person's or not pending.
    fn decide_approval(
        &self,
        id: Uuid,
        access: &PersonAccess,
        state: ApprovalState,
        decided_by: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn approval(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(ApprovalRecord, SealedFields)>, StoreError>> + Send;

    /// A person's approval requests, newest first.
    fn approvals_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<ApprovalRecord>, StoreError>> + Send;

    /// Writes a disclosure, what it contained, its sealed package and reasons, the processor's
    /// grant it opens (if any) and its audit event, in one transaction. An approval it uses is
    /// marked used in the same transaction; an approval already used is a conflict, and so is a
    /// person whose consent or restrictions no longer match `expected` (the rules' view). A
    /// message sending the package (if asked) is queued in the same transaction too.
    #[allow(clippy::too_many_arguments)]
    fn record_disclosure(
        &self,
        expected: SharingState,
        disclosure: &DisclosureRecord,
        items: &[DisclosedItem],
        sealed: &SealedFields,
        grant: Option<&GrantRecord>,
        message: Option<&crate::message::QueuedMessage>,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A person's disclosures, newest first.
    fn disclosures_of(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// A recipient's disclosures, newest first.
    fn disclosures_to(
        &self,
        recipient_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// Disclosures flagged for review (emergencies) in an organisation, oldest first.
    fn disclosures_to_review(
        &self,
        organisation_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<DisclosureRecord>, StoreError>> + Send;

    /// One disclosure with its items and its sealed package and reasons.
    fn disclosure(
        &self,
        id: Uuid,
    ) -> impl Future<
        Output = Result<Option<(DisclosureRecord, Vec<DisclosedItem>, SealedFields)>, StoreError>,
    > + Send;

    /// Ends a processor's referral: the disclosure's `ended_at` and its grant's revocation.
    fn end_disclosure(
        &self,
        id: Uuid,
        access: &PersonAccess,
        at_micros: i64,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Signs off (or escalates) a disclosure flagged for review.
    fn review_disclosure(
        &self,
        id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The ids of a person's entries of these kinds, each with whether it is flagged as
    /// identifying a complainant or as could cause serious harm (no values: for checking a share).
    fn entry_flags(
        &self,
        access: &PersonAccess,
        kinds: &[crate::field::RecordKind],
    ) -> impl Future<Output = Result<Vec<(Uuid, bool)>, StoreError>> + Send;

    /// The recipients that received any of these fields of the person (any of their data at all
    /// when `fields` is empty), from the disclosure log.
    fn recipients_of(
        &self,
        access: &PersonAccess,
        fields: &[&str],
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
}

/// Contact preferences and the message outbox.
pub trait ContactStore: Send + Sync + 'static {
    /// Records a new set of contact preferences (a new row; earlier ones stay) with its sealed code
    /// word, if any.
    fn set_contact_preferences(
        &self,
        preferences: &crate::contact::ContactPreferenceRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The person's current preferences: codes and flags only, nothing sealed (not audited, like
    /// [`Store::placement`]; the checks that use it are part of an audited action).
    fn contact_preferences(
        &self,
        access: &PersonAccess,
    ) -> impl Future<Output = Result<Option<crate::contact::ContactPreferenceRecord>, StoreError>> + Send;

    /// Every set of the person's preferences with its sealed fields, newest first.
    fn contact_preference_history(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<
        Output = Result<Vec<(crate::contact::ContactPreferenceRecord, SealedFields)>, StoreError>,
    > + Send;

    /// Puts a message in the outbox with its sealed address and body.
    fn queue_message(
        &self,
        message: &crate::message::MessageRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The message sending a disclosure's package, with its delivery log (oldest attempt first).
    fn message_of_disclosure(
        &self,
        disclosure_id: Uuid,
    ) -> impl Future<
        Output = Result<
            Option<(
                crate::message::MessageRecord,
                Vec<crate::message::AttemptRecord>,
            )>,
            StoreError,
        >,
    > + Send;

    /// A person's messages with their delivery log (oldest attempt first), newest message first.
    fn messages_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> impl Future<
        Output = Result<
            Vec<(
                crate::message::MessageRecord,
                Vec<crate::message::AttemptRecord>,
            )>,
            StoreError,
        >,
    > + Send;

    /// Messages due for an attempt at `now_micros` (queued ones; also texts waiting for a transport
    /// when `texts_sendable`), oldest first, at most `limit`. Ids and codes only.
    fn due_messages(
        &self,
        now_micros: i64,
        texts_sendable: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::message::MessageRecord>, StoreError>> + Send;

    /// Claims a due message for one attempt (pushes its next attempt to `lease_until_micros`) if it
    /// still has `expected_attempts`, and gives its sealed address and body; `None` if another
    /// sender got there first or it is no longer due.
    fn claim_message(
        &self,
        message_id: Uuid,
        expected_attempts: i64,
        now_micros: i64,
        lease_until_micros: i64,
    ) -> impl Future<Output = Result<Option<SealedFields>, StoreError>> + Send;

    /// Logs one attempt (numbered after the last one logged) and moves the message to `state` with `attempts` counted.
    fn record_attempt(
        &self,
        attempt: &crate::message::AttemptRecord,
        state: crate::message::MessageState,
        attempts: i64,
        next_attempt_at_micros: Option<i64>,
        finished_at_micros: Option<i64>,
        audit: Option<AuditDraft>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Published privacy notices.
pub trait NoticeStore: Send + Sync + 'static {
    /// A service's notice versions, newest first.
    fn notice_versions(
        &self,
        service_code: &str,
    ) -> impl Future<Output = Result<Vec<NoticeVersion>, StoreError>> + Send;

    /// Publishes a new version; a version number already taken is a conflict.
    fn publish_notice(
        &self,
        version: &NoticeVersion,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The ids of a service's people (no values): whom to tell of a new notice.
    fn people_ids_of_service(
        &self,
        service_id: Uuid,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
}

/// A page of name search candidates, and the id to read on after if there may be more.
pub type CandidatePage = (Vec<(SealedPerson, WrappedDataKey)>, Option<Uuid>);

/// The audit chain: appending, reading, verifying and checkpoints.
pub trait AuditStore: Send + Sync + 'static {
    /// Appends a standalone event and answers it once it is durable (group commit: it shares one
    /// transaction and one disk commit with the events waiting at the same moment). For what must
    /// be recorded before something outside the answer happens (a message leaves, a checkpoint).
    fn append_audit(
        &self,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<AuditEvent, StoreError>> + Send;

    /// Records a read or a refusal whose only effect is the answer being made: inside
    /// [`Self::answer_when_audited`] it joins the request's batch, appended before the answer is
    /// handed back; outside one it is appended at once, as [`Self::append_audit`]. Either way it is
    /// durable before anything it read can be shown.
    fn record_access(
        &self,
        audit: AuditDraft,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs `work` (a request) so that its recorded accesses are appended together in one batch
    /// when it ends, and answers its output only once they are durable; if they cannot be appended
    /// the output is dropped and the error answered.
    fn answer_when_audited<F>(
        &self,
        work: F,
    ) -> impl Future<Output = Result<F::Output, StoreError>> + Send
    where
        F: Future + Send,
        F::Output: Send;

    /// Events with `seq >= from_seq` in sequence order, at most `limit`.
    fn audit_events(
        &self,
        from_seq: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;

    /// The head as recorded beside the chain (sequence number and hash), if any event exists. A head
    /// row that was deleted is a backend error here; verification reads [`Store::recorded_audit_head`].
    fn audit_head(&self) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// The head row as it is, a deleted one included, so that verification can give a verdict on it.
    fn recorded_audit_head(
        &self,
    ) -> impl Future<Output = Result<crate::audit::RecordedHead, StoreError>> + Send;

    /// Events about one person, newest first (for "who has seen this record").
    fn audit_events_for_subject(
        &self,
        subject_id: Uuid,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}
