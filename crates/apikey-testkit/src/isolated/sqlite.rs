//! A SQLite database file per test, removed with its journal files afterwards.

use std::path::{Path, PathBuf};

use super::unique_name;

/// A path for a new database file in the temp directory (`apikey_test_….sqlite3`), not yet
/// created.
pub fn sqlite_temp_path() -> PathBuf {
    std::env::temp_dir().join(format!("{}.sqlite3", unique_name()))
}

/// Removes the database file at `path` and the `-wal` and `-shm` files WAL mode leaves beside
/// it; a file already gone is not an error.
pub fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
