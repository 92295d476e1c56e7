//! A TCP proxy on 127.0.0.1 between a client and a server (Redis, PostgreSQL, …) that the test
//! can pause (bytes are held, the connection stays up: a frozen server), cut (every connection is
//! dropped and new ones are closed at once: a dead server) and resume — the outage tests' way of
//! taking a real dependency away and giving it back.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Holds the bytes; connections stay open.
    Pause,
    /// Drops every connection and closes new ones at once.
    Cut,
}

/// The mode plus how many cuts happened: a connection dies on any cut after it was opened, even
/// if the proxy passes again before its pumps look.
#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    cuts: u64,
}

/// A running proxy; dropping it cuts everything and stops it.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: watch::Sender<State>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (mode, rx) = watch::channel(State {
            mode: Mode::Pass,
            cuts: 0,
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let state = *rx.borrow();
                if state.mode == Mode::Cut {
                    drop(client);
                    continue;
                }
                let (upstream, rx) = (upstream.clone(), rx.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(
                        pump(cr, sw, rx.clone(), state.cuts),
                        pump(sr, cw, rx, state.cuts)
                    );
                });
            }
        });
        Self { addr, mode, task }
    }

    /// Switches what the proxy does.
    pub fn set(&self, mode: Mode) {
        self.mode.send_modify(|s| {
            s.mode = mode;
            if mode == Mode::Cut {
                s.cuts += 1;
            }
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set(Mode::Cut);
        self.task.abort();
    }
}

async fn pump<R, W>(mut r: R, mut w: W, mut mode: watch::Receiver<State>, cuts: u64)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            n = r.read(&mut buf) => n,
            _ = mode.wait_for(|s| s.cuts != cuts) => return,
        };
        let n = match n {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Hold the bytes while paused; drop the connection if cut meanwhile.
        let cut = match mode
            .wait_for(|s| s.mode != Mode::Pause || s.cuts != cuts)
            .await
        {
            Ok(s) => s.cuts != cuts,
            Err(_) => true,
        };
        if cut || w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
