//! Whether systemd-logind will end the engine at logout: with `KillUserProcesses=yes` and no
//! lingering for the user, every process of the user goes when the last session closes, the
//! detached engine included.

use std::path::Path;

/// A warning for `engine status`, when logind is running, kills user processes at logout,
/// and the user does not linger. `None` when the engine is safe (or logind is not in use).
pub fn linger_warning() -> Option<String> {
    if !Path::new("/run/systemd/system").exists() {
        return None;
    }
    let mut texts = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/etc/systemd/logind.conf") {
        texts.push(text);
    }
    if let Ok(entries) = std::fs::read_dir("/etc/systemd/logind.conf.d") {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        texts.extend(files.iter().filter_map(|f| std::fs::read_to_string(f).ok()));
    }
    let user = std::env::var("USER").ok()?;
    let lingers = Path::new("/var/lib/systemd/linger").join(&user).exists();
    warning(&texts, lingers, &user)
}

/// The decision, apart from the machine: `confs` in the order logind reads them.
fn warning(confs: &[String], lingers: bool, user: &str) -> Option<String> {
    let kills = kill_user_processes(confs)?;
    (kills && !lingers).then(|| {
        format!(
            "systemd-logind ends your processes at logout (KillUserProcesses=yes) and {user} \
             does not linger: the engine stops when your last session closes. To keep it \
             working after you log out: loginctl enable-linger {user}"
        )
    })
}

/// The last `KillUserProcesses=` in the `[Login]` sections; `None` when none sets it (the
/// distribution's default, which Debian and most others build as "no").
fn kill_user_processes(confs: &[String]) -> Option<bool> {
    let mut found = None;
    for text in confs {
        let mut in_login = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_login = line == "[Login]";
            } else if in_login && let Some(value) = line.strip_prefix("KillUserProcesses=") {
                found = Some(matches!(
                    value.trim().to_ascii_lowercase().as_str(),
                    "yes" | "true" | "1" | "on"
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn told_only_when_logind_kills_and_the_user_does_not_linger() {
        let kills = ["[Login]\nKillUserProcesses=yes\n".to_string()];
        let message = warning(&kills, false, "ana").unwrap();
        assert!(message.contains("loginctl enable-linger ana"), "{message}");
        assert!(warning(&kills, true, "ana").is_none());
        let keeps = ["[Login]\n#KillUserProcesses=yes\n".to_string()];
        assert!(warning(&keeps, false, "ana").is_none());
        // A drop-in read later wins.
        let both = [
            kills[0].clone(),
            "[Login]\nKillUserProcesses=no\n".to_string(),
        ];
        assert!(warning(&both, false, "ana").is_none());
        let elsewhere = ["[Other]\nKillUserProcesses=yes\n".to_string()];
        assert!(warning(&elsewhere, false, "ana").is_none());
    }
}
