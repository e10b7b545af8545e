//! Exactly-once state transitions (issue 12, finding 3), driven through the core services on
//! SQLite and PostgreSQL: [`RACERS`] callers race for one transition, each on a task of its own on
//! a multi-thread runtime. Exactly one wins; every other gets `Conflict`; and the tables hold the
//! winner's rows and nothing more (a loser's refusal may leave an audit event, nothing else).

use confidant_core::access::PersonAccess;
use confidant_core::store::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

use confidant_core::Role;
use confidant_core::sharing::{RecipientInput, Rule, ShareError, ShareRequest};
use confidant_core::store::ReviewState;
use confidant_testkit::{race, test_time};
use uuid::Uuid;

use super::*;

/// How many callers race for each transition.
const RACERS: usize = 10;

/// The tables a transition could write rows to (the audit log aside).
const TABLES: &[&str] = &[
    "person",
    "person_field",
    "case_episode",
    "data_key",
    "blind_index",
    "referral",
    "triage_event",
    "access_grant",
    "person_restriction",
    "share_approval",
    "disclosure",
    "disclosure_item",
    "record_field",
];

/// What each table gained between two counts (tables that did not change are left out).
fn grown(
    before: &BTreeMap<&'static str, i64>,
    after: &BTreeMap<&'static str, i64>,
) -> BTreeMap<&'static str, i64> {
    after
        .iter()
        .map(|(t, n)| (*t, n - before.get(t).copied().unwrap_or(0)))
        .filter(|(_, d)| *d != 0)
        .collect()
}

/// Exactly one success, every other result a conflict (`is_conflict`); gives back the winner.
fn one_winner<T: std::fmt::Debug, E: std::fmt::Debug>(
    results: Vec<Result<T, E>>,
    is_conflict: impl Fn(&E) -> bool,
) -> anyhow::Result<T> {
    let mut won = Vec::new();
    for r in results {
        match r {
            Ok(v) => won.push(v),
            Err(e) if is_conflict(&e) => {}
            Err(e) => anyhow::bail!("a loser got {e:?}, not a conflict"),
        }
    }
    anyhow::ensure!(won.len() == 1, "{} callers won: {won:?}", won.len());
    Ok(won.remove(0))
}

fn conflict(e: &PersonError) -> bool {
    matches!(e, PersonError::Conflict(_))
}

async fn new_referral(app: &TestApp) -> anyhow::Result<uuid::Uuid> {
    Ok(app
        .confidant
        .create_referral(
            &app.worker_a,
            P,
            app.service_a,
            &referral("Kit", "Marlowe", "07700 900321"),
        )
        .await?
        .record
        .id)
}

async fn new_person(app: &TestApp) -> anyhow::Result<Uuid> {
    let input = person("Nell", "Quillshare")
        .with(PersonField::MentalHealth, "Anxiety")
        .with(PersonField::Convictions, "Theft 2019");
    Ok(app
        .confidant
        .create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id)
}

both_backends!(
    ten_concurrent_accepts_of_one_referral_create_one_person,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let referral = new_referral(&app).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .accept_referral(&app.worker_a, P, referral, None)
                    .await
            }
        })
        .await?;
        let (person, case) = one_winner(results, conflict)?;
        let after = app.db.row_counts(TABLES).await?;
        let grew = grown(&before, &after);
        // One person, their key, their case, one step; nothing else.
        assert_eq!(grew.get("person"), Some(&1), "{grew:?}");
        assert_eq!(grew.get("case_episode"), Some(&1), "{grew:?}");
        assert_eq!(grew.get("data_key"), Some(&1), "{grew:?}");
        assert_eq!(grew.get("triage_event"), Some(&1), "{grew:?}");
        assert_eq!(grew.get("referral"), None, "{grew:?}");
        let stored = app
            .confidant
            .store()
            .referral(referral)
            .await?
            .ok_or_else(|| anyhow::anyhow!("referral gone"))?;
        assert_eq!(stored.state, TriageState::Accepted);
        assert_eq!(stored.person_id, Some(person));
        assert_eq!(stored.case_id, Some(case.id));
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_declines_decide_a_referral_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let referral = new_referral(&app).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .triage_referral(&app.worker_a, P, referral, TriageState::Declined)
                    .await
            }
        })
        .await?;
        let decided = one_winner(results, conflict)?;
        assert_eq!(decided.state, TriageState::Declined);
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        // One step recorded; what was received erased (its sealed values and key) once.
        assert_eq!(grew.get("triage_event"), Some(&1), "{grew:?}");
        assert!(grew.get("data_key").is_some_and(|n| *n < 0), "{grew:?}");
        assert_eq!(grew.get("person"), None, "{grew:?}");
        let steps = app.confidant.store().triage_events(referral).await?;
        assert_eq!(
            steps.iter().map(|s| s.state).collect::<Vec<_>>(),
            [TriageState::Received, TriageState::Declined]
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    racing_outcomes_of_one_referral_decide_it_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let referral = new_referral(&app).await?;
        app.confidant
            .triage_referral(&app.worker_a, P, referral, TriageState::ContactAttempted)
            .await?;
        let before = app.db.row_counts(TABLES).await?;
        // Accept, decline, no response and withdrawn, all at once.
        let results = race(RACERS, |i| {
            let app = Arc::clone(&app);
            async move {
                let c = &app.confidant;
                let to = match i % 4 {
                    0 => {
                        return c
                            .accept_referral(&app.worker_a, P, referral, None)
                            .await
                            .map(|_| TriageState::Accepted);
                    }
                    1 => TriageState::Declined,
                    2 => TriageState::NoResponse,
                    _ => TriageState::Withdrawn,
                };
                c.triage_referral(&app.worker_a, P, referral, to)
                    .await
                    .map(|r| r.state)
            }
        })
        .await?;
        let outcome = one_winner(results, conflict)?;
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        assert_eq!(grew.get("triage_event"), Some(&1), "{grew:?}");
        let people = i64::from(outcome == TriageState::Accepted);
        assert_eq!(grew.get("person").copied().unwrap_or(0), people, "{grew:?}");
        assert_eq!(
            grew.get("case_episode").copied().unwrap_or(0),
            people,
            "{grew:?}"
        );
        let stored = app
            .confidant
            .store()
            .referral(referral)
            .await?
            .ok_or_else(|| anyhow::anyhow!("referral gone"))?;
        assert_eq!(stored.state, outcome);
        chain_is_intact(&app).await
    }
);

both_backends!(
    contact_attempted_may_be_recorded_again_and_again_while_a_referral_is_open,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let referral = new_referral(&app).await?;
        app.confidant
            .triage_referral(&app.worker_a, P, referral, TriageState::ContactAttempted)
            .await?;
        let before = app.db.row_counts(TABLES).await?;
        // Not a decision: every attempt is kept, racing or not.
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .triage_referral(&app.worker_a, P, referral, TriageState::ContactAttempted)
                    .await
            }
        })
        .await?;
        for r in results {
            assert_eq!(r?.state, TriageState::ContactAttempted);
        }
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        assert_eq!(
            grew.get("triage_event"),
            Some(&i64::try_from(RACERS)?),
            "{grew:?}"
        );
        // Still open: it can be decided, once.
        app.confidant
            .triage_referral(&app.worker_a, P, referral, TriageState::NoResponse)
            .await?;
        assert!(matches!(
            app.confidant
                .triage_referral(&app.worker_a, P, referral, TriageState::ContactAttempted)
                .await,
            Err(PersonError::Conflict(_))
        ));
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_case_opens_open_one_case,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .open_case(&app.worker_a, P, person, None)
                    .await
            }
        })
        .await?;
        let case = one_winner(results, conflict)?;
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        assert_eq!(grew, BTreeMap::from([("case_episode", 1)]));
        let cases = app.confidant.cases(&app.worker_a, P, person).await?;
        assert_eq!(cases.iter().map(|c| c.id).collect::<Vec<_>>(), [case.id]);
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_closes_close_a_case_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let case = app
            .confidant
            .open_case(&app.worker_a, P, person, None)
            .await?
            .id;
        let before = app.db.row_counts(TABLES).await?;
        let head = app.confidant.store().audit_head().await?.map(|h| h.seq);
        let results = race(RACERS, |i| {
            let app = Arc::clone(&app);
            let reason = if i % 2 == 0 {
                ClosureReason::Completed
            } else {
                ClosureReason::Disengaged
            };
            async move {
                app.confidant
                    .close_case(&app.worker_a, P, person, case, reason)
                    .await
            }
        })
        .await?;
        let closed = one_winner(results, conflict)?;
        assert_eq!(
            grown(&before, &app.db.row_counts(TABLES).await?),
            BTreeMap::new()
        );
        let cases = app.confidant.cases(&app.worker_a, P, person).await?;
        assert_eq!(cases[0].closure_reason, closed.closure_reason);
        // One `case.close` event: the losers' refusals wrote nothing (the read above adds one).
        let events = app
            .confidant
            .store()
            .audit_events(head.unwrap_or(0) + 1, 100)
            .await?;
        assert_eq!(
            events.iter().filter(|e| e.action == "case.close").count(),
            1
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_reviews_of_a_break_glass_access_decide_it_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let grant = app
            .confidant
            .break_glass(
                &app.worker_b,
                person,
                "A safeguarding call from the police about tonight",
            )
            .await?
            .id;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |i| {
            let app = Arc::clone(&app);
            let decision = if i % 2 == 0 {
                ReviewState::SignedOff
            } else {
                ReviewState::Escalated
            };
            async move {
                app.confidant
                    .review_break_glass(&app.dpo, grant, decision, "Reviewed")
                    .await
                    .map(|()| decision)
            }
        })
        .await?;
        let decision = one_winner(results, conflict)?;
        assert_eq!(
            grown(&before, &app.db.row_counts(TABLES).await?),
            BTreeMap::new()
        );
        let stored = app
            .confidant
            .store()
            .grant(grant)
            .await?
            .ok_or_else(|| anyhow::anyhow!("grant gone"))?;
        assert_eq!(stored.review_state, Some(decision));
        assert_eq!(
            stored.revoked_at_micros.is_some(),
            decision == ReviewState::Escalated
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    a_restriction_is_recorded_once_while_in_force_and_lifted_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .restrict(&app.dpo, P, person, "restriction")
                    .await
            }
        })
        .await?;
        let restriction = one_winner(results, conflict)
            .map_err(|e| e.context("recording"))?
            .id;
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        assert_eq!(grew, BTreeMap::from([("person_restriction", 1)]));
        // An objection is a different thing: it may stand beside the restriction.
        app.confidant
            .restrict(&app.dpo, P, person, "objection")
            .await?;

        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .lift_restriction(&app.dpo, P, person, restriction)
                    .await
            }
        })
        .await?;
        one_winner(results, conflict)?;
        let restrictions = app
            .confidant
            .store()
            .restrictions_of(&PersonAccess::for_tests(person))
            .await?;
        let lifted = restrictions
            .iter()
            .find(|r| r.id == restriction)
            .ok_or_else(|| anyhow::anyhow!("restriction gone"))?;
        assert!(lifted.lifted_at_micros.is_some());
        // A restriction that is not this person's is still "not found".
        assert!(matches!(
            app.confidant
                .lift_restriction(&app.dpo, P, person, Uuid::now_v7())
                .await,
            Err(PersonError::NotFound)
        ));
        // Lifted, it may be recorded again.
        app.confidant
            .restrict(&app.dpo, P, person, "restriction")
            .await?;
        chain_is_intact(&app).await
    }
);

fn recipient(name: &str, kind: &str, categories: &[&str], bases: &[&str]) -> RecipientInput {
    RecipientInput {
        name: name.to_owned(),
        kind: kind.to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        bases: bases.iter().map(|b| (*b).to_owned()).collect(),
        ..RecipientInput::default()
    }
}

fn share_request(recipient_id: Uuid, fields: &[PersonField], basis: &str) -> ShareRequest {
    ShareRequest {
        recipient_id,
        fields: fields.iter().map(|f| f.code().to_owned()).collect(),
        basis: basis.to_owned(),
        reason: "Continuity of care after discharge".to_owned(),
        person_told: true,
        ..ShareRequest::default()
    }
}

/// A person, a council that may receive only their identity, and a request for a second person's
/// approval to send their health details too.
async fn approval_world(app: &TestApp) -> anyhow::Result<(Uuid, Uuid, Uuid)> {
    let person = new_person(app).await?;
    let council = app
        .confidant
        .add_recipient(
            &app.dpo,
            app.organisation,
            &recipient(
                "Council Housing Team",
                "statutory_body",
                &["identity"],
                &["public_task"],
            ),
        )
        .await?
        .id;
    let asked = app
        .confidant
        .request_approval(
            &app.worker_a,
            P,
            person,
            council,
            &["health".to_owned()],
            "Her housing priority depends on her health",
        )
        .await?
        .id;
    Ok((person, council, asked))
}

both_backends!(
    ten_concurrent_decisions_on_an_approval_decide_it_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let (person, _, asked) = approval_world(&app).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |i| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .decide_approval(&app.dpo, P, person, asked, i % 2 == 0)
                    .await
                    .map(|()| i % 2 == 0)
            }
        })
        .await?;
        let approved = one_winner(results, conflict)?;
        assert_eq!(
            grown(&before, &app.db.row_counts(TABLES).await?),
            BTreeMap::new()
        );
        let (stored, _) = app
            .confidant
            .store()
            .approval(asked)
            .await?
            .ok_or_else(|| anyhow::anyhow!("approval gone"))?;
        assert_eq!(
            stored.state.code(),
            if approved { "approved" } else { "refused" }
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    an_approval_is_used_by_one_share_however_many_race_for_it,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let (person, council, asked) = approval_world(&app).await?;
        app.confidant
            .decide_approval(&app.dpo, P, person, asked, true)
            .await?;
        let mut request = share_request(
            council,
            &[PersonField::GivenName, PersonField::MentalHealth],
            "public_task",
        );
        request.article9 = Some("health_social_care".to_owned());
        request.approval_id = Some(asked);
        let request = Arc::new(request);
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            let request = Arc::clone(&request);
            async move {
                app.confidant
                    .share(&app.worker_a, P, person, &request)
                    .await
                    .map(|p| p.disclosure_id)
            }
        })
        .await?;
        // A loser that raced past the rules meets the used approval at the store (a conflict); one
        // that came just after finds it used and is refused by the rule, as any later share is.
        let disclosure = one_winner(results, |e| match e {
            ShareError::Person(PersonError::Conflict(_)) => true,
            ShareError::Blocked(b) => b.rules() == [Rule::BeyondRecipientCategories],
            ShareError::Person(_) => false,
        })?;
        let grew = grown(&before, &app.db.row_counts(TABLES).await?);
        assert_eq!(grew.get("disclosure"), Some(&1), "{grew:?}");
        assert_eq!(grew.get("disclosure_item"), Some(&2), "{grew:?}");
        let (stored, _) = app
            .confidant
            .store()
            .approval(asked)
            .await?
            .ok_or_else(|| anyhow::anyhow!("approval gone"))?;
        assert_eq!(stored.used_by, Some(disclosure));
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_reviews_of_an_emergency_disclosure_decide_it_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let ambulance = app
            .confidant
            .add_recipient(
                &app.dpo,
                app.organisation,
                &recipient(
                    "Ambulance Service",
                    "health",
                    &["identity", "health"],
                    &["vital_interests"],
                ),
            )
            .await?
            .id;
        let mut request = share_request(
            ambulance,
            &[PersonField::GivenName, PersonField::MentalHealth],
            "vital_interests",
        );
        request.article9 = Some("vital_interests".to_owned());
        request.person_told = false;
        request.not_told_reason = Some("Unconscious when the ambulance was called".to_owned());
        let disclosure = app
            .confidant
            .share(&app.worker_a, P, person, &request)
            .await?
            .disclosure_id;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |i| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .review_disclosure(&app.dpo, disclosure, i % 2 == 1)
                    .await
                    .map(|()| i % 2 == 1)
            }
        })
        .await?;
        let escalated = one_winner(results, conflict)?;
        assert_eq!(
            grown(&before, &app.db.row_counts(TABLES).await?),
            BTreeMap::new()
        );
        let (stored, _, _) = app
            .confidant
            .store()
            .disclosure(disclosure)
            .await?
            .ok_or_else(|| anyhow::anyhow!("disclosure gone"))?;
        assert_eq!(
            stored.review_state,
            Some(if escalated {
                ReviewState::Escalated
            } else {
                ReviewState::SignedOff
            })
        );
        chain_is_intact(&app).await
    }
);

both_backends!(
    ten_concurrent_ends_of_a_processors_referral_end_it_once,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let person = new_person(&app).await?;
        let date = |days: i64| {
            (test_time() + time::Duration::days(days))
                .date()
                .to_string()
        };
        let mut input = recipient(
            "Recovery Sub-contractor Ltd",
            "processor",
            &["identity", "health"],
            &["contract"],
        );
        input.dpa_starts_on = Some(date(-30));
        input.dpa_ends_on = Some(date(300));
        let processor = app
            .confidant
            .add_recipient(&app.dpo, app.organisation, &input)
            .await?
            .id;
        let (worker, worker_actor) = app
            .add_staff(Role::ProcessorStaff, None, "proc.worker", true)
            .await?;
        app.confidant
            .assign_processor_staff(&app.dpo, worker.id, processor)
            .await?;
        let mut request = share_request(processor, &[PersonField::GivenName], "contract");
        request.processor_staff_id = Some(worker.id);
        request.referral_days = Some(14);
        let disclosure = app
            .confidant
            .share(&app.worker_a, P, person, &request)
            .await?
            .disclosure_id;
        app.confidant.read_person(&worker_actor, P, person).await?;
        let before = app.db.row_counts(TABLES).await?;
        let results = race(RACERS, |_| {
            let app = Arc::clone(&app);
            async move {
                app.confidant
                    .end_referral(&app.worker_a, P, person, disclosure)
                    .await
            }
        })
        .await?;
        one_winner(results, conflict)?;
        assert_eq!(
            grown(&before, &app.db.row_counts(TABLES).await?),
            BTreeMap::new()
        );
        let (stored, _, _) = app
            .confidant
            .store()
            .disclosure(disclosure)
            .await?
            .ok_or_else(|| anyhow::anyhow!("disclosure gone"))?;
        assert!(stored.ended_at_micros.is_some());
        assert!(matches!(
            app.confidant.read_person(&worker_actor, P, person).await,
            Err(PersonError::NotFound)
        ));
        chain_is_intact(&app).await
    }
);
