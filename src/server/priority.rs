//! [`Priority`]: a response's RFC 9218 priority, as a handler sets it.

use std::fmt;

use http::HeaderValue;

/// An RFC 9218 priority: which of a connection's responses nghttp2 sends
/// first.
///
/// A handler sets the priority of its response by putting one in the
/// response's extensions, or by giving the response a `priority` header
/// (RFC 9218 section 5, `u=0, i`); the extension wins when both are
/// there, and the header is sent to the client either way. The server
/// then hands it to nghttp2's scheduler and stops listening to the
/// client's PRIORITY_UPDATE frames for that stream, as nghttpx does with a
/// backend's `priority` header. Without either, the client's own signal
/// (its `priority` request header, then PRIORITY_UPDATE frames) decides.
/// Nothing happens when [`Builder::rfc9218_priorities`] is off, nor on
/// HTTP/1.1, which has one response at a time (the header is sent as it is).
///
/// ```
/// use http::Response;
/// use nghttp2::server::Priority;
///
/// let mut response = Response::new("a large download");
/// response.extensions_mut().insert(Priority { urgency: 7, incremental: true });
/// ```
///
/// [`Builder::rfc9218_priorities`]: crate::server::Builder::rfc9218_priorities
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Priority {
    /// 0 (most urgent) to 7 (least); larger values count as 7. The
    /// default is 3.
    pub urgency: u8,
    /// Whether the response is useful piece by piece, so that it may share
    /// the connection with other incremental responses of the same urgency
    /// rather than wait for them to finish. The default is `false`.
    pub incremental: bool,
}

impl Default for Priority {
    /// RFC 9218's defaults: `u=3`, not incremental.
    fn default() -> Priority {
        Priority {
            urgency: 3,
            incremental: false,
        }
    }
}

impl Priority {
    /// The least urgent level, 7.
    pub const LOWEST_URGENCY: u8 = 7;

    /// Reads a `priority` field value (an RFC 8941 dictionary: `u=5, i`).
    /// Members it does not name keep their defaults (`u=3`, not
    /// incremental), as do ones out of range or of the wrong type; unknown
    /// members are ignored (RFC 9218 section 4). `None` when the value is
    /// not a structured-field dictionary at all.
    pub fn parse(value: &[u8]) -> Option<Priority> {
        let dict: sfv::Dictionary = sfv::Parser::new(value).parse().ok()?;
        let mut priority = Priority::default();
        let item = |key: &str| match dict.get(key) {
            Some(sfv::ListEntry::Item(item)) => Some(&item.bare_item),
            _ => None,
        };
        if let Some(u) = item("u").and_then(|u| u.as_integer()) {
            let u = i64::from(u);
            if (0..=i64::from(Priority::LOWEST_URGENCY)).contains(&u) {
                priority.urgency = u as u8;
            }
        }
        if let Some(i) = item("i").and_then(|i| i.as_boolean()) {
            priority.incremental = i;
        }
        Some(priority)
    }

    /// The priority a response asks for: its [`Priority`] extension, else
    /// its `priority` header field (`field`) if that parses.
    pub(crate) fn of_response(
        extensions: &http::Extensions,
        field: Option<&HeaderValue>,
    ) -> Option<Priority> {
        extensions
            .get::<Priority>()
            .copied()
            .or_else(|| field.and_then(|v| Priority::parse(v.as_bytes())))
    }
}

impl fmt::Display for Priority {
    /// The field value: `u=N`, then `, i` when incremental.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "u={}", self.urgency.min(Priority::LOWEST_URGENCY))?;
        if self.incremental {
            f.write_str(", i")?;
        }
        Ok(())
    }
}

impl From<Priority> for HeaderValue {
    /// The `priority` field value ([`Display`](fmt::Display)).
    fn from(p: Priority) -> HeaderValue {
        HeaderValue::from_str(&p.to_string()).expect("digits, commas and letters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc9218_field_values() {
        let p = |s: &str| Priority::parse(s.as_bytes());
        let pri = |urgency, incremental| {
            Some(Priority {
                urgency,
                incremental,
            })
        };
        assert_eq!(p("u=5, i"), pri(5, true));
        assert_eq!(p("u=0"), pri(0, false));
        assert_eq!(p("i"), pri(3, true));
        assert_eq!(p("i=?0, u=7"), pri(7, false));
        assert_eq!(p(""), pri(3, false));
        // Out of range or of the wrong type: the default (section 4).
        assert_eq!(p("u=8, i"), pri(3, true));
        assert_eq!(p("u=-1"), pri(3, false));
        assert_eq!(p("u=1.5, i=1"), pri(3, false));
        // Unknown members and parameters are ignored.
        assert_eq!(p("x=1, u=2;foo=bar"), pri(2, false));
        // Not a dictionary.
        assert_eq!(p("u=,"), None);
        assert_eq!(p("u=\"1"), None);
    }

    #[test]
    fn formats_as_a_field_value() {
        let p = Priority {
            urgency: 1,
            incremental: true,
        };
        assert_eq!(p.to_string(), "u=1, i");
        assert_eq!(HeaderValue::from(p), "u=1, i");
        assert_eq!(Priority::default().to_string(), "u=3");
        assert_eq!(Priority::parse(p.to_string().as_bytes()), Some(p));
    }

    #[test]
    fn the_extension_wins_over_the_header() {
        let mut ext = http::Extensions::new();
        assert_eq!(Priority::of_response(&ext, None), None);
        let field = HeaderValue::from_static("u=1");
        assert_eq!(
            Priority::of_response(&ext, Some(&field)).map(|p| p.urgency),
            Some(1)
        );
        ext.insert(Priority {
            urgency: 6,
            incremental: false,
        });
        assert_eq!(
            Priority::of_response(&ext, Some(&field)).map(|p| p.urgency),
            Some(6)
        );
    }
}
