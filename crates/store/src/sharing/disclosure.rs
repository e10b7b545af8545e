//! The disclosure log as stored: recording a disclosure with what it contained, reading, reviewing and ending it, and who received a person's data.

use super::*;
use confidant_core::message::QueuedMessage;

pub(super) const DISCLOSURE_COLUMNS: &str = "d.id, d.person_id, d.service_id, d.recipient_id, d.basis, d.article9, \
     d.schedule1, d.categories, d.key_version, d.requested_by, d.approval_id, d.approved_by, d.person_told, \
     d.emergency, d.review_state, d.reviewed_by, d.package_hash, d.shared_at, d.processor_staff_id, \
     d.grant_id, d.ends_at, d.ended_at, d.consent_purpose_id";

pub(super) fn disclosure_from_row(row: &AnyRow) -> Result<DisclosureRecord, StoreError> {
    Ok(DisclosureRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        service_id: id(row, "service_id")?,
        recipient_id: id(row, "recipient_id")?,
        basis: coded(row, "basis", LawfulBasis::from_code, "lawful basis")?,
        consent_purpose_id: opt_id(row, "consent_purpose_id")?,
        article9: opt_coded(
            row,
            "article9",
            Article9Condition::from_code,
            "Article 9 condition",
        )?,
        schedule1: opt_coded(
            row,
            "schedule1",
            Schedule1Condition::from_code,
            "Schedule 1 condition",
        )?,
        categories: split_codes(row, "categories")?,
        key_version: row.col("key_version")?,
        requested_by: row.col("requested_by")?,
        approval_id: opt_id(row, "approval_id")?,
        approved_by: row.col("approved_by")?,
        person_told: flag(row, "person_told")?,
        emergency: flag(row, "emergency")?,
        review_state: opt_coded(row, "review_state", ReviewState::from_code, "review state")?,
        reviewed_by: row.col("reviewed_by")?,
        package_hash: hash32(row.col("package_hash")?, "package hash")?,
        shared_at_micros: row.col("shared_at")?,
        processor_staff_id: opt_id(row, "processor_staff_id")?,
        grant_id: opt_id(row, "grant_id")?,
        ends_at_micros: row.col("ends_at")?,
        ended_at_micros: row.col("ended_at")?,
    })
}

pub(super) fn item_code(item: &DisclosedItem) -> (&'static str, String) {
    match item {
        DisclosedItem::Field(code) => ("field", code.clone()),
        DisclosedItem::Entry(id) => ("entry", id.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn record_disclosure(
    store: &SqlStore,
    expected: SharingState,
    d: &DisclosureRecord,
    items: &[DisclosedItem],
    sealed: &SealedFields,
    grant: Option<&GrantRecord>,
    message: Option<&QueuedMessage>,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    // The audit head's lock first: every consent or restriction change appends its event in its
    // own transaction, so once this holds the lock, what is counted below is final until commit.
    append(&mut tx, &audit).await?;
    let now = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM consent WHERE person_id = $1) AS consents, \
         (SELECT COUNT(*) FROM person_restriction WHERE person_id = $1) AS restrictions, \
         (SELECT COUNT(*) FROM person_restriction WHERE person_id = $1 AND lifted_at IS NOT NULL) AS lifted",
    )
    .bind(d.person_id.to_string())
    .fetch_one(&mut *tx)
    .await
    .db()?;
    let seen = SharingState {
        consents: now.col("consents")?,
        restrictions: now.col("restrictions")?,
        lifted: now.col("lifted")?,
    };
    if seen != expected {
        return Err(StoreError::Conflict(
            "the person's consent or restrictions changed while sharing; check the share again",
        ));
    }
    if let Some(approval_id) = d.approval_id {
        let used = sqlx::query(
            "UPDATE share_approval SET used_by = $1 \
             WHERE id = $2 AND person_id = $3 AND state = 'approved' AND used_by IS NULL",
        )
        .bind(d.id.to_string())
        .bind(approval_id.to_string())
        .bind(d.person_id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        if used.rows_affected() == 0 {
            return Err(StoreError::Conflict("that approval has already been used"));
        }
    }
    if let Some(g) = grant {
        insert_grant(g).execute(&mut *tx).await.db()?;
    }
    sqlx::query(
        "INSERT INTO disclosure (id, person_id, service_id, recipient_id, basis, article9, schedule1, categories, \
         key_version, requested_by, approval_id, approved_by, person_told, emergency, review_state, reviewed_by, \
         package_hash, shared_at, processor_staff_id, grant_id, ends_at, ended_at, consent_purpose_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
    )
    .bind(d.id.to_string())
    .bind(d.person_id.to_string())
    .bind(d.service_id.to_string())
    .bind(d.recipient_id.to_string())
    .bind(d.basis.code())
    .bind(d.article9.map(Article9Condition::code))
    .bind(d.schedule1.map(Schedule1Condition::code))
    .bind(join_codes(d.categories.iter().map(String::as_str)))
    .bind(d.key_version)
    .bind(&d.requested_by)
    .bind(d.approval_id.map(|a| a.to_string()))
    .bind(d.approved_by.as_deref())
    .bind(i64::from(d.person_told))
    .bind(i64::from(d.emergency))
    .bind(d.review_state.map(ReviewState::code))
    .bind(d.reviewed_by.as_deref())
    .bind(d.package_hash.to_vec())
    .bind(d.shared_at_micros)
    .bind(d.processor_staff_id.map(|s| s.to_string()))
    .bind(d.grant_id.map(|g| g.to_string()))
    .bind(d.ends_at_micros)
    .bind(d.ended_at_micros)
    .bind(d.consent_purpose_id.map(|p| p.to_string()))
    .execute(&mut *tx)
    .await
    .db()?;
    let did = d.id.to_string();
    for item in items {
        let (kind, code) = item_code(item);
        sqlx::query(
            "INSERT INTO disclosure_item (disclosure_id, item_kind, item) VALUES ($1, $2, $3)",
        )
        .bind(&did)
        .bind(kind)
        .bind(code)
        .execute(&mut *tx)
        .await
        .db()?;
    }
    insert_fields(&mut tx, d.id, sealed).await?;
    // The package's sending, if asked: its row, sealed address and text, and its event, with the
    // disclosure or not at all.
    if let Some(m) = message {
        crate::contact::insert_message(&m.record)
            .execute(&mut *tx)
            .await
            .or_conflict("that message exists")?;
        insert_fields(&mut tx, m.record.id, &m.sealed).await?;
        append(&mut tx, &m.audit).await?;
    }
    commit(tx).await
}

pub(super) async fn disclosures_where(
    store: &SqlStore,
    condition: &str,
    order: &str,
    value: String,
    audit: Option<AuditDraft>,
) -> Result<Vec<DisclosureRecord>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {DISCLOSURE_COLUMNS} FROM disclosure d WHERE {condition} ORDER BY {order}"
    ));
    match audit {
        Some(audit) => {
            store
                .read_all_audited(sql, value, disclosure_from_row, audit)
                .await
        }
        None => store.read_all(sql, value, disclosure_from_row).await,
    }
}

pub(super) async fn disclosures_of(
    store: &SqlStore,
    person_id: Uuid,
) -> Result<Vec<DisclosureRecord>, StoreError> {
    disclosures_where(
        store,
        "d.person_id = $1",
        "d.shared_at DESC, d.id",
        person_id.to_string(),
        None,
    )
    .await
}

pub(super) async fn disclosures_to(
    store: &SqlStore,
    recipient_id: Uuid,
    audit: AuditDraft,
) -> Result<Vec<DisclosureRecord>, StoreError> {
    disclosures_where(
        store,
        "d.recipient_id = $1",
        "d.shared_at DESC, d.id",
        recipient_id.to_string(),
        Some(audit),
    )
    .await
}

pub(super) async fn disclosures_to_review(
    store: &SqlStore,
    organisation_id: Uuid,
    audit: AuditDraft,
) -> Result<Vec<DisclosureRecord>, StoreError> {
    disclosures_where(
        store,
        "d.review_state = 'pending' AND d.service_id IN (SELECT id FROM service WHERE organisation_id = $1)",
        "d.shared_at, d.id",
        organisation_id.to_string(),
        Some(audit),
    )
    .await
}

pub(super) async fn disclosure(
    store: &SqlStore,
    disclosure_id: Uuid,
) -> Result<Option<(DisclosureRecord, Vec<DisclosedItem>, SealedFields)>, StoreError> {
    let mut tx = store.pool.begin().await.db()?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DISCLOSURE_COLUMNS} FROM disclosure d WHERE d.id = $1"
    )))
    .bind(disclosure_id.to_string())
    .fetch_optional(&mut *tx)
    .await
    .db()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let record = disclosure_from_row(&row)?;
    let mut items = Vec::new();
    for row in sqlx::query(
        "SELECT item_kind, item FROM disclosure_item WHERE disclosure_id = $1 ORDER BY item_kind, item",
    )
    .bind(disclosure_id.to_string())
    .fetch_all(&mut *tx)
    .await
    .db()?
    {
        let kind: String = row.col("item_kind")?;
        let item: String = row.col("item")?;
        items.push(match kind.as_str() {
            "field" => DisclosedItem::Field(item),
            "entry" => DisclosedItem::Entry(
                Uuid::parse_str(&item)
                    .map_err(|_| StoreError::Backend("malformed disclosed entry id".to_owned()))?,
            ),
            _ => return Err(StoreError::Backend("unknown disclosed item kind".to_owned())),
        });
    }
    let fields = record_fields(&mut tx, record.id).await?;
    commit(tx).await?;
    Ok(Some((record, items, fields)))
}

pub(super) async fn end_disclosure(
    store: &SqlStore,
    disclosure_id: Uuid,
    person_id: Uuid,
    at_micros: i64,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let mut tx = store.begin_write().await?;
    let done = sqlx::query(
        "UPDATE disclosure SET ended_at = $1 WHERE id = $2 AND person_id = $3 AND ended_at IS NULL",
    )
    .bind(at_micros)
    .bind(disclosure_id.to_string())
    .bind(person_id.to_string())
    .execute(&mut *tx)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE access_grant SET revoked_at = $1 \
         WHERE id = (SELECT grant_id FROM disclosure WHERE id = $2) AND revoked_at IS NULL",
    )
    .bind(at_micros)
    .bind(disclosure_id.to_string())
    .execute(&mut *tx)
    .await
    .db()?;
    append(&mut tx, &audit).await?;
    commit(tx).await?;
    Ok(true)
}

pub(super) async fn review_disclosure(
    store: &SqlStore,
    disclosure_id: Uuid,
    state: ReviewState,
    reviewed_by: &str,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let change = sqlx::query(
        "UPDATE disclosure SET review_state = $1, reviewed_by = $2 WHERE id = $3 AND review_state = 'pending'",
    )
    .bind(state.code())
    .bind(reviewed_by)
    .bind(disclosure_id.to_string());
    change_audited(store, change, audit).await
}

pub(super) async fn recipients_of(
    store: &SqlStore,
    person_id: Uuid,
    fields: &[&str],
    audit: AuditDraft,
) -> Result<Vec<Uuid>, StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = if fields.is_empty() {
        sqlx::query(
            "SELECT DISTINCT recipient_id FROM disclosure WHERE person_id = $1 ORDER BY recipient_id",
        )
        .bind(person_id.to_string())
        .fetch_all(&mut *tx)
        .await
    } else {
        let placeholders: Vec<String> = (0..fields.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT DISTINCT d.recipient_id FROM disclosure d JOIN disclosure_item i ON i.disclosure_id = d.id \
             WHERE d.person_id = $1 AND i.item_kind = 'field' AND i.item IN ({}) ORDER BY d.recipient_id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(person_id.to_string());
        for f in fields {
            q = q.bind(*f);
        }
        q.fetch_all(&mut *tx).await
    }
    .db()?;
    let ids = rows
        .iter()
        .map(|r| id(r, "recipient_id"))
        .collect::<Result<Vec<_>, _>>()?;
    finish_read(store, tx, audit).await?;
    Ok(ids)
}

pub(super) async fn entry_flags(
    store: &SqlStore,
    person_id: Uuid,
    kinds: &[confidant_core::field::RecordKind],
) -> Result<Vec<(Uuid, bool)>, StoreError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT id, identifies_complainant, serious_harm FROM record_entry \
         WHERE person_id = $1 AND kind IN ({}) ORDER BY id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(person_id.to_string());
    for k in kinds {
        q = q.bind(k.code());
    }
    q.fetch_all(&store.pool).await.read(|row| {
        Ok((
            id(row, "id")?,
            flag(row, "identifies_complainant")? || flag(row, "serious_harm")?,
        ))
    })
}
