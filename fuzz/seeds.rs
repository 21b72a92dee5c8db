//! Seed inputs for the fuzz targets: what real sessions say to each other,
//! recorded by running them back to back in memory, a few hand-built frame
//! sequences, and the RFC 7541 Appendix C header blocks.
//!
//! `cargo test --test fuzz_regressions -- --ignored write_seed_corpus`
//! (re)writes them as `fuzz/corpus/<target>/seed-<name>`.

use nghttp2::hpack::{Deflater, HeaderField};
use nghttp2::session::{Chunk, FnSource, Handler, Header, HeaderRef, Options, Session};
use nghttp2::session::{Setting, SettingId, StreamId};
use nghttp2::Reason;

use crate::harness::{after_recv, chunked, new_client, new_server, one_chunk, Tracker, PREFACE};

/// One seed file.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub data: Vec<u8>,
}

fn seed(target: &'static str, name: &str, data: Vec<u8>) -> Seed {
    Seed {
        target,
        name: name.to_string(),
        data,
    }
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = server_seeds();
    seeds.extend(client_seeds());
    seeds.extend(hpack_seeds());
    seeds
}

/// Moves bytes between `a` and `b` until neither has more to say (or one
/// fails), and returns everything each of them sent.
fn converse<A: Handler, B: Handler>(
    a: &mut Session<A>,
    b: &mut Session<B>,
    mut after_a: impl FnMut(&mut Session<A>),
    mut after_b: impl FnMut(&mut Session<B>),
) -> (Vec<u8>, Vec<u8>) {
    let (mut a_wire, mut b_wire) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let before = (a_wire.len(), b_wire.len());
        let start = a_wire.len();
        if a.send(&mut a_wire).is_err() {
            break;
        }
        if b.recv(&a_wire[start..]).is_err() {
            let _ = b.send(&mut b_wire);
            break;
        }
        after_b(b);
        let start = b_wire.len();
        if b.send(&mut b_wire).is_err() {
            break;
        }
        if a.recv(&b_wire[start..]).is_err() {
            break;
        }
        after_a(a);
        if (a_wire.len(), b_wire.len()) == before {
            break;
        }
    }
    (a_wire, b_wire)
}

/// The length of the first frame of `wire`, header included.
fn first_frame_len(wire: &[u8]) -> usize {
    9 + ((wire[0] as usize) << 16 | (wire[1] as usize) << 8 | wire[2] as usize)
}

/// A client's bytes without the preface and its first SETTINGS, which the
/// server target supplies itself.
fn after_client_start(wire: &[u8]) -> Vec<u8> {
    let rest = wire.strip_prefix(PREFACE).expect("client preface");
    rest[first_frame_len(rest)..].to_vec()
}

/// Cuts `payload` into up to 7 small chunks and the rest.
fn cut(config: u8, payload: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut blocks = Vec::new();
    let mut rest = payload;
    for &n in sizes {
        if rest.len() <= n {
            break;
        }
        blocks.push(&rest[..n]);
        rest = &rest[n..];
    }
    blocks.push(rest);
    chunked(config, &blocks)
}

fn frame(frame_type: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(frame_type);
    out.push(flags);
    out.extend_from_slice(&stream_id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn request_fields<'a>(method: &'a str, path: &'a str) -> Vec<HeaderRef<'a>> {
    vec![
        HeaderRef::new(b":method", method.as_bytes()),
        HeaderRef::new(b":scheme", b"https"),
        HeaderRef::new(b":authority", b"example.test"),
        HeaderRef::new(b":path", path.as_bytes()),
    ]
}

/// A body of `len` bytes followed by trailers.
fn body_with_trailers(len: usize) -> FnSource<impl FnMut(usize) -> Chunk + Send> {
    let mut body = Some(vec![b'x'; len]);
    FnSource(move |_| match body.take() {
        Some(b) => Chunk::Data(b.into()),
        None => Chunk::End {
            last: Default::default(),
            trailers: Some(vec![Header::new("x-trailer", "done")]),
        },
    })
}

/// What a plain client says to the server target's server (configuration
/// `cfg`) when `script` drives it.
fn client_transcript(cfg: u8, script: impl FnOnce(&mut Session<()>)) -> Vec<u8> {
    let tracker = Tracker::default();
    let mut server = new_server(cfg, &tracker);
    let mut client = Session::client((), &Options::new()).unwrap();
    client.submit_settings(&[]).unwrap();
    script(&mut client);
    let (wire, _) = converse(&mut client, &mut server, |_| {}, after_recv);
    after_client_start(&wire)
}

fn server_seeds() -> Vec<Seed> {
    let target = "session_server";
    let mut seeds = Vec::new();
    let get = client_transcript(0, |c| {
        c.submit_request(request_fields("GET", "/"), None).unwrap();
    });
    seeds.push(seed(target, "get", one_chunk(0, &get)));
    seeds.push(seed(
        target,
        "get_cut",
        cut(0, &get, &[1, 8, 9, 3, 40, 2, 100]),
    ));
    let post = |c: &mut Session<()>| {
        c.submit_request(
            request_fields("POST", "/upload"),
            Some(Box::new(body_with_trailers(3_000))),
        )
        .unwrap();
    };
    seeds.push(seed(
        target,
        "post_trailers",
        one_chunk(0, &client_transcript(0, post)),
    ));
    let many = |c: &mut Session<()>| {
        for path in [
            "/", "/a", "/ab", "/abc", "/abcd", "/abcde", "/abcdef", "/push",
        ] {
            c.submit_request(request_fields("GET", path), None).unwrap();
        }
        c.submit_request(
            request_fields("PUT", "/echo"),
            Some(Box::new(b"echo me".to_vec())),
        )
        .unwrap();
    };
    for (cfg, name) in [
        (0x00, "many"),
        (0x20, "many_push"),
        (0x10, "many_tiny_windows"),
        (0x04, "many_tight_limits"),
        (0x03, "many_auto_window"),
        (0x80, "many_write_limit"),
    ] {
        seeds.push(seed(
            target,
            name,
            one_chunk(cfg, &client_transcript(cfg, many)),
        ));
    }
    let big = |c: &mut Session<()>| {
        c.submit_request(
            request_fields("POST", "/big"),
            Some(Box::new(vec![b'b'; 40_000])),
        )
        .unwrap();
    };
    for (cfg, name) in [
        (0x00, "big_upload"),
        (0x40, "big_upload_consume_now"),
        (0x80, "big_upload_write_limit"),
    ] {
        seeds.push(seed(
            target,
            name,
            one_chunk(cfg, &client_transcript(cfg, big)),
        ));
    }
    let control = client_transcript(0, |c| {
        c.submit_settings(&[
            Setting::new(SettingId::HEADER_TABLE_SIZE, 1024),
            Setting::new(SettingId::MAX_FRAME_SIZE, 32_768),
            Setting::new(SettingId::INITIAL_WINDOW_SIZE, 1_000),
            Setting::new(SettingId::ENABLE_PUSH, 0),
        ])
        .unwrap();
        c.submit_ping(false, *b"pingpong").unwrap();
        c.submit_window_update(StreamId::CONNECTION, 100_000)
            .unwrap();
        let id = c
            .submit_request(request_fields("GET", "/abc"), None)
            .unwrap();
        c.submit_rst_stream(id, Reason::CANCEL).unwrap();
        c.submit_priority_update(StreamId::new(id.get() + 2).unwrap(), b"u=2")
            .unwrap();
        c.submit_request(request_fields("GET", "/ab"), None)
            .unwrap();
        c.submit_goaway(StreamId::CONNECTION, Reason::NO_ERROR, b"bye")
            .unwrap();
    });
    seeds.push(seed(target, "control", one_chunk(0, &control)));
    let reset = client_transcript(0, |c| {
        let mut fields = request_fields("GET", "/");
        fields.push(HeaderRef::new(b"x-fuzz-reset", b"1"));
        c.submit_request(fields, None).unwrap();
        c.submit_request(request_fields("GET", "/a"), None).unwrap();
    });
    seeds.push(seed(target, "reset_header", one_chunk(0, &reset)));
    let fatal = client_transcript(0, |c| {
        let mut fields = request_fields("GET", "/");
        fields.push(HeaderRef::new(b"x-fuzz-fatal", b"1"));
        c.submit_request(fields, None).unwrap();
    });
    seeds.push(seed(target, "fatal_header", one_chunk(0, &fatal)));
    seeds.push(seed(
        target,
        "hand_built",
        one_chunk(0, &hand_built_client_frames()),
    ));
    seeds
}

/// Frames a client built by hand: padding, priority, CONTINUATION,
/// trailers, an unknown extension frame, and acknowledgements.
fn hand_built_client_frames() -> Vec<u8> {
    let mut deflater = Deflater::new(4096).unwrap();
    let request = |path: &str| {
        vec![
            HeaderField::new(":method", "POST"),
            HeaderField::new(":scheme", "https"),
            HeaderField::new(":authority", "example.test"),
            HeaderField::new(":path", path),
            HeaderField::new("content-type", "text/plain"),
        ]
    };
    let mut out = frame(0x4, 0x1, 0, b""); // SETTINGS ACK
                                           // HEADERS (PADDED | PRIORITY, no END_HEADERS) + CONTINUATION.
    let block = deflater.deflate(&request("/ab")).unwrap();
    let (first, rest) = block.split_at(block.len() / 2);
    let mut payload = vec![3]; // pad length
    payload.extend_from_slice(&[0x80, 0, 0, 0, 15]); // exclusive on 0, weight 16
    payload.extend_from_slice(first);
    payload.extend_from_slice(&[0; 3]);
    out.extend(frame(0x1, 0x8 | 0x20, 1, &payload));
    out.extend(frame(0x9, 0x4, 1, rest));
    // Padded DATA with END_STREAM.
    out.extend(frame(0x0, 0x8 | 0x1, 1, b"\x02hello\0\0"));
    out.extend(frame(0x2, 0, 3, &[0, 0, 0, 1, 200])); // PRIORITY
    out.extend(frame(0xf0, 0, 0, b"extension")); // unknown type
                                                 // Stream 3: headers, DATA, trailers.
    let block = deflater.deflate(&request("/abc")).unwrap();
    out.extend(frame(0x1, 0x4, 3, &block));
    out.extend(frame(0x0, 0, 3, b"body"));
    let block = deflater
        .deflate(&[HeaderField::new("x-trailer", "1")])
        .unwrap();
    out.extend(frame(0x1, 0x4 | 0x1, 3, &block));
    out.extend(frame(0x8, 0, 1, &1000u32.to_be_bytes())); // WINDOW_UPDATE
    out.extend(frame(0x6, 0, 0, b"12345678")); // PING
    out.extend(frame(0x6, 0x1, 0, b"12345678")); // PING ACK
    out
}

/// What the server target's server (configuration `server_cfg`) says to
/// the client target's client (configuration `client_cfg`).
fn server_transcript(client_cfg: u8, server_cfg: u8) -> Vec<u8> {
    // Each side its own tracker: both have bodies on the same stream ids.
    let mut client = new_client(client_cfg, &Tracker::default());
    let mut server = new_server(server_cfg, &Tracker::default());
    let (_, wire) = converse(&mut client, &mut server, after_recv, after_recv);
    wire
}

fn client_seeds() -> Vec<Seed> {
    let target = "session_client";
    let mut seeds = Vec::new();
    let basic = server_transcript(0, 0);
    seeds.push(seed(target, "basic", one_chunk(0, &basic)));
    seeds.push(seed(
        target,
        "basic_cut",
        cut(0, &basic, &[1, 8, 20, 9, 64, 3, 200]),
    ));
    seeds.push(seed(target, "basic_late_request", one_chunk(0x08, &basic)));
    seeds.push(seed(target, "basic_write_limit", one_chunk(0x80, &basic)));
    for (client_cfg, server_cfg, name) in [
        (0x00, 0x20, "push"),
        (0x04, 0x20, "push_tight_limits"),
        (0x10, 0x00, "small_client_window"),
        (0x01, 0x10, "tiny_server_windows"),
        (0x01, 0x00, "manual_window"),
    ] {
        let wire = server_transcript(client_cfg, server_cfg);
        seeds.push(seed(target, name, one_chunk(client_cfg, &wire)));
    }
    // A server that refuses a stream and leaves.
    let mut wire = frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 1]); // MAX_CONCURRENT_STREAMS 1
    wire.extend(frame(0x4, 0x1, 0, b""));
    wire.extend(frame(0x3, 0, 3, &7u32.to_be_bytes())); // RST_STREAM REFUSED_STREAM
    let mut deflater = Deflater::new(4096).unwrap();
    let block = deflater
        .deflate(&[HeaderField::new(":status", "204")])
        .unwrap();
    wire.extend(frame(0x1, 0x4 | 0x1, 1, &block));
    let mut goaway = 1u32.to_be_bytes().to_vec();
    goaway.extend_from_slice(&0u32.to_be_bytes());
    goaway.extend_from_slice(b"shutting down");
    wire.extend(frame(0x7, 0, 0, &goaway));
    seeds.push(seed(target, "refuse_and_goaway", one_chunk(0, &wire)));
    seeds
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn hpack_seeds() -> Vec<Seed> {
    let target = "hpack_inflate";
    // Limit index 4 (4096 bytes); 0x08: tables start at 256 bytes.
    const LIMIT_4096: u8 = 4;
    const TABLE_256: u8 = 0x08;
    let blocks = |cfg: u8, list: &[&str]| {
        let blocks: Vec<Vec<u8>> = list.iter().map(|b| hex(b)).collect();
        let refs: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
        chunked(cfg, &refs)
    };
    let mut seeds = vec![
        // RFC 7541 C.2: one representation of each kind.
        seed(
            target,
            "c2",
            blocks(
                LIMIT_4096,
                &[
                    "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                    "040c 2f73 616d 706c 652f 7061 7468",
                    "1008 7061 7373 776f 7264 0673 6563 7265 74",
                    "82",
                ],
            ),
        ),
        // C.3: three requests, no Huffman coding.
        seed(
            target,
            "c3",
            blocks(
                LIMIT_4096,
                &[
                    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                    "8286 84be 5808 6e6f 2d63 6163 6865",
                    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                ],
            ),
        ),
        // C.4: the same with Huffman coding.
        seed(
            target,
            "c4",
            blocks(
                LIMIT_4096,
                &[
                    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                    "8286 84be 5886 a8eb 1064 9cbf",
                    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                ],
            ),
        ),
        // C.5: three responses with a 256-byte table (evictions).
        seed(
            target,
            "c5",
            blocks(
                LIMIT_4096 | TABLE_256,
                &[
                    "3fe101 4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120
                     4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474
                     7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                    "4803 3330 37c1 c0bf",
                    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133
                     3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48
                     514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178
                     2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
                ],
            ),
        ),
        // C.6: the same with Huffman coding.
        seed(
            target,
            "c6",
            blocks(
                LIMIT_4096 | TABLE_256,
                &[
                    "3fe101 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005
                     9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae
                     82ae 43d3",
                    "4883 640e ffc1 c0bf",
                    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff
                     c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af
                     2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50
                     07",
                ],
            ),
        ),
        // Table size changes between blocks (0x10), limit 256 bytes.
        seed(
            target,
            "size_updates",
            blocks(
                0x10 | 2,
                &["20 82", "08 3f11 4082 6162 8261 62", "2f 82 be", "00 20"],
            ),
        ),
    ];
    // Amplification: one 4000-byte entry referenced 600 times, against
    // 64 KiB and 1 MiB limits.
    let mut block = vec![0x40, 0x01, b'a', 0x7f];
    let mut n = 4000 - 127;
    while n >= 128 {
        block.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    block.push(n as u8);
    block.resize(block.len() + 4000, b'v');
    block.resize(block.len() + 600, 0xbe);
    seeds.push(seed(target, "amplification_64k", one_chunk(6, &block)));
    seeds.push(seed(target, "amplification_1m", one_chunk(7, &block)));
    seeds
}
