//! Requests for erasure (issue 18, part 5), on SQLite and PostgreSQL: an exemption refuses one,
//! naming it, and keeps the record; approved by the Data Protection Officer, it destroys the
//! record so that only its certificate is left, which states the request and the recipients to
//! tell, with a task to tell them.

use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::access::PersonAccess;
use confidant_core::audit::AuditDraft;
use confidant_core::person::PersonError;
use confidant_core::rights::{ErasureDecision, ErasureInput, NO_GROUND, RequestInput};
use confidant_core::store::prelude::*;
use confidant_core::store::{
    DestructionPlan, DestructionRefusal, RequestState, RequestStep, TaskKind, TaskState,
};
use confidant_testkit::{TestApp, both_backends};
use uuid::Uuid;

use crate::keeping::{chain_is_intact, full_record, ids_of, rows_naming};

const P: Purpose = Purpose::Support;
const A: Purpose = Purpose::Administration;
const REASON: &str = "Support ended; the request for erasure was upheld";

fn erasure(identity: Option<&'static str>) -> RequestInput<'static> {
    RequestInput {
        kind: "erasure",
        channel: "email",
        received_on: "2026-11-20",
        representative_id: None,
        authority: None,
        identity_check: identity,
    }
}

fn decision<'a>(
    grounds: &'a [&'a str],
    exemptions: &'a [&'a str],
    case_told: bool,
    reason: &'a str,
) -> ErasureInput<'a> {
    ErasureInput {
        grounds,
        exemptions,
        case_told,
        reason,
    }
}

fn fields(e: &PersonError) -> Vec<&'static str> {
    match e {
        PersonError::Invalid(v) => v.0.iter().map(|v| v.field).collect(),
        other => panic!("not a refusal of the input: {other:?}"),
    }
}

both_backends!(
    an_erasure_leaves_only_its_certificate_and_a_task_to_tell_the_recipients,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let org = app.organisation;
        let p = full_record(&app, "Zqerase").await?;
        let other = app.person_named("Zqkeepmegiven", "Zqkeepmefamily").await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.e", true)
            .await?;
        let r = c
            .log_rights_request(&app.worker_a, p, erasure(Some("known_to_staff")))
            .await?;
        assert_eq!(r.state, RequestState::Open);

        // What bears on it, for the Data Protection Officer: the open case, the recipient.
        let seen = c.erasure_preview(&app.dpo, org, r.id).await?;
        assert!(seen.may_erase);
        assert_eq!(seen.facts.open_cases, 1);
        assert_eq!(seen.facts.kept, 0);
        assert_eq!(seen.recipients.len(), 1, "{:?}", seen.recipients);
        assert!(seen.recipients[0].name.starts_with("Surgery "));
        // A service's manager answers the request but does not erase, and sees nothing of the
        // record here; a practitioner does neither.
        let theirs = c.erasure_preview(&manager, org, r.id).await?;
        assert!(!theirs.may_erase && theirs.recipients.is_empty());
        assert!(matches!(
            c.erasure_preview(&app.worker_a, org, r.id).await,
            Err(PersonError::NotFound)
        ));

        let ids = ids_of(&app, p).await?;
        let grounds = ["no_longer_needed"];
        // Refused, changing nothing: a manager erasing; the open case not told; a reason naming
        // the person; a legal hold in force.
        assert!(matches!(
            c.decide_erasure(&manager, org, r.id, decision(&grounds, &[], true, REASON))
                .await,
            Err(PersonError::NotFound)
        ));
        let untold = c
            .decide_erasure(&app.dpo, org, r.id, decision(&grounds, &[], false, REASON))
            .await
            .expect_err("the open case must be told");
        assert_eq!(fields(&untold), ["case_told"]);
        let naming = c
            .decide_erasure(
                &app.dpo,
                org,
                r.id,
                decision(&grounds, &[], true, "Zqerasegiven asked to be forgotten"),
            )
            .await
            .expect_err("the reason names the person");
        assert_eq!(fields(&naming), ["reason"]);
        let hold = c
            .place_hold(
                &app.dpo,
                A,
                p,
                "litigation",
                None,
                "Claim expected from the insurer",
            )
            .await?;
        let held = c
            .decide_erasure(&app.dpo, org, r.id, decision(&grounds, &[], true, REASON))
            .await
            .expect_err("a hold keeps the record");
        assert_eq!(fields(&held), ["exemptions"]);
        c.release_hold(&app.dpo, A, p, hold.id, "The insurer settled the claim")
            .await?;
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());
        assert_eq!(
            c.rights_request(&app.dpo, org, r.id).await?.request.state,
            RequestState::Open
        );

        // Inside the destruction's transaction, a request moved on since it was decided stops it.
        let access = PersonAccess::for_tests(p);
        let now = time::OffsetDateTime::now_utc();
        let scope = c
            .store()
            .destruction_scope(&access, AuditDraft::for_tests("test.scope", Some(p), now))
            .await?
            .expect("the record is there");
        let stale = c
            .store()
            .destroy_person(
                DestructionPlan {
                    access: &access,
                    scope,
                    certificate_id: Uuid::now_v7(),
                    organisation_id: org,
                    certificate: "{}".to_owned(),
                    certificate_sha256: String::new(),
                    signature: None,
                    at_micros: 0,
                    review_id: None,
                    erasure_request: Some((r.id, r.version + 1)),
                    tasks: Vec::new(),
                },
                AuditDraft::for_tests("test.destroy", Some(p), now),
            )
            .await?;
        assert_eq!(stale, Err(DestructionRefusal::Changed));
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());

        // Erased.
        let ErasureDecision::Erased(done) = c
            .decide_erasure(&app.dpo, org, r.id, decision(&grounds, &[], true, REASON))
            .await?
        else {
            panic!("not erased");
        };
        let certificate = &done.certificate;
        assert_eq!(certificate.basis, "erasure");
        assert_eq!(certificate.record, p);
        let line = certificate.erasure.as_ref().expect("the request is stated");
        assert_eq!(line.request, r.id);
        assert_eq!(line.received_on, "2026-11-20");
        assert_eq!(line.grounds, ["no_longer_needed"]);
        assert_eq!(line.exemptions_weighed.len(), 7);
        assert_eq!(line.recipients[0].disclosures.len(), 1);
        assert!(line.open_case_told);
        assert_eq!(line.recipients, seen.recipients);
        let body = done.record.body.to_lowercase();
        for marker in ["zqerase", "9434765919", "1980"] {
            assert!(!body.contains(marker), "{marker} in the certificate");
        }

        // Only the certificate is left: no row of the record, the request included, anywhere.
        let left = rows_naming(&app, &ids).await?;
        assert!(
            left.is_empty(),
            "rows of the erased record remain: {left:?}"
        );
        assert!(c.read_person(&app.worker_a, P, p).await.is_err());
        assert!(c.store().destroyed(p).await?);
        assert!(c.rights_request(&app.dpo, org, r.id).await.is_err());
        let (_, kept) = c
            .destruction_certificate(&app.dpo, org, done.record.id)
            .await?
            .expect("the certificate is kept");
        assert_eq!(&kept, certificate);

        // The Data Protection Officer is asked to tell the recipient, by the certificate (no
        // person named); the manager is not.
        let tell: Vec<_> = c
            .tasks(&app.dpo, TaskState::Open, 500)
            .await?
            .into_iter()
            .filter(|t| t.task.kind == TaskKind::TellOfErasure)
            .collect();
        assert_eq!(tell.len(), 1);
        assert_eq!(tell[0].task.subject_id, done.record.id);
        assert_eq!(tell[0].task.person_id, None);
        assert!(
            c.tasks(&manager, TaskState::Open, 500)
                .await?
                .iter()
                .all(|t| t.task.kind != TaskKind::TellOfErasure)
        );
        // Everyone else is intact.
        assert!(c.read_person(&app.worker_a, P, other).await.is_ok());
        chain_is_intact(&app).await
    }
);

both_backends!(
    an_erasure_refused_under_an_exemption_keeps_the_record_and_names_it,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let org = app.organisation;
        let p = app
            .person_named("Zqrefusedgiven", "Zqrefusedfamily")
            .await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager.r", true)
            .await?;

        // Only an open request for erasure is decided.
        let waiting = c
            .log_rights_request(&app.worker_a, p, erasure(None))
            .await?;
        assert!(matches!(
            c.decide_erasure(
                &manager,
                org,
                waiting.id,
                decision(&[], &["safeguarding"], false, "")
            )
            .await,
            Err(PersonError::Conflict(_))
        ));
        let access = c
            .log_rights_request(
                &app.worker_a,
                p,
                RequestInput {
                    kind: "access",
                    ..erasure(Some("known_to_staff"))
                },
            )
            .await?;
        assert!(matches!(
            c.erasure_preview(&manager, org, access.id).await,
            Err(PersonError::NotFound)
        ));
        // Codes that are not choices are named.
        let r = c
            .log_rights_request(&app.worker_a, p, erasure(Some("known_to_staff")))
            .await?;
        let bad = c
            .decide_erasure(
                &manager,
                org,
                r.id,
                decision(&["whim"], &["because"], false, ""),
            )
            .await
            .expect_err("not choices");
        assert_eq!(fields(&bad), ["grounds", "exemptions"]);

        // A service's manager refuses under two exemptions: no reason text needed, the codes are
        // its reasons, kept on its step.
        let ErasureDecision::Refused(refused) = c
            .decide_erasure(
                &manager,
                org,
                r.id,
                decision(
                    &["consent_withdrawn"],
                    &["safeguarding", "legal_claims"],
                    false,
                    "",
                ),
            )
            .await?
        else {
            panic!("not refused");
        };
        assert_eq!(refused.state, RequestState::Refused);
        let steps = c.rights_request(&manager, org, r.id).await?.steps;
        let last = steps.last().expect("steps");
        assert_eq!(last.step, RequestStep::Refused);
        assert_eq!(last.detail.as_deref(), Some("safeguarding,legal_claims"));
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());
        // Decided once.
        assert!(matches!(
            c.decide_erasure(
                &manager,
                org,
                r.id,
                decision(&["unlawful"], &[], false, REASON)
            )
            .await,
            Err(PersonError::Conflict(_))
        ));

        // An erasure is never closed as answered by hand.
        let by_hand = c
            .step_rights_request(
                &manager,
                org,
                waiting.id,
                confidant_core::rights::StepInput {
                    step: "answered",
                    on: "2026-11-22",
                    detail: None,
                },
            )
            .await
            .expect_err("answered by erasing only");
        assert_eq!(fields(&by_hand), ["step"]);

        // No ground: refused so, by the Data Protection Officer too, and the record stays.
        let again = c
            .log_rights_request(&app.worker_a, p, erasure(Some("known_to_staff")))
            .await?;
        let ErasureDecision::Refused(_) = c
            .decide_erasure(&app.dpo, org, again.id, decision(&[], &[], false, ""))
            .await?
        else {
            panic!("not refused");
        };
        let steps = c.rights_request(&app.dpo, org, again.id).await?.steps;
        assert_eq!(
            steps.last().and_then(|s| s.detail.as_deref()),
            Some(NO_GROUND)
        );
        assert!(c.read_person(&app.worker_a, P, p).await.is_ok());
        Ok(())
    }
);
