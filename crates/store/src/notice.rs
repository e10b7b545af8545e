//! The notice port of the store.

use super::*;

fn notice_version_from_row(row: &AnyRow) -> Result<NoticeVersion, StoreError> {
    Ok(NoticeVersion {
        service_code: row.col("service_code")?,
        version: row.col("version")?,
        digest: row.col("digest")?,
        markdown: row.col("markdown")?,
        published_at_micros: row.col("published_at")?,
    })
}

impl NoticeStore for SqlStore {
    async fn notice_versions(&self, service_code: &str) -> Result<Vec<NoticeVersion>, StoreError> {
        self.read_all(
            "SELECT service_code, version, digest, markdown, published_at FROM notice_version \
             WHERE service_code = $1 ORDER BY version DESC",
            service_code,
            notice_version_from_row,
        )
        .await
    }

    async fn publish_notice(
        &self,
        version: &NoticeVersion,
        audit: AuditDraft,
    ) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO notice_version (service_code, version, digest, markdown, published_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&version.service_code)
        .bind(version.version)
        .bind(&version.digest)
        .bind(&version.markdown)
        .bind(version.published_at_micros);
        insert_audited(
            self,
            insert,
            "that notice version is already published",
            audit,
        )
        .await
    }

    async fn people_ids_of_service(
        &self,
        service_id: Uuid,
        audit: AuditDraft,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.read_all_audited(
            "SELECT p.id FROM person p WHERE p.service_id = $1 \
             AND EXISTS (SELECT 1 FROM data_key k WHERE k.owner_id = p.id) ORDER BY p.id",
            service_id,
            |row| id(row, "id"),
            audit,
        )
        .await
    }
}
