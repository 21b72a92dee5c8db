//! HPACK through nghttp2: every example of RFC 7541 Appendix C decoded to its
//! exact header list, deflate→inflate round trips, the header-list-size
//! limit against an amplification block, and hostile input.

use nghttp2::hpack::{Deflater, HeaderField, Inflater};
use nghttp2::{Kind, LibError};

/// Hex with any whitespace in it (the RFC prints blocks in groups of four).
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex: {s}");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn f(name: &str, value: &str) -> HeaderField {
    HeaderField::new(name, value)
}

/// An HPACK integer (RFC 7541 section 5.1) with an `n`-bit prefix whose
/// high bits are `first`.
fn int(first: u8, n: u32, mut v: usize, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// A literal field with incremental indexing and a new, raw (not Huffman)
/// name and value.
fn literal_with_indexing(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x40);
    int(0x00, 7, name.len(), out);
    out.extend_from_slice(name);
    int(0x00, 7, value.len(), out);
    out.extend_from_slice(value);
}

// ---------------------------------------------------------------------------
// RFC 7541 Appendix C.2: header field representations, each on its own.
// ---------------------------------------------------------------------------

#[test]
fn c_2_1_literal_with_indexing() {
    let mut inf = Inflater::new().unwrap();
    let block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    assert_eq!(
        inf.inflate(&block).unwrap(),
        [f("custom-key", "custom-header")]
    );
    assert_eq!(inf.dynamic_table_size(), 55);
    assert_eq!(inf.table_entry(62), Some(f("custom-key", "custom-header")));
}

#[test]
fn c_2_2_literal_without_indexing() {
    let mut inf = Inflater::new().unwrap();
    let block = hex("040c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(inf.inflate(&block).unwrap(), [f(":path", "/sample/path")]);
    assert_eq!(inf.dynamic_table_size(), 0);
}

#[test]
fn c_2_3_literal_never_indexed() {
    let mut inf = Inflater::new().unwrap();
    let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    assert_eq!(
        inf.inflate(&block).unwrap(),
        [HeaderField::sensitive("password", "secret")]
    );
    assert_eq!(inf.dynamic_table_size(), 0);
}

#[test]
fn c_2_4_indexed() {
    let mut inf = Inflater::new().unwrap();
    assert_eq!(inf.inflate(&hex("82")).unwrap(), [f(":method", "GET")]);
    assert_eq!(inf.dynamic_table_size(), 0);
}

// ---------------------------------------------------------------------------
// C.3 / C.4: three requests on one connection, without and with Huffman.
// ---------------------------------------------------------------------------

fn request_1() -> Vec<HeaderField> {
    vec![
        f(":method", "GET"),
        f(":scheme", "http"),
        f(":path", "/"),
        f(":authority", "www.example.com"),
    ]
}

fn request_2() -> Vec<HeaderField> {
    let mut list = request_1();
    list.push(f("cache-control", "no-cache"));
    list
}

fn request_3() -> Vec<HeaderField> {
    vec![
        f(":method", "GET"),
        f(":scheme", "https"),
        f(":path", "/index.html"),
        f(":authority", "www.example.com"),
        f("custom-key", "custom-value"),
    ]
}

/// Decodes `blocks` in order with one inflater, checking each header list,
/// the dynamic table size after it, and the final table's entries.
fn decode_sequence(
    inf: &mut Inflater,
    steps: &[(&str, Vec<HeaderField>, usize)],
    final_table: &[HeaderField],
) {
    for (i, (block, expected, size)) in steps.iter().enumerate() {
        let got = inf
            .inflate(&hex(block))
            .unwrap_or_else(|e| panic!("block {}: {e}", i + 1));
        assert_eq!(&got, expected, "block {}", i + 1);
        assert_eq!(
            inf.dynamic_table_size(),
            *size,
            "table size after block {}",
            i + 1
        );
    }
    assert_eq!(inf.num_table_entries(), 61 + final_table.len());
    for (i, entry) in final_table.iter().enumerate() {
        assert_eq!(
            inf.table_entry(62 + i).as_ref(),
            Some(entry),
            "entry {}",
            62 + i
        );
    }
}

fn request_table() -> Vec<HeaderField> {
    vec![
        f("custom-key", "custom-value"),
        f("cache-control", "no-cache"),
        f(":authority", "www.example.com"),
    ]
}

#[test]
fn c_3_requests_without_huffman() {
    let mut inf = Inflater::new().unwrap();
    decode_sequence(
        &mut inf,
        &[
            (
                "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                request_1(),
                57,
            ),
            ("8286 84be 5808 6e6f 2d63 6163 6865", request_2(), 110),
            (
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                request_3(),
                164,
            ),
        ],
        &request_table(),
    );
}

#[test]
fn c_4_requests_with_huffman() {
    let mut inf = Inflater::new().unwrap();
    decode_sequence(
        &mut inf,
        &[
            (
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                request_1(),
                57,
            ),
            ("8286 84be 5886 a8eb 1064 9cbf", request_2(), 110),
            (
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                request_3(),
                164,
            ),
        ],
        &request_table(),
    );
}

// ---------------------------------------------------------------------------
// C.5 / C.6: three responses with a 256-byte table, so entries get evicted.
// ---------------------------------------------------------------------------

fn response_1() -> Vec<HeaderField> {
    vec![
        f(":status", "302"),
        f("cache-control", "private"),
        f("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        f("location", "https://www.example.com"),
    ]
}

fn response_2() -> Vec<HeaderField> {
    let mut list = response_1();
    list[0] = f(":status", "307");
    list
}

fn response_3() -> Vec<HeaderField> {
    vec![
        f(":status", "200"),
        f("cache-control", "private"),
        f("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        f("location", "https://www.example.com"),
        f("content-encoding", "gzip"),
        f(
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ]
}

fn response_table() -> Vec<HeaderField> {
    vec![
        f(
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
        f("content-encoding", "gzip"),
        f("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ]
}

/// The dynamic table size update to 256 (`001 11111` then 225 as a varint).
///
/// The RFC's C.5/C.6 blocks assume both sides already use 256 bytes and so
/// carry no update. In HTTP/2 the decoder's limit comes from its
/// SETTINGS_HEADER_TABLE_SIZE, and once that is lowered below the current
/// size the encoder must open its next block with an update (RFC 7541
/// section 4.2); nghttp2's inflater enforces that, so the first block gets
/// the update an encoder would have sent.
const TABLE_SIZE_256: &str = "3fe101";

const C_5_1: &str = "4803 3330 3258 0770 7269 7661 7465 611d
                     4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                     2032 303a 3133 3a32 3120 474d 546e 1768
                     7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                     6c65 2e63 6f6d";
const C_5_2: &str = "4803 3330 37c1 c0bf";
const C_5_3: &str = "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
                     3230 3133 2032 303a 3133 3a32 3220 474d
                     54c0 5a04 677a 6970 7738 666f 6f3d 4153
                     444a 4b48 514b 425a 584f 5157 454f 5049
                     5541 5851 5745 4f49 553b 206d 6178 2d61
                     6765 3d33 3630 303b 2076 6572 7369 6f6e
                     3d31";

const C_6_1: &str = "4882 6402 5885 aec3 771a 4b61 96d0 7abe
                     9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                     e9ae 82ae 43d3";
const C_6_2: &str = "4883 640e ffc1 c0bf";
const C_6_3: &str = "88c1 6196 d07a be94 1054 d444 a820 0595
                     040b 8166 e084 a62d 1bff c05a 839b d9ab
                     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                     3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                     9587 3160 65c0 03ed 4ee5 b106 3d50 07";

fn responses(first: &str, second: &str, third: &str) {
    let mut inf = Inflater::new().unwrap();
    inf.change_table_size(256).unwrap();
    let first = format!("{TABLE_SIZE_256} {first}");
    decode_sequence(
        &mut inf,
        &[
            (&first, response_1(), 222),
            (second, response_2(), 222),
            (third, response_3(), 215),
        ],
        &response_table(),
    );
    assert_eq!(inf.max_dynamic_table_size(), 256);
}

#[test]
fn c_5_responses_without_huffman() {
    responses(C_5_1, C_5_2, C_5_3);
}

#[test]
fn c_6_responses_with_huffman() {
    responses(C_6_1, C_6_2, C_6_3);
}

#[test]
fn lowered_table_size_requires_a_size_update_first() {
    // nghttp2 rejects a block that ignores the lowered SETTINGS value...
    let mut inf = Inflater::new().unwrap();
    inf.change_table_size(256).unwrap();
    let err = inf.inflate(&hex(C_5_1)).unwrap_err();
    assert_eq!(err.lib_error(), Some(LibError::HEADER_COMP));
    // ...and an update larger than that value.
    let mut inf = Inflater::new().unwrap();
    inf.change_table_size(256).unwrap();
    let err = inf.inflate(&hex("3fe201 82")).unwrap_err(); // update to 257
    assert_eq!(err.lib_error(), Some(LibError::HEADER_COMP));
}

#[test]
fn without_a_settings_change_the_encoder_may_shrink_the_table_itself() {
    // The RFC's own reading of C.5: the encoder chose 256 bytes (within the
    // default 4096) and says so in its first block.
    let mut inf = Inflater::new().unwrap();
    let first = format!("{TABLE_SIZE_256} {C_5_1}");
    decode_sequence(
        &mut inf,
        &[
            (&first, response_1(), 222),
            (C_5_2, response_2(), 222),
            (C_5_3, response_3(), 215),
        ],
        &response_table(),
    );
}

// ---------------------------------------------------------------------------
// Deflate → inflate round trips.
// ---------------------------------------------------------------------------

fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, headers: &[HeaderField]) {
    let block = deflater.deflate(headers).unwrap();
    assert!(block.len() <= deflater.deflate_bound(headers));
    assert_eq!(inflater.inflate(&block).unwrap(), headers);
    assert_eq!(deflater.dynamic_table_size(), inflater.dynamic_table_size());
}

#[test]
fn round_trip_the_rfc_header_lists() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    for list in [request_1(), request_2(), request_3()] {
        round_trip(&mut d, &mut i, &list);
    }
    let mut d = Deflater::new(256).unwrap();
    let mut i = Inflater::new().unwrap();
    for list in [response_1(), response_2(), response_3()] {
        round_trip(&mut d, &mut i, &list);
        assert!(i.dynamic_table_size() <= 256);
    }
}

#[test]
fn a_small_deflater_table_is_announced_in_the_first_block() {
    let mut d = Deflater::new(256).unwrap();
    let block = d.deflate(&[f(":method", "GET")]).unwrap();
    assert_eq!(block, hex(&format!("{TABLE_SIZE_256} 82")));
    assert_eq!(d.max_dynamic_table_size(), 256);
    // Only once.
    assert_eq!(d.deflate(&[f(":method", "GET")]).unwrap(), hex("82"));
}

#[test]
fn sensitive_fields_stay_sensitive_and_are_never_indexed() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    let headers = [
        f(":method", "POST"),
        HeaderField::sensitive("x-api-key", "s3cr3t-value-that-is-long"),
        f("x-plain", "visible"),
        // Already in the static table as a full match: a sensitive field
        // must still go out as a never-indexed literal.
        HeaderField::sensitive(":method", "GET"),
    ];
    let block = d.deflate(&headers).unwrap();
    assert_eq!(i.inflate(&block).unwrap(), headers);
    // Only x-plain entered the tables (`:method: POST` is a full static
    // match); the sensitive fields are in neither.
    assert_eq!(i.num_table_entries(), 62);
    assert_eq!(i.table_entry(62), Some(f("x-plain", "visible")));
    assert_eq!(d.table_entry(62), i.table_entry(62));
    // Sent again, the sensitive ones are literals again, still sensitive.
    let again = d.deflate(&headers).unwrap();
    assert!(again.len() > block.len() / 2, "{again:02x?}");
    assert_eq!(i.inflate(&again).unwrap(), headers);
}

#[test]
fn nghttp2_never_indexes_authorization_or_short_cookies() {
    // nghttp2's deflater decides this on its own, so these come back
    // sensitive even though they were not sent as such.
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    let sent = [
        f("authorization", "Basic Zm9vOmJhcg=="),
        f("cookie", "short=1"),
        f("cookie", "a-cookie-of-twenty-bytes-or-more=1"),
    ];
    let got = i.inflate(&d.deflate(&sent).unwrap()).unwrap();
    assert_eq!(
        got.iter().map(|h| h.sensitive).collect::<Vec<_>>(),
        [true, true, false]
    );
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!((&g.name, &g.value), (&s.name, &s.value));
    }
}

#[test]
fn empty_names_and_values_round_trip() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    let headers = [
        f("x-empty", ""),
        f("", "nameless"),
        f("", ""),
        HeaderField::sensitive("x-empty-secret", ""),
        f("accept-encoding", ""),
    ];
    round_trip(&mut d, &mut i, &headers);
    round_trip(&mut d, &mut i, &headers);
}

#[test]
fn a_64_kib_value_round_trips() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    // Bytes that Huffman cannot shrink, so the raw 65536-byte literal (the
    // largest nghttp2's inflater takes) is what goes on the wire.
    let value: Vec<u8> = (0..65536u32).map(|n| 0x80 | (n % 128) as u8).collect();
    let headers = [
        f(":status", "200"),
        HeaderField::new("x-big", value.clone()),
        HeaderField::new("x-big-text", "a".repeat(65536)),
    ];
    let block = d.deflate(&headers).unwrap();
    assert!(block.len() > 65536);
    assert_eq!(i.inflate(&block).unwrap(), headers);
    // Too big for the 4096-byte table: not indexed.
    assert_eq!(i.dynamic_table_size(), d.dynamic_table_size());
    assert!(i.dynamic_table_size() < 4096);
}

#[test]
fn values_over_64_kib_encoded_are_refused_by_the_inflater() {
    // The deflater writes what it is given; nghttp2's inflater caps a
    // string's encoded length at 64 KiB (NGHTTP2_HD_MAX_NV).
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    let value = vec![0xffu8; 65537];
    let block = d.deflate(&[HeaderField::new("x-huge", value)]).unwrap();
    let err = i.inflate(&block).unwrap_err();
    assert_eq!(err.lib_error(), Some(LibError::HEADER_COMP));
}

#[test]
fn many_fields_and_many_blocks_round_trip() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    let headers: Vec<HeaderField> = (0..2000)
        .map(|n| {
            HeaderField::new(
                format!("x-field-{}", n % 300),
                format!("value-{}", n * 7919 % 1000),
            )
        })
        .collect();
    let first = d.deflate(&headers).unwrap();
    assert_eq!(i.inflate(&first).unwrap(), headers);
    // Many blocks in a row, the table churning and evicting throughout.
    for round in 0..20 {
        let chunk = &headers[round * 100..round * 100 + 100];
        round_trip(&mut d, &mut i, chunk);
        assert!(i.dynamic_table_size() <= 4096);
    }
    // A repeated small list compresses to indexed references.
    let small = request_3();
    round_trip(&mut d, &mut i, &small);
    let again = d.deflate(&small).unwrap();
    assert_eq!(again.len(), small.len(), "one byte per field: {again:02x?}");
    assert_eq!(i.inflate(&again).unwrap(), small);
}

#[test]
fn table_size_changes_keep_both_sides_in_step() {
    let mut d = Deflater::new(4096).unwrap();
    let mut i = Inflater::new().unwrap();
    round_trip(&mut d, &mut i, &request_3());
    assert!(i.dynamic_table_size() > 0);
    // The peer's SETTINGS_HEADER_TABLE_SIZE drops to 0: both tables empty,
    // and the deflater's next block starts with the update the inflater now
    // requires.
    d.change_table_size(0).unwrap();
    i.change_table_size(0).unwrap();
    assert_eq!(d.dynamic_table_size(), 0);
    assert_eq!(i.dynamic_table_size(), 0);
    let block = d.deflate(&request_3()).unwrap();
    assert_eq!(block[0], 0x20);
    assert_eq!(i.inflate(&block).unwrap(), request_3());
    assert_eq!(i.dynamic_table_size(), 0);
    assert_eq!(i.num_table_entries(), 61);
    // Back up to 4096.
    d.change_table_size(4096).unwrap();
    i.change_table_size(4096).unwrap();
    round_trip(&mut d, &mut i, &request_3());
    round_trip(&mut d, &mut i, &request_3());
    assert!(i.dynamic_table_size() > 0);
}

// ---------------------------------------------------------------------------
// The header-list-size limit and hostile input.
// ---------------------------------------------------------------------------

/// One literal with incremental indexing that fills the default 4096-byte
/// table exactly (name "a" + a 4063-byte value + 32), then `refs` bytes of
/// 0xbe, each an indexed reference to that entry (index 62).
fn amplification_block(refs: usize) -> Vec<u8> {
    let mut block = Vec::new();
    literal_with_indexing(b"a", &[b'v'; 4063], &mut block);
    block.resize(block.len() + refs, 0xbe);
    block
}

#[test]
fn the_limit_rejects_an_amplification_block() {
    let block = amplification_block(10_000);
    assert!(block.len() < 15_000);
    // Unbounded, these ~14 KB would decode to 10,001 * 4 KiB = 41 MB.
    let mut inf = Inflater::with_max_header_list_size(64 * 1024).unwrap();
    assert_eq!(inf.max_header_list_size(), Some(64 * 1024));
    let err = inf.inflate(&block).unwrap_err();
    assert!(matches!(err.kind(), Kind::User(_)), "{err:?}");
    assert!(err.lib_error().is_none());
    let message = err.to_string();
    assert!(message.contains("limit of 65536"), "{message}");

    // The block was still decoded to the end, so the table matches the
    // encoder's and the inflater carries on.
    assert_eq!(inf.dynamic_table_size(), 4096);
    let entry = HeaderField::new("a", vec![b'v'; 4063]);
    assert_eq!(inf.inflate(&hex("be be")).unwrap(), [entry.clone(), entry]);
}

#[test]
fn the_limit_is_inclusive_and_counts_32_bytes_per_field() {
    let block = amplification_block(2); // three fields of 4096 bytes each
    let mut inf = Inflater::with_max_header_list_size(3 * 4096).unwrap();
    assert_eq!(inf.inflate(&block).unwrap().len(), 3);

    let mut inf = Inflater::with_max_header_list_size(3 * 4096 - 1).unwrap();
    assert!(inf.inflate(&block).is_err());

    // Lifting the limit on the same inflater.
    inf.set_max_header_list_size(None);
    assert_eq!(inf.inflate(&hex("be")).unwrap()[0].value.len(), 4063);

    // Empty fields still count 32 bytes each.
    let mut inf = Inflater::with_max_header_list_size(32 * 3).unwrap();
    let mut empties = Vec::new();
    literal_with_indexing(b"", b"", &mut empties);
    empties.extend_from_slice(&hex("bebe"));
    assert_eq!(inf.inflate(&empties).unwrap().len(), 3);
    empties.push(0xbe);
    let mut inf = Inflater::with_max_header_list_size(32 * 3).unwrap();
    assert!(inf.inflate(&empties).is_err());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let cases: &[(&str, &str)] = &[
        ("80", "index 0"),
        ("be", "index 62 with an empty dynamic table"),
        ("ff ffff ffff ff", "integer overflow"),
        ("ff80", "integer cut short"),
        ("400a 6375 73", "literal cut short"),
        ("4085 ffff ffff ff00", "Huffman string with EOS inside"),
        ("0081 ff00", "Huffman padding longer than 7 bits"),
        ("82 3f e101", "table size update after a field"),
        (
            "3fe2 1f",
            "table size update above SETTINGS_HEADER_TABLE_SIZE",
        ),
        ("007f ffff ffff 0f", "literal name length over 64 KiB"),
    ];
    for (block, what) in cases {
        let mut inf = Inflater::new().unwrap();
        let result = inf.inflate(&hex(block));
        assert!(result.is_err(), "{what}: {result:?}");
        assert_eq!(
            result.unwrap_err().lib_error(),
            Some(LibError::HEADER_COMP),
            "{what}"
        );
    }
}

#[test]
fn an_inflater_that_failed_stays_failed() {
    let mut inf = Inflater::new().unwrap();
    assert!(inf.inflate(&hex("80")).is_err());
    // nghttp2 marks the context bad: even a valid block fails now...
    assert_eq!(
        inf.inflate(&hex("82")).unwrap_err().lib_error(),
        Some(LibError::HEADER_COMP)
    );
    // ...and it is stuck mid-block, so a table size change is refused.
    assert_eq!(
        inf.change_table_size(100).unwrap_err().lib_error(),
        Some(LibError::INVALID_STATE)
    );
}

#[test]
fn random_input_never_panics() {
    // A fixed xorshift stream: reproducible, no dev-dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut ok = 0;
    for _ in 0..3000 {
        let len = (next() % 64) as usize;
        let block: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut inf = Inflater::with_max_header_list_size(1 << 20).unwrap();
        if inf.inflate(&block).is_ok() {
            ok += 1;
        }
        // Whatever happened, the object is still sound to query and drop.
        let _ = inf.dynamic_table_size();
        let _ = format!("{inf:?}");
    }
    // Mostly errors, some successes (e.g. the empty block).
    assert!(ok > 0 && ok < 3000, "{ok}");

    // Valid blocks with bytes flipped.
    let mut d = Deflater::new(4096).unwrap();
    let valid = d.deflate(&response_3()).unwrap();
    for _ in 0..2000 {
        let mut block = valid.clone();
        let at = (next() as usize) % block.len();
        block[at] ^= 1 << (next() % 8);
        if next() % 4 == 0 {
            block.truncate((next() as usize) % block.len());
        }
        let _ = Inflater::new().unwrap().inflate(&block);
    }
}

#[test]
fn odd_bytes_and_a_zero_size_table_round_trip() {
    // HPACK carries any bytes and does not change case; checking names is
    // the HTTP/2 layer's job.
    let mut d = Deflater::new(0).unwrap();
    let mut i = Inflater::new().unwrap();
    let odd = [
        HeaderField::new(vec![0u8, 0xff, b'\n'], vec![0u8; 3]),
        f("UPPER-Case", "kept as is"),
    ];
    round_trip(&mut d, &mut i, &odd);
    assert_eq!(i.dynamic_table_size(), 0);
}
