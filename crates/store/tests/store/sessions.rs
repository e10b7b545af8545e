//! What a signed-in request learns of its member of staff: the session, the member of staff, their
//! organisation's name and whether their training is current, read in one statement
//! (`AccountStore::session_by_token`) and judged by `Confidant::session`.

use confidant_core::Actor;
use confidant_core::Clock as _;
use confidant_core::Role;
use confidant_core::store::TrainingKind;
use confidant_testkit::{TEST_PASSWORD, TestApp, both_backends, operator, sign_in_fully};
use time::Duration;

fn trained(actor: &confidant_core::access::Principal) -> anyhow::Result<bool> {
    match actor.actor() {
        Actor::Staff(s) => Ok(s.trained),
        _ => anyhow::bail!("not staff"),
    }
}

both_backends!(
    a_session_knows_its_staff_organisation_and_current_training,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (staff, _) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "session.worker",
                false,
            )
            .await?;
        let signed = sign_in_fully(c, &staff, TEST_PASSWORD).await?;
        let session = || async {
            c.session(&signed.token)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no session"))
        };
        let first = session().await?;
        assert_eq!(first.staff.id, staff.id);
        assert_eq!(first.record.staff_id, staff.id);
        let organisation = c
            .organisations()
            .await?
            .into_iter()
            .find(|o| o.id == app.organisation)
            .ok_or_else(|| anyhow::anyhow!("no organisation"))?;
        assert_eq!(first.organisation_name, organisation.name);
        assert!(!trained(&first.actor)?, "no training at all");

        let today = c.clock().now().date();
        let long_ago = today - Duration::days(400);
        // A lapsed record of one kind and a current one of the other: not trained.
        c.record_training(
            &operator(),
            staff.id,
            TrainingKind::DataProtection,
            long_ago,
            365,
        )
        .await?;
        c.record_training(
            &operator(),
            staff.id,
            TrainingKind::PolicyAcknowledgement,
            today,
            30,
        )
        .await?;
        assert!(!trained(&session().await?.actor)?, "one kind lapsed");
        // A current record beside the lapsed one of the same kind: trained.
        c.record_training(
            &operator(),
            staff.id,
            TrainingKind::DataProtection,
            today,
            30,
        )
        .await?;
        assert!(trained(&session().await?.actor)?, "every kind current");

        // A disabled member of staff has no session, and a token nobody holds none either.
        c.disable_staff(&operator(), staff.id).await?;
        assert!(c.session(&signed.token).await?.is_none());
        assert!(c.session("cfs_nobody_holds_this_token").await?.is_none());
        Ok(())
    }
);

both_backends!(
    looking_at_a_session_without_activity_does_not_keep_it_from_locking,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let (staff, _) = app
            .add_staff(Role::Practitioner, Some(app.service_a), "peek.worker", true)
            .await?;
        let signed = sign_in_fully(c, &staff, TEST_PASSWORD).await?;
        let idle = c.settings().session.idle;
        // Looked at (the lock page a window's timer opens) every few minutes: still, it locks
        // once the idle limit has passed since the last real request.
        let mut waited = Duration::ZERO;
        while waited + Duration::minutes(4) < idle {
            c.clock().advance(Duration::minutes(4));
            waited += Duration::minutes(4);
            let seen = c.session_without_activity(&signed.token).await?;
            assert_eq!(
                seen.map(|s| s.state),
                Some(confidant_core::account::SessionState::Active)
            );
        }
        c.clock().advance(idle - waited + Duration::seconds(1));
        let state = |s: Option<confidant_core::account::Session>| s.map(|s| s.state);
        assert_eq!(
            state(c.session_without_activity(&signed.token).await?),
            Some(confidant_core::account::SessionState::Locked)
        );
        // A real request records activity; the same look then finds it active.
        c.reauthenticate(
            &c.session(&signed.token)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no session"))?,
            TEST_PASSWORD,
        )
        .await?;
        c.clock().advance(Duration::minutes(5));
        assert!(c.session(&signed.token).await?.is_some());
        c.clock().advance(idle - Duration::seconds(30));
        assert_eq!(
            state(c.session_without_activity(&signed.token).await?),
            Some(confidant_core::account::SessionState::Active)
        );
        Ok(())
    }
);
