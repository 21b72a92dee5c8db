//! Finding peer tools (curl, nghttp, nghttpd, h2load) and running our own
//! binaries on a free port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The peer tool on PATH. Missing: `None` with a note on stderr, or a
/// failure under `CI=true`, where `.ci/run` installs every peer.
pub fn peer(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is not on PATH; CI must install it (.ci/run)");
        }
        eprintln!(
            "skipped: {name} is not on PATH (apt-get install curl nghttp2-client nghttp2-server)"
        );
    }
    found
}

/// A running server process, killed on drop.
pub struct Running {
    pub child: Child,
    pub port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `h2serve` on a free loopback port with `args` and waits for its
/// "serving" line.
pub fn start_h2serve(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_h2serve"))
        .args(["--addr", "127.0.0.1:0", "-q"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start h2serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("h2serve: serving ") {
                let port = url
                    .trim_end_matches('/')
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .expect("h2serve printed its URL");
    Running { child, port }
}
