//! Finding a submission whose answer never came: the server's job list is searched for a job
//! with the same input created around the same time. Nothing is ever re-sent from here.

use std::collections::HashSet;

use serde_json::Value;

use crate::api::types::Job;
use crate::api::{ApiError, ScenarioClient};
use crate::kling::KlingRequest;

/// Jobs created this long before the intent was written still count (clocks differ).
const CLOCK_SLACK_SECS: i64 = 300;
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: usize = 20;

/// The id of the server's job made from `request` at about `created_at`, if there is one
/// that no other local job has claimed.
pub async fn find(
    client: &ScenarioClient,
    request: &KlingRequest,
    created_at: &str,
    claimed: &HashSet<String>,
) -> Result<Option<String>, ApiError> {
    let sent = request.to_json();
    let since = created_at
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second() - CLOCK_SLACK_SECS)
        .unwrap_or(i64::MIN);
    // The server leaves older jobs out; the check below still holds where it does not.
    let after = jiff::Timestamp::from_second(since)
        .ok()
        .filter(|_| since != i64::MIN)
        .map(|t| t.to_string());
    let mut token: Option<String> = None;
    let mut left_out = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = client
            .list_jobs(PAGE_SIZE, token.as_deref(), after.as_deref())
            .await?;
        left_out.extend(page.left_out);
        let mut older_seen = false;
        for job in &page.jobs {
            let created = created_second(job);
            if created.is_some_and(|c| c < since) {
                older_seen = true;
                continue;
            }
            if !claimed.contains(&job.job_id) && same_input(&sent, job) {
                return Ok(Some(job.job_id.clone()));
            }
        }
        // Newest first: once jobs older than the intent show up, the rest are older still.
        if older_seen {
            break;
        }
        match page.next_pagination_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    // "Not found" would say it was probably never made; with jobs left out, it may be one.
    if let Some(first) = left_out.first() {
        return Err(ApiError::Decode {
            host: "the server".into(),
            detail: format!(
                "the job list held {} job(s) that could not be read, and the submission may \
                 be one of them ({first})",
                left_out.len()
            ),
        });
    }
    Ok(None)
}

fn created_second(job: &Job) -> Option<i64> {
    let text = job.created_at.as_deref()?;
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Every field we sent has the same value in the job's recorded input (the server may add
/// its defaults to the rest).
fn same_input(sent: &Value, job: &Job) -> bool {
    let (Some(Value::Object(sent)), Some(Value::Object(input))) =
        (Some(sent), job.metadata.input.as_ref())
    else {
        return false;
    };
    // A job of another model is never ours, whatever its prompt (the list holds them all).
    let other_model = input
        .get("modelId")
        .is_some_and(|m| m.as_str() != Some(crate::kling::MODEL_ID));
    !other_model && sent.iter().all(|(k, v)| input.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_matches_on_every_field_sent() {
        let request = KlingRequest::new("fox");
        let mut job = Job {
            job_id: "job_1".into(),
            ..Job::default()
        };
        let mut input = request.to_json();
        input["extraDefault"] = json!(true);
        job.metadata.input = Some(input);
        assert!(same_input(&request.to_json(), &job));
        job.metadata.input = Some(KlingRequest::new("wolf").to_json());
        assert!(!same_input(&request.to_json(), &job));
        let mut other = request.to_json();
        other["modelId"] = json!("model_kling-v3-t2v-4k");
        job.metadata.input = Some(other);
        assert!(!same_input(&request.to_json(), &job));
        let mut ours = request.to_json();
        ours["modelId"] = json!(crate::kling::MODEL_ID);
        job.metadata.input = Some(ours);
        assert!(same_input(&request.to_json(), &job));
        job.metadata.input = None;
        assert!(!same_input(&request.to_json(), &job));
    }
}
