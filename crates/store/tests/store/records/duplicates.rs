//! Possible duplicates when a person is added (issue 16): someone of the same service within the
//! actor's scope with the same NHS number, National Insurance number, or family name and date of
//! birth stops the creation, naming them by id; nothing is written but the one audited look-up;
//! confirming adds the person anyway. Nobody out of scope is named.

use confidant_core::access::Principal;
use confidant_core::person::{DuplicateCheck, DuplicateMatch};
use confidant_core::store::AuditStore as _;
use confidant_core::{AccessScope, Actor, Role};
use uuid::Uuid;

use super::*;

const NHS: &str = "943 476 5919";
const NI: &str = "AB 12 34 56 C";

fn with(given: &str, family: &str, extra: &[(PersonField, &str)]) -> PersonInput {
    extra
        .iter()
        .fold(person(given, family), |p, (f, v)| p.with(*f, *v))
}

async fn people(app: &TestApp) -> anyhow::Result<i64> {
    Ok(app.db.row_counts(&["person"]).await?["person"])
}

/// The actions of the events after `seq`, with their outcomes.
async fn actions_after(app: &TestApp, seq: i64) -> anyhow::Result<Vec<(String, String)>> {
    Ok(app
        .confidant
        .store()
        .audit_events(seq + 1, 100)
        .await?
        .into_iter()
        .map(|e| (e.action, e.outcome))
        .collect())
}

async fn add(
    app: &TestApp,
    actor: &Principal,
    service: Uuid,
    input: &PersonInput,
) -> Result<Uuid, PersonError> {
    Ok(app
        .confidant
        .create_person(actor, P, service, input)
        .await?
        .id)
}

/// A person added by service A's practitioner, and how many people are recorded then.
async fn recorded(app: &TestApp, input: &PersonInput) -> anyhow::Result<(Uuid, i64)> {
    let id = add(app, &app.worker_a, app.service_a, input).await?;
    Ok((id, people(app).await?))
}

/// The matches of a refusal (failing the test on anything else).
fn matches(result: Result<Uuid, PersonError>) -> anyhow::Result<Vec<DuplicateMatch>> {
    match result {
        Err(PersonError::PossibleDuplicates(m)) => Ok(m),
        Ok(id) => anyhow::bail!("created {id} without a warning"),
        Err(e) => anyhow::bail!("refused otherwise: {e:?}"),
    }
}

fn on(person_id: Uuid, matched_on: &[IndexField]) -> DuplicateMatch {
    DuplicateMatch {
        person_id,
        matched_on: matched_on.to_vec(),
    }
}

both_backends!(
    an_nhs_number_already_recorded_warns_writes_nothing_and_confirming_adds_them,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let ada = with("Ada", "Zqxcanary", &[(PersonField::NhsNumber, NHS)]);
        let (first, count) = recorded(&app, &ada).await?;
        let seq = head(&app).await?;
        // The same number written another way is the same number.
        let second = with("Bea", "Other", &[(PersonField::NhsNumber, "9434765919")]);
        let refused = add(&app, &app.worker_a, app.service_a, &second).await;
        // What the refusal says holds ids and index codes, never a value given.
        let said = format!(
            "{refused:?} {}",
            refused
                .as_ref()
                .map_or_else(ToString::to_string, ToString::to_string)
        );
        assert!(
            // (The number in any form, not its first digits: an id in the answer may hold "943".)
            !said.contains("9434765919")
                && !said.contains("943 476")
                && !said.contains("Zqxcanary")
                && !said.contains("Bea"),
            "{said}"
        );
        assert_eq!(matches(refused)?, [on(first, &[IndexField::NhsNumber])]);
        assert_eq!(people(&app).await?, count, "nothing was created");
        assert_eq!(
            actions_after(&app, seq).await?,
            [("person.duplicate_check".to_owned(), "ok".to_owned())],
            "the one look-up is the only thing written"
        );

        let added = app
            .confidant
            .create_person_with(
                &app.worker_a,
                P,
                app.service_a,
                &second,
                DuplicateCheck::Confirmed,
            )
            .await?;
        assert_ne!(added.id, first);
        assert_eq!(people(&app).await?, count + 1);
        // Now both are named.
        let third = with("Cal", "Third", &[(PersonField::NhsNumber, NHS)]);
        let both = matches(add(&app, &app.worker_a, app.service_a, &third).await)?;
        assert_eq!(
            both,
            [
                on(first, &[IndexField::NhsNumber]),
                on(added.id, &[IndexField::NhsNumber])
            ]
        );
        // Someone with names only is looked up by nothing, and no look-up is recorded.
        let seq = head(&app).await?;
        add(&app, &app.worker_a, app.service_a, &person("Bea", "Other")).await?;
        assert_eq!(
            actions_after(&app, seq).await?,
            [("person.create".to_owned(), "ok".to_owned())]
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_national_insurance_number_already_recorded_warns,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let dan = with("Dan", "Ellis", &[(PersonField::NiNumber, NI)]);
        let (first, count) = recorded(&app, &dan).await?;
        let again = with("Dana", "Ellison", &[(PersonField::NiNumber, "ab123456c")]);
        assert_eq!(
            matches(add(&app, &app.worker_a, app.service_a, &again).await)?,
            [on(first, &[IndexField::NiNumber])]
        );
        assert_eq!(people(&app).await?, count);
        // Another number is someone else.
        let other = with(
            "Dana",
            "Ellison",
            &[(PersonField::NiNumber, "AB 12 34 56 D")],
        );
        add(&app, &app.worker_a, app.service_a, &other).await?;
        Ok(())
    }
);

both_backends!(
    a_family_name_and_date_of_birth_already_recorded_warns_but_not_another_birthday,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let born = |given: &str, family: &str, dob: &str| {
            with(given, family, &[(PersonField::DateOfBirth, dob)])
        };
        let first = add(
            &app,
            &app.worker_a,
            app.service_a,
            &born("Ada", "Gill", "1985-03-27"),
        )
        .await?;
        // The same name born another day: no warning.
        let other_day = add(
            &app,
            &app.worker_a,
            app.service_a,
            &born("Ada", "Gill", "1985-03-28"),
        )
        .await?;
        // The family name as typed in another case, born the same day: a twin, or the same person.
        let twin = born("Amy", "GILL", "1985-03-27");
        assert_eq!(
            matches(add(&app, &app.worker_a, app.service_a, &twin).await)?,
            [on(first, &[IndexField::BirthAndFamilyName])]
        );
        let both_ways = with(
            "Ada",
            "Gill",
            &[
                (PersonField::DateOfBirth, "1985-03-28"),
                (PersonField::NhsNumber, NHS),
            ],
        );
        let Err(PersonError::PossibleDuplicates(m)) =
            add(&app, &app.worker_a, app.service_a, &both_ways).await
        else {
            anyhow::bail!("a second Ada Gill born on the 28th was added without a warning");
        };
        assert_eq!(m, [on(other_day, &[IndexField::BirthAndFamilyName])]);
        let count = people(&app).await?;
        let sure = app
            .confidant
            .create_person_with(
                &app.worker_a,
                P,
                app.service_a,
                &twin,
                DuplicateCheck::Confirmed,
            )
            .await?;
        assert_eq!(sure.get(PersonField::GivenName), Some("Amy"));
        assert_eq!(people(&app).await?, count + 1);
        let confirmed = app
            .confidant
            .create_person_with(
                &app.worker_a,
                P,
                app.service_a,
                &both_ways,
                DuplicateCheck::Confirmed,
            )
            .await?;
        // Several indexes matching one person are all named, in order.
        let again = matches(add(&app, &app.worker_a, app.service_a, &both_ways).await)?;
        assert_eq!(
            again,
            [
                on(other_day, &[IndexField::BirthAndFamilyName]),
                on(
                    confirmed.id,
                    &[IndexField::NhsNumber, IndexField::BirthAndFamilyName]
                ),
            ]
        );
        Ok(())
    }
);

both_backends!(
    a_match_out_of_the_actors_scope_is_never_named,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let worker_a = match app.worker_a.actor() {
            Actor::Staff(s) => s.user_id,
            Actor::System => anyhow::bail!("not staff"),
        };
        let (worker_c, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "worker.c", true)
            .await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let north = c.create_team(&app.admin, app.service_a, "North").await?;
        let south = c.create_team(&app.admin, app.service_a, "South").await?;
        c.set_service_scope(&app.admin, app.service_a, AccessScope::Team)
            .await?;
        c.set_staff_team(&app.dpo, worker_a, Some(north.id)).await?;
        c.set_staff_team(&app.dpo, worker_c.id, Some(south.id))
            .await?;
        let north_worker = app.actor_of(worker_a).await?;
        let south_worker = app.actor_of(worker_c.id).await?;
        let input = with("Eve", "North", &[(PersonField::NhsNumber, NHS)]);
        let in_north = add(&app, &north_worker, app.service_a, &input).await?;

        // The south team cannot see the north team's person: they are not named, and the person
        // is added as if nobody matched.
        let in_south = add(&app, &south_worker, app.service_a, &input).await?;
        // Another service's practitioner: another service's people are never looked at.
        let elsewhere = add(&app, &app.worker_b, app.service_b, &input).await?;
        // The service manager sees the whole service: both in it are named, the other service's
        // person is not.
        assert_eq!(
            matches(add(&app, &manager, app.service_a, &input).await)?,
            [
                on(in_north, &[IndexField::NhsNumber]),
                on(in_south, &[IndexField::NhsNumber])
            ]
        );
        // Each practitioner is warned of their own team's person only.
        assert_eq!(
            matches(add(&app, &north_worker, app.service_a, &input).await)?,
            [on(in_north, &[IndexField::NhsNumber])]
        );
        assert_eq!(
            matches(add(&app, &app.worker_b, app.service_b, &input).await)?,
            [on(elsewhere, &[IndexField::NhsNumber])]
        );
        Ok(())
    }
);
