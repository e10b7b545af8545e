//! What the benchmarks share: whether a run measures or only smoke-tests, the backends it runs on,
//! and the latency lines they print.
//!
//! A run measures under `cargo bench` (Criterion's rule: `--bench` without `--test` or `--list`);
//! under `cargo test --benches` each benchmark runs once, briefly, as a smoke test.

use std::time::Duration;

use crate::TestBackend;

/// Whether this run measures (`cargo bench`) rather than smoke-tests (`cargo test --benches`).
pub fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// The backends to run on: both, or those named in `CONFIDANT_BENCH_BACKENDS` (`sqlite`,
/// `postgres`).
pub fn backends() -> Vec<TestBackend> {
    let chosen = std::env::var("CONFIDANT_BENCH_BACKENDS").unwrap_or_default();
    if chosen.trim().is_empty() {
        return vec![TestBackend::Sqlite, TestBackend::Postgres];
    }
    let mut all = Vec::new();
    if chosen.contains("sqlite") {
        all.push(TestBackend::Sqlite);
    }
    if chosen.contains("postgres") {
        all.push(TestBackend::Postgres);
    }
    all
}

impl TestBackend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        }
    }
}

/// The value at quantile `q` of sorted latencies (nearest rank); zero if there are none.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Count, mean, median, p99 and maximum of a set of latencies (all zero if there are none).
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        let count = latencies.len();
        Self {
            count,
            mean: latencies.iter().sum::<Duration>()
                / u32::try_from(count.max(1)).unwrap_or(u32::MAX),
            p50: quantile(&latencies, 0.50),
            p99: quantile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

/// How a benchmark prints its latency lines: `LABEL backend what count n  mean … ms  p50 … ms  p99
/// … ms  max … ms`, with its own column widths and decimals.
#[derive(Debug, Clone, Copy)]
pub struct LatencyLine {
    /// The line's first word (`SEARCH`, `LOOKUP`, …).
    pub label: &'static str,
    /// The width of the column naming what was timed.
    pub what: usize,
    /// The width of the count.
    pub count: usize,
    /// The width of each figure in milliseconds.
    pub width: usize,
    /// Its decimals.
    pub decimals: usize,
}

impl LatencyLine {
    /// Prints one line of `latencies`; gives back their p99.
    pub fn print(&self, backend: TestBackend, what: &str, latencies: Vec<Duration>) -> Duration {
        let l = Latencies::of(latencies);
        let (w, d) = (self.width, self.decimals);
        println!(
            "{} {:<8} {what:<ww$} count {:>cw$}  mean {:>w$.d$} ms  p50 {:>w$.d$} ms  p99 {:>w$.d$} ms  max {:>w$.d$} ms",
            self.label,
            backend.name(),
            l.count,
            ms(l.mean),
            ms(l.p50),
            ms(l.p99),
            ms(l.max),
            ww = self.what,
            cw = self.count,
        );
        l.p99
    }
}

/// `measured` under `cargo bench`, `smoke` under `cargo test --benches`.
pub fn pick<T>(measured: T, smoke: T) -> T {
    if measuring() { measured } else { smoke }
}

/// In a smoke run, says that its figures mean nothing.
pub fn smoke_note() {
    if !measuring() {
        println!("(smoke run: figures are not meaningful outside `cargo bench`)");
    }
}

/// Runs `per_backend` on each of [`backends`] in turn, on a 2-worker runtime (as `confidant serve`
/// runs on this 2-core machine); what it gives back (the app, with its database) is dropped outside
/// the runtime, PostgreSQL's from a thread of its own. Ends with the [`smoke_note`].
pub fn on_each_backend<T, Fut>(
    mut per_backend: impl FnMut(TestBackend) -> Fut,
) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for backend in backends() {
        let kept = rt.block_on(per_backend(backend))?;
        drop(kept);
    }
    smoke_note();
    Ok(())
}
