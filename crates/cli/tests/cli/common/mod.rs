//! What the process tests share: a running `confidant serve` child, its address, and everything it
//! wrote. Each test binary uses part of it.
#![allow(
    dead_code,
    reason = "each test binary that includes this module uses only part of it"
)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BANNER: &str = "Confidant is serving on ";

/// Collects everything a child writes to a pipe into `sinks`.
pub fn collect(mut pipe: impl Read + Send + 'static, sinks: Vec<Arc<Mutex<Vec<u8>>>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            for sink in &sinks {
                if let Ok(mut all) = sink.lock() {
                    all.extend_from_slice(&buf[..n]);
                }
            }
        }
    });
}

/// A running `confidant serve`: its base URL and everything it wrote to stdout and stderr. Killed
/// when dropped, so a failing test leaves no server behind.
pub struct Server {
    child: Child,
    pub base: String,
    logs: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Starts the command and waits for it to say where it serves; fails with its output if it exits
    /// first or does not start within a minute.
    pub fn start(mut cmd: Command) -> anyhow::Result<Self> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr_pipe = child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
        collect(stderr_pipe, vec![logs.clone()]);
        let stdout_pipe = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        collect(stdout_pipe, vec![logs.clone(), stdout.clone()]);
        let mut server = Self {
            child,
            base: String::new(),
            logs,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let printed = stdout
                .lock()
                .map(|s| String::from_utf8_lossy(&s).into_owned())
                .unwrap_or_default();
            if let Some(base) = printed.lines().find_map(|l| l.strip_prefix(BANNER)) {
                server.base = base.trim().to_owned();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("the server exited ({status}): {}", server.log_text());
            }
            anyhow::ensure!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> Vec<u8> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.logs()).into_owned()
    }

    /// SIGKILL: no graceful shutdown, no chance to flush anything.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for a graceful stop; gives back everything it wrote.
    pub fn stop(mut self) -> anyhow::Result<Vec<u8>> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        Ok(self.logs())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
