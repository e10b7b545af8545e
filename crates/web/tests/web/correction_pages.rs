//! Correcting a case note and marking it as entered in error on the pages (issue 16): the note's
//! page offers both, a correction without why is refused with the field named, the earlier text
//! shows struck through with who, when and why, and an entry in error shows struck through, marked.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use confidant_core::Purpose;
use confidant_core::field::RecordKind;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{ContactType, NoteFlags, TokenScope};
use confidant_testkit::web::{self, Web};
use confidant_testkit::{TestApp, both_backends, issue_token};
use serde_json::json;

both_backends!(
    a_note_is_corrected_and_marked_in_error_on_its_page,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Ada", "Pagecorrect").await?;
        let note = app
            .confidant
            .add_entry(
                &app.worker_a,
                Purpose::Support,
                person,
                &NewEntry {
                    kind: RecordKind::Note,
                    case_id: None,
                    parent_id: None,
                    contact_type: Some(ContactType::Phone),
                    occurs_at: None,
                    status: None,
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new().with("body", "Rang on Tuesday about rent"),
                },
            )
            .await?
            .id;
        let worker = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(&app.confidant, &worker).await?;
        let token = issue_token(&app.confidant, "worker.a", TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(cookie);

        let notes = format!("/people/{person}/notes");
        let page = browser.get(&notes).await?.text();
        let edit = format!("/people/{person}/entries/{note}/edit");
        let error = format!("/people/{person}/entries/{note}/error");
        assert!(page.contains(&format!("href=\"{edit}\"")), "{page}");
        assert!(page.contains(&format!("href=\"{error}\"")));

        // Without why: refused, the field named, nothing changed.
        let refused = browser
            .submit(&edit, &edit, &[("body", "Rang on Monday about rent")])
            .await?;
        // The record's forms answer 400 with the problems named.
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.text().contains("Say why the note is corrected"),
            "{}",
            refused.text()
        );
        assert!(
            browser
                .get(&notes)
                .await?
                .text()
                .contains("Rang on Tuesday about rent")
        );

        let saved = browser
            .submit(
                &edit,
                &edit,
                &[
                    ("body", "Rang on Monday about rent"),
                    ("reason", "wrong_detail"),
                ],
            )
            .await?;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
        let page = browser.get(&notes).await?.text();
        assert!(page.contains("Rang on Monday about rent"));
        assert!(
            page.contains("Earlier text, replaced: </span>Rang on Tuesday about rent</del>"),
            "{page}"
        );
        assert!(page.contains("worker.a"));
        assert!(page.contains("A detail was wrong"));

        // Marked as entered in error: kept, struck through, marked, offered no more changes.
        let missing = browser.submit(&error, &error, &[]).await?;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        let marked = browser
            .submit(&error, &error, &[("reason", "wrong_record")])
            .await?;
        assert_eq!(marked.status, StatusCode::SEE_OTHER, "{}", marked.text());
        let page = browser.get(&notes).await?.text();
        assert!(
            page.contains("struck through: </span>Rang on Monday about rent</del>"),
            "{page}"
        );
        assert!(
            page.contains("Entered in error: Written on the wrong person&#x27;s record")
                || page.contains("Entered in error: Written on the wrong person"),
            "{page}"
        );
        assert!(!page.contains(&format!("href=\"{edit}\"")));
        // Marking it again is a conflict, not a second mark.
        let again = browser
            .submit(&error, &error, &[("reason", "duplicate")])
            .await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        // Through the API: a reason is required (422), and marked already is a conflict (409).
        let api = format!("/people/{person}/entries/{note}/error");
        let missing = web
            .expect(
                &token,
                Method::POST,
                &api,
                Some(json!({})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert_eq!(missing["fields"][0]["field"], "reason");
        web.expect(
            &token,
            Method::POST,
            &api,
            Some(json!({"reason": "duplicate"})),
            StatusCode::CONFLICT,
        )
        .await?;
        Ok(())
    }
);

both_backends!(
    a_related_person_is_changed_on_a_page_and_through_the_api,
    |backend| async move {
        use confidant_core::store::Relationship;
        let app = TestApp::new(backend).await?;
        let person = app.person_named("Ada", "Relatives").await?;
        let bo = app
            .confidant
            .add_related(
                &app.worker_a,
                Purpose::Support,
                person,
                Relationship::Family,
                None,
                &RecordInput::new()
                    .with("given_name", "Bo")
                    .with("family_name", "Oldname"),
            )
            .await?
            .id;
        let worker = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(&app.confidant, &worker).await?;
        let token = issue_token(&app.confidant, "worker.a", TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(cookie);

        let record = format!("/people/{person}");
        let edit = format!("/people/{person}/related/{bo}/edit");
        assert!(
            browser
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{edit}\""))
        );
        let form = browser.get(&edit).await?.text();
        assert!(form.contains("value=\"Oldname\""), "{form}");
        // Without a given name: 400, named, nothing changed.
        let refused = browser
            .submit(
                &edit,
                &edit,
                &[
                    ("relationship", "family"),
                    ("given_name", ""),
                    ("family_name", "X"),
                ],
            )
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(browser.get(&record).await?.text().contains("Oldname"));
        let saved = browser
            .submit(
                &edit,
                &edit,
                &[
                    ("relationship", "next_of_kin"),
                    ("given_name", "Bo"),
                    ("family_name", "Newname"),
                ],
            )
            .await?;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let shown = browser.get(&record).await?.text();
        assert!(
            shown.contains("Newname") && !shown.contains("Oldname"),
            "{shown}"
        );
        // The API changes them again; one left out stays.
        let changed = web
            .expect(
                &token,
                Method::PUT,
                &format!("/people/{person}/related/{bo}"),
                Some(json!({"relationship": "advocate", "fields": {"given_name": "Bea"}})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(changed["relationship"], "advocate");
        let listed = web
            .expect(
                &token,
                Method::GET,
                &format!("/people/{person}/related"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(listed[0]["fields"]["family_name"], "Newname", "{listed}");
        assert_eq!(listed[0]["fields"]["given_name"], "Bea");
        Ok(())
    }
);

both_backends!(
    a_closed_case_is_reopened_on_a_page_and_the_api_shows_its_earlier_closing,
    |backend| async move {
        use confidant_core::store::ClosureReason;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let person = app.person_named("Ada", "Reopenpage").await?;
        let case = c
            .open_case(&app.worker_a, Purpose::Support, person, None)
            .await?
            .id;
        c.close_case(
            &app.worker_a,
            Purpose::Support,
            person,
            case,
            ClosureReason::Completed,
        )
        .await?;
        let worker = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(c, &worker).await?;
        let token = issue_token(c, "worker.a", TokenScope::ReadWrite).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(cookie);

        let record = format!("/people/{person}");
        let reopen = format!("/people/{person}/cases/{case}/reopen");
        assert!(
            browser
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{reopen}\""))
        );
        let without = browser.submit(&reopen, &reopen, &[]).await?;
        assert_eq!(without.status, StatusCode::BAD_REQUEST);
        assert!(
            without
                .text()
                .contains("Choose why the case is opening again")
        );
        let done = browser
            .submit(&reopen, &reopen, &[("reason", "not_finished")])
            .await?;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let shown = browser.get(&record).await?.text();
        assert!(shown.contains(&format!("/cases/{case}/close")), "{shown}");
        // Open now: the form and the API answer 409, nothing changes.
        assert_eq!(browser.get(&reopen).await?.status, StatusCode::CONFLICT);
        web.expect(
            &token,
            Method::POST,
            &format!("/people/{person}/cases/{case}/reopen"),
            Some(json!({"reason": "returned"})),
            StatusCode::CONFLICT,
        )
        .await?;
        let cases = web
            .expect(
                &token,
                Method::GET,
                &format!("/people/{person}/cases"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(cases[0]["closed_at"], serde_json::Value::Null);
        assert_eq!(cases[0]["reopenings"][0]["closure_reason"], "completed");
        assert_eq!(cases[0]["reopenings"][0]["reason"], "not_finished");
        Ok(())
    }
);

both_backends!(
    a_misfiled_document_is_moved_on_its_page_after_the_right_person_is_checked,
    |backend| async move {
        use confidant_core::document::Upload;
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let wrong = app.person_named("Ada", "Wrongfile").await?;
        let right = app.person_named("Bea", "Rightfile").await?;
        let number = c
            .read_person(&app.worker_a, Purpose::Support, right)
            .await?
            .record_number;
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
        let doc = c
            .upload_document(
                &app.worker_a,
                Purpose::Support,
                wrong,
                &Upload {
                    file_name: "payslip.pdf",
                    content: pdf,
                    description: None,
                    is_photo: false,
                },
            )
            .await?
            .id;
        let worker = app.staff_record(app.worker_a.audit_id().parse()?).await?;
        let cookie = web::signed_in_cookie(c, &worker).await?;
        let TestApp { confidant, db, .. } = app;
        let _db = db;
        let web = Web::new(crate::router(Arc::new(confidant)));
        let browser = web.browser(cookie);

        let list = format!("/people/{wrong}/documents");
        let step = format!("/people/{wrong}/documents/{doc}/move");
        assert!(
            browser
                .get(&list)
                .await?
                .text()
                .contains(&format!("href=\"{step}\""))
        );
        // A number that is no one's: refused on the field, nothing moves.
        let nobody = browser
            .submit(&step, &step, &[("record_number", "999")])
            .await?;
        assert_eq!(nobody.status, StatusCode::BAD_REQUEST);
        assert!(nobody.text().contains("The record number must be"));
        // The right number: the person is shown to be checked.
        let check = browser
            .submit(&step, &step, &[("record_number", &number.to_string())])
            .await?;
        assert_eq!(check.status, StatusCode::OK);
        let text = check.text();
        assert!(
            text.contains("Bea Rightfile (record") && text.contains("payslip.pdf"),
            "{text}"
        );
        let confirm = format!("{step}?to={right}");
        // Not ticked: refused, nothing moves.
        let csrf = check.csrf();
        let unticked = browser.post_form(&confirm, &[("csrf", &csrf)]).await?;
        assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
        assert!(browser.get(&list).await?.text().contains("payslip.pdf"));
        let moved = browser
            .post_form(&confirm, &[("csrf", &csrf), ("checked", "yes")])
            .await?;
        assert_eq!(moved.status, StatusCode::SEE_OTHER);
        assert_eq!(moved.location(), format!("/people/{right}/documents"));
        assert!(!browser.get(&list).await?.text().contains("payslip.pdf"));
        let now_on = browser
            .get(&format!("/people/{right}/documents"))
            .await?
            .text();
        assert!(now_on.contains("payslip.pdf"));
        let download = browser
            .get(&format!("/people/{right}/documents/{doc}"))
            .await?;
        assert_eq!(download.status, StatusCode::OK);
        Ok(())
    }
);
