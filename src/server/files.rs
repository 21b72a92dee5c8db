//! A static-file [`Service`]: `h2serve -d DIR`, answering as nghttpd does.
//!
//! GET and HEAD serve files under the root (`index.html` for a directory,
//! a 301 to the slash-terminated path for a directory named without one);
//! other methods get 405; missing files 404. Paths are percent-decoded,
//! then refused (404) when they contain `..`, a NUL or a backslash, and the
//! resolved file must still lie under the root's canonical path, so neither
//! `/../` (in any encoding) nor a symlink escapes. Files stream in chunks;
//! nothing is read into memory whole.
//!
//! File system calls are made right on the connection's thread, as nghttpd
//! makes them on its event loop: served from the page cache they take
//! microseconds, where a hop to tokio's blocking pool per call costs more
//! than the call (a tenfold loss in requests per second, measured with
//! benches/h2load.sh). Serve from a local disk.
//!
//! A file found is kept open for a second per thread, with its response
//! headers made once, and a small one (up to 16 KiB) with its content: a
//! change to a file shows within a second.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use tower_service::Service;

use crate::server::date;
use crate::write_buf::SparePool;

/// How much of a file is read per chunk: one DATA frame's worth, as
/// nghttpd reads. Each chunk goes to the socket by reference, and at this
/// size it is still in cache when it does (16 KiB measured 0.85–0.9x
/// nghttpd on 100 MiB downloads, 64 KiB 0.8x).
const CHUNK: usize = 16 * 1024;

/// A chunk's buffer: reused per thread, so that a read needs neither an
/// allocation nor zero-filling first (a reused buffer is initialized
/// already). The `Bytes` handed out owns it; dropping them gives it back
/// to the pool of the thread that drops it.
struct ChunkBuf(Vec<u8>);

thread_local! {
    /// Chunk buffers no body holds right now: 16 at most (256 KiB), enough
    /// for the chunks a few downloads have in flight at once.
    static SPARE_CHUNK_BUFS: SparePool = const { SparePool::new(16) };
}

impl ChunkBuf {
    /// A buffer of `CHUNK` bytes, from the pool when it has one.
    fn take() -> ChunkBuf {
        ChunkBuf(SparePool::take(&SPARE_CHUNK_BUFS).unwrap_or_else(|| vec![0; CHUNK]))
    }
}

impl AsRef<[u8]> for ChunkBuf {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for ChunkBuf {
    fn drop(&mut self) {
        SparePool::put(&SPARE_CHUNK_BUFS, std::mem::take(&mut self.0));
    }
}

/// Files up to this size are read whole when opened and served from memory
/// while their descriptor is kept (a second), saving a `pread` per request.
const SMALL_FILE: u64 = 16 * 1024;

/// The first `len` bytes of `file`, or `None` when it is shorter now.
fn read_whole(file: &std::fs::File, len: u64) -> Option<Bytes> {
    let mut content = vec![0; len as usize];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut content, 0).ok()?;
    Some(Bytes::from(content))
}

/// The `server` header value. Its text is made once and kept for the
/// life of the process, so the value is static: a response's copy costs
/// no reference count.
fn server_name() -> HeaderValue {
    static NAME: OnceLock<HeaderValue> = OnceLock::new();
    NAME.get_or_init(|| {
        let text = format!("h2serve nghttp2/{}", crate::version().text);
        let printable = text.bytes().all(|b| (b' '..=b'~').contains(&b));
        let text = if printable { text } else { "h2serve".into() };
        HeaderValue::from_static(Box::leak(text.into_boxed_str()))
    })
    .clone()
}

/// What opening a request's path found.
enum Opened {
    File(Arc<OpenFile>),
    Dir,
}

/// An open regular file under the root.
struct OpenFile {
    file: Arc<std::fs::File>,
    len: u64,
    /// The whole content of a small file, read when it was opened.
    content: Option<Bytes>,
    /// The response headers, in nghttpd's order, made when the file was
    /// opened: an entry is used only within the second it was opened in,
    /// so its `date` holds, and a clone costs less than a map built per
    /// request.
    headers: HeaderMap,
}

/// The response headers for a file, in nghttpd's order.
fn file_headers(
    date: HeaderValue,
    content_length: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(header::SERVER, server_name());
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    headers.insert(header::DATE, date);
    if let Some(content_length) = content_length {
        headers.insert(header::CONTENT_LENGTH, content_length);
    }
    if let Some(last_modified) = last_modified {
        headers.insert(header::LAST_MODIFIED, last_modified);
    }
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers
}

/// Open files by request path, with the second they were found in and the
/// id of the [`Files`] that opened them. Hashed with foldhash, seeded at
/// random as std's SipHash is, but a lookup costs about 15 instructions
/// where SipHash cost 200; the keys are only request paths that named a
/// file, at most `KEPT_FILES` of them.
type OpenFiles = HashMap<Box<str>, (u64, u64, Arc<OpenFile>), foldhash::fast::RandomState>;

/// What a request path names.
enum Resolved {
    File(Arc<OpenFile>),
    /// A directory named without its trailing slash.
    Redirect,
    NotFound,
}

/// Serves the files under one directory.
#[derive(Clone, Debug)]
pub struct Files {
    root: PathBuf,
    /// Tells this server's (and its clones') entries in the per-thread
    /// cache of open files from another's.
    id: u64,
    content_length: bool,
    mime_types: Option<Arc<MimeTypes>>,
    gzip_errors: bool,
}

/// An id no other [`Files`] has: its entries in the per-thread cache of
/// open files, whose headers depend on its settings, are its own.
fn fresh_id() -> u64 {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A table of media types by file name extension, as in `/etc/mime.types`
/// (`type ext ext ...` per line, `#` comments), which nghttpd reads.
#[derive(Clone, Debug, Default)]
pub struct MimeTypes {
    by_extension: HashMap<String, HeaderValue>,
}

impl MimeTypes {
    /// The system's table, `/etc/mime.types`, as nghttpd's default.
    pub const SYSTEM: &'static str = "/etc/mime.types";

    /// Reads a table in `/etc/mime.types`' format.
    pub fn from_file(path: impl AsRef<Path>) -> io::Result<MimeTypes> {
        Ok(MimeTypes::parse(&std::fs::read_to_string(path)?))
    }

    /// Parses a table in `/etc/mime.types`' format: each line a media type
    /// and the extensions (without dot) that have it; the first line to
    /// name an extension wins, as in nghttpd. Lines whose type is not a
    /// header value are skipped.
    pub fn parse(text: &str) -> MimeTypes {
        let mut by_extension = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(media_type) = words.next() else {
                continue;
            };
            let Ok(value) = HeaderValue::from_str(media_type) else {
                continue;
            };
            for extension in words {
                by_extension
                    .entry(extension.to_ascii_lowercase())
                    .or_insert_with(|| value.clone());
            }
        }
        MimeTypes { by_extension }
    }

    /// The media type for `path`'s extension (matched without case).
    pub fn get(&self, path: &Path) -> Option<&HeaderValue> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        self.by_extension.get(&extension)
    }

    /// How many extensions the table knows.
    pub fn len(&self) -> usize {
        self.by_extension.len()
    }

    /// True when the table knows no extension.
    pub fn is_empty(&self) -> bool {
        self.by_extension.is_empty()
    }
}

impl Files {
    /// Serves `root`, which must be a readable directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Files> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Files {
            root,
            id: fresh_id(),
            content_length: true,
            mime_types: None,
            gzip_errors: false,
        })
    }

    /// Whether file responses carry `content-length` (default true); off,
    /// a file's size is not told before its body ends (nghttpd
    /// `--no-content-length`). Error pages keep theirs.
    pub fn content_length(mut self, on: bool) -> Files {
        self.content_length = on;
        // Files opened with the other setting are not this one's.
        self.id = fresh_id();
        self
    }

    /// Content types from this table instead of the built-in one
    /// ([`content_type`]); extensions it lacks get no `content-type`.
    pub fn mime_types(mut self, table: MimeTypes) -> Files {
        self.mime_types = Some(Arc::new(table));
        // Files opened with another table are not this one's.
        self.id = fresh_id();
        self
    }

    /// Gzip the HTML error pages (404, 405, 301), with `content-encoding:
    /// gzip`, whatever the request's `accept-encoding` (nghttpd `-e`).
    pub fn gzip_errors(mut self, on: bool) -> Files {
        self.gzip_errors = on;
        self
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers one request (only its method and URI matter).
    pub fn respond<B>(&self, request: &Request<B>) -> Response<FileBody> {
        self.answer(request.method(), request.uri())
    }

    /// Answers a request given by its method and URI.
    pub fn answer(&self, method: &Method, uri: &Uri) -> Response<FileBody> {
        let head = method == Method::HEAD;
        if method != Method::GET && !head {
            let mut response =
                error_response(StatusCode::METHOD_NOT_ALLOWED, head, self.gzip_errors);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let file = match self.resolve(uri.path(), SystemTime::now()) {
            Resolved::File(file) => file,
            Resolved::Redirect => return redirect_to_directory(uri, head, self.gzip_errors),
            Resolved::NotFound => {
                return error_response(StatusCode::NOT_FOUND, head, self.gzip_errors)
            }
        };
        let mut response = Response::new(match &file.content {
            _ if head => FileBody::empty(),
            Some(content) => FileBody::full(content.clone()),
            None => FileBody::shared(file.file.clone(), file.len),
        });
        *response.headers_mut() = file.headers.clone();
        if !self.content_length {
            response.body_mut().hide_length = true;
        }
        response
    }

    /// Finds what a request path names: a file under the root (for a
    /// directory, its `index.html`), a directory named without its trailing
    /// slash, or nothing (missing, unreadable, outside the root).
    ///
    /// Files found are kept open for a second per thread, keyed by the
    /// request path, as nghttpd keeps its file descriptors: a hot file
    /// costs no path decoding, `open`, `fstat`, `realpath` or `close` per
    /// request. Reads use `pread`, so responses share one descriptor.
    fn resolve(&self, request_path: &str, now: SystemTime) -> Resolved {
        let second = date::unix_second(now);
        const KEPT_FILES: usize = 1024;
        thread_local! {
            static OPEN_FILES: RefCell<OpenFiles> = RefCell::new(OpenFiles::default());
        }
        let cached = OPEN_FILES.with(|files| {
            files
                .borrow()
                .get(request_path)
                .filter(|(when, id, _)| *when == second && *id == self.id)
                .map(|(_, _, file)| file.clone())
        });
        if let Some(file) = cached {
            return Resolved::File(file);
        }
        let Some(relative) = safe_relative_path(request_path) else {
            return Resolved::NotFound;
        };
        let path = self.root.join(relative);
        let file = match self.open(&path, now) {
            Some(Opened::Dir) if !request_path.ends_with('/') => return Resolved::Redirect,
            Some(Opened::Dir) => self.open(&path.join("index.html"), now),
            other => other,
        };
        let Some(Opened::File(file)) = file else {
            return Resolved::NotFound;
        };
        OPEN_FILES.with(|files| {
            let mut files = files.borrow_mut();
            if files.len() >= KEPT_FILES {
                files.retain(|_, (when, _, _)| *when == second);
                if files.len() >= KEPT_FILES {
                    files.clear();
                }
            }
            files.insert(request_path.into(), (second, self.id, file.clone()));
        });
        Resolved::File(file)
    }

    /// Opens `path` (free of `..`): a regular file under the root, a
    /// directory, or `None` (missing, unreadable, or a symlink leading out of
    /// the root).
    fn open(&self, path: &Path, now: SystemTime) -> Option<Opened> {
        let file = std::fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if meta.is_dir() {
            return Some(Opened::Dir);
        }
        // Free of `..`, the path can only leave the root through a symlink.
        let real = std::fs::canonicalize(path).ok()?;
        if !meta.is_file() || !real.starts_with(&self.root) {
            return None;
        }
        let content = if meta.len() <= SMALL_FILE {
            read_whole(&file, meta.len())
        } else {
            None
        };
        let headers = file_headers(
            date::at(now),
            self.content_length.then(|| HeaderValue::from(meta.len())),
            meta.modified()
                .ok()
                .map(|modified| header_value(&httpdate::fmt_http_date(modified))),
            match &self.mime_types {
                Some(table) => table.get(path).cloned(),
                None => content_type(path).map(HeaderValue::from_static),
            },
        );
        Some(Opened::File(Arc::new(OpenFile {
            file: Arc::new(file),
            len: meta.len(),
            content,
            headers,
        })))
    }
}

impl<B: Send + 'static> Service<Request<B>> for Files {
    type Response = Response<FileBody>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        std::future::ready(Ok(self.respond(&request)))
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A short HTML error page, with the headers nghttpd sends with one;
/// gzipped when `gzip` (nghttpd `-e`).
fn error_response(status: StatusCode, head: bool, gzip: bool) -> Response<FileBody> {
    let reason = status.canonical_reason().unwrap_or("");
    let page = format!(
        "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1><hr><address>{server}</address></body></html>",
        code = status.as_u16(),
        server = server_name().to_str().unwrap_or(""),
    );
    let page = if gzip {
        gzip_bytes(page.as_bytes())
    } else {
        Bytes::from(page)
    };
    let length = page.len();
    let mut response = Response::new(if head {
        FileBody::empty()
    } else {
        FileBody::full(page)
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::SERVER, server_name());
    headers.insert(header::DATE, date::now());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// `bytes` gzipped.
fn gzip_bytes(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// 301 to the same path with a trailing slash.
fn redirect_to_directory(uri: &Uri, head: bool, gzip: bool) -> Response<FileBody> {
    let mut location = String::new();
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        location.push_str(&format!("{scheme}://{authority}"));
    }
    location.push_str(uri.path());
    location.push('/');
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut response = error_response(StatusCode::MOVED_PERMANENTLY, head, gzip);
    response
        .headers_mut()
        .insert(header::LOCATION, header_value(&location));
    response
}

/// The request path as a path relative to the root, or `None` when it could
/// leave the root or is malformed.
pub fn safe_relative_path(request_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(request_path)?;
    let decoded = String::from_utf8(decoded).ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            segment => relative.push(segment),
        }
    }
    Some(relative)
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The content type for a file name's extension, as nghttpd's mime table.
pub fn content_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "application/javascript",
        "json" => "application/json",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

/// The body of a [`Files`] response: nothing, a small page, or a file read
/// chunk by chunk as it is polled.
#[derive(Debug)]
pub struct FileBody {
    inner: Inner,
    /// The size is not told (no exact size hint, so no `content-length`).
    hide_length: bool,
}

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    File {
        file: Arc<std::fs::File>,
        offset: u64,
        remaining: u64,
    },
}

impl FileBody {
    /// No body.
    pub fn empty() -> FileBody {
        FileBody {
            hide_length: false,
            inner: Inner::Full(None),
        }
    }

    /// A body known in full.
    pub fn full(bytes: Bytes) -> FileBody {
        FileBody {
            hide_length: false,
            inner: Inner::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// The first `len` bytes of an open file, read as the body is polled.
    pub fn file(file: std::fs::File, len: u64) -> FileBody {
        FileBody::shared(Arc::new(file), len)
    }

    /// Like [`file`](FileBody::file), for a file other bodies may be
    /// reading too (reads are positioned, `pread`).
    pub fn shared(file: Arc<std::fs::File>, len: u64) -> FileBody {
        FileBody {
            hide_length: false,
            inner: Inner::File {
                file,
                offset: 0,
                remaining: len,
            },
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().inner {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::File {
                file,
                offset,
                remaining,
            } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let want = (*remaining).min(CHUNK as u64) as usize;
                let mut buf = ChunkBuf::take();
                match std::os::unix::fs::FileExt::read_at(&**file, &mut buf.0[..want], *offset) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Err(e) => Poll::Ready(Some(Err(e))),
                    Ok(0) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while being served",
                    )))),
                    Ok(n) => {
                        *offset += n as u64;
                        *remaining -= n as u64;
                        let mut chunk = Bytes::from_owner(buf);
                        chunk.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::File { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        if self.hide_length {
            return SizeHint::new();
        }
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::File { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clone given other settings answers with its own headers, even
    /// for a file its original opened (and cached) in the same second.
    #[test]
    fn a_clone_with_other_settings_has_its_own_headers() {
        let dir = std::env::temp_dir().join(format!("files-clone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), b"hello").unwrap();
        let plain = Files::new(&dir).unwrap();
        let uri: Uri = "/a.txt".parse().unwrap();
        let first = plain.answer(&Method::GET, &uri);
        assert_eq!(first.headers()[header::CONTENT_LENGTH], "5");
        assert_eq!(first.headers()[header::CONTENT_TYPE], "text/plain");
        let hidden = plain.clone().content_length(false);
        assert!(!hidden
            .answer(&Method::GET, &uri)
            .headers()
            .contains_key(header::CONTENT_LENGTH));
        let typed = plain
            .clone()
            .mime_types(MimeTypes::parse("text/x-mine txt\n"));
        assert_eq!(
            typed.answer(&Method::GET, &uri).headers()[header::CONTENT_TYPE],
            "text/x-mine"
        );
        assert_eq!(
            plain.answer(&Method::GET, &uri).headers()[header::CONTENT_LENGTH],
            "5"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn traversal_attempts_are_refused() {
        for bad in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/..%2f..%2fetc/passwd",
            "/a/%2e%2e/%2e%2e/x",
            "/..\\..\\windows",
            "/%00",
            "/bad%zz",
            "/%",
        ] {
            assert_eq!(safe_relative_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn ordinary_paths_are_kept() {
        assert_eq!(safe_relative_path("/"), Some(PathBuf::new()));
        assert_eq!(
            safe_relative_path("/a/b.txt"),
            Some(PathBuf::from("a/b.txt"))
        );
        assert_eq!(
            safe_relative_path("/a/./b%20c"),
            Some(PathBuf::from("a/b c"))
        );
        assert_eq!(safe_relative_path("//a//b"), Some(PathBuf::from("a/b")));
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type(Path::new("index.HTML")), Some("text/html"));
        assert_eq!(content_type(Path::new("a.css")), Some("text/css"));
        assert_eq!(content_type(Path::new("blob")), None);
    }

    #[test]
    fn mime_types_parse_as_etc_mime_types() {
        let table = MimeTypes::parse(
            "# a comment\ntext/html html htm # trailing\ntext/x-other HTML\n\nlonely/type\n",
        );
        assert_eq!(table.get(Path::new("a.HTM")).unwrap(), "text/html");
        // The first line naming an extension wins.
        assert_eq!(table.get(Path::new("a.html")).unwrap(), "text/html");
        assert_eq!(table.get(Path::new("a.trailing")), None);
        assert_eq!(table.get(Path::new("noext")), None);
        assert_eq!(table.len(), 2);
    }
}
