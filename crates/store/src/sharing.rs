//! The sharing stores (migration 4): the recipient register, consent purposes and history,
//! restrictions, second-person approvals and the disclosure log. Same SQL on both backends.

use super::*;
use confidant_core::audit::AuditDraft;
use confidant_core::store::{
    ApprovalRecord, ApprovalState, Article9Condition, ConsentPurposeRecord, ConsentRecord,
    ConsentState, DisclosedItem, DisclosureRecord, GrantRecord, LawfulBasis, RecipientKind,
    RecipientRecord, RestrictionKind, RestrictionRecord, ReviewState, Schedule1Condition,
    SealedFields, SharingState, StoreError,
};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{
    SqlStore, append, change_audited, coded, commit, flag, hash32, id, insert_audited,
    insert_fields, insert_grant, opt_coded, opt_id, record_fields,
};

mod disclosure;
use disclosure::*;

fn join_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    codes.into_iter().collect::<Vec<_>>().join(",")
}

fn split_codes(row: &AnyRow, column: &str) -> Result<Vec<String>, StoreError> {
    let text: String = row.col(column)?;
    Ok(text
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect())
}

const RECIPIENT_COLUMNS: &str = "id, organisation_id, code, name, kind, outside_uk, categories, bases, \
     consent_required, partner_service_id, dpa_starts_at, dpa_ends_at, created_by, updated_at, retired_at, secure_email";

fn recipient_from_row(row: &AnyRow) -> Result<RecipientRecord, StoreError> {
    let bases = split_codes(row, "bases")?
        .iter()
        .map(|c| {
            LawfulBasis::from_code(c)
                .ok_or_else(|| StoreError::Backend("unknown lawful basis code".to_owned()))
        })
        .collect::<Result<_, _>>()?;
    Ok(RecipientRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        code: row.col("code")?,
        name: row.col("name")?,
        kind: coded(row, "kind", RecipientKind::from_code, "recipient kind")?,
        outside_uk: flag(row, "outside_uk")?,
        categories: split_codes(row, "categories")?,
        bases,
        consent_required: flag(row, "consent_required")?,
        partner_service_id: opt_id(row, "partner_service_id")?,
        dpa_starts_at_micros: row.col("dpa_starts_at")?,
        dpa_ends_at_micros: row.col("dpa_ends_at")?,
        secure_email: row.col("secure_email")?,
        created_by: row.col("created_by")?,
        updated_at_micros: row.col("updated_at")?,
        retired_at_micros: row.col("retired_at")?,
    })
}

pub(super) async fn save_recipient(
    store: &SqlStore,
    r: &RecipientRecord,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let bases = join_codes(r.bases.iter().map(|b| b.code()));
    let categories = join_codes(r.categories.iter().map(String::as_str));
    let done = sqlx::query(
        "INSERT INTO recipient (id, organisation_id, name, kind, outside_uk, categories, bases, consent_required, \
         partner_service_id, dpa_starts_at, dpa_ends_at, created_by, updated_at, retired_at, code, secure_email) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, code = excluded.code, kind = excluded.kind, \
         outside_uk = excluded.outside_uk, categories = excluded.categories, bases = excluded.bases, \
         consent_required = excluded.consent_required, partner_service_id = excluded.partner_service_id, \
         dpa_starts_at = excluded.dpa_starts_at, dpa_ends_at = excluded.dpa_ends_at, \
         updated_at = excluded.updated_at, retired_at = excluded.retired_at, \
         secure_email = excluded.secure_email \
         WHERE recipient.organisation_id = excluded.organisation_id",
    )
    .bind(r.id.to_string())
    .bind(r.organisation_id.to_string())
    .bind(&r.name)
    .bind(r.kind.code())
    .bind(i64::from(r.outside_uk))
    .bind(categories)
    .bind(bases)
    .bind(i64::from(r.consent_required))
    .bind(r.partner_service_id.map(|s| s.to_string()))
    .bind(r.dpa_starts_at_micros)
    .bind(r.dpa_ends_at_micros)
    .bind(&r.created_by)
    .bind(r.updated_at_micros)
    .bind(r.retired_at_micros)
    .bind(r.code.as_deref())
    .bind(r.secure_email.as_deref())
    .execute(&mut *tx)
    .await
    .or_conflict("a recipient of that name is already in the register")?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict("that recipient belongs elsewhere"));
    }
    append(&mut tx, &audit).await?;
    commit(tx).await
}

pub(super) async fn recipient(
    store: &SqlStore,
    id: Uuid,
) -> Result<Option<RecipientRecord>, StoreError> {
    store
        .read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {RECIPIENT_COLUMNS} FROM recipient WHERE id = $1"
            )),
            id,
            recipient_from_row,
        )
        .await
}

pub(super) async fn recipients(
    store: &SqlStore,
    organisation_id: Uuid,
) -> Result<Vec<RecipientRecord>, StoreError> {
    store
        .read_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {RECIPIENT_COLUMNS} FROM recipient WHERE organisation_id = $1 ORDER BY name"
            )),
            organisation_id,
            recipient_from_row,
        )
        .await
}

pub(super) async fn set_staff_recipient(
    store: &SqlStore,
    staff_id: Uuid,
    recipient_id: Option<Uuid>,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let change = sqlx::query("UPDATE staff SET recipient_id = $1 WHERE id = $2")
        .bind(recipient_id.map(|r| r.to_string()))
        .bind(staff_id.to_string());
    if change_audited(store, change, audit).await? {
        Ok(())
    } else {
        Err(StoreError::Conflict("no such staff account"))
    }
}

pub(super) async fn staff_recipient(
    store: &SqlStore,
    staff_id: Uuid,
) -> Result<Option<Uuid>, StoreError> {
    let recipient = store
        .read_optional(
            "SELECT recipient_id FROM staff WHERE id = $1",
            staff_id,
            |row| opt_id(row, "recipient_id"),
        )
        .await?;
    Ok(recipient.flatten())
}

fn purpose_from_row(row: &AnyRow) -> Result<ConsentPurposeRecord, StoreError> {
    Ok(ConsentPurposeRecord {
        id: id(row, "id")?,
        service_id: id(row, "service_id")?,
        code: row.col("code")?,
        label: row.col("label")?,
        recipient_ids: Vec::new(),
        explicit: flag(row, "explicit")?,
        form_version: row.col("form_version")?,
        created_at_micros: row.col("created_at")?,
        retired_at_micros: row.col("retired_at")?,
    })
}

/// Adds a line to a service's consent form, or changes one (its label, recipients, explicitness,
/// form version, or retirement), with its audit event in the same transaction. A line's service
/// and code never change.
pub(super) async fn save_consent_purpose(
    store: &SqlStore,
    p: &ConsentPurposeRecord,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let done = sqlx::query(
        "INSERT INTO consent_purpose (id, service_id, code, label, explicit, form_version, created_at, retired_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET label = excluded.label, explicit = excluded.explicit, \
         form_version = excluded.form_version, retired_at = excluded.retired_at \
         WHERE consent_purpose.service_id = excluded.service_id AND consent_purpose.code = excluded.code",
    )
    .bind(p.id.to_string())
    .bind(p.service_id.to_string())
    .bind(&p.code)
    .bind(&p.label)
    .bind(i64::from(p.explicit))
    .bind(&p.form_version)
    .bind(p.created_at_micros)
    .bind(p.retired_at_micros)
    .execute(&mut *tx)
    .await
    .or_conflict("that consent purpose is already on the service's form")?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(
            "that consent purpose belongs elsewhere",
        ));
    }
    sqlx::query("DELETE FROM consent_purpose_recipient WHERE purpose_id = $1")
        .bind(p.id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
    for r in &p.recipient_ids {
        sqlx::query(
            "INSERT INTO consent_purpose_recipient (purpose_id, recipient_id) VALUES ($1, $2)",
        )
        .bind(p.id.to_string())
        .bind(r.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
    }
    append(&mut tx, &audit).await?;
    commit(tx).await
}

pub(super) async fn consent_purposes(
    store: &SqlStore,
    service_id: Uuid,
) -> Result<Vec<ConsentPurposeRecord>, StoreError> {
    let mut purposes = store
        .read_all(
            "SELECT id, service_id, code, label, explicit, form_version, created_at, retired_at \
             FROM consent_purpose WHERE service_id = $1 ORDER BY created_at, code",
            service_id,
            purpose_from_row,
        )
        .await?;
    let links = store
        .read_all(
            "SELECT l.purpose_id, l.recipient_id FROM consent_purpose_recipient l \
             JOIN consent_purpose p ON p.id = l.purpose_id WHERE p.service_id = $1 \
             ORDER BY l.recipient_id",
            service_id,
            |row| Ok((id(row, "purpose_id")?, id(row, "recipient_id")?)),
        )
        .await?;
    for (purpose, recipient) in links {
        if let Some(p) = purposes.iter_mut().find(|p| p.id == purpose) {
            p.recipient_ids.push(recipient);
        }
    }
    Ok(purposes)
}

fn consent_from_row(row: &AnyRow) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        purpose_id: id(row, "purpose_id")?,
        state: coded(row, "state", ConsentState::from_code, "consent state")?,
        form_version: row.col("form_version")?,
        recorded_by: row.col("recorded_by")?,
        recorded_at_micros: row.col("recorded_at")?,
        expires_at_micros: row.col("expires_at")?,
    })
}

pub(super) async fn add_consent(
    store: &SqlStore,
    c: &ConsentRecord,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO consent (id, person_id, purpose_id, state, form_version, recorded_by, recorded_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id.to_string())
    .bind(c.person_id.to_string())
    .bind(c.purpose_id.to_string())
    .bind(c.state.code())
    .bind(&c.form_version)
    .bind(&c.recorded_by)
    .bind(c.recorded_at_micros)
    .bind(c.expires_at_micros);
    insert_audited(store, insert, "that consent is already recorded", audit).await
}

pub(super) async fn consents_of(
    store: &SqlStore,
    person_id: Uuid,
) -> Result<Vec<ConsentRecord>, StoreError> {
    store.read_all("SELECT id, person_id, purpose_id, state, form_version, recorded_by, recorded_at, expires_at \
         FROM consent WHERE person_id = $1 ORDER BY recorded_at, id", person_id, consent_from_row).await
}

pub(super) async fn add_restriction(
    store: &SqlStore,
    r: &RestrictionRecord,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO person_restriction (id, person_id, kind, recorded_by, started_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.id.to_string())
    .bind(r.person_id.to_string())
    .bind(r.kind.code())
    .bind(&r.recorded_by)
    .bind(r.started_at_micros);
    // The one live restriction (or objection) per person is a partial unique index (0008), so of
    // racing callers one records it and the rest get the conflict.
    insert_audited(store, insert, "that is already in force", audit).await
}

pub(super) async fn lift_restriction(
    store: &SqlStore,
    id: Uuid,
    person_id: Uuid,
    lifted_by: &str,
    at_micros: i64,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let change = sqlx::query(
        "UPDATE person_restriction SET lifted_at = $1, lifted_by = $2 \
         WHERE id = $3 AND person_id = $4 AND lifted_at IS NULL",
    )
    .bind(at_micros)
    .bind(lifted_by)
    .bind(id.to_string())
    .bind(person_id.to_string());
    change_audited(store, change, audit).await
}

pub(super) async fn restrictions_of(
    store: &SqlStore,
    person_id: Uuid,
) -> Result<Vec<RestrictionRecord>, StoreError> {
    store
        .read_all(
            "SELECT id, person_id, kind, recorded_by, started_at, lifted_at, lifted_by \
             FROM person_restriction WHERE person_id = $1 ORDER BY started_at, id",
            person_id,
            restriction_from_row,
        )
        .await
}

fn restriction_from_row(row: &AnyRow) -> Result<RestrictionRecord, StoreError> {
    Ok(RestrictionRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        kind: coded(row, "kind", RestrictionKind::from_code, "restriction kind")?,
        recorded_by: row.col("recorded_by")?,
        started_at_micros: row.col("started_at")?,
        lifted_at_micros: row.col("lifted_at")?,
        lifted_by: row.col("lifted_by")?,
    })
}

const APPROVAL_COLUMNS: &str = "id, person_id, recipient_id, categories, key_version, requested_by, \
     requested_at, state, decided_by, decided_at, used_by";

fn approval_from_row(row: &AnyRow) -> Result<ApprovalRecord, StoreError> {
    Ok(ApprovalRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        recipient_id: id(row, "recipient_id")?,
        categories: split_codes(row, "categories")?,
        key_version: row.col("key_version")?,
        requested_by: row.col("requested_by")?,
        requested_at_micros: row.col("requested_at")?,
        state: coded(row, "state", ApprovalState::from_code, "approval state")?,
        decided_by: row.col("decided_by")?,
        decided_at_micros: row.col("decided_at")?,
        used_by: opt_id(row, "used_by")?,
    })
}

pub(super) async fn create_approval(
    store: &SqlStore,
    a: &ApprovalRecord,
    justification: &SealedFields,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO share_approval (id, person_id, recipient_id, categories, key_version, requested_by, requested_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id.to_string())
    .bind(a.person_id.to_string())
    .bind(a.recipient_id.to_string())
    .bind(join_codes(a.categories.iter().map(String::as_str)))
    .bind(a.key_version)
    .bind(&a.requested_by)
    .bind(a.requested_at_micros)
    .bind(a.state.code())
    .execute(&mut *tx)
    .await
    .db()?;
    insert_fields(&mut tx, a.id, justification).await?;
    append(&mut tx, &audit).await?;
    commit(tx).await
}

pub(super) async fn decide_approval(
    store: &SqlStore,
    id: Uuid,
    person_id: Uuid,
    state: ApprovalState,
    decided_by: &str,
    at_micros: i64,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let change = sqlx::query(
        "UPDATE share_approval SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND person_id = $5 AND state = 'pending'",
    )
    .bind(state.code())
    .bind(decided_by)
    .bind(at_micros)
    .bind(id.to_string())
    .bind(person_id.to_string());
    change_audited(store, change, audit).await
}

pub(super) async fn approval(
    store: &SqlStore,
    approval_id: Uuid,
) -> Result<Option<(ApprovalRecord, SealedFields)>, StoreError> {
    let mut tx = store.pool.begin().await.db()?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APPROVAL_COLUMNS} FROM share_approval WHERE id = $1"
    )))
    .bind(approval_id.to_string())
    .fetch_optional(&mut *tx)
    .await
    .db()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let record = approval_from_row(&row)?;
    let fields = record_fields(&mut tx, record.id).await?;
    commit(tx).await?;
    Ok(Some((record, fields)))
}

pub(super) async fn approvals_of(
    store: &SqlStore,
    person_id: Uuid,
) -> Result<Vec<ApprovalRecord>, StoreError> {
    store.read_all(sqlx::AssertSqlSafe(format!(
        "SELECT {APPROVAL_COLUMNS} FROM share_approval WHERE person_id = $1 ORDER BY requested_at DESC, id"
    )), person_id, approval_from_row).await
}

impl SharingStore for SqlStore {
    async fn save_recipient(
        &self,
        recipient: &RecipientRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::save_recipient(self, recipient, audit).await
    }

    async fn recipient(&self, id: Uuid) -> Result<Option<RecipientRecord>, StoreError> {
        sharing::recipient(self, id).await
    }

    async fn recipients(&self, organisation_id: Uuid) -> Result<Vec<RecipientRecord>, StoreError> {
        sharing::recipients(self, organisation_id).await
    }

    async fn set_staff_recipient(
        &self,
        staff_id: Uuid,
        recipient_id: Option<Uuid>,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::set_staff_recipient(self, staff_id, recipient_id, audit).await
    }

    async fn staff_recipient(&self, staff_id: Uuid) -> Result<Option<Uuid>, StoreError> {
        sharing::staff_recipient(self, staff_id).await
    }

    async fn save_consent_purpose(
        &self,
        purpose: &ConsentPurposeRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::save_consent_purpose(self, purpose, audit).await
    }

    async fn consent_purposes(
        &self,
        service_id: Uuid,
    ) -> Result<Vec<ConsentPurposeRecord>, StoreError> {
        sharing::consent_purposes(self, service_id).await
    }

    async fn add_consent(
        &self,
        consent: &ConsentRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::add_consent(self, consent, audit).await
    }

    async fn consents_of(&self, access: &PersonAccess) -> Result<Vec<ConsentRecord>, StoreError> {
        let person_id = access.person_id();
        sharing::consents_of(self, person_id).await
    }

    async fn add_restriction(
        &self,
        restriction: &RestrictionRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::add_restriction(self, restriction, audit).await
    }

    async fn lift_restriction(
        &self,
        id: Uuid,
        access: &PersonAccess,
        lifted_by: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        sharing::lift_restriction(self, id, person_id, lifted_by, at_micros, audit).await
    }

    async fn restrictions_of(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<RestrictionRecord>, StoreError> {
        let person_id = access.person_id();
        sharing::restrictions_of(self, person_id).await
    }

    async fn create_approval(
        &self,
        approval: &ApprovalRecord,
        justification: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::create_approval(self, approval, justification, audit).await
    }

    async fn decide_approval(
        &self,
        id: Uuid,
        access: &PersonAccess,
        state: ApprovalState,
        decided_by: &str,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        sharing::decide_approval(self, id, person_id, state, decided_by, at_micros, audit).await
    }

    async fn approval(
        &self,
        id: Uuid,
    ) -> Result<Option<(ApprovalRecord, SealedFields)>, StoreError> {
        sharing::approval(self, id).await
    }

    async fn approvals_of(&self, access: &PersonAccess) -> Result<Vec<ApprovalRecord>, StoreError> {
        let person_id = access.person_id();
        sharing::approvals_of(self, person_id).await
    }

    async fn record_disclosure(
        &self,
        expected: confidant_core::store::SharingState,
        disclosure: &DisclosureRecord,
        items: &[DisclosedItem],
        sealed: &SealedFields,
        grant: Option<&GrantRecord>,
        message: Option<&confidant_core::message::QueuedMessage>,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        sharing::record_disclosure(
            self, expected, disclosure, items, sealed, grant, message, audit,
        )
        .await
    }

    async fn disclosures_of(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        let person_id = access.person_id();
        sharing::disclosures_of(self, person_id).await
    }

    async fn disclosures_to(
        &self,
        recipient_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        sharing::disclosures_to(self, recipient_id, audit).await
    }

    async fn disclosures_to_review(
        &self,
        organisation_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        sharing::disclosures_to_review(self, organisation_id, audit).await
    }

    async fn disclosure(
        &self,
        id: Uuid,
    ) -> Result<Option<(DisclosureRecord, Vec<DisclosedItem>, SealedFields)>, StoreError> {
        sharing::disclosure(self, id).await
    }

    async fn end_disclosure(
        &self,
        id: Uuid,
        access: &PersonAccess,
        at_micros: i64,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        sharing::end_disclosure(self, id, person_id, at_micros, audit).await
    }

    async fn review_disclosure(
        &self,
        id: Uuid,
        state: ReviewState,
        reviewed_by: &str,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        sharing::review_disclosure(self, id, state, reviewed_by, audit).await
    }

    async fn entry_flags(
        &self,
        access: &PersonAccess,
        kinds: &[RecordKind],
    ) -> Result<Vec<(Uuid, bool)>, StoreError> {
        let person_id = access.person_id();
        sharing::entry_flags(self, person_id, kinds).await
    }

    async fn recipients_of(
        &self,
        access: &PersonAccess,
        fields: &[&str],
        audit: AuditDraft,
    ) -> Result<Vec<Uuid>, StoreError> {
        let person_id = access.person_id();
        sharing::recipients_of(self, person_id, fields, audit).await
    }
}
