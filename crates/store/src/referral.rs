//! The referral port of the store.

use super::query_hold::COVERS_REFERRAL;
use super::*;

fn triage_event_from_row(row: &AnyRow) -> Result<TriageEvent, StoreError> {
    Ok(TriageEvent {
        referral_id: id(row, "referral_id")?,
        state: coded(row, "state", TriageState::from_code, "triage state")?,
        at_micros: row.col("at")?,
        actor: row.col("actor")?,
    })
}

impl ReferralStore for SqlStore {
    async fn create_referral(
        &self,
        referral: &ReferralRecord,
        fields: &SealedFields,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        insert_data_key(&mut tx, &self.vault, key, referral.received_at_micros).await?;
        let rid = referral.id.to_string();
        sqlx::query(
            "INSERT INTO referral (id, service_id, source, partner_person_id, state, received_at, last_contact_at, \
             decided_at, person_id, case_id, key_version, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&rid)
        .bind(referral.service_id.to_string())
        .bind(referral.source.code())
        .bind(referral.partner_person_id.map(|p| p.to_string()))
        .bind(referral.state.code())
        .bind(referral.received_at_micros)
        .bind(referral.last_contact_at_micros)
        .bind(referral.decided_at_micros)
        .bind(referral.person_id.map(|p| p.to_string()))
        .bind(referral.case_id.map(|c| c.to_string()))
        .bind(referral.key_version)
        .bind(&referral.created_by)
        .execute(&mut *tx)
        .await
        .or_conflict("that referral exists")?;
        insert_fields(&mut tx, referral.id, fields).await?;
        for (field, digest) in indexes {
            sqlx::query(
                "INSERT INTO referral_index (referral_id, service_id, field, digest) VALUES ($1, $2, $3, $4)",
            )
            .bind(&rid)
            .bind(referral.service_id.to_string())
            .bind(field.code())
            .bind(digest.to_vec())
            .execute(&mut *tx)
            .await
            .or_conflict("an index was given twice")?;
        }
        let received = ChangeStamp {
            by: referral.created_by.clone(),
            at_micros: referral.received_at_micros,
        };
        insert_triage_event(&mut tx, referral.id, referral.state, &received).await?;
        commit(tx).await
    }

    async fn referral(&self, referral_id: Uuid) -> Result<Option<ReferralRecord>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {REFERRAL_COLUMNS} FROM referral r WHERE r.id = $1"
            )),
            referral_id,
            referral_from_row,
        )
        .await
    }

    async fn referrals(
        &self,
        service_id: Uuid,
        open_only: bool,
        fields: &[&str],
        limit: u32,
        audit: AuditDraft,
    ) -> Result<Vec<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{REFERRAL_WITH_KEY} WHERE r.service_id = $1 AND ($2 = 0 OR r.state IN ($3, $4)) \
             ORDER BY r.received_at DESC, r.id DESC LIMIT $5"
        )))
        .bind(service_id.to_string())
        .bind(i64::from(open_only))
        .bind(TriageState::Received.code())
        .bind(TriageState::ContactAttempted.code())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let mut referrals = Vec::with_capacity(rows.len());
        for row in &rows {
            referrals.push(referral_with_fields(&mut tx, row, fields).await?);
        }
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        let erased = self
            .fill_keys(referrals.iter_mut().filter_map(|(_, _, k)| k.as_mut()))
            .await?;
        for (_, fields, key) in &mut referrals {
            if key.as_ref().is_some_and(|k| erased.has(k)) {
                (*key, *fields) = (None, Vec::new());
            }
        }
        Ok(referrals)
    }

    async fn read_referral(
        &self,
        referral_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Option<(ReferralRecord, SealedFields, Option<WrappedDataKey>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{REFERRAL_WITH_KEY} WHERE r.id = $1"
        )))
        .bind(referral_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut found = referral_with_fields(&mut tx, &row, &[]).await?;
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        let erased = self.fill_keys(found.2.as_mut()).await?;
        if found.2.as_ref().is_some_and(|k| erased.has(k)) {
            (found.1, found.2) = (Vec::new(), None);
        }
        Ok(Some(found))
    }

    async fn triage_events(&self, referral_id: Uuid) -> Result<Vec<TriageEvent>, StoreError> {
        self.read_all("SELECT referral_id, state, at, actor FROM triage_event WHERE referral_id = $1 ORDER BY seq", referral_id, triage_event_from_row).await
    }

    async fn move_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        to: TriageState,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        use TriageState as T;
        // Only along an allowed step: together with `state = from` below, a decided referral can
        // never be decided again, whatever `from` the caller read.
        if !from.may_become(to) {
            return Ok(false);
        }
        let contact = (to == T::ContactAttempted).then_some(step.at_micros);
        let decided = matches!(to, T::Accepted | T::Declined | T::NoResponse | T::Withdrawn)
            .then_some(step.at_micros);
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE referral SET state = $1, last_contact_at = COALESCE($2, last_contact_at), \
             decided_at = COALESCE($3, decided_at) WHERE id = $4 AND state = $5",
        )
        .bind(to.code())
        .bind(contact)
        .bind(decided)
        .bind(referral_id.to_string())
        .bind(from.code())
        .execute(&mut *tx)
        .await
        .db()?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        // The head lock before touching data keys, as a rotation takes it before re-wrapping them.
        append(&mut tx, &audit).await?;
        insert_triage_event(&mut tx, referral_id, to, step).await?;
        if to == T::Declined {
            // Crypto-shredding: what was received about the person goes, key and all. The row keeps
            // only ids, codes and times.
            erase_record(&mut tx, referral_id).await?;
        }
        commit(tx).await?;
        if to == T::Declined {
            self.checkpoint_after_erasure().await;
        }
        Ok(true)
    }

    async fn accept_referral(
        &self,
        referral_id: Uuid,
        from: TriageState,
        person: &SealedPerson,
        indexes: &[(IndexField, [u8; 16])],
        key: &WrappedDataKey,
        case: &CaseRecord,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        // Only from an open state: `state = from` alone would let a caller that read the referral
        // after another accepted it "move" accepted to accepted and create a second person.
        if !from.may_become(TriageState::Accepted) {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        let rid = referral_id.to_string();
        let moved = sqlx::query(
            "UPDATE referral SET state = $1, decided_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(TriageState::Accepted.code())
        .bind(step.at_micros)
        .bind(&rid)
        .bind(from.code())
        .execute(&mut *tx)
        .await
        .db()?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        append(&mut tx, &audit).await?;
        insert_person(&mut tx, &self.vault, person, indexes, key).await?;
        insert_case(&mut tx, case).await?;
        // Only now that both exist (the references are checked at once).
        sqlx::query("UPDATE referral SET person_id = $1, case_id = $2 WHERE id = $3")
            .bind(person.id.to_string())
            .bind(case.id.to_string())
            .bind(&rid)
            .execute(&mut *tx)
            .await
            .db()?;
        insert_triage_event(&mut tx, referral_id, TriageState::Accepted, step).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn duplicate_candidates(
        &self,
        service_id: Uuid,
        digests: &[(IndexField, [u8; 16])],
        except: Option<Uuid>,
    ) -> Result<(Vec<Uuid>, Vec<Uuid>), StoreError> {
        let sid = service_id.to_string();
        let except = except.map(|e| e.to_string()).unwrap_or_default();
        let mut people = BTreeSet::new();
        let mut referrals = BTreeSet::new();
        for (field, digest) in digests {
            let rows = sqlx::query(
                "SELECT person_id FROM blind_index WHERE field = $1 AND digest = $2 AND service_id = $3",
            )
            .bind(field.code())
            .bind(digest.to_vec())
            .bind(&sid)
            .fetch_all(&self.pool)
            .await
            .db()?;
            for row in &rows {
                people.insert(id(row, "person_id")?);
            }
            let rows = sqlx::query(
                "SELECT i.referral_id FROM referral_index i JOIN referral r ON r.id = i.referral_id \
                 WHERE i.field = $1 AND i.digest = $2 AND i.service_id = $3 AND i.referral_id <> $4 \
                 AND r.state IN ($5, $6)",
            )
            .bind(field.code())
            .bind(digest.to_vec())
            .bind(&sid)
            .bind(&except)
            .bind(TriageState::Received.code())
            .bind(TriageState::ContactAttempted.code())
            .fetch_all(&self.pool)
            .await
            .db()?;
            for row in &rows {
                referrals.insert(id(row, "referral_id")?);
            }
        }
        Ok((
            people.into_iter().collect(),
            referrals.into_iter().collect(),
        ))
    }
}

/// Referrals decided as not taken up whose key is still there (declining erases at once; an
/// erasure removes the key's registry row in its own transaction), in the services named, none
/// under a hold on a query; a page after `after`, by id.
pub(crate) async fn not_taken_up(
    store: &SqlStore,
    organisation_id: Uuid,
    services: &[String],
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<(ReferralRecord, Option<String>)>, StoreError> {
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let codes = (0..services.len())
        .map(|i| format!("${}", i + 6))
        .collect::<Vec<_>>()
        .join(", ");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REFERRAL_COLUMNS}, s.code AS service_code FROM referral r \
         JOIN service s ON s.id = r.service_id \
         WHERE s.organisation_id = $1 AND r.state IN ($2, $3) AND r.id > $4 \
         AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = r.id) \
         AND NOT {COVERS_REFERRAL} AND s.code IN ({codes}) \
         ORDER BY r.id LIMIT $5"
    )))
    .bind(organisation_id.to_string())
    .bind(TriageState::NoResponse.code())
    .bind(TriageState::Withdrawn.code())
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(i64::from(limit));
    for code in services {
        query = query.bind(code);
    }
    query
        .fetch_all(&store.pool)
        .await
        .read(|row| Ok((referral_from_row(row)?, row.col("service_code")?)))
}

pub(crate) async fn erase_not_taken_up(
    store: &SqlStore,
    referral_id: Uuid,
    audit: AuditDraft,
) -> Result<bool, StoreError> {
    let rid = referral_id.to_string();
    let mut tx = store.begin_write().await?;
    // The head lock first, as every write takes it: a hold placed meanwhile is seen, or waits.
    append(&mut tx, &audit).await?;
    // Locks the row (PostgreSQL) while checking it is still such a referral with its key, and not
    // under a hold on a query. A refusal rolls back the event with the rest.
    let found = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE referral SET state = state WHERE id = $1 AND state IN ($2, $3) \
         AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = referral.id) \
         AND NOT EXISTS (SELECT 1 FROM referral r WHERE r.id = referral.id AND {COVERS_REFERRAL})"
    )))
    .bind(&rid)
    .bind(TriageState::NoResponse.code())
    .bind(TriageState::Withdrawn.code())
    .execute(&mut *tx)
    .await
    .db()?;
    if found.rows_affected() == 0 {
        return Ok(false);
    }
    erase_record(&mut tx, referral_id).await?;
    commit(tx).await?;
    store.checkpoint_after_erasure().await;
    Ok(true)
}
