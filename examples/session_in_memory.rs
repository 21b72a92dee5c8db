//! A request and its response exchanged between a client and a server
//! `Session` wired back to back in memory, with every frame printed.
//!
//! Run: `cargo run --example session_in_memory`

use nghttp2::session::{
    CallbackResult, DataSource, Flags, Frame, HeaderRef, Options, Session, SessionRef,
};

/// Prints the frames one side sends and receives.
struct Printer {
    side: &'static str,
    server: bool,
}

impl Printer {
    fn print(&self, verb: &str, frame: &Frame<'_>) {
        let name = frame.frame_type().name().unwrap_or("UNKNOWN");
        println!(
            "{:>6} {verb} {name} <length={}, flags=0x{:02x}, stream_id={}>",
            self.side,
            frame.length(),
            frame.flags().bits(),
            frame.stream_id()
        );
        for h in frame.sent_headers() {
            println!(
                "{:>6}        {}: {}",
                "",
                String::from_utf8_lossy(h.name),
                String::from_utf8_lossy(h.value)
            );
        }
    }
}

impl nghttp2::session::Handler for Printer {
    fn on_header(
        &mut self,
        _cx: &mut SessionRef,
        frame: &Frame<'_>,
        h: HeaderRef<'_>,
    ) -> CallbackResult {
        println!(
            "{:>6} recv (stream_id={}) {}: {}",
            self.side,
            frame.stream_id(),
            String::from_utf8_lossy(h.name),
            String::from_utf8_lossy(h.value)
        );
        Ok(())
    }

    fn on_frame_recv(&mut self, cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.print("recv", frame);
        if self.server && frame.is_end_stream() {
            let body: Box<dyn DataSource> = Box::new(&b"hello from nghttp2\n"[..]);
            cx.submit_response(
                frame.stream_id(),
                [
                    HeaderRef::new(b":status", b"200"),
                    HeaderRef::new(b"content-type", b"text/plain"),
                ],
                Some(body),
            )
            .map_err(nghttp2::session::CallbackError::Fatal)?;
        }
        Ok(())
    }

    fn on_data_chunk_recv(
        &mut self,
        _cx: &mut SessionRef,
        stream_id: nghttp2::session::StreamId,
        data: &[u8],
        _flags: Flags,
    ) -> CallbackResult {
        println!(
            "{:>6} body (stream_id={stream_id}) {:?}",
            self.side,
            String::from_utf8_lossy(data)
        );
        Ok(())
    }

    fn on_frame_send(&mut self, _cx: &mut SessionRef, frame: &Frame<'_>) -> CallbackResult {
        self.print("send", frame);
        Ok(())
    }
}

fn main() -> Result<(), nghttp2::Error> {
    println!("nghttp2 {}", nghttp2::version().text);
    let mut client = Session::client(
        Printer {
            side: "client",
            server: false,
        },
        &Options::new(),
    )?;
    let mut server = Session::server(
        Printer {
            side: "server",
            server: true,
        },
        &Options::new(),
    )?;
    client.submit_settings(&[])?;
    server.submit_settings(&[])?;
    client.submit_request(
        [
            HeaderRef::new(b":method", b"GET"),
            HeaderRef::new(b":scheme", b"https"),
            HeaderRef::new(b":authority", b"example.test"),
            HeaderRef::new(b":path", b"/"),
        ],
        None,
    )?;

    // Move bytes both ways until neither side has anything to say.
    let mut wire = Vec::new();
    loop {
        wire.clear();
        client.send(&mut wire)?;
        let from_client = wire.len();
        server.recv(&wire)?;
        wire.clear();
        server.send(&mut wire)?;
        let from_server = wire.len();
        client.recv(&wire)?;
        if from_client == 0 && from_server == 0 {
            break;
        }
    }
    Ok(())
}
