//! The destruction certificate: what was destroyed, on whose decision, when and why, and what was
//! not destroyed and why; pseudonymous ids, codes and counts, nothing of the record's content.
//!
//! Its body is canonical JSON (fields in a fixed order, no white space), and its SHA-256 is kept
//! beside it; it is signed as it is issued, with the installation's audit key where the process
//! holds it (`serve`, `confidant destroy` and `confidant retention sweep` do:
//! [`CertificateSignature`]), and never afterwards. Its reason
//! is the words of whoever decided, checked not to name the person: with the record's id it is
//! pseudonymous, not anonymous (the audit log and any earlier copy of the database hold that id).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::kernel::codes::codes;
use crate::store::DestructionScope;

/// The format of the certificate's body, for whoever reads it later (2: with `paper`, the paper
/// destroyed outside Confidant; 3: with `erasure`, the request a destruction answers; earlier
/// certificates have neither).
pub const FORMAT: &str = "confidant/destruction-certificate/3";

codes!(
    /// On what the destruction rests.
    DestructionBasis {
        DpoDecision = "dpo_decision": "The Data Protection Officer's decision",
        RetentionEnded = "retention_ended": "The record's retention period has ended and it was reviewed",
        Erasure = "erasure": "The person's request for erasure",
    }
);

/// What happened to one kind of item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    Destroyed,
    /// Kept on purpose (its `note` says why).
    Kept,
    /// Still to be done outside Confidant (paper to collect and destroy).
    Outstanding,
}

/// One kind of item, counted, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateItem {
    pub kind: String,
    pub count: i64,
    pub outcome: ItemOutcome,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// A destruction certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub format: String,
    pub certificate: Uuid,
    pub organisation: Uuid,
    pub service: Uuid,
    /// The destroyed record's id: pseudonymous, since nothing else of it is left.
    pub record: Uuid,
    pub basis: String,
    pub reason: String,
    /// The retention rules it was destroyed under, each with its source and version, where a
    /// retention review decided it.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub rules: Vec<String>,
    /// Who decided (a staff id, or `system` for the operator at the command line).
    pub decided_by: String,
    /// Who approved it, where a review approved it (staff ids).
    pub approved_by: Vec<String>,
    /// When, in UTC (RFC 3339).
    pub destroyed_at: String,
    pub items: Vec<CertificateItem>,
    /// Paper destroyed outside Confidant before the record: who destroyed each and their
    /// reference (a destruction certificate's number, a shredding log's entry).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub paper: Vec<PaperLine>,
    /// What becomes of copies made before.
    pub copies: String,
    /// The request for erasure the destruction answers, where it answers one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub erasure: Option<ErasureLine>,
}

/// The request for erasure a destruction answers, as its certificate states it: the request is
/// destroyed with the record, and this is what is left of it (ids and codes, and the recipients,
/// who are organisations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureLine {
    pub request: Uuid,
    /// `YYYY-MM-DD`, the UK day it was received.
    pub received_on: String,
    /// The grounds of UK GDPR Art. 17(1) found to apply (codes).
    pub grounds: Vec<String>,
    /// The exemptions of Art. 17(3) weighed, none found to apply (codes).
    pub exemptions_weighed: Vec<String>,
    /// The person had an open case and was told it could not continue without their record.
    pub open_case_told: bool,
    /// Who the disclosure log showed had received the person's data, to be told of the erasure
    /// (Art. 19): a task asks the Data Protection Officer to tell them.
    pub recipients: Vec<RecipientLine>,
}

/// A recipient named on a certificate, with the disclosures it received: their ids are on the
/// packages the recipient holds, so it can be told what to erase without naming the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientLine {
    pub id: Uuid,
    pub name: String,
    pub disclosures: Vec<Uuid>,
}

/// One piece of paper destroyed outside Confidant, as its certificate states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperLine {
    pub destroyed_by: String,
    pub reference: String,
    /// `YYYY-MM-DD`, UK calendar.
    pub destroyed_on: String,
}

/// What the certificate says of copies of the database made before the destruction. It must stay
/// true to what the installation does: see docs/status.md, issue 17.
pub const COPIES: &str = "The record's keys were destroyed in the key store, which a copy of the data alone does not carry, and the destruction is on the erasure ledger: a copy or backup made before this time, restored or opened by Confidant with this installation's ledger, loses the record again before it serves. A copy of the key store (or a backup holding it) made before this time still holds the keys until it is destroyed under the key store's backup cycle.";

fn item(kind: &str, count: i64, outcome: ItemOutcome, note: Option<&str>) -> CertificateItem {
    CertificateItem {
        kind: kind.to_owned(),
        count,
        outcome,
        note: note.map(str::to_owned),
    }
}

/// The items of a scope, in a fixed order: what is destroyed, then what is kept and why.
pub fn items(scope: &DestructionScope) -> Vec<CertificateItem> {
    use ItemOutcome::*;
    let c = &scope.counts;
    let mut out = vec![
        item("record", 1, Destroyed, Some("with its data key")),
        item("merged_records", scope.merged_records, Destroyed, None),
        item("entries", c.entries, Destroyed, None),
        item("documents", c.documents, Destroyed, None),
        item("cases", c.cases, Destroyed, None),
        item("consents", c.consents, Destroyed, None),
        item("restrictions", c.restrictions, Destroyed, None),
        item(
            "disclosures",
            c.disclosures,
            Destroyed,
            Some("the disclosure log's entries about the record"),
        ),
        item("approvals", c.approvals, Destroyed, None),
        item(
            "related_people",
            c.related_people,
            Destroyed,
            Some("with their own data keys"),
        ),
        item(
            "referrals",
            c.referrals,
            Destroyed,
            Some("with their own data keys"),
        ),
        item(
            "contact_preferences",
            c.contact_preferences,
            Destroyed,
            None,
        ),
        item("messages", c.messages, Destroyed, None),
        item("access_grants", c.grants, Destroyed, None),
        item("tasks", c.tasks, Destroyed, None),
        item("earlier_values", c.earlier_values, Destroyed, None),
        item(
            "search_entries",
            1,
            Destroyed,
            Some("blind indexes and name grams"),
        ),
        item(
            "audit_events",
            scope.audit_events,
            Kept,
            Some("ids, actions and times only: the audit chain must stay whole"),
        ),
        item(
            "released_legal_holds",
            scope.released_holds,
            Kept,
            Some("kinds and times only; their reasons were destroyed"),
        ),
    ];
    if scope.paper_destroyed > 0 {
        out.push(item(
            "paper_destroyed",
            scope.paper_destroyed,
            Destroyed,
            Some("paper notes and archived files destroyed outside Confidant: see paper for who destroyed each and their reference, where it was recorded"),
        ));
    }
    if scope.paper > 0 {
        out.push(item(
            "paper",
            scope.paper,
            Outstanding,
            Some("paper notes and archived files: collect and destroy them; their entries were destroyed"),
        ));
    }
    out
}

impl Certificate {
    /// The canonical body (the bytes its hash and signature cover).
    pub fn body(&self) -> String {
        // A struct of strings, numbers and lists: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The SHA-256 of a certificate's body, in hexadecimal.
pub fn sha256_hex(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MergeCounts;

    #[test]
    fn items_count_what_the_scope_counts_and_say_what_is_kept() {
        let scope = DestructionScope {
            counts: MergeCounts {
                entries: 3,
                disclosures: 2,
                ..MergeCounts::default()
            },
            merged_records: 1,
            paper: 1,
            paper_destroyed: 2,
            audit_events: 9,
            live_holds: 0,
            released_holds: 1,
        };
        let items = items(&scope);
        let find = |k: &str| items.iter().find(|i| i.kind == k).cloned();
        assert_eq!(find("entries").map(|i| i.count), Some(3));
        assert_eq!(find("disclosures").map(|i| i.count), Some(2));
        assert_eq!(
            find("audit_events").map(|i| (i.count, i.outcome)),
            Some((9, ItemOutcome::Kept))
        );
        assert_eq!(
            find("paper").map(|i| i.outcome),
            Some(ItemOutcome::Outstanding)
        );
        assert_eq!(
            find("paper_destroyed").map(|i| (i.count, i.outcome)),
            Some((2, ItemOutcome::Destroyed))
        );
        let none = items_without_paper();
        assert!(none.iter().all(|i| !i.kind.starts_with("paper")));
    }

    fn items_without_paper() -> Vec<CertificateItem> {
        items(&DestructionScope::default())
    }

    #[test]
    fn the_body_is_canonical_and_its_hash_covers_it() {
        let c = Certificate {
            format: FORMAT.to_owned(),
            certificate: Uuid::nil(),
            organisation: Uuid::nil(),
            service: Uuid::nil(),
            record: Uuid::nil(),
            basis: DestructionBasis::DpoDecision.code().to_owned(),
            reason: "retention period ended".to_owned(),
            rules: Vec::new(),
            decided_by: "system".to_owned(),
            approved_by: vec![],
            destroyed_at: "2026-12-06T22:00:00Z".to_owned(),
            items: items_without_paper(),
            paper: vec![PaperLine {
                destroyed_by: "Archive provider".to_owned(),
                reference: "DC-1".to_owned(),
                destroyed_on: "2026-12-01".to_owned(),
            }],
            copies: COPIES.to_owned(),
            erasure: None,
        };
        let body = c.body();
        // A certificate answering no request says nothing of one.
        assert!(!body.contains("\"erasure\""));
        assert!(body.starts_with(&format!("{{\"format\":\"{FORMAT}\"")));
        assert!(!body.contains('\n'));
        let back: Certificate = serde_json::from_str(&body).expect("parses");
        assert_eq!(back, c);
        assert_eq!(sha256_hex(&body), sha256_hex(&back.body()));
        assert_ne!(
            sha256_hex(&body),
            sha256_hex(&body.replace("ended", "ends"))
        );
    }
}

/// A certificate's Ed25519 signature by the installation's audit signing key over its body (the
/// canonical JSON, exactly as kept), with the key's public half, both hexadecimal, made as the
/// certificate was issued and kept with it. Check it with the key `confidant audit public-key`
/// prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSignature {
    pub signature: String,
    pub public_key: String,
}

impl crate::store::CertificateRecord {
    /// Its signature, if it was signed as it was issued.
    pub fn signed(&self) -> Option<CertificateSignature> {
        Some(CertificateSignature {
            signature: self.signature.clone()?,
            public_key: self.public_key.clone()?,
        })
    }
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// A new certificate's body signed, when this process holds the audit signing key:
    /// (signature, public key), hexadecimal.
    pub(super) fn sign_certificate(&self, body: &str) -> Option<(String, String)> {
        self.signer.as_ref().map(|key| {
            (
                hex::encode(key.sign(body.as_bytes())),
                key.public_key().to_hex(),
            )
        })
    }
}
