//! Jobs side by side: the same rows for each (parameters, cost, time taken), and which rows
//! differ, so the one change between two takes stands out.

use crate::engine::JobRecord;
use crate::units::format_units;

/// One row of the comparison: its label, each job's value, and whether they differ.
pub struct CompareRow {
    pub label: &'static str,
    pub values: Vec<String>,
    pub differ: bool,
}

/// The most jobs shown side by side; more marked ones are left out (the first ones kept).
pub const MAX_COMPARED: usize = 4;

pub fn rows(jobs: &[&JobRecord]) -> Vec<CompareRow> {
    let field = |label: &'static str, value: &dyn Fn(&JobRecord) -> String| {
        let values: Vec<String> = jobs.iter().map(|j| value(j)).collect();
        let differ = values.windows(2).any(|w| w[0] != w[1]);
        CompareRow {
            label,
            values,
            differ,
        }
    };
    let id_or_dash =
        |v: Option<&crate::kling::AssetId>| v.map_or("—".to_string(), |a| a.as_str().to_string());
    vec![
        field("state", &|j| j.state_word()),
        field("mode", &|j| j.request.mode.to_string()),
        field("aspect", &|j| {
            j.request
                .aspect_ratio
                .map_or("auto".into(), |a| a.to_string())
        }),
        field("duration", &|j| format!("{} s", j.request.duration)),
        field("audio", &|j| {
            if j.request.generate_audio == Some(true) {
                "on".into()
            } else {
                "off".into()
            }
        }),
        field("start image", &|j| {
            id_or_dash(j.request.start_image.as_ref())
        }),
        field("end image", &|j| id_or_dash(j.request.end_image.as_ref())),
        field("ref images", &|j| match j.request.reference_images.len() {
            0 => "—".into(),
            _ => j
                .request
                .reference_images
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        field("ref video", &|j| {
            id_or_dash(j.request.reference_video.as_ref())
        }),
        field("shots", &|j| {
            j.request
                .multi_prompt
                .as_ref()
                .map_or("—".into(), |s| crate::units::count(s.len(), "shot"))
        }),
        field("cost", &|j| {
            j.cost
                .map_or("—".into(), |c| format!("{} CU", format_units(c)))
        }),
        field("time taken", &|j| time_taken(j)),
        field("prompt", &|j| j.request.prompt.clone()),
    ]
}

/// From the intent to the final status, `m:ss`; `—` while it runs or if unknown.
fn time_taken(job: &JobRecord) -> String {
    if !job.is_final() {
        return "—".into();
    }
    let start = job.created_at.parse::<jiff::Timestamp>().ok();
    let end = job
        .history
        .last()
        .and_then(|c| c.date.parse::<jiff::Timestamp>().ok());
    match (start, end) {
        (Some(start), Some(end)) if end >= start => {
            let secs = end.as_second() - start.as_second();
            format!("{}:{:02}", secs / 60, secs % 60)
        }
        _ => "—".into(),
    }
}
