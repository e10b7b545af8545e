//! The columns each record is selected with, and the readers that turn a row into the record.

use super::*;

pub(crate) fn service_config_from_row(row: &AnyRow) -> Result<ServiceConfig, StoreError> {
    let groups: String = row.col("field_groups")?;
    Ok(ServiceConfig {
        service_id: id(row, "service_id")?,
        field_groups: FieldGroups::parse(&groups)
            .map_err(|_| StoreError::Backend("unknown field group code".to_owned()))?,
        referrals: coded(
            row,
            "referrals",
            ReferralPolicy::from_code,
            "referral policy",
        )?,
        partner_service_id: opt_id(row, "partner_service_id")?,
    })
}

pub(crate) fn field_version_from_row(row: &AnyRow) -> Result<FieldVersion, StoreError> {
    Ok(FieldVersion {
        record_id: id(row, "record_id")?,
        field: row.col("field")?,
        value: row.col("value")?,
        key_version: row.col("key_version")?,
        changed_by: row.col("changed_by")?,
        changed_at_micros: row.col("changed_at")?,
        reason: opt_coded(
            row,
            "reason",
            CorrectionReason::from_code,
            "correction reason",
        )?,
    })
}

/// The live key of a record beside it (`owner_id, version, master_key_id, wrapped` of a LEFT JOIN),
/// `None` if it was erased.
pub(crate) fn opt_key_from_row(row: &AnyRow) -> Result<Option<WrappedDataKey>, StoreError> {
    match opt_id(row, "owner_id")? {
        Some(_) => wrapped_key_from_row(row).map(Some),
        None => Ok(None),
    }
}

pub(crate) const RELATED_WITH_KEY: &str = "SELECT r.id, r.person_id, r.relationship, r.linked_person_id, r.key_version, r.created_by, \
     r.created_at, k.owner_id, k.version, k.master_key_id \
     FROM related_person r JOIN data_key k ON k.owner_id = r.id AND k.version = r.key_version";

pub(crate) fn related_from_row(row: &AnyRow) -> Result<RelatedRecord, StoreError> {
    Ok(RelatedRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        relationship: coded(row, "relationship", Relationship::from_code, "relationship")?,
        linked_person_id: opt_id(row, "linked_person_id")?,
        key_version: row.col("key_version")?,
        created_by: row.col("created_by")?,
        created_at_micros: row.col("created_at")?,
    })
}

pub(crate) const REFERRAL_COLUMNS: &str = "r.id, r.service_id, r.source, r.partner_person_id, r.state, r.received_at, \
     r.last_contact_at, r.decided_at, r.person_id, r.case_id, r.key_version, r.created_by";

/// A referral with its live key, if it still has one.
pub(crate) const REFERRAL_WITH_KEY: &str = "SELECT r.id, r.service_id, r.source, r.partner_person_id, r.state, r.received_at, \
     r.last_contact_at, r.decided_at, r.person_id, r.case_id, r.key_version, r.created_by, \
     k.owner_id, k.version, k.master_key_id \
     FROM referral r LEFT JOIN data_key k ON k.owner_id = r.id AND k.version = r.key_version";

pub(crate) fn referral_from_row(row: &AnyRow) -> Result<ReferralRecord, StoreError> {
    Ok(ReferralRecord {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        source: coded(row, "source", ReferralSource::from_code, "referral source")?,
        partner_person_id: opt_id(row, "partner_person_id")?,
        state: coded(row, "state", TriageState::from_code, "triage state")?,
        received_at_micros: row.col("received_at")?,
        last_contact_at_micros: row.col("last_contact_at")?,
        decided_at_micros: row.col("decided_at")?,
        person_id: opt_id(row, "person_id")?,
        case_id: opt_id(row, "case_id")?,
        key_version: row.col("key_version")?,
        created_by: row.col("created_by")?,
    })
}

/// A referral, its sealed fields (only `only`, all when empty) and its live key; no fields without a
/// key.
pub(crate) async fn referral_with_fields(
    tx: &mut Transaction<'static, Any>,
    row: &AnyRow,
    only: &[&str],
) -> Result<(ReferralRecord, SealedFields, Option<WrappedDataKey>), StoreError> {
    let referral = referral_from_row(row)?;
    let key = opt_key_from_row(row)?;
    let mut fields = match key {
        Some(_) => record_fields(tx, referral.id).await?,
        None => Vec::new(),
    };
    if !only.is_empty() {
        fields.retain(|(code, _)| only.contains(&code.as_str()));
    }
    Ok((referral, fields, key))
}

pub(crate) const CASE_COLUMNS: &str = "id, person_id, service_id, key_worker_id, opened_at, opened_by, closed_at, closed_by, \
     closure_reason";

pub(crate) fn case_from_row(row: &AnyRow) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        service_id: id(row, "service_id")?,
        key_worker_id: opt_id(row, "key_worker_id")?,
        opened_at_micros: row.col("opened_at")?,
        opened_by: row.col("opened_by")?,
        closed_at_micros: row.col("closed_at")?,
        closed_by: row.col("closed_by")?,
        closure_reason: opt_coded(
            row,
            "closure_reason",
            ClosureReason::from_code,
            "closure reason",
        )?,
    })
}

pub(crate) const ENTRY_COLUMNS: &str = "e.id, e.person_id, e.kind, e.case_id, e.parent_id, e.contact_type, e.occurs_at, e.status, \
     e.due_at, e.third_party, e.identifies_complainant, e.serious_harm, e.author, e.key_version, e.created_at, \
     e.updated_at, e.error_at, e.error_by, e.error_reason";

pub(crate) fn entry_from_row(row: &AnyRow) -> Result<EntryRecord, StoreError> {
    Ok(EntryRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        kind: coded(row, "kind", RecordKind::from_code, "record kind")?,
        case_id: opt_id(row, "case_id")?,
        parent_id: opt_id(row, "parent_id")?,
        contact_type: opt_coded(row, "contact_type", ContactType::from_code, "contact type")?,
        occurs_at_micros: row.col("occurs_at")?,
        status: opt_coded(row, "status", EntryStatus::from_code, "entry status")?,
        due_at_micros: row.col("due_at")?,
        flags: NoteFlags {
            third_party: flag(row, "third_party")?,
            identifies_complainant: flag(row, "identifies_complainant")?,
            serious_harm: flag(row, "serious_harm")?,
        },
        author: row.col("author")?,
        key_version: row.col("key_version")?,
        created_at_micros: row.col("created_at")?,
        updated_at_micros: row.col("updated_at")?,
        in_error: match (
            row.col::<Option<i64>>("error_at")?,
            row.col::<Option<String>>("error_by")?,
            opt_coded(row, "error_reason", ErrorReason::from_code, "error reason")?,
        ) {
            (Some(at_micros), Some(by), Some(reason)) => Some(EntryError {
                by,
                at_micros,
                reason,
            }),
            (None, None, None) => None,
            // Half a mark is no mark to trust, nor to ignore.
            _ => {
                return Err(StoreError::Backend(
                    "an entry's entered-in-error mark is incomplete".to_owned(),
                ));
            }
        },
    })
}

pub(crate) const DOCUMENT_COLUMNS: &str = "d.id, d.person_id, d.media_type, d.size_bytes, d.is_photo, d.key_version, d.uploaded_by, \
     d.created_at";

pub(crate) fn document_from_row(row: &AnyRow) -> Result<DocumentRecord, StoreError> {
    Ok(DocumentRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        media_type: row.col("media_type")?,
        size_bytes: row.col("size_bytes")?,
        is_photo: flag(row, "is_photo")?,
        key_version: row.col("key_version")?,
        uploaded_by: row.col("uploaded_by")?,
        created_at_micros: row.col("created_at")?,
    })
}
