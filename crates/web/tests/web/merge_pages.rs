//! Merging a duplicate record on the pages and through the API (issue 16): a manager is offered it,
//! types the duplicate's record number, sees both records side by side with what moves, must say
//! how they made sure and tick, and the merge lands; the duplicate's page then says where it went,
//! the survivor's history lists the merge. A practitioner is neither offered it nor let in.

use axum::http::{Method, StatusCode};
use confidant_core::Purpose;
use confidant_core::Role;
use confidant_core::field::{PersonField, RecordKind};
use confidant_core::person::PersonInput;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::store::{ContactType, NoteFlags, TokenScope};
use confidant_testkit::{TestApp, both_backends};
use serde_json::json;

fn note(body: &str) -> NewEntry {
    NewEntry {
        kind: RecordKind::Note,
        case_id: None,
        parent_id: None,
        contact_type: Some(ContactType::Phone),
        occurs_at: None,
        status: None,
        due_at: None,
        flags: NoteFlags::default(),
        values: RecordInput::new().with("body", body),
    }
}

both_backends!(
    a_manager_merges_a_duplicate_on_the_pages,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        app.add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let c = &app.confidant;
        let keep = app.person_named("Ada", "Twice").await?;
        let dup = app.person_named("Ada", "Twice").await?;
        c.update_person(
            &app.worker_a,
            Purpose::Support,
            dup,
            &PersonInput::new().with(PersonField::NhsNumber, "943 476 5919"),
        )
        .await?;
        c.add_entry(
            &app.worker_a,
            Purpose::Support,
            dup,
            &note("Zqmergepage note"),
        )
        .await?;
        let dup_number = c
            .read_person(&app.worker_a, Purpose::Support, dup)
            .await?
            .record_number;
        let site = app.serve(crate::router);
        let manager = site.browser("manager.a").await?;
        let practitioner = site.browser("worker.a").await?;
        let record = format!("/people/{keep}");
        let page = format!("/people/{keep}/merge");

        assert!(
            manager
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{page}\""))
        );
        assert!(
            !practitioner
                .get(&record)
                .await?
                .text()
                .contains(&format!("href=\"{page}\""))
        );
        assert_eq!(practitioner.get(&page).await?.status, StatusCode::NOT_FOUND);

        // A number that is no one's is refused by name.
        let refused = manager
            .submit(&page, &page, &[("record_number", "99999")])
            .await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused
                .text()
                .contains("The record number must name another record")
        );
        // The check: both records, what fills a gap, what moves.
        let check = manager
            .submit(&page, &page, &[("record_number", &dup_number.to_string())])
            .await?;
        assert_eq!(check.status, StatusCode::OK, "{}", check.text());
        let text = check.text();
        assert!(text.contains("Check the records are the same person"));
        assert!(text.contains("9434765919"), "{text}");
        assert!(text.contains("Taken from the duplicate"));
        assert!(text.contains("1 entry"), "{text}");
        // Without saying how, and without the tick: refused, nothing merged.
        let confirm = format!("{page}?with={dup}");
        let neither = manager.submit(&page, &confirm, &[("how", "")]).await?;
        assert_eq!(neither.status, StatusCode::BAD_REQUEST);
        assert!(neither.text().contains("Say how you made sure"));
        // Saying how but not ticking is refused too (and what was chosen is kept).
        let unticked = manager
            .submit(&page, &confirm, &[("how", "identifiers")])
            .await?;
        assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
        let text = unticked.text();
        assert!(text.contains("Tick to say you checked"), "{text}");
        assert!(!text.contains("Say how you made sure"));
        assert!(text.contains("value=\"identifiers\" checked"));
        assert!(
            site.confidant
                .read_person(&site.worker_a, Purpose::Support, dup)
                .await
                .is_ok()
        );
        let merged = manager
            .submit(
                &page,
                &confirm,
                &[("how", "identifiers"), ("checked", "yes")],
            )
            .await?;
        assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.text());
        assert_eq!(merged.location(), format!("/people/{keep}/history"));
        let history = manager
            .get(&format!("/people/{keep}/history"))
            .await?
            .text();
        assert!(
            history.contains("Records merged into this one"),
            "{history}"
        );
        assert!(history.contains(&format!("Record {dup_number}")));
        // The duplicate's page says where it went; the survivor holds the note.
        let gone = practitioner.get(&format!("/people/{dup}")).await?;
        assert_eq!(gone.status, StatusCode::OK);
        assert!(gone.text().contains(&format!("href=\"/people/{keep}\"")));
        assert!(
            practitioner
                .get(&format!("/people/{keep}/notes"))
                .await?
                .text()
                .contains("Zqmergepage note")
        );
        // Someone of another service learns nothing of it.
        let other = site.browser("worker.b").await?;
        assert_eq!(
            other.get(&format!("/people/{dup}")).await?.status,
            StatusCode::NOT_FOUND
        );
        Ok(())
    }
);

both_backends!(
    the_api_checks_then_merges_and_lists_merges,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        app.add_staff(Role::ServiceManager, Some(app.service_a), "manager.a", true)
            .await?;
        let keep = app.person_named("Bo", "Twice").await?;
        let dup = app.person_named("Bo", "Twice").await?;
        let site = app.serve(crate::router);
        let manager = site.token("manager.a", TokenScope::ReadWrite).await?;
        let worker = site.token("worker.a", TokenScope::ReadWrite).await?;
        let preview = site
            .web
            .expect(
                &manager,
                Method::GET,
                &format!("/people/{keep}/merge?with={dup}"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(preview["both_open"], false);
        assert_eq!(preview["duplicate_id"], dup.to_string());
        // A practitioner may not; a made-up confirmation is refused by name.
        site.web
            .expect(
                &worker,
                Method::POST,
                &format!("/people/{keep}/merge"),
                Some(json!({"merge_id": dup, "confirmed_how": "identifiers"})),
                StatusCode::NOT_FOUND,
            )
            .await?;
        let bad = site
            .web
            .expect(
                &manager,
                Method::POST,
                &format!("/people/{keep}/merge"),
                Some(json!({"merge_id": dup, "confirmed_how": "guessed"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
        assert!(bad.to_string().contains("confirmed_how"));
        let merged = site
            .web
            .expect(
                &manager,
                Method::POST,
                &format!("/people/{keep}/merge"),
                Some(json!({"merge_id": dup, "confirmed_how": "with_person"})),
                StatusCode::OK,
            )
            .await?;
        assert_eq!(merged["surviving_id"], keep.to_string());
        assert_eq!(merged["confirmed_how"], "with_person");
        let list = site
            .web
            .expect(
                &worker,
                Method::GET,
                &format!("/people/{keep}/merges"),
                None,
                StatusCode::OK,
            )
            .await?;
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        // The merged record answers as gone.
        site.web
            .expect(
                &worker,
                Method::GET,
                &format!("/people/{dup}"),
                None,
                StatusCode::NOT_FOUND,
            )
            .await?;
        Ok(())
    }
);
