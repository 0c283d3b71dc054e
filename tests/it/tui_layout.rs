//! Every view and popup at 80×24, 120×40 and 200×60: a snapshot of each (the three sizes in
//! one file), and checks over all of them that fail on the faults people saw. Cut text ends
//! with `…`: the fixtures' long strings show whole, wrapped, or cut with `…`, never cut bare.
//! Popups cover what they cover: drawn alone over a background of a marker character, none
//! is left inside a popup, its border is whole, nothing is drawn outside it, and it leaves no
//! sliver of the panes beside it (either edge to edge or a margin).

use crate::tui_fixtures::*;
use crate::tui_snapshots::{
    app_with_picture, batch_app, batch_plan_app, busy_app, compare_app, history_app,
    multi_shot_app, picture_colours, refused_app, screen, server_app,
};
use crossterm::event::KeyCode;
use kling_tui::tui::app::{App, Focus, Popup};
use kling_tui::tui::form::{FIELDS, Field};
use kling_tui::tui::keys::{BINDINGS, PopupScope};
use kling_tui::tui::queue::RowKey;
use kling_tui::tui::render::{self, MARGIN_X, MARGIN_Y, fit, width_of, wrap};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// A character no view or popup draws: what a popup leaves of it, it did not cover.
const MARKER: &str = "¤";

/// Text of the fixtures long enough to be cut somewhere: wherever a part of one shows, it is
/// the whole, or it goes on on the next line (wrapped), or it ends with `…`.
const LONG_TEXTS: &[&str] = &[
    "a red fox running through deep snow at dawn, <<<image_1>>> as the fox",
    "a lighthouse in a storm, waves crashing",
    "狐狸在雪中奔跑 — wide and combining: é",
    "slow dolly shot through a forest",
    "time-lapse of a city at night",
    "The generation failed: content moderation flagged the prompt",
    "Rephrase the prompt and submit again; failed jobs are refunded.",
    "HTTP 503 Service Unavailable: Service Unavailable (trace id trace_1)",
    "submission outcome unknown (request timed out)",
    "HTTP 400 Bad Request: duration: too long",
    "a teammate's shot: rain on a neon street, slow pan",
    "made in the web app: a paper crane unfolding",
    "A lighthouse at dusk, watercolour style",
    "the keeper lights the lamp",
    "Downloads or unconfirmed submissions are in flight; they resume at the next start. Quit now?",
    "It leaves the ledger; the job on the server and any files stay.",
    "was sent once and never confirmed, and was not found on the server.",
    "Ask the server to cancel",
    "Not submitted; fix these first:",
];

/// One view or popup, as the app shows it.
struct Case {
    name: &'static str,
    /// Whether a popup is open (and its overlay is checked).
    popup: bool,
    build: fn(&std::path::Path) -> App,
}

fn on_job(mut app: App, id: u64) -> App {
    app.queue.selected = Some(RowKey::Job(id));
    app
}

fn press(mut app: App, keys: &[KeyCode]) -> App {
    for k in keys {
        app.on_key(key(*k));
    }
    app
}

/// Problems stacked on the parameters: more lines than the pane has at 80×24.
fn warned_app() -> App {
    let mut app = busy_app();
    app.request.reference_images = ["refs/fox.png", "refs/hat.png", "refs/missing.png"]
        .into_iter()
        .map(kling_tui::kling::AssetId::new)
        .collect();
    app.request.start_image = Some(kling_tui::kling::AssetId::new("refs/start.png"));
    app.request.end_image = Some(kling_tui::kling::AssetId::new("refs/end.png"));
    app.request.reference_video = Some(kling_tui::kling::AssetId::new("refs/clip.mp4"));
    app.request.generate_audio = Some(true);
    app.recheck_files();
    app.revalidate();
    while app.focus != Focus::Sidebar {
        app.on_key(key(KeyCode::Tab));
    }
    while FIELDS[app.field] != Field::MultiShot {
        app.on_key(key(KeyCode::Char('j')));
    }
    app
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "main",
            popup: false,
            build: |_| busy_app(),
        },
        Case {
            name: "parameters_with_stacked_problems",
            popup: false,
            build: |_| warned_app(),
        },
        Case {
            name: "filter",
            popup: false,
            build: |_| {
                let mut app = press(busy_app(), &[KeyCode::Char('/')]);
                type_text(&mut app, "fox");
                app
            },
        },
        Case {
            name: "server_view",
            popup: false,
            build: |_| server_app(),
        },
        Case {
            name: "batch",
            popup: false,
            build: |_| press(batch_app(), &[KeyCode::Down, KeyCode::Down]),
        },
        Case {
            name: "details_with_picture",
            popup: false,
            build: app_with_picture,
        },
        Case {
            name: "sequence_view",
            popup: false,
            build: |_| crate::tui_sequences::sequence_app(),
        },
        Case {
            name: "compare",
            popup: true,
            build: |_| compare_app(),
        },
        Case {
            name: "reject_reasons",
            popup: true,
            build: |_| press(on_job(busy_app(), 7), &[KeyCode::Char('X')]),
        },
        Case {
            name: "hero",
            popup: true,
            build: |_| crate::tui_sequences::hero_app(),
        },
        Case {
            name: "sequence_name",
            popup: true,
            build: |_| {
                let mut app = crate::tui_sequences::sequence_app();
                app.on_key(key(KeyCode::Char('n')));
                type_text(&mut app, "night market");
                app
            },
        },
        Case {
            name: "cut_to",
            popup: true,
            build: |_| {
                let mut app = crate::tui_sequences::sequence_app();
                app.cwd = Some(std::path::PathBuf::from(
                    "/home/someone/films/a folder with a rather long name for the cut",
                ));
                app.on_key(key(KeyCode::Char('E')));
                app
            },
        },
        Case {
            name: "large_picture",
            popup: true,
            build: |dir| press(app_with_picture(dir), &[KeyCode::Char('p')]),
        },
        Case {
            name: "help",
            popup: true,
            build: |_| press(busy_app(), &[KeyCode::Char('?')]),
        },
        Case {
            name: "help_at_its_end",
            popup: true,
            build: |_| press(busy_app(), &[KeyCode::Char('?'), KeyCode::Char('G')]),
        },
        Case {
            name: "confirm_forget",
            popup: true,
            build: |_| press(on_job(busy_app(), 6), &[KeyCode::Char('x')]),
        },
        Case {
            name: "confirm_cancel",
            popup: true,
            build: |_| press(on_job(busy_app(), 4), &[KeyCode::Char('c')]),
        },
        Case {
            name: "confirm_resend",
            popup: true,
            build: |_| press(on_job(busy_app(), 13), &[KeyCode::Char('R')]),
        },
        Case {
            name: "confirm_retry_batch",
            popup: true,
            build: |_| {
                let mut app = batch_app();
                app.queue.selected = Some(RowKey::Batch("shots".into()));
                press(app, &[KeyCode::Char('R')])
            },
        },
        Case {
            name: "confirm_quit",
            popup: true,
            build: |_| press(busy_app(), &[KeyCode::Char('q')]),
        },
        Case {
            name: "batch_plan",
            popup: true,
            build: batch_plan_app,
        },
        Case {
            name: "history_search",
            popup: true,
            build: |_| history_app(),
        },
        Case {
            name: "multi_shot_editor",
            popup: true,
            build: |_| multi_shot_app(),
        },
        Case {
            name: "refused_submission",
            popup: true,
            build: |_| refused_app(),
        },
        Case {
            name: "path_input",
            popup: true,
            build: |_| {
                let mut app = busy_app();
                while app.focus != Focus::Sidebar {
                    app.on_key(key(KeyCode::Tab));
                }
                while FIELDS[app.field] != Field::StartImage {
                    app.on_key(key(KeyCode::Char('j')));
                }
                app.on_key(key(KeyCode::Enter));
                type_text(&mut app, "refs/a-start-frame-with-a-rather-long-name.png");
                app
            },
        },
        Case {
            name: "reference_list",
            popup: true,
            build: |_| {
                let mut app = busy_app();
                app.request.reference_images = [
                    "asset_fox",
                    "refs/a-hat-seen-from-the-side-in-soft-light-with-a-rather-long-name.png",
                ]
                .map(kling_tui::kling::AssetId::new)
                .to_vec();
                while app.focus != Focus::Sidebar {
                    app.on_key(key(KeyCode::Tab));
                }
                while FIELDS[app.field] != Field::ReferenceImages {
                    app.on_key(key(KeyCode::Char('j')));
                }
                app.on_key(key(KeyCode::Enter));
                app
            },
        },
        Case {
            name: "confirm_submit_again",
            popup: true,
            build: |_| {
                use kling_tui::engine::{Command, Event};
                use kling_tui::tui::app::Effect;
                let mut app = busy_app();
                let effects = app.on_key(ctrl('r'));
                let seq = effects.iter().find_map(|e| match e {
                    Effect::Engine(Command::Submit { seq, .. }) => Some(*seq),
                    _ => None,
                });
                let seq = seq.expect("the busy app's request is sent");
                app.on_engine(Event::Submitted { seq, local_id: 15 });
                app.on_key(ctrl('r'));
                app
            },
        },
        Case {
            name: "batch_file_with_choices",
            popup: true,
            build: |_| {
                let mut app = press(busy_app(), &[KeyCode::Char('b')]);
                // Paths of this repository, which the tests run in: the same choices anywhere.
                type_text(&mut app, "src/tui/popup/h");
                app.on_key(key(KeyCode::Tab));
                app
            },
        },
    ]
}

fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render::draw(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

/// The open popup alone, over a background of markers.
fn draw_overlay_alone(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            let area = frame.area();
            let buffer = frame.buffer_mut();
            for y in area.top()..area.bottom() {
                for x in area.left()..area.right() {
                    buffer[(x, y)].set_symbol(MARKER);
                }
            }
            render::draw_overlay(frame, app);
        })
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The rows of a screen as text, a wide character once.
fn rows(text: &str) -> Vec<Vec<char>> {
    text.lines().map(|l| l.chars().collect()).collect()
}

/// Fails when a part of a long text shows cut without `…`.
fn check_cuts(name: &str, text: &str) {
    let lines = rows(text);
    for long in LONG_TEXTS {
        let long: Vec<char> = long.chars().collect();
        let probe = 12.min(long.len());
        for (y, line) in lines.iter().enumerate() {
            let mut x = 0;
            while x + probe <= line.len() {
                if line[x..x + probe] != long[..probe] {
                    x += 1;
                    continue;
                }
                let mut n = probe;
                while n < long.len() && x + n < line.len() && line[x + n] == long[n] {
                    n += 1;
                }
                let next = line.get(x + n).copied();
                // Where the shown text stops (a blank, a border, the end of the row), the text
                // was cut or wrapped; another letter means another text that starts alike.
                let stops = next.is_none_or(|c| " │┐┘─…".contains(c));
                if n < long.len() && stops {
                    let cut_with_ellipsis = next == Some('…');
                    // Wrapped: the rest of the line is blank up to a border or its end, and
                    // the next line goes on with the next word.
                    let rest_blank = line[x + n..]
                        .iter()
                        .take_while(|c| **c != '│')
                        .all(|c| *c == ' ');
                    let rest: String = long[n..].iter().collect();
                    let rest: String = rest.trim_start().chars().take(6).collect();
                    let wrapped = rest_blank
                        && lines
                            .get(y + 1)
                            .is_some_and(|l| l.iter().collect::<String>().contains(&rest));
                    assert!(
                        cut_with_ellipsis || wrapped,
                        "{name}: {:?} cut without … at row {y}:\n{text}",
                        long.iter().collect::<String>()
                    );
                }
                x += n.max(1);
            }
        }
    }
}

/// The rectangle a popup drew in, from the cells it drew something in.
fn overlay_rect(alone: &Buffer) -> Option<Rect> {
    let area = alone.area;
    let (mut left, mut top, mut right, mut bottom) = (u16::MAX, u16::MAX, 0, 0);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            // Blank cells beside a popup are the gap it keeps from the panes.
            if ![MARKER, " "].contains(&alone[(x, y)].symbol()) {
                left = left.min(x);
                top = top.min(y);
                right = right.max(x);
                bottom = bottom.max(y);
            }
        }
    }
    (left != u16::MAX).then(|| Rect::new(left, top, right - left + 1, bottom - top + 1))
}

/// Fails when a popup leaves markers inside itself, has a broken border, draws outside its
/// rectangle or leaves a sliver of the panes beside it; and when the screen shows anything
/// but the popup inside its rectangle.
fn check_overlay(name: &str, app: &mut App, width: u16, height: u16) {
    let alone = draw_overlay_alone(app, width, height);
    let full = draw(app, width, height);
    let rect = overlay_rect(&alone).unwrap_or_else(|| panic!("{name}: no popup drawn"));
    let picture = |x: u16, y: u16| format!("{name} at {width}×{height}, cell ({x}, {y})");
    for y in rect.top()..rect.bottom() {
        for x in rect.left()..rect.right() {
            assert_ne!(
                alone[(x, y)].symbol(),
                MARKER,
                "{}: not covered",
                picture(x, y)
            );
            assert_eq!(
                alone[(x, y)].symbol(),
                full[(x, y)].symbol(),
                "{}: the panes show through",
                picture(x, y)
            );
        }
    }
    // Outside it, at most the blank column either side.
    for y in 0..height {
        for x in 0..width {
            let inside = rect.contains(ratatui::layout::Position::new(x, y));
            let beside = (x + 1 == rect.left() || x == rect.right())
                && (rect.top()..rect.bottom()).contains(&y);
            if !inside {
                let allowed: &[&str] = if beside { &[MARKER, " "] } else { &[MARKER] };
                assert!(
                    allowed.contains(&alone[(x, y)].symbol()),
                    "{}: drawn outside the popup",
                    picture(x, y)
                );
            }
        }
    }
    // The border: corners, and sides of box-drawing characters (joins where a popup stacks
    // two boxes).
    let at = |x: u16, y: u16| alone[(x, y)].symbol().to_string();
    let (l, r, t, b) = (rect.left(), rect.right() - 1, rect.top(), rect.bottom() - 1);
    assert_eq!(at(l, t), "┌", "{}", picture(l, t));
    assert_eq!(at(r, t), "┐", "{}", picture(r, t));
    assert_eq!(at(l, b), "└", "{}", picture(l, b));
    assert_eq!(at(r, b), "┘", "{}", picture(r, b));
    for y in t + 1..b {
        assert!(
            ["│", "└", "┌", "├"].contains(&at(l, y).as_str()),
            "{}: left border broken",
            picture(l, y)
        );
        assert!(
            ["│", "┘", "┐", "┤"].contains(&at(r, y).as_str()),
            "{}: right border broken",
            picture(r, y)
        );
    }
    // No sliver of a pane: flush with each edge of the panes' area, or a margin away.
    let main_height = height - 1;
    let gaps_x = [rect.left(), width - rect.right()];
    let gaps_y = [rect.top(), main_height.saturating_sub(rect.bottom())];
    for gap in gaps_x {
        assert!(
            gap == 0 || gap >= MARGIN_X,
            "{name} at {width}×{height}: a sliver {gap} wide beside the popup {rect:?}"
        );
    }
    for gap in gaps_y {
        assert!(
            gap == 0 || gap >= MARGIN_Y,
            "{name} at {width}×{height}: a sliver {gap} high beside the popup {rect:?}"
        );
    }
    assert!(
        rect.bottom() <= main_height,
        "{name}: the popup covers the status bar"
    );
}

#[test]
fn every_view_and_popup_at_three_sizes() {
    for case in cases() {
        let mut shots = String::new();
        for (width, height) in SIZES {
            let dir = tempfile::tempdir().unwrap();
            let mut app = (case.build)(dir.path());
            assert_eq!(
                app.popup.is_some(),
                case.popup,
                "{}: a popup open or not as the case says",
                case.name
            );
            let text = screen(&mut app, width, height);
            check_cuts(case.name, &text);
            if case.popup {
                check_overlay(case.name, &mut app, width, height);
            }
            shots.push_str(&format!("── {width}×{height} ──\n{text}"));
        }
        insta::assert_snapshot!(case.name, shots);
    }
}

#[test]
fn a_narrow_terminal_stacks_the_panes_and_cuts_with_an_ellipsis() {
    for (width, height) in [(60, 20), (79, 30)] {
        let text = screen(&mut busy_app(), width, height);
        check_cuts("narrow", &text);
        let mut parameters = busy_app();
        parameters.focus = Focus::Sidebar;
        check_cuts("narrow parameters", &screen(&mut parameters, width, height));
        let mut confirm = press(on_job(busy_app(), 6), &[KeyCode::Char('x')]);
        check_overlay("narrow confirm", &mut confirm, width, height);
    }
}

#[test]
fn the_cut_helper_says_it_cut() {
    assert_eq!(fit("short", 10), "short");
    assert_eq!(fit("exactly10!", 10), "exactly10!");
    assert_eq!(fit("eleven wide", 10), "eleven wi…");
    // A space before the cut goes, so the ellipsis follows a word.
    assert_eq!(fit("one two three", 8), "one two…");
    // Wide characters count two and are never split.
    assert_eq!(fit("狐狸在雪中", 6), "狐狸…");
    assert_eq!(width_of(&fit("狐狸在雪中", 6)), 5);
    assert_eq!(fit("anything", 0), "");
    assert_eq!(fit("anything", 1), "…");
    for width in 0..30 {
        for text in LONG_TEXTS {
            let cut = fit(text, width);
            assert!(width_of(&cut) <= width, "{cut:?} wider than {width}");
            if width_of(text) > width && width > 0 {
                assert!(cut.ends_with('…'), "{cut:?} cut without …");
            } else if width_of(text) <= width {
                assert_eq!(&cut, text);
            }
        }
    }
    // Wrapping keeps every word, within the width.
    for text in LONG_TEXTS {
        for width in [8, 20, 33] {
            let lines = wrap(text, width);
            assert!(lines.iter().all(|l| width_of(l) <= width), "{lines:?}");
            assert_eq!(
                lines.join(" ").split_whitespace().collect::<String>(),
                text.split_whitespace().collect::<String>()
            );
        }
    }
}

#[test]
fn the_parameters_scroll_to_the_selected_field_and_keep_the_cost() {
    for (width, height) in SIZES {
        let mut app = warned_app();
        assert!(
            app.problems.len() >= 3,
            "problems stack: {:?}",
            app.problems
        );
        let text = screen(&mut app, width, height);
        assert!(text.contains("Multi-shot"), "{width}×{height}:\n{text}");
        assert!(text.contains("Cost:"), "{width}×{height}:\n{text}");
        // Back to the first field: it shows, the cost still does.
        while app.field > 0 {
            app.on_key(key(KeyCode::Char('k')));
        }
        let text = screen(&mut app, width, height);
        assert!(text.contains("Mode "), "{width}×{height}:\n{text}");
        assert!(text.contains("Cost:"), "{width}×{height}:\n{text}");
    }
}

/// The rows of the job list, by the job's prompt.
fn row_of<'a>(text: &'a str, prompt: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(prompt))
        .unwrap_or_else(|| panic!("no row for {prompt:?}:\n{text}"))
}

#[test]
fn the_job_list_chooses_its_columns_by_width() {
    // 80 columns: the state, the id and the prompt stay.
    let text = screen(&mut busy_app(), 80, 24);
    let row = row_of(&text, "drone over");
    assert!(
        row.contains("✓ success") && row.contains("0006dead"),
        "{row}"
    );
    // 200: the created date, the cost and the time it took too.
    let text = screen(&mut busy_app(), 200, 60);
    let row = row_of(&text, "an explosion of colour");
    assert!(row.contains("0008dead"), "{row}");
    assert!(row.contains("pro") && row.contains("5s"), "{row}");
    let created = (now() - jiff::SignedDuration::from_secs(8 * 60 + 7)).to_string();
    let created = kling_tui::units::local_time(&created, "%m-%d %H:%M").unwrap();
    assert!(row.contains(&created), "created: {row}");
    assert!(row.contains("2:21"), "took: {row}");
    let row = row_of(&text, "drone over");
    assert!(row.contains("75 CU"), "cost: {row}");
    // The Server view shows the same columns where it has them.
    let text = screen(&mut server_app(), 200, 60);
    let row = row_of(&text, "a teammate's shot");
    assert!(
        row.contains("◐ in-progress") && row.contains("7f3a9c0e"),
        "{row}"
    );
    assert!(row.contains("150 CU") && row.contains("pro"), "{row}");
}

#[test]
fn a_batch_header_is_never_cut_in_its_spend() {
    for width in [80, 90, 100, 120, 200] {
        let text = screen(&mut batch_app(), width, 30);
        let header = text
            .lines()
            .find(|l| l.contains('▾'))
            .unwrap_or_else(|| panic!("no header at {width}:\n{text}"));
        assert!(
            header.contains("CU of 400") || header.contains("/400 CU"),
            "{width}: {header}"
        );
    }
}

#[test]
fn the_help_lists_every_scope_and_scrolls_to_its_end() {
    for (width, height) in SIZES {
        let mut app = press(busy_app(), &[KeyCode::Char('?')]);
        let mut seen = String::new();
        let mut last = String::new();
        for _ in 0..40 {
            let text = screen(&mut app, width, height);
            seen.push_str(&text);
            if text == last {
                break;
            }
            last = text;
            app.on_key(key(KeyCode::PageDown));
        }
        assert!(matches!(app.popup, Some(Popup::Help(_))), "paging keeps it");
        for b in BINDINGS {
            assert!(seen.contains(b.scope.title()), "{:?} at {width}", b.scope);
        }
        for scope in PopupScope::ALL {
            assert!(seen.contains(scope.title()), "{scope:?} at {width}");
        }
        assert!(
            seen.lines()
                .any(|l| l.contains("Esc/Ctrl+C") && l.contains("drop the text")),
            "{width}"
        );
        // g goes back to the top, any other key closes.
        app.on_key(key(KeyCode::Char('g')));
        let top = screen(&mut app, width, height);
        assert!(top.contains("Anywhere"), "{top}");
        app.on_key(key(KeyCode::Char('x')));
        assert!(app.popup.is_none());
    }
}

#[test]
fn a_confirmation_shows_its_whole_question() {
    for (width, height) in SIZES {
        let mut app = press(on_job(busy_app(), 6), &[KeyCode::Char('x')]);
        // The popup's text alone, its lines joined.
        let alone = draw_overlay_alone(&mut app, width, height);
        let text: String = (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| alone[(x, y)].symbol())
                    .filter(|s| *s != MARKER)
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        let words: String = text
            .lines()
            .flat_map(|l| l.split('│'))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            words.contains(
                "Forget #6? It leaves the ledger; the job on the server and any files stay."
            ),
            "{width}×{height}:\n{text}"
        );
    }
}

#[test]
fn the_large_picture_fills_the_screen_at_its_aspect() {
    for (width, height) in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let mut app = press(app_with_picture(dir.path()), &[KeyCode::Char('p')]);
        assert!(picture_colours(&mut app, width, height).len() > 20);
        let buffer = draw(&mut app, width, height);
        // The cells the picture takes: coloured half-blocks.
        let (mut left, mut top, mut right, mut bottom) = (u16::MAX, u16::MAX, 0, 0);
        // The status bar (coloured too) is not in the picture.
        for y in 0..height - 1 {
            for x in 0..width {
                let cell = &buffer[(x, y)];
                let painted = cell.bg != ratatui::style::Color::Reset
                    || cell.symbol() == "▀"
                    || cell.symbol() == "▄";
                if painted {
                    left = left.min(x);
                    top = top.min(y);
                    right = right.max(x + 1);
                    bottom = bottom.max(y + 1);
                }
            }
        }
        let (inner_w, inner_h) = (width - 2, height - 3);
        let (w, h) = (right - left, bottom - top);
        // As wide or as tall as the screen allows, within a cell.
        assert!(
            w + 1 >= inner_w || h + 1 >= inner_h,
            "{width}×{height}: {w}×{h} of {inner_w}×{inner_h}"
        );
        // Centred, within a cell.
        let (space_l, space_r) = (left - 1, inner_w + 1 - right);
        assert!(
            space_l.abs_diff(space_r) <= 1,
            "{width}×{height}: {space_l} {space_r}"
        );
        // At its aspect (16:9, a cell twice as tall as wide), within a cell each way.
        let expected_h = (w as f64 * 9.0 / 16.0 / 2.0).round();
        assert!(
            (h as f64 - expected_h).abs() <= 1.5,
            "{width}×{height}: {w}×{h}"
        );
    }
}
