//! A small std-only static file server for the built site. Every response, errors included,
//! carries the cross-origin isolation headers (`SharedArrayBuffer` needs them in the page and in
//! every worker script), files get their proper MIME type, and a precompressed `<file>.br` is
//! sent when the browser accepts brotli.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Headers that make the page cross-origin isolated; sent on every response.
pub const ISOLATION_HEADERS: [(&str, &str); 3] = [
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
];

pub fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "ron" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A running server; dropping it does not stop it, `stop` does.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Starts serving `site` on `addr` (port 0 = any free port) in background threads.
pub fn start(site: &Path, addr: &str) -> Result<Server, String> {
    let site = site.canonicalize().map_err(|e| {
        format!(
            "cannot serve {}: {e} (build it first with `cargo xtask dist`)",
            site.display()
        )
    })?;
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop_flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let site = site.clone();
            std::thread::spawn(move || {
                if let Err(e) = handle_connection(stream, &site) {
                    // Browsers drop idle keep-alive connections all the time; only real errors matter.
                    if e.kind() != std::io::ErrorKind::BrokenPipe
                        && e.kind() != std::io::ErrorKind::ConnectionReset
                        && e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut
                        && e.kind() != std::io::ErrorKind::UnexpectedEof
                    {
                        eprintln!("serve: {e}");
                    }
                }
            });
        }
    });
    Ok(Server { addr: local, stop })
}

struct Request {
    method: String,
    path: String,
    accepts_brotli: bool,
    keep_alive: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let version = parts.next().unwrap_or("HTTP/1.0").to_string();
    let mut accepts_brotli = false;
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "accept-encoding" => {
                    accepts_brotli = value.split(',').any(|v| v.trim().starts_with("br"))
                }
                "connection" => keep_alive = !value.eq_ignore_ascii_case("close"),
                "content-length" => content_length = value.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    // Only GET and HEAD are served; skip any body so the connection stays in sync.
    if content_length > 0 {
        std::io::copy(
            &mut reader.by_ref().take(content_length as u64),
            &mut std::io::sink(),
        )?;
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    Ok(Some(Request {
        method,
        path,
        accepts_brotli,
        keep_alive,
    }))
}

fn handle_connection(stream: TcpStream, site: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        respond(&mut writer, site, &request)?;
        if !request.keep_alive {
            break;
        }
    }
    Ok(())
}

/// Maps a URL path to a file under `site`, refusing anything that would leave it.
fn resolve(site: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = site.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn respond(out: &mut TcpStream, site: &Path, request: &Request) -> std::io::Result<()> {
    if request.method != "GET" && request.method != "HEAD" {
        return respond_text(
            out,
            405,
            "Method Not Allowed",
            "only GET and HEAD are served\n",
            request,
        );
    }
    let Some(path) = resolve(site, &request.path) else {
        return respond_text(
            out,
            404,
            "Not Found",
            &format!("not found: {}\n", request.path),
            request,
        );
    };
    let compressed = PathBuf::from(format!("{}.br", path.display()));
    let (body_path, encoding) = if request.accepts_brotli && compressed.is_file() {
        (compressed, Some("br"))
    } else {
        (path.clone(), None)
    };
    let mut file = std::fs::File::open(&body_path)?;
    let length = file.metadata()?.len();
    let mut head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {length}\r\nCache-Control: no-cache\r\nVary: Accept-Encoding\r\n",
        mime_type(&path)
    );
    if let Some(encoding) = encoding {
        head.push_str(&format!("Content-Encoding: {encoding}\r\n"));
    }
    finish_head(&mut head, request);
    out.write_all(head.as_bytes())?;
    if request.method == "GET" {
        std::io::copy(&mut file, out)?;
    }
    out.flush()
}

fn respond_text(
    out: &mut TcpStream,
    code: u16,
    reason: &str,
    body: &str,
    request: &Request,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    finish_head(&mut head, request);
    out.write_all(head.as_bytes())?;
    if request.method != "HEAD" {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

fn finish_head(head: &mut String, request: &Request) {
    for (name, value) in ISOLATION_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(if request.keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, path: &str, extra: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    }

    #[test]
    fn serves_isolation_headers_mime_types_and_brotli() {
        let dir = std::env::temp_dir().join(format!("xtask-serve-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>hi</html>").unwrap();
        std::fs::write(dir.join("worker.js"), "x").unwrap();
        std::fs::write(dir.join("sub/a.wasm"), "raw").unwrap();
        std::fs::write(dir.join("sub/a.wasm.br"), "compressed").unwrap();
        std::fs::write(dir.join("../xtask-serve-secret"), "secret").unwrap();
        let server = start(&dir, "127.0.0.1:0").unwrap();

        let index = get(server.addr, "/", "");
        assert!(index.starts_with("HTTP/1.1 200"), "{index}");
        assert!(index.contains("Content-Type: text/html"));
        assert!(index.contains("Cross-Origin-Opener-Policy: same-origin"));
        assert!(index.contains("Cross-Origin-Embedder-Policy: require-corp"));

        let worker = get(server.addr, "/worker.js?v=1", "");
        assert!(worker.contains("Content-Type: text/javascript"));
        assert!(worker.contains("Cross-Origin-Embedder-Policy: require-corp"));

        let raw = get(server.addr, "/sub/a.wasm", "");
        assert!(
            raw.contains("Content-Type: application/wasm") && raw.ends_with("raw"),
            "{raw}"
        );
        let br = get(
            server.addr,
            "/sub/a.wasm",
            "Accept-Encoding: gzip, deflate, br\r\n",
        );
        assert!(
            br.contains("Content-Encoding: br") && br.ends_with("compressed"),
            "{br}"
        );
        assert!(br.contains("Content-Type: application/wasm"));

        let missing = get(server.addr, "/nope.js", "");
        assert!(
            missing.starts_with("HTTP/1.1 404") && missing.contains("Cross-Origin-Embedder-Policy")
        );
        let escape = get(server.addr, "/../xtask-serve-secret", "");
        assert!(escape.starts_with("HTTP/1.1 404"), "{escape}");
        let escape = get(server.addr, "/%2e%2e/xtask-serve-secret", "");
        assert!(escape.starts_with("HTTP/1.1 404"), "{escape}");
        server.stop();
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(std::env::temp_dir().join("xtask-serve-secret"));
    }
}
