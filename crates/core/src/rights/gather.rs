//! The search behind an access request: everything the record holds, read once, each item as it
//! would leave (third parties' details never among it), with the flags the review starts from and
//! the manifest of what was searched.

use std::collections::{BTreeMap, BTreeSet};

use confidant_policy::Permit;
use time::OffsetDateTime;
use uuid::Uuid;

use super::redaction::{letters_and_digits, mentions};
use crate::access::PersonAccess;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{
    Article9Category, Classification, FieldGroup, PersonField, RecordKind, record_field,
};
use crate::person::{PersonError, access_of, from_micros};
use crate::record::open_values;
use crate::store::{BundleSource, ErrorReason, ItemFlag, RightsRequestRecord, Store};
use crate::uk_time::to_uk;
use crate::{Clock, Confidant};

/// A victim's fields that name or locate them.
const VICTIM_TERMS: [PersonField; 11] = [
    PersonField::GivenName,
    PersonField::FamilyName,
    PersonField::NhsNumber,
    PersonField::NiNumber,
    PersonField::Address,
    PersonField::Postcode,
    PersonField::Phone,
    PersonField::Email,
    PersonField::SafePhone,
    PersonField::SafeEmail,
    PersonField::SafeAddress,
];

/// One item the search found: where it is, how it reads, and its flags.
#[derive(Clone)]
pub(crate) struct Found {
    pub source: BundleSource,
    pub reference: String,
    pub heading: String,
    pub rows: Vec<(String, String)>,
    pub flags: Vec<ItemFlag>,
}

impl Found {
    /// The item as it reads, as bytes: what its digest is taken of.
    pub fn content(&self) -> Vec<u8> {
        serde_json::to_vec(&(&self.heading, &self.rows)).unwrap_or_default()
    }

    fn text(&self) -> String {
        let mut text = self.heading.clone();
        for (_, v) in &self.rows {
            text.push('\n');
            text.push_str(v);
        }
        text
    }
}

/// One source searched: how many items it gave, and how many it left out and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestLine {
    pub source: String,
    pub found: usize,
    pub left_out: usize,
    pub why_left_out: Option<String>,
}

pub(crate) struct Gathered {
    pub found: Vec<Found>,
    pub manifest: Vec<ManifestLine>,
}

/// A moment as people read it in the UK: "3 March 2026, 14:05".
pub(crate) fn moment_text(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year], [hour]:[minute]"
    );
    to_uk(t).format(&f).unwrap_or_default()
}

fn kind_label(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Note => "Case note",
        RecordKind::Plan => "Support plan",
        RecordKind::Goal => "Goal",
        RecordKind::Appointment => "Appointment",
        RecordKind::PaperNote => "Paper note",
        RecordKind::PaperFile => "Archived paper file",
        RecordKind::Document => "Document",
        RecordKind::Related => "Related person",
        RecordKind::Referral => "Referral",
        RecordKind::Person => "Your details",
    }
}

fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_owned(), value.into())
}

/// The values of a record that may leave it to the person: never a third party's.
fn own_rows(kind: RecordKind, values: &crate::record::Values) -> Vec<(String, String)> {
    values
        .iter()
        .filter_map(|(code, value)| {
            let spec = record_field(kind, code)?;
            (spec.classification != Classification::ThirdParty).then(|| row(spec.label, value))
        })
        .collect()
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Reads everything the record of `request.person_id` holds (each read audited on the
    /// request), and flags each item: about someone else, could cause serious harm, health data,
    /// on paper, and what names or locates a victim of the person or of whoever asks for them.
    pub(crate) async fn gather(
        &self,
        permit: &Permit,
        request: &RightsRequestRecord,
    ) -> Result<Gathered, PersonError> {
        let purpose = Purpose::Administration;
        let now = self.clock.now();
        let audit = || {
            AuditDraft::permitted(permit, purpose, now)
                .named("rights.bundle.read")
                .on("rights_request", request.id)
        };
        let access = access_of(permit)?;
        let (sealed, wrapped) = self
            .store
            .read_person(&access, audit())
            .await?
            .ok_or(PersonError::NotFound)?;
        let person = self.open_person(&sealed, &wrapped)?;
        let key = self.keys.data_key(&wrapped)?;
        let mut found = Vec::new();
        let mut manifest = Vec::new();
        let mut line = |source: BundleSource, found: usize, left_out: usize, why: Option<&str>| {
            manifest.push(ManifestLine {
                source: source.code().to_owned(),
                found,
                left_out,
                why_left_out: why.map(str::to_owned),
            });
        };

        // Their own details, one item each.
        let before = found.len();
        for f in PersonField::ALL {
            let Some(value) = person.get(f) else { continue };
            let spec = f.spec();
            let mut flags = Vec::new();
            if spec.classification == Classification::SpecialCategory(Article9Category::Health) {
                flags.push(ItemFlag::Health);
            }
            if spec.group == FieldGroup::SafeContact {
                flags.push(ItemFlag::SafeContact);
            }
            found.push(Found {
                source: BundleSource::Field,
                reference: f.code().to_owned(),
                heading: spec.label.to_owned(),
                rows: vec![row(spec.label, value)],
                flags,
            });
        }
        line(BundleSource::Field, found.len() - before, 0, None);

        // Cases.
        let cases = self.store.cases_of(&access, audit()).await?;
        let mut services = BTreeMap::new();
        for c in &cases {
            if let std::collections::btree_map::Entry::Vacant(e) = services.entry(c.service_id) {
                let name = self.store.service(c.service_id).await?.map(|s| s.name);
                e.insert(name.unwrap_or_default());
            }
        }
        for c in &cases {
            let mut rows = vec![
                row(
                    "Service",
                    services.get(&c.service_id).cloned().unwrap_or_default(),
                ),
                row("Opened", moment_text(from_micros(c.opened_at_micros))),
            ];
            if let Some(closed) = c.closed_at_micros {
                rows.push(row("Closed", moment_text(from_micros(closed))));
            }
            if let Some(reason) = c.closure_reason {
                rows.push(row("Why it closed", reason.label()));
            }
            found.push(Found {
                source: BundleSource::Case,
                reference: c.id.to_string(),
                heading: "Case".to_owned(),
                rows,
                flags: Vec::new(),
            });
        }
        line(BundleSource::Case, cases.len(), 0, None);

        // Related people: their relationship only; their names, to find where they are mentioned.
        let victims: BTreeSet<Uuid> = self.victims_for(request).await?;
        let related = self.store.related_of(&access, audit()).await?;
        let mut names: Vec<String> = Vec::new();
        let mut victim_terms: Vec<String> = Vec::new();
        let mut related_items = Vec::new();
        for (record, sealed, wrapped) in &related {
            let rkey = self.keys.data_key(wrapped)?;
            let values = open_values(
                RecordKind::Related,
                &rkey,
                record.id,
                record.key_version,
                sealed,
            )?;
            let of_victim = record
                .linked_person_id
                .is_some_and(|l| victims.contains(&l));
            for code in ["given_name", "family_name"] {
                if let Some(v) = values.get(code) {
                    names.push(v.to_owned());
                    if of_victim {
                        victim_terms.push(v.to_owned());
                    }
                }
            }
            let mut flags = vec![ItemFlag::RelatedPerson];
            if of_victim {
                flags.push(ItemFlag::Victim);
            }
            related_items.push(Found {
                source: BundleSource::Related,
                reference: record.id.to_string(),
                heading: "Related person".to_owned(),
                rows: vec![row("Relationship", record.relationship.label())],
                flags,
            });
        }
        line(BundleSource::Related, related_items.len(), 0, None);
        victim_terms.extend(self.victim_terms(permit, &victims).await?);

        // Entries: each as it reads, minus who supplied it; what was written here about someone
        // else by mistake is not theirs.
        let entries = self.store.entries_of(&access, &[], audit()).await?;
        let mut wrong_record = 0;
        let mut entry_items = Vec::new();
        for (record, sealed) in &entries {
            if record
                .in_error
                .as_ref()
                .is_some_and(|e| e.reason == ErrorReason::WrongRecord)
            {
                wrong_record += 1;
                continue;
            }
            let values = open_values(record.kind, &key, record.id, record.key_version, sealed)?;
            let mut rows = vec![row(
                "When",
                moment_text(from_micros(record.occurs_at_micros)),
            )];
            if let Some(c) = record.contact_type {
                rows.push(row("How", c.label()));
            }
            if let Some(s) = record.status {
                rows.push(row("Status", s.label()));
            }
            rows.extend(own_rows(record.kind, &values));
            if let Some(e) = &record.in_error {
                rows.push(row("Marked as entered in error", e.reason.label()));
            }
            let mut flags = Vec::new();
            if record.flags.third_party {
                flags.push(ItemFlag::ThirdPartySource);
            }
            if record.flags.identifies_complainant {
                flags.push(ItemFlag::Complainant);
            }
            if record.flags.serious_harm {
                flags.push(ItemFlag::SeriousHarm);
            }
            if record.kind.is_paper() {
                flags.push(ItemFlag::Paper);
            }
            entry_items.push(Found {
                source: BundleSource::Entry,
                reference: record.id.to_string(),
                heading: kind_label(record.kind).to_owned(),
                rows,
                flags,
            });
        }
        line(
            BundleSource::Entry,
            entry_items.len(),
            wrong_record,
            (wrong_record > 0).then_some("written on this record by mistake about someone else"),
        );

        // Documents: what they are (the files themselves are supplied beside the copy).
        let documents = self.store.documents_of(&access, audit()).await?;
        let documents = crate::document::open_documents(&key, documents)?;
        for d in &documents {
            let mut rows = vec![
                row("Added", moment_text(d.uploaded_at)),
                row("Type", d.media_type.clone()),
            ];
            rows.extend(own_rows(RecordKind::Document, &d.values));
            found.push(Found {
                source: BundleSource::Document,
                reference: d.id.to_string(),
                heading: if d.is_photo { "Photo" } else { "Document" }.to_owned(),
                rows,
                flags: vec![ItemFlag::File],
            });
        }
        line(BundleSource::Document, documents.len(), 0, None);
        found.extend(related_items);
        found.extend(entry_items);

        // Referrals that became this record: how and when, never who referred.
        let referrals = self.store.referrals_about(request.person_id).await?;
        for r in &referrals {
            found.push(Found {
                source: BundleSource::Referral,
                reference: r.id.to_string(),
                heading: "Referral".to_owned(),
                rows: vec![
                    row("Received", moment_text(from_micros(r.received_at_micros))),
                    row("From", r.source.label()),
                    row("Outcome", r.state.label()),
                ],
                flags: Vec::new(),
            });
        }
        line(BundleSource::Referral, referrals.len(), 0, None);

        // Consents, the disclosure log and messages: what was agreed, given and sent.
        let consents = self.store.consents_of(&access).await?;
        let purposes = self.store.consent_purposes(request.service_id).await?;
        for c in &consents {
            let purpose = purposes
                .iter()
                .find(|p| p.id == c.purpose_id)
                .map_or_else(String::new, |p| p.label.clone());
            found.push(Found {
                source: BundleSource::Consent,
                reference: c.id.to_string(),
                heading: "Consent".to_owned(),
                rows: vec![
                    row("For", purpose),
                    row("Answer", c.state.label()),
                    row("Recorded", moment_text(from_micros(c.recorded_at_micros))),
                ],
                flags: Vec::new(),
            });
        }
        line(BundleSource::Consent, consents.len(), 0, None);
        let disclosures = self.store.disclosures_of(&access).await?;
        let recipients = self.store.recipients(request.organisation_id).await?;
        for d in &disclosures {
            let to = recipients
                .iter()
                .find(|r| r.id == d.recipient_id)
                .map_or_else(String::new, |r| r.name.clone());
            found.push(Found {
                source: BundleSource::Disclosure,
                reference: d.id.to_string(),
                heading: "Shared".to_owned(),
                rows: vec![
                    row("With", to),
                    row("When", moment_text(from_micros(d.shared_at_micros))),
                    row("Lawful basis", d.basis.label()),
                    row("What", d.categories.join(", ")),
                ],
                flags: Vec::new(),
            });
        }
        line(BundleSource::Disclosure, disclosures.len(), 0, None);
        let messages = self.store.messages_of(&access, audit()).await?;
        for (m, _) in &messages {
            found.push(Found {
                source: BundleSource::Message,
                reference: m.id.to_string(),
                heading: "Message".to_owned(),
                rows: vec![
                    row("By", m.channel.label()),
                    row("What", m.template.label()),
                    row("Queued", moment_text(from_micros(m.queued_at_micros))),
                    row("Outcome", m.state.label()),
                ],
                flags: Vec::new(),
            });
        }
        line(BundleSource::Message, messages.len(), 0, None);

        // What names or locates a victim, less what is the person's own (a surname they share).
        let own: Vec<String> = PersonField::ALL
            .into_iter()
            .filter_map(|f| person.get(f).map(letters_and_digits))
            .collect();
        victim_terms.retain(|t| !own.contains(&letters_and_digits(t)));
        let safety = request.safety_review || !victims.is_empty();
        // What mentions a related person, and what names or locates a victim; with a safety
        // review, every entry and file is read before it goes.
        for item in &mut found {
            if safety
                && matches!(item.source, BundleSource::Entry | BundleSource::Document)
                && !item.flags.contains(&ItemFlag::SafetyReview)
            {
                item.flags.push(ItemFlag::SafetyReview);
            }
            let text = item.text();
            if item.source != BundleSource::Related
                && names.iter().any(|n| mentions(&text, n))
                && !item.flags.contains(&ItemFlag::MentionsRelated)
            {
                item.flags.push(ItemFlag::MentionsRelated);
            }
            if !item.flags.contains(&ItemFlag::Victim)
                && victim_terms.iter().any(|t| mentions(&text, t))
            {
                item.flags.push(ItemFlag::Victim);
            }
        }
        Ok(Gathered { found, manifest })
    }

    /// The records that name the person (or whoever asks for them) as an alleged perpetrator.
    async fn victims_for(
        &self,
        request: &RightsRequestRecord,
    ) -> Result<BTreeSet<Uuid>, PersonError> {
        let mut victims: BTreeSet<Uuid> = self
            .store
            .victims_of(request.person_id)
            .await?
            .into_iter()
            .collect();
        if let Some(rep) = request.representative_id
            && let Some(link) = self.store.related_link(request.person_id, rep).await?
            && let Some(linked) = link.linked_person_id
        {
            victims.extend(self.store.victims_of(linked).await?);
        }
        victims.remove(&request.person_id);
        Ok(victims)
    }

    /// What would name or locate each victim: their names and contact details, read from their
    /// record to be searched for (never shown), each read audited on their record.
    async fn victim_terms(
        &self,
        permit: &Permit,
        victims: &BTreeSet<Uuid>,
    ) -> Result<Vec<String>, PersonError> {
        let mut terms = Vec::new();
        for victim in victims {
            let audit = AuditDraft::permitted(permit, Purpose::Administration, self.clock.now())
                .named("rights.victim_shield")
                .on("person", *victim)
                .about(*victim);
            let Some((sealed, wrapped)) = self
                .store
                .read_person(&PersonAccess::shielding(*victim), audit)
                .await?
            else {
                continue;
            };
            let person = self.open_person(&sealed, &wrapped)?;
            terms.extend(
                VICTIM_TERMS
                    .into_iter()
                    .filter_map(|f| person.get(f).map(str::to_owned)),
            );
        }
        Ok(terms)
    }
}
