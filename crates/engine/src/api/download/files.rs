//! Where downloads land: names that can neither leave the folder nor be shared by two jobs,
//! `.part` files opened without following links and only when they are plainly ours, and a
//! final move that never replaces anything.

use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{ApiError, DownloadObserver};

/// The file extension for a MIME type, from a fixed allow-list; never taken from the server's
/// file names. Unknown types get `bin`.
pub fn extension_for_mime(mime: Option<&str>) -> &'static str {
    match super::verify::essence(mime.unwrap_or("")).as_str() {
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "audio/mpeg" => "mp3",
        "audio/wav" | "audio/x-wav" => "wav",
        _ => "bin",
    }
}

/// `<final name>.<hash of the asset id>.part`: named for the asset as well, so that a part
/// left by one asset is never resumed by another that later gets the same final name.
pub fn part_path(target: &Path, asset_id: &str) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.part", short_hash(asset_id)));
    target.with_file_name(name)
}

/// Eight hex digits of the SHA-256 of `text`.
fn short_hash(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn candidate(dir: &Path, stem: &str, ext: &str, n: u32) -> PathBuf {
    if n == 0 {
        dir.join(format!("{stem}.{ext}"))
    } else {
        dir.join(format!("{stem}_{n}.{ext}"))
    }
}

/// Whether anything at all is at `path`, a dangling link included.
fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The first `<stem>[_n].<ext>` with nothing at that name.
pub(super) fn free_name(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    (0..10_000)
        .map(|n| candidate(dir, stem, ext, n))
        .find(|p| !taken(p))
        .unwrap_or_else(|| candidate(dir, stem, ext, 0))
}

fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why an existing file is not one this download may write into, if it is not.
fn foreign(meta: &std::fs::Metadata) -> Option<String> {
    if meta.file_type().is_symlink() {
        return Some("is a symbolic link".into());
    }
    if !meta.file_type().is_file() {
        return Some("is not a regular file".into());
    }
    if meta.uid() != my_uid() {
        return Some(format!("belongs to another user (uid {})", meta.uid()));
    }
    if meta.nlink() > 1 {
        return Some("has other hard links, so writing it would change another file".into());
    }
    None
}

/// Opens (or creates) a `.part` for writing without following a link, and only when it is a
/// regular file of this user with no other name: a planted link or another user's file is
/// refused, never written through. The file is locked for as long as it stays open, so two
/// processes never write one part.
pub(super) fn open_part(path: &Path) -> Result<std::fs::File, ApiError> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // O_NONBLOCK: a planted FIFO must not hang the open; it is refused just below.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .mode(0o644)
        .open(path);
    let refuse = |why: &str| ApiError::File {
        path: path.to_path_buf(),
        detail: format!(
            "{why}, not a partial download of kling-tui's; refusing to write through it \
             (remove it to download here)"
        ),
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refuse("is a symbolic link"));
        }
        Err(e) => return Err(file_error(path, &e)),
    };
    let meta = file.metadata().map_err(|e| file_error(path, &e))?;
    if let Some(why) = foreign(&meta) {
        return Err(refuse(&why));
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(ApiError::File {
                path: path.to_path_buf(),
                detail: "another kling-tui process is downloading into it right now".into(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(file_error(path, &e)),
    }
    same_file(path, &file)?;
    Ok(file)
}

/// That `path` still names `file` (it may have been swapped while we looked).
fn same_file(path: &Path, file: &std::fs::File) -> Result<(), ApiError> {
    let open = file.metadata().map_err(|e| file_error(path, &e))?;
    let named = std::fs::symlink_metadata(path).map_err(|e| file_error(path, &e))?;
    if named.file_type().is_file() && named.ino() == open.ino() && named.dev() == open.dev() {
        Ok(())
    } else {
        Err(ApiError::File {
            path: path.to_path_buf(),
            detail: "was replaced while being written; refusing to use it".into(),
        })
    }
}

/// Whether `path` is still the file a caller recorded writing: a regular file of this user,
/// not a link, of the recorded size. A leftover `.part` of it from a stop between the move's
/// two steps (the same file under both names) is removed.
pub(super) fn recorded_intact(path: &Path, size: u64, asset_id: &str) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let ours = meta.file_type().is_file() && meta.uid() == my_uid() && meta.len() == size;
    if ours {
        let part = part_path(path, asset_id);
        if let Ok(p) = std::fs::symlink_metadata(&part)
            && p.file_type().is_file()
            && p.ino() == meta.ino()
            && p.dev() == meta.dev()
        {
            let _ = std::fs::remove_file(&part);
        }
    }
    ours
}

/// Gives the finished `.part` (open as `file`) the first free name, telling the observer
/// before each try and going on only once it has recorded the name. The new name is made
/// with a call that fails rather than replace anything, so nothing is ever overwritten.
pub(super) async fn place(
    part: &Path,
    file: &std::fs::File,
    to: (&Path, &str, &str),
    size: u64,
    observer: &mut dyn DownloadObserver,
) -> Result<PathBuf, ApiError> {
    let (dir, stem, ext) = to;
    for n in 0..10_000 {
        let target = candidate(dir, stem, ext, n);
        if taken(&target) {
            continue;
        }
        if let Err(why) = observer.placing(&target, size).await {
            return Err(ApiError::File {
                path: part.to_path_buf(),
                detail: format!(
                    "verified, but not given its name: {why}; kept for the next run to finish"
                ),
            });
        }
        match link_no_replace(file, part, &target) {
            Ok(()) => {
                tokio::fs::remove_file(part)
                    .await
                    .map_err(|e| file_error(part, &e))?;
                return Ok(target);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(file_error(&target, &e)),
        }
    }
    Err(file_error(
        dir,
        &std::io::Error::other("no free file name left"),
    ))
}

/// Gives the open file the new name `target`, failing if anything is there: a hard link of the
/// open file itself where the system allows it (nothing can swap the part in between), else
/// of the part by name once checked to still be the file; where hard links do not exist, a
/// rename that refuses to replace.
fn link_no_replace(file: &std::fs::File, part: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        let to = std::ffi::CString::new(target.as_os_str().as_bytes())?;
        // SAFETY: both are valid NUL-terminated paths that outlive the call.
        let rc = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        // Without /proc (ENOENT), or where linking is not allowed, try the ways below.
        if !matches!(
            err.raw_os_error(),
            Some(libc::ENOENT | libc::EPERM | libc::EXDEV | libc::ENOTSUP)
        ) {
            return Err(err);
        }
    }
    same_file(part, file).map_err(|e| std::io::Error::other(e.to_string()))?;
    match std::fs::hard_link(part, target) {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => rename_no_replace(part, target),
        other => other,
    }
}

#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere: a plain rename, having checked the name is free (a narrow race remains).
#[cfg(not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))))]
fn rename_no_replace(from: &Path, to: &Path) -> std::io::Result<()> {
    if taken(to) {
        return Err(ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

pub(super) async fn sync_dir(dir: &Path) {
    // Makes the move durable; harmless where directories cannot be opened.
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}

pub(crate) fn file_error(path: &Path, err: &std::io::Error) -> ApiError {
    let path = path.to_path_buf();
    match err.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => ApiError::LocalResource {
            path,
            detail: "no space left on device (the partial file is kept; tried again by itself)"
                .into(),
        },
        Some(libc::EMFILE | libc::ENFILE) => ApiError::LocalResource {
            path,
            detail: format!("{err} (tried again by itself)"),
        },
        _ => ApiError::File {
            path,
            detail: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_full_disk_or_no_file_descriptors_is_a_local_resource_that_passes() {
        let path = Path::new("/videos/job_1.mp4");
        for errno in [libc::ENOSPC, libc::EDQUOT, libc::EMFILE, libc::ENFILE] {
            let err = file_error(path, &std::io::Error::from_raw_os_error(errno));
            assert!(
                matches!(err, ApiError::LocalResource { .. }),
                "{errno}: {err:?}"
            );
            assert!(err.to_string().contains("tried again by itself"), "{err}");
        }
        let err = file_error(path, &std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(matches!(err, ApiError::File { .. }), "{err:?}");
    }

    use super::*;

    #[test]
    fn extensions_come_from_the_allow_list() {
        assert_eq!(extension_for_mime(Some("video/mp4")), "mp4");
        assert_eq!(extension_for_mime(Some("Video/MP4; codecs=avc1")), "mp4");
        assert_eq!(extension_for_mime(Some("application/x-sh")), "bin");
        assert_eq!(extension_for_mime(None), "bin");
    }

    #[test]
    fn names_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let first = free_name(dir.path(), "job_1", "mp4");
        assert_eq!(first.file_name().unwrap(), "job_1.mp4");
        std::fs::write(&first, b"x").unwrap();
        let second = free_name(dir.path(), "job_1", "mp4");
        assert_eq!(second.file_name().unwrap(), "job_1_1.mp4");
        let part = part_path(&second, "asset_a");
        let part_name = part.file_name().unwrap().to_string_lossy().into_owned();
        assert!(part_name.starts_with("job_1_1.mp4.") && part_name.ends_with(".part"));
        assert_ne!(part, part_path(&second, "asset_b"), "one part per asset");
        // A dangling link takes its name too.
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &second).unwrap();
        let third = free_name(dir.path(), "job_1", "mp4");
        assert_eq!(third.file_name().unwrap(), "job_1_2.mp4");
    }

    #[test]
    fn parts_that_are_not_plainly_ours_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"keep me").unwrap();
        let link = dir.path().join("a.mp4.part");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = open_part(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let hard = dir.path().join("b.mp4.part");
        std::fs::hard_link(&victim, &hard).unwrap();
        let err = open_part(&hard).unwrap_err().to_string();
        assert!(err.contains("hard links"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let ours = dir.path().join("c.mp4.part");
        let held = open_part(&ours).unwrap();
        let err = open_part(&ours).unwrap_err().to_string();
        assert!(err.contains("another kling-tui process"), "{err}");
        drop(held);
        assert!(open_part(&ours).is_ok(), "free again once closed");
    }
}
