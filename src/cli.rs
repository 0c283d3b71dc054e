//! Command-line flags and subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueHint};

use crate::kling::{AspectRatio, Mode, VideoReferenceType};

#[derive(Debug, Parser)]
#[command(
    name = "kling-tui",
    version,
    about = "Make videos with Kling V3 Omni through the Scenario API",
    long_about = "Make videos with Kling V3 Omni through the Scenario API.\n\n\
        Credentials come from SCENARIO_API_KEY and SCENARIO_API_SECRET (or SCENARIO_SDK_API_KEY \
        and SCENARIO_SDK_API_SECRET), else from config.toml in the config folder. \
        --demo needs none: it runs a local simulator and spends nothing.",
    after_help = "Exit codes: 0 success, 2 invalid input, missing credentials or no ffmpeg for \
        `seq cut` (nothing sent, nothing written but the cut's list), 3 API, network or file \
        error, 4 the job ended in failure or canceled, 5 held by a spend cap, 130 interrupted."
)]
pub struct Cli {
    /// Let the full-screen app use the mouse (scrolling the job queue).
    #[arg(long)]
    pub mouse: bool,

    // After the app's own flags: its heading covers what follows.
    #[command(flatten)]
    pub connection: Connection,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where and how fast to talk to the API. Taken before the subcommand or after it (after
/// wins), and shown only by the commands that use it: not by `sim`, `completions` or `man`.
/// The environment variables are read here rather than by clap, so that `--help` never shows
/// their values (a URL may carry a user and password) and a value typed on either side of the
/// subcommand wins over them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// Scenario API base URL; plain http:// only for loopback hosts [env: SCENARIO_API_URL]
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub api_url: Option<String>,

    /// Scenario project id, sent as ?projectId= on every call [env: SCENARIO_PROJECT_ID]
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other)]
    pub project_id: Option<String>,

    /// Run against a local simulator started in-process: no account, no credentials, no spend
    /// (--api-url and SCENARIO_API_URL are then ignored).
    #[arg(long)]
    pub demo: bool,

    /// API requests per second shared by all polling (default 5, or requests_per_second in
    /// config.toml).
    #[arg(long, value_name = "N", value_parser = parse_rate, value_hint = ValueHint::Other)]
    pub requests_per_second: Option<f64>,

    /// Stop waiting on a job whose status checks keep failing after this long, e.g. 90s, 30m,
    /// 2h (default 30m, or give_up_after in config.toml); the job stays in the ledger.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration,
          value_hint = ValueHint::Other)]
    pub give_up_after: Option<std::time::Duration>,
}

impl Connection {
    /// These flags, each one not given taken from `under` (the flags before the subcommand).
    fn over(self, under: Connection) -> Connection {
        Connection {
            api_url: self.api_url.or(under.api_url),
            project_id: self.project_id.or(under.project_id),
            demo: self.demo || under.demo,
            requests_per_second: self.requests_per_second.or(under.requests_per_second),
            give_up_after: self.give_up_after.or(under.give_up_after),
        }
    }

    /// The API and project not given as flags taken from the environment; an empty variable
    /// counts as unset.
    fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Connection {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        self.api_url = self.api_url.or_else(|| set("SCENARIO_API_URL"));
        self.project_id = self.project_id.or_else(|| set("SCENARIO_PROJECT_ID"));
        self
    }
}

impl Cli {
    /// The arguments of this process, parsed (exiting with clap's message and code 2 when
    /// they do not parse), with the connection flags of both sides of the subcommand and the
    /// environment merged into [`Cli::connection`], the one place the rest of the program
    /// reads.
    pub fn parse_merged() -> Cli {
        Cli::parse().merged(|name| std::env::var(name).ok())
    }

    /// `self` with its connection flags merged (see [`Cli::parse_merged`]), reading the
    /// environment through `var`.
    pub fn merged(mut self, var: impl Fn(&str) -> Option<String>) -> Cli {
        let top = std::mem::take(&mut self.connection);
        let after = self
            .command
            .as_mut()
            .and_then(Command::connection_mut)
            .map(std::mem::take)
            .unwrap_or_default();
        self.connection = after.over(top).with_env(var);
        self
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and submit a generation; prints the job id.
    Submit(SubmitArgs),
    /// Show the status of jobs.
    Status {
        #[arg(required = true, value_name = "JOB", value_hint = ValueHint::Other)]
        jobs: Vec<String>,
        /// One JSON object per job on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Ask the server to cancel a job (most generation jobs refuse: the reason is shown).
    Cancel {
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// Download every asset of finished jobs.
    Download {
        #[arg(required = true, value_name = "JOB", value_hint = ValueHint::Other)]
        jobs: Vec<String>,
        /// Folder for the files (default: download_dir from config.toml, else the current folder).
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        out: Option<PathBuf>,
        /// One JSON object per job on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Upload local images or videos for use as references; prints their asset ids. A file
    /// uploaded before (same content, same project) is not uploaded again.
    Upload {
        #[arg(required = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
        files: Vec<PathBuf>,
        /// One JSON object per file on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send a batch file: every request it expands to (`{a|b}` alternatives, fields given as
    /// arrays), checked whole, priced by free dry runs and confirmed first; the videos land in
    /// order in --out with a manifest. Run again, it resumes: nothing is sent twice.
    /// `batch status NAME` shows a batch; `batch retry NAME` sends its failed requests again.
    Batch(BatchArgs),
    /// List the jobs in the ledger (works while another kling-tui is running): a table on a
    /// terminal, tab-separated lines without a header when piped; with --remote, the team's
    /// Kling V3 Omni jobs on the server.
    Jobs(JobsArgs),
    /// Add jobs made elsewhere (Scenario's web app, another client) to the ledger by their
    /// job id, then follow them until final and save their videos. A job already in the
    /// ledger is not added twice. Exit codes as `submit --download`.
    Import {
        #[arg(required = true, value_name = "JOB", value_hint = ValueHint::Other)]
        jobs: Vec<String>,
        /// Folder for the videos (default: download_dir from config.toml, else the current
        /// folder).
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        out: Option<PathBuf>,
        /// One JSON object per job on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Creative units spent: confirmed costs of the jobs the server took, failed (refunded)
    /// ones left out.
    Spend {
        /// Only jobs made since: a date (2026-11-01), a time (RFC 3339) or a span ago (7d, 12h).
        #[arg(long, value_name = "WHEN", value_hint = ValueHint::Other, value_parser = parse_since)]
        since: Option<jiff::Timestamp>,
        /// One line per day (UTC) or per mode instead of one total.
        #[arg(long, value_name = "day|mode", value_parser = ["day", "mode"])]
        by: Option<String>,
        /// One JSON object per line on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Follow the jobs in the ledger not final yet (or those named, or --all) until each is
    /// final and downloaded; one line per change.
    Watch(WatchArgs),
    /// Run the local Scenario simulator until Ctrl+C; prints its URL and demo keys.
    Sim(SimArgs),
    /// Print shell completions, e.g. `kling-tui completions bash > ~/.local/share/bash-completion/completions/kling-tui`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `kling-tui man > ~/.local/share/man/man1/kling-tui.1`.
    Man,
    /// Mark a take kept or rejected (with a reason), or clear its mark: the selects that
    /// `jobs --kept`, `spend` and the sequences count.
    Mark {
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
        #[arg(value_name = "keep|reject|clear", value_parser = ["keep", "reject", "clear"])]
        mark: String,
        /// Why it was rejected, one of the list (`face drift`, `motion`, `off prompt`,
        /// `artifacts`, `continuity`, `timing`, and reject_reasons in config.toml).
        #[arg(long, value_name = "REASON", value_hint = ValueHint::Other)]
        reason: Option<String>,
        /// The job's marks as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Sequences: named, ordered shots, each with its takes (jobs) and one chosen take;
    /// `seq cut` joins the chosen takes into one film.
    Seq(SeqArgs),
    /// The background engine that runs the jobs of this API and project for every client.
    #[command(subcommand)]
    Engine(EngineCommand),
    /// Send again a submission that was never confirmed and not found on the server. It may
    /// charge twice if the first did reach the server.
    Resend {
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
        /// Send without asking (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

impl Command {
    /// The connection flags given after this subcommand, where it takes them.
    fn connection_mut(&mut self) -> Option<&mut Connection> {
        match self {
            Command::Submit(SubmitArgs { connection, .. })
            | Command::Jobs(JobsArgs { connection, .. })
            | Command::Batch(BatchArgs {
                action: None,
                connection,
                ..
            })
            | Command::Batch(BatchArgs {
                action:
                    Some(
                        BatchAction::Status { connection, .. }
                        | BatchAction::Retry { connection, .. },
                    ),
                ..
            })
            | Command::Watch(WatchArgs { connection, .. })
            | Command::Status { connection, .. }
            | Command::Cancel { connection, .. }
            | Command::Download { connection, .. }
            | Command::Upload { connection, .. }
            | Command::Import { connection, .. }
            | Command::Spend { connection, .. }
            | Command::Resend { connection, .. }
            | Command::Mark { connection, .. }
            | Command::Seq(SeqArgs { connection, .. })
            | Command::Engine(
                EngineCommand::Start { connection }
                | EngineCommand::Status { connection, .. }
                | EngineCommand::Stop { connection }
                | EngineCommand::Logs { connection, .. },
            ) => Some(connection),
            Command::Sim(_)
            | Command::Completions { .. }
            | Command::Man
            | Command::Engine(EngineCommand::Serve) => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct SeqArgs {
    #[command(subcommand)]
    pub action: SeqAction,
    /// JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Subcommand)]
pub enum SeqAction {
    /// Make an empty sequence.
    New {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Every sequence: its shots, chosen takes and takes.
    List,
    /// A sequence's shots in order: the chosen take of each, the other takes, durations, the
    /// running total and the cost so far.
    Show {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// A new last shot with JOB as its chosen take.
    Add {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
    },
    /// JOB as one more take of shot SHOT (one past the last makes a new shot), not chosen.
    Take {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "SHOT")]
        shot: u32,
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
    },
    /// JOB as the chosen take of shot SHOT (added to its takes if it was not one).
    Choose {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "SHOT")]
        shot: u32,
        #[arg(value_name = "JOB", value_hint = ValueHint::Other)]
        job: String,
    },
    /// Move shot SHOT to position POS; the shots between shift by one.
    Move {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "SHOT")]
        shot: u32,
        #[arg(value_name = "POS")]
        pos: u32,
    },
    /// Take shot SHOT out of the sequence (its jobs stay in the ledger).
    Rm {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "SHOT")]
        shot: u32,
    },
    /// Join the chosen takes in order into one MP4 with ffmpeg, a chapter per shot: a stream
    /// copy when the clips match, else a re-encode that says why.
    Cut {
        #[arg(value_name = "NAME")]
        name: String,
        /// The film to write; it appears only once whole.
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Start the engine now (any command that needs it starts it too), e.g. from a login
    /// script; says so and returns if it already runs.
    Start {
        #[command(flatten)]
        connection: Connection,
    },
    /// Pid, uptime, jobs, clients, socket and log of the running engine.
    Status {
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Stop the engine: nothing new is sent, answers to what was sent are recorded, partial
    /// downloads are kept. Returns once the ledger is free.
    Stop {
        #[command(flatten)]
        connection: Connection,
    },
    /// Print the engine's log.
    Logs {
        /// The last N lines.
        #[arg(long, short = 'n', default_value_t = 50, value_name = "N",
              value_hint = ValueHint::Other)]
        lines: usize,
        /// Keep printing what is added, until Ctrl+C.
        #[arg(long, short = 'f')]
        follow: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Run the engine in this process (started so by the clients; settings on stdin).
    #[command(hide = true)]
    Serve,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The prompt; may name references as <<<image_N>>> and <<<video_1>>>.
    #[arg(long, value_hint = ValueHint::Other, required_unless_present_any = ["after", "hero"])]
    pub prompt: Option<String>,
    /// Continue job JOB (#12, 12 or its server id): start from the last frame of its saved
    /// video, with its parameters; --prompt says what happens next, and any flag given here
    /// replaces the parent's value.
    #[arg(long, value_name = "JOB", value_hint = ValueHint::Other,
          conflicts_with_all = ["hero", "start_image"])]
    pub after: Option<String>,
    /// Render kept job JOB again, the same request a mode up (standard to pro, pro to 4k) or at
    /// --mode: quoted by a dry run first, sent once confirmed.
    #[arg(long, value_name = "JOB", value_hint = ValueHint::Other,
          conflicts_with_all = ["prompt", "aspect_ratio", "duration", "multi_prompt",
              "generate_audio", "no_original_sound", "video_reference_type", "start_image",
              "end_image", "reference_images", "reference_video"])]
    pub hero: Option<String>,
    /// Send a --hero without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Make the new job a take in sequence NAME: of --shot N, else of the shot after its
    /// parent's (--after), of its draft's shot (--hero), or of a new last shot. (A job
    /// continued from, or a hero of, a take in a sequence goes there without it.)
    #[arg(long, value_name = "NAME", value_hint = ValueHint::Other, conflicts_with = "dry_run")]
    pub seq: Option<String>,
    /// With --seq: the shot the new job is a take of (one past the last makes a new shot).
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, requires = "seq")]
    pub shot: Option<u32>,
    /// standard (720p), pro (1080p) or 4k.
    #[arg(long, value_parser = wire_values(Mode::ALL, Mode::as_str), value_name = "MODE")]
    pub mode: Option<Mode>,
    /// 16:9, 9:16 or 1:1 (default 16:9 unless a start image sets the frame).
    #[arg(long, value_name = "RATIO",
          value_parser = wire_values(AspectRatio::ALL, AspectRatio::as_str))]
    pub aspect_ratio: Option<AspectRatio>,
    /// Seconds, 3 to 15.
    #[arg(long, value_name = "SECONDS", value_hint = ValueHint::Other)]
    pub duration: Option<u32>,
    /// Multi-shot: a JSON array of {"prompt": "...", "duration": N}.
    #[arg(long, value_name = "JSON", value_hint = ValueHint::Other)]
    pub multi_prompt: Option<String>,
    /// Generate native audio (not with a reference video).
    #[arg(long)]
    pub generate_audio: bool,
    /// Drop the reference video's original sound.
    #[arg(long)]
    pub no_original_sound: bool,
    /// feature (style and camera reference) or base (edit the reference video).
    #[arg(long, value_name = "TYPE",
          value_parser = wire_values(VideoReferenceType::ALL, VideoReferenceType::as_str))]
    pub video_reference_type: Option<VideoReferenceType>,
    /// The first frame: a local image (uploaded first) or an asset id.
    #[arg(long, value_name = "ASSET", value_hint = ValueHint::FilePath)]
    pub start_image: Option<String>,
    /// The last frame (needs --start-image): a local image or an asset id.
    #[arg(long, value_name = "ASSET", value_hint = ValueHint::FilePath)]
    pub end_image: Option<String>,
    /// A reference image, <<<image_N>>> in the prompt: a local image or an asset id; repeat
    /// for more (up to 7).
    #[arg(long = "reference-image", value_name = "ASSET", value_hint = ValueHint::FilePath)]
    pub reference_images: Vec<String>,
    /// The reference video, <<<video_1>>> in the prompt: a local MP4/MOV/WebM or an asset id.
    #[arg(long, value_name = "ASSET", value_hint = ValueHint::FilePath)]
    pub reference_video: Option<String>,
    /// Print the cost in creative units and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for the job to finish, showing progress on stderr.
    #[arg(long)]
    pub wait: bool,
    /// Save every asset into DIR once the job succeeds (implies --wait).
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub download: Option<PathBuf>,
    /// One JSON object per job on stdout.
    #[arg(long)]
    pub json: bool,
    /// Seconds between status checks while waiting [default: 3, or 1 with --demo].
    #[arg(long, value_name = "SECONDS", value_hint = ValueHint::Other,
          value_parser = parse_interval)]
    pub poll_interval: Option<f64>,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Only jobs in this state: a server status (success, failure, in-progress, ...) or a
    /// local one (queued-locally, unconfirmed, rejected, ...).
    #[arg(long, value_name = "STATUS",
          value_parser = clap::builder::PossibleValuesParser::new(crate::engine::STATUS_WORDS))]
    pub status: Option<String>,
    /// Only jobs made since: a date (2026-11-01), a time (RFC 3339) or a span ago (7d, 12h).
    #[arg(long, value_name = "WHEN", value_hint = ValueHint::Other, value_parser = parse_since)]
    pub since: Option<jiff::Timestamp>,
    /// Only jobs whose prompt contains this text (any case).
    #[arg(long, value_name = "TEXT", value_hint = ValueHint::Other)]
    pub search: Option<String>,
    /// At most this many, the newest.
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub limit: Option<usize>,
    /// Only the jobs of this batch (the name of its file, without the extension).
    #[arg(long, value_name = "BATCH", conflicts_with = "remote", value_hint = ValueHint::Other)]
    pub batch: Option<String>,
    /// Only the takes marked kept (`kling-tui mark JOB keep`).
    #[arg(long, conflicts_with_all = ["remote", "rejected"])]
    pub kept: bool,
    /// Only the takes marked rejected.
    #[arg(long, conflicts_with = "remote")]
    pub rejected: bool,
    /// The team's Kling V3 Omni jobs on the server instead (every page; other models left
    /// out), those already in the ledger marked with their number; `import` adds others.
    #[arg(long)]
    pub remote: bool,
    /// One JSON object per job on stdout.
    #[arg(long, conflicts_with_all = ["format", "no_header"])]
    pub json: bool,
    /// One line per job made from TEMPLATE, for scripts: {field} is replaced by the job's
    /// field, \t and \n are a tab and a line break, {{ and }} are braces. Fields: number
    /// (the ledger's, as in #12), id (the server's, empty before it has one), status (one
    /// word, as in --json), state (as in the table), progress (percent), mode, duration
    /// (seconds), aspect, cost (creative units, empty while unknown), created (RFC 3339),
    /// batch, prompt, error. E.g. --format '{id}\t{status}\t{prompt}'.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "remote",
          value_parser = crate::headless::list::Template::parse, value_hint = ValueHint::Other)]
    pub format: Option<crate::headless::list::Template>,
    /// No header line above the table.
    #[arg(long, conflicts_with = "remote")]
    pub no_header: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub action: Option<BatchAction>,
    /// JSON Lines: one request a line, in the API's field names (a file named like a
    /// subcommand is written `./status`).
    #[arg(value_name = "FILE", value_hint = ValueHint::FilePath, required = true)]
    pub file: Option<PathBuf>,
    /// Show the plan and its cost (identical requests quoted once); send nothing paid.
    #[arg(long)]
    pub plan: bool,
    /// Send without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Where the videos and manifest.jsonl go (default: a folder named after FILE, beside
    /// it).
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub out: Option<PathBuf>,
    /// Return once every request is with the engine; `watch --batch NAME` follows them.
    #[arg(long)]
    pub no_wait: bool,
    /// The most this batch may spend, in creative units: a request that would go over is
    /// held, not sent (run again with a higher cap to release it).
    #[arg(long, value_name = "CU", value_hint = ValueHint::Other)]
    pub max_cost: Option<f64>,
    /// The plan, or at the end the manifest, as JSON Lines on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Subcommand)]
pub enum BatchAction {
    /// Where a batch stands: each request (line, job, status, cost, files) and the totals.
    /// Exit 0 when every request succeeded and is on disk, 4 when some failed, 5 when some
    /// are held by a spend cap, 3 while some still run.
    Status {
        /// The batch's name: its file's name without the extension.
        #[arg(value_name = "BATCH", value_hint = ValueHint::Other)]
        batch: String,
        /// One JSON object per request, as in manifest.jsonl.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        connection: Connection,
    },
    /// Send again, as new paid submissions, the requests of a batch whose latest attempt
    /// failed or was refused.
    Retry {
        #[arg(value_name = "BATCH", value_hint = ValueHint::Other)]
        batch: String,
        /// Send without asking (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        connection: Connection,
    },
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Follow these jobs (#12 or 12 as `jobs` numbers them, or a server id) until each is final
    /// and on disk; without them, the jobs not final yet and those made while it runs.
    #[arg(value_name = "JOB", value_hint = ValueHint::Other, conflicts_with_all = ["batch", "all"])]
    pub jobs: Vec<String>,
    /// Follow every job the engine holds, final or not.
    #[arg(long, conflicts_with = "batch")]
    pub all: bool,
    /// Folder for the videos (default: download_dir from config.toml, else the current folder).
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub out: Option<PathBuf>,
    /// Do not wait for the videos: a job is done once it succeeds. An engine started for this
    /// command downloads nothing; a running one with auto_download on still saves them.
    #[arg(long)]
    pub no_download: bool,
    /// Follow only the jobs of this batch (the name of its file, without the extension), until
    /// each is final and on disk or held by a spend cap.
    #[arg(long, value_name = "BATCH", value_hint = ValueHint::Other)]
    pub batch: Option<String>,
    /// Seconds before a job's first status check, and after each change.
    #[arg(long, value_name = "SECONDS", value_hint = ValueHint::Other,
          value_parser = parse_interval)]
    pub poll_interval: Option<f64>,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address for the API listener (the CDN listens on another loopback address).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// How many times faster than real time jobs run (a job takes about 2 minutes at 1).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Fraction of jobs that end in failure, 0 to 1.
    #[arg(long, default_value_t = 0.1)]
    pub failure_rate: f64,
    /// Seed for ids, failures and faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Jobs the team may run at once before generate answers 429.
    #[arg(long, default_value_t = 20)]
    pub concurrency_limit: usize,
    /// Serve a synthetic video of this many bytes instead of the small demo clip.
    #[arg(long, value_name = "BYTES", value_hint = ValueHint::Other)]
    pub video_size: Option<u64>,
    /// Start with this many finished jobs in the team's job list, as if made earlier in the
    /// web app (for `jobs --remote` and `import`).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed_jobs: usize,
    /// Fraction of the seeded jobs made with other models than Kling V3 Omni, 0 to 1.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION", value_hint = ValueHint::Other)]
    pub seed_other_models: f64,
}

/// A parser that takes exactly the API's words for one of its enums and names them to clap,
/// so `--help` lists them, a wrong one is refused with the list, and the shell completions
/// offer them (not file names).
fn wire_values<T>(
    all: &'static [T],
    word: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static + std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.iter().map(|v| PossibleValue::new(word(*v))))
        .try_map(|s| s.parse::<T>())
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of requests per second between 0.1 and 1000"
        )),
    }
}

/// A moment: `2026-11-01` (midnight UTC), an RFC 3339 time, or a span ago (`7d`, `12h`).
fn parse_since(s: &str) -> Result<jiff::Timestamp, String> {
    let text = s.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    let ago = crate::units::parse_duration(text).map_err(|_| {
        format!("{s:?} is not a date (2026-11-01), a time (RFC 3339) or a span ago (7d, 12h)")
    })?;
    let span = jiff::SignedDuration::try_from(ago).map_err(|e| e.to_string())?;
    jiff::Timestamp::now()
        .checked_sub(span)
        .map_err(|e| e.to_string())
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.05..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0.05 and 3600"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_flags_after_the_subcommand_win_then_before_it_then_the_environment() {
        let env = |name: &str| match name {
            "SCENARIO_API_URL" => Some("http://env.example/v1".to_string()),
            "SCENARIO_PROJECT_ID" => Some(" ".to_string()),
            _ => None,
        };
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("kling-tui").chain(args.iter().copied()))
                .unwrap()
                .merged(env)
                .connection
        };
        let both = parse(&[
            "--api-url",
            "http://a/v1",
            "--demo",
            "jobs",
            "--api-url",
            "http://b/v1",
        ]);
        assert_eq!(both.api_url.as_deref(), Some("http://b/v1"));
        assert!(both.demo);
        let before = parse(&["--project-id", "p", "engine", "status"]);
        assert_eq!(before.project_id.as_deref(), Some("p"));
        assert_eq!(before.api_url.as_deref(), Some("http://env.example/v1"));
        // An empty variable is no value.
        let none = parse(&["watch", "--give-up-after", "90s"]);
        assert_eq!(none.project_id, None);
        assert_eq!(none.give_up_after, Some(std::time::Duration::from_secs(90)));
        assert!(Cli::try_parse_from(["kling-tui", "sim", "--demo"]).is_err());
        assert!(Cli::try_parse_from(["kling-tui", "submit", "--prompt", "x", "--mouse"]).is_err());
    }
}
