//! The connected commands typed on s_server's console, and how a console chunk is read.
//!
//! s_server reads stdin with one raw `read()` and looks only at the first byte of the chunk
//! (a pasted multi-line chunk is one "command"). `r R k K c B` act only when the chunk is that
//! letter followed by `\n` or `\r`; `q Q P S` act on any chunk that starts with the letter.

/// A connected command (s_server manual, "CONNECTED COMMANDS").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `q`: end this connection, keep accepting.
    Quit,
    /// `Q`: end this connection and stop the server.
    Shutdown,
    /// `r`: renegotiate (TLS 1.2 and below).
    Renegotiate,
    /// `R`: renegotiate and request a client certificate (TLS 1.2 and below).
    RenegotiateWithCert,
    /// `P`: write some plaintext straight into the transport, which the peer must reject.
    PlaintextProbe,
    /// `S`: print the session-cache statistics.
    Stats,
    /// `k`: send a TLS 1.3 KeyUpdate.
    KeyUpdate,
    /// `K`: send a TLS 1.3 KeyUpdate and ask the peer to update too.
    KeyUpdateRequested,
    /// `c`: request a client certificate after the handshake (TLS 1.3 post-handshake auth).
    RequestClientCert,
    /// `B`: heartbeat (removed from OpenSSL; reported as unsupported).
    Heartbeat,
}

impl Command {
    /// The console letter of this command.
    pub fn letter(self) -> char {
        match self {
            Command::Quit => 'q',
            Command::Shutdown => 'Q',
            Command::Renegotiate => 'r',
            Command::RenegotiateWithCert => 'R',
            Command::PlaintextProbe => 'P',
            Command::Stats => 'S',
            Command::KeyUpdate => 'k',
            Command::KeyUpdateRequested => 'K',
            Command::RequestClientCert => 'c',
            Command::Heartbeat => 'B',
        }
    }
}

/// How one chunk of console input is to be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleInput<'a> {
    /// Carry out the command; the chunk is not sent.
    Command(Command),
    /// Carry out the command, then send the whole chunk to the peer as well (`P`, `S`).
    CommandThenSend(Command, &'a [u8]),
    /// Plain data for the peer.
    Data(&'a [u8]),
}

/// Classifies one console read the way s_server does (commands enabled, i.e. neither `-quiet`
/// nor `-brief`). An empty chunk is not EOF here: EOF is signalled separately.
pub fn parse_console_chunk(chunk: &[u8]) -> ConsoleInput<'_> {
    let Some(&first) = chunk.first() else {
        return ConsoleInput::Data(chunk);
    };
    let line_end = matches!(chunk.get(1), Some(b'\n') | Some(b'\r'));
    let exact = |c: Command| {
        if line_end {
            ConsoleInput::Command(c)
        } else {
            ConsoleInput::Data(chunk)
        }
    };
    match first {
        b'Q' => ConsoleInput::Command(Command::Shutdown),
        b'q' => ConsoleInput::Command(Command::Quit),
        b'r' => exact(Command::Renegotiate),
        b'R' => exact(Command::RenegotiateWithCert),
        b'k' => exact(Command::KeyUpdate),
        b'K' => exact(Command::KeyUpdateRequested),
        b'c' => exact(Command::RequestClientCert),
        b'B' => exact(Command::Heartbeat),
        b'P' => ConsoleInput::CommandThenSend(Command::PlaintextProbe, chunk),
        b'S' => ConsoleInput::CommandThenSend(Command::Stats, chunk),
        _ => ConsoleInput::Data(chunk),
    }
}

/// `-crlf`: every `\n` becomes `\r\n`. Calls `out` with consecutive pieces, so no allocation.
pub fn expand_crlf(data: &[u8], mut out: impl FnMut(&[u8])) {
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            out(&data[start..i]);
            out(b"\r\n");
            start = i + 1;
        }
    }
    out(&data[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn first_byte_commands() {
        assert_eq!(parse_console_chunk(b"Q\n"), ConsoleInput::Command(Command::Shutdown));
        assert_eq!(
            parse_console_chunk(b"Quit now\n"),
            ConsoleInput::Command(Command::Shutdown)
        );
        assert_eq!(parse_console_chunk(b"quiet"), ConsoleInput::Command(Command::Quit));
        assert_eq!(parse_console_chunk(b"k\n"), ConsoleInput::Command(Command::KeyUpdate));
        assert_eq!(
            parse_console_chunk(b"K\r\n"),
            ConsoleInput::Command(Command::KeyUpdateRequested)
        );
        assert_eq!(parse_console_chunk(b"keep\n"), ConsoleInput::Data(b"keep\n"));
        assert_eq!(parse_console_chunk(b"r"), ConsoleInput::Data(b"r"));
        assert_eq!(
            parse_console_chunk(b"Please\n"),
            ConsoleInput::CommandThenSend(Command::PlaintextProbe, b"Please\n")
        );
        assert_eq!(
            parse_console_chunk(b"S\n"),
            ConsoleInput::CommandThenSend(Command::Stats, b"S\n")
        );
        assert_eq!(parse_console_chunk(b"hello\n"), ConsoleInput::Data(b"hello\n"));
    }

    #[test]
    fn crlf_expansion() {
        let mut out = Vec::new();
        expand_crlf(b"a\nb\n\nc", |p| out.extend_from_slice(p));
        assert_eq!(out, b"a\r\nb\r\n\r\nc");
    }
}
