//! The `-WWW`/`-HTTP` file lookup. The engine already refused `..`, `:` and absolute paths
//! lexically (as s_server does); here the lookup is also confined to the served root (s_server
//! follows symlinks out of it), and nothing but a regular file or a directory is opened:
//!
//! - On Linux the path is resolved by the kernel beneath the root's descriptor
//!   (`openat2(RESOLVE_BENEATH)`): no `realpath` walk and no race between checking and opening.
//!   Elsewhere (or on kernels before 5.6) the path is canonicalised and checked first.
//! - A path that leads out of the root answers exactly as a missing file does, so a client
//!   cannot learn which files exist outside it.
//! - Files are opened non-blocking and checked with `fstat` before any read: a FIFO, device or
//!   socket is refused at once, as a missing file, instead of blocking a serving thread.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sserve_engine::FileError;

/// The answer for a file that is not there, or that may not be shown (s_server's wording is
/// the system's `ENOENT` text).
const NOT_FOUND: &str = "No such file or directory";

/// The directory files are served from (s_server: the current directory).
#[derive(Debug)]
pub struct FileRoot {
    root: PathBuf,
    /// The root directory itself, what `openat2` resolves beneath.
    #[cfg(target_os = "linux")]
    dir: std::os::fd::OwnedFd,
}

impl FileRoot {
    /// Serves files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into().canonicalize()?;
        #[cfg(target_os = "linux")]
        let dir = {
            use rustix::fs::{Mode, OFlags};
            rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?
        };
        Ok(FileRoot {
            root,
            #[cfg(target_os = "linux")]
            dir,
        })
    }

    /// Opens `path` (relative, checked by the engine) for reading: a regular file, or
    /// [`FileError::IsDirectory`]; anything else, and anything outside the root, is "not found".
    pub fn open(&self, path: &str) -> Result<ServedFile, FileError> {
        if path.is_empty() {
            // s_server: `GET / ` asks fopen("") which fails with ENOENT.
            return Err(not_found());
        }
        regular(self.open_confined(path)?)
    }

    #[cfg(target_os = "linux")]
    fn open_confined(&self, path: &str) -> Result<File, FileError> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let how = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&self.dir, path, flags, Mode::empty(), how) {
            Ok(fd) => Ok(File::from(fd)),
            // Resolution left the root (a symlink leading out, or an absolute one); or the
            // path is a socket, which cannot be opened at all.
            Err(rustix::io::Errno::XDEV | rustix::io::Errno::NXIO) => Err(not_found()),
            // A kernel without openat2 (before 5.6), or a sandbox that filters it.
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => self.open_checked(path),
            Err(e) => Err(FileError::Open(os_text(&e.into()))),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn open_confined(&self, path: &str) -> Result<File, FileError> {
        self.open_checked(path)
    }

    /// The portable way: canonicalise, check the prefix, then open (racy against a concurrent
    /// rename, which `openat2` is not).
    fn open_checked(&self, path: &str) -> Result<File, FileError> {
        let real = self
            .root
            .join(path)
            .canonicalize()
            .map_err(|e| FileError::Open(os_text(&e)))?;
        if !real.starts_with(&self.root) {
            return Err(not_found());
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
        }
        options.open(&real).map_err(|e| {
            // A socket cannot be opened: answer as for anything else that is not a file.
            #[cfg(unix)]
            if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) {
                return not_found();
            }
            FileError::Open(os_text(&e))
        })
    }

    /// The served directory.
    pub fn path(&self) -> &Path {
        &self.root
    }
}

/// `file` if it is a regular file; a directory or anything else (FIFO, device, socket) is
/// refused before a read could block on it.
fn regular(file: File) -> Result<ServedFile, FileError> {
    let meta = file.metadata().map_err(|e| FileError::Open(os_text(&e)))?;
    if meta.is_dir() {
        Err(FileError::IsDirectory)
    } else if meta.is_file() {
        Ok(ServedFile {
            file,
            len: meta.len(),
            pos: 0,
        })
    } else {
        Err(not_found())
    }
}

fn not_found() -> FileError {
    FileError::Open(NOT_FOUND.into())
}

/// Opens a requested file under `root`, or refuses when file serving is off.
pub fn open_requested(root: Option<&FileRoot>, path: &str) -> Result<ServedFile, FileError> {
    match root {
        Some(root) => root.open(path),
        None => Err(FileError::Open("file serving is off".into())),
    }
}

/// A file being served, read front to back in pieces at an offset of its own: its length comes
/// from the one `fstat` made when it was opened, so a piece costs one read and no `lseek`.
#[derive(Debug)]
pub struct ServedFile {
    file: File,
    /// The length when opened.
    len: u64,
    /// How much has been read.
    pos: u64,
}

impl ServedFile {
    /// The length the file had when it was opened.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Steps back `n` bytes, so that data read but not used is read again by the next piece.
    pub(crate) fn unread(&mut self, n: u64) {
        self.pos = self.pos.saturating_sub(n);
    }

    /// How many bytes a piece of `size` should ask for: one more than is left (so that reaching
    /// the end is seen as a short piece, and a file that grew still reads as "not at the end"),
    /// at most `size`. Most files a test server serves are far smaller than a piece, so the
    /// buffer is sized by this rather than by `size`.
    fn want(&self, size: usize) -> usize {
        usize::try_from(self.len.saturating_sub(self.pos).saturating_add(1)).map_or(size, |l| l.min(size))
    }

    /// Reads the next piece: `size` bytes, fewer only at the end of the file (empty there). The
    /// buffer is not zero-filled first. May wait for the disk: call it off the event loop.
    pub fn read_piece(&mut self, size: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.want(size).max(1));
        while buf.len() < size {
            if buf.len() == buf.capacity() {
                // The file grew since it was opened: read on, up to `size`.
                buf.reserve((size - buf.len()).min(64 * 1024));
            }
            let (before, asked) = (buf.len(), buf.capacity() - buf.len());
            match rustix::io::pread(&self.file, rustix::buffer::spare_capacity(&mut buf), self.pos) {
                Ok(0) => break,
                Ok(n) => {
                    // The spare capacity may exceed what `size` asks for: keep the piece exact
                    // (what is cut off is read again next time).
                    buf.truncate(size);
                    self.pos += (buf.len() - before) as u64;
                    // Short, and as long as the file was when opened: the end, without one
                    // more read to see it return nothing.
                    if n < asked && self.pos >= self.len {
                        break;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(buf)
    }

    /// The next piece, as [`read_piece`](Self::read_piece) reads it, into `buf`, but only if
    /// the page cache holds all of it (`preadv2(RWF_NOWAIT)`): it never waits for the disk, so
    /// an event loop may call it. `buf`'s allocation is reused and only what it grows by is
    /// zero-filled (a fresh zeroed chunk cost a `memset` of 128 KiB per read, 2 % of a
    /// download's CPU). `None` when it would have to wait, or cannot tell (not Linux, an old
    /// kernel): then read the piece with `read_piece` on a blocking pool.
    pub fn read_piece_cached(&mut self, size: usize, buf: &mut Vec<u8>) -> Option<io::Result<()>> {
        #[cfg(target_os = "linux")]
        {
            use rustix::io::ReadWriteFlags;
            let want = self.want(size);
            buf.resize(want, 0);
            // A partial read changes nothing: the blocking read starts from the same place.
            let n = rustix::io::preadv2(
                &self.file,
                &mut [io::IoSliceMut::new(buf)],
                self.pos,
                ReadWriteFlags::NOWAIT,
            )
            .ok()?;
            let left = self.len.saturating_sub(self.pos);
            if n != want && n as u64 != left {
                return None;
            }
            self.pos += n as u64;
            buf.truncate(n);
            Some(Ok(()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (size, buf);
            None
        }
    }
}

/// A file's data read in large chunks (one system call each) and handed out in smaller pieces.
/// What is not handed out yet can be given back ([`ReadAhead::release`]): it stays in the
/// page cache and is read again later, so a connection that waits holds none of it.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead {
    buf: Vec<u8>,
    at: usize,
}

impl ReadAhead {
    /// True while a piece is left of the last chunk.
    pub(crate) fn has_piece(&self) -> bool {
        self.at < self.buf.len()
    }

    /// The chunk's buffer, once every piece of it was handed out, for the next read to reuse
    /// (empty otherwise, or when there is none).
    pub(crate) fn spent(&mut self) -> Vec<u8> {
        if self.has_piece() {
            return Vec::new();
        }
        self.at = 0;
        std::mem::take(&mut self.buf)
    }

    /// Makes `chunk`, just read, the one pieces come from.
    pub(crate) fn set(&mut self, chunk: Vec<u8>) {
        self.buf = chunk;
        self.at = 0;
    }

    /// The next piece of at most `size` bytes (empty once the chunk is used up).
    pub(crate) fn piece(&mut self, size: usize) -> &[u8] {
        let start = self.at;
        self.at = (start + size).min(self.buf.len());
        &self.buf[start..self.at]
    }

    /// Frees the chunk; what was not handed out is read again from `file`.
    pub(crate) fn release(&mut self, file: Option<&mut ServedFile>) {
        if let Some(f) = file {
            f.unread((self.buf.len() - self.at) as u64);
        }
        *self = ReadAhead::default();
    }
}

/// The system's text for an I/O error, without Rust's ` (os error N)` suffix.
fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> FileError {
        FileError::Open(NOT_FOUND.into())
    }

    #[test]
    fn confines_to_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/b.txt"), b"y").unwrap();
        let r = FileRoot::new(&root).unwrap();
        assert!(r.open("a.txt").is_ok());
        assert!(r.open("sub/b.txt").is_ok());
        assert_eq!(r.open("sub").unwrap_err(), FileError::IsDirectory);
        assert_eq!(r.open("missing").unwrap_err(), missing());
        assert_eq!(r.open("").unwrap_err(), missing());
    }

    #[cfg(unix)]
    #[test]
    fn outward_symlinks_answer_as_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::fs::write(root.join("inside.txt"), b"i").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink("inside.txt", root.join("rel")).unwrap();
        let r = FileRoot::new(&root).unwrap();
        assert_eq!(r.open("link").unwrap_err(), missing());
        // An existing and a missing file behind an outward directory link look the same.
        assert_eq!(r.open("up/secret").unwrap_err(), missing());
        assert_eq!(r.open("up/nothing-here").unwrap_err(), missing());
        // A link that stays inside is followed.
        assert!(r.open("rel").is_ok());
        assert_eq!(r.open_checked("up/secret").unwrap_err(), missing());
        assert_eq!(r.open_checked("up/nothing-here").unwrap_err(), missing());
    }

    #[test]
    fn cached_pieces_match_blocking_reads() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        let r = FileRoot::new(dir.path()).unwrap();
        let mut f = r.open("f").unwrap();
        assert_eq!(f.size(), data.len() as u64);
        let mut got = Vec::new();
        // One buffer for every read, holding the previous piece's bytes when it is reused.
        let mut reused = vec![0xAA; 7];
        loop {
            // Just written, so in the page cache: the non-waiting read succeeds on Linux.
            let piece = match f.read_piece_cached(128 * 1024, &mut reused) {
                Some(r) => {
                    r.unwrap();
                    reused.clone()
                }
                None if cfg!(target_os = "linux") => panic!("a cached file could not be read without waiting"),
                None => f.read_piece(128 * 1024).unwrap(),
            };
            got.extend_from_slice(&piece);
            if piece.len() < 128 * 1024 {
                break;
            }
        }
        assert_eq!(got, data);
    }

    #[test]
    fn released_read_ahead_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        let mut f = FileRoot::new(dir.path()).unwrap().open("f").unwrap();
        let mut ahead = ReadAhead::default();
        let mut got = Vec::new();
        let mut turn = 0;
        loop {
            if !ahead.has_piece() {
                ahead.set(f.read_piece(3 * 16_384).unwrap());
            }
            let piece = ahead.piece(16_384).to_vec();
            got.extend_from_slice(&piece);
            turn += 1;
            // Give the rest back every third piece, as a connection that must wait does.
            if turn % 3 == 0 {
                ahead.release(Some(&mut f));
                assert!(!ahead.has_piece());
            }
            if piece.len() < 16_384 {
                break;
            }
        }
        assert_eq!(got, data);
    }

    #[test]
    fn only_a_used_up_chunk_is_handed_back_for_reuse() {
        let mut ahead = ReadAhead::default();
        assert!(ahead.spent().is_empty(), "no chunk yet");
        let chunk = vec![7u8; 40];
        let at = chunk.as_ptr();
        ahead.set(chunk);
        assert_eq!(ahead.piece(16).len(), 16);
        assert!(ahead.spent().is_empty(), "pieces are left");
        assert_eq!(ahead.piece(16).len(), 16, "asking did not take the chunk");
        assert_eq!(ahead.piece(16).len(), 8);
        let spent = ahead.spent();
        assert_eq!(spent.as_ptr(), at, "the same allocation comes back");
        assert!(!ahead.has_piece());
        assert!(ahead.spent().is_empty(), "handed back once");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: mkfifo unavailable");
            return;
        }
        let r = FileRoot::new(dir.path()).unwrap();
        // Opening a FIFO for reading blocks until a writer comes, unless opened non-blocking:
        // this returns at once, refused as a missing file.
        assert_eq!(r.open("fifo").unwrap_err(), missing());
        assert_eq!(r.open_checked("fifo").and_then(regular).unwrap_err(), missing());
    }
}
