//! An access request's bundle: compiled from everything the record holds, reviewed item by item,
//! checked by a second person, then released to the person, locked, and logged as a disclosure to
//! them.
//!
//! Guarantees:
//! - Only an open access request has a bundle, compiled, decided, checked and released by whoever
//!   moves the service's requests on (`rights.manage`), and shown to whoever may read them
//!   (`rights.read`). Reading the record's content for it is audited on the request, each time.
//! - The search covers the person's details, cases, entries, documents, related people,
//!   referrals, consents, the disclosure log and messages, and its manifest says what each gave
//!   and what it left out and why. A third party's details never join an item: a related person
//!   appears by relationship, an entry without who supplied it, a referral without who referred.
//! - Each flagged item is proposed for withholding under its exemption, or waits for a decision,
//!   by the rules of [`super::redaction`]; an item naming or locating someone who named the
//!   person (or whoever asks for them) as an alleged perpetrator is withheld whatever anyone
//!   decides. A request made for the person by someone named in their record as an alleged
//!   perpetrator is never compiled: nothing of the record may reach them.
//! - Nothing is released until every flagged item is decided, every opinion still counts, the
//!   supplementary information can be made, and someone who decided none of its items has
//!   checked it; a change of decision undoes the check. The release logs the copy (the released
//!   items, the supplementary information, the manifest and what was withheld under which
//!   exemption) as a disclosure to the person, locks the bundle and records the request answered.

use std::collections::HashMap;

use confidant_policy::{Action, Permit};
use uuid::Uuid;

use super::gather::{Found, ManifestLine};
use super::redaction::{propose, release_problems};
use super::supplementary::{SupplementaryPart, supplementary};
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::PersonError;
use crate::retention::uk_date;
use crate::store::{
    BundleItemRecord, BundleRecord, BundleSource, Decision, Relationship, RightKind,
    RightsRequestRecord, Store,
};
use crate::{Clock, Confidant};

/// The schema of a released copy's JSON (documented in docs/api.md).
pub const BUNDLE_SCHEMA: &str = "confidant.access-copy/1";

/// An item of a bundle with how it reads.
#[derive(Clone)]
pub struct BundleItem {
    pub record: BundleItemRecord,
    pub heading: String,
    pub rows: Vec<(String, String)>,
}

impl std::fmt::Debug for BundleItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BundleItem({}, [redacted])", self.record.position)
    }
}

/// A request's bundle as the review shows it.
#[derive(Debug, Clone)]
pub struct BundleView {
    pub request: RightsRequestRecord,
    pub bundle: Option<BundleRecord>,
    pub items: Vec<BundleItem>,
    pub manifest: Vec<ManifestLine>,
    pub supplementary: Result<Vec<SupplementaryPart>, Vec<String>>,
    /// What stops the release today (empty when it may be released).
    pub problems: Vec<String>,
}

/// A decision as a form or the API gives it.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    pub decision: &'a str,
    pub reason: &'a str,
    /// The UK day of the health professional's opinion, `YYYY-MM-DD`, where the reason needs one.
    pub opinion_on: Option<&'a str>,
    pub opinion_by: Option<&'a str>,
    /// The item's reference (a field's code, an entry's id) as the reviewer saw it: a search
    /// since may have put another item in its place.
    pub reference: Option<&'a str>,
}

fn key_of(source: BundleSource, reference: &str) -> (BundleSource, String) {
    (source, reference.to_owned())
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The request (`action` on its service), and a permit on the person it is about to read
    /// their record for it.
    async fn bundle_permits(
        &self,
        actor: &Principal,
        action: Action,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<(RightsRequestRecord, Permit, Permit), PersonError> {
        let (request, service_permit) = self
            .request_permit(actor, action, organisation_id, request_id)
            .await?;
        let (person_permit, _) = self
            .permit_on_person(
                actor,
                Action::RightsLog,
                request.person_id,
                Purpose::Administration,
            )
            .await?;
        Ok((request, service_permit, person_permit))
    }

    fn refuse(
        &self,
        permit: &Permit,
        code: &'static str,
        message: &'static str,
    ) -> (AuditDraft, PersonError) {
        let audit = AuditDraft::refused_under(permit, Purpose::Administration, self.clock.now())
            .named("rights.bundle");
        (audit, PersonError::Forbidden { code, message })
    }

    /// Compiles an open access request's bundle, or compiles it again: a decision stands on an
    /// item that reads and is flagged as it did; the second check is undone.
    pub async fn compile_bundle(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        request_id: Uuid,
    ) -> Result<BundleView, PersonError> {
        let (request, permit, person_permit) = self
            .bundle_permits(actor, Action::RightsManage, organisation_id, request_id)
            .await?;
        if request.kind != RightKind::Access || !request.state.is_open() {
            return Err(PersonError::Conflict(
                "only an open access request has a bundle",
            ));
        }
        let existing = self.store.bundle(request_id).await?;
        if existing
            .as_ref()
            .is_some_and(|(b, _)| b.released_at_micros.is_some())
        {
            return Err(PersonError::Conflict(
                "the bundle was released and is locked",
            ));
        }
        self.refuse_perpetrator_requester(&permit, &person_permit, &request)
            .await?;
        let gathered = self.gather(&person_permit, &request).await?;
        let now = self.clock.now();
        // Searched again: a decision stands on an item that reads and is flagged as it was.
        let before: HashMap<(BundleSource, String), BundleItemRecord> = existing
            .as_ref()
            .map(|(_, items)| {
                items
                    .iter()
                    .map(|i| (key_of(i.source, &i.reference), i.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let items: Vec<BundleItemRecord> = gathered
            .found
            .iter()
            .zip(0_i64..)
            .map(|(f, position)| {
                let p = propose(&f.flags);
                let digest = hex::encode(self.keys.bundle_item_digest(request_id, &f.content()));
                let mut item = BundleItemRecord {
                    request_id,
                    position,
                    source: f.source,
                    reference: f.reference.clone(),
                    digest,
                    flags: f.flags.clone(),
                    proposed_withhold: p.withhold,
                    exemption: p.exemption,
                    locked: p.locked,
                    decision: p.locked.then_some(Decision::Withhold),
                    reason: None,
                    opinion_on: None,
                    opinion_by: None,
                    decided_by: None,
                    decided_at_micros: None,
                };
                if let Some(old) = before.get(&key_of(f.source, &f.reference))
                    && old.digest == item.digest
                    && old.flags == item.flags
                    && !item.locked
                {
                    item.decision = old.decision;
                    item.reason = old.reason;
                    item.opinion_on = old.opinion_on.clone();
                    item.opinion_by = old.opinion_by;
                    item.decided_by = old.decided_by.clone();
                    item.decided_at_micros = old.decided_at_micros;
                }
                item
            })
            .collect();
        let bundle = BundleRecord {
            request_id,
            compiled_by: actor.audit_id(),
            compiled_at_micros: micros(now),
            manifest: serde_json::to_string(&gathered.manifest).unwrap_or_default(),
            checked_by: None,
            checked_at_micros: None,
            released_by: None,
            released_at_micros: None,
            disclosure_id: None,
            version: existing.as_ref().map_or(1, |(b, _)| b.version + 1),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("rights.bundle.compile")
            .on("rights_request", request_id);
        let saved = self
            .store
            .save_bundle(
                &bundle,
                &items,
                true,
                existing.as_ref().map(|(b, _)| b.version),
                audit,
            )
            .await?;
        if !saved {
            return Err(PersonError::Conflict(
                "the bundle changed meanwhile: look at it again",
            ));
        }
        let supplementary = self.supplementary_for(&request).await?;
        Ok(self.view_of(
            request,
            Some((bundle, items)),
            Some(gathered.found),
            supplementary,
        ))
    }

    /// Refuses (audited) a request made for the person by someone their record names as an
    /// alleged perpetrator: under that row, under another row linked to the same record, or under
    /// another row with the same name (given and family names, whatever their case); or by someone
    /// no longer among the record's related people (who asked can no longer be checked).
    pub(crate) async fn refuse_perpetrator_requester(
        &self,
        permit: &Permit,
        person_permit: &Permit,
        request: &RightsRequestRecord,
    ) -> Result<(), PersonError> {
        let Some(rep) = request.representative_id else {
            return Ok(());
        };
        let (code, message) = match self.store.related_link(request.person_id, rep).await? {
            None => (
                "requester_unknown",
                "whoever asked on the person's behalf is no longer among the record's related people, so who they are cannot be checked: nothing of the record may go to them; refuse the request, or answer the person directly",
            ),
            Some(link) => {
                let named_here = link.relationship == Relationship::AllegedPerpetrator;
                let named_again_here = match link.linked_person_id {
                    Some(linked) => {
                        self.store
                            .is_alleged_perpetrator_in(
                                &crate::access::PersonAccess::deciding(request.person_id),
                                linked,
                            )
                            .await?
                    }
                    None => false,
                };
                let named_alike = !named_here
                    && !named_again_here
                    && self
                        .named_like_a_perpetrator(person_permit, request, rep)
                        .await?;
                if !(named_here || named_again_here || named_alike) {
                    return Ok(());
                }
                (
                    "requester_alleged_perpetrator",
                    "the request is made by someone this record names as an alleged perpetrator: nothing of it may reach them; refuse it, or answer the person directly through their safe contact details",
                )
            }
        };
        let (audit, err) = self.refuse(permit, code, message);
        self.store.record_access(audit).await?;
        Err(err)
    }

    /// Whether related person `rep` of the record has the name of one of its alleged perpetrators
    /// (the names opened to compare, never shown; the read audited on the request).
    async fn named_like_a_perpetrator(
        &self,
        person_permit: &Permit,
        request: &RightsRequestRecord,
        rep: Uuid,
    ) -> Result<bool, PersonError> {
        let audit = AuditDraft::permitted(person_permit, Purpose::Administration, self.clock.now())
            .named("rights.requester_check")
            .on("rights_request", request.id);
        let rows = self
            .store
            .related_of(&crate::person::access_of(person_permit)?, audit)
            .await?;
        let mut requester = None;
        let mut perpetrators = Vec::new();
        for (record, sealed, wrapped) in &rows {
            let key = self.keys.data_key(wrapped)?;
            let values = crate::record::open_values(
                crate::field::RecordKind::Related,
                &key,
                record.id,
                record.key_version,
                sealed,
            )?;
            let name = |code: &str| {
                values
                    .get(code)
                    .map_or_else(String::new, |v| v.trim().to_lowercase())
            };
            let full = (name("given_name"), name("family_name"));
            if record.id == rep {
                requester = Some(full);
            } else if record.relationship == Relationship::AllegedPerpetrator {
                perpetrators.push(full);
            }
        }
        Ok(requester
            .is_some_and(|r| !(r.0.is_empty() && r.1.is_empty()) && perpetrators.contains(&r)))
    }

    /// The bundle as shown: each item with how it reads now when `found` holds the record's
    /// content (`None`: only by where it comes from, for those who may not read it), and what
    /// stops its release today, including any item that changed since it was reviewed.
    pub(crate) fn view_of(
        &self,
        request: RightsRequestRecord,
        bundle: Option<(BundleRecord, Vec<BundleItemRecord>)>,
        found: Option<Vec<Found>>,
        supplementary: Result<Vec<SupplementaryPart>, Vec<String>>,
    ) -> BundleView {
        let today = uk_date(self.clock.now());
        let shown = found.is_some();
        let mut contents: HashMap<(BundleSource, String), Found> = found
            .unwrap_or_default()
            .into_iter()
            .map(|f| (key_of(f.source, &f.reference), f))
            .collect();
        let (bundle, items) = match bundle {
            Some((b, items)) => (Some(b), items),
            None => (None, Vec::new()),
        };
        let manifest: Vec<ManifestLine> = bundle
            .as_ref()
            .and_then(|b| serde_json::from_str(&b.manifest).ok())
            .unwrap_or_default();
        let mut problems = release_problems(&items, today);
        if let Err(missing) = &supplementary {
            problems.extend(missing.iter().cloned());
        }
        let mut changed = 0;
        let items: Vec<BundleItem> = items
            .into_iter()
            .map(|record| {
                let (heading, rows) =
                    match contents.remove(&key_of(record.source, &record.reference)) {
                        _ if !shown => (record.source.label().to_owned(), Vec::new()),
                        Some(f) => {
                            let digest = hex::encode(
                                self.keys
                                    .bundle_item_digest(record.request_id, &f.content()),
                            );
                            if digest != record.digest || f.flags != record.flags {
                                changed += 1;
                            }
                            (f.heading, f.rows)
                        }
                        None => {
                            changed += 1;
                            ("No longer in the record".to_owned(), Vec::new())
                        }
                    };
                BundleItem {
                    record,
                    heading,
                    rows,
                }
            })
            .collect();
        let added = contents.len();
        if shown
            && bundle
                .as_ref()
                .is_some_and(|b| b.released_at_micros.is_none())
        {
            if changed > 0 {
                problems.push(format!(
                    "{changed} item(s) changed or left the record since it was searched: search it again (decisions on unchanged items are kept)"
                ));
            }
            if added > 0 {
                problems.push(format!(
                    "{added} item(s) were added to the record since it was searched: search it again (decisions on unchanged items are kept)"
                ));
            }
        }
        BundleView {
            request,
            bundle,
            items,
            manifest,
            supplementary,
            problems,
        }
    }

    /// The supplementary information of the request's service, or what it lacks.
    pub(crate) async fn supplementary_for(
        &self,
        request: &RightsRequestRecord,
    ) -> Result<Result<Vec<SupplementaryPart>, Vec<String>>, PersonError> {
        let Some(register) = self.register() else {
            return Ok(Err(vec![
                "no register is loaded: the supplementary information (Art. 15(1)) cannot be made"
                    .to_owned(),
            ]));
        };
        let code = self
            .store
            .service(request.service_id)
            .await?
            .and_then(|s| s.code);
        Ok(match code {
            Some(c) => supplementary(register, &c),
            None => Err(vec![
                "the register does not describe this service: the supplementary information (Art. 15(1)) cannot be made"
                    .to_owned(),
            ]),
        })
    }
}
