//! The memory `confidant serve` holds when idle: its resident set (`VmRSS`) on SQLite, right after
//! it starts and again once a burst of requests is over, against this benchmark's own process (a
//! small Rust program with a Tokio runtime) measured in the same run as the reference.
//!
//! Run: `cargo bench -p confidant --bench idle_memory`
//!
//! A fresh data directory is made with `confidant init` (SQLite, a new master key); `serve` listens
//! on a free port of 127.0.0.1. After two seconds idle its `VmRSS` is read from `/proc`; then 8
//! clients make 2,000 requests (half `/healthz`, half the sign-in page, which renders a template and
//! sets a cookie); after two more seconds idle it is read again. Issue 14's target is under 50 MB.
//!
//! Under `cargo test --benches` it runs once with 40 requests, as a smoke test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use confidant_testkit::bench;

const BIN: &str = env!("CARGO_BIN_EXE_confidant");
const BANNER: &str = "Confidant is serving on ";
const TARGET_MB: f64 = 50.0;

/// The resident set of process `pid`, in MB.
fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS in /proc/PID/status")?
        .parse()?;
    Ok(kib / 1024.0)
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> anyhow::Result<()> {
    let requests = bench::pick(2_000usize, 40);
    let reference = rss_mb(std::process::id())?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let init = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .arg("init")
        .env_remove("CONFIDANT_MASTER_KEY")
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("CONFIDANT_MASTER_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("serve's stdout")?;
    let served = Served(child);
    let mut base = None;
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(url) = line.strip_prefix(BANNER) {
            base = Some(url.trim().to_owned());
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
    }
    let base = base.context("serve printed where it serves")?;
    let pid = served.0.id();

    std::thread::sleep(Duration::from_secs(2));
    let at_start = rss_mb(pid)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let clients: Vec<_> = (0..8)
            .map(|c| {
                let base = base.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for n in (c..requests).step_by(8) {
                        let path = if n % 2 == 0 { "/healthz" } else { "/sign-in" };
                        let answer = client.get(format!("{base}{path}")).send().await?;
                        anyhow::ensure!(answer.status() == 200, "{path}: {}", answer.status());
                        answer.bytes().await?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for c in clients {
            c.await??;
        }
        anyhow::Ok(())
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_mb(pid)?;
    drop(served);

    println!("== idle memory of `confidant serve` (SQLite, VmRSS) ==");
    println!("MEMORY serve idle after start             = {at_start:>6.1} MB");
    println!("MEMORY serve idle after {requests:>5} requests      = {after:>6.1} MB");
    println!("MEMORY this bench process (reference)     = {reference:>6.1} MB");
    println!(
        "RATIO serve idle after requests / reference = {:.1}x; target < {TARGET_MB} MB: {}",
        after / reference,
        if after.max(at_start) < TARGET_MB {
            "met"
        } else {
            "MISSED"
        }
    );
    bench::smoke_note();
    Ok(())
}
