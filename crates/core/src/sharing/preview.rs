//! What a share would send, shared by the share itself and its dry run (the check step).

use super::*;
use crate::access::Principal;

/// Exactly what a share sends: person fields by code, entries as the package holds them, and the
/// log's items.
pub(super) struct Contents {
    pub(super) fields: serde_json::Map<String, serde_json::Value>,
    pub(super) entries: Vec<serde_json::Value>,
    pub(super) items: Vec<DisclosedItem>,
}

/// The dry run of a share (the check step): every rule it would break now, each by its true
/// cause, and, when nothing but a missing reason stands in its way, exactly what it would send
/// (`{"fields": {...}, "entries": [...]}`, as in the package). It decides nothing: the share
/// checks everything again.
#[derive(Clone)]
pub struct Preview {
    pub refusals: Vec<Refusal>,
    pub package: Option<serde_json::Value>,
}

impl fmt::Debug for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preview")
            .field("refusals", &self.refusals)
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Runs a share's rules without sharing: writes no disclosure, only the audit of what it reads
    /// (the rules' facts and, when it shows them, the record's values). The reasons (written in
    /// the last step) may be absent; everything else is checked as the share checks it.
    pub async fn preview_share(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Preview, PersonError> {
        let decision = self
            .decide(actor, purpose, person_id, request, Mode::DryRun)
            .await?;
        let refusals = decision.refusals();
        let package = if decision.broken.iter().all(|r| r.fixed_by_a_reason()) {
            let c = self
                .contents(actor, purpose, person_id, &decision.parsed)
                .await?;
            Some(serde_json::json!({ "fields": c.fields, "entries": c.entries }))
        } else {
            None
        };
        Ok(Preview { refusals, package })
    }

    /// Reads exactly what a share of `parsed` sends (audited as the reads they are).
    pub(super) async fn contents(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        parsed: &Parsed,
    ) -> Result<Contents, PersonError> {
        let person = self.read_person(actor, purpose, person_id).await?;
        let mut fields = serde_json::Map::new();
        let mut items = Vec::new();
        for f in &parsed.fields {
            if let Some(value) = person.get(*f) {
                fields.insert(f.code().to_owned(), value.into());
                items.push(DisclosedItem::Field(f.code().to_owned()));
            }
        }
        let mut entries = Vec::new();
        if parsed.entries != EntrySelection::None {
            let wanted: Option<BTreeSet<Uuid>> = match &parsed.entries {
                EntrySelection::Some(ids) => Some(ids.iter().copied().collect()),
                _ => None,
            };
            let mut all = self
                .entries(actor, purpose, person_id, &SHAREABLE_KINDS)
                .await?;
            all.sort_by_key(|e| (e.occurs_at, e.id));
            for e in all {
                if wanted.as_ref().is_some_and(|w| !w.contains(&e.id)) {
                    continue;
                }
                // Never what could harm or identify a complainant, nor what was entered in error.
                if e.flags.serious_harm || e.flags.identifies_complainant || e.in_error.is_some() {
                    continue;
                }
                let mut values = serde_json::Map::new();
                for (code, value) in e.values.iter() {
                    let leaves = record_field(e.kind, code).is_some_and(|spec| {
                        spec.may_leave && spec.classification != Classification::ThirdParty
                    });
                    if leaves {
                        values.insert(code.to_owned(), value.into());
                    }
                }
                entries.push(serde_json::json!({
                    "id": e.id,
                    "kind": e.kind.code(),
                    "occurs_at": rfc3339(e.occurs_at),
                    "status": e.status.map(|s| s.code()),
                    "values": values,
                }));
                items.push(DisclosedItem::Entry(e.id));
            }
        }
        Ok(Contents {
            fields,
            entries,
            items,
        })
    }
}
