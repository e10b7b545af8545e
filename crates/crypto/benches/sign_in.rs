//! The cost of signing in: Argon2id at the parameters Confidant uses, for hashing a new password,
//! verifying a typed one, and the dummy verification spent on unknown accounts (which must cost the
//! same, so that timing does not tell whether an account exists); and a TOTP check.
//!
//! Run: `cargo bench -p confidant-crypto --bench sign_in`
//!
//! Prints the parameters, then Criterion's figures. The bench profile is optimised, as a release
//! build is; debug builds of Confidant optimise argon2 and blake2 too (workspace Cargo.toml).

use std::hint::black_box;

use confidant_crypto::password;
use confidant_crypto::totp::{self, TotpSecret};
use criterion::{Criterion, criterion_group};

const PASSWORD: &str = "correct horse battery staple tuesday";

fn sign_in(c: &mut Criterion) {
    let (m, t, p) = password::parameters();
    println!("argon2id parameters: m = {m} KiB, t = {t}, p = {p}");
    let phc = password::hash(PASSWORD);
    let mut group = c.benchmark_group("sign_in");
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(8));
    group.bench_function("hash_new_password", |b| {
        b.iter(|| password::hash(black_box(PASSWORD)))
    });
    group.bench_function("verify_password", |b| {
        b.iter(|| password::verify(black_box(PASSWORD), black_box(&phc)))
    });
    group.bench_function("verify_dummy_unknown_account", |b| {
        b.iter(|| password::verify_dummy(black_box(PASSWORD)))
    });
    group.bench_function("check_new_password_strength", |b| {
        b.iter(|| password::check_new(black_box(PASSWORD), &["riverside", "recovery"]))
    });
    let secret = TotpSecret::generate();
    let now = 1_790_000_000;
    let code = totp::code_at(&secret, now);
    group.bench_function("totp_verify", |b| {
        b.iter(|| totp::verify(&secret, black_box(&code), now, None))
    });
    group.finish();
}

criterion_group!(benches, sign_in);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
