//! Event loops of their own ([`Serve::workers`](crate::server::Serve::workers)),
//! as nghttpd's `-n` workers: each a thread running a current-thread tokio
//! runtime, handed accepted connections in turn by the accepting task. A
//! connection lives on one loop, with its buffers, caches and wake-ups on
//! that thread; nothing about it crosses threads once it is handed over.

use std::io;
use std::net::TcpStream as StdTcpStream;
use std::thread;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::server::connect_info::ConnectionInfo;
use crate::server::serve::Each;
use crate::server::Server;

/// An accepted connection on its way to a loop.
type Handoff = (StdTcpStream, ConnectionInfo);

/// The loops, from the accepting task's side.
pub(crate) struct Workers {
    loops: Vec<Loop>,
    /// The loop the next connection goes to.
    next: usize,
}

struct Loop {
    tx: mpsc::UnboundedSender<Handoff>,
    /// Resolves (or fails, if the thread died) once the loop served its
    /// last connection.
    done: oneshot::Receiver<()>,
}

impl Workers {
    /// Starts `n` loops, each serving its connections with its own clone
    /// of `each`.
    pub(crate) fn start(server: &Server, each: &Each, n: usize) -> io::Result<Workers> {
        let loops = (0..n)
            .map(|index| start_loop(server.clone(), each.clone_box(), index))
            .collect::<io::Result<_>>()?;
        Ok(Workers { loops, next: 0 })
    }

    /// Hands `tcp` to the next loop in turn (round robin, as nghttpd
    /// spreads its connections). It leaves this runtime's reactor and joins
    /// the loop's.
    pub(crate) fn hand_over(&mut self, tcp: TcpStream, info: ConnectionInfo) {
        let tcp = match tcp.into_std() {
            Ok(tcp) => tcp,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand a connection to an event loop");
                return;
            }
        };
        let mut handoff = (tcp, info);
        // A loop whose thread died is skipped; its connection goes to the
        // next one.
        for _ in 0..self.loops.len() {
            let index = self.next;
            self.next = (self.next + 1) % self.loops.len();
            match self.loops[index].tx.send(handoff) {
                Ok(()) => return,
                Err(mpsc::error::SendError(back)) => handoff = back,
            }
        }
        tracing::warn!("no event loop left to serve a connection; closing it");
    }

    /// Stops handing out connections and waits until every loop served
    /// its last one.
    pub(crate) async fn finish(self) {
        let mut dones = Vec::with_capacity(self.loops.len());
        for l in self.loops {
            drop(l.tx);
            dones.push(l.done);
        }
        for done in dones {
            if done.await.is_err() {
                tracing::warn!("an event loop's thread ended abnormally");
            }
        }
    }
}

fn start_loop(server: Server, mut each: Each, index: usize) -> io::Result<Loop> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Handoff>();
    let (done_tx, done) = oneshot::channel();
    thread::Builder::new()
        .name(format!("nghttp2-loop-{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = JoinSet::new();
                loop {
                    tokio::select! {
                        handed = rx.recv() => match handed {
                            Some((tcp, info)) => match TcpStream::from_std(tcp) {
                                Ok(tcp) => {
                                    tasks.spawn(each(server.clone(), tcp, info));
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "an event loop cannot take a connection");
                                }
                            },
                            None => break,
                        },
                        Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                    }
                }
                while tasks.join_next().await.is_some() {}
            });
            let _ = done_tx.send(());
        })?;
    Ok(Loop { tx, done })
}
