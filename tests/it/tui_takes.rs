//! Takes in a real terminal against `--demo`: a job made and saved, a sequence made with it
//! as its first shot, the next shot continued from its last frame in the Sequence view, the
//! continuation chosen for the second shot, then kept and re-rendered as its hero, and the
//! two chosen takes cut into one film with a chapter each.

use crate::common;
use crate::common::pty::{AppDirs, Key, queue_rows};

const FIRST: &str = "a red fox in snow";
const NEXT: &str = "the fox turns to the camera";

/// The Sequence view's shot rows and take rows, as drawn right of the list, above its foot.
fn sequence_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| {
            let mut panes = l.split('│').filter(|p| !p.is_empty());
            let _list = panes.next()?;
            Some(panes.next()?.trim_end().to_string())
        })
        .take_while(|right| !right.starts_with('─'))
        .filter(|right| !right.trim().is_empty())
        .collect()
}

#[test]
fn a_continued_take_lands_in_the_next_shot_is_chosen_kept_re_rendered_and_cut() {
    let dirs = AppDirs::new("");
    let app = dirs.demo_app();
    app.type_text(FIRST);
    app.wait_for("the prompt in the editor", |s| s.contains(FIRST));
    app.press(Key::Ctrl('r'));
    app.wait_for("the first job saved", |s| {
        queue_rows(s).iter().any(|r| r.contains("success")) && s.contains("✓ saved")
    });
    // To the job list, then the Sequence view: a sequence named "fox", #1 its first shot.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("Q");
    app.wait_for("the empty Sequence view", |s| {
        s.contains("None yet: n makes one")
    });
    app.type_text("n");
    app.wait_for("the name's input", |s| s.contains("New sequence"));
    app.type_text("fox");
    app.press(Key::Enter);
    app.wait_for("the sequence made", |s| {
        s.contains("sequence fox made") && s.contains("No shot yet")
    });
    app.type_text("a");
    app.wait_for("#1 as shot 1", |s| {
        sequence_rows(s)
            .iter()
            .any(|r| r.trim_start().starts_with("1 #1 "))
    });
    // C on shot 1: the editor takes #1's parameters and its last frame.
    app.type_text("C");
    let screen = app.wait_for("the continuation in the editor", |s| {
        s.contains("continuing #1 from its last frame")
    });
    assert!(!screen.contains("Sequences │"), "{screen}");
    app.type_text(NEXT);
    app.wait_for("the next prompt", |s| s.contains(NEXT));
    app.press(Key::Ctrl('r'));
    app.wait_for("the continuation linked and placed", |s| {
        s.contains("#2 continues #1, a take of shot 2 of fox")
    });
    app.wait_for("the continuation saved", |s| {
        queue_rows(s)
            .iter()
            .filter(|r| r.contains("success"))
            .count()
            == 2
    });
    // Back in the view: shot 2 holds #2, not chosen yet; choose it.
    app.keys(&[Key::Tab, Key::Tab]);
    app.type_text("Q");
    app.wait_for("shot 2 with its take", |s| {
        let rows = sequence_rows(s);
        rows.iter()
            .any(|r| r.trim_start().starts_with("2 no take chosen"))
            && rows.iter().any(|r| r.trim_start().starts_with("#2 "))
    });
    app.type_text("ljj");
    app.press(Key::Enter);
    // The shot shows its chosen take, the list counts it, and the other row is gone.
    app.wait_for("#2 chosen for shot 2", |s| {
        let rows = sequence_rows(s);
        rows.iter().any(|r| r.trim_start().starts_with("2 #2 "))
            && !rows.iter().any(|r| r.contains("no take chosen"))
            && s.contains("2 shots · 2 chosen")
    });
    // Kept, then its hero priced by a dry run and sent once confirmed: a take of its shot.
    app.press(Key::Esc);
    app.wait_for("the panes again", |s| s.contains(" Jobs "));
    app.type_text("K");
    app.wait_for("#2 kept", |s| s.contains("#2 kept"));
    app.type_text("H");
    app.wait_for("the hero priced", |s| s.contains("It costs"));
    app.type_text("y");
    app.wait_for("the hero linked and placed", |s| {
        s.contains("#3 is the hero of #2, a take of shot 2 of fox")
    });
    // The cut: E in the Sequence view, the film's path offered beside the app, Enter.
    app.type_text("Q");
    app.wait_for("the Sequence view again", |s| {
        s.contains("2 shots · 2 chosen")
    });
    app.type_text("E");
    let film = dirs.work.join("fox.mp4");
    app.wait_for("the film's path offered", |s| {
        s.contains("The cut of fox") && s.contains("fox.mp4")
    });
    app.press(Key::Enter);
    if !common::has_ffmpeg() {
        app.wait_for("the cut refused for want of ffmpeg", |s| {
            s.contains("the cut of fox failed") && s.contains("ffmpeg")
        });
        eprintln!("skipped the film's checks: ffmpeg/ffprobe are not on the PATH");
        return;
    }
    app.wait_for("the cut made", |s| {
        s.contains("cut of fox:") && s.contains("2 chapters")
    });
    let (duration, chapters) = common::probe_film(&film);
    // Two chosen takes of the simulator's 2-second clip, a chapter each.
    assert!((duration - 4.0).abs() <= 0.2, "{duration}");
    assert_eq!(chapters.len(), 2, "{chapters:?}");
    assert!(chapters[1].starts_with("Shot 2 · job 2 · "), "{chapters:?}");
}
