//! The `-WWW`/`-HTTP` file lookup. The engine already refused `..`, `:` and absolute paths
//! lexically (as s_server does); here we also refuse symlinks that lead out of the served root,
//! which s_server follows.

use std::fs::File;
use std::io::{self, Read};
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

/// Reads the next piece of a file being served (at most `size` bytes; empty at the end).
pub fn read_piece(file: &mut File, size: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; size];
    loop {
        match file.read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
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
