//! The review of an access request's bundle: showing it, deciding each item, the second check and
//! the release (see [`super::bundle`] for the guarantees).

use confidant_policy::Action;
use uuid::Uuid;

use super::bundle::{BUNDLE_SCHEMA, BundleView, DecisionInput};
use super::gather::ManifestLine;
use super::redaction::{ItemDecision, check_decision, released};
use super::request::StepInput;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations};
use crate::retention::uk_date;
use crate::store::{
    BundleItemRecord, BundleRecord, BundleSource, Decision, DecisionReason, DisclosedItem,
    Exemption, Professional, RequestState, Store,
};
use crate::uk_time::iso_day;
use crate::{Clock, Confidant};

/// A released copy: its disclosure log entry and the JSON the person was given.
#[derive(Clone)]
pub struct ReleasedCopy {
    pub disclosure_id: Uuid,
    pub json: serde_json::Value,
}

impl std::fmt::Debug for ReleasedCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReleasedCopy({}, [redacted])", self.disclosure_id)
    }
}

/// How long a release may take between its claim and its copy being logged: a claim older than
/// this without its copy was cut short, and is undone by the next release.
const RELEASE_UNDER_WAY_MICROS: i64 = 10 * 60 * 1_000_000;

fn invalid(v: Vec<Violation>) -> PersonError {
    PersonError::Invalid(Violations(v))
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// A request's bundle (`rights.read` on its service), audited: each item as it reads for those
    /// who answer the request (`rights.manage`: the record is read for it, audited on the
    /// request); by where it comes from only for those who just see requests.
    pub async fn bundle_view(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<BundleView, PersonError> {
        let (request, permit) = self
            .request_permit(actor, Action::RightsRead, organisation_id, request_id)
            .await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("rights.bundle.view")
            .on("rights_request", request_id);
        let stored = self.store.bundle(request_id).await?;
        let supplementary = self.supplementary_for(&request).await?;
        let answers = self
            .authorizer
            .authorize(
                actor,
                Action::RightsManage,
                confidant_policy::Resource::Service {
                    id: request.service_id,
                    organisation_id: request.organisation_id,
                },
            )
            .is_ok();
        self.store.record_access(audit).await?;
        // A released bundle is its copy (downloaded apart): the record is not read again.
        let released = stored
            .as_ref()
            .is_some_and(|(b, _)| b.released_at_micros.is_some());
        if !answers || stored.is_none() || released {
            return Ok(self.view_of(request, stored, None, supplementary));
        }
        let (_, found) = self.read_for_bundle(actor, &request).await?;
        Ok(self.view_of(request, stored, Some(found), supplementary))
    }

    /// Everything the record holds, read for the request (a permit on the person, `rights.log`).
    async fn read_for_bundle(
        &self,
        actor: &Principal,
        request: &crate::store::RightsRequestRecord,
    ) -> Result<(confidant_policy::Permit, Vec<super::gather::Found>), PersonError> {
        let (person_permit, _) = self
            .permit_on_person(
                actor,
                Action::RightsLog,
                request.person_id,
                Purpose::Administration,
            )
            .await?;
        let found = self.gather(&person_permit, request).await?.found;
        Ok((person_permit, found))
    }

    fn blocked(problems: Vec<String>) -> PersonError {
        invalid(
            problems
                .into_iter()
                .map(|p| Violation::new("bundle", p))
                .collect(),
        )
    }

    /// The stored bundle of a request that may still change, for `rights.manage`.
    async fn open_bundle(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<
        (
            crate::store::RightsRequestRecord,
            confidant_policy::Permit,
            BundleRecord,
            Vec<BundleItemRecord>,
        ),
        PersonError,
    > {
        let (request, permit) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        let Some((bundle, items)) = self.store.bundle(request_id).await? else {
            return Err(PersonError::Conflict(
                "the request has no bundle yet: compile it",
            ));
        };
        if bundle.released_at_micros.is_some() {
            return Err(PersonError::Conflict(
                "the bundle was released and is locked",
            ));
        }
        Ok((request, permit, bundle, items))
    }

    async fn save_changed(
        &self,
        bundle: &BundleRecord,
        items: &[BundleItemRecord],
        expected: i64,
        audit: AuditDraft,
    ) -> Result<(), PersonError> {
        if self
            .store
            .save_bundle(bundle, items, false, Some(expected), audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict(
                "the bundle changed meanwhile: look at it again",
            ))
        }
    }

    /// Decides one item (by its place, counted from zero) with its legal reason; any check made
    /// before is undone. Every problem with the decision is named.
    pub async fn decide_bundle_item(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
        position: i64,
        input: DecisionInput<'_>,
    ) -> Result<BundleItemRecord, PersonError> {
        let (_, permit, mut bundle, items) =
            self.open_bundle(actor, organisation_id, request_id).await?;
        let Some(mut item) = items.into_iter().find(|i| i.position == position) else {
            return Err(PersonError::NotFound);
        };
        if input.reference.is_some_and(|r| r != item.reference) {
            return Err(PersonError::Conflict(
                "the record was searched again since: look at the item again",
            ));
        }
        let now = self.clock.now();
        let today = uk_date(now);
        let mut v = Vec::new();
        let decision = Decision::from_code(input.decision.trim());
        if decision.is_none() {
            v.push(Violation::new("decision", "is not one of the choices"));
        }
        let reason = DecisionReason::from_code(input.reason.trim());
        if reason.is_none() {
            v.push(Violation::new("reason", "is not one of the choices"));
        }
        let opinion_on = match input.opinion_on.map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                let day = iso_day(t);
                if day.is_none() {
                    v.push(Violation::new("opinion_on", "is not a date (YYYY-MM-DD)"));
                }
                day
            }
        };
        let opinion_by = match input.opinion_by.map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                let p = Professional::from_code(t);
                if p.is_none() {
                    v.push(Violation::new("opinion_by", "is not one of the choices"));
                }
                p
            }
        };
        let (Some(decision), Some(reason)) = (decision, reason) else {
            return Err(invalid(v));
        };
        if !v.is_empty() {
            return Err(invalid(v));
        }
        let opinion = match (opinion_on, opinion_by) {
            (Some(day), Some(by)) => Some((day, by)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(vec![Violation::new(
                    "opinion_by",
                    "is required with the opinion's day: whose opinion it was",
                )]));
            }
            (None, Some(_)) => {
                return Err(invalid(vec![Violation::new(
                    "opinion_on",
                    "is required with whose opinion it was",
                )]));
            }
        };
        let d = ItemDecision {
            decision,
            reason,
            opinion,
        };
        check_decision(&item, &d, today).map_err(invalid)?;
        item.decision = Some(decision);
        item.reason = Some(reason);
        item.opinion_on = opinion.map(|(day, _)| day.to_string());
        item.opinion_by = opinion.map(|(_, by)| by);
        item.decided_by = Some(actor.audit_id());
        item.decided_at_micros = Some(micros(now));
        let expected = bundle.version;
        bundle.version += 1;
        bundle.checked_by = None;
        bundle.checked_at_micros = None;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("rights.bundle.decide")
            .on("rights_request", request_id);
        self.save_changed(&bundle, std::slice::from_ref(&item), expected, audit)
            .await?;
        Ok(item)
    }

    /// The second check: by someone who neither searched the record nor decided any of the items,
    /// once nothing stops the release (the record read again: nothing changed since the search).
    pub async fn check_bundle(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<BundleRecord, PersonError> {
        let (request, permit, mut bundle, items) =
            self.open_bundle(actor, organisation_id, request_id).await?;
        let now = self.clock.now();
        let me = actor.audit_id();
        if bundle.compiled_by == me
            || items
                .iter()
                .any(|i| i.decided_by.as_deref() == Some(me.as_str()))
        {
            let audit = AuditDraft::refused_under(&permit, Purpose::Administration, now)
                .named("rights.bundle.check")
                .on("rights_request", request_id);
            self.store.record_access(audit).await?;
            return Err(PersonError::Conflict(
                "the second check is made by someone who neither searched the record nor decided any of the bundle's items",
            ));
        }
        let (_, found) = self.read_for_bundle(actor, &request).await?;
        let supplementary = self.supplementary_for(&request).await?;
        let view = self.view_of(
            request,
            Some((bundle.clone(), items)),
            Some(found),
            supplementary,
        );
        if !view.problems.is_empty() {
            return Err(Self::blocked(view.problems));
        }
        let expected = bundle.version;
        bundle.version += 1;
        bundle.checked_by = Some(me);
        bundle.checked_at_micros = Some(micros(now));
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("rights.bundle.check")
            .on("rights_request", request_id);
        self.save_changed(&bundle, &[], expected, audit).await?;
        Ok(bundle)
    }

    /// Releases a checked bundle. It is first claimed (marked released, with the id its disclosure
    /// will have), so of two releases at once one wins; then the copy is logged as a disclosure to
    /// the person under that id, and the request recorded answered today. A release cut short
    /// between the two (the server stopped) is undone when released again, and checked afresh.
    pub async fn release_bundle(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<ReleasedCopy, PersonError> {
        let (request, permit) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        let Some((mut bundle, items)) = self.store.bundle(request_id).await? else {
            return Err(PersonError::Conflict(
                "the request has no bundle yet: compile it",
            ));
        };
        if let Some(id) = bundle.disclosure_id {
            if self.store.disclosure(id).await?.is_some() {
                // Released; a request left open by a failure after the copy was logged is
                // recorded answered now.
                if request.state.is_open() {
                    self.record_answered(actor, organisation_id, request_id)
                        .await?;
                }
                return Err(PersonError::Conflict(
                    "the bundle was released and is locked",
                ));
            }
            // Claimed without its copy: a release under way, or one cut short (the server
            // stopped) and undone once it is older than a release can take.
            let under_way = bundle
                .released_at_micros
                .is_some_and(|at| micros(self.clock.now()) - at < RELEASE_UNDER_WAY_MICROS);
            if under_way {
                return Err(PersonError::Conflict(
                    "a release of this bundle is under way: look at it again in a few minutes",
                ));
            }
            bundle.released_by = None;
            bundle.released_at_micros = None;
            bundle.disclosure_id = None;
        }
        if request.state != RequestState::Open {
            return Err(PersonError::Conflict(
                "the request's clock is not running (identity awaited, or clarification): it cannot be answered now",
            ));
        }
        if bundle.checked_by.is_none() {
            return Err(PersonError::Conflict(
                "the bundle has not had its second check",
            ));
        }
        let now = self.clock.now();
        let today = uk_date(now);
        let (person_permit, found) = self.read_for_bundle(actor, &request).await?;
        self.refuse_perpetrator_requester(&permit, &person_permit, &request)
            .await?;
        let supplementary = self.supplementary_for(&request).await?;
        let parts = match &supplementary {
            Ok(parts) => parts.clone(),
            Err(missing) => return Err(Self::blocked(missing.clone())),
        };
        let manifest: Vec<ManifestLine> =
            serde_json::from_str(&bundle.manifest).unwrap_or_default();
        let view = self.view_of(
            request.clone(),
            Some((bundle.clone(), items)),
            Some(found),
            supplementary,
        );
        if !view.problems.is_empty() {
            return Err(Self::blocked(view.problems));
        }
        // Claimed first: a second release at once finds it changed.
        let disclosure_id = Uuid::now_v7();
        let expected = bundle.version;
        bundle.version += 1;
        bundle.released_by = Some(actor.audit_id());
        bundle.released_at_micros = Some(micros(now));
        bundle.disclosure_id = Some(disclosure_id);
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("rights.bundle.release")
            .on("rights_request", request_id);
        self.save_changed(&bundle, &[], expected, audit).await?;
        let mut released_items = Vec::new();
        let mut disclosed = Vec::new();
        let mut withheld: std::collections::BTreeMap<&'static str, usize> =
            std::collections::BTreeMap::new();
        for item in &view.items {
            if released(&item.record) {
                released_items.push(serde_json::json!({
                    "source": item.record.source.code(),
                    "heading": item.heading,
                    "rows": item.rows.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
                }));
                match item.record.source {
                    BundleSource::Field => {
                        disclosed.push(DisclosedItem::Field(item.record.reference.clone()));
                    }
                    BundleSource::Entry => {
                        if let Ok(id) = item.record.reference.parse() {
                            disclosed.push(DisclosedItem::Entry(id));
                        }
                    }
                    _ => {}
                }
            } else {
                // A victim's data is withheld as any other person's is: saying more would tell.
                let exemption = match item.record.decision_exemption() {
                    Some(Exemption::VictimSafety) | None => Exemption::ThirdParty,
                    Some(e) => e,
                };
                *withheld.entry(exemption.code()).or_insert(0) += 1;
            }
        }
        let package = serde_json::json!({
            "schema": BUNDLE_SCHEMA,
            "request_id": request_id,
            "person_id": request.person_id,
            "released_on": today.to_string(),
            "items": released_items,
            "withheld": withheld.iter().map(|(code, count)| serde_json::json!({
                "exemption": code,
                "label": Exemption::from_code(code).map(Exemption::label),
                "items": count,
            })).collect::<Vec<_>>(),
            "supplementary": parts.iter().map(|p| serde_json::json!({
                "article": p.article,
                "heading": p.heading,
                "paragraphs": p.paragraphs,
                "items": p.items,
            })).collect::<Vec<_>>(),
            "searched": manifest,
        });
        let logged = self
            .log_own_copy(
                &person_permit,
                Purpose::Administration,
                request.person_id,
                disclosed,
                &package,
                ("rights.bundle.disclose", disclosure_id),
            )
            .await;
        if let Err(e) = logged {
            // Not given: the claim is undone, so the bundle can be released again.
            let claimed = bundle.version;
            bundle.version += 1;
            bundle.released_by = None;
            bundle.released_at_micros = None;
            bundle.disclosure_id = None;
            let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
                .named("rights.bundle.unclaim")
                .on("rights_request", request_id);
            self.save_changed(&bundle, &[], claimed, audit).await?;
            return Err(e);
        }
        self.record_answered(actor, organisation_id, request_id)
            .await?;
        Ok(ReleasedCopy {
            disclosure_id,
            json: package,
        })
    }

    /// Records the request answered today, its copy released.
    async fn record_answered(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<(), PersonError> {
        let on = uk_date(self.clock.now()).to_string();
        self.step_rights_request(
            actor,
            organisation_id,
            request_id,
            StepInput {
                step: "answered",
                on: &on,
                detail: None,
            },
        )
        .await?;
        Ok(())
    }

    /// The copy a released bundle gave the person (`rights.manage`: those who send it), audited.
    pub async fn released_copy(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<ReleasedCopy, PersonError> {
        let (_, permit) = self
            .request_permit(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        let Some(disclosure_id) = self
            .store
            .bundle(request_id)
            .await?
            .and_then(|(b, _)| b.disclosure_id)
        else {
            return Err(PersonError::Conflict("the bundle has not been released"));
        };
        let d = self.open_disclosure(disclosure_id, true).await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("rights.bundle.copy")
            .on("rights_request", request_id);
        self.store.record_access(audit).await?;
        let json = d.package.ok_or(PersonError::NotFound)?;
        Ok(ReleasedCopy {
            disclosure_id,
            json,
        })
    }
}
