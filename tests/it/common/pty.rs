//! A program in a pseudo-terminal of its own, as a person would run it: keys go in as the bytes
//! a terminal sends, and everything the program writes is kept raw (for tests of the escape
//! sequences themselves) and fed to a VT100 emulator (for tests of what the screen shows).
//! Needs nothing outside the Rust toolchain.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize};

pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 36;
/// Polling guard: a stuck program fails the test after 600 × 100 ms instead of hanging it.
const POLLS: u32 = 600;
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Keys as a terminal in its default modes (xterm, normal cursor keys) sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Tab,
    BackTab,
    Enter,
    /// Alone it reads as Esc only if the next key comes later, in a read of its own: wait for
    /// its effect before pressing more.
    Esc,
    Backspace,
    Up,
    Down,
    Right,
    Left,
    /// Ctrl with a letter, e.g. `Ctrl('r')` is 0x12.
    Ctrl(char),
}

impl Key {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Key::Tab => b"\t".to_vec(),
            Key::BackTab => b"\x1b[Z".to_vec(),
            Key::Enter => b"\r".to_vec(),
            Key::Esc => b"\x1b".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::Up => b"\x1b[A".to_vec(),
            Key::Down => b"\x1b[B".to_vec(),
            Key::Right => b"\x1b[C".to_vec(),
            Key::Left => b"\x1b[D".to_vec(),
            Key::Ctrl(c) => {
                assert!(c.is_ascii_alphabetic(), "Ctrl+{c:?} has no control code");
                vec![c.to_ascii_lowercase() as u8 - b'a' + 1]
            }
        }
    }
}

/// What to run, and where; [`PtyCommand::spawn`] starts it.
pub struct PtyCommand {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    cols: u16,
    rows: u16,
}

impl PtyCommand {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            cols: WIDTH,
            rows: HEIGHT,
        }
    }

    /// The kling-tui binary built for these tests.
    pub fn app() -> Self {
        Self::new(assert_cmd::cargo::cargo_bin("kling-tui"))
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set on top of this process's environment, less what [`PtyCommand::spawn`] removes.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// Starts the program as the session leader of a new pseudo-terminal. Every `SCENARIO_*`
    /// variable is removed, so a developer's real keys never reach a test, and so is `TMUX`, so
    /// a test run inside tmux sees the same terminal as one run outside it; `TERM` says xterm,
    /// which is what the emulator understands.
    pub fn spawn(self) -> Pty {
        let size = PtySize {
            rows: self.rows,
            cols: self.cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        let pair = portable_pty::native_pty_system()
            .openpty(size)
            .expect("a pseudo-terminal can be opened");

        let mut cmd = CommandBuilder::new(&self.program);
        cmd.args(&self.args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SCENARIO_") {
                cmd.env_remove(name);
            }
        }
        cmd.env_remove("TMUX");
        cmd.env("TERM", "xterm-256color");
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        if let Some(dir) = &self.cwd {
            cmd.cwd(dir);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.program));
        // The child has its own copy; ours would keep the terminal open after the child exits,
        // and the reader would never see the end of the output.
        drop(pair.slave);

        let output = Arc::new(Mutex::new(Output {
            parser: vt100::Parser::new(nonzero(self.rows), nonzero(self.cols), 0),
            raw: Vec::new(),
        }));
        let mut reader = pair
            .master
            .try_clone_reader()
            .expect("the terminal can be read");
        let writer = pair
            .master
            .take_writer()
            .expect("the terminal can be written");
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut out = lock(&sink);
                        out.raw.extend_from_slice(&buf[..n]);
                        out.parser.process(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // EIO once the last process holding the terminal has gone: the end.
                    Err(_) => break,
                }
            }
        });
        Pty {
            program: self.program,
            child,
            writer: Writer(Arc::new(Mutex::new(writer))),
            _master: pair.master,
            output,
            reader: Some(reader),
            exit: None,
        }
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("a terminal is at least one cell wide and high")
}

struct Output {
    parser: vt100::Parser,
    /// Every byte the program wrote, in order.
    raw: Vec<u8>,
}

fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // A panic elsewhere while holding the lock leaves the data as good as it was.
    output.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running program in its pseudo-terminal; killed, with everything it started, when dropped,
/// so a failing assertion never leaves it running.
pub struct Pty {
    program: OsString,
    child: Box<dyn Child + Send + Sync>,
    writer: Writer,
    /// Kept so the terminal stays open for as long as the program may use it.
    _master: Box<dyn MasterPty + Send>,
    output: Arc<Mutex<Output>>,
    reader: Option<JoinHandle<()>>,
    exit: Option<u32>,
}

/// The terminal's input side, shareable, so a test can answer the program's terminal queries
/// from another thread while it reads the output.
#[derive(Clone)]
pub struct Writer(Arc<Mutex<Box<dyn Write + Send>>>);

impl Writer {
    /// Writes `bytes` as if typed, or as the terminal's answer to a query.
    pub fn send(&self, bytes: &[u8]) {
        let mut writer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        writer
            .write_all(bytes)
            .and_then(|()| writer.flush())
            .unwrap_or_else(|e| panic!("cannot write to the terminal: {e}"));
    }
}

impl Pty {
    /// Writes `bytes` as if typed, or as the terminal's answer to a query.
    pub fn send(&self, bytes: &[u8]) {
        self.writer.send(bytes);
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the program has a pid")
    }

    /// Sends the program a signal, as its terminal or a user would.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory effects; the pid is our own child's.
        let rc = unsafe { libc::kill(self.pid() as i32, signal) };
        assert_eq!(rc, 0, "cannot signal {:?}", self.program);
    }

    pub fn writer(&self) -> Writer {
        self.writer.clone()
    }

    pub fn type_text(&self, text: &str) {
        self.send(text.as_bytes());
    }

    pub fn press(&self, key: Key) {
        self.send(&key.bytes());
    }

    /// Several keys, one write each, as a person would press them.
    pub fn keys(&self, keys: &[Key]) {
        for key in keys {
            self.press(*key);
        }
    }

    /// The screen as it looks now, one line per row, without trailing blanks.
    pub fn screen(&self) -> String {
        lock(&self.output).parser.screen().contents()
    }

    /// Everything the program has written so far.
    pub fn raw(&self) -> Vec<u8> {
        lock(&self.output).raw.clone()
    }

    pub fn alternate_screen(&self) -> bool {
        lock(&self.output).parser.screen().alternate_screen()
    }

    /// The terminal's line discipline is cooked (canonical, echoing), as a shell expects it:
    /// read from the terminal itself, not from what the program printed.
    pub fn cooked(&self) -> bool {
        let Some(fd) = self._master.as_raw_fd() else {
            return false;
        };
        // SAFETY: a plain query into a zeroed struct of the right type.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut termios) } != 0 {
            return false;
        }
        termios.c_lflag & libc::ICANON != 0 && termios.c_lflag & libc::ECHO != 0
    }

    pub fn cursor_hidden(&self) -> bool {
        lock(&self.output).parser.screen().hide_cursor()
    }

    /// Polls the screen until `done` holds and returns it; panics with the last screen if it
    /// never does.
    pub fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        for _ in 0..POLLS {
            screen = self.screen();
            if done(&screen) {
                return screen;
            }
            std::thread::sleep(POLL_EVERY);
        }
        panic!("gave up waiting for {what}; the screen was:\n{screen}");
    }

    /// Waits for the program to exit and for its last output to be read; returns its exit
    /// code. Panics if it does not exit, or dies of a signal.
    pub fn wait_exit(&mut self) -> u32 {
        if let Some(code) = self.exit {
            return code;
        }
        let mut status = None;
        for _ in 0..POLLS {
            status = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("cannot wait for {:?}: {e}", self.program));
            if status.is_some() {
                break;
            }
            std::thread::sleep(POLL_EVERY);
        }
        let Some(status) = status else {
            panic!(
                "{:?} never exited; the screen was:\n{}",
                self.program,
                self.screen()
            );
        };
        if let Some(signal) = status.signal() {
            panic!(
                "{:?} died of {signal}; the screen was:\n{}",
                self.program,
                self.screen()
            );
        }
        self.exit = Some(status.exit_code());
        // The reader ends when the terminal closes; something the program started may still
        // hold it, so this wait is bounded and not an error.
        for _ in 0..POLLS {
            if self.reader.as_ref().is_none_or(JoinHandle::is_finished) {
                break;
            }
            std::thread::sleep(POLL_EVERY);
        }
        status.exit_code()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.exit.is_some() {
            return;
        }
        if let Some(pid) = self.child.process_id() {
            // The child leads its own process group (it is a session leader), so this also
            // ends what it started, such as the app under `sh -c`.
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // involved.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A home of its own, its config.toml holding `config`, and a work folder the app runs in
/// (where videos land when no folder is named).
pub struct AppDirs {
    _temp: tempfile::TempDir,
    pub home: PathBuf,
    pub work: PathBuf,
}

impl AppDirs {
    pub fn new(config: &str) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        let work = temp.path().join("work");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        super::write_config(&home, config, 0o600);
        Self {
            _temp: temp,
            home,
            work,
        }
    }

    /// `program` with this home and work folder.
    pub fn command(&self, program: PtyCommand) -> PtyCommand {
        program
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .cwd(&self.work)
    }

    /// The app against `--demo`, in its first frame: keys sent before the app is in raw mode
    /// would be eaten by the line discipline.
    pub fn demo_app(&self) -> Pty {
        let app = self.command(PtyCommand::app().arg("--demo")).spawn();
        app.wait_for("the app's first frame", |s| s.contains("No jobs yet"));
        app
    }
}

/// The job list's rows: the lines below its title down to the bottom of its box, each cut at
/// the box's right edge so the panes beside it are left out.
pub fn queue_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains(" Jobs "))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .map(|l| {
            l['│'.len_utf8()..]
                .split('│')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|row| !row.trim().is_empty())
        .collect()
}
