//! The record's staff pages, driven like a browser: a session cookie, the CSRF token read from each
//! form, form posts and multipart uploads, redirects followed by hand. Covers adding and editing a
//! person (with the correction banner and history), case notes, the other parts of a record,
//! documents (download headers, a disguised executable, an over-size upload) and referrals through
//! decline and acceptance.
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL).

use std::sync::Arc;

use axum::http::{StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::document::MAX_DOCUMENT_BYTES;
use confidant_core::{Confidant, Purpose, Role};
use confidant_store::SqlStore;
use confidant_testkit::web::{self, between, last_id};
use confidant_testkit::{TestApp, TestBackend, TestDb, both_backends};
use uuid::Uuid;

const PDF: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n";
/// A real 1 × 1 PNG (images are decoded before they are stored).
const PNG: &[u8] = b"\x89PNG\x0d\x0a\x1a\x0a\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0dIDATx\xdac\x10P0\xf8\x0f\x00\x02\x04\x01`R\xe2\xa9a\x00\x00\x00\x00IEND\xaeB`\x82";
/// The start of a Windows executable.
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0";

/// A browser signed in as a practitioner of service A.
struct Browser {
    browser: web::Browser,
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    actor: confidant_core::access::Principal,
    _db: TestDb,
}

impl std::ops::Deref for Browser {
    type Target = web::Browser;

    fn deref(&self) -> &web::Browser {
        &self.browser
    }
}

impl Browser {
    async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let app = TestApp::new(backend).await?;
        let (staff, actor) = app
            .add_staff(
                Role::Practitioner,
                Some(app.service_a),
                "pages.worker",
                true,
            )
            .await?;
        let cookie = web::signed_in_cookie(&app.confidant, &staff).await?;
        let site = app.serve(crate::router);
        Ok(Self {
            browser: site.web.browser(cookie),
            confidant: site.confidant,
            actor,
            _db: site.db,
        })
    }

    /// Adds a person through the pages; gives their id.
    async fn add_person(&self, given: &str, family: &str) -> anyhow::Result<Uuid> {
        let created = self
            .submit(
                "/people/new",
                "/people/new",
                &[
                    ("given_name", given),
                    ("family_name", family),
                    ("date_of_birth_day", "27"),
                    ("date_of_birth_month", "3"),
                    ("date_of_birth_year", "1985"),
                    ("phone", "07700900123"),
                ],
            )
            .await?;
        last_id(&created.location())
    }

    async fn document_count(&self, person: Uuid) -> anyhow::Result<usize> {
        Ok(self
            .confidant
            .documents(&self.actor, Purpose::Support, person)
            .await?
            .len())
    }
}

both_backends!(
    a_person_is_added_edited_and_the_correction_shown,
    |backend| async move {
        let b = Browser::new(backend).await?;
        // Without its CSRF token a post changes nothing.
        let refused = b
            .post_form(
                "/people/new",
                &[("given_name", "Ada"), ("family_name", "Nobody")],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // Names are required: 400, each named, nothing created.
        let invalid = b
            .submit("/people/new", "/people/new", &[("given_name", "Ada")])
            .await?;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert!(invalid.text().contains("There is a problem"));
        assert!(invalid.text().contains("href=\"#family-name\""));
        let list = b.get("/people").await?.text();
        assert!(!list.contains("Nobody") && !list.contains("Ada "), "{list}");

        let person = b.add_person("Ada", "Lovelace").await?;
        let page = b.get(&format!("/people/{person}")).await?;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("Ada Lovelace"));
        assert!(html.contains("Identity and contact"));
        assert!(html.contains("1985-03-27"));
        assert!(html.contains("Never shared or exported"));
        assert!(html.contains(&format!("/people/{person}/edit/safe_contact")));
        // No banner until something changed.
        assert!(!html.contains("saved-banner"));

        // A change: the banner says no recipient needs telling, and the history holds the old value.
        let edit = format!("/people/{person}/edit/identity");
        let changed = b
            .submit(
                &edit,
                &edit,
                &[
                    ("given_name", "Ada"),
                    ("family_name", "Lovelace"),
                    ("date_of_birth_day", "27"),
                    ("date_of_birth_month", "03"),
                    ("date_of_birth_year", "1985"),
                    ("phone", "07700900456"),
                ],
            )
            .await?;
        let to = changed.location();
        assert!(to.ends_with("?changed=identity"), "{to}");
        let after = b.get(&to).await?.text();
        assert!(after.contains("Identity and contact saved"));
        assert!(after.contains(
            "The disclosure log shows these details were not shared with any recipient, so no one needs to be told."
        ));
        assert!(after.contains("07700900456"));
        let history = b.get(&format!("/people/{person}/history")).await?.text();
        assert!(history.contains("07700900123"), "{history}");
        assert!(history.contains("Phone"));
        assert!(history.contains("pages.worker"));

        // Saving the same values changes nothing: no banner.
        let same = b
            .submit(
                &edit,
                &edit,
                &[
                    ("given_name", "Ada"),
                    ("family_name", "Lovelace"),
                    ("date_of_birth_day", "27"),
                    ("date_of_birth_month", "3"),
                    ("date_of_birth_year", "1985"),
                    ("phone", "07700900456"),
                ],
            )
            .await?;
        assert_eq!(same.location(), format!("/people/{person}"));

        // An invalid value: 400 with the field named, the value kept in the form, nothing changed.
        let bad = b
            .submit(
                &edit,
                &edit,
                &[
                    ("given_name", "Ada"),
                    ("family_name", "Lovelace"),
                    ("nhs_number", "123"),
                    ("phone", "07700900789"),
                ],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let bad_html = bad.text();
        assert!(bad_html.contains("NHS number"), "{bad_html}");
        assert!(bad_html.contains("href=\"#nhs-number\""));
        assert!(bad_html.contains("govuk-input--error"));
        let page = b.get(&format!("/people/{person}")).await?.text();
        assert!(page.contains("07700900456") && !page.contains("07700900789"));

        // A choice is saved by code and shown by its label; an empty value clears it.
        let diversity = format!("/people/{person}/edit/diversity");
        let form = b.get(&diversity).await?.text();
        assert!(form.contains("type=\"radio\"") && form.contains("<legend"));
        b.submit(&diversity, &diversity, &[("gender", "woman")])
            .await?
            .location();
        let page = b.get(&format!("/people/{person}")).await?.text();
        assert!(page.contains(">Woman<"), "{page}");
        b.submit(&diversity, &diversity, &[("gender", "")])
            .await?
            .location();
        let page = b.get(&format!("/people/{person}")).await?.text();
        assert!(!page.contains(">Woman<"));
        // An unknown group has no page.
        assert_eq!(
            b.get(&format!("/people/{person}/edit/nonsense"))
                .await?
                .status,
            StatusCode::NOT_FOUND
        );
        Ok(())
    }
);

both_backends!(
    a_case_note_is_added_with_its_flags_and_listed,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Grace", "Hopper").await?;
        let record = format!("/people/{person}");
        let opened = b.submit(&record, &format!("{record}/cases"), &[]).await?;
        assert!(opened.location().starts_with(&record));
        assert!(b.get(&record).await?.text().contains(">Open</strong>"));

        let new_note = format!("/people/{person}/notes/new");
        // No contact type: 400, named, nothing added.
        let bad = b
            .submit(&new_note, &new_note, &[("body", "Called about housing.")])
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("Type of contact must be chosen"));
        assert!(bad.text().contains("Called about housing."));

        let added = b
            .submit(
                &new_note,
                &new_note,
                &[
                    ("contact_type", "phone"),
                    ("occurs_on_day", "20"),
                    ("occurs_on_month", "11"),
                    ("occurs_on_year", "2026"),
                    ("body", "Called about housing."),
                    ("third_party", "yes"),
                    ("supplied_by", "Her landlord"),
                ],
            )
            .await?;
        assert_eq!(added.location(), format!("/people/{person}/notes"));
        let notes = b.get(&format!("/people/{person}/notes")).await?.text();
        assert!(notes.contains("Called about housing."));
        assert!(notes.contains("Phone call"));
        assert!(notes.contains("20 Nov 2026"));
        assert!(notes.contains("Third-party information"));
        assert!(notes.contains("Supplied by Her landlord"));
        assert!(notes.contains("pages.worker"));

        // A later note comes first.
        b.submit(
            &new_note,
            &new_note,
            &[("contact_type", "visit"), ("body", "Home visit today.")],
        )
        .await?
        .location();
        let notes = b.get(&format!("/people/{person}/notes")).await?.text();
        let (visit, call) = (
            notes.find("Home visit today.").unwrap_or(usize::MAX),
            notes.find("Called about housing.").unwrap_or(0),
        );
        assert!(visit < call, "newest first");
        Ok(())
    }
);

both_backends!(
    plans_appointments_paper_and_related_people_are_kept,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Mary", "Seacole").await?;
        let p = format!("/people/{person}");

        // A plan with a goal whose progress is updated.
        b.submit(
            &format!("{p}/plans/new"),
            &format!("{p}/plans/new"),
            &[("title", "Settle into the new flat"), ("summary", "")],
        )
        .await?
        .location();
        let plans = b.get(&format!("{p}/plans")).await?.text();
        let plan = between(&plans, "id=\"plan-", "\"");
        let goal_form = format!("{p}/plans/{plan}/goals/new");
        b.submit(&goal_form, &goal_form, &[("title", "Register with a GP")])
            .await?
            .location();
        let plans = b.get(&format!("{p}/plans")).await?.text();
        assert!(plans.contains("Register with a GP") && plans.contains("Not started"));
        let goal = between(&plans, "id=\"goal-", "\"");
        let goal_edit = format!("{p}/entries/{goal}/edit");
        b.submit(
            &goal_edit,
            &goal_edit,
            &[("status", "in_progress"), ("progress", "Form filled in.")],
        )
        .await?
        .location();
        let plans = b.get(&format!("{p}/plans")).await?.text();
        assert!(plans.contains("In progress") && plans.contains("Form filled in."));

        // An appointment, then marked attended.
        let new_appointment = format!("{p}/appointments/new");
        let bad = b
            .submit(&new_appointment, &new_appointment, &[("title", "GP")])
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        b.submit(
            &new_appointment,
            &new_appointment,
            &[
                ("title", "GP registration"),
                ("place", "Health centre"),
                ("occurs_on_day", "1"),
                ("occurs_on_month", "12"),
                ("occurs_on_year", "2026"),
                ("occurs_time", "14:30"),
            ],
        )
        .await?
        .location();
        let list = b.get(&format!("{p}/appointments")).await?.text();
        assert!(list.contains("01 Dec 2026 14:30") && list.contains("Booked"));
        let appointment = between(&list, "id=\"appointment-", "\"");
        b.submit(
            &format!("{p}/appointments"),
            &format!("{p}/entries/{appointment}/status"),
            &[("status", "attended")],
        )
        .await?
        .location();
        assert!(
            b.get(&format!("{p}/appointments"))
                .await?
                .text()
                .contains(">Attended<")
        );

        // An archived paper file needs its destruction date; with it, it is on the register.
        let new_paper = format!("{p}/paper/new");
        let bad = b
            .submit(
                &new_paper,
                &new_paper,
                &[
                    ("kind", "paper_file"),
                    ("description", "Intake forms"),
                    ("location", "Cabinet 2"),
                ],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("Destroy by"));
        b.submit(
            &new_paper,
            &new_paper,
            &[
                ("kind", "paper_file"),
                ("description", "Intake forms"),
                ("location", "Cabinet 2"),
                ("due_on_day", "1"),
                ("due_on_month", "1"),
                ("due_on_year", "2033"),
            ],
        )
        .await?
        .location();
        let register = b.get("/paper").await?;
        assert_eq!(register.status, StatusCode::OK);
        let register = register.text();
        assert!(register.contains("Archived paper file") && register.contains("01 Jan 2033"));
        assert!(register.contains(&format!("/people/{person}/paper")));
        assert!(
            !register.contains("Intake forms"),
            "descriptions stay in the record"
        );
        // Its destruction is recorded with who destroyed it and their reference, not a button,
        // and not before its date.
        let paper_page = b.get(&format!("{p}/paper")).await?.text();
        assert!(!paper_page.contains("Mark destroyed"));
        let card = |page: &str, holding: &str| -> String {
            page.split("id=\"paper-")
                .skip(1)
                .find(|c| c.contains(holding))
                .and_then(|c| c.split('"').next())
                .unwrap_or_default()
                .to_owned()
        };
        let later = format!(
            "{p}/entries/{}/destruction",
            card(&paper_page, "Intake forms")
        );
        assert!(paper_page.contains(&later));
        let filled = [
            ("destroyed_by", "Shred Co"),
            ("reference", "DC-9"),
            ("destroyed_on_day", "1"),
            ("destroyed_on_month", "1"),
            ("destroyed_on_year", "2020"),
        ];
        let early = b.submit(&later, &later, &filled).await?;
        assert_eq!(early.status, StatusCode::CONFLICT);
        b.submit(
            &new_paper,
            &new_paper,
            &[
                ("kind", "paper_file"),
                ("description", "Old case files"),
                ("location", "Cabinet 3"),
                ("due_on_day", "1"),
                ("due_on_month", "1"),
                ("due_on_year", "2020"),
            ],
        )
        .await?
        .location();
        let paper_page = b.get(&format!("{p}/paper")).await?.text();
        let form = format!(
            "{p}/entries/{}/destruction",
            card(&paper_page, "Old case files")
        );
        let bad = b
            .submit(&form, &form, &[("destroyed_by", "Shred Co")])
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("Their reference is required"));
        b.submit(&form, &form, &filled).await?.location();
        let paper_page = b.get(&format!("{p}/paper")).await?.text();
        assert!(paper_page.contains("By Shred Co, reference DC-9, on 01 Jan 2020"));
        assert!(!paper_page.contains(&form) && paper_page.contains(&later));
        let register = b.get("/paper").await?.text();
        assert!(register.contains("01 Jan 2033") && !register.contains("01 Jan 2020"));

        // A related person, then removed after confirmation.
        let new_related = format!("{p}/related/new");
        let bad = b
            .submit(&new_related, &new_related, &[("given_name", "Tom")])
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        b.submit(
            &new_related,
            &new_related,
            &[
                ("relationship", "next_of_kin"),
                ("given_name", "Tom"),
                ("family_name", "Seacole"),
                ("phone", "01632 960001"),
            ],
        )
        .await?
        .location();
        let page = b.get(&p).await?.text();
        assert!(page.contains("Tom Seacole") && page.contains("Next of kin"));
        let related = between(&page, "id=\"related-", "\"");
        let remove = format!("{p}/related/{related}/remove");
        let confirm = b.get(&remove).await?.text();
        assert!(confirm.contains("Remove Tom Seacole from this record?"));
        b.submit(&remove, &remove, &[]).await?.location();
        assert!(!b.get(&p).await?.text().contains("Tom Seacole"));

        // The case closes with a reason.
        b.submit(&p, &format!("{p}/cases"), &[]).await?.location();
        let page = b.get(&p).await?.text();
        let case = between(&page, &format!("{p}/cases/"), "/close");
        let close = format!("{p}/cases/{case}/close");
        let bad = b.submit(&close, &close, &[]).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        b.submit(&close, &close, &[("reason", "completed")])
            .await?
            .location();
        let page = b.get(&p).await?.text();
        assert!(page.contains("Support completed"));
        // Closing it again is a conflict, and says so.
        let again = b
            .post_form(
                &close,
                &[("csrf", &b.get(&p).await?.csrf()), ("reason", "completed")],
            )
            .await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        Ok(())
    }
);

both_backends!(
    a_pdf_is_uploaded_and_downloaded_with_safe_headers,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Rosalind", "Franklin").await?;
        let documents = format!("/people/{person}/documents");
        let uploaded = b
            .upload(
                &documents,
                &documents,
                &[("description", "Tenancy agreement")],
                ("tenancy.pdf", PDF),
                true,
            )
            .await?;
        assert_eq!(uploaded.location(), documents);
        let list = b.get(&documents).await?.text();
        assert!(list.contains("tenancy.pdf") && list.contains("Tenancy agreement"));
        assert!(list.contains("PDF"));
        let document = between(&list, &format!("{documents}/"), "\"");
        let download = b.get(&format!("{documents}/{document}")).await?;
        assert_eq!(download.status, StatusCode::OK);
        assert_eq!(download.body, PDF);
        assert_eq!(download.header(header::CONTENT_TYPE), "application/pdf");
        assert_eq!(
            download.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"document-{document}.pdf\"")
        );
        assert_eq!(download.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let csp = download.header(header::CONTENT_SECURITY_POLICY);
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(download.header(header::CACHE_CONTROL), "no-store");
        // Another person's path does not reach the document.
        let other = b.add_person("Someone", "Else").await?;
        assert_eq!(
            b.get(&format!("/people/{other}/documents/{document}"))
                .await?
                .status,
            StatusCode::NOT_FOUND
        );

        // A photo is shown inline on the person's page, with the same care.
        let page = format!("/people/{person}");
        b.upload(&page, &format!("{page}/photo"), &[], ("me.png", PNG), false)
            .await?
            .location();
        let html = b.get(&page).await?.text();
        assert!(html.contains(&format!(
            "<img class=\"app-photo\" src=\"/people/{person}/photo\" alt=\"Photo of the person\">"
        )));
        let photo = b.get(&format!("{page}/photo")).await?;
        assert_eq!(photo.status, StatusCode::OK);
        assert_eq!(photo.header(header::CONTENT_TYPE), "image/png");
        assert!(
            photo
                .header(header::CONTENT_DISPOSITION)
                .starts_with("inline")
        );
        assert_eq!(photo.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(
            photo
                .header(header::CONTENT_SECURITY_POLICY)
                .contains("sandbox")
        );
        assert_eq!(photo.header(header::CACHE_CONTROL), "no-store");
        // A PDF is no photo.
        let refused = b
            .upload(&page, &format!("{page}/photo"), &[], ("me.pdf", PDF), false)
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        Ok(())
    }
);

both_backends!(
    an_executable_renamed_pdf_is_refused_and_nothing_listed,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Alan", "Turing").await?;
        let documents = format!("/people/{person}/documents");
        let refused = b
            .upload(&documents, &documents, &[], ("invoice.pdf", EXE), true)
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let html = refused.text();
        assert!(html.contains("There is a problem"));
        assert!(html.contains("not an allowed type"), "{html}");
        assert!(html.contains("href=\"#file\""));
        assert!(
            b.get(&documents)
                .await?
                .text()
                .contains("No documents yet.")
        );
        assert_eq!(b.document_count(person).await?, 0);
        // A real PDF named .txt is refused too: the name must agree with the content.
        let refused = b
            .upload(&documents, &documents, &[], ("notes.txt", PDF), true)
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(b.document_count(person).await?, 0);
        Ok(())
    }
);

both_backends!(
    an_upload_over_the_limit_is_refused_with_413_and_nothing_stored,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Dorothy", "Hodgkin").await?;
        let documents = format!("/people/{person}/documents");
        let mut big = PDF.to_vec();
        big.resize(MAX_DOCUMENT_BYTES + 200 * 1024, b'0');
        // Announced too large: refused before the body is read.
        let refused = b
            .upload(&documents, &documents, &[], ("big.pdf", &big), true)
            .await?;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refused.text().contains("The file is too large"));
        // Not announced (streamed): refused when the limit is reached.
        let refused = b
            .upload(&documents, &documents, &[], ("big.pdf", &big), false)
            .await?;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refused.text().contains("Nothing was stored"));
        // Just over the document limit, within the request's: still 413.
        big.truncate(MAX_DOCUMENT_BYTES + 1);
        let refused = b
            .upload(&documents, &documents, &[], ("big.pdf", &big), true)
            .await?;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(b.document_count(person).await?, 0);
        assert!(
            b.get(&documents)
                .await?
                .text()
                .contains("No documents yet.")
        );
        Ok(())
    }
);

async fn record_a_referral(b: &Browser, given: &str, family: &str) -> anyhow::Result<Uuid> {
    let created = b
        .submit(
            "/referrals/new",
            "/referrals/new",
            &[
                ("source", "professional"),
                ("given_name", given),
                ("family_name", family),
                ("postcode", "SW1A 1AA"),
                ("referrer_name", "Dr Jones"),
                ("reason", "Needs help with housing."),
            ],
        )
        .await?;
    last_id(&created.location())
}

both_backends!(
    a_referral_is_declined_and_what_was_received_erased,
    |backend| async move {
        let b = Browser::new(backend).await?;
        // Without a source: 400, named.
        let bad = b
            .submit(
                "/referrals/new",
                "/referrals/new",
                &[("given_name", "Ida"), ("family_name", "Wells")],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("href=\"#source\""));

        let referral = record_a_referral(&b, "Ida", "Wells").await?;
        let page = format!("/referrals/{referral}");
        let html = b.get(&page).await?.text();
        assert!(html.contains("Referral of Ida Wells"));
        assert!(html.contains("Needs help with housing."));
        assert!(html.contains("Declining erases everything that was received"));
        let list = b.get("/referrals").await?.text();
        assert!(list.contains("Ida Wells") && list.contains("open-referrals"));

        b.submit(
            &page,
            &format!("{page}/triage"),
            &[("state", "contact_attempted")],
        )
        .await?
        .location();
        b.submit(&page, &format!("{page}/triage"), &[("state", "declined")])
            .await?
            .location();
        let html = b.get(&page).await?.text();
        assert!(html.contains("What was received has been erased."));
        assert!(!html.contains("Ida") && !html.contains("housing"));
        assert!(html.contains("Contact attempted") && html.contains("Declined"));
        let list = b.get("/referrals").await?.text();
        assert!(!list.contains("Ida Wells"));
        assert!(list.contains("Not held (erased)"));
        // Decided: no further step.
        let again = b
            .post_form(
                &format!("{page}/triage"),
                &[
                    ("csrf", &b.get("/referrals").await?.csrf()),
                    ("state", "withdrawn"),
                ],
            )
            .await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        Ok(())
    }
);

both_backends!(
    a_referral_is_accepted_and_becomes_a_person_with_a_case,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let referral = record_a_referral(&b, "Mae", "Jemison").await?;
        let page = format!("/referrals/{referral}");
        // An unknown key worker: 400, named, nothing accepted.
        let bad = b
            .submit(
                &page,
                &format!("{page}/accept"),
                &[("key_worker", "nobody")],
            )
            .await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("href=\"#key-worker\""));
        let accepted = b.submit(&page, &format!("{page}/accept"), &[]).await?;
        let to = accepted.location();
        let person = last_id(&to)?;
        let html = b.get(&to).await?.text();
        assert!(html.contains("Mae Jemison"));
        assert!(html.contains("SW1A 1AA"));
        assert!(html.contains(">Open</strong>"));
        // The accepting practitioner is the key worker of the case.
        assert!(
            html.contains("<td class=\"govuk-table__cell\">pages.worker</td>"),
            "{html}"
        );
        let referral_page = b.get(&page).await?.text();
        assert!(referral_page.contains(&format!("/people/{person}")));
        assert!(referral_page.contains("Accepted"));
        Ok(())
    }
);

both_backends!(
    times_are_typed_and_shown_in_uk_time_on_both_sides_of_a_clock_change,
    |backend| async move {
        let b = Browser::new(backend).await?;
        let person = b.add_person("Ada", "Clock").await?;
        let p = format!("/people/{person}");
        let new_appointment = format!("{p}/appointments/new");
        let book =
            |day: &'static str, month: &'static str, year: &'static str, at: &'static str| {
                [
                    ("title", "Review"),
                    ("place", "Office"),
                    ("occurs_on_day", day),
                    ("occurs_on_month", month),
                    ("occurs_on_year", year),
                    ("occurs_time", at),
                ]
            };
        // 14:00 in July is BST: stored as 13:00 UTC, shown as 14:00 BST.
        b.submit(
            &new_appointment,
            &new_appointment,
            &book("14", "7", "2027", "14:00"),
        )
        .await?
        .location();
        // 14:00 in January is GMT.
        b.submit(
            &new_appointment,
            &new_appointment,
            &book("14", "1", "2027", "14:00"),
        )
        .await?
        .location();
        // 01:30 on 28 March 2027 does not exist: the clocks go from 01:00 to 02:00.
        let skipped = b
            .submit(
                &new_appointment,
                &new_appointment,
                &book("28", "3", "2027", "01:30"),
            )
            .await?;
        assert_eq!(skipped.status, StatusCode::BAD_REQUEST);
        assert!(
            skipped.text().contains("the clocks go forward"),
            "{}",
            skipped.text()
        );
        let list = b.get(&format!("{p}/appointments")).await?.text();
        assert!(list.contains("14 Jul 2027 14:00 BST"), "{list}");
        assert!(list.contains("14 Jan 2027 14:00 GMT"), "{list}");
        let mut stored: Vec<time::OffsetDateTime> = b
            .confidant
            .entries(
                &b.actor,
                confidant_core::Purpose::Support,
                person,
                &[confidant_core::field::RecordKind::Appointment],
            )
            .await?
            .iter()
            .map(|e| e.occurs_at)
            .collect();
        stored.sort();
        assert_eq!(
            stored,
            [
                time::macros::datetime!(2027-01-14 14:00 UTC),
                time::macros::datetime!(2027-07-14 13:00 UTC)
            ]
        );
        Ok(())
    }
);
