//! The sharing pages, driven like a browser (a session cookie, the CSRF token read from each form,
//! redirects followed by hand): the share wizard (an allowed share and its disclosure page and
//! package download, a blocked share, invalid input), scope, the recipient register's admin pages
//! with a processor's agreement warning, the printable consent form, and consent withdrawn on the
//! page taking effect for the very next share.
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL).

use confidant_core::access::Principal;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::person::PersonInput;
use confidant_core::sharing::{RecipientInput, Rule};
use confidant_core::{Confidant, Purpose, Role};
use confidant_store::SqlStore;
use confidant_testkit::web::{Answer, Browser, shows};
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends};
use uuid::Uuid;

/// An installation with a practitioner of service A, one of service B and a Data Protection
/// Officer signed in, a person of service A, and a GP in the register.
struct World {
    worker: Browser,
    other: Browser,
    dpo: Browser,
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    worker_actor: Principal,
    dpo_actor: Principal,
    organisation: Uuid,
    service_a: Uuid,
    person: Uuid,
    gp: Uuid,
    _db: TestDb,
}

impl World {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let (worker, worker_actor) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "share.worker",
                true,
            )
            .await?;
        let (other, _) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_b),
                "other.worker",
                true,
            )
            .await?;
        let (dpo, dpo_actor) = app
            .add_staff(Role::DataProtectionOfficer, None, "share.dpo", true)
            .await?;
        let mut input = PersonInput::new();
        input.set_code("given_name", "Rosalind");
        input.set_code("family_name", "Franklin");
        input.set_code("safe_phone", "07700900999");
        let person = app
            .confidant
            .create_person(&worker_actor, Purpose::Support, app.service_a, &input)
            .await?
            .id;
        let gp = app
            .confidant
            .add_recipient(
                &dpo_actor,
                app.organisation,
                &RecipientInput {
                    name: "Riverside GP".to_owned(),
                    kind: "health".to_owned(),
                    categories: vec!["identity".to_owned(), "safe_contact".to_owned()],
                    bases: vec!["legal_obligation".to_owned(), "consent".to_owned()],
                    ..RecipientInput::default()
                },
            )
            .await?
            .id;
        let site = app.serve(crate::router);
        let worker = site.web.sign_in(&site.confidant, &worker).await?;
        let other = site.web.sign_in(&site.confidant, &other).await?;
        let dpo = site.web.sign_in(&site.confidant, &dpo).await?;
        Ok(Self {
            worker,
            other,
            dpo,
            confidant: site.confidant,
            worker_actor,
            dpo_actor,
            organisation: site.organisation,
            service_a: site.service_a,
            person,
            gp,
            _db: site.db,
        })
    }

    async fn disclosure_count(&self) -> anyhow::Result<usize> {
        Ok(self
            .confidant
            .disclosures(&self.worker_actor, Purpose::Support, self.person)
            .await?
            .len())
    }

    /// Posts the last step's form (its CSRF token from the confirm step for the GP).
    async fn share(&self, pairs: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let page = format!(
            "/people/{}/share/confirm?recipient_id={}",
            self.person, self.gp
        );
        let path = format!("/people/{}/share", self.person);
        self.worker.submit(&page, &path, pairs).await
    }
}

both_backends!(
    an_allowed_share_through_the_wizard_shows_on_its_disclosure_page,
    |backend| async move {
        let w = World::new(backend).await?;
        let gp = w.gp.to_string();
        let p = w.person;
        // Step 1: the register's recipients, and where the step is said in words.
        let step1 = w.worker.get(&format!("/people/{p}/share")).await?;
        let html = step1.text();
        assert_eq!(step1.status, StatusCode::OK);
        assert!(html.contains("Riverside GP"), "{html}");
        assert!(html.contains("Step 1 of 5"));
        assert!(html.contains("aria-current=\"step\""));
        assert!(html.contains(&format!("action=\"/people/{p}/share/purpose\"")));
        // Step 2: only the bases the recipient may receive under, each explained.
        let step2 = w
            .worker
            .get(&format!("/people/{p}/share/purpose?recipient_id={gp}"))
            .await?;
        let html = step2.text();
        assert!(html.contains("Step 2 of 5"), "{html}");
        assert!(html.contains("value=\"legal_obligation\""));
        assert!(html.contains("The law requires the service to share it."));
        assert!(html.contains(&format!("href=\"/people/{p}/share?recipient_id={gp}\"")));
        // Step 3: only what it may receive; safe contact details are said never to leave.
        let carried = format!("recipient_id={gp}&basis=legal_obligation");
        let step3 = w
            .worker
            .get(&format!("/people/{p}/share/data?{carried}"))
            .await?;
        let html = step3.text();
        assert!(html.contains("Step 3 of 5"), "{html}");
        assert!(html.contains("value=\"given_name\""));
        assert!(!html.contains("value=\"safe_phone\""));
        assert!(html.contains("safe contact details never leave the record"));
        // Step 4: the dry run shows exactly what would go, and shares nothing.
        let chosen = format!("{carried}&fields=given_name&fields=family_name");
        let step4 = w
            .worker
            .get(&format!("/people/{p}/share/check?{chosen}"))
            .await?;
        let html = step4.text();
        assert_eq!(step4.status, StatusCode::OK, "{html}");
        assert!(html.contains("Step 4 of 5"));
        assert!(html.contains("Exactly what will be sent"));
        assert!(html.contains("Rosalind"), "{html}");
        assert!(!html.contains("07700900999"));
        let on = html
            .split_once("Continue to confirm")
            .map(|(before, _)| before.rsplit_once("href=").map_or("", |(_, h)| h))
            .unwrap_or_default();
        assert!(
            on.contains(&format!("/people/{p}/share/confirm?"))
                && on.contains("fields=family_name")
                && on.contains("basis=legal_obligation"),
            "{on}"
        );
        assert_eq!(w.disclosure_count().await?, 0);
        // Step 5: the reasons, posted with the codes carried as hidden inputs.
        let step5 = w
            .worker
            .get(&format!("/people/{p}/share/confirm?{chosen}"))
            .await?;
        let html = step5.text();
        assert!(html.contains("Step 5 of 5"), "{html}");
        assert!(html.contains("name=\"fields\" value=\"family_name\""));
        assert!(html.contains("name=\"reason\""));
        let share = [
            ("recipient_id", gp.as_str()),
            ("fields", "given_name"),
            ("fields", "family_name"),
            ("basis", "legal_obligation"),
            (
                "reason",
                "The GP asked for the person's details for a review.",
            ),
            ("person_told", "yes"),
        ];
        // Check first: nothing blocks it, and nothing is shared.
        let mut checking = share.to_vec();
        checking.push(("action", "check"));
        let checked = w.share(&checking).await?;
        assert_eq!(checked.status, StatusCode::OK, "{}", checked.text());
        assert!(checked.text().contains("No sharing rule blocks this share"));
        assert_eq!(w.disclosure_count().await?, 0);

        let mut sharing = share.to_vec();
        sharing.push(("action", "share"));
        let to = w.share(&sharing).await?.location();
        assert!(
            to.starts_with(&format!("/people/{}/disclosures/", w.person)),
            "{to}"
        );
        let page = w.worker.get(&to).await?;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("Disclosure to Riverside GP"));
        assert!(html.contains("Legal obligation"));
        assert!(html.contains("Given name") && html.contains("Rosalind"));
        assert!(html.contains("The GP asked for the person"));
        assert!(!html.contains("07700900999"), "safe contact never leaves");
        assert_eq!(w.disclosure_count().await?, 1);

        let json = w.worker.get(&format!("{to}/package.json")).await?;
        assert_eq!(json.status, StatusCode::OK);
        assert!(
            json.header(header::CONTENT_DISPOSITION)
                .starts_with("attachment;")
        );
        assert_eq!(json.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(json.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let package: serde_json::Value = serde_json::from_slice(&json.body)?;
        assert_eq!(package["fields"]["given_name"], "Rosalind");
        assert_eq!(
            package["fields"].as_object().map(|m| m.len()),
            Some(2),
            "exactly the fields chosen"
        );
        // The log on the consent and sharing page links to it.
        let log = w
            .worker
            .get(&format!("/people/{}/sharing", w.person))
            .await?;
        assert!(log.text().contains(&to));
        Ok(())
    }
);

both_backends!(
    a_blocked_share_names_the_rule_and_writes_no_disclosure,
    |backend| async move {
        let w = World::new(backend).await?;
        let gp = w.gp.to_string();
        let blocked = w
            .share(&[
                ("recipient_id", gp.as_str()),
                ("fields", "given_name"),
                ("fields", "safe_phone"),
                ("basis", "legal_obligation"),
                (
                    "reason",
                    "The GP asked for the person's details for a review.",
                ),
                ("person_told", "yes"),
                ("action", "share"),
            ])
            .await?;
        assert_eq!(blocked.status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = blocked.text();
        assert!(html.contains("This share would be refused"));
        assert!(
            shows(&html, Rule::SafeContactNeverLeaves.explanation()),
            "{html}"
        );
        assert!(html.contains("data-rule=\"safe_contact_never_leaves\""));
        assert_eq!(w.disclosure_count().await?, 0);
        Ok(())
    }
);

both_backends!(
    invalid_input_answers_400_with_the_error_summary,
    |backend| async move {
        let w = World::new(backend).await?;
        let gp = w.gp.to_string();
        let invalid = w
            .share(&[
                ("recipient_id", gp.as_str()),
                ("fields", "given_name"),
                ("basis", "court_order"),
                ("action", "share"),
            ])
            .await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        let html = invalid.text();
        assert!(html.contains("There is a problem"));
        assert!(html.contains("<title>Error: "));
        assert!(html.contains("Step 5 of 5"));
        for id in ["reason", "court-order-ref", "person-told"] {
            assert!(html.contains(&format!("href=\"#{id}\"")), "{id}: {html}");
        }
        assert_eq!(w.disclosure_count().await?, 0);
        Ok(())
    }
);

both_backends!(
    someone_out_of_scope_gets_page_not_found,
    |backend| async move {
        let w = World::new(backend).await?;
        let package = w
            .confidant
            .share(
                &w.worker_actor,
                Purpose::Support,
                w.person,
                &confidant_core::sharing::ShareRequest {
                    recipient_id: w.gp,
                    fields: vec!["given_name".to_owned()],
                    basis: "legal_obligation".to_owned(),
                    reason: "The GP asked for the person's details.".to_owned(),
                    person_told: true,
                    ..Default::default()
                },
            )
            .await?;
        let p = w.person;
        let d = package.disclosure_id;
        for path in [
            format!("/people/{p}/sharing"),
            format!("/people/{p}/share"),
            format!("/people/{p}/share/purpose?recipient_id={}", w.gp),
            format!("/people/{p}/share/data?recipient_id={}", w.gp),
            format!(
                "/people/{p}/share/check?recipient_id={}&basis=legal_obligation&fields=given_name",
                w.gp
            ),
            format!("/people/{p}/share/confirm?recipient_id={}", w.gp),
            format!("/people/{p}/disclosures/{d}"),
            format!("/people/{p}/disclosures/{d}/package.json"),
        ] {
            let page = w.other.get(&path).await?;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!page.text().contains("Rosalind"));
        }
        // A disclosure asked for under another person is not found either.
        let wrong = w
            .worker
            .get(&format!("/people/{}/disclosures/{d}", Uuid::now_v7()))
            .await?;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);
        Ok(())
    }
);

both_backends!(
    the_dpo_adds_a_processor_and_sees_its_agreement_warning,
    |backend| async move {
        let w = World::new(backend).await?;
        // A practitioner may read the register but not change it.
        let list = w.worker.get("/admin/recipients").await?;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.text().contains("Riverside GP"));
        let refused = w.worker.get("/admin/recipients/new").await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        // Invalid: a processor without its agreement's dates.
        let invalid = w
            .dpo
            .submit(
                "/admin/recipients/new",
                "/admin/recipients/new",
                &[
                    ("name", "Brightline Counselling"),
                    ("kind", "processor"),
                    ("category_identity", "yes"),
                    ("basis_contract", "yes"),
                ],
            )
            .await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert!(invalid.text().contains("href=\"#dpa-ends-on\""));

        // The test clock stands at 22 November 2026: an agreement ending on 31 December is warned.
        let added = w
            .dpo
            .submit(
                "/admin/recipients/new",
                "/admin/recipients/new",
                &[
                    ("name", "Brightline Counselling"),
                    ("kind", "processor"),
                    ("category_identity", "yes"),
                    ("basis_contract", "yes"),
                    ("dpa_starts_on_day", "1"),
                    ("dpa_starts_on_month", "1"),
                    ("dpa_starts_on_year", "2026"),
                    ("dpa_ends_on_day", "31"),
                    ("dpa_ends_on_month", "12"),
                    ("dpa_ends_on_year", "2026"),
                ],
            )
            .await?;
        let to = added.location();
        assert!(to.starts_with("/admin/recipients/"), "{to}");
        let shown = w.dpo.get(&to).await?;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.text());
        assert!(shown.text().contains("Brightline Counselling"));
        let list = w.dpo.get("/admin/recipients").await?.text();
        assert!(list.contains("Brightline Counselling"));
        assert!(
            list.contains("Its data processing agreement ends on 2026-12-31"),
            "{list}"
        );
        assert!(list.contains("Processor (works on our behalf under a contract)"));
        Ok(())
    }
);

both_backends!(
    the_printable_consent_form_lists_the_services_purposes,
    |backend| async move {
        let w = World::new(backend).await?;
        for (code, label) in [
            ("share_with_gp", "Share my information with my GP"),
            ("marac", "Share my information with the MARAC meeting"),
        ] {
            w.confidant
                .add_consent_purpose(
                    &w.dpo_actor,
                    w.service_a,
                    code,
                    label,
                    Some(w.gp),
                    false,
                    "2026-1",
                )
                .await?;
        }
        let page = w
            .worker
            .get(&format!("/services/{}/consent-form", w.service_a))
            .await?;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("Recovery Service"));
        assert!(html.contains("Share my information with my GP"));
        assert!(html.contains("Share my information with the MARAC meeting"));
        assert!(html.contains("Form version 2026-1"));
        assert!(html.contains("Signature"));
        let _ = w.organisation;
        Ok(())
    }
);

both_backends!(
    consent_withdrawn_on_the_page_blocks_the_next_consent_based_share,
    |backend| async move {
        let w = World::new(backend).await?;
        let purpose = w
            .confidant
            .add_consent_purpose(
                &w.dpo_actor,
                w.service_a,
                "share_with_gp",
                "Share my information with my GP",
                Some(w.gp),
                false,
                "2026-1",
            )
            .await?
            .id
            .to_string();
        let page = format!("/people/{}/sharing", w.person);
        let action = format!("{page}/consent");
        // No decision: the page says so; an empty decision is refused with the summary.
        let empty = w
            .worker
            .submit(&page, &action, &[("purpose_id", purpose.as_str())])
            .await?;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        assert!(empty.text().contains("href=\"#state-1\""));

        let granted = w
            .worker
            .submit(
                &page,
                &action,
                &[("purpose_id", purpose.as_str()), ("state", "granted")],
            )
            .await?;
        assert!(granted.location().starts_with(&page));
        let gp = w.gp.to_string();
        let share = [
            ("recipient_id", gp.as_str()),
            ("fields", "given_name"),
            ("basis", "consent"),
            ("reason", "The person asked us to update their GP."),
            ("person_told", "yes"),
            ("action", "share"),
        ];
        w.share(&share).await?.location();
        assert_eq!(w.disclosure_count().await?, 1);

        w.worker
            .submit(
                &page,
                &action,
                &[("purpose_id", purpose.as_str()), ("state", "withdrawn")],
            )
            .await?
            .location();
        let blocked = w.share(&share).await?;
        assert_eq!(blocked.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Named as what it is: withdrawn, on the UK day it was, not "no consent".
        let html = blocked.text();
        assert!(html.contains("data-rule=\"consent_withdrawn\""), "{html}");
        assert!(shows(&html, Rule::ConsentWithdrawn.explanation()));
        assert!(html.contains("Withdrawn on "));
        // The check step says the same, writes nothing, and offers no way on.
        let check = w
            .worker
            .get(&format!(
                "/people/{}/share/check?recipient_id={gp}&basis=consent&fields=given_name",
                w.person
            ))
            .await?;
        let html = check.text();
        assert!(html.contains("data-rule=\"consent_withdrawn\""), "{html}");
        assert!(!html.contains("Continue to confirm"));
        assert!(
            !html.contains("Exactly what will be sent"),
            "nothing of the record is shown"
        );
        assert_eq!(w.disclosure_count().await?, 1);

        // The history keeps both decisions; the current one is the withdrawal.
        let html = w.worker.get(&page).await?.text();
        let history = html
            .split_once("id=\"history\"")
            .map(|(_, h)| h.to_owned())
            .unwrap_or_default();
        assert!(
            history.contains("Granted") && history.contains("Withdrawn"),
            "{history}"
        );
        assert!(html.contains("govuk-tag--orange\">Withdrawn"));
        Ok(())
    }
);
