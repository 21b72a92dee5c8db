//! JSON lines: one object per frame, for programs that compare traces.
//! Written with `serde_json`; the keys are documented on
//! [`Tracer::json`](super::Tracer::json).

use std::borrow::Cow;
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::record::{Direction, FrameRecord};
use super::text::{error_code_name, flag_names, hex};
use crate::error::{LibError, Reason};
use crate::session::{FrameType, Header, HeadersCategory, Priority, StreamId};

/// Seconds since the trace started, with three decimals as the text
/// trace's clock (`1.011`, `0.000`): written as a raw number so that
/// `serde_json`'s shortest float form (`0.0`, `1.5`) does not change the
/// output with the clock.
struct Seconds(Duration);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = self.0.as_millis();
        let number = format!("{}.{:03}", millis / 1000, millis % 1000);
        RawValue::from_string(number)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// Text from the wire: UTF-8, invalid sequences replaced by U+FFFD.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// One line of the JSON trace. Keys appear in this order; `None` fields
/// are left out.
#[derive(Serialize)]
struct FrameLine<'a> {
    time: Seconds,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<u64>,
    direction: &'static str,
    #[serde(rename = "type")]
    frame_type: Cow<'static, str>,
    flags: u8,
    flag_names: Vec<&'static str>,
    stream_id: u32,
    length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    padlen: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_stream_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opaque_data: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window_size_increment: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promised_stream_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<Vec<SettingLine>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    altsvc_field_value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origins: Option<Vec<Cow<'a, str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prioritized_stream_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority_field_value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<PriorityLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<HeaderLine<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid: Option<InvalidLine>,
}

#[derive(Serialize)]
struct SettingLine {
    id: i32,
    name: &'static str,
    value: u32,
}

#[derive(Serialize)]
struct PriorityLine {
    dep_stream_id: u32,
    weight: i32,
    exclusive: bool,
}

impl From<Priority> for PriorityLine {
    fn from(p: Priority) -> PriorityLine {
        PriorityLine {
            dep_stream_id: p.stream_id.get(),
            weight: p.weight,
            exclusive: p.exclusive,
        }
    }
}

#[derive(Serialize)]
struct HeaderLine<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
    /// Only `true` is written: never-indexed fields.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

#[derive(Serialize)]
struct InvalidLine {
    code: i32,
    error: &'static str,
}

impl<'a> FrameLine<'a> {
    fn new(
        elapsed: Duration,
        connection_id: Option<u64>,
        dir: Direction,
        frame: &'a FrameRecord,
        headers: &'a [Header],
        invalid: Option<LibError>,
    ) -> FrameLine<'a> {
        let hd = &frame.header;
        let mut line = FrameLine {
            time: Seconds(elapsed),
            connection_id,
            direction: dir.as_str(),
            frame_type: match hd.frame_type.name() {
                Some(name) => Cow::Borrowed(name),
                None => Cow::Owned(format!("0x{:02x}", hd.frame_type.0)),
            },
            flags: hd.flags.bits(),
            flag_names: flag_names(hd.frame_type, hd.flags),
            stream_id: hd.stream_id.get(),
            length: hd.length,
            padlen: None,
            category: None,
            last_stream_id: None,
            error_code: None,
            error_name: None,
            opaque_data: None,
            window_size_increment: None,
            promised_stream_id: None,
            settings: None,
            origin: None,
            altsvc_field_value: None,
            origins: None,
            prioritized_stream_id: None,
            priority_field_value: None,
            priority: frame.priority.map(PriorityLine::from),
            headers: None,
            invalid: invalid.map(|e| InvalidLine {
                code: e.code(),
                error: e.message(),
            }),
        };
        let code = frame.error_code.unwrap_or(Reason::NO_ERROR);
        match hd.frame_type {
            FrameType::DATA => line.padlen = Some(frame.padlen),
            FrameType::HEADERS => {
                line.padlen = Some(frame.padlen);
                line.category = frame.category.map(|cat| match cat {
                    HeadersCategory::Request => "request",
                    HeadersCategory::Response => "response",
                    HeadersCategory::PushResponse => "push_response",
                    HeadersCategory::Headers => "headers",
                });
            }
            FrameType::RST_STREAM => {
                line.error_code = Some(code.0);
                line.error_name = Some(error_code_name(code));
            }
            FrameType::SETTINGS => {
                let entries = frame.settings.iter().map(|s| SettingLine {
                    id: s.id.0,
                    name: s.id.name().unwrap_or("UNKNOWN"),
                    value: s.value,
                });
                line.settings = Some(entries.collect());
            }
            FrameType::PUSH_PROMISE => {
                line.padlen = Some(frame.padlen);
                line.promised_stream_id = Some(frame.promised_stream_id.unwrap_or_default().get());
            }
            FrameType::PING => {
                line.opaque_data = Some(hex(&frame.ping_data.unwrap_or_default()).into());
            }
            FrameType::GOAWAY => {
                line.last_stream_id = Some(frame.last_stream_id.unwrap_or_default().get());
                line.error_code = Some(code.0);
                line.error_name = Some(error_code_name(code));
                line.opaque_data = Some(lossy(&frame.debug_data));
            }
            FrameType::WINDOW_UPDATE => {
                line.window_size_increment = Some(frame.window_size_increment.unwrap_or_default());
            }
            FrameType::ALTSVC => {
                let (origin, value) = frame
                    .altsvc
                    .as_ref()
                    .map_or((&[][..], &[][..]), |(o, v)| (o, v));
                line.origin = Some(lossy(origin));
                line.altsvc_field_value = Some(lossy(value));
            }
            FrameType::ORIGIN => {
                line.origins = Some(frame.origins.iter().map(|o| lossy(o)).collect());
            }
            FrameType::PRIORITY_UPDATE => {
                let (id, value) = frame
                    .priority_update
                    .as_ref()
                    .map_or((StreamId::CONNECTION, &[][..]), |(id, v)| (*id, v));
                line.prioritized_stream_id = Some(id.get());
                line.priority_field_value = Some(lossy(value));
            }
            _ => {}
        }
        if matches!(hd.frame_type, FrameType::HEADERS | FrameType::PUSH_PROMISE) {
            let fields = headers.iter().map(|h| HeaderLine {
                name: lossy(&h.name),
                value: lossy(&h.value),
                sensitive: h.sensitive,
            });
            line.headers = Some(fields.collect());
        }
        line
    }
}

/// Appends one frame as a JSON object on one line, newline included (the
/// keys are listed on [`Tracer::json`](super::Tracer::json)). `headers` are
/// the fields of a HEADERS or PUSH_PROMISE frame; `invalid` is the error
/// of a frame nghttp2 rejected.
pub(crate) fn json_frame(
    out: &mut Vec<u8>,
    elapsed: Duration,
    connection_id: Option<u64>,
    dir: Direction,
    frame: &FrameRecord,
    headers: &[Header],
    invalid: Option<LibError>,
) {
    let line = FrameLine::new(elapsed, connection_id, dir, frame, headers, invalid);
    let start = out.len();
    match serde_json::to_writer(&mut *out, &line) {
        Ok(()) => out.push(b'\n'),
        // Nothing here can fail to serialize; if it did, leave no half line.
        Err(_) => out.truncate(start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Setting, SettingId};
    use crate::trace::test_support::{rec, sid, text, T};

    #[test]
    fn json_lines() {
        let mut f = rec(FrameType::HEADERS, 0x25, 13, 38);
        f.category = Some(HeadersCategory::Request);
        f.priority = Some(Priority {
            stream_id: sid(11),
            weight: 16,
            exclusive: true,
        });
        let headers = [
            Header::new(":method", "GET"),
            Header {
                sensitive: true,
                ..Header::new("cookie", "x=\"1\"")
            },
        ];
        assert_eq!(
            text(|o| json_frame(
                o,
                Duration::from_millis(1011),
                Some(2),
                Direction::Recv,
                &f,
                &headers,
                None
            )),
            concat!(
                r#"{"time":1.011,"connection_id":2,"direction":"recv","type":"HEADERS","flags":37,"#,
                r#""flag_names":["END_STREAM","END_HEADERS","PRIORITY"],"stream_id":13,"length":38,"#,
                r#""padlen":0,"category":"request","priority":{"dep_stream_id":11,"weight":16,"exclusive":true},"#,
                r#""headers":[{"name":":method","value":"GET"},{"name":"cookie","value":"x=\"1\"","sensitive":true}]}"#,
                "\n"
            )
        );
        let mut s = rec(FrameType::SETTINGS, 0, 0, 6);
        s.settings = vec![Setting::new(SettingId::MAX_CONCURRENT_STREAMS, 100)];
        assert_eq!(
            text(|o| json_frame(o, T, None, Direction::Send, &s, &[], None)),
            concat!(
                r#"{"time":0.003,"direction":"send","type":"SETTINGS","flags":0,"flag_names":[],"stream_id":0,"length":6,"#,
                r#""settings":[{"id":3,"name":"SETTINGS_MAX_CONCURRENT_STREAMS","value":100}]}"#,
                "\n"
            )
        );
        let mut g = rec(FrameType::GOAWAY, 0, 0, 10);
        g.last_stream_id = Some(sid(1));
        g.error_code = Some(Reason::PROTOCOL_ERROR);
        g.debug_data = b"x\n".to_vec();
        assert_eq!(
            text(|o| json_frame(o, T, None, Direction::Recv, &g, &[], Some(LibError::PROTO))),
            concat!(
                r#"{"time":0.003,"direction":"recv","type":"GOAWAY","flags":0,"flag_names":[],"stream_id":0,"length":10,"#,
                r#""last_stream_id":1,"error_code":1,"error_name":"PROTOCOL_ERROR","opaque_data":"x\n","#,
                r#""invalid":{"code":-505,"error":"Protocol error"}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn json_strings_and_clock() {
        let mut g = rec(FrameType::GOAWAY, 0, 0, 8 + 17);
        g.debug_data = b"a\"b\\c\n\r\t\x01\x7f\xe2\x80\xa8\xc3\xa9\xff".to_vec();
        let line = text(|o| json_frame(o, Duration::ZERO, None, Direction::Send, &g, &[], None));
        // serde_json's escaping: control characters as \n or \u00XX, DEL
        // and U+2028 as they are; invalid UTF-8 as U+FFFD.
        assert_eq!(
            line,
            concat!(
                r#"{"time":0.000,"direction":"send","type":"GOAWAY","flags":0,"flag_names":[],"stream_id":0,"length":25,"#,
                r#""last_stream_id":0,"error_code":0,"error_name":"NO_ERROR","#,
                "\"opaque_data\":\"a\\\"b\\\\c\\n\\r\\t\\u0001\x7f\u{2028}\u{e9}\u{fffd}\"}\n"
            )
        );
        let t = Duration::from_millis(1_234_500);
        assert!(
            text(|o| json_frame(o, t, None, Direction::Send, &g, &[], None))
                .starts_with(r#"{"time":1234.500,"#)
        );
        let mut unknown = rec(FrameType(0xbb), 0x80, 0, 0);
        unknown.priority = None;
        assert_eq!(
            text(|o| json_frame(o, T, Some(0), Direction::Recv, &unknown, &[], None)),
            concat!(
                r#"{"time":0.003,"connection_id":0,"direction":"recv","type":"0xbb","flags":128,"#,
                r#""flag_names":[],"stream_id":0,"length":0}"#,
                "\n"
            )
        );
    }
}
