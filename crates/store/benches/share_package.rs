//! A share of a full record, from decision to package: `Confidant::share` of every field that may
//! leave plus 200 case notes, on SQLite and PostgreSQL.
//!
//! Run: `cargo bench -p confidant-store --bench share_package`
//! (PostgreSQL must answer at `CONFIDANT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; set `CONFIDANT_BENCH_BACKENDS=sqlite` to leave it
//! out.)
//!
//! Seeding. A fresh database per backend: one person of a service that collects every field group,
//! with their identity, health, diversity and housing fields filled, 200 synthetic case notes, a
//! recipient (a GP) that may receive every category under consent, and the person's live consent.
//!
//! Measuring. One share at a time (no concurrency), `ROUNDS` times after one warm-up: the whole use
//! case as a caller sees it, that is the permit, the request's checks, every rule's facts (consent
//! history, restrictions, the recipient), reading and opening the person and the 200 notes, building
//! the JSON package, sealing it, and writing the disclosure with its 201 items, its sealed package and
//! its audit event in one transaction (plus the audit events of the reads). As references, the same
//! rounds time `Confidant::check_share` (the rules alone, nothing written) and
//! `Confidant::entries` (opening the 200 notes alone). The binary prints `SHARE` lines with count,
//! mean, p50, p99 and max, and the package's size.
//!
//! Under `cargo test --benches` everything runs once, on 20 notes, as a smoke test.

use std::time::Instant;

use confidant_core::Purpose;
use confidant_core::field::{FieldGroups, PersonField, RecordKind};
use confidant_core::person::PersonInput;
use confidant_core::sharing::{EntrySelection, RecipientInput, ShareRequest};
use confidant_core::store::{ReferralPolicy, ServiceConfig};
use confidant_testkit::bench::{self, LatencyLine};
use confidant_testkit::operator;
use confidant_testkit::{Synthetic, TestApp, TestBackend};

const NOTES: usize = 200;
const ROUNDS: usize = 60;

/// How the share's latencies are printed.
const SHARE: LatencyLine = LatencyLine {
    label: "SHARE",
    what: 40,
    count: 4,
    width: 8,
    decimals: 2,
};

async fn bench_backend(
    backend: TestBackend,
    notes: usize,
    rounds: usize,
) -> anyhow::Result<TestApp> {
    let app = TestApp::new(backend).await?;
    let c = &app.confidant;
    c.configure_service(
        &operator(),
        &ServiceConfig {
            service_id: app.service_a,
            field_groups: FieldGroups::all(),
            referrals: ReferralPolicy::Anyone,
            partner_service_id: None,
        },
    )
    .await?;
    let mut synthetic = Synthetic::new(44);
    let person = c
        .create_person(
            &app.worker_a,
            Purpose::Support,
            app.service_a,
            &synthetic.person(),
        )
        .await?;
    c.update_person(
        &app.worker_a,
        Purpose::Support,
        person.id,
        &PersonInput::new()
            .with(
                PersonField::MentalHealth,
                "Anxiety, under the community team",
            )
            .with(PersonField::PhysicalHealth, "Asthma")
            .with(PersonField::Disabilities, "None recorded")
            .with(
                PersonField::HousingHistory,
                "Two years in supported housing",
            ),
    )
    .await?;
    for note in synthetic.notes(notes) {
        c.add_entry(&app.worker_a, Purpose::Support, person.id, &note)
            .await?;
    }
    let categories: Vec<String> = confidant_core::sharing::categories()
        .into_iter()
        .map(|(code, _)| code.to_owned())
        .collect();
    let gp = c
        .add_recipient(
            &app.dpo,
            app.organisation,
            &RecipientInput {
                name: "Bench GP".to_owned(),
                kind: "health".to_owned(),
                categories,
                bases: vec!["consent".to_owned()],
                ..RecipientInput::default()
            },
        )
        .await?;
    let purpose = c
        .add_consent_purpose(
            &app.dpo,
            app.service_a,
            "gp",
            "Sharing with the GP",
            Some(gp.id),
            false,
            "v1",
        )
        .await?;
    c.record_consent(
        &app.worker_a,
        Purpose::Support,
        person.id,
        purpose.id,
        "granted",
        None,
    )
    .await?;
    let fields: Vec<String> = PersonField::ALL
        .into_iter()
        .filter(|f| f.spec().may_leave)
        .map(|f| f.code().to_owned())
        .collect();
    let request = ShareRequest {
        recipient_id: gp.id,
        fields,
        entries: EntrySelection::All,
        basis: "consent".to_owned(),
        article9: Some("health_social_care".to_owned()),
        schedule1: Some("p1_health_social_care".to_owned()),
        reason: "Shared care with the practice".to_owned(),
        person_told: true,
        ..ShareRequest::default()
    };
    // Warm-up, and the package's size.
    let package = c
        .share(&app.worker_a, Purpose::Support, person.id, &request)
        .await?;
    let entries = package.json["entries"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(entries == notes, "{entries} notes in the package");
    println!(
        "SHARE {:<8} package: {} fields, {} notes, {} bytes of JSON",
        backend.name(),
        package.json["fields"].as_object().map_or(0, |m| m.len()),
        entries,
        serde_json::to_vec(&package.json)?.len()
    );

    let (mut shares, mut checks, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        c.share(&app.worker_a, Purpose::Support, person.id, &request)
            .await?;
        shares.push(t.elapsed());
        let t = Instant::now();
        let broken = c
            .check_share(&app.worker_a, Purpose::Support, person.id, &request)
            .await?;
        checks.push(t.elapsed());
        anyhow::ensure!(broken.is_empty(), "{broken:?}");
        let t = Instant::now();
        c.entries(
            &app.worker_a,
            Purpose::Support,
            person.id,
            &[RecordKind::Note],
        )
        .await?;
        reads.push(t.elapsed());
    }
    SHARE.print(backend, "share: decision to logged package", shares);
    SHARE.print(backend, "reference: check_share (rules only)", checks);
    SHARE.print(backend, "reference: open the notes alone", reads);
    Ok(app)
}

fn main() -> anyhow::Result<()> {
    let (notes, rounds) = bench::pick((NOTES, ROUNDS), (20, 1));
    bench::on_each_backend(|backend| bench_backend(backend, notes, rounds))
}
