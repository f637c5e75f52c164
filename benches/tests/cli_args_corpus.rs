//! Replays the committed `fuzz/corpus/cli_args` through the same checks as the `cli_args` fuzz
//! target (`fuzz/src/cli_checks.rs`). It lives here because the engine's tests cannot depend on
//! the `sserve` package.

#[path = "../../fuzz/src/cli_checks.rs"]
mod cli_checks;

use std::path::Path;

#[test]
fn cli_args_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/cli_args");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for p in files {
        let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if let Err(panic) = std::panic::catch_unwind(|| cli_checks::check_cli_args(&data)) {
            eprintln!("corpus file {} fails", p.display());
            std::panic::resume_unwind(panic);
        }
    }
}
