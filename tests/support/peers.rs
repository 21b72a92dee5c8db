//! Finding peer tools (curl, nghttp, nghttpd, h2load) and running our own
//! binaries on a free port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any wait on a peer or one of our binaries may take before the
/// test fails (a hang, not a slow machine).
pub const WAIT: Duration = Duration::from_secs(60);

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
    /// Its standard output so far (after h2serve's "serving" line).
    pub output: Arc<Mutex<String>>,
}

impl Running {
    /// Its standard output so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (at most [`WAIT`]) until its output satisfies `done`, and
    /// returns it; fails the test, naming `what`, otherwise.
    pub fn wait_output(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.output();
            if done(&out) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what}; output so far:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
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
    let output = collect(stdout, move |line| {
        let url = line.strip_prefix("h2serve: serving ")?;
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok());
        let _ = tx.send(port);
        Some(())
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .expect("h2serve printed its URL");
    Running {
        child,
        port,
        output,
    }
}

/// Reads `stdout` line by line on a thread into the returned buffer; lines
/// `skip` answers `Some` for are left out.
fn collect(
    stdout: ChildStdout,
    mut skip: impl FnMut(&str) -> Option<()> + Send + 'static,
) -> Arc<Mutex<String>> {
    let output = Arc::new(Mutex::new(String::new()));
    let sink = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if skip(&line).is_none() {
                let mut out = sink.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        }
    });
    output
}

/// A free loopback port (free when asked; a peer that then fails to bind
/// it is retried by [`start_nghttpd`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `nghttpd --no-tls -v -d DIR [args] PORT` (the `nghttpd` at
/// `bin`) on a free port and waits for its `listen` line; its `-v` trace is
/// in [`Running::output`].
pub fn start_nghttpd(bin: &Path, dir: &Path, args: &[&str]) -> Running {
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(bin)
            .args(["--no-tls", "-v", "-d"])
            .arg(dir)
            .args(args)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nghttpd");
        let output = collect(child.stdout.take().expect("stdout"), |_| None);
        let deadline = Instant::now() + WAIT;
        loop {
            if output.lock().unwrap().contains("listen") {
                return Running {
                    child,
                    port,
                    output,
                };
            }
            if child.try_wait().unwrap().is_some() {
                break; // lost the port to someone else: try another
            }
            assert!(Instant::now() < deadline, "nghttpd did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!("nghttpd would not start on any of five free ports");
}

/// Runs a command to completion with its output captured, failing the test
/// if it takes longer than [`WAIT`] (it is killed).
pub fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish in {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory named after `tag` and this process.
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "nghttp2-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
