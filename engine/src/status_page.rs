//! The `-www` status page, laid out byte for byte as s_server's `www_body` writes it.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::event::{CacheStats, HandshakeInfo};
use crate::http::HTML_HEADER;

/// The 12 lines of s_server's `print_stats`, each ending in `\n`.
pub fn stats_text(s: &CacheStats) -> String {
    let mut t = String::new();
    let rows: [(i64, &str); 11] = [
        (s.number, "items in the session cache"),
        (s.connect, "client connects (SSL_connect())"),
        (s.connect_renegotiate, "client renegotiates (SSL_connect())"),
        (s.connect_good, "client connects that finished"),
        (s.accept, "server accepts (SSL_accept())"),
        (s.accept_renegotiate, "server renegotiates (SSL_accept())"),
        (s.accept_good, "server accepts that finished"),
        (s.hits, "session cache hits"),
        (s.misses, "session cache misses"),
        (s.timeouts, "session cache timeouts"),
        (s.cb_hits, "callback cache hits"),
    ];
    for (n, label) in rows {
        let _ = writeln!(t, "{n:4} {label}");
    }
    let _ = writeln!(t, "{:4} cache full overflows ({} allowed)", s.cache_full, s.cache_size);
    t
}

/// Renders the page: `argv` is echoed (HTML-escaped), then the cipher tables, the negotiated
/// session and the cache statistics.
pub fn render(argv: &[String], info: &HandshakeInfo, ciphers: &[(String, String)], stats: &CacheStats) -> Vec<u8> {
    let mut p = String::with_capacity(8 * 1024);
    p.push_str(core::str::from_utf8(HTML_HEADER).unwrap_or_default());
    p.push_str("<HTML><BODY BGCOLOR=\"#ffffff\">\n<pre>\n\n");
    for arg in argv {
        for c in arg.chars() {
            match c {
                '<' => p.push_str("&lt;"),
                '>' => p.push_str("&gt;"),
                '&' => p.push_str("&amp;"),
                c => p.push(c),
            }
        }
        p.push(' ');
    }
    p.push('\n');
    let not = if info.secure_renegotiation { "" } else { " NOT" };
    let _ = writeln!(p, "Secure Renegotiation IS{not} supported");
    p.push_str("Ciphers supported in s_server binary\n");
    for (i, (version, name)) in ciphers.iter().enumerate() {
        let _ = write!(p, "{version:<11}:{name:<25} ");
        if (i + 1) % 2 == 0 && i + 1 != ciphers.len() {
            p.push('\n');
        }
    }
    p.push('\n');
    if !info.shared_ciphers.is_empty() {
        p.push_str("---\nCiphers common between both SSL end points:\n");
        for (i, name) in info.shared_ciphers.split(':').enumerate() {
            if i > 0 {
                // s_server pads the previous name to 26 columns, then a space or a newline.
                p.push(if i % 3 == 0 { '\n' } else { ' ' });
            }
            p.push_str(name);
            let is_last = i + 1 == info.shared_ciphers.split(':').count();
            if !is_last {
                for _ in name.len()..26 {
                    p.push(' ');
                }
            }
        }
        p.push('\n');
    }
    for line in info.sigalgs_lines.iter().chain(info.groups_lines.iter()) {
        p.push_str(line);
        p.push('\n');
    }
    let new = if info.resumed { "Reused" } else { "New" };
    let _ = writeln!(p, "---\n{new}, {}, Cipher is {}", info.cipher_version, info.cipher);
    p.push_str(&info.session_text);
    p.push_str("---\n");
    p.push_str(&stats_text(stats));
    p.push_str("---\n");
    match &info.peer_certificate {
        Some(cert) => {
            p.push_str("Client certificate\n");
            p.push_str(&cert.text);
            p.push_str(&cert.pem);
        }
        None => p.push_str("no client certificate available\n"),
    }
    p.push_str("</pre></BODY></HTML>\r\n\r\n");
    p.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn stats_lines_are_padded_like_s_server() {
        let s = CacheStats {
            accept: 3,
            accept_good: 2,
            cache_size: 128,
            ..Default::default()
        };
        let t = stats_text(&s);
        assert_eq!(t.lines().count(), 12);
        assert!(t.starts_with("   0 items in the session cache\n"));
        assert!(t.contains("   3 server accepts (SSL_accept())\n"));
        assert!(t.ends_with("   0 cache full overflows (128 allowed)\n"));
    }

    #[test]
    fn page_layout() {
        let info = HandshakeInfo {
            protocol: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_version: "TLSv1.3".into(),
            secure_renegotiation: true,
            shared_ciphers: "A:B:C:D".into(),
            session_text: "SSL-Session:\n".into(),
            ..Default::default()
        };
        let ciphers = vec![
            ("TLSv1.3".to_string(), "X".to_string()),
            ("TLSv1.2".to_string(), "Y".to_string()),
            ("SSLv3".to_string(), "Z".to_string()),
        ];
        let page = String::from_utf8(render(
            &["sserve".into(), "-www".into(), "<&>".into()],
            &info,
            &ciphers,
            &CacheStats::default(),
        ))
        .unwrap();
        assert!(page.starts_with("HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<HTML><BODY BGCOLOR=\"#ffffff\">\n<pre>\n\nsserve -www &lt;&amp;&gt; \n"));
        assert!(page.contains("Secure Renegotiation IS supported\n"));
        assert!(page.contains("TLSv1.3    :X                         TLSv1.2    :Y                         \nSSLv3      :Z                         \n"));
        let pad = |s: &str| format!("{s:<26}");
        assert!(page.contains(&format!(
            "Ciphers common between both SSL end points:\n{} {} {}\nD\n",
            pad("A"),
            pad("B"),
            pad("C")
        )));
        assert!(page.contains("---\nNew, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nSSL-Session:\n---\n"));
        assert!(page.ends_with("no client certificate available\n</pre></BODY></HTML>\r\n\r\n"));
    }
}
