#[test]
fn a_file_whose_name_points_elsewhere_is_named_batch() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("..jsonl");
    std::fs::write(&file, "{\"prompt\": \"a fox\"}\n").unwrap();
    let (name, requests) = read(&file).unwrap();
    assert_eq!(name, "batch");
    assert_eq!(requests.len(), 1);
    let fifo = dir.path().join("pipe.jsonl");
    let path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a plain call with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let problems = read(&fifo).unwrap_err();
    assert!(problems[0].contains("not a regular file"), "{problems:?}");
}

use super::*;

fn ok(text: &str) -> Vec<Expanded> {
    match parse(text, Path::new("/nonexistent-base")) {
        Ok(requests) => requests,
        Err(problems) => panic!("unexpected problems: {problems:#?}"),
    }
}

fn refused(text: &str) -> Vec<String> {
    match parse(text, Path::new("/nonexistent-base")) {
        Ok(requests) => panic!("expected problems, got {} requests", requests.len()),
        Err(problems) => problems,
    }
}

/// A PNG that passes the checks: a real header of `w`×`h` (the pixels are not read).
fn png(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    let path = dir.join(name);
    std::fs::write(&path, b).unwrap();
    path
}

#[test]
fn groups_and_matrix_fields_multiply_in_written_order_last_fastest() {
    let got =
        ok(r#"{"prompt": "{a|b|c} {x|y}", "duration": [5, 10], "mode": ["standard", "pro"]}"#);
    assert_eq!(got.len(), 24);
    let mut expected = Vec::new();
    for first in ["a", "b", "c"] {
        for second in ["x", "y"] {
            for duration in [5, 10] {
                for mode in [Mode::Standard, Mode::Pro] {
                    expected.push((format!("{first} {second}"), duration, mode));
                }
            }
        }
    }
    let seen: Vec<_> = got
        .iter()
        .map(|e| (e.request.prompt.clone(), e.request.duration, e.request.mode))
        .collect();
    assert_eq!(seen, expected);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, e)| e.index == i && e.row == 1)
    );
    // Nothing else changed: the API's frame shape is filled in as `submit` does.
    assert!(
        got.iter()
            .all(|e| e.request.aspect_ratio == Some(AspectRatio::Landscape))
    );
}

#[test]
fn the_key_order_as_written_sets_the_loop_order() {
    let got =
        ok(r#"{"mode": ["standard", "pro"], "prompt": "{a|b}", "aspectRatio": ["1:1", "9:16"]}"#);
    let seen: Vec<String> = got
        .iter()
        .map(|e| {
            let r = &e.request;
            format!(
                "{} {} {}",
                r.mode,
                r.prompt,
                r.aspect_ratio.map_or("-", AspectRatio::as_str)
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "standard a 1:1",
            "standard a 9:16",
            "standard b 1:1",
            "standard b 9:16",
            "pro a 1:1",
            "pro a 9:16",
            "pro b 1:1",
            "pro b 9:16",
        ]
    );
}

#[test]
fn lines_follow_each_other_and_indexes_run_across_the_batch() {
    let got = ok(
        "# first a comment\n\n{\"prompt\": \"one {a|b}\"}\n   \n  # another\n{\"prompt\": \"two\", \"generateAudio\": [true, false]}\n",
    );
    let seen: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.row,
                e.index,
                e.request.prompt.as_str(),
                e.request.generate_audio,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (3, 0, "one a", None),
            (3, 1, "one b", None),
            (6, 2, "two", Some(true)),
            (6, 3, "two", Some(false)),
        ]
    );
}

#[test]
fn escapes_are_literal_and_a_plain_prompt_is_unchanged() {
    // In JSON a backslash is written twice: the prompt is `a \{b\} \| c \\ d \n`.
    let got = ok(r#"{"prompt": "a \\{b\\} \\| c \\\\ d \\n"}"#);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].request.prompt, r"a {b} | c \ d \n");
    let plain = "A cat, at dawn: 50% off | <<<image_1>>>";
    let got = ok(&format!(
        r#"{{"prompt": {}, "referenceImages": ["asset_r"]}}"#,
        serde_json::to_string(plain).unwrap()
    ));
    assert_eq!(got[0].request.prompt, plain);
}

#[test]
fn unclosed_nested_and_empty_groups_name_line_and_field() {
    let problems = refused(
        "{\"prompt\": \"ok\"}\n{\"prompt\": \"a {b|c\"}\n{\"prompt\": \"{a|{b}}\"}\n{\"prompt\": \"a {} b\"}\n{\"prompt\": \"x\", \"multiPrompt\": [{\"prompt\": \"{y\", \"duration\": 5}]}",
    );
    assert_eq!(
        problems,
        [
            "line 2: prompt: the group opened at character 3 is never closed (write \\{ for a literal brace)",
            "line 3: prompt: \"{\" at character 4 is inside the group opened at character 1; groups do not nest (write \\{ for a literal brace)",
            "line 4: prompt: the group at character 3 is empty; write {a|b} for alternatives",
            "line 5: multiPrompt[1].prompt: the group opened at character 1 is never closed (write \\{ for a literal brace)",
        ]
    );
}

#[test]
fn a_shots_prompt_alternatives_expand_and_the_shots_set_the_duration() {
    let got = ok(
        r#"{"prompt": "Two shots", "multiPrompt": [{"prompt": "A {cat|dog} jumps", "duration": 3}, {"prompt": "It {lands|falls}", "duration": 4}]}"#,
    );
    let seen: Vec<Vec<String>> = got
        .iter()
        .map(|e| {
            assert_eq!(e.request.duration, 7);
            e.request
                .multi_prompt
                .iter()
                .flatten()
                .map(|s| format!("{} {}", s.prompt, s.duration))
                .collect()
        })
        .collect();
    assert_eq!(
        seen,
        [
            ["A cat jumps 3", "It lands 4"],
            ["A cat jumps 3", "It falls 4"],
            ["A dog jumps 3", "It lands 4"],
            ["A dog jumps 3", "It falls 4"],
        ]
    );
}

#[test]
fn multi_prompt_as_the_apis_string_is_the_same_as_the_array() {
    let shots = r#"[{"prompt": "A {cat|dog} jumps", "duration": 2}, {"prompt": "It lands", "duration": 3}]"#;
    let as_array = ok(&format!(
        r#"{{"prompt": "p", "duration": 5, "multiPrompt": {shots}}}"#
    ));
    let as_string = ok(&format!(
        r#"{{"prompt": "p", "duration": 5, "multiPrompt": {}}}"#,
        serde_json::to_string(shots).unwrap()
    ));
    assert_eq!(as_array.len(), 2);
    assert_eq!(as_array, as_string);
    // On the wire it is a string again, as the API wants.
    let body = as_array[1].request.to_json();
    assert_eq!(
        body["multiPrompt"],
        r#"[{"prompt":"A dog jumps","duration":2},{"prompt":"It lands","duration":3}]"#
    );
}

#[test]
fn bad_lines_are_refused_by_number_with_every_problem_and_no_request() {
    let text = [
        r#"{"prompt": "fine"}"#,
        r#"{"prompt": "too long", "duration": [10, 20]}"#,
        r#"{"prompt": "typo", "durration": 5, "Mode": "pro", "colour": 1}"#,
        r#"{"prompt": "broken""#,
        r#"{"prompt": "x", "mode": ["pro", "ultra"], "duration": "ten", "generateAudio": "yes", "aspectRatio": 3}"#,
        r#"["not", "an", "object"]"#,
        r#"{"prompt": "x", "duration": [], "prompt": "y"}"#,
        r#"{"prompt": ["a", "b"]}"#,
        r#"{"prompt": "", "endImage": "asset_e", "multiPrompt": [{"prompt": "a", "duration": 2, "extra": 1}, {"prompt": 3}]}"#,
        r#"{"prompt": "<<<image_2>>> {a|b}", "referenceImages": ["asset_1"], "duration": [2, 16]}"#,
    ]
    .join("\n");
    let problems = refused(&text);
    assert_eq!(
        problems,
        [
            "line 2: duration: must be between 3 and 15 seconds, got 20",
            r#"line 3: unknown field "durration" (did you mean "duration"?)"#,
            r#"line 3: unknown field "Mode" (did you mean "mode"?)"#,
            r#"line 3: unknown field "colour"; the fields are prompt, mode, aspectRatio, duration, multiPrompt, generateAudio, keepOriginalSound, videoReferenceType, startImage, endImage, referenceImages, referenceVideo"#,
            "line 4: not JSON: EOF while parsing an object at column 19",
            r#"line 5: mode: "ultra" is not one of standard pro 4k"#,
            r#"line 5: duration: must be a whole number of seconds, got "ten""#,
            r#"line 5: generateAudio: must be true or false, got "yes""#,
            "line 5: aspectRatio: must be a string, got 3",
            r#"line 6: must be a JSON object of request fields, like {"prompt": "..."}"#,
            "line 7: duration: an empty list gives no request",
            r#"line 7: "prompt" is given twice"#,
            "line 8: prompt: must be a string; write {a|b} in it for alternatives",
            "line 9: multiPrompt[1]: unknown field `extra`, expected `prompt` or `duration`",
            "line 9: multiPrompt[2]: invalid type: integer `3`, expected a string",
            // Each message once per line, though four requests break the rule.
            "line 10: duration: must be between 3 and 15 seconds, got 2",
            "line 10: prompt: <<<image_2>>> needs reference image 2, but 1 given",
            "line 10: duration: must be between 3 and 15 seconds, got 16",
        ]
    );
}

#[test]
fn every_rule_of_an_expanded_request_is_reported() {
    let problems =
        refused(r#"{"prompt": " ", "endImage": "asset_e", "aspectRatio": null, "duration": 2}"#);
    assert_eq!(
        problems,
        [
            "line 1: prompt: must not be empty",
            "line 1: duration: must be between 3 and 15 seconds, got 2",
            "line 1: endImage: needs a startImage",
        ]
    );
}

#[test]
fn null_leaves_a_field_out_and_a_start_frame_sets_the_shape() {
    let got = ok(
        r#"{"prompt": "p", "startImage": [null, "asset_s"], "aspectRatio": null, "mode": null}"#,
    );
    let seen: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.request.start_image.clone(),
                e.request.aspect_ratio,
                e.request.mode,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (None, Some(AspectRatio::Landscape), Mode::Pro),
            (Some(AssetId::new("asset_s")), None, Mode::Pro),
        ]
    );
}

#[test]
fn windows_line_ends_and_a_byte_order_mark_are_not_part_of_the_json() {
    let got = ok("\u{feff}{\"prompt\": \"a\"}\r\n# note\r\n{\"prompt\": \"b\"}\r\n");
    let seen: Vec<_> = got
        .iter()
        .map(|e| (e.row, e.request.prompt.as_str()))
        .collect();
    assert_eq!(seen, [(1, "a"), (3, "b")]);
}

#[test]
fn a_batch_with_no_request_is_refused() {
    assert_eq!(
        refused("\n# only a comment\n  \n"),
        ["the batch has no request: every line is blank or a comment"]
    );
}

#[test]
fn relative_paths_resolve_against_the_base_dir_and_each_file_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("img")).unwrap();
    let start = png(&dir.path().join("img"), "start.png", 1000, 800);
    let small = png(dir.path(), "small.png", 100, 100);
    // Line 3 names small.png twice, once absolute and once relative: one file, one check.
    let absolute = serde_json::to_string(small.to_str().unwrap()).unwrap();
    let text = [
        r#"{"prompt": "p", "startImage": "img/start.png", "endImage": ["img/start.png", "asset_end"], "referenceImages": ["missing.png", "img/start.png"]}"#.to_string(),
        r#"{"prompt": "q", "startImage": "missing.png", "referenceVideo": "small.png"}"#.to_string(),
        format!(r#"{{"prompt": "r", "startImage": {absolute}, "referenceImages": ["small.png"]}}"#),
    ]
    .join("\n");
    let problems = parse(&text, dir.path()).unwrap_err();
    let missing = dir.path().join("missing.png");
    let small_shown = small.display();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!(
            "line 1: referenceImages[0]: {}: cannot read it:",
            missing.display()
        )),
        "{problems:#?}"
    );
    assert_eq!(
        problems[1],
        format!("line 2: referenceVideo: {small_shown}: is an image (PNG), a video is needed here")
    );
    assert!(
        problems[2].starts_with(&format!("line 3: startImage: {small_shown}: ")),
        "{problems:#?}"
    );

    // Without the broken files the same paths come back absolute.
    let text = r#"{"prompt": "p", "startImage": "img/start.png", "endImage": ["img/start.png", "asset_end"], "referenceImages": ["./img/start.png"]}"#;
    let got = parse(text, dir.path()).unwrap();
    let start = start.to_str().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].request.start_image, Some(AssetId::new(start)));
    assert_eq!(got[0].request.end_image, Some(AssetId::new(start)));
    assert_eq!(got[1].request.end_image, Some(AssetId::new("asset_end")));
    // `./` is dropped on the way: the same file has one spelling.
    assert_eq!(got[1].request.reference_images, [AssetId::new(start)]);
    assert!(
        got.iter()
            .all(|e| Path::new(e.request.start_image.as_ref().unwrap().as_str()).is_absolute())
    );
}

#[test]
fn a_file_named_by_many_requests_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let problems = parse(
        "{\"prompt\": \"{a|b|c}\", \"startImage\": \"gone.png\"}\n{\"prompt\": \"d\", \"startImage\": \"gone.png\"}",
        dir.path(),
    )
    .unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("line 1: startImage: "),
        "{problems:#?}"
    );
    assert!(
        problems[0].contains("gone.png: cannot read it"),
        "{problems:#?}"
    );
}

#[test]
fn an_asset_id_that_is_a_file_beside_the_batch_is_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = png(dir.path(), "asset_local.png", 1000, 1000);
    let got = parse(
        r#"{"prompt": "p", "startImage": "asset_local.png", "endImage": "asset_remote"}"#,
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        got[0].request.start_image,
        Some(AssetId::new(file.to_str().unwrap()))
    );
    assert_eq!(got[0].request.end_image, Some(AssetId::new("asset_remote")));
}

#[test]
fn ten_thousand_requests_pass_and_one_more_line_is_refused_by_number() {
    let line = r#"{"prompt": "{0|1|2|3|4|5|6|7|8|9}{0|1|2|3|4|5|6|7|8|9}{0|1|2|3|4|5|6|7|8|9}", "duration": [3,4,5,6,7,8,9,10,11,12]}"#;
    let got = ok(line);
    assert_eq!(got.len(), MAX_REQUESTS);
    assert_eq!(got[MAX_REQUESTS - 1].request.prompt, "999");
    assert_eq!(got[MAX_REQUESTS - 1].request.duration, 12);

    let problems = refused(&format!(
        "{line}\n# a comment\n{{\"prompt\": \"one more\"}}\n{{\"prompt\": \"{{a|b}}\", \"mode\": \"bad\"}}"
    ));
    assert_eq!(
        problems,
        [
            "line 3: the batch would have more than 10000 requests: this line adds 1, after 10000 from the lines before it",
            // Lines after it are still read for problems.
            r#"line 4: mode: "bad" is not one of standard pro 4k"#,
        ]
    );

    // A line too large to count is refused without trying.
    let huge = format!(r#"{{"prompt": "{}"}}"#, "{a|b}".repeat(70));
    assert_eq!(
        refused(&huge),
        [
            "line 1: the batch would have more than 10000 requests: this line adds more than can be counted, after 0 from the lines before it"
        ]
    );
}

#[test]
fn summary_is_one_short_clean_line() {
    let got = ok(&format!(
        r#"{{"prompt": "\u001b[31mred\u001b[0m {}", "mode": "standard", "duration": 10, "aspectRatio": "9:16"}}"#,
        "x".repeat(100)
    ));
    let summary = got[0].summary();
    assert_eq!(
        summary,
        format!("#1     standard 10s 9:16  red {}…", "x".repeat(68))
    );
    assert!(!summary.contains('\u{1b}'));
}

#[test]
fn read_names_the_batch_after_its_file_and_resolves_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let start = png(dir.path(), "frame.png", 1000, 1000);
    let file = dir.path().join("spring-ads.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"p\", \"startImage\": \"frame.png\"}\n",
    )
    .unwrap();
    let (name, got) = read(&file).unwrap();
    assert_eq!(name, "spring-ads");
    assert_eq!(
        got[0].request.start_image,
        Some(AssetId::new(start.to_str().unwrap()))
    );

    let gone = dir.path().join("gone.jsonl");
    let problems = read(&gone).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(&format!("{}: cannot read it:", gone.display())),
        "{problems:#?}"
    );
}

#[test]
fn unknown_fields_suggest_the_closest_known_one() {
    assert_eq!(
        unknown_field("aspect_ratio"),
        r#"unknown field "aspect_ratio" (did you mean "aspectRatio"?)"#
    );
    assert_eq!(
        unknown_field("refrenceImage"),
        r#"unknown field "refrenceImage" (did you mean "referenceImages"?)"#
    );
    assert!(unknown_field("seed").contains("the fields are prompt, mode"));
}

#[test]
fn a_cap_lets_requests_through_in_order_until_the_first_that_would_go_over() {
    let quotes = [Some(50.0), Some(100.0), Some(50.0), Some(100.0), Some(50.0)];
    assert_eq!(fitting(&quotes, 200.0), (3, 200.0));
    // The fifth would fit after the fourth is held, but the engine holds in order.
    assert_eq!(fitting(&quotes, 250.0), (3, 200.0));
    assert_eq!(fitting(&quotes, 350.0), (5, 350.0));
    assert_eq!(fitting(&quotes, 10.0), (0, 0.0));
    // A request with no price is held until it has one, and those after it with it.
    assert_eq!(fitting(&[Some(50.0), None, Some(50.0)], 1000.0), (1, 50.0));
}
