//! The real binary's listing and help, as a script or a person at a terminal meets them:
//! `jobs` as a table, tab-separated and through `--format`; each command's `--help` with only
//! its flags and the ledger's word; completion scripts with enum values and batch names.

use crate::common::pty::PtyCommand;
use crate::common::*;
use kling_tui::api::types::JobStatus;
use kling_tui::engine::{BatchTag, Ledger, Record};
use predicates::prelude::*;

/// A home whose ledger holds three jobs: #1 `job_7` running (75 CU), #2
/// `job_1234567890abcdef` failed, #3 refused before it had a server id; #1 and #2 of the
/// batches `spring` and `autumn`.
fn home_with_three_jobs() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = ledger_dir(None, home.path());
    std::fs::create_dir_all(&dir).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    let tag = |name: &str| BatchTag {
        name: name.into(),
        index: 0,
        row: 1,
        max_cost: None,
    };
    let jobs = [
        (
            "a red fox in snow",
            Some(("job_7", JobStatus::InProgress)),
            Some("spring"),
        ),
        (
            "a lighthouse in a storm at night, waves breaking over the rocks, seen from a boat",
            Some(("job_1234567890abcdef", JobStatus::Failure)),
            Some("autumn"),
        ),
        ("a cat", None, None),
    ];
    for (n, (prompt, accepted, batch)) in jobs.into_iter().enumerate() {
        let request = kling_tui::kling::KlingRequest::new(prompt);
        let id = ledger
            .record_intent(
                format!("2026-11-2{}T10:00:00Z", n + 1),
                request,
                None,
                batch.map(tag),
            )
            .unwrap();
        let records = match accepted {
            Some((job_id, status)) => {
                let progress = if status == JobStatus::InProgress {
                    0.45
                } else {
                    0.2
                };
                vec![
                    Record::Accepted {
                        local_id: id,
                        job_id: job_id.into(),
                        cost: Some(75.0),
                    },
                    Record::Status {
                        local_id: id,
                        status,
                        progress,
                        asset_ids: vec![],
                        error: None,
                        cost: Some(75.0),
                        hint: None,
                        history: vec![],
                    },
                ]
            }
            None => vec![Record::Rejected {
                local_id: id,
                reason: "HTTP 400".into(),
            }],
        };
        for record in records {
            ledger.append(record, false).unwrap();
        }
    }
    home
}

/// Where each of `words` starts in `line`, in columns, each found after the one before.
fn starts(line: &str, words: &[&str]) -> Vec<usize> {
    let mut from = 0;
    words
        .iter()
        .map(|w| {
            let at = from
                + line[from..]
                    .find(w)
                    .unwrap_or_else(|| panic!("{w:?} not in {line:?}"));
            from = at + w.len();
            at
        })
        .collect()
}

#[test]
fn jobs_on_a_terminal_is_a_table_with_a_header_aligned_columns_and_a_cut_prompt() {
    let home = home_with_three_jobs();
    let mut pty = PtyCommand::app()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TZ", "UTC")
        .arg("jobs")
        .size(100, 10)
        .spawn();
    let screen = pty.wait_for("the table", |s| s.contains("a cat"));
    assert_eq!(pty.wait_exit(), 0, "{screen}");
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 4, "{screen}");
    let header = starts(
        lines[0],
        &["#", "ID", "STATE", "PROGRESS", "MODE", "CREATED", "PROMPT"],
    );
    assert_eq!(header[0], 0, "{screen}");
    let rows = [
        [
            "#1",
            "job_7",
            "in-progress",
            "45%",
            "pro",
            "2026-11-21",
            "a red fox",
        ],
        [
            "#2",
            "job_1234567890abcdef",
            "failure",
            "20%",
            "pro",
            "2026-11-22",
            "a light",
        ],
        ["#3", "-", "rejected", "0%", "pro", "2026-11-23", "a cat"],
    ];
    for (line, words) in lines[1..].iter().zip(rows) {
        assert_eq!(starts(line, &words), header, "{screen}");
    }
    // The long prompt is cut to the 100 columns, and says so.
    assert!(lines[2].trim_end().ends_with('…'), "{screen}");
    assert!(!screen.contains("seen from a boat"), "{screen}");
    assert!(
        lines[1].contains("75 CU") && lines[2].contains("0 CU"),
        "{screen}"
    );

    let mut bare = PtyCommand::app()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .args(["jobs", "--no-header"])
        .size(100, 10)
        .spawn();
    let screen = bare.wait_for("the rows", |s| s.contains("a cat"));
    assert_eq!(bare.wait_exit(), 0);
    assert!(!screen.contains("PROMPT"), "{screen}");
    assert!(screen.trim_start().starts_with("#1"), "{screen}");

    // An empty ledger is said in words, not shown as a lone header.
    let empty = tempfile::tempdir().unwrap();
    let mut none = PtyCommand::app()
        .env("HOME", empty.path())
        .env("XDG_CONFIG_HOME", empty.path().join("config"))
        .env("XDG_DATA_HOME", empty.path().join("data"))
        .env("XDG_STATE_HOME", empty.path().join("state"))
        .arg("jobs")
        .spawn();
    let screen = none.wait_for("the word", |s| s.contains("no job in the ledger yet"));
    assert_eq!(none.wait_exit(), 0);
    assert!(!screen.contains("PROMPT"), "{screen}");
}

#[test]
fn jobs_piped_is_tab_separated_whole_and_without_a_header() {
    let home = home_with_three_jobs();
    let out = bin(home.path()).arg("jobs").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(rows.iter().all(|r| r.len() == 9), "{stdout}");
    assert_eq!(rows[1][0], "#2");
    assert_eq!(rows[1][1], "job_1234567890abcdef");
    assert_eq!(rows[2][1], "-");
    assert_eq!(rows[0][7], "2026-11-21T10:00:00Z");
    assert!(rows[1][8].ends_with("seen from a boat"), "{stdout}");
}

#[test]
fn jobs_format_fills_named_fields_and_refuses_an_unknown_one() {
    let home = home_with_three_jobs();
    let out = bin(home.path())
        .args([
            "jobs",
            "--format",
            r"{number}:{id}\t{status}\t{batch}\t{cost}\t{prompt}",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "1:job_7\tin-progress\tspring\t75\ta red fox in snow",
            "2:job_1234567890abcdef\tfailure\tautumn\t0\ta lighthouse in a storm at night, \
             waves breaking over the rocks, seen from a boat",
            "3:\trejected\t\t\ta cat",
        ],
        "{stdout}"
    );
    bin(home.path())
        .args(["jobs", "--format", "{id} {stauts}"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("stauts"))
        .stderr(predicate::str::contains("status"))
        .stderr(predicate::str::contains("prompt"));
}

/// Every subcommand's path, nested ones too (`engine logs`), hidden ones left out.
fn every_subcommand() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &mut Vec<String>, all: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            path.push(sub.get_name().to_string());
            all.push(path.clone());
            walk(sub, path, all);
            path.pop();
        }
    }
    let mut all = vec![vec![]];
    walk(&kling_tui::cli::Cli::command(), &mut Vec::new(), &mut all);
    all
}

#[test]
fn each_help_shows_only_its_flags_the_ledgers_word_and_no_empty_variable() {
    let home = tempfile::tempdir().unwrap();
    let help = |path: &[String]| -> String {
        let out = bin(home.path())
            .env_remove("SCENARIO_PROJECT_ID")
            .env("SCENARIO_API_URL", "")
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{path:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let all = every_subcommand();
    assert!(all.len() > 15, "{all:?}");
    for path in &all {
        let text = help(path);
        assert!(!text.to_lowercase().contains("journal"), "{path:?}: {text}");
        assert!(!text.contains("=]"), "{path:?}: {text}");
    }
    let app = help(&[]);
    assert!(
        app.contains("--mouse") && app.contains("--api-url"),
        "{app}"
    );
    assert!(app.contains("SCENARIO_PROJECT_ID"), "{app}");
    let sim = help(&["sim".into()]);
    for flag in [
        "--mouse",
        "--api-url",
        "--project-id",
        "--demo",
        "--give-up-after",
    ] {
        assert!(!sim.contains(flag), "sim shows {flag}: {sim}");
    }
    let submit = help(&["submit".into()]);
    assert!(
        submit.contains("--api-url") && !submit.contains("--mouse"),
        "{submit}"
    );
    assert!(
        submit.contains("[possible values: standard, pro, 4k]"),
        "{submit}"
    );
    // The connection flags are taken on either side of the subcommand; --mouse only before.
    for args in [
        ["--demo", "submit", "--prompt", "a fox", "--dry-run"],
        ["submit", "--demo", "--prompt", "a fox", "--dry-run"],
    ] {
        bin(home.path())
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("creative units"));
    }
    bin(home.path()).args(["sim", "--mouse"]).assert().code(2);
}

#[test]
fn completions_offer_enum_values_and_ask_the_ledger_for_batch_names() {
    let home = home_with_three_jobs();
    let bash = bin(home.path())
        .args(["completions", "bash"])
        .assert()
        .success();
    let script = String::from_utf8_lossy(&bash.get_output().stdout).to_string();
    assert!(
        script.contains("compgen -W \"standard pro 4k\""),
        "{script}"
    );
    assert!(script.contains("compgen -W \"16:9 9:16 1:1\""), "{script}");
    assert!(script.contains("__complete batches"), "{script}");
    assert!(
        script.contains("complete -F _kling__tui_with_batches"),
        "{script}"
    );
    // The hidden completer is no subcommand to offer.
    assert!(
        script
            .lines()
            .filter(|l| l.trim_start().starts_with("opts="))
            .all(|l| !l.contains("__complete")),
        "{script}"
    );
    for shell in ["zsh", "fish"] {
        bin(home.path())
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("__complete batches"));
    }
    bin(home.path())
        .args(["__complete", "batches"])
        .assert()
        .success()
        .stdout("autumn\nspring\n");
    // No ledger at all: nothing, quietly.
    let empty = tempfile::tempdir().unwrap();
    bin(empty.path())
        .args(["__complete", "batches"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

/// The bash script run by bash itself, as a Tab would: the subcommands' values complete, and
/// batch names come from the binary, from the ledger of the project typed on the line.
#[test]
fn bash_completes_subcommand_values_and_batch_names() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let home = home_with_three_jobs();
    let script = home.path().join("kling-tui.bash");
    let out = bin(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    std::fs::write(&script, out.stdout).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("kling-tui");
    let probe = format!(
        r#"source {script}
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ));
  _kling__tui_with_batches {binary} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}";
  echo "${{COMPREPLY[*]}}"; }}
t {binary} submit --mode ""
t {binary} batch status ""
t {binary} watch --batch sp
t {binary} --project-id elsewhere batch status ""
"#,
        script = script.display(),
        binary = binary.display()
    );
    let ran = process(None, home.path())
        .args(["__complete", "batches"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "autumn\nspring\n");
    let mut bash = std::process::Command::new("bash");
    bash.args(["--norc", "-c", &probe]);
    for (name, value) in process(None, home.path()).get_envs() {
        match value {
            Some(value) => bash.env(name, value),
            None => bash.env_remove(name),
        };
    }
    let out = bash.current_dir(home.path()).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        // Another project's ledger, named on the line, has no batches.
        ["standard pro 4k", "autumn spring", "spring", ""],
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
