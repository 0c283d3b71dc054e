//! `kling-tui completions` and `kling-tui man`: both made from the same clap definition as the
//! parser, so they never drift from the flags the binary takes.
//!
//! The completion scripts are clap's static ones (fixed words, no program run per Tab), plus
//! what they cannot know: the ledger's batch names, for every argument named `BATCH`. For
//! those the bash, zsh and fish scripts run `kling-tui __complete batches`, as gh and kubectl
//! scripts run their hidden `__complete` command. clap's own dynamic completion would do all
//! of it, but it is still behind an `unstable-` feature whose protocol may change in any
//! release, and it runs the binary on every Tab.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{CliError, exit};
use crate::cli::Cli;

/// What the completion scripts run for batch names, after the program's name.
pub const BATCH_NAMES: &str = "__complete batches";

pub fn completions(shell: Shell) -> Result<i32, CliError> {
    let mut command = Cli::command();
    // Made in memory first: the generator panics on a write that fails (a closed pipe).
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut command, "kling-tui", &mut text);
    let text = String::from_utf8_lossy(&text);
    let places = batch_places(&command);
    let text = match shell {
        Shell::Bash => bash(&text, &places, &value_flags(&command)),
        Shell::Zsh => zsh(&text),
        Shell::Fish => fish(&text, &places),
        _ => text.into_owned(),
    };
    write_out(text.as_bytes())
        .map_err(|e| CliError::Local(format!("cannot write the completions: {e}")))
}

pub fn man() -> Result<i32, CliError> {
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut text)
        .map_err(|e| CliError::Local(format!("cannot make the manual page: {e}")))?;
    write_out(&text).map_err(|e| CliError::Local(format!("cannot write the manual page: {e}")))
}

/// An argument that takes a batch name: the subcommands that lead to it, and its flag
/// (`None` for a positional).
#[derive(Debug, PartialEq, Eq)]
struct Place {
    path: Vec<String>,
    long: Option<String>,
}

/// Every argument named `BATCH`, wherever it is.
fn batch_places(command: &clap::Command) -> Vec<Place> {
    fn walk(command: &clap::Command, path: &mut Vec<String>, found: &mut Vec<Place>) {
        for arg in command.get_arguments() {
            let named = arg
                .get_value_names()
                .is_some_and(|names| names.iter().any(|n| n.as_str() == "BATCH"));
            if named {
                found.push(Place {
                    path: path.clone(),
                    long: arg.get_long().map(str::to_string),
                });
            }
        }
        for sub in command.get_subcommands() {
            path.push(sub.get_name().to_string());
            walk(sub, path, found);
            path.pop();
        }
    }
    let mut found = Vec::new();
    walk(command, &mut Vec::new(), &mut found);
    found
}

/// Every flag of any subcommand that takes its value as the next word: the word after it is
/// not a subcommand's name.
fn value_flags(command: &clap::Command) -> Vec<String> {
    fn walk(command: &clap::Command, flags: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.is_positional() || !arg.get_num_args().is_some_and(|n| n.takes_values()) {
                continue;
            }
            flags.extend(arg.get_long().map(|l| format!("--{l}")));
            flags.extend(arg.get_short().map(|s| format!("-{s}")));
        }
        for sub in command.get_subcommands() {
            walk(sub, flags);
        }
    }
    let mut flags = Vec::new();
    walk(command, &mut flags);
    flags.sort();
    flags.dedup();
    flags
}

/// clap's bash script behind a function that answers for batch names first: it finds the
/// subcommands typed so far (skipping flags and their values), and whether the word under
/// the cursor is a `BATCH`; the API and project typed on the line name the ledger asked.
fn bash(text: &str, places: &[Place], value_flags: &[String]) -> String {
    let mut cases = String::new();
    let mut paths: Vec<&Vec<String>> = places.iter().map(|p| &p.path).collect();
    paths.dedup();
    for path in paths {
        let tests: Vec<String> = places
            .iter()
            .filter(|p| &p.path == path)
            .map(|p| match &p.long {
                Some(long) => format!("[[ $prev == --{long} ]]"),
                None => "[[ -z $skip && $cur != -* ]]".to_string(),
            })
            .collect();
        cases.push_str(&format!(
            "        \" {}\") {{ {}; }} && batch=1 ;;\n",
            path.join(" "),
            tests.join(" || ")
        ));
    }
    let wrapper = format!(
        r#"
# Batch names come from the ledger, when asked for: `kling-tui {BATCH_NAMES}`.
_kling__tui_with_batches() {{
    local cur prev i skip="" path="" batch="" want="" conn=()
    if [[ "${{BASH_VERSINFO[0]}}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${{COMP_WORDS[COMP_CWORD]}}"
    fi
    prev="$3"
    for i in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        if [[ -n $skip ]]; then
            skip=""
            if [[ -n $want ]]; then
                conn+=("$want" "$i")
                want=""
            fi
            continue
        fi
        case "$i" in
            --api-url|--project-id) skip=1; want="$i" ;;
            {flags}) skip=1 ;;
            -*) ;;
            *) path="$path $i" ;;
        esac
    done
    case "$path" in
{cases}    esac
    if [[ -n $batch ]]; then
        local IFS=$'\n'
        COMPREPLY=( $(compgen -W "$("$1" {BATCH_NAMES} "${{conn[@]}}" 2>/dev/null)" -- "$cur") )
        return 0
    fi
    _kling__tui "$@"
}}
"#,
        flags = value_flags.join("|"),
    );
    // clap_complete (4.6) spells the cases of subcommands `kling__subcmd__tui__subcmd__watch`
    // where the loop that finds them says `kling__tui__subcmd__watch`, for any program with a
    // `-` in its name: no subcommand's flags or values would complete without this.
    let text = text.replace("kling__subcmd__tui__subcmd__", "kling__tui__subcmd__");
    let registered = text.replace(
        "complete -F _kling__tui ",
        "complete -F _kling__tui_with_batches ",
    );
    match registered.find("\nif [[ \"${BASH_VERSINFO[0]}\" -eq 4") {
        Some(at) => format!("{}{wrapper}{}", &registered[..at], &registered[at..]),
        None => text,
    }
}

/// clap's zsh script with the `BATCH` arguments completed by a function that asks the
/// ledger, defined before the script registers itself.
fn zsh(text: &str) -> String {
    const ACTION: &str = "_kling-tui_batches";
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            // A flag's value is named by its value name, a positional by its id (`batch`).
            let batch_value = line.ends_with(":BATCH:' \\")
                || (line.starts_with("':batch") && line.ends_with(":' \\"));
            match line.strip_suffix("' \\") {
                Some(head) if batch_value => format!("{head}{ACTION}' \\"),
                _ => line.to_string(),
            }
        })
        .collect();
    let mut out = lines.join("\n");
    out.push('\n');
    let function = format!(
        "# Batch names come from the ledger, when asked for: `kling-tui {BATCH_NAMES}`.\n\
         (( $+functions[{ACTION}] )) ||\n\
         {ACTION}() {{\n    \
             local -a names\n    \
             names=(${{(f)\"$(kling-tui {BATCH_NAMES} 2>/dev/null)\"}})\n    \
             compadd -a names\n\
         }}\n\n"
    );
    match out.find("if [ \"$funcstack[1]\" = \"_kling-tui\" ]") {
        Some(at) => format!("{}{function}{}", &out[..at], &out[at..]),
        None => out,
    }
}

/// clap's fish script and, for each `BATCH` argument, a completion from the ledger.
fn fish(text: &str, places: &[Place]) -> String {
    let mut out = text.to_string();
    out.push_str(&format!(
        "# Batch names come from the ledger, when asked for: `kling-tui {BATCH_NAMES}`.\n"
    ));
    for place in places {
        let condition = match place.path.as_slice() {
            [] => "__fish_kling_tui_needs_command".to_string(),
            [first] => format!("__fish_kling_tui_using_subcommand {first}"),
            [first, rest @ ..] => format!(
                "__fish_kling_tui_using_subcommand {first}; and __fish_seen_subcommand_from {}",
                rest.join(" ")
            ),
        };
        let flag = place
            .long
            .as_ref()
            .map(|l| format!(" -l {l} -r"))
            .unwrap_or_default();
        out.push_str(&format!(
            "complete -c kling-tui -n \"{condition}\"{flag} -f -a \"(kling-tui {BATCH_NAMES})\"\n"
        ));
    }
    out
}

/// Writes `text` on stdout; a reader that stopped reading (`| head`) ends it quietly.
fn write_out(text: &[u8]) -> std::io::Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(exit::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_names_are_completed_where_a_batch_is_named() {
        let places = batch_places(&Cli::command());
        let shown: Vec<(String, Option<&str>)> = places
            .iter()
            .map(|p| (p.path.join(" "), p.long.as_deref()))
            .collect();
        for expected in [
            ("batch status".to_string(), None),
            ("batch retry".to_string(), None),
            ("watch".to_string(), Some("batch")),
            ("jobs".to_string(), Some("batch")),
        ] {
            assert!(shown.contains(&expected), "{expected:?} in {shown:?}");
        }
    }

    #[test]
    fn each_script_calls_the_batch_completer_where_it_is_needed() {
        let mut command = Cli::command();
        let mut text = Vec::new();
        clap_complete::generate(Shell::Zsh, &mut command, "kling-tui", &mut text);
        let zsh = zsh(&String::from_utf8_lossy(&text));
        // Two positionals and two flags, plus the function's own definition.
        assert_eq!(zsh.matches("_kling-tui_batches").count(), 4 + 2, "{zsh}");
        let mut text = Vec::new();
        clap_complete::generate(Shell::Bash, &mut command, "kling-tui", &mut text);
        let flags = value_flags(&command);
        assert!(flags.contains(&"--api-url".to_string()) && flags.contains(&"-n".to_string()));
        let bash = bash(
            &String::from_utf8_lossy(&text),
            &batch_places(&command),
            &flags,
        );
        assert_eq!(
            bash.matches("complete -F _kling__tui_with_batches").count(),
            2,
            "{bash}"
        );
    }
}
