use super::*;

fn takes() -> (tempfile::TempDir, Takes) {
    let dir = tempfile::tempdir().unwrap();
    let takes = Takes::open(dir.path()).unwrap();
    (dir, takes)
}

#[test]
fn marks_are_set_changed_cleared_and_listed() {
    let (_dir, t) = takes();
    t.mark(3, Some(Mark::Reject), Some("motion")).unwrap();
    t.mark(5, Some(Mark::Keep), None).unwrap();
    assert_eq!(
        t.mark_of(3).unwrap().unwrap().reason.as_deref(),
        Some("motion")
    );
    // A change replaces the reason with the new mark's.
    t.mark(3, Some(Mark::Keep), None).unwrap();
    let kept = t.marked(Some(Mark::Keep)).unwrap();
    assert_eq!(kept.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(kept[0].1.reason, None);
    t.mark(5, None, None).unwrap();
    assert_eq!(t.mark_of(5).unwrap(), None);
    assert!(t.marked(Some(Mark::Reject)).unwrap().is_empty());
    let err = t.mark(5, Some(Mark::Keep), Some("motion")).unwrap_err();
    assert!(err.to_string().contains("goes with a reject"), "{err}");
}

#[test]
fn reasons_are_the_built_in_list_and_the_users_own_checked_loosely() {
    let reasons = RejectReasons::new(&["  too dark ".into(), "motion".into()]);
    assert_eq!(reasons.all().len(), DEFAULT_REASONS.len() + 1);
    assert_eq!(reasons.check("Face  Drift").unwrap(), "face drift");
    assert_eq!(reasons.check("too dark").unwrap(), "too dark");
    let err = reasons.check("fase drift").unwrap_err().to_string();
    assert!(err.contains("not one of: face drift, motion"), "{err}");
    assert!(err.contains("reject_reasons = [\"fase drift\"]"), "{err}");
}

#[test]
fn links_name_one_parent_and_list_children() {
    let (_dir, t) = takes();
    t.link(2, 1, LinkKind::Continues).unwrap();
    t.link(3, 1, LinkKind::Hero).unwrap();
    assert_eq!(t.parent_of(2).unwrap(), Some((1, LinkKind::Continues)));
    assert_eq!(t.parent_of(1).unwrap(), None);
    assert_eq!(
        t.children_of(1).unwrap(),
        [(2, LinkKind::Continues), (3, LinkKind::Hero)]
    );
    assert!(t.link(4, 4, LinkKind::Hero).is_err());
}

#[test]
fn a_sequence_of_three_shots_with_two_takes_each_one_chosen() {
    let (_dir, t) = takes();
    t.new_sequence("pier at dusk").unwrap();
    assert!(
        t.new_sequence(" pier at dusk ")
            .unwrap_err()
            .to_string()
            .contains("already")
    );
    assert_eq!(t.add_shot("pier at dusk", Some(1)).unwrap(), 1);
    t.add_take("pier at dusk", 1, 2).unwrap();
    // One past the last shot makes a new one.
    t.add_take("pier at dusk", 2, 3).unwrap();
    t.choose("pier at dusk", 2, 4).unwrap();
    t.add_take("pier at dusk", 3, 5).unwrap();
    t.add_take("pier at dusk", 3, 6).unwrap();
    t.add_take("pier at dusk", 3, 6).unwrap();
    t.choose("pier at dusk", 3, 5).unwrap();
    let err = t.add_take("pier at dusk", 9, 7).unwrap_err().to_string();
    assert!(
        err.contains("has 3 shots; a take goes to shots 1 to 4"),
        "{err}"
    );
    let seq = t.sequence("pier at dusk").unwrap();
    let shape: Vec<(u32, Option<LocalId>, Vec<LocalId>)> = seq
        .shots
        .iter()
        .map(|s| (s.position, s.chosen, s.takes.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (1, Some(1), vec![1, 2]),
            (2, Some(4), vec![3, 4]),
            (3, Some(5), vec![5, 6])
        ]
    );
    assert_eq!(
        t.placements(4).unwrap(),
        [Placement {
            sequence: "pier at dusk".into(),
            shot: 2,
            take: 2,
            chosen: true
        }]
    );
    let list = t.sequences().unwrap();
    assert_eq!((list[0].shots, list[0].chosen, list[0].takes), (3, 3, 6));
}

#[test]
fn shots_move_and_go_renumbering_the_rest() {
    let (_dir, t) = takes();
    t.new_sequence("s").unwrap();
    for job in [10, 20, 30, 40] {
        t.add_shot("s", Some(job)).unwrap();
    }
    t.move_shot("s", 4, 1).unwrap();
    let order = |t: &Takes| -> Vec<Option<LocalId>> {
        t.sequence("s")
            .unwrap()
            .shots
            .iter()
            .map(|s| s.chosen)
            .collect()
    };
    assert_eq!(order(&t), [Some(40), Some(10), Some(20), Some(30)]);
    t.move_shot("s", 1, 3).unwrap();
    assert_eq!(order(&t), [Some(10), Some(20), Some(40), Some(30)]);
    let err = t.move_shot("s", 5, 1).unwrap_err().to_string();
    assert!(err.contains("shots 1 to 4; there is no shot 5"), "{err}");
    t.remove_shot("s", 2).unwrap();
    assert_eq!(order(&t), [Some(10), Some(40), Some(30)]);
    let positions: Vec<u32> = t
        .sequence("s")
        .unwrap()
        .shots
        .iter()
        .map(|s| s.position)
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    // The removed shot's takes went with it.
    assert!(t.placements(20).unwrap().is_empty());
}

#[test]
fn unknown_sequences_and_bad_names_are_refused_with_what_to_do() {
    let (_dir, t) = takes();
    let err = t.sequence("nope").unwrap_err().to_string();
    assert!(err.contains("kling-tui seq new \"nope\""), "{err}");
    assert!(t.new_sequence("  ").is_err());
    assert!(t.new_sequence("a\u{1b}[2Jb").is_err());
    assert!(t.new_sequence(&"x".repeat(65)).is_err());
}

#[test]
fn a_sidecar_is_written_whole_and_never_through_a_link_planted_where_it_is_made() {
    let (dir, t) = takes();
    let video = dir.path().join("v.mp4");
    std::fs::write(&video, b"the server's bytes").unwrap();
    let victim = dir.path().join("notes.txt");
    std::fs::write(&victim, b"mine").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join(".v.mp4.json.part")).unwrap();
    let mut job = crate::engine::JobRecord::new(
        4,
        "2026-12-01T10:00:00Z".into(),
        kling::KlingRequest::new("a pier at dusk"),
    );
    job.downloads = vec![crate::engine::DownloadRecord {
        asset_id: "asset_v".into(),
        file: Some(video.clone()),
        size: Some(18),
        last_frame: Some("asset_v_last".into()),
        ..crate::engine::DownloadRecord::default()
    }];
    t.mark(4, Some(Mark::Keep), None).unwrap();
    assert_eq!(sidecar::write(&t, &job), Ok(1));
    assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
    assert_eq!(std::fs::read(&video).unwrap(), b"the server's bytes");
    let side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sidecar::path_for(&video)).unwrap()).unwrap();
    assert_eq!(side["mark"], "keep");
    assert_eq!(side["video"]["lastFrame"], "asset_v_last");
    assert!(!dir.path().join(".v.mp4.json.part").exists());
}
