//! Publishing a service's notice as a new version whenever it changes, what changed since the
//! version before, and whom to tell (ids only).

use crate::register::Register;

use super::notice;

/// A service's notice as published: its latest version, what changed from the one before, and
/// the people to tell (ids only, by service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeChange {
    pub service_code: String,
    pub version: i64,
    pub published_at_micros: i64,
    /// The version before, if any.
    pub previous: Option<i64>,
    /// Lines removed (`-`) and added (`+`) since the version before.
    pub changes: Vec<(char, String)>,
}

/// What a publication did for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub service_code: String,
    pub version: i64,
    /// A new version was published (the notice changed, or it is the first).
    pub new: bool,
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// Publishes every service's notice from `register`: a new version wherever the notice differs
    /// from the last one published (its digest), audited as `notice.publish`. Runs at start-up, for
    /// the operator only ("not found" to anyone else).
    pub async fn publish_notices(
        &self,
        operator: &crate::access::Principal,
        register: &Register,
    ) -> Result<Vec<Published>, crate::person::PersonError> {
        if !matches!(operator.actor(), confidant_policy::Actor::System) {
            return Err(crate::person::PersonError::NotFound);
        }
        let mut out = Vec::new();
        for service in &register.services {
            let n = notice(register, &service.id).map_err(|e| {
                crate::person::PersonError::Invalid(crate::person::Violations(vec![
                    crate::person::Violation::new("notice", e.to_string()),
                ]))
            })?;
            let digest = n.digest();
            let latest = self.store.notice_versions(&service.id).await?;
            let last = latest.first();
            if last.is_some_and(|v| v.digest == digest) {
                out.push(Published {
                    service_code: service.id.clone(),
                    version: last.map_or(0, |v| v.version),
                    new: false,
                });
                continue;
            }
            let now = self.clock().now();
            let version = crate::store::NoticeVersion {
                service_code: service.id.clone(),
                version: last.map_or(1, |v| v.version + 1),
                digest,
                markdown: n.markdown(),
                published_at_micros: crate::organisation::micros(now),
            };
            let mut audit = crate::audit::AuditDraft::notice_published(now);
            // A changed notice (not the first) is told to each person the service supports: a
            // task about each, for those who may read their record, opened with the version.
            if last.is_some() {
                for placement in self.store.living_placements_of_service(&service.id).await? {
                    audit = audit.opens(crate::store::NewTask::tell_of_notice(&placement));
                }
            }
            match self.store.publish_notice(&version, audit).await {
                Ok(()) => out.push(Published {
                    service_code: service.id.clone(),
                    version: version.version,
                    new: true,
                }),
                // Another process published the same version first: if it is this notice, that
                // is the same outcome.
                Err(crate::store::StoreError::Conflict(_))
                    if self
                        .store
                        .notice_versions(&service.id)
                        .await?
                        .first()
                        .is_some_and(|v| v.digest == version.digest) =>
                {
                    out.push(Published {
                        service_code: service.id.clone(),
                        version: version.version,
                        new: false,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// The latest published version of a service's notice and what changed from the one before
    /// (public: no one's data). Whom to tell is [`Self::people_to_tell`]'s.
    pub async fn notice_change(
        &self,
        service_code: &str,
    ) -> Result<Option<NoticeChange>, crate::person::PersonError> {
        let versions = self.store.notice_versions(service_code).await?;
        let Some(latest) = versions.first() else {
            return Ok(None);
        };
        let previous = versions.get(1);
        let mut changes = Vec::new();
        if let Some(prev) = previous {
            let diff = similar::TextDiff::from_lines(&prev.markdown, &latest.markdown);
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => continue,
                };
                changes.push((sign, change.value().trim_end().to_owned()));
            }
        }
        Ok(Some(NoticeChange {
            service_code: service_code.to_owned(),
            version: latest.version,
            published_at_micros: latest.published_at_micros,
            previous: previous.map(|p| p.version),
            changes,
        }))
    }

    /// Whom to tell of a change to a service's notice: the ids of its people (no values), for
    /// those who may list them (its practitioners and managers; never the operator), audited in the
    /// same transaction as the read.
    pub async fn people_to_tell(
        &self,
        actor: &crate::access::Principal,
        purpose: crate::audit::Purpose,
        service_id: uuid::Uuid,
    ) -> Result<Vec<uuid::Uuid>, crate::person::PersonError> {
        let action = confidant_policy::Action::PersonList;
        let resource = self
            .service_resource(actor, action, service_id, purpose)
            .await?;
        let permit = self.person_permit(actor, action, resource, purpose).await?;
        let audit = crate::audit::AuditDraft::permitted(&permit, purpose, self.clock().now())
            .named("notice.people_to_tell");
        Ok(self.store.people_ids_of_service(service_id, audit).await?)
    }
}
