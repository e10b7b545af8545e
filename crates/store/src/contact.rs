//! Contact preferences and the outbox (F4, R16-R17): the SQL behind the `Store` methods of that
//! section. Rows hold ids, codes, flags and times; code words, addresses and bodies are sealed in
//! `record_field` under the row's id.

use super::*;
use confidant_core::audit::AuditDraft;
use confidant_core::contact::{Channel, ContactPreferenceRecord};
use confidant_core::message::{
    AttemptOutcome, AttemptRecord, MessageRecord, MessageState, TemplateCode,
};
use confidant_core::store::{SealedFields, StoreError};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{
    SqlStore, append, coded, commit, flag, id, insert_sealed_audited, record_fields, with_fields,
};

const PREFERENCE_COLUMNS: &str = "id, person_id, allowed, refused, no_voicemail, has_code_word, key_version, recorded_by, recorded_at";
const MESSAGE_COLUMNS: &str = "id, person_id, channel, template, key_version, state, attempts, next_attempt_at, queued_by, queued_at, finished_at, expires_at, disclosure_id";

fn channel_list(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| c.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_channels(row: &AnyRow, column: &str) -> Result<Vec<Channel>, StoreError> {
    let text: String = row.col(column)?;
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            Channel::from_code(c).ok_or_else(|| StoreError::Backend("unknown channel code".into()))
        })
        .collect()
}

fn preference_from_row(row: &AnyRow) -> Result<ContactPreferenceRecord, StoreError> {
    Ok(ContactPreferenceRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        allowed: parse_channels(row, "allowed")?,
        refused: parse_channels(row, "refused")?,
        no_voicemail: flag(row, "no_voicemail")?,
        has_code_word: flag(row, "has_code_word")?,
        key_version: row.col("key_version")?,
        recorded_by: row.col("recorded_by")?,
        recorded_at_micros: row.col("recorded_at")?,
    })
}

fn message_from_row(row: &AnyRow) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        id: id(row, "id")?,
        person_id: id(row, "person_id")?,
        channel: coded(row, "channel", Channel::from_code, "channel")?,
        template: coded(row, "template", TemplateCode::from_code, "template")?,
        key_version: row.col("key_version")?,
        state: coded(row, "state", MessageState::from_code, "message state")?,
        attempts: row.col("attempts")?,
        next_attempt_at_micros: row.col("next_attempt_at")?,
        queued_by: row.col("queued_by")?,
        queued_at_micros: row.col("queued_at")?,
        finished_at_micros: row.col("finished_at")?,
        expires_at_micros: row.col("expires_at")?,
        disclosure_id: super::opt_id(row, "disclosure_id")?,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<AttemptRecord, StoreError> {
    Ok(AttemptRecord {
        message_id: id(row, "message_id")?,
        attempt: row.col("attempt")?,
        at_micros: row.col("at")?,
        outcome: coded(row, "outcome", AttemptOutcome::from_code, "attempt outcome")?,
        reply_code: row.col("reply_code")?,
    })
}

pub(crate) async fn set_preferences(
    store: &SqlStore,
    p: &ContactPreferenceRecord,
    fields: &SealedFields,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO contact_preference (id, person_id, allowed, refused, no_voicemail, has_code_word, key_version, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(p.id.to_string())
    .bind(p.person_id.to_string())
    .bind(channel_list(&p.allowed))
    .bind(channel_list(&p.refused))
    .bind(i64::from(p.no_voicemail))
    .bind(i64::from(p.has_code_word))
    .bind(p.key_version)
    .bind(&p.recorded_by)
    .bind(p.recorded_at_micros);
    insert_sealed_audited(
        store,
        insert,
        "those preferences exist",
        p.id,
        fields,
        audit,
    )
    .await
}

pub(crate) async fn current_preferences(
    store: &SqlStore,
    person_id: Uuid,
) -> Result<Option<ContactPreferenceRecord>, StoreError> {
    store
        .read_optional(
            sqlx::AssertSqlSafe(format!(
                "SELECT {PREFERENCE_COLUMNS} FROM contact_preference WHERE person_id = $1 \
                 ORDER BY recorded_at DESC, id DESC LIMIT 1"
            )),
            person_id,
            preference_from_row,
        )
        .await
}

pub(crate) async fn preference_history(
    store: &SqlStore,
    person_id: Uuid,
    audit: AuditDraft,
) -> Result<Vec<(ContactPreferenceRecord, SealedFields)>, StoreError> {
    let pid = person_id.to_string();
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PREFERENCE_COLUMNS} FROM contact_preference WHERE person_id = $1 \
         ORDER BY recorded_at DESC, id DESC"
    )))
    .bind(&pid)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    let out = with_fields(
        &mut tx,
        rows,
        preference_from_row,
        sqlx::query(
            "SELECT f.record_id, f.field, f.value FROM record_field f \
             JOIN contact_preference p ON p.id = f.record_id WHERE p.person_id = $1 \
             ORDER BY f.record_id, f.field",
        )
        .bind(&pid),
    )
    .await?;
    finish_read(store, tx, audit).await?;
    Ok(out)
}

/// The insert of a message's row.
pub(crate) fn insert_message(
    m: &MessageRecord,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO message (id, person_id, channel, template, key_version, state, attempts, next_attempt_at, \
         queued_by, queued_at, finished_at, expires_at, disclosure_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(m.id.to_string())
    .bind(m.person_id.to_string())
    .bind(m.channel.code())
    .bind(m.template.code())
    .bind(m.key_version)
    .bind(m.state.code())
    .bind(m.attempts)
    .bind(m.next_attempt_at_micros)
    .bind(&m.queued_by)
    .bind(m.queued_at_micros)
    .bind(m.finished_at_micros)
    .bind(m.expires_at_micros)
    .bind(m.disclosure_id.map(|d| d.to_string()))
}

pub(crate) async fn queue_message(
    store: &SqlStore,
    m: &MessageRecord,
    fields: &SealedFields,
    audit: AuditDraft,
) -> Result<(), StoreError> {
    insert_sealed_audited(
        store,
        insert_message(m),
        "that message exists",
        m.id,
        fields,
        audit,
    )
    .await
}

pub(crate) async fn message_of_disclosure(
    store: &SqlStore,
    disclosure_id: Uuid,
) -> Result<Option<(MessageRecord, Vec<AttemptRecord>)>, StoreError> {
    let did = disclosure_id.to_string();
    let mut tx = store.begin_read().await?;
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM message WHERE disclosure_id = $1"
    )))
    .bind(&did)
    .fetch_optional(&mut *tx)
    .await
    .db()?
    else {
        return Ok(None);
    };
    let record = message_from_row(&row)?;
    let attempts = sqlx::query(
        "SELECT message_id, attempt, at, outcome, reply_code FROM message_attempt \
         WHERE message_id = $1 ORDER BY attempt",
    )
    .bind(record.id.to_string())
    .fetch_all(&mut *tx)
    .await
    .read(attempt_from_row)?;
    commit(tx).await?;
    Ok(Some((record, attempts)))
}

pub(crate) async fn messages_of(
    store: &SqlStore,
    person_id: Uuid,
    audit: AuditDraft,
) -> Result<Vec<(MessageRecord, Vec<AttemptRecord>)>, StoreError> {
    let pid = person_id.to_string();
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM message WHERE person_id = $1 ORDER BY queued_at DESC, id DESC"
    )))
    .bind(&pid)
    .fetch_all(&mut *tx)
    .await
    .db()?;
    let attempts = sqlx::query(
        "SELECT a.message_id, a.attempt, a.at, a.outcome, a.reply_code FROM message_attempt a \
         JOIN message m ON m.id = a.message_id WHERE m.person_id = $1 ORDER BY a.message_id, a.attempt",
    )
    .bind(&pid)
    .fetch_all(&mut *tx)
    .await
    .read(attempt_from_row)?;
    let out = rows
        .iter()
        .map(|row| {
            let record = message_from_row(row)?;
            let mine = attempts
                .iter()
                .filter(|a| a.message_id == record.id)
                .cloned()
                .collect();
            Ok((record, mine))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    finish_read(store, tx, audit).await?;
    Ok(out)
}

pub(crate) async fn due_messages(
    store: &SqlStore,
    now_micros: i64,
    texts_sendable: bool,
    limit: u32,
) -> Result<Vec<MessageRecord>, StoreError> {
    // Texts wait in `no_transport` until a transport can send them.
    let held = if texts_sendable {
        " OR state = 'no_transport'"
    } else {
        ""
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM message \
         WHERE (state = 'queued'{held}) \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
    )))
    .bind(now_micros)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .read(message_from_row)
}

pub(crate) async fn claim_message(
    store: &SqlStore,
    message_id: Uuid,
    expected_attempts: i64,
    now_micros: i64,
    lease_until_micros: i64,
) -> Result<Option<SealedFields>, StoreError> {
    let mut tx = store.begin_write().await?;
    let claimed = sqlx::query(
        "UPDATE message SET next_attempt_at = $3 WHERE id = $1 AND attempts = $2 \
         AND state IN ('queued', 'no_transport') AND next_attempt_at <= $4",
    )
    .bind(message_id.to_string())
    .bind(expected_attempts)
    .bind(lease_until_micros)
    .bind(now_micros)
    .execute(&mut *tx)
    .await
    .db()?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    let fields = record_fields(&mut tx, message_id).await?;
    commit(tx).await?;
    Ok(Some(fields))
}

pub(crate) async fn record_attempt(
    store: &SqlStore,
    a: &AttemptRecord,
    state: MessageState,
    attempts: i64,
    next_attempt_at_micros: Option<i64>,
    finished_at_micros: Option<i64>,
    audit: Option<AuditDraft>,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let mid = a.message_id.to_string();
    // Numbered in the log's own order: waiting for a text transport logs a line without counting
    // as a failed attempt.
    sqlx::query(
        "INSERT INTO message_attempt (message_id, attempt, at, outcome, reply_code) \
         SELECT $1, COALESCE(MAX(attempt), 0) + 1, $2, $3, $4 FROM message_attempt WHERE message_id = $1",
    )
    .bind(&mid)
    .bind(a.at_micros)
    .bind(a.outcome.code())
    .bind(a.reply_code)
    .execute(&mut *tx)
    .await
    .or_conflict("that attempt is logged")?;
    sqlx::query(
        "UPDATE message SET state = $2, attempts = $3, next_attempt_at = $4, finished_at = $5 WHERE id = $1",
    )
    .bind(&mid)
    .bind(state.code())
    .bind(attempts)
    .bind(next_attempt_at_micros)
    .bind(finished_at_micros)
    .execute(&mut *tx)
    .await
    .db()?;
    if let Some(audit) = audit {
        append(&mut tx, &audit).await?;
    }
    commit(tx).await
}

impl ContactStore for SqlStore {
    async fn set_contact_preferences(
        &self,
        preferences: &ContactPreferenceRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        contact::set_preferences(self, preferences, fields, audit).await
    }

    async fn contact_preferences(
        &self,
        access: &PersonAccess,
    ) -> Result<Option<ContactPreferenceRecord>, StoreError> {
        let person_id = access.person_id();
        contact::current_preferences(self, person_id).await
    }

    async fn contact_preference_history(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<(ContactPreferenceRecord, SealedFields)>, StoreError> {
        let person_id = access.person_id();
        contact::preference_history(self, person_id, audit).await
    }

    async fn queue_message(
        &self,
        message: &MessageRecord,
        fields: &SealedFields,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        contact::queue_message(self, message, fields, audit).await
    }

    async fn message_of_disclosure(
        &self,
        disclosure_id: Uuid,
    ) -> Result<Option<(MessageRecord, Vec<AttemptRecord>)>, StoreError> {
        contact::message_of_disclosure(self, disclosure_id).await
    }

    async fn messages_of(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
    ) -> Result<Vec<(MessageRecord, Vec<AttemptRecord>)>, StoreError> {
        let person_id = access.person_id();
        contact::messages_of(self, person_id, audit).await
    }

    async fn due_messages(
        &self,
        now_micros: i64,
        texts_sendable: bool,
        limit: u32,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        contact::due_messages(self, now_micros, texts_sendable, limit).await
    }

    async fn claim_message(
        &self,
        message_id: Uuid,
        expected_attempts: i64,
        now_micros: i64,
        lease_until_micros: i64,
    ) -> Result<Option<SealedFields>, StoreError> {
        contact::claim_message(
            self,
            message_id,
            expected_attempts,
            now_micros,
            lease_until_micros,
        )
        .await
    }

    async fn record_attempt(
        &self,
        attempt: &AttemptRecord,
        state: MessageState,
        attempts: i64,
        next_attempt_at_micros: Option<i64>,
        finished_at_micros: Option<i64>,
        audit: Option<AuditDraft>,
    ) -> Result<(), StoreError> {
        contact::record_attempt(
            self,
            attempt,
            state,
            attempts,
            next_attempt_at_micros,
            finished_at_micros,
            audit,
        )
        .await
    }
}
