use super::*;
use crate::api::types::JobStatus;
use crate::engine::job::Submission;

fn intent(l: &mut Ledger, prompt: &str) -> LocalId {
    l.record_intent(
        "2026-01-01T00:00:00Z".into(),
        KlingRequest::new(prompt),
        None,
        None,
    )
    .unwrap()
}

#[test]
fn records_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut l = Ledger::open(dir.path()).unwrap();
        let a = intent(&mut l, "a");
        let b = intent(&mut l, "b");
        l.append(
            Record::Accepted {
                local_id: a,
                job_id: "job_a".into(),
                cost: Some(5.0),
            },
            true,
        )
        .unwrap();
        l.append(
            Record::Status {
                local_id: a,
                status: JobStatus::Success,
                progress: 1.0,
                asset_ids: vec!["asset_1".into(), "asset_2".into()],
                error: None,
                cost: Some(5.0),
                hint: Some("none".into()),
                history: vec![crate::api::types::StatusChange {
                    date: "d".into(),
                    status: JobStatus::Pending,
                }],
            },
            false,
        )
        .unwrap();
        l.append(
            Record::Downloaded {
                local_id: a,
                index: 1,
                file: "out/a_2.mp4".into(),
                size: Some(99),
                last_frame: Some("asset_2_last".into()),
                duration: Some(5.04),
            },
            true,
        )
        .unwrap();
        l.append(
            Record::Unconfirmed {
                local_id: b,
                reason: "timeout".into(),
            },
            true,
        )
        .unwrap();
    }
    let mut l = Ledger::open(dir.path()).unwrap();
    let jobs: Vec<_> = l.jobs().values().cloned().collect();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].job_id.as_deref(), Some("job_a"));
    assert_eq!(jobs[0].status, Some(JobStatus::Success));
    assert_eq!(jobs[0].history.len(), 1);
    assert_eq!(jobs[0].hint.as_deref(), Some("none"));
    assert_eq!(jobs[0].downloads.len(), 2);
    assert!(!jobs[0].downloads[0].is_done());
    assert_eq!(
        jobs[0].downloads[1].recorded(),
        Some((Path::new("out/a_2.mp4"), 99))
    );
    // What the next shot starts from, and the video's length, kept with the file.
    assert_eq!(
        jobs[0].downloads[1].last_frame.as_deref(),
        Some("asset_2_last")
    );
    assert_eq!(jobs[0].downloads[1].duration, Some(5.04));
    assert_eq!(jobs[0].downloads[0].last_frame, None);
    assert!(matches!(jobs[1].submission, Submission::Unconfirmed { .. }));
    assert_eq!(intent(&mut l, "c"), 3);
    assert!(l.take_notices().is_empty());
}

#[test]
fn a_forgotten_jobs_number_is_never_given_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut l = Ledger::open(dir.path()).unwrap();
        intent(&mut l, "a");
        let b = intent(&mut l, "b");
        l.append(Record::Forgotten { local_id: b }, true).unwrap();
        assert_eq!(l.jobs().len(), 1);
    }
    let mut l = Ledger::open(dir.path()).unwrap();
    assert_eq!(intent(&mut l, "c"), 3);
}

#[test]
fn the_last_local_id_is_never_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "{{\"type\":\"intent\",\"local_id\":{},\"created_at\":\"x\",\"request\":{}}}\n",
        i64::MAX - 1,
        serde_json::to_string(&KlingRequest::new("near the end")).unwrap()
    );
    std::fs::write(dir.path().join(JOURNAL_0_1), line).unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    assert_eq!(intent(&mut l, "last"), i64::MAX as LocalId);
    let err = l
        .record_intent("x".into(), KlingRequest::new("one too many"), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no local job number is left"), "{err}");
    assert_eq!(l.jobs().len(), 2, "nothing recorded for the refused one");
    drop(l);
    let l = Ledger::open(dir.path()).unwrap();
    let ids: Vec<_> = l.jobs().keys().copied().collect();
    assert_eq!(ids, [i64::MAX as LocalId - 1, i64::MAX as LocalId]);
}

#[test]
fn a_second_writer_is_refused_but_reading_works_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Ledger::open(dir.path()).unwrap();
    intent(&mut first, "a");
    let err = Ledger::open(dir.path()).err().unwrap();
    assert!(
        err.to_string().contains("in use by another kling-tui"),
        "{err}"
    );
    assert_eq!(Ledger::read_only(dir.path()).unwrap().len(), 1);
    intent(&mut first, "b");
    assert_eq!(Ledger::read_only(dir.path()).unwrap().len(), 2);
}

#[test]
fn a_0_1_journal_with_a_torn_tail_is_taken_over_once() {
    let dir = tempfile::tempdir().unwrap();
    let request = serde_json::to_string(&KlingRequest::new("kept")).unwrap();
    std::fs::write(
        dir.path().join(JOURNAL_0_1),
        format!(
            "{{\"type\":\"intent\",\"local_id\":1,\"created_at\":\"x\",\"request\":{request}}}\n\
             {{\"type\":\"accepted\",\"local_id\":1,\"job_id\":\"job_1\",\"cost\":5.0}}\n\
             {{\"type\":\"intent\",\"local_id\":2,\"created_at\":\"x\",\"requ"
        ),
    )
    .unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let notices = l.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("took over the 0.1 journal")),
        "{notices:?}"
    );
    assert!(!dir.path().join(JOURNAL_0_1).exists());
    assert!(dir.path().join("journal.jsonl.imported").exists());
    assert_eq!(l.job(1).unwrap().job_id.as_deref(), Some("job_1"));
    // The torn intent's number is known: it is never given again, and its text is kept.
    assert_eq!(intent(&mut l, "after"), 3);
    let raw: String = l
        .conn
        .query_row("SELECT raw FROM damaged_records", [], |r| r.get(0))
        .unwrap();
    assert!(raw.contains("\"local_id\":2"), "{raw}");
    drop(l);
    let mut l = Ledger::open(dir.path()).unwrap();
    let notices = l.take_notices();
    assert!(
        !notices.iter().any(|n| n.contains("took over")),
        "said once: {notices:?}"
    );
}

#[test]
fn a_damaged_database_file_stops_with_how_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut l = Ledger::open(dir.path()).unwrap();
        intent(&mut l, "a");
    }
    let path = dir.path().join(FILE_NAME);
    let _ = std::fs::remove_file(dir.path().join("ledger.sqlite3-wal"));
    let _ = std::fs::remove_file(dir.path().join("ledger.sqlite3-shm"));
    std::fs::write(&path, b"this is no database, just bytes where one was").unwrap();
    for err in [
        Ledger::open(dir.path()).err().unwrap(),
        Ledger::read_only(dir.path()).err().unwrap(),
    ] {
        assert!(matches!(err, LedgerError::Damaged { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(".recover") && text.contains("ledger.sqlite3"),
            "{text}"
        );
    }
}

#[test]
fn a_running_0_1_process_keeps_the_ledger_closed() {
    let dir = tempfile::tempdir().unwrap();
    let held = File::create(dir.path().join(LOCK_0_1)).unwrap();
    held.try_lock().unwrap();
    let err = Ledger::open(dir.path()).err().unwrap();
    assert!(matches!(err, LedgerError::Locked { .. }), "{err:?}");
    drop(held);
    assert!(Ledger::open(dir.path()).is_ok());
}

#[test]
fn a_journal_written_after_the_take_over_is_taken_over_too_with_new_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let line = |id: u64, prompt: &str| {
        format!(
            "{{\"type\":\"intent\",\"local_id\":{id},\"created_at\":\"x\",\"request\":{}}}\n",
            serde_json::to_string(&KlingRequest::new(prompt)).unwrap()
        )
    };
    std::fs::write(dir.path().join(JOURNAL_0_1), line(1, "first")).unwrap();
    {
        let mut l = Ledger::open(dir.path()).unwrap();
        assert_eq!(intent(&mut l, "second"), 2);
    }
    // 0.1 run again (a downgrade) starts its own journal from 1.
    std::fs::write(dir.path().join(JOURNAL_0_1), line(1, "third")).unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    let prompts: Vec<_> = l
        .jobs()
        .values()
        .map(|j| (j.local_id, j.request.prompt.clone()))
        .collect();
    assert_eq!(
        prompts,
        [
            (1, "first".to_string()),
            (2, "second".to_string()),
            (3, "third".to_string())
        ]
    );
    assert!(dir.path().join("journal.jsonl.imported").exists());
    assert!(
        dir.path().join("journal.jsonl.imported.1").exists(),
        "the first kept too"
    );
}

#[test]
fn memory_holds_unfinished_work_and_history_is_read_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut l = Ledger::open(dir.path()).unwrap();
        for n in 1..=5u64 {
            let id = intent(&mut l, &format!("job {n}"));
            l.append(
                Record::Accepted {
                    local_id: id,
                    job_id: format!("job_{n}"),
                    cost: Some(1.0),
                },
                true,
            )
            .unwrap();
            // 1 to 4 finish (3 fails); 5 is still running.
            let status = match n {
                3 => JobStatus::Failure,
                5 => JobStatus::InProgress,
                _ => JobStatus::Success,
            };
            // A success is at rest once its video is named and on disk.
            let succeeded = status == JobStatus::Success;
            l.append(
                Record::Status {
                    local_id: id,
                    status,
                    progress: 0.5,
                    asset_ids: if succeeded {
                        vec![format!("asset_{n}")]
                    } else {
                        vec![]
                    },
                    error: None,
                    cost: None,
                    hint: None,
                    history: vec![],
                },
                true,
            )
            .unwrap();
            if succeeded {
                l.append(
                    Record::Downloaded {
                        local_id: id,
                        index: 0,
                        file: format!("/videos/{n}.mp4").into(),
                        size: Some(1),
                        last_frame: None,
                        duration: None,
                    },
                    true,
                )
                .unwrap();
            }
        }
        l.evict_settled();
        assert_eq!(l.jobs().keys().copied().collect::<Vec<_>>(), [5]);
    }
    let mut l = Ledger::open(dir.path()).unwrap();
    assert_eq!(
        l.jobs().keys().copied().collect::<Vec<_>>(),
        [5],
        "only live work"
    );
    use super::HistoryOrder::{Newest, Oldest, Status};
    let ids = |page: Vec<JobRecord>| page.iter().map(|j| j.local_id).collect::<Vec<_>>();
    let (page, total) = l.history(None, Newest, 0, 2).unwrap();
    assert_eq!(total, 4);
    assert_eq!(ids(page), [3, 4]);
    assert_eq!(ids(l.history(None, Newest, 2, 2).unwrap().0), [1, 2]);
    assert_eq!(ids(l.history(None, Oldest, 0, 1).unwrap().0), [1]);
    // The failed one first, as the app's status order has it.
    assert_eq!(ids(l.history(None, Status, 0, 1).unwrap().0), [3]);
    let (page, total) = l.history(Some("JOB 2"), Newest, 0, 10).unwrap();
    assert_eq!((page.len(), total), (1, 1));
    // A command about a finished job brings it back, and records about it still land.
    assert_eq!(l.find_server_job("job_2"), Some(2));
    assert!(l.job(2).is_some());
    l.evict_settled();
    l.append(Record::Forgotten { local_id: 4 }, true).unwrap();
    assert_eq!(l.history(None, Newest, 0, 10).unwrap().1, 3);
    assert!(l.server_ids().contains("job_1"));
}

#[test]
fn a_jobs_batch_and_place_are_kept_and_queried() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let tag = crate::engine::BatchTag {
        name: "shots".into(),
        index: 7,
        row: 3,
        max_cost: Some(300.0),
    };
    let id = l
        .record_intent(
            "2026-01-01T00:00:00Z".into(),
            KlingRequest::new("in a batch"),
            None,
            Some(tag.clone()),
        )
        .unwrap();
    intent(&mut l, "alone");
    drop(l);
    let mut found = Vec::new();
    let query = JobQuery {
        batch: Some("shots".into()),
        ..JobQuery::default()
    };
    Ledger::query(dir.path(), &query, |j| found.push(j)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].local_id, found[0].batch.clone()), (id, Some(tag)));
}

#[test]
fn the_prompt_history_has_each_prompt_once_at_its_latest_use_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let first = intent(&mut l, "a fox");
    let _ = intent(&mut l, "a lighthouse");
    let again = intent(&mut l, "a fox");
    let _ = intent(&mut l, "");
    l.append(
        Record::Rejected {
            local_id: first,
            reason: "no".into(),
        },
        true,
    )
    .unwrap();
    let prompts = l.prompts(10).unwrap();
    let seen: Vec<(&str, LocalId)> = prompts
        .iter()
        .map(|p| (p.request.prompt.as_str(), p.local_id))
        .collect();
    assert_eq!(seen, [("a fox", again), ("a lighthouse", 2)]);
    assert_eq!(prompts[0].state, "sending");
    assert_eq!(l.prompts(1).unwrap().len(), 1);
}

#[test]
fn a_job_written_by_its_changes_reads_back_as_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let a = intent(&mut l, "a");
    let status = |status, progress, asset_ids: &[&str], history: &[JobStatus]| Record::Status {
        local_id: a,
        status,
        progress,
        asset_ids: asset_ids.iter().map(|s| s.to_string()).collect(),
        error: None,
        cost: Some(5.0),
        hint: None,
        history: history
            .iter()
            .map(|s| crate::api::types::StatusChange {
                date: "d".into(),
                status: s.clone(),
            })
            .collect(),
    };
    use JobStatus::{InProgress, Pending, Success};
    let downloaded = |index| Record::Downloaded {
        local_id: a,
        index,
        file: format!("out/a_{index}.mp4").into(),
        size: Some(99),
        last_frame: None,
        duration: None,
    };
    let records = [
        Record::Accepted {
            local_id: a,
            job_id: "job_a".into(),
            cost: Some(5.0),
        },
        status(InProgress, 0.1, &[], &[InProgress]),
        // Nothing but the progress.
        status(InProgress, 0.4, &[], &[InProgress]),
        // A new status at the end of the history, and the assets.
        status(
            Success,
            1.0,
            &["asset_1", "asset_2"],
            &[InProgress, Success],
        ),
        downloaded(0),
        // The last file makes it settled.
        downloaded(1),
        // A history that is not the one before with more at its end.
        status(Success, 1.0, &["asset_1", "asset_2"], &[Pending, Success]),
    ];
    for record in records {
        let told = format!("{record:?}");
        l.append(record, false).unwrap();
        let held = l.job(a).unwrap().clone();
        let read = Ledger::read_only(dir.path()).unwrap();
        assert_eq!(read.get(&a), Some(&held), "after {told}");
        let (settled, status, server_id): (bool, Option<String>, Option<String>) = l
            .conn
            .query_row(
                "SELECT settled, status, server_id FROM jobs WHERE local_id = ?1",
                [a as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(settled, held.place.is_done(), "after {told}");
        assert_eq!(
            status.as_deref(),
            held.status.as_ref().map(JobStatus::as_str)
        );
        assert_eq!(server_id, held.job_id);
    }
    assert!(l.job(a).unwrap().place.is_done());
}

#[test]
fn forgetting_a_paid_job_keeps_what_it_cost_in_spend_and_against_the_caps() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let finish = |l: &mut Ledger, status: JobStatus| {
        let id = intent(l, "a");
        l.append(
            Record::Accepted {
                local_id: id,
                job_id: format!("job_{id}"),
                cost: Some(5.0),
            },
            true,
        )
        .unwrap();
        l.append(
            Record::Status {
                local_id: id,
                status,
                progress: 1.0,
                asset_ids: vec![],
                error: None,
                cost: Some(5.0),
                hint: None,
                history: vec![],
            },
            true,
        )
        .unwrap();
        id
    };
    let paid = finish(&mut l, JobStatus::Success);
    finish(&mut l, JobStatus::Success);
    let refunded = finish(&mut l, JobStatus::Failure);
    let total = |l: &Ledger| {
        let spend = Ledger::spend(l.dir(), None, SpendBy::Total).unwrap();
        (spend[0].jobs, spend[0].creative_units)
    };
    assert_eq!(total(&l), (2, 10.0));
    assert_eq!(l.committed_spend(None, None, 0).unwrap(), 10.0);
    l.append(Record::Forgotten { local_id: paid }, true)
        .unwrap();
    l.append(Record::Forgotten { local_id: refunded }, true)
        .unwrap();
    assert_eq!(l.jobs().len(), 1);
    // Still spent: it left the ledger, not the bill. The refunded one was never spent.
    assert_eq!(total(&l), (2, 10.0));
    assert_eq!(l.committed_spend(None, None, 0).unwrap(), 10.0);
    assert_eq!(
        l.committed_spend(Some("2026-01-02T00:00:00Z"), None, 0)
            .unwrap(),
        0.0
    );
}

#[test]
fn a_plain_connection_brings_an_older_ledger_up_to_date_unless_an_engine_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut conn = Connection::open(&path).unwrap();
    schema::migrate(&mut conn, 10).unwrap();
    drop(conn);
    // An older engine still writing it: said, with what to do, and nothing changed.
    let held = lock(dir.path(), LOCK_NAME).unwrap();
    let err = Ledger::connect(dir.path()).unwrap_err().to_string();
    assert!(err.contains("kling-tui engine stop"), "{err}");
    drop(held);
    let conn = Ledger::connect(dir.path()).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, schema::MIGRATIONS.len());
    conn.execute(
        "INSERT INTO marks (local_id, mark, marked_at) VALUES (1, 'keep', 'x')",
        [],
    )
    .unwrap();
}
