//! A minimal HTTP/1.1 webhook receiver on a loopback port, one thread per connection, answering
//! 204 to every POST after an optional delay (a slow receiver).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The requests taken: headers (lower-case names) and body.
pub(crate) type Got = Arc<Mutex<Vec<(http::HeaderMap, Vec<u8>)>>>;

/// Starts a receiver; every request lands in the returned list.
pub(crate) fn receiver() -> (SocketAddr, Got) {
    slow_receiver(Duration::ZERO)
}

/// As [`receiver`], answering each request only after `delay`.
pub(crate) fn slow_receiver(delay: Duration) -> (SocketAddr, Got) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let got: Got = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let sink = sink.clone();
            std::thread::spawn(move || {
                // A client that goes away mid-request (a killed worker) is not an error here.
                let _ = serve(stream, &sink, delay);
            });
        }
    });
    (addr, got)
}

fn serve(mut stream: TcpStream, sink: &Got, delay: Duration) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = http::HeaderMap::new();
    let mut line = String::new();
    // A connection that ends before the blank line is a request cut short (its sender was
    // killed), not a request without headers: record nothing.
    let cut_short = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    if reader.read_line(&mut line)? == 0 {
        return Err(cut_short());
    }
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(cut_short());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "content-length" {
            length = value.trim().parse().unwrap_or(0);
        }
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value.trim()),
        ) {
            headers.append(n, v);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    sink.lock().unwrap().push((headers, body));
    std::thread::sleep(delay);
    stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
}

/// The distinct `webhook-id`s received, and how many requests there were in all.
pub(crate) fn distinct_ids(got: &Got) -> (usize, usize) {
    let got = got.lock().unwrap();
    let ids: std::collections::HashSet<_> =
        got.iter().map(|(h, _)| h["webhook-id"].clone()).collect();
    (ids.len(), got.len())
}
