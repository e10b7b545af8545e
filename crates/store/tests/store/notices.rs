//! Privacy notices from the register (F5), on SQLite and PostgreSQL: published once per change,
//! versioned, and a change of retention period makes a new version whose differences name the
//! change and list the people to tell.

use confidant_core::store::prelude::*;
use confidant_testkit::operator;
use std::path::Path;

use confidant_core::Role;
use confidant_core::audit::verify_chain;
use confidant_core::field::PersonField;
use confidant_core::person::PersonInput;
use confidant_core::register::Register;
use confidant_core::{Purpose, notice};
use confidant_testkit::{TestApp, both_backends, train};

const EXAMPLE: &str = include_str!("../../../../config/examples/recovery.toml");

fn register(text: &str) -> anyhow::Result<Register> {
    Register::parse(Path::new("register.toml"), text).map_err(|e| anyhow::anyhow!("{e}"))
}

both_backends!(
    a_changed_retention_period_makes_a_new_version_naming_the_change_and_the_people_to_tell,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        // The example register makes its organisation and services.
        let first = register(EXAMPLE)?;
        let service = "recovery".to_owned();
        let done = app
            .confidant
            .put_register_in_force(&operator(), &first)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (recovery, employment) = (done.services["recovery"], done.services["employment"]);
        let mut workers = Vec::new();
        for (handle, service) in [("lw.recovery", recovery), ("lw.employment", employment)] {
            let staff = app
                .confidant
                .create_staff(
                    &operator(),
                    done.organisation_id,
                    Some(service),
                    Role::Practitioner,
                    handle,
                )
                .await?;
            train(&app.confidant, staff.id).await?;
            workers.push(app.confidant.acting_as(&operator(), &staff).await?);
        }
        let mut people = Vec::new();
        for (given, family) in [("Ann", "Lowther"), ("Ben", "Askew")] {
            people.push(
                app.confidant
                    .create_person(
                        &workers[0],
                        Purpose::Support,
                        recovery,
                        &PersonInput::new()
                            .with(PersonField::GivenName, given)
                            .with(PersonField::FamilyName, family),
                    )
                    .await?
                    .id,
            );
        }
        // A person of another service is not told.
        app.confidant
            .create_person(
                &workers[1],
                Purpose::Support,
                employment,
                &PersonInput::new()
                    .with(PersonField::GivenName, "Cal")
                    .with(PersonField::FamilyName, "Other"),
            )
            .await?;

        // The register is the configuration: the service collects exactly what it covers.
        let entry = first
            .service(&service)
            .ok_or_else(|| anyhow::anyhow!("no service"))?;
        let config = app
            .confidant
            .store()
            .service_config(recovery)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the recovery service is not configured"))?;
        assert_eq!(config.field_groups, first.field_groups(entry));
        assert_eq!(config.referrals.code(), entry.referrals);
        assert_eq!(config.partner_service_id, None);
        assert!(
            app.confidant
                .store()
                .service_config(app.service_a)
                .await?
                .is_none(),
            "an organisation the register does not name is left alone"
        );

        let published = app.confidant.publish_notices(&operator(), &first).await?;
        assert!(published.iter().all(|p| p.new && p.version == 1));
        let again = app.confidant.publish_notices(&operator(), &first).await?;
        assert!(
            again.iter().all(|p| !p.new && p.version == 1),
            "an unchanged register publishes nothing"
        );
        let change = app
            .confidant
            .notice_change(&service)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no version"))?;
        assert_eq!((change.version, change.previous), (1, None));
        // Whom to tell is listed only to those who may list the service's people: never to the
        // operator.
        assert!(
            app.confidant
                .people_to_tell(&operator(), Purpose::Support, recovery)
                .await
                .is_err()
        );

        // The retention period changes: a new version, whose differences name it.
        assert!(EXAMPLE.contains("period = \"10 years\""));
        let second =
            register(&EXAMPLE.replacen("period = \"10 years\"", "period = \"8 years\"", 1))?;
        let published = app.confidant.publish_notices(&operator(), &second).await?;
        assert!(
            published
                .iter()
                .any(|p| p.service_code == service && p.new && p.version == 2)
        );
        let change = app
            .confidant
            .notice_change(&service)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no version"))?;
        assert_eq!((change.version, change.previous), (2, Some(1)));
        assert!(
            change
                .changes
                .iter()
                .any(|(sign, line)| *sign == '-' && line.contains("10 years")),
            "{:?}",
            change.changes
        );
        assert!(
            change
                .changes
                .iter()
                .any(|(sign, line)| *sign == '+' && line.contains("8 years"))
        );
        assert_eq!(change.changes.len(), 2, "only the period changed");
        let mut told = app
            .confidant
            .people_to_tell(&workers[0], Purpose::Support, recovery)
            .await?;
        told.sort();
        people.sort();
        assert_eq!(told, people);

        // The notice as published is the one generated from the register.
        let now = notice::notice(&second, &service).map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(now.markdown().contains("8 years"));
        assert!(now.markdown().contains(notice::NO_AUTOMATED_DECISIONS));

        let verified = verify_chain(app.confidant.store(), None).await?;
        anyhow::ensure!(verified.is_ok(), "chain broken: {verified:?}");
        Ok(())
    }
);

#[test]
fn the_article30_record_has_a_row_per_activity_and_service() -> anyhow::Result<()> {
    let r = register(EXAMPLE)?;
    let csv = notice::article30_csv(&r);
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    let expected: usize = r.activities.iter().map(|a| a.services.len()).sum();
    assert_eq!(rows.len(), expected + 1);
    assert!(rows[0].starts_with("controller,registration_number,dpo,service,activity,purpose"));
    assert!(csv.contains(&r.organisation.controller));
    Ok(())
}
