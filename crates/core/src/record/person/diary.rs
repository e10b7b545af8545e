//! The diary: a worker's appointments over some UK days (today, this week), whose as in a
//! caseload (mine by default, a colleague's, a team's, everyone's), each with the person, what and
//! where, and its status; the page sends a reminder from it through the outbox
//! ([`Confidant::queue_message`], which keeps to the person's refused channels and safe times).
//!
//! Rules: as a caseload's ([`super::caseload`]): `person.list` on the service, each line held to
//! the actor's read scope, the read audited (`diary.read`); only the person's name and the
//! appointment's own values are opened. Days are UK days: from UK midnight to UK midnight, so a
//! day is 23 or 25 hours long at a clock change.

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{PersonField, RecordKind};
use crate::organisation::micros;
use crate::record::open_values;
use crate::store::{EntryStatus, Store};
use crate::uk_time;
use crate::{Clock, Confidant};

use super::caseload::filter_of;
use super::search::Listing;
use super::*;

/// The most appointments a diary shows.
pub const MAX_DIARY: usize = 500;
/// The most appointments of the service read to fill a diary: lines out of the actor's scope are
/// left out after the read, so a team's diary in a big service reads more than it shows.
const MAX_DIARY_READ: u32 = 5_000;

/// One appointment. Prints no values.
#[derive(Clone)]
pub struct DiaryLine {
    pub entry_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub at: OffsetDateTime,
    pub status: Option<EntryStatus>,
    pub title: Option<String>,
    pub place: Option<String>,
    pub key_worker_id: Option<Uuid>,
}

impl fmt::Debug for DiaryLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiaryLine({}, [redacted])", self.entry_id)
    }
}

/// A diary: its appointments in time order, and whether there were more than it holds.
#[derive(Debug, Clone)]
pub struct Diary {
    pub lines: Vec<DiaryLine>,
    pub more: bool,
    /// The handles of the service's staff, by id.
    pub workers: BTreeMap<Uuid, String>,
    /// The service's teams, by id, with their names.
    pub teams: BTreeMap<Uuid, String>,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The appointments of `days` UK days from `first` (UK midnight to UK midnight) of the people
    /// `of` names, within the actor's scope, in time order; at most [`MAX_DIARY`].
    pub async fn diary(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        of: CaseloadOf,
        first: Date,
        days: u16,
    ) -> Result<Diary, PersonError> {
        let Listing {
            permit,
            organisation_id,
            scope,
        } = self.listing(actor, purpose, service_id).await?;
        let filter = filter_of(actor, of, None)?;
        let last = first
            .checked_add(time::Duration::days(i64::from(days)))
            .unwrap_or(first);
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("diary.read");
        let rows = self
            .store
            .appointments_between(
                service_id,
                &filter,
                &[PersonField::GivenName, PersonField::FamilyName],
                micros(uk_time::uk_midnight(first)),
                micros(uk_time::uk_midnight(last)),
                MAX_DIARY_READ,
                audit,
            )
            .await?;
        // More than shown: more in scope than a diary holds, or the read stopped at its cap.
        let mut more = rows.len() == MAX_DIARY_READ as usize;
        let mut lines = Vec::new();
        for row in &rows {
            // Out of the actor's team or caseload: left out silently, as in a list.
            if !self.listed_in_scope(actor, &row.person, organisation_id, scope) {
                continue;
            }
            if lines.len() == MAX_DIARY {
                more = true;
                break;
            }
            let person = self.open_person(&row.person, &row.key)?;
            let key = self.keys.data_key(&row.key)?;
            let values = open_values(
                RecordKind::Appointment,
                &key,
                row.entry_id,
                row.entry_key_version,
                &row.values,
            )?;
            lines.push(DiaryLine {
                entry_id: row.entry_id,
                person_id: person.id,
                person_name: format!(
                    "{} {}",
                    person.get(PersonField::GivenName).unwrap_or_default(),
                    person.get(PersonField::FamilyName).unwrap_or_default()
                )
                .trim()
                .to_owned(),
                at: from_micros(row.occurs_at_micros),
                status: row.status,
                title: values.get("title").map(str::to_owned),
                place: values.get("place").map(str::to_owned),
                key_worker_id: row.person.key_worker_id,
            });
        }
        Ok(Diary {
            lines,
            more,
            workers: self.service_staff(service_id).await?,
            teams: self
                .store
                .teams(service_id)
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
        })
    }
}
