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
    with_cached(time, HeaderValue::clone)
}

/// An HTTP date's text (IMF-fixdate is 29 bytes), held inline: a response
/// head copies it rather than sharing the cached value, whose reference
/// count each response would otherwise touch twice (clone and drop).
pub(crate) type DateText = [u8; 29];

/// Now, as an HTTP date's text (see [`now`]); `None` only if the clock
/// gave a date of another length (a year past 9999).
pub(crate) fn now_text() -> Option<DateText> {
    with_cached(SystemTime::now(), |value| value.as_bytes().try_into().ok())
}

/// Calls `f` with `time`'s date, formatting it first when the thread's
/// cached one is of another second.
fn with_cached<R>(time: SystemTime, f: impl FnOnce(&HeaderValue) -> R) -> R {
    let secs = unix_second(time);
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(time);
            // fmt_http_date yields ASCII only.
            cached.1 = HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""));
            cached.0 = secs;
        }
        f(&cached.1)
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

    #[test]
    fn the_inline_text_is_the_cached_value() {
        let text = super::now_text().expect("an IMF-fixdate is 29 bytes");
        let value = super::now();
        // Unless the second turned between the two reads.
        let again = super::now_text().unwrap();
        assert!(
            value.as_bytes() == text || value.as_bytes() == again,
            "{value:?}"
        );
    }
}
