//! A tiny SMTP sink for the outbox's tests: it speaks just enough SMTP (220 greeting, EHLO/HELO,
//! MAIL, RCPT, DATA … ".", RSET, NOOP, QUIT) on a loopback port, keeps every message it accepts, and
//! can answer the first N messages with `451` (try again later) to exercise retries.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SunkMessage {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

#[derive(Debug, Default)]
struct SinkState {
    accepted: Vec<SunkMessage>,
    fail_remaining: usize,
    refused: usize,
}

/// A running sink; stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<SinkState>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// A sink that accepts everything.
    pub async fn start() -> anyhow::Result<Self> {
        Self::failing_first(0).await
    }

    /// A sink that answers the first `n` messages with `451` and accepts the rest.
    pub async fn failing_first(n: usize) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(SinkState {
            fail_remaining: n,
            ..SinkState::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, state).await;
                });
            }
        });
        Ok(Self { port, state, task })
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<SunkMessage> {
        self.state
            .lock()
            .map(|s| s.accepted.clone())
            .unwrap_or_default()
    }

    /// How many messages were answered with `451`.
    pub fn refusals(&self) -> usize {
        self.state.lock().map(|s| s.refused).unwrap_or_default()
    }

    /// From now on, answer the next `n` messages with `451`.
    pub fn fail_next(&self, n: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.fail_remaining = n;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<SinkState>>) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let content = line.trim_end_matches(['\r', '\n']);
                if content == "." {
                    break;
                }
                data.push_str(content.strip_prefix('.').unwrap_or(content));
                data.push_str("\r\n");
            }
            let accepted = {
                let mut s = state
                    .lock()
                    .map_err(|_| anyhow::anyhow!("sink state poisoned"))?;
                if s.fail_remaining > 0 {
                    s.fail_remaining -= 1;
                    s.refused += 1;
                    false
                } else {
                    s.accepted.push(SunkMessage {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    true
                }
            };
            if accepted {
                b"250 OK queued\r\n"
            } else {
                b"451 4.3.0 Try again later\r\n"
            }
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"500 Unrecognised command\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// The address inside `<…>` (parameters after it ignored).
fn address(rest: &str) -> String {
    let rest = rest.trim();
    rest.strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .map_or(rest, |(a, _)| a)
        .to_owned()
}
