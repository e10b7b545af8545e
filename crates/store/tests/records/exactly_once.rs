//! Exactly-once state transitions (issue 12, finding 3): N callers race for one transition on a
//! multi-thread runtime; exactly one wins, every other gets `Conflict`, and nothing but the winner's
//! rows (and audit event) is written.

use std::sync::Arc;

use confidant_core::store::Store;

use super::*;

/// How many callers race for each transition.
const RACERS: usize = 10;

/// Row counts of the tables a transition could write to.
async fn counts(app: &TestApp) -> anyhow::Result<Vec<(&'static str, i64)>> {
    let mut conn = app.db.raw().await?;
    let mut out = Vec::new();
    for table in [
        "person",
        "case_episode",
        "data_key",
        "blind_index",
        "triage_event",
        "audit_event",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await?;
        out.push((table, n));
    }
    Ok(out)
}

/// Runs `RACERS` copies of `call` at once, each on its own task, and gives back their results.
async fn race<T, F, Fut>(app: &Arc<TestApp>, call: F) -> anyhow::Result<Vec<Result<T, PersonError>>>
where
    T: Send + 'static,
    F: Fn(Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = Result<T, PersonError>> + Send + 'static,
{
    // A barrier so the callers start together rather than one after another as they are spawned.
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::with_capacity(RACERS);
    for _ in 0..RACERS {
        let fut = call(Arc::clone(app));
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            fut.await
        }));
    }
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await?);
    }
    Ok(results)
}

/// Exactly one success and every other result a conflict; gives back the winner.
fn one_winner<T: std::fmt::Debug>(results: Vec<Result<T, PersonError>>) -> anyhow::Result<T> {
    let mut won = Vec::new();
    for r in results {
        match r {
            Ok(v) => won.push(v),
            Err(PersonError::Conflict(_)) => {}
            Err(e) => anyhow::bail!("a loser got {e:?}, not a conflict"),
        }
    }
    anyhow::ensure!(won.len() == 1, "{} callers won: {won:?}", won.len());
    Ok(won.remove(0))
}

both_backends!(
    ten_concurrent_accepts_of_one_referral_create_one_person,
    |backend| async move {
        let app = Arc::new(TestApp::new(backend).await?);
        let referral = app
            .confidant
            .create_referral(
                &app.worker_a,
                P,
                app.service_a,
                &referral("Kit", "Marlowe", "07700 900321"),
            )
            .await?
            .record
            .id;
        let before = counts(&app).await?;
        let results = race(&app, |app| async move {
            app.confidant
                .accept_referral(&app.worker_a, P, referral, None)
                .await
        })
        .await?;
        let (person, case) = one_winner(results)?;
        let after = counts(&app).await?;
        let grew = |table: &str| -> i64 {
            let n = |list: &[(&str, i64)]| {
                list.iter()
                    .find(|(t, _)| *t == table)
                    .map_or(0, |(_, n)| *n)
            };
            n(&after) - n(&before)
        };
        assert_eq!(grew("person"), 1);
        assert_eq!(grew("case_episode"), 1);
        assert_eq!(grew("data_key"), 1);
        assert_eq!(grew("triage_event"), 1);
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
