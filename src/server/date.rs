//! The `date` response header (RFC 9110 section 6.6.1), formatted once per
//! second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;

thread_local! {
    static CACHED: RefCell<(u64, HeaderValue)> =
        const { RefCell::new((u64::MAX, HeaderValue::from_static(""))) };
}

/// Now, as an HTTP date (`Tue, 01 Dec 2026 12:00:00 GMT`), formatted at
/// most once a second on each thread.
pub(crate) fn now() -> HeaderValue {
    at(SystemTime::now())
}

/// `time` as an HTTP date, formatted at most once a second on each thread
/// (the value of the last second asked for is kept).
pub(crate) fn at(time: SystemTime) -> HeaderValue {
    let secs = unix_second(time);
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(time);
            // fmt_http_date yields ASCII only.
            cached.1 = HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""));
            cached.0 = secs;
        }
        cached.1.clone()
    })
}

/// Whole seconds since the Unix epoch (0 before it).
pub(crate) fn unix_second(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_an_http_date() {
        let date = super::now();
        let parsed = httpdate::parse_http_date(date.to_str().unwrap()).unwrap();
        let drift = std::time::SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default();
        assert!(drift.as_secs() < 60, "{date:?}");
    }
}
