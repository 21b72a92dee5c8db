//! Decodes one HPACK header block given as hex and prints its fields.
//!
//! ```text
//! cargo run --example hpack_inflate -- 828684418cf1e3c2e5f23a6ba0ab90f4ff
//! cargo run --example hpack_inflate -- "8286 8441 8cf1 e3c2"   # spaces are fine
//! echo 828684418cf1e3c2e5f23a6ba0ab90f4ff | cargo run --example hpack_inflate
//! ```
//!
//! The arguments are joined into one block (read from stdin when there are
//! none); whitespace is ignored. Each field prints as `name: value`, with
//! bytes outside printable ASCII as `\xNN`; never-indexed (sensitive) fields
//! are marked. A fresh decoder is used, so the block must not refer to
//! dynamic-table entries from earlier blocks. Bad hex or a decoding error
//! exits with status 1 and one line on stderr.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::process::ExitCode;

use nghttp2::hpack::Inflater;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hpack_inflate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: hpack_inflate [HEX...]   (reads hex from stdin without arguments)");
        return Ok(());
    }
    let text = if args.is_empty() {
        let mut input = String::new();
        io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        input
    } else {
        args.join(" ")
    };
    let block = parse_hex(&text)?;

    let mut inflater = Inflater::new().map_err(|e| e.to_string())?;
    let fields = inflater
        .inflate(&block)
        .map_err(|e| format!("cannot decode the {}-byte block: {e}", block.len()))?;

    let mut out = String::new();
    for field in &fields {
        escape(&field.name, &mut out);
        out.push_str(": ");
        escape(&field.value, &mut out);
        if field.sensitive {
            out.push_str("  [sensitive: never indexed]");
        }
        out.push('\n');
    }
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write: {e}"))
}

/// Hex digits with any whitespace between them, an optional `0x` prefix on
/// each word.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::new();
    for word in text.split_whitespace() {
        let word = word
            .strip_prefix("0x")
            .or_else(|| word.strip_prefix("0X"))
            .unwrap_or(word);
        for c in word.chars() {
            let d = c
                .to_digit(16)
                .ok_or_else(|| format!("bad hex: {c:?} is not a hex digit"))?;
            digits.push(d as u8);
        }
    }
    if digits.len() % 2 != 0 {
        return Err(format!(
            "bad hex: odd number of digits ({}); each byte needs two",
            digits.len()
        ));
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// Printable ASCII as is, everything else as `\xNN`.
fn escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b == b' ' || b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}
