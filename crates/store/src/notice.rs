//! The notice port of the store.

use super::*;

impl NoticeStore for SqlStore {
    async fn notice_versions(&self, service_code: &str) -> Result<Vec<NoticeVersion>, StoreError> {
        sqlx::query(
            "SELECT service_code, version, digest, markdown, published_at FROM notice_version \
             WHERE service_code = $1 ORDER BY version DESC",
        )
        .bind(service_code)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            Ok(NoticeVersion {
                service_code: row.try_get("service_code").map_err(backend_error)?,
                version: row.try_get("version").map_err(backend_error)?,
                digest: row.try_get("digest").map_err(backend_error)?,
                markdown: row.try_get("markdown").map_err(backend_error)?,
                published_at_micros: row.try_get("published_at").map_err(backend_error)?,
            })
        })
        .collect()
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

    async fn people_ids_of_service(&self, service_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query("SELECT id FROM person WHERE service_id = $1 ORDER BY id")
            .bind(service_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| id(row, "id"))
            .collect()
    }
}
