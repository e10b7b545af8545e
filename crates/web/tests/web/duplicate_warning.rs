//! Adding a person who may already be recorded (issue 16), on the page and through the API: the
//! page shows the form again (409) with what was typed and a banner linking to the match by name,
//! and "This is a different person" lets it through; the API answers `409 possible_duplicates`
//! with ids and index codes, and `"not_duplicate": true` lets it through.

use axum::http::{Method, StatusCode};
use confidant_core::store::TokenScope;
use confidant_testkit::web::last_id;
use confidant_testkit::{TestApp, both_backends};
use serde_json::json;

const NHS_SPACED: &str = "943 476 5919";

both_backends!(
    the_add_a_person_page_warns_of_a_possible_duplicate_and_adds_them_once_confirmed,
    |backend| async move {
        let site = TestApp::new(backend).await?.serve(crate::router);
        let b = site.browser("worker.a").await?;
        let people =
            || async { Ok::<_, anyhow::Error>(site.db.row_counts(&["person"]).await?["person"]) };
        let first = b
            .submit(
                "/people/new",
                "/people/new",
                &[
                    ("given_name", "Ada"),
                    ("family_name", "Gill"),
                    ("nhs_number", "9434765919"),
                ],
            )
            .await?;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
        let ada = last_id(&first.location())?;
        let before = people().await?;

        let amy = [
            ("given_name", "Amy"),
            ("family_name", "Gillard"),
            ("nhs_number", NHS_SPACED),
            ("date_of_birth_day", "2"),
            ("date_of_birth_month", "4"),
            ("date_of_birth_year", "1990"),
        ];
        let warned = b.submit("/people/new", "/people/new", &amy).await?;
        assert_eq!(warned.status, StatusCode::CONFLICT);
        let html = warned.text();
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains("Possible duplicate"), "{html}");
        // The match, by name, linked to their record, with what matched.
        assert!(
            html.contains(&format!(
                "href=\"/people/{ada}\">Ada Gill</a>: same NHS number"
            )),
            "{html}"
        );
        // What was typed is kept, and the box to confirm is offered, not ticked.
        assert!(html.contains("value=\"Amy\"") && html.contains("value=\"Gillard\""));
        assert!(html.contains(&format!("value=\"{NHS_SPACED}\"")));
        assert!(html.contains("value=\"1990\""));
        assert!(html.contains("name=\"not_duplicate\" type=\"checkbox\" value=\"yes\">"));
        assert!(html.contains("This is a different person — add them anyway"));
        assert_eq!(people().await?, before, "nothing was created");

        // Not ticked: warned again. Ticked: added.
        let again = b.submit("/people/new", "/people/new", &amy).await?;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let mut sure = amy.to_vec();
        sure.push(("not_duplicate", "yes"));
        let added = b.submit("/people/new", "/people/new", &sure).await?;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
        let amy_id = last_id(&added.location())?;
        assert_ne!(amy_id, ada);
        assert!(
            b.get(&format!("/people/{amy_id}"))
                .await?
                .text()
                .contains("Amy Gillard")
        );
        assert_eq!(people().await?, before + 1);

        // A box ticked with an invalid field stays ticked while the field is corrected.
        let mut invalid = sure.clone();
        invalid[0] = ("given_name", "");
        let refused = b.submit("/people/new", "/people/new", &invalid).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused
                .text()
                .contains("name=\"not_duplicate\" type=\"checkbox\" value=\"yes\" checked>")
        );
        Ok(())
    }
);

both_backends!(
    the_api_answers_409_possible_duplicates_until_not_duplicate_is_sent,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let token = app.token("worker.a", TokenScope::ReadWrite).await?;
        let site = app.serve(crate::router);
        let path = format!("/services/{}/people", site.service_a);
        let web = &site.web;
        let first = web
            .expect(
                &token,
                Method::POST,
                &path,
                Some(json!({"given_name": "Ada", "family_name": "Gill", "nhs_number": "9434765919", "date_of_birth": "1985-03-27"})),
                StatusCode::CREATED,
            )
            .await?;
        let ada = first["id"].as_str().unwrap_or_default().to_owned();
        let before = site.db.row_counts(&["person"]).await?["person"];

        let second = json!({"given_name": "Zqxcanary", "family_name": "Gill", "nhs_number": NHS_SPACED, "date_of_birth": "1985-03-27"});
        let answer = web
            .api(&token, Method::POST, &path, Some(second.clone()))
            .await?;
        assert_eq!(answer.status, StatusCode::CONFLICT);
        let text = answer.text();
        assert!(
            // Whole values: an id in the answer may hold "943" or "1985".
            !text.contains("943 476")
                && !text.contains("9434765919")
                && !text.contains("Zqxcanary")
                && !text.contains("1985-03-27"),
            "{text}"
        );
        let body = answer.json()?;
        assert_eq!(body["error"], "possible_duplicates");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("not_duplicate"))
        );
        assert_eq!(
            body["matches"],
            json!([{"id": ada, "matched_on": ["nhs_number", "birth_family_name"]}])
        );
        assert!(body.get("fields").is_none());
        assert_eq!(site.db.row_counts(&["person"]).await?["person"], before);

        // `not_duplicate` must be a boolean; `false` is the same as leaving it out.
        let mut not_bool = second.clone();
        not_bool["not_duplicate"] = json!("yes");
        let malformed = web.api(&token, Method::POST, &path, Some(not_bool)).await?;
        assert_eq!(
            malformed.status,
            StatusCode::BAD_REQUEST,
            "{}",
            malformed.text()
        );
        let mut no = second.clone();
        no["not_duplicate"] = json!(false);
        let again = web.api(&token, Method::POST, &path, Some(no)).await?;
        assert_eq!(again.status, StatusCode::CONFLICT);

        let mut sure = second;
        sure["not_duplicate"] = json!(true);
        let added = web
            .expect(&token, Method::POST, &path, Some(sure), StatusCode::CREATED)
            .await?;
        assert_ne!(added["id"], json!(ada));
        assert_eq!(added["given_name"], "Zqxcanary");
        assert!(
            added.get("not_duplicate").is_none(),
            "not stored as a field: {added}"
        );
        assert_eq!(site.db.row_counts(&["person"]).await?["person"], before + 1);

        // The OpenAPI document tells of both.
        let openapi = web.get("/api/v1/openapi.json").await?.json()?;
        let create = &openapi["paths"]["/api/v1/services/{service_id}/people"]["post"];
        assert!(create["responses"].get("409").is_some(), "{create}");
        let request = &openapi["components"]["schemas"]["NewPersonRequest"];
        assert_eq!(
            request["properties"]["not_duplicate"]["type"], "boolean",
            "{request}"
        );
        assert_eq!(request["additionalProperties"]["type"], "string");
        let error = &openapi["components"]["schemas"]["ErrorBody"];
        assert!(error["properties"].get("matches").is_some(), "{error}");
        Ok(())
    }
);
