//! The `-WWW`/`-HTTP` file lookup. The engine already refused `..`, `:` and absolute paths
//! lexically (as s_server does); here we also refuse symlinks that lead out of the served root,
//! which s_server follows.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use sserve_engine::FileError;

/// The directory files are served from (s_server: the current directory).
#[derive(Debug, Clone)]
pub struct FileRoot {
    root: PathBuf,
}

impl FileRoot {
    /// Serves files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        Ok(FileRoot {
            root: root.into().canonicalize()?,
        })
    }

    /// Opens `path` (relative, checked by the engine) for reading.
    pub fn open(&self, path: &str) -> Result<File, FileError> {
        if path.is_empty() {
            // s_server: `GET / ` asks fopen("") which fails with ENOENT.
            return Err(FileError::Open("No such file or directory".into()));
        }
        let full = self.root.join(path);
        let real = full.canonicalize().map_err(|e| FileError::Open(os_text(&e)))?;
        if !real.starts_with(&self.root) {
            return Err(FileError::Open(
                "Permission denied (outside the served directory)".into(),
            ));
        }
        if real.is_dir() {
            return Err(FileError::IsDirectory);
        }
        File::open(&real).map_err(|e| FileError::Open(os_text(&e)))
    }

    /// The served directory.
    pub fn path(&self) -> &Path {
        &self.root
    }
}

/// Opens a requested file under `root`, or refuses when file serving is off.
pub fn open_requested(root: Option<&FileRoot>, path: &str) -> Result<File, FileError> {
    match root {
        Some(root) => root.open(path),
        None => Err(FileError::Open("file serving is off".into())),
    }
}

/// Reads the next piece of a file being served: `size` bytes, fewer only at the end of the file
/// (empty there). The buffer is not zero-filled first, and a small file gets a small buffer.
pub fn read_piece(file: &mut File, size: usize) -> io::Result<Vec<u8>> {
    // Most files a test server serves are far smaller than a piece: size the buffer by what is
    // left (one more byte, so a file that grew still reads as "not at the end").
    let left = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .and_then(|m| Some(m.len().checked_sub(file.stream_position().ok()?)? + 1))
        .map_or(size, |l| usize::try_from(l).unwrap_or(size).min(size));
    let mut buf = Vec::with_capacity(left);
    file.take(size as u64).read_to_end(&mut buf)?;
    Ok(buf)
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

    #[test]
    fn confines_to_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        let r = FileRoot::new(&root).unwrap();
        assert!(r.open("a.txt").is_ok());
        assert_eq!(r.open("sub").unwrap_err(), FileError::IsDirectory);
        assert_eq!(
            r.open("missing").unwrap_err(),
            FileError::Open("No such file or directory".into())
        );
        assert_eq!(
            r.open("").unwrap_err(),
            FileError::Open("No such file or directory".into())
        );
        #[cfg(unix)]
        assert!(matches!(r.open("link").unwrap_err(), FileError::Open(m) if m.contains("outside")));
    }
}
