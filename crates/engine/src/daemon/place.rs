//! Where an engine is found: a lock file in the ledger folder, held by the engine for its whole
//! life, that names its pid, version, protocol and socket; the socket itself in a private
//! folder under /tmp (not `$XDG_RUNTIME_DIR`, which logind empties at logout).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DaemonError;

/// Overrides the socket folder (it must still be the user's own, mode 0700).
pub const SOCKET_DIR_VAR: &str = "KLING_TUI_SOCKET_DIR";
/// In the ledger folder: held by the running engine, naming it.
pub(super) const LOCK_FILE: &str = "engine.lock";
/// In the ledger folder: held by a client while it starts an engine.
pub(super) const START_LOCK_FILE: &str = "engine-start.lock";

/// What the engine's lock file says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineInfo {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub socket: PathBuf,
    pub started_at: String,
    pub log: PathBuf,
}

pub(super) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The folder for engine sockets: `$KLING_TUI_SOCKET_DIR`, else `/tmp/kling-tui-<uid>`.
pub fn socket_dir() -> PathBuf {
    match std::env::var_os(SOCKET_DIR_VAR) {
        // Absolute: the engine does not share the client's working folder.
        Some(dir) if !dir.is_empty() => {
            std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir))
        }
        _ => PathBuf::from(format!("/tmp/kling-tui-{}", euid())),
    }
}

/// Makes the folder (0700) if it is missing, then checks what is there with `lstat`: a real
/// folder (not a link), owned by this user, closed to everyone else. Anything else is refused:
/// another user could read or replace the socket.
pub fn check_private_dir(dir: &Path) -> Result<(), DaemonError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let made = std::fs::DirBuilder::new().mode(0o700).create(dir);
            if let Err(e) = made
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(DaemonError::io(
                    format!("cannot make the socket folder {}", dir.display()),
                    e,
                ));
            }
        }
        Err(e) => {
            return Err(DaemonError::io(
                format!("cannot read the socket folder {}", dir.display()),
                e,
            ));
        }
        Ok(_) => {}
    }
    // Checked after making it too: someone may have made it first.
    let meta = std::fs::symlink_metadata(dir).map_err(|e| {
        DaemonError::io(
            format!("cannot read the socket folder {}", dir.display()),
            e,
        )
    })?;
    // Setting the variable comes first: in a shared /tmp (sticky) a folder another user made
    // cannot be removed by the one it stands in the way of.
    let refuse = |rule: String| {
        Err(DaemonError::Unsafe(format!(
            "the socket folder {} {rule}: refused (it must be a folder of yours with mode 0700; \
             set {SOCKET_DIR_VAR} to a folder of yours, e.g. {SOCKET_DIR_VAR}=$HOME/.kling-tui-run, \
             or remove it if it is yours to remove)",
            dir.display()
        )))
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symbolic link".into());
    }
    if !meta.is_dir() {
        return refuse("is not a folder".into());
    }
    if meta.uid() != euid() {
        return refuse(format!(
            "belongs to uid {}, not to you (uid {})",
            meta.uid(),
            euid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return refuse(format!("is open to others (mode {mode:04o})"));
    }
    Ok(())
}

/// The socket of the engine for `ledger_dir`: a short hash of the folder, so the path stays
/// well under the 104 bytes a socket address may hold.
pub(super) fn socket_path(dir: &Path, ledger_dir: &Path) -> PathBuf {
    // FNV-1a: stable across builds, so every version finds the same name.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ledger_dir.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    dir.join(format!("engine-{hash:016x}.sock"))
}

/// The lock an engine holds for its whole life, taken without waiting; `None` when another
/// process holds it.
pub(super) fn take_engine_lock(ledger_dir: &Path) -> Result<Option<File>, DaemonError> {
    let path = ledger_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| DaemonError::io(path.display(), e))?;
    match file.try_lock() {
        Ok(()) => {
            // What a dead engine wrote there no longer names anything.
            file.set_len(0)
                .map_err(|e| DaemonError::io(path.display(), e))?;
            Ok(Some(file))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(DaemonError::io(path.display(), e)),
    }
}

/// Writes what the engine is into its held lock file.
pub(super) fn write_info(lock: &mut File, info: &EngineInfo) -> std::io::Result<()> {
    let text = serde_json::to_string(info).map_err(std::io::Error::other)?;
    lock.set_len(0)?;
    lock.rewind()?;
    lock.write_all(text.as_bytes())?;
    lock.sync_all()
}

/// The running engine of `ledger_dir`, if one holds its lock. `Ok(None)` when none does; an
/// engine still writing its lock reads as running with no info yet (`Some(None)`).
pub fn read_info(ledger_dir: &Path) -> Result<Option<Option<EngineInfo>>, DaemonError> {
    let path = ledger_dir.join(LOCK_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DaemonError::io(path.display(), e)),
    };
    match file.try_lock_shared() {
        // Nobody holds it: no engine, whatever the file still says.
        Ok(()) => return Ok(None),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(DaemonError::io(path.display(), e)),
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| DaemonError::io(path.display(), e))?;
    Ok(Some(serde_json::from_str(&text).ok()))
}

/// Whether an engine holds the ledger folder's lock.
pub(super) fn engine_alive(ledger_dir: &Path) -> bool {
    matches!(read_info(ledger_dir), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_folder_is_made_and_kept() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("sockets");
        check_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        check_private_dir(&dir).unwrap();
    }

    #[test]
    fn open_folders_links_and_files_are_refused() {
        let base = tempfile::tempdir().unwrap();
        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check_private_dir(&open).unwrap_err().to_string();
        assert!(err.contains("is open to others (mode 0755)"), "{err}");

        let private = base.path().join("private");
        check_private_dir(&private).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&private, &link).unwrap();
        let err = check_private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");

        let file = base.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = check_private_dir(&file).unwrap_err().to_string();
        assert!(err.contains("is not a folder"), "{err}");
    }

    #[test]
    fn socket_names_are_short_and_per_ledger() {
        let dir = Path::new("/tmp/kling-tui-1000");
        let long = PathBuf::from("/home/someone/".to_string() + &"x".repeat(300));
        let a = socket_path(dir, &long);
        let b = socket_path(dir, Path::new("/home/someone/other"));
        assert_ne!(a, b);
        assert!(a.as_os_str().len() < 104, "{}", a.display());
        assert_eq!(a, socket_path(dir, &long));
    }

    #[test]
    fn the_lock_names_the_engine_while_held() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_info(dir.path()).unwrap(), None);
        let mut lock = take_engine_lock(dir.path()).unwrap().unwrap();
        assert_eq!(read_info(dir.path()).unwrap(), Some(None));
        let info = EngineInfo {
            pid: 42,
            version: "9.9.9".into(),
            protocol: 7,
            socket: "/tmp/x.sock".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            log: "/tmp/engine.log".into(),
        };
        write_info(&mut lock, &info).unwrap();
        assert_eq!(read_info(dir.path()).unwrap(), Some(Some(info)));
        assert!(take_engine_lock(dir.path()).unwrap().is_none());
        drop(lock);
        assert_eq!(read_info(dir.path()).unwrap(), None);
    }
}
