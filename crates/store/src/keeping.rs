//! The keeping port of the store: legal holds, and the destruction of a person's record in one
//! transaction (see `confidant_core::keeping` for the guarantees).

use confidant_core::store::{
    CertificateRecord, DestructionPlan, DestructionRefusal, DestructionScope, HoldRecord,
    KeepingStore, LegalHoldKind, PaperDestroyedLine, PaperDue, PaperRefusal, QueryHoldRecord,
};

use super::merge::holdings_in;
use super::task::apply_task_changes;
use super::*;

const HOLD_COLUMNS: &str = "id, organisation_id, service_id, person_id, case_id, kind, key_version, \
     placed_by, placed_at, released_by, released_at";

fn hold_from_row(row: &AnyRow) -> Result<HoldRecord, StoreError> {
    Ok(HoldRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        service_id: id(row, "service_id")?,
        person_id: id(row, "person_id")?,
        case_id: opt_id(row, "case_id")?,
        kind: coded(row, "kind", LegalHoldKind::from_code, "legal hold kind")?,
        key_version: row.col("key_version")?,
        placed_by: row.col("placed_by")?,
        placed_at_micros: row.col("placed_at")?,
        released_by: row.col("released_by")?,
        released_at_micros: row.col("released_at")?,
    })
}

fn certificate_from_row(row: &AnyRow) -> Result<CertificateRecord, StoreError> {
    Ok(CertificateRecord {
        id: id(row, "id")?,
        organisation_id: id(row, "organisation_id")?,
        issued_at_micros: row.col("issued_at")?,
        body: row.col("body")?,
        body_sha256: row.col("body_sha256")?,
        signature: row.col("signature")?,
        public_key: row.col("public_key")?,
    })
}

/// Every id a person's rows carry (`$1` the person): what their sealed fields and earlier values
/// are filed under.
const ROW_IDS: &str = "SELECT id FROM record_entry WHERE person_id = $1 \
     UNION ALL SELECT id FROM document WHERE person_id = $1 \
     UNION ALL SELECT id FROM contact_preference WHERE person_id = $1 \
     UNION ALL SELECT id FROM message WHERE person_id = $1 \
     UNION ALL SELECT id FROM disclosure WHERE person_id = $1 \
     UNION ALL SELECT id FROM share_approval WHERE person_id = $1 \
     UNION ALL SELECT id FROM related_person WHERE person_id = $1 \
     UNION ALL SELECT id FROM referral WHERE person_id = $1 \
     UNION ALL SELECT id FROM case_episode WHERE person_id = $1 \
     UNION ALL SELECT id FROM consent WHERE person_id = $1 \
     UNION ALL SELECT id FROM person_restriction WHERE person_id = $1 \
     UNION ALL SELECT id FROM access_grant WHERE person_id = $1 \
     UNION ALL SELECT id FROM legal_hold WHERE person_id = $1 \
     UNION ALL SELECT id FROM task WHERE person_id = $1";

/// What destruction deletes, in an order the foreign keys allow (`$1` the person). The person's id
/// is in `person_destruction` first, which lets the append-only histories' rows go.
const DESTROY: &[&str] = &[
    // Sealed values and earlier values of the person and of every row of theirs.
    "DELETE FROM record_field WHERE record_id IN (SELECT id FROM (ROW_IDS) o)",
    "DELETE FROM field_version WHERE record_id = $1 OR record_id IN (SELECT id FROM (ROW_IDS) o)",
    // The keys of their related people and referrals, and the referrals' indexes.
    "DELETE FROM data_key WHERE owner_id IN (SELECT id FROM related_person WHERE person_id = $1)",
    "DELETE FROM data_key WHERE owner_id IN (SELECT id FROM referral WHERE person_id = $1)",
    "DELETE FROM referral_index WHERE referral_id IN (SELECT id FROM referral WHERE person_id = $1)",
    "DELETE FROM triage_event WHERE referral_id IN (SELECT id FROM referral WHERE person_id = $1)",
    // Messages, then the disclosure log (a message may carry a disclosure), then what it rests on.
    "DELETE FROM message_attempt WHERE message_id IN (SELECT id FROM message WHERE person_id = $1)",
    "DELETE FROM message WHERE person_id = $1",
    "DELETE FROM disclosure_item WHERE disclosure_id IN (SELECT id FROM disclosure WHERE person_id = $1)",
    "DELETE FROM disclosure WHERE person_id = $1",
    "DELETE FROM share_approval WHERE person_id = $1",
    "DELETE FROM access_grant WHERE person_id = $1",
    "DELETE FROM contact_preference WHERE person_id = $1",
    "DELETE FROM consent WHERE person_id = $1",
    "DELETE FROM person_restriction WHERE person_id = $1",
    // Rights requests about them (the destruction's certificate is what remains).
    "DELETE FROM rights_request_step WHERE request_id IN (SELECT id FROM rights_request WHERE person_id = $1)",
    "DELETE FROM rights_bundle_item WHERE request_id IN (SELECT id FROM rights_request WHERE person_id = $1)",
    "DELETE FROM rights_bundle WHERE request_id IN (SELECT id FROM rights_request WHERE person_id = $1)",
    "DELETE FROM rights_request WHERE person_id = $1",
    // The record's content: documents, entries (answers before what they answer), cases.
    "DELETE FROM document WHERE person_id = $1",
    "DELETE FROM paper_destruction WHERE person_id = $1",
    "DELETE FROM record_entry WHERE person_id = $1",
    "DELETE FROM case_reopening WHERE case_id IN (SELECT id FROM case_episode WHERE person_id = $1)",
    "DELETE FROM case_episode WHERE person_id = $1",
    // Tasks about the person, and about their rows (a referral's triage names no person).
    "DELETE FROM task_audience WHERE task_id IN (SELECT id FROM task WHERE person_id = $1 \
     OR subject_id IN (SELECT id FROM (ROW_IDS) o))",
    "DELETE FROM task WHERE person_id = $1 OR subject_id IN (SELECT id FROM (ROW_IDS) o)",
    // Third parties of the record; other records only lose their link to it.
    "DELETE FROM related_person WHERE person_id = $1",
    "UPDATE related_person SET linked_person_id = NULL WHERE linked_person_id = $1",
    "UPDATE referral SET partner_person_id = NULL WHERE partner_person_id = $1",
    "DELETE FROM referral WHERE person_id = $1",
    // The person: search entries, fields, key, merges, the row.
    "DELETE FROM blind_index WHERE person_id = $1",
    "DELETE FROM person_name_gram WHERE person_id = $1",
    "DELETE FROM person_field WHERE person_id = $1",
    "DELETE FROM data_key WHERE owner_id = $1",
    "DELETE FROM person_merge WHERE merged_id = $1 OR surviving_id = $1",
    "DELETE FROM person WHERE id = $1",
];

/// Deletes everything of the person's record (their id already in `person_destruction`).
pub(crate) async fn destroy_rows(
    tx: &mut Transaction<'static, Any>,
    person_id: &str,
) -> Result<(), StoreError> {
    for sql in DESTROY {
        let sql = sql.replace("ROW_IDS", ROW_IDS);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person_id)
            .execute(&mut **tx)
            .await
            .db()?;
    }
    Ok(())
}

/// What a change that would delete part of a held record answers.
pub(crate) const HELD: &str = "a legal hold, or an open request about the person's rights, is in force on this record: nothing of it can be removed until the hold is released or the request answered";

/// Whether a legal hold (or an open rights request) is in force on the person's record, read in
/// `tx` (a write transaction holding the audit head's lock, so a hold being placed is either seen
/// or waits).
pub(crate) async fn held(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM legal_hold WHERE person_id = $1 AND released_at IS NULL",
    )
    .bind(person_id.to_string())
    .fetch_one(&mut **tx)
    .await
    .db()?;
    // A hold on a query may cover the record through one merged into it (made in its period).
    let ids = with_merged(tx, person_id).await?;
    let by_query = query_holds_over(tx, &ids).await?;
    // An open rights request (but for erasure) keeps what it may have to answer with.
    let asking = count(
        tx,
        concat!(
            "SELECT COUNT(*) FROM rights_request rr WHERE rr.person_id = $1 AND ",
            super::rights::holding_request!()
        ),
        &ids,
    )
    .await?;
    Ok(n + by_query + asking > 0)
}

/// How many holds on a query in force keep any of `ids` (a record and those merged into it),
/// each counted once.
async fn query_holds_over(
    tx: &mut Transaction<'static, Any>,
    ids: &[String],
) -> Result<i64, StoreError> {
    let mut holds = BTreeSet::new();
    for pid in ids {
        let found: Vec<String> = sqlx::query_scalar(super::query_hold::LIVE_OF_PERSON)
            .bind(pid)
            .fetch_all(&mut **tx)
            .await
            .db()?;
        holds.extend(found);
    }
    Ok(i64::try_from(holds.len()).unwrap_or(i64::MAX))
}

/// The person and every record merged into theirs, directly or through another merge.
async fn with_merged(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Vec<String>, StoreError> {
    let mut all = vec![person_id.to_string()];
    let mut next = 0;
    while next < all.len() {
        let into: Vec<String> =
            sqlx::query_scalar("SELECT merged_id FROM person_merge WHERE surviving_id = $1")
                .bind(&all[next])
                .fetch_all(&mut **tx)
                .await
                .db()?;
        all.extend(
            into.into_iter()
                .filter(|m| !all.contains(m))
                .collect::<Vec<_>>(),
        );
        next += 1;
    }
    Ok(all)
}

async fn count(
    tx: &mut Transaction<'static, Any>,
    sql: &'static str,
    ids: &[String],
) -> Result<i64, StoreError> {
    let mut n = 0;
    for pid in ids {
        let c: i64 = sqlx::query_scalar(sql)
            .bind(pid)
            .fetch_one(&mut **tx)
            .await
            .db()?;
        n += c;
    }
    Ok(n)
}

/// The scope read in `tx`; `None` if the record or its key is gone.
async fn scope_in(
    tx: &mut Transaction<'static, Any>,
    person_id: Uuid,
) -> Result<Option<DestructionScope>, StoreError> {
    let Some(holdings) = holdings_in(tx, person_id, false).await? else {
        return Ok(None);
    };
    let ids = with_merged(tx, person_id).await?;
    let merged = i64::try_from(ids.len() - 1).unwrap_or(i64::MAX);
    Ok(Some(DestructionScope {
        counts: holdings.counts,
        merged_records: merged,
        paper: count(
            tx,
            "SELECT COUNT(*) FROM record_entry WHERE person_id = $1 AND kind IN ('paper_note', 'paper_file') \
             AND (status IS NULL OR status <> 'destroyed')",
            &ids,
        )
        .await?,
        paper_destroyed: count(
            tx,
            "SELECT COUNT(*) FROM record_entry WHERE person_id = $1 AND kind IN ('paper_note', 'paper_file') \
             AND status = 'destroyed'",
            &ids,
        )
        .await?,
        audit_events: count(
            tx,
            "SELECT COUNT(*) FROM audit_event WHERE subject_id = $1",
            &ids,
        )
        .await?,
        live_holds: count(
            tx,
            "SELECT COUNT(*) FROM legal_hold WHERE person_id = $1 AND released_at IS NULL",
            &ids,
        )
        .await?
            + query_holds_over(tx, &ids).await?
            + count(
                tx,
                concat!(
                    "SELECT COUNT(*) FROM rights_request rr WHERE rr.person_id = $1 AND ",
                    super::rights::holding_request!()
                ),
                &ids,
            )
            .await?,
        released_holds: count(
            tx,
            "SELECT COUNT(*) FROM legal_hold WHERE person_id = $1 AND released_at IS NOT NULL",
            &ids,
        )
        .await?,
    }))
}

impl KeepingStore for SqlStore {
    async fn place_hold(
        &self,
        hold: &HoldRecord,
        sealed: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        // Only on a record still there, under the key its reason was sealed with.
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO legal_hold ({HOLD_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL \
             WHERE EXISTS (SELECT 1 FROM person p JOIN data_key k ON k.owner_id = p.id \
             AND k.version = p.key_version WHERE p.id = $4 AND p.key_version = $7)"
        )))
        .bind(hold.id.to_string())
        .bind(hold.organisation_id.to_string())
        .bind(hold.service_id.to_string())
        .bind(hold.person_id.to_string())
        .bind(hold.case_id.map(|c| c.to_string()))
        .bind(hold.kind.code())
        .bind(hold.key_version)
        .bind(&hold.placed_by)
        .bind(hold.placed_at_micros)
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the record changed or was destroyed meanwhile; look again",
            ));
        }
        insert_fields(&mut tx, hold.id, sealed).await?;
        commit(tx).await
    }

    async fn release_hold(
        &self,
        access: &PersonAccess,
        hold_id: Uuid,
        by: &str,
        at_micros: i64,
        sealed: &SealedFields,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        let done = sqlx::query(
            "UPDATE legal_hold SET released_by = $1, released_at = $2 \
             WHERE id = $3 AND person_id = $4 AND released_at IS NULL",
        )
        .bind(by)
        .bind(at_micros)
        .bind(hold_id.to_string())
        .bind(access.person_id().to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_fields(&mut tx, hold_id, sealed).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn holds_of(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<(HoldRecord, SealedFields)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM legal_hold WHERE person_id = $1 ORDER BY placed_at DESC, id DESC"
        )))
        .bind(access.person_id().to_string())
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let fields = sqlx::query(
            "SELECT f.record_id, f.field, f.value FROM record_field f \
             JOIN legal_hold h ON h.id = f.record_id WHERE h.person_id = $1 \
             ORDER BY f.record_id, f.field",
        )
        .bind(access.person_id().to_string());
        let out = with_fields(&mut tx, rows, hold_from_row, fields).await?;
        tx.rollback().await.db()?;
        Ok(out)
    }

    async fn live_holds(&self, organisation_id: Uuid) -> Result<Vec<HoldRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM legal_hold WHERE organisation_id = $1 AND released_at IS NULL \
             ORDER BY placed_at DESC, id DESC"
        )))
        .bind(organisation_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(hold_from_row)
    }

    async fn destruction_scope(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Option<DestructionScope>, StoreError> {
        let mut tx = self.begin_read().await?;
        let found = scope_in(&mut tx, access.person_id()).await?;
        if found.is_none() {
            tx.rollback().await.db()?;
            return Ok(None);
        }
        finish_read(self, tx, audit).await?;
        Ok(found)
    }

    async fn destroy_person(
        &self,
        plan: DestructionPlan<'_>,
        audit: AuditDraft,
    ) -> Result<Result<(), DestructionRefusal>, StoreError> {
        let person_id = plan.access.person_id();
        let mut tx = self.begin_write().await?;
        // The audit head's lock first, as every key-touching write takes it: a hold placed, a
        // merge or a change to the record waits for this transaction or is seen by it.
        let event = append(&mut tx, &audit).await?;
        let merged_away: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM person_merge WHERE merged_id = $1")
                .bind(person_id.to_string())
                .fetch_one(&mut *tx)
                .await
                .db()?;
        if merged_away > 0 {
            return Ok(Err(DestructionRefusal::Merged));
        }
        let Some(now) = scope_in(&mut tx, person_id).await? else {
            return Ok(Err(DestructionRefusal::Gone));
        };
        // Fail closed: a hold placed since the scope was read keeps the record. A held record that
        // links to this one (a related person who is this person, a referral from their case)
        // would lose the link: it keeps this one too.
        let ids = with_merged(&mut tx, person_id).await?;
        let linked_held = count(
            &mut tx,
            concat!(
                "SELECT COUNT(*) FROM legal_hold h WHERE h.released_at IS NULL AND h.person_id IN ",
                super::query_hold::linking_to!()
            ),
            &ids,
        )
        .await?
            + count(&mut tx, super::query_hold::LIVE_OF_LINKED, &ids).await?;
        if now.live_holds > 0 || linked_held > 0 {
            return Ok(Err(DestructionRefusal::Held));
        }
        if !now.same_rows(&plan.scope) {
            return Ok(Err(DestructionRefusal::Changed));
        }
        // The request for erasure it answers must still be open as it was decided (withdrawn or
        // moved on meanwhile, nothing is destroyed); it goes with the record.
        if let Some((request, version)) = plan.erasure_request {
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM rights_request WHERE id = $1 AND person_id = $2 \
                 AND version = $3 AND state = 'open' AND kind = 'erasure'",
            )
            .bind(request.to_string())
            .bind(person_id.to_string())
            .bind(version)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if open != 1 {
                return Ok(Err(DestructionRefusal::Changed));
            }
        }
        for pid in &ids {
            sqlx::query(
                "INSERT INTO person_destruction (person_id, certificate_id, destroyed_at) VALUES ($1, $2, $3)",
            )
            .bind(pid)
            .bind(plan.certificate_id.to_string())
            .bind(plan.at_micros)
            .execute(&mut *tx)
            .await
            .or_conflict("the record was destroyed already")?;
        }
        for pid in &ids {
            destroy_rows(&mut tx, pid).await?;
        }
        sqlx::query(
            "INSERT INTO destruction_certificate \
             (id, organisation_id, issued_at, body, body_sha256, signature, public_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(plan.certificate_id.to_string())
        .bind(plan.organisation_id.to_string())
        .bind(plan.at_micros)
        .bind(&plan.certificate)
        .bind(&plan.certificate_sha256)
        .bind(plan.signature.as_ref().map(|(s, _)| s.as_str()))
        .bind(plan.signature.as_ref().map(|(_, k)| k.as_str()))
        .execute(&mut *tx)
        .await
        .db()?;
        apply_task_changes(&mut tx, &plan.tasks, &event.actor, event.at_micros).await?;
        // A reviewed destruction closes its review with it; if the review was withdrawn or closed
        // meanwhile, nothing is written.
        if let Some(review) = plan.review_id {
            let done = sqlx::query(
                "UPDATE retention_review SET state = 'destroyed', outcome = 'destroyed', closed_at = $1, \
                 certificate_id = $2 WHERE id = $3 AND state = 'approved'",
            )
            .bind(plan.at_micros)
            .bind(plan.certificate_id.to_string())
            .bind(review.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
            if done.rows_affected() != 1 {
                return Ok(Err(DestructionRefusal::Changed));
            }
        }
        // A record destroyed while on the queue (by the DPO's own decision) leaves the queue.
        sqlx::query(
            "UPDATE retention_review SET state = 'destroyed', outcome = 'destroyed by another decision', \
             closed_at = $1, certificate_id = $2 WHERE person_id = $3 AND closed_at IS NULL",
        )
        .bind(plan.at_micros)
        .bind(plan.certificate_id.to_string())
        .bind(plan.access.person_id().to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        commit(tx).await?;
        self.checkpoint_after_erasure().await;
        Ok(Ok(()))
    }

    async fn certificate(
        &self,
        organisation_id: Uuid,
        certificate_id: Uuid,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        sqlx::query(
            "SELECT id, organisation_id, issued_at, body, body_sha256, signature, public_key \
             FROM destruction_certificate \
             WHERE id = $1 AND organisation_id = $2",
        )
        .bind(certificate_id.to_string())
        .bind(organisation_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .read(certificate_from_row)
    }

    async fn certificates(
        &self,
        organisation_id: Uuid,
        limit: i64,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        sqlx::query(
            "SELECT id, organisation_id, issued_at, body, body_sha256, signature, public_key \
             FROM destruction_certificate \
             WHERE organisation_id = $1 ORDER BY issued_at DESC, id DESC LIMIT $2",
        )
        .bind(organisation_id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .read(certificate_from_row)
    }

    async fn destroyed(&self, person_id: Uuid) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM person_destruction WHERE person_id = $1")
                .bind(person_id.to_string())
                .fetch_one(&self.pool)
                .await
                .db()?;
        Ok(n > 0)
    }

    async fn record_paper_destroyed(
        &self,
        access: &PersonAccess,
        line: &PaperDestroyedLine,
        audit: AuditDraft,
    ) -> Result<Result<(), PaperRefusal>, StoreError> {
        super::paper::record_destroyed(self, access, line, audit).await
    }

    async fn paper_destroyed_of(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<PaperDestroyedLine>, StoreError> {
        super::paper::destroyed_of(self, access).await
    }

    async fn paper_to_destroy(
        &self,
        organisation_id: Uuid,
        now_micros: i64,
    ) -> Result<Vec<PaperDue>, StoreError> {
        super::paper::to_destroy(self, organisation_id, now_micros).await
    }

    async fn place_query_hold(
        &self,
        hold: &QueryHoldRecord,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        super::query_hold::place(self, hold, audit).await
    }

    async fn release_query_hold(
        &self,
        organisation_id: Uuid,
        hold_id: Uuid,
        by: &str,
        at_micros: i64,
        reason: &str,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        super::query_hold::release(
            self,
            organisation_id,
            hold_id,
            (by, at_micros, reason),
            audit,
        )
        .await
    }

    async fn query_holds(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<(QueryHoldRecord, i64)>, StoreError> {
        super::query_hold::list(self, organisation_id).await
    }

    async fn referrals_not_taken_up(
        &self,
        organisation_id: Uuid,
        services: &[String],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(ReferralRecord, Option<String>)>, StoreError> {
        super::referral::not_taken_up(self, organisation_id, services, after, limit).await
    }

    async fn query_hold(
        &self,
        organisation_id: Uuid,
        hold_id: Uuid,
    ) -> Result<Option<QueryHoldRecord>, StoreError> {
        super::query_hold::one(self, organisation_id, hold_id).await
    }

    async fn erase_referral(
        &self,
        referral_id: Uuid,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        super::referral::erase_not_taken_up(self, referral_id, audit).await
    }
}
