//! How a member of staff is set up: their display name and job title, and where they work (a
//! service, a team) given their role.
//!
//! Guarantees: a display name and a job title are one line of at most 100 characters, without
//! control or bidirectional-override characters, with something visible in them (or empty, for
//! none); an account is never set up in a way its role contradicts — a practitioner or manager
//! without a service, an organisation-wide role (or a processor's or trustee's account) in a
//! service, a team of another service, a team for a role that has none, or a team manager without
//! a team where the service's people are seen by team or caseload. A refused set-up names each
//! field and changes nothing. The rules are pure functions ([`setup_violations`]), tested without a
//! database.

use confidant_policy::{AccessScope, Action, Role};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::{OrganisationError, micros};
use crate::person::{Violation, Violations};
use crate::store::{StaffDetails, StaffRecord, Store};
use crate::{Clock, Confidant};

/// The longest display name or job title, in characters.
pub const MAX_NAME: usize = 100;

/// A new account as the staff form (or `confidant user add`) gives it, as typed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub role: Role,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub handle: String,
    /// Empty for none: the account is then shown by its handle.
    pub display_name: String,
    /// Empty for none.
    pub job_title: String,
}

/// What the account page changes, as typed (empty texts for none).
#[derive(Debug, Clone, Default)]
pub struct DetailsInput {
    pub display_name: String,
    pub job_title: String,
    pub team_id: Option<Uuid>,
}

/// Whether a role works in one service (and so needs one): practitioners and managers.
pub fn works_in_service(role: Role) -> bool {
    matches!(
        role,
        Role::Practitioner | Role::TeamManager | Role::ServiceManager
    )
}

/// Whether a role can be in a team: practitioners and team managers (a service manager oversees
/// the whole service).
pub fn has_team(role: Role) -> bool {
    matches!(role, Role::Practitioner | Role::TeamManager)
}

fn unwanted(c: char) -> bool {
    // Control characters (line breaks included), and the bidirectional embeddings, overrides and
    // isolates that can make a name display as something else.
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A display name or job title as typed: `None` when left empty.
pub fn optional_line(field: &'static str, input: &str) -> Result<Option<String>, Violation> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let message = if text.chars().count() > MAX_NAME {
        Some(format!("is too long (at most {MAX_NAME} characters)"))
    } else if text.chars().any(unwanted) {
        Some("must be one line, without control characters".to_owned())
    } else if !crate::identifier::has_visible(text) {
        Some(crate::identifier::VISIBLE_REQUIRED.to_owned())
    } else {
        None
    };
    match message {
        Some(m) => Err(Violation::new(field, m)),
        None => Ok(Some(text.to_owned())),
    }
}

/// A role in words, for the refusals.
fn role_words(role: Role) -> &'static str {
    match role {
        Role::Practitioner => "a practitioner",
        Role::TeamManager => "a team manager",
        Role::ServiceManager => "a service manager",
        Role::DataProtectionOfficer => "the Data Protection Officer",
        Role::CaldicottGuardian => "the Caldicott Guardian",
        Role::Administrator => "an administrator",
        Role::ProcessorStaff => "a processor's worker",
        Role::Trustee => "a trustee",
        Role::Auditor => "an auditor",
    }
}

/// Where an account is to work: the service chosen (with how far its staff see), and the service
/// the chosen team belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub service: Option<(Uuid, AccessScope)>,
    /// The service of the team chosen, when a team is chosen.
    pub team_service: Option<Uuid>,
}

/// What contradicts `role` in `placement`, by field (`service`, `team`); empty when it is a sound
/// set-up.
pub fn setup_violations(role: Role, placement: Placement) -> Vec<Violation> {
    let mut out = Vec::new();
    let who = role_words(role);
    match (works_in_service(role), placement.service) {
        (true, None) => out.push(Violation::new(
            "service",
            format!("is needed: {who} works in one service"),
        )),
        (false, Some(_)) => out.push(Violation::new(
            "service",
            match role {
                Role::ProcessorStaff => format!(
                    "must be none: {who} works for a processor (the Data Protection Officer names it on the processor's page), not in a service"
                ),
                _ => format!("must be none: {who} works across the organisation, not in one service"),
            },
        )),
        _ => {}
    }
    match (placement.team_service, placement.service) {
        (Some(_), _) if !has_team(role) => out.push(Violation::new(
            "team",
            format!("must be none: {who} is in no team"),
        )),
        (Some(team_service), Some((service, _))) if team_service != service => out.push(
            Violation::new("team", "must be a team of the service they work in"),
        ),
        (None, Some((_, AccessScope::Team | AccessScope::Caseload)))
            if role == Role::TeamManager =>
        {
            out.push(Violation::new(
                "team",
                "is needed: in this service staff see people by team or caseload, so a team manager without a team would manage nobody",
            ))
        }
        _ => {}
    }
    out
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Where an account would work, read from the store: a service of another organisation and a
    /// team that does not exist are refused by field.
    async fn placement(
        &self,
        organisation_id: Uuid,
        service_id: Option<Uuid>,
        team_id: Option<Uuid>,
        violations: &mut Vec<Violation>,
    ) -> Result<Placement, OrganisationError> {
        let service = match service_id {
            None => None,
            Some(sid) => match self.store.service(sid).await? {
                Some(s) if s.organisation_id == organisation_id => Some((
                    s.id,
                    self.store
                        .service_scope(s.id)
                        .await?
                        .unwrap_or(AccessScope::Service),
                )),
                _ => {
                    violations.push(Violation::new(
                        "service",
                        "is not a service of this organisation",
                    ));
                    return Ok(Placement {
                        service: None,
                        team_service: None,
                    });
                }
            },
        };
        let team_service = match team_id {
            None => None,
            Some(tid) => match self.store.team(tid).await? {
                Some(team) => Some(team.service_id),
                None => {
                    violations.push(Violation::new("team", "is not a team of this organisation"));
                    return Ok(Placement {
                        service,
                        team_service: None,
                    });
                }
            },
        };
        let placement = Placement {
            service,
            team_service,
        };
        Ok(placement)
    }

    /// Adds a member of staff as the staff form does: their handle, role, service, team, display
    /// name and job title, refused by field (and nothing written) when any is wrong or the set-up
    /// contradicts the role.
    pub async fn add_staff(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        new: &NewStaff,
    ) -> Result<StaffRecord, OrganisationError> {
        let resource = self.organisation_resource(organisation_id).await?;
        let permit = self.permit(actor, Action::StaffCreate, resource).await?;
        let mut violations = Vec::new();
        let handle = crate::organisation::staff_handle(&new.handle)
            .map_err(|v| violations.extend(v.0))
            .ok();
        let display_name = optional_line("display_name", &new.display_name)
            .map_err(|v| violations.push(v))
            .ok()
            .flatten();
        let job_title = optional_line("job_title", &new.job_title)
            .map_err(|v| violations.push(v))
            .ok()
            .flatten();
        let before = violations.len();
        let placement = self
            .placement(
                organisation_id,
                new.service_id,
                new.team_id,
                &mut violations,
            )
            .await?;
        if violations.len() == before {
            violations.extend(setup_violations(new.role, placement));
        }
        let Some(handle) = handle.filter(|_| violations.is_empty()) else {
            return Err(OrganisationError::Invalid(Violations(violations)));
        };
        let staff = StaffRecord {
            id: Uuid::now_v7(),
            organisation_id,
            service_id: new.service_id,
            team_id: new.team_id,
            role: new.role,
            handle,
            display_name,
            job_title,
            created_at_micros: micros(self.clock.now()),
            disabled_at_micros: None,
        };
        self.insert_staff(&permit, staff).await
    }

    /// Sets a member of staff's display name, job title and team (administrators and the Data
    /// Protection Officer: `staff.details`), refused by field when any is wrong or the team
    /// contradicts their role and service; one audited change.
    pub async fn set_staff_details(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        input: &DetailsInput,
    ) -> Result<StaffRecord, OrganisationError> {
        let staff = self.staff_record(staff_id).await?;
        let permit = self
            .permit(
                actor,
                Action::StaffDetails,
                crate::account::staff_resource(&staff),
            )
            .await?;
        let mut violations = Vec::new();
        let display_name = optional_line("display_name", &input.display_name)
            .map_err(|v| violations.push(v))
            .ok()
            .flatten();
        let job_title = optional_line("job_title", &input.job_title)
            .map_err(|v| violations.push(v))
            .ok()
            .flatten();
        self.check_team(&staff, input.team_id, &mut violations)
            .await?;
        if !violations.is_empty() {
            return Err(OrganisationError::Invalid(Violations(violations)));
        }
        let details = StaffDetails {
            display_name,
            job_title,
            team_id: input.team_id,
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("staff.set_details");
        self.store
            .set_staff_details(staff.id, &details, audit)
            .await?;
        Ok(StaffRecord {
            display_name: details.display_name,
            job_title: details.job_title,
            team_id: details.team_id,
            ..staff
        })
    }

    /// Refuses, by field `team`, a team that contradicts the account's role and service.
    pub(crate) async fn check_team(
        &self,
        staff: &StaffRecord,
        team_id: Option<Uuid>,
        violations: &mut Vec<Violation>,
    ) -> Result<(), OrganisationError> {
        let mut found = Vec::new();
        let placement = self
            .placement(staff.organisation_id, staff.service_id, team_id, &mut found)
            .await?;
        if found.is_empty() {
            // Only the team is being decided here: a service already contradicting the role (an
            // account from before these rules) is not this change's to refuse.
            found.extend(
                setup_violations(staff.role, placement)
                    .into_iter()
                    .filter(|v| v.field == "team"),
            );
        }
        violations.extend(found.into_iter().filter(|v| v.field == "team"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(scope: AccessScope) -> (Uuid, AccessScope) {
        (Uuid::from_u128(1), scope)
    }

    fn fields(role: Role, placement: Placement) -> Vec<&'static str> {
        setup_violations(role, placement)
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    const NOWHERE: Placement = Placement {
        service: None,
        team_service: None,
    };

    #[test]
    fn practitioners_and_managers_need_a_service() {
        for role in [Role::Practitioner, Role::TeamManager, Role::ServiceManager] {
            assert_eq!(fields(role, NOWHERE), ["service"], "{role:?}");
        }
    }

    #[test]
    fn organisation_wide_roles_processors_workers_and_trustees_work_in_no_service() {
        let in_service = Placement {
            service: Some(service(AccessScope::Service)),
            team_service: None,
        };
        for role in [
            Role::DataProtectionOfficer,
            Role::CaldicottGuardian,
            Role::Administrator,
            Role::Auditor,
            Role::Trustee,
            Role::ProcessorStaff,
        ] {
            assert_eq!(fields(role, in_service), ["service"], "{role:?}");
            assert!(fields(role, NOWHERE).is_empty(), "{role:?}");
        }
    }

    #[test]
    fn a_processors_worker_is_told_who_names_their_processor() {
        let v = setup_violations(
            Role::ProcessorStaff,
            Placement {
                service: Some(service(AccessScope::Service)),
                team_service: None,
            },
        );
        assert!(
            v[0].message.contains("processor's page"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn a_team_must_be_of_their_own_service() {
        let placement = Placement {
            service: Some(service(AccessScope::Team)),
            team_service: Some(Uuid::from_u128(2)),
        };
        assert_eq!(fields(Role::Practitioner, placement), ["team"]);
        let own = Placement {
            team_service: Some(Uuid::from_u128(1)),
            ..placement
        };
        assert!(fields(Role::Practitioner, own).is_empty());
        assert!(fields(Role::TeamManager, own).is_empty());
    }

    #[test]
    fn only_practitioners_and_team_managers_are_in_a_team() {
        let own_team = Placement {
            service: Some(service(AccessScope::Team)),
            team_service: Some(Uuid::from_u128(1)),
        };
        assert_eq!(fields(Role::ServiceManager, own_team), ["team"]);
        // A team with no service: both wrong, each by its field.
        let team_only = Placement {
            service: None,
            team_service: Some(Uuid::from_u128(1)),
        };
        assert_eq!(fields(Role::Auditor, team_only), ["team"]);
        assert_eq!(fields(Role::Practitioner, team_only), ["service"]);
    }

    #[test]
    fn a_team_manager_needs_a_team_where_people_are_seen_by_team_or_caseload() {
        for scope in [AccessScope::Team, AccessScope::Caseload] {
            let placement = Placement {
                service: Some(service(scope)),
                team_service: None,
            };
            assert_eq!(fields(Role::TeamManager, placement), ["team"], "{scope:?}");
            assert!(fields(Role::Practitioner, placement).is_empty());
        }
        let whole = Placement {
            service: Some(service(AccessScope::Service)),
            team_service: None,
        };
        assert!(fields(Role::TeamManager, whole).is_empty());
    }

    #[test]
    fn display_names_and_job_titles_are_one_short_visible_line_or_none() {
        assert_eq!(optional_line("display_name", "  "), Ok(None));
        assert_eq!(
            optional_line("display_name", " Sam Patel "),
            Ok(Some("Sam Patel".to_owned()))
        );
        assert_eq!(
            optional_line("job_title", &"é".repeat(MAX_NAME)).map(|t| t.map(|t| t.chars().count())),
            Ok(Some(MAX_NAME))
        );
        for bad in [
            "é".repeat(MAX_NAME + 1),
            "Sam\nPatel".to_owned(),
            "Sam\u{0}".to_owned(),
            "Sam\u{202E}letaP".to_owned(),
            "\u{200B}\u{200B}".to_owned(),
        ] {
            let refused = optional_line("display_name", &bad).expect_err("refused");
            assert_eq!(refused.field, "display_name");
        }
    }
}
