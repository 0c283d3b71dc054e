use super::*;
use crate::api::types::JobStatus;
use crate::engine::job::DownloadRecord;
use crate::kling::KlingRequest;

const ID: LocalId = 7;

fn job(submission: Submission) -> JobRecord {
    let mut job = JobRecord::new(ID, "2026-01-01T00:00:00Z".into(), KlingRequest::new("fox"));
    job.submission = submission;
    job
}

/// A successful job with two parts, the first of them on disk when `first_done`.
fn succeeded(first_done: bool) -> JobRecord {
    let mut job = job(Submission::Accepted);
    job.job_id = Some("job_1".into());
    job.status = Some(JobStatus::Success);
    job.downloads = vec![
        DownloadRecord {
            asset_id: "asset_a".into(),
            file: first_done.then(|| PathBuf::from("a.mp4")),
            ..DownloadRecord::default()
        },
        DownloadRecord {
            asset_id: "asset_b".into(),
            ..DownloadRecord::default()
        },
    ];
    job
}

fn at(job: &JobRecord) -> Context<'_> {
    Context {
        job: Some(job),
        halted: false,
        stopping: false,
    }
}

fn go(from: Phase, step: Step, at: &Context) -> Next {
    match from.apply(ID, step.clone(), at) {
        Ok(next) => next,
        Err(e) => panic!("{step:?} from {from:?}: {e}"),
    }
}

fn refused(from: Phase, step: Step, at: &Context) -> bool {
    from.apply(ID, step, at).is_err()
}

fn uploading(failures: u32) -> Phase {
    Phase::Uploading {
        failures,
        held: false,
    }
}

fn downloading(in_flight: &[usize], retry_due: bool) -> Phase {
    Phase::Downloading(Parts {
        in_flight: in_flight.iter().copied().collect(),
        failures: BTreeMap::new(),
        retry_due,
    })
}

#[test]
fn a_job_forgotten_while_uploading_comes_to_rest_when_its_upload_ends() {
    let gone = Context {
        job: None,
        halted: false,
        stopping: false,
    };
    let uploaded = Step::Uploaded {
        file: "a.png".into(),
        asset_id: "asset_a".into(),
    };
    let next = go(uploading(0), uploaded, &gone);
    assert_eq!((next.phase, next.record), (Phase::Settled, None));
    let failed = Step::UploadFailed {
        error: "HTTP 503".into(),
        passing: true,
    };
    let next = go(uploading(1), failed, &gone);
    assert_eq!((next.phase, next.record), (Phase::Settled, None));
    assert!(!Phase::Settled.busy());
}

#[test]
fn start_up_phases_come_from_the_record() {
    assert_eq!(Phase::of(&job(Submission::Uploading)), Phase::Preparing);
    assert_eq!(Phase::of(&job(Submission::Sending)), Phase::Preparing);
    assert_eq!(Phase::of(&job(Submission::Queued)), Phase::Queued);
    assert_eq!(
        Phase::of(&job(Submission::Unconfirmed { reason: "x".into() })),
        Phase::Unconfirmed { searching: false }
    );
    assert_eq!(
        Phase::of(&job(Submission::Rejected { reason: "x".into() })),
        Phase::Settled
    );
    assert_eq!(Phase::of(&job(Submission::Accepted)), Phase::Running);
    assert_eq!(Phase::of(&succeeded(false)), downloading(&[], false));
    let mut done = succeeded(true);
    done.downloads[1].file = Some("b.mp4".into());
    assert_eq!(Phase::of(&done), Phase::Settled);
    let mut failed = job(Submission::Accepted);
    failed.status = Some(JobStatus::Failure);
    assert_eq!(Phase::of(&failed), Phase::Settled);
}

#[test]
fn uploads_go_up_retry_and_give_up() {
    let record = job(Submission::Uploading);
    let at = at(&record);
    assert_eq!(go(Phase::Preparing, Step::Upload, &at).phase, uploading(0));
    let next = go(
        uploading(0),
        Step::Uploaded {
            file: "fox.png".into(),
            asset_id: "asset_1".into(),
        },
        &at,
    );
    assert_eq!(next.phase, uploading(0));
    assert!(matches!(next.record, Some(Record::Uploaded { .. })));
    let failed = |passing| Step::UploadFailed {
        error: "reset".into(),
        passing,
    };
    let next = go(uploading(0), failed(true), &at);
    assert_eq!(next.phase, uploading(1));
    assert_eq!(next.retry_in, Some(Duration::from_millis(1000)));
    assert_eq!(next.record, None);
    assert_eq!(
        go(uploading(1), Step::RetryUploads, &at).phase,
        uploading(1)
    );
    let next = go(uploading(UPLOAD_RETRIES), failed(true), &at);
    assert_eq!(next.phase, Phase::Settled);
    assert!(matches!(next.record, Some(Record::Rejected { .. })));
    let next = go(uploading(0), failed(false), &at);
    assert_eq!(next.phase, Phase::Settled);
    assert_eq!(next.retry_in, None);
}

#[test]
fn uploads_are_held_while_halted_and_taken_up_after() {
    let record = job(Submission::Uploading);
    let halted = Context {
        halted: true,
        ..at(&record)
    };
    assert!(refused(Phase::Preparing, Step::Upload, &halted));
    let held = go(uploading(2), Step::RetryUploads, &halted).phase;
    assert_eq!(
        held,
        Phase::Uploading {
            failures: 2,
            held: true
        }
    );
    assert!(!held.busy());
    assert_eq!(go(held, Step::Upload, &at(&record)).phase, uploading(2));
    assert!(refused(uploading(0), Step::Upload, &at(&record)), "twice");
}

#[test]
fn sending_writes_the_intent_first_unless_it_is_there() {
    let record = job(Submission::Uploading);
    let next = go(uploading(0), Step::Send, &at(&record));
    assert_eq!(next.phase, Phase::Sending);
    assert_eq!(next.record, Some(Record::Sending { local_id: ID }));
    assert!(next.record_first);
    let record = job(Submission::Sending);
    let next = go(Phase::Preparing, Step::Send, &at(&record));
    assert_eq!(next.phase, Phase::Sending);
    assert_eq!(next.record, None);
    let record = job(Submission::Queued);
    assert_eq!(
        go(Phase::Queued, Step::Send, &at(&record)).phase,
        Phase::Sending
    );
}

#[test]
fn nothing_goes_to_sending_while_stopping_or_halted() {
    for (submission, from) in [
        (Submission::Sending, Phase::Preparing),
        (Submission::Uploading, Phase::Preparing),
        (Submission::Uploading, uploading(0)),
        (Submission::Queued, Phase::Queued),
    ] {
        let record = job(submission.clone());
        for (halted, stopping) in [(true, false), (false, true), (true, true)] {
            let at = Context {
                job: Some(&record),
                halted,
                stopping,
            };
            let next = go(from.clone(), Step::Send, &at);
            assert_ne!(
                next.phase,
                Phase::Sending,
                "{submission:?} {halted} {stopping}"
            );
            let leaves_it = submission == Submission::Queued
                || (stopping && !halted && submission == Submission::Sending);
            assert_eq!(next.record.is_none(), leaves_it, "{submission:?}");
        }
    }
    // While stopping, a POST the ledger may think on its way stays as it is.
    let record = job(Submission::Sending);
    let stopping = Context {
        stopping: true,
        ..at(&record)
    };
    assert_eq!(
        go(Phase::Preparing, Step::Send, &stopping).phase,
        Phase::Preparing
    );
}

#[test]
fn answers_to_a_post() {
    let record = job(Submission::Sending);
    let at = at(&record);
    let next = go(
        Phase::Sending,
        Step::Accepted {
            job_id: "job_1".into(),
            cost: Some(2.0),
        },
        &at,
    );
    assert_eq!(next.phase, Phase::Running);
    assert!(matches!(
        next.record,
        Some(Record::Accepted { cost: Some(_), .. })
    ));
    let next = go(
        Phase::Sending,
        Step::Unconfirmed { reason: "x".into() },
        &at,
    );
    assert_eq!(next.phase, Phase::Unconfirmed { searching: false });
    assert!(matches!(next.record, Some(Record::Unconfirmed { .. })));
    let next = go(Phase::Sending, Step::Queue, &at);
    assert_eq!(next.phase, Phase::Queued);
    assert_eq!(next.record, Some(Record::Queued { local_id: ID }));
    let next = go(Phase::Sending, Step::Rejected { reason: "x".into() }, &at);
    assert_eq!(next.phase, Phase::Settled);
    assert!(matches!(next.record, Some(Record::Rejected { .. })));
    assert_eq!(go(Phase::Preparing, Step::Queue, &at).phase, Phase::Queued);
    assert_eq!(go(uploading(0), Step::Queue, &at).phase, Phase::Queued);
}

#[test]
fn unconfirmed_submissions_are_searched_for_and_resent_only_on_request() {
    let record = job(Submission::Unconfirmed { reason: "x".into() });
    let at = at(&record);
    // The last run stopped between the intent and the answer.
    let interrupted = go(
        Phase::Preparing,
        Step::Unconfirmed { reason: "x".into() },
        &at,
    );
    assert_eq!(interrupted.phase, Phase::Unconfirmed { searching: false });
    let searching = go(interrupted.phase, Step::Search, &at).phase;
    assert_eq!(searching, Phase::Unconfirmed { searching: true });
    assert!(searching.busy());
    assert!(
        refused(searching.clone(), Step::Search, &at),
        "searched twice"
    );
    assert!(
        refused(searching.clone(), Step::Resend, &at),
        "found meanwhile?"
    );
    let found = go(
        searching.clone(),
        Step::Accepted {
            job_id: "job_1".into(),
            cost: None,
        },
        &at,
    );
    assert_eq!(found.phase, Phase::Running);
    let lost = go(searching, Step::NotFound, &at).phase;
    assert_eq!(lost, Phase::Unresolved);
    assert!(!lost.busy());
    let resent = go(lost.clone(), Step::Resend, &at);
    assert_eq!(resent.phase, Phase::Queued);
    assert_eq!(resent.record, Some(Record::Resend { local_id: ID }));
    assert!(resent.record_first);
    assert_eq!(
        go(lost, Step::Search, &at).phase,
        Phase::Unconfirmed { searching: true }
    );
    let halted = Context { halted: true, ..at };
    assert!(refused(
        Phase::Unconfirmed { searching: false },
        Step::Search,
        &halted
    ));
    assert_eq!(
        go(Phase::Unconfirmed { searching: false }, Step::Resend, &at).phase,
        Phase::Queued
    );
}

#[test]
fn a_final_job_settles_or_downloads() {
    let mut failed = job(Submission::Accepted);
    failed.status = Some(JobStatus::Failure);
    assert_eq!(
        go(Phase::Running, Step::Finished, &at(&failed)).phase,
        Phase::Settled
    );
    let record = succeeded(false);
    assert_eq!(
        go(Phase::Running, Step::Finished, &at(&record)).phase,
        downloading(&[], false)
    );
}

#[test]
fn downloads_fetch_retry_and_settle() {
    let record = succeeded(true);
    let at = at(&record);
    let fetching = go(downloading(&[], false), Step::Fetch { index: 1 }, &at).phase;
    assert_eq!(fetching, downloading(&[1], false));
    assert!(fetching.busy());
    assert!(
        refused(fetching.clone(), Step::Fetch { index: 1 }, &at),
        "twice"
    );
    let failed = |passing| Step::FetchFailed {
        index: 1,
        error: "reset".into(),
        passing,
        lasting: false,
    };
    let next = go(fetching.clone(), failed(true), &at);
    assert_eq!(next.retry_in, Some(Duration::from_millis(1000)));
    assert!(matches!(next.record, Some(Record::DownloadFailed { .. })));
    assert!(next.phase.busy(), "a retry is due");
    let waiting = go(next.phase, Step::RetryFetch, &at).phase;
    assert!(!waiting.busy());
    let again = go(waiting, Step::Fetch { index: 1 }, &at).phase;
    let next = go(
        again,
        Step::Fetched {
            index: 1,
            file: "b.mp4".into(),
            size: 9,
            last_frame: None,
            duration: None,
        },
        &at,
    );
    assert_eq!(next.phase, Phase::Settled);
    assert!(matches!(next.record, Some(Record::Downloaded { .. })));
    // Refused for good: the part waits for the user.
    let next = go(fetching, failed(false), &at);
    assert_eq!(next.retry_in, None);
    assert_eq!(next.phase, downloading(&[], false).with_failure(1, 1));
}

#[test]
fn download_retries_are_bounded_until_the_user_asks() {
    let record = succeeded(true);
    let at = at(&record);
    let mut phase = downloading(&[], false);
    let mut retries = 0;
    loop {
        phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
        let next = go(
            phase,
            Step::FetchFailed {
                index: 1,
                error: "reset".into(),
                passing: true,
                lasting: false,
            },
            &at,
        );
        phase = next.phase;
        if next.retry_in.is_none() {
            break;
        }
        retries += 1;
        phase = go(phase, Step::RetryFetch, &at).phase;
    }
    assert_eq!(retries, DOWNLOAD_RETRIES);
    // A full disk: tried again, slowly, for as long as it lasts.
    let mut phase = downloading(&[], false);
    for _ in 0..DOWNLOAD_RETRIES * 3 {
        phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
        let next = go(
            phase,
            Step::FetchFailed {
                index: 1,
                error: "no space left on device".into(),
                passing: true,
                lasting: true,
            },
            &at,
        );
        assert_eq!(next.retry_in, Some(LOCAL_RETRY));
        phase = go(next.phase, Step::RetryFetch, &at).phase;
    }
    let cleared = go(phase, Step::ClearFetchFailures, &at).phase;
    assert_eq!(cleared, downloading(&[], false));
}

#[test]
fn a_download_that_is_not_the_last_keeps_the_job_downloading() {
    let record = succeeded(false);
    let at = at(&record);
    let phase = go(downloading(&[], false), Step::Fetch { index: 0 }, &at).phase;
    let phase = go(phase, Step::Fetch { index: 1 }, &at).phase;
    let fetched = |index| Step::Fetched {
        index,
        file: "x.mp4".into(),
        size: 1,
        last_frame: None,
        duration: None,
    };
    let phase = go(phase, fetched(0), &at).phase;
    assert_eq!(phase, downloading(&[1], false));
    // The record now has the first part on disk.
    let record = succeeded(true);
    assert_eq!(
        go(
            phase,
            fetched(1),
            &Context {
                job: Some(&record),
                ..at
            }
        )
        .phase,
        Phase::Settled
    );
}

#[test]
fn steps_that_make_no_sense_are_refused() {
    let record = succeeded(true);
    let at = at(&record);
    assert!(refused(Phase::Settled, Step::Send, &at));
    assert!(refused(Phase::Running, Step::Send, &at));
    assert!(refused(Phase::Sending, Step::Send, &at));
    assert!(refused(Phase::Settled, Step::Resend, &at));
    assert!(refused(Phase::Running, Step::Resend, &at));
    assert!(refused(Phase::Queued, Step::Finished, &at));
    assert!(refused(Phase::Settled, Step::Upload, &at));
    assert!(refused(
        Phase::Running,
        Step::Rejected { reason: "x".into() },
        &at
    ));
    assert!(refused(Phase::Queued, Step::NotFound, &at));
    assert!(refused(
        downloading(&[], false),
        Step::Fetched {
            index: 0,
            file: "a.mp4".into(),
            size: 1,
            last_frame: None,
            duration: None,
        },
        &at
    ));
    let mut pending = job(Submission::Accepted);
    pending.status = Some(JobStatus::InProgress);
    assert!(refused(
        Phase::Running,
        Step::Fetch { index: 0 },
        &Context {
            job: Some(&pending),
            ..at
        }
    ));
    let gone = Context { job: None, ..at };
    assert!(refused(Phase::Queued, Step::Send, &gone));
    assert!(refused(Phase::Preparing, Step::Upload, &gone));
}

#[test]
fn the_table_counts_what_the_ceiling_and_the_stop_need() {
    let mut queued = job(Submission::Queued);
    queued.local_id = 1;
    let mut running = job(Submission::Accepted);
    running.local_id = 2;
    let mut done = succeeded(true);
    done.local_id = 3;
    done.downloads.truncate(1);
    let mut phases = Phases::of([&queued, &running, &done]);
    assert_eq!(phases.running(), 1);
    assert_eq!(phases.sending(), 0);
    assert!(!phases.busy());
    phases.set(1, Phase::Sending);
    phases.set(4, Phase::Sending);
    assert_eq!(phases.running(), 3);
    assert_eq!(phases.sending(), 2);
    assert!(phases.busy());
    assert_eq!(phases.ids_in(|p| *p == Phase::Sending), [1, 4]);
    assert_eq!(phases.count_in(|p| *p == Phase::Settled), 1);
    // A job forgotten with its POST in flight keeps its phase until the answer.
    phases.forget(4);
    phases.forget(3);
    assert_eq!(phases.get(4), Some(&Phase::Sending));
    assert_eq!(phases.get(3), None);
    phases.set(4, Phase::Running);
    phases.prune(|id| id != 4);
    assert_eq!(phases.get(4), None);
    assert_eq!(phases.running(), 2);
}

impl Phase {
    fn with_failure(self, index: usize, failures: u32) -> Self {
        match self {
            Phase::Downloading(mut parts) => {
                parts.failures.insert(index, failures);
                Phase::Downloading(parts)
            }
            other => other,
        }
    }
}

#[test]
fn queued_jobs_are_counted_as_their_phases_change() {
    let mut phases = Phases::of([&job(Submission::Queued)]);
    assert_eq!(phases.queued(), 1);
    phases.set(8, Phase::Queued);
    phases.set(9, Phase::Queued);
    assert_eq!(phases.queued(), 3);
    phases.set(ID, Phase::Sending);
    phases.set(8, Phase::Queued);
    assert_eq!(phases.queued(), 2);
    phases.forget(8);
    assert_eq!(phases.queued(), 1);
    phases.set(8, Phase::Queued);
    phases.prune(|id| id != 9);
    assert_eq!(phases.queued(), 1);
    assert_eq!(phases.count_in(|p| *p == Phase::Queued), 1);
}
