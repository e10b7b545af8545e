//! The record port of the store.

use super::*;

impl RecordStore for SqlStore {
    async fn field_history(
        &self,
        record_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Vec<FieldVersion>, StoreError> {
        let mut tx = self.begin_read().await?;
        let versions = sqlx::query(
            "SELECT record_id, field, value, key_version, changed_by, changed_at, reason FROM field_version \
             WHERE record_id = $1 ORDER BY seq",
        )
        .bind(record_id.to_string())
        .fetch_all(&mut *tx)
        .await.read(field_version_from_row)?;
        finish_read(self, tx, audit).await?;
        Ok(versions)
    }

    async fn add_related(
        &self,
        related: &RelatedRecord,
        fields: &SealedFields,
        key: &WrappedDataKey,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        append(&mut tx, &audit).await?;
        insert_data_key(&mut tx, &self.vault, key, related.created_at_micros).await?;
        sqlx::query(
            "INSERT INTO related_person (id, person_id, relationship, linked_person_id, key_version, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(related.id.to_string())
        .bind(related.person_id.to_string())
        .bind(related.relationship.code())
        .bind(related.linked_person_id.map(|l| l.to_string()))
        .bind(related.key_version)
        .bind(&related.created_by)
        .bind(related.created_at_micros)
        .execute(&mut *tx)
        .await
        .or_conflict("that related person exists")?;
        insert_fields(&mut tx, related.id, fields).await?;
        commit(tx).await
    }

    async fn related_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<(RelatedRecord, SealedFields, WrappedDataKey)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let mut related = overview::related_in(&mut tx, access.person_id()).await?;
        finish_read(self, tx, audit).await?;
        let erased = self
            .fill_keys(related.iter_mut().map(|(_, _, k)| k))
            .await?;
        related.retain(|(_, _, k)| !erased.has(k));
        Ok(related)
    }

    async fn remove_related(
        &self,
        related_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let person_id = access.person_id();
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM related_person WHERE id = $1 AND person_id = $2")
            .bind(related_id.to_string())
            .bind(person_id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        if gone.rows_affected() == 0 {
            return Ok(false);
        }
        // The head lock before touching data keys, as a rotation takes it before re-wrapping them.
        append(&mut tx, &audit).await?;
        if keeping::held(&mut tx, person_id).await? {
            return Err(StoreError::Conflict(keeping::HELD));
        }
        erase_record(&mut tx, related_id).await?;
        commit(tx).await?;
        self.checkpoint_after_erasure().await;
        Ok(true)
    }

    async fn reopen_case(
        &self,
        case_id: Uuid,
        access: &PersonAccess,
        reason: ReopenReason,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let cid = case_id.to_string();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT closed_at, closed_by, closure_reason FROM case_episode \
             WHERE id = $1 AND person_id = $2 AND closed_at IS NOT NULL",
        )
        .bind(&cid)
        .bind(access.person_id().to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(row) = row else {
            return Ok(false);
        };
        let closed_at: i64 = row.col("closed_at")?;
        // Only the closing just read: a reopening (or a closing) that came meanwhile wins.
        let reopened = sqlx::query(
            "UPDATE case_episode SET closed_at = NULL, closed_by = NULL, closure_reason = NULL \
             WHERE id = $1 AND closed_at = $2",
        )
        .bind(&cid)
        .bind(closed_at)
        .execute(&mut *tx)
        .await
        .or_conflict("the person has another case open in this service")?;
        if reopened.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO case_reopening (id, case_id, closed_at, closed_by, closure_reason, \
             reopened_at, reopened_by, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&cid)
        .bind(closed_at)
        .bind(row.col::<String>("closed_by")?)
        .bind(row.col::<String>("closure_reason")?)
        .bind(stamp.at_micros)
        .bind(&stamp.by)
        .bind(reason.code())
        .execute(&mut *tx)
        .await
        .db()?;
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn case_reopenings(&self, case_id: Uuid) -> Result<Vec<CaseReopening>, StoreError> {
        sqlx::query(
            "SELECT closed_at, closed_by, closure_reason, reopened_at, reopened_by, reason \
             FROM case_reopening WHERE case_id = $1 ORDER BY reopened_at",
        )
        .bind(case_id.to_string())
        .fetch_all(&self.pool)
        .await
        .read(|r| {
            Ok(CaseReopening {
                closed_at_micros: r.col("closed_at")?,
                closed_by: r.col("closed_by")?,
                closure_reason: coded(
                    r,
                    "closure_reason",
                    ClosureReason::from_code,
                    "closure reason",
                )?,
                reopened_at_micros: r.col("reopened_at")?,
                reopened_by: r.col("reopened_by")?,
                reason: coded(r, "reason", ReopenReason::from_code, "reopen reason")?,
            })
        })
    }

    async fn update_related(
        &self,
        related_id: Uuid,
        access: &PersonAccess,
        relationship: Relationship,
        fields: &[SealedChange],
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let rid = related_id.to_string();
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT key_version FROM related_person WHERE id = $1 AND person_id = $2")
                .bind(&rid)
                .bind(access.person_id().to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let Some(row) = row else {
            return Ok(false);
        };
        let key_version: i64 = row.col("key_version")?;
        // The head lock first, as removing them (and destroying their key) takes it: a removal
        // either went first (no row: nothing written) or waits for this change.
        append(&mut tx, &audit).await?;
        let changed = sqlx::query("UPDATE related_person SET relationship = $1 WHERE id = $2")
            .bind(relationship.code())
            .bind(&rid)
            .execute(&mut *tx)
            .await
            .db()?;
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        replace_fields(&mut tx, &rid, key_version, fields, stamp, None).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn is_alleged_perpetrator_in(
        &self,
        victim: &PersonAccess,
        person_id: Uuid,
    ) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT 1 AS found FROM related_person \
             WHERE person_id = $1 AND linked_person_id = $2 AND relationship = $3 LIMIT 1",
        )
        .bind(victim.person_id().to_string())
        .bind(person_id.to_string())
        .bind(Relationship::AllegedPerpetrator.code())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(found.is_some())
    }

    async fn open_case(&self, case: &CaseRecord, audit: AuditDraft) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_case(&mut tx, case).await?;
        append(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn close_case(
        &self,
        case_id: Uuid,
        reason: ClosureReason,
        step: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE case_episode SET closed_at = $1, closed_by = $2, closure_reason = $3 \
             WHERE id = $4 AND closed_at IS NULL",
        )
        .bind(step.at_micros)
        .bind(&step.by)
        .bind(reason.code())
        .bind(case_id.to_string());
        change_audited(self, change, audit).await
    }

    async fn case(&self, case_id: Uuid) -> Result<Option<CaseRecord>, StoreError> {
        self.read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {CASE_COLUMNS} FROM case_episode WHERE id = $1"
            )),
            case_id,
            case_from_row,
        )
        .await
    }

    async fn cases_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let mut tx = self.begin_read().await?;
        let cases = overview::cases_in(&mut tx, access.person_id()).await?;
        finish_read(self, tx, audit).await?;
        Ok(cases)
    }

    async fn create_entry(
        &self,
        entry: &EntryRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO record_entry (id, person_id, kind, case_id, parent_id, contact_type, occurs_at, status, due_at, \
             third_party, identifies_complainant, serious_harm, author, key_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(entry.id.to_string())
        .bind(entry.person_id.to_string())
        .bind(entry.kind.code())
        .bind(entry.case_id.map(|c| c.to_string()))
        .bind(entry.parent_id.map(|p| p.to_string()))
        .bind(entry.contact_type.map(ContactType::code))
        .bind(entry.occurs_at_micros)
        .bind(entry.status.map(EntryStatus::code))
        .bind(entry.due_at_micros)
        .bind(i64::from(entry.flags.third_party))
        .bind(i64::from(entry.flags.identifies_complainant))
        .bind(i64::from(entry.flags.serious_harm))
        .bind(&entry.author)
        .bind(entry.key_version)
        .bind(entry.created_at_micros)
        .bind(entry.updated_at_micros);
        insert_sealed_audited(self, insert, "that entry exists", entry.id, fields, audit).await
    }

    async fn update_entry(
        &self,
        entry_id: Uuid,
        status: Option<EntryStatus>,
        due_at_micros: Option<i64>,
        fields: &[SealedChange],
        reason: Option<CorrectionReason>,
        expected_updated_at_micros: i64,
        stamp: &ChangeStamp,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        const CHANGED: &str = "the entry changed meanwhile; read it again";
        let mut tx = self.begin_write().await?;
        let eid = entry_id.to_string();
        let row = sqlx::query("SELECT key_version, updated_at FROM record_entry WHERE id = $1")
            .bind(&eid)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
        let Some(row) = row else {
            return Ok(false);
        };
        let stored_at: i64 = row.col("updated_at")?;
        if stored_at != expected_updated_at_micros {
            return Err(StoreError::Conflict(CHANGED));
        }
        let key_version: i64 = row.col("key_version")?;
        // Conditional on the time read, so a concurrent change that read the same time loses; the
        // time moves strictly forward, so a clock tie cannot fool the check.
        let moved = sqlx::query(
            "UPDATE record_entry SET status = COALESCE($1, status), due_at = COALESCE($2, due_at), \
             updated_at = $3 WHERE id = $4 AND updated_at = $5 AND error_at IS NULL",
        )
        .bind(status.map(EntryStatus::code))
        .bind(due_at_micros)
        .bind(stamp.at_micros.max(stored_at + 1))
        .bind(&eid)
        .bind(stored_at)
        .execute(&mut *tx)
        .await
        .db()?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::Conflict(CHANGED));
        }
        replace_fields(&mut tx, &eid, key_version, fields, stamp, reason).await?;
        append(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn entry_kinds(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<(Uuid, RecordKind)>, StoreError> {
        self.read_all_audited(
            overview::ENTRY_KINDS,
            access.person_id(),
            overview::entry_kind_from_row,
            audit,
        )
        .await
    }

    async fn mark_entry_in_error(
        &self,
        access: &PersonAccess,
        entry_id: Uuid,
        error: &EntryError,
        audit: AuditDraft,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "UPDATE record_entry SET error_at = $1, error_by = $2, error_reason = $3, \
             updated_at = CASE WHEN updated_at >= $1 THEN updated_at + 1 ELSE $1 END \
             WHERE id = $4 AND person_id = $5 AND error_at IS NULL",
        )
        .bind(error.at_micros)
        .bind(error.by.clone())
        .bind(error.reason.code())
        .bind(entry_id.to_string())
        .bind(access.person_id().to_string());
        change_audited(self, change, audit).await
    }

    async fn entry_history(
        &self,
        access: &PersonAccess,
        kinds: &[RecordKind],
        audit: AuditDraft,
    ) -> Result<Vec<FieldVersion>, StoreError> {
        let only = if kinds.is_empty() {
            String::new()
        } else {
            format!(" AND e.kind IN ({})", placeholders(2, kinds.len()))
        };
        let mut tx = self.begin_read().await?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT v.record_id, v.field, v.value, v.key_version, v.changed_by, v.changed_at, v.reason \
             FROM field_version v JOIN record_entry e ON e.id = v.record_id \
             WHERE e.person_id = $1{only} ORDER BY v.seq"
        )))
        .bind(access.person_id().to_string());
        for kind in kinds {
            query = query.bind(kind.code());
        }
        let versions = query
            .fetch_all(&mut *tx)
            .await
            .read(field_version_from_row)?;
        finish_read(self, tx, audit).await?;
        Ok(versions)
    }

    async fn entries_of(
        &self,
        access: &PersonAccess,
        kinds: &[RecordKind],
        audit: AuditDraft,
    ) -> Result<Vec<(EntryRecord, SealedFields)>, StoreError> {
        let person_id = access.person_id();
        // The kinds as an IN list of parameters after the person ($1); no list means every kind.
        let only = if kinds.is_empty() {
            String::new()
        } else {
            format!(" AND e.kind IN ({})", placeholders(2, kinds.len()))
        };
        let pid = person_id.to_string();
        let mut tx = self.begin_read().await?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM record_entry e WHERE e.person_id = $1{only} \
             ORDER BY e.occurs_at DESC, e.created_at DESC, e.id DESC"
        )))
        .bind(pid.clone());
        for kind in kinds {
            query = query.bind(kind.code());
        }
        let rows = query.fetch_all(&mut *tx).await.db()?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT f.record_id, f.field, f.value FROM record_field f JOIN record_entry e ON e.id = f.record_id \
             WHERE e.person_id = $1{only} ORDER BY f.record_id, f.field"
        )))
        .bind(pid);
        for kind in kinds {
            query = query.bind(kind.code());
        }
        let entries = with_fields(&mut tx, rows, entry_from_row, query).await?;
        finish_read(self, tx, audit).await?;
        Ok(entries)
    }

    async fn paper_register(
        &self,
        service_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Vec<EntryRecord>, StoreError> {
        let mut tx = self.begin_read().await?;
        let register = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM record_entry e JOIN person p ON p.id = e.person_id \
             WHERE p.service_id = $1 AND e.kind IN ($2, $3) AND (e.status IS NULL OR e.status <> $4) \
             ORDER BY CASE WHEN e.due_at IS NULL THEN 1 ELSE 0 END, e.due_at, e.occurs_at, e.id"
        )))
        .bind(service_id.to_string())
        .bind(RecordKind::PaperNote.code())
        .bind(RecordKind::PaperFile.code())
        .bind(EntryStatus::Destroyed.code())
        .fetch_all(&mut *tx)
        .await.read(entry_from_row)?;
        finish_read(self, tx, audit).await?;
        Ok(register)
    }

    async fn add_document(
        &self,
        document: &DocumentRecord,
        content: &[u8],
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if document.is_photo {
            // A person has one photo: the new one replaces the old, fields and all (not while a
            // legal hold keeps the record: the old one would be lost).
            let pid = document.person_id.to_string();
            let had: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM document WHERE person_id = $1 AND is_photo = 1",
            )
            .bind(&pid)
            .fetch_one(&mut *tx)
            .await
            .db()?;
            if had > 0 && keeping::held(&mut tx, document.person_id).await? {
                return Err(StoreError::Conflict(keeping::HELD));
            }
            for sql in [
                "DELETE FROM record_field WHERE record_id IN \
                 (SELECT id FROM document WHERE person_id = $1 AND is_photo = 1)",
                "DELETE FROM document WHERE person_id = $1 AND is_photo = 1",
            ] {
                sqlx::query(sql).bind(&pid).execute(&mut *tx).await.db()?;
            }
        }
        sqlx::query(
            "INSERT INTO document (id, person_id, media_type, size_bytes, is_photo, key_version, uploaded_by, \
             created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(document.id.to_string())
        .bind(document.person_id.to_string())
        .bind(&document.media_type)
        .bind(document.size_bytes)
        .bind(i64::from(document.is_photo))
        .bind(document.key_version)
        .bind(&document.uploaded_by)
        .bind(document.created_at_micros)
        .bind(content)
        .execute(&mut *tx)
        .await
        .or_conflict(if document.is_photo {
            // Two photos uploaded at once: the index keeps one per person.
            "the photo changed meanwhile; try again"
        } else {
            "that document exists"
        })?;
        insert_fields(&mut tx, document.id, fields).await?;
        append(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn documents_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<(DocumentRecord, SealedFields)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let documents = overview::documents_in(&mut tx, access.person_id()).await?;
        finish_read(self, tx, audit).await?;
        Ok(documents)
    }

    async fn person_overview(
        &self,
        access: &PersonAccess,
        parts: confidant_core::store::OverviewParts<'_>,
        audit: Vec<AuditDraft>,
    ) -> Result<Option<confidant_core::store::OverviewRows>, StoreError> {
        self.read_overview(access, parts, audit).await
    }

    async fn sealed_document(
        &self,
        document_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Option<(DocumentRecord, SealedFields, Vec<u8>)>, StoreError> {
        let mut tx = self.begin_read().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOCUMENT_COLUMNS}, d.content FROM document d WHERE d.id = $1 AND d.person_id = $2"
        )))
        .bind(document_id.to_string())
        .bind(access.person_id().to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = (
            document_from_row(&row)?,
            record_fields(&mut tx, document_id).await?,
            row.col("content")?,
        );
        finish_read(self, tx, audit).await?;
        Ok(Some(found))
    }

    async fn move_document(
        &self,
        document_id: Uuid,
        from: &PersonAccess,
        from_key_version: i64,
        to: &PersonAccess,
        key_version: i64,
        fields: &SealedFields,
        content: &[u8],
        audits: Vec<AuditDraft>,
    ) -> Result<bool, StoreError> {
        let did = document_id.to_string();
        let mut tx = self.begin_write().await?;
        // The head lock first, as erasing a person and rotating keys take it: either came first
        // (and the keys checked next are gone or moved on) or waits for this move.
        for audit in &audits {
            append(&mut tx, audit).await?;
        }
        if keeping::held(&mut tx, from.person_id()).await? {
            return Err(StoreError::Conflict(keeping::HELD));
        }
        let keys: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM data_key WHERE (owner_id = $1 AND version = $2) \
             OR (owner_id = $3 AND version = $4)",
        )
        .bind(from.person_id().to_string())
        .bind(from_key_version)
        .bind(to.person_id().to_string())
        .bind(key_version)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        if keys != 2 {
            return Ok(false);
        }
        let moved = sqlx::query(
            "UPDATE document SET person_id = $1, key_version = $2, content = $3 \
             WHERE id = $4 AND person_id = $5 AND is_photo = 0",
        )
        .bind(to.person_id().to_string())
        .bind(key_version)
        .bind(content)
        .bind(&did)
        .bind(from.person_id().to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        // Its fields, and any earlier values of them, were sealed under the first person's key:
        // the new ones replace them.
        for sql in [
            "DELETE FROM record_field WHERE record_id = $1",
            "DELETE FROM field_version WHERE record_id = $1",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&did)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        insert_fields(&mut tx, document_id, fields).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn read_document(
        &self,
        document_id: Uuid,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Option<(DocumentRecord, Vec<u8>)>, StoreError> {
        let person_id = access.person_id();
        let mut tx = self.begin_read().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DOCUMENT_COLUMNS}, d.content FROM document d WHERE d.id = $1 AND d.person_id = $2"
        )))
        .bind(document_id.to_string())
        .bind(person_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = (document_from_row(&row)?, row.col("content")?);
        finish_read(self, tx, audit).await?;
        Ok(Some(found))
    }
}
