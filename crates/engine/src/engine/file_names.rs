//! What the engine names a job's files: the API's download writes where it is told and names
//! nothing of jobs.

use sha2::Digest;

/// `<jobId>_<n>`, with only `[A-Za-z0-9_-]` kept from the job id so that no id can name a
/// path outside the download folder. When that filter (or the length limit) changed the id,
/// `.<hash of the real id>` follows it: `.` never survives the filter, so such a name cannot
/// equal the name of an id that passed unchanged, and two changed ids differ by their hash.
pub fn job_file_stem(job_id: &str, n: usize) -> String {
    let safe: String = job_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(100)
        .collect();
    if safe == job_id {
        return format!("{safe}_{n}");
    }
    let hash = short_hash(job_id);
    let base = if safe.is_empty() {
        "job"
    } else {
        safe.as_str()
    };
    format!("{base}.{hash}_{n}")
}

/// Eight hex digits of the SHA-256 of `text`.
fn short_hash(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_cannot_escape_the_folder_or_collide() {
        assert_eq!(job_file_stem("job_abc", 1), "job_abc_1");
        let dotted = job_file_stem("job_a.bc", 1);
        assert!(
            dotted.starts_with("job_abc.") && dotted.ends_with("_1"),
            "{dotted}"
        );
        assert_ne!(dotted, job_file_stem("job_ab.c", 1));
        assert_ne!(dotted, job_file_stem("job_abc", 1));
        let escaped = job_file_stem("../../etc/passwd", 2);
        assert!(
            escaped.starts_with("etcpasswd.") && !escaped.contains('/'),
            "{escaped}"
        );
        assert!(job_file_stem("/..", 1).starts_with("job."));
        // Cut at 100 characters: the rest still tells two long ids apart.
        let long_a = format!("{}a", "x".repeat(120));
        let long_b = format!("{}b", "x".repeat(120));
        assert_ne!(job_file_stem(&long_a, 1), job_file_stem(&long_b, 1));
    }
}
