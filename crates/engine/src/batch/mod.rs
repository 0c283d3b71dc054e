//! Bulk batches: a file of requests, expanded and checked whole before anything is sent.
//!
//! The file is JSON Lines. Each non-blank line is one request object in the API's own field
//! names (`prompt`, `mode`, `aspectRatio`, `duration`, `multiPrompt`, `generateAudio`,
//! `keepOriginalSound`, `videoReferenceType`, `startImage`, `endImage`, `referenceImages`,
//! `referenceVideo`); a line starting with `#` is a comment. Media fields take a local path
//! (relative to the batch file's folder) or an asset id (`asset_...`); paths come back absolute.
//! `multiPrompt` is an array of `{"prompt", "duration"}` shots or the API's JSON string of one.
//! `null` in any field but `prompt` is the same as leaving the field out. As with `submit`, a
//! missing `aspectRatio` is 16:9 unless a start frame or a base reference video sets the frame,
//! and a missing `duration` with shots is the sum of the shots.
//!
//! One line may stand for many requests:
//! - `{a|b|c}` in `prompt` or in a shot's `prompt` gives one request per alternative. `\{`, `\}`,
//!   `\|` and `\\` are the literal characters.
//! - A single-valued field written as an array (`"duration": [5, 10]`) gives one request per
//!   value. `referenceImages` and `multiPrompt` are lists by nature and are never a matrix.
//!
//! Order: nested loops over the line's dimensions in the order they are written, the last
//! varying fastest. A matrix field is one dimension at its key's place; `prompt` contributes its
//! groups left to right at its key's place; `multiPrompt` its shots' groups, shot by shot. So
//! `{"prompt": "{a|b} {x|y}", "duration": [5, 10]}` gives `a x 5`, `a x 10`, `a y 5`, `a y 10`,
//! `b x 5`, ... Lines follow each other in file order.
//!
//! Nothing comes back unless every request of every line passes: each problem is reported as
//! `line N: field: what is wrong`, all of them at once. A line whose fields cannot be read is
//! not expanded, so the API's rules are checked on it once its fields read.

pub mod manifest;
mod template;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::kling::{AspectRatio, AssetId, KlingRequest, Mode, Shot, VideoReferenceType};
use crate::media::{Role, check_file};
use crate::sanitize::sanitize;
use template::Piece;

pub use manifest::{MANIFEST_FILE, Manifest, ManifestLine, Manifests};

/// The most requests one batch may expand to.
pub const MAX_REQUESTS: usize = 10_000;

/// The fields a line may have, in the API's spelling.
const FIELDS: &[&str] = &[
    "prompt",
    "mode",
    "aspectRatio",
    "duration",
    "multiPrompt",
    "generateAudio",
    "keepOriginalSound",
    "videoReferenceType",
    "startImage",
    "endImage",
    "referenceImages",
    "referenceVideo",
];

/// One request of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The line of the batch file it comes from, counted from 1.
    pub row: usize,
    /// Its place in the whole expanded batch, counted from 0.
    pub index: usize,
    pub request: KlingRequest,
}

impl Expanded {
    /// One short line: number (from 1), mode, duration, frame shape and the prompt's start.
    pub fn summary(&self) -> String {
        const PROMPT_CHARS: usize = 72;
        let r = &self.request;
        let aspect = r.aspect_ratio.map_or("auto", AspectRatio::as_str);
        let prompt = sanitize(&r.prompt);
        let mut short: String = prompt.chars().take(PROMPT_CHARS).collect();
        if prompt.chars().count() > PROMPT_CHARS {
            short.push('…');
        }
        format!(
            "#{:<5} {:<8} {:>2}s {:<4}  {short}",
            self.index + 1,
            r.mode.as_str(),
            r.duration,
            aspect
        )
    }
}

/// The client's name for request `expanded` of batch `name`: the same request sent again (a
/// run resumed after Ctrl+C, `kill -9` or a lost SSH session, or the batch opened again in
/// the app) finds the job it already made.
pub fn token(name: &str, expanded: &Expanded) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(name.as_bytes());
    hash.update([0]);
    hash.update(expanded.request.to_json().to_string().as_bytes());
    let digest: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("batch:{}:{digest}", expanded.index)
}

/// Requests once each, and for each expanded request which of them it is: identical
/// requests are quoted once.
pub struct Distinct<'a> {
    pub requests: Vec<&'a KlingRequest>,
    pub of: Vec<usize>,
}

pub fn distinct_requests<'a>(expanded: &[&'a Expanded]) -> Distinct<'a> {
    let mut requests: Vec<&KlingRequest> = Vec::new();
    let mut by_text: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let of = expanded
        .iter()
        .map(|e| {
            let key = e.request.to_json().to_string();
            *by_text.entry(key).or_insert_with(|| {
                requests.push(&e.request);
                requests.len() - 1
            })
        })
        .collect();
    Distinct { requests, of }
}

/// How many requests, in order, a batch cap of `cap` lets through before the first that would
/// go over (the engine holds that one and every one after it, in order), and what they cost.
/// A request with no quote stops the count: the engine holds it until it has one.
pub fn fitting(quotes: &[Option<f64>], cap: f64) -> (usize, f64) {
    let mut spent = 0.0;
    for (i, quote) in quotes.iter().enumerate() {
        match quote {
            Some(cost) if spent + cost <= cap + 1e-9 => spent += cost,
            _ => return (i, spent),
        }
    }
    (quotes.len(), spent)
}

/// The most a batch file may hold: 10,000 requests of full prompts fit in far less.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The longest line of a batch file.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// The text of a batch file, refused past [`MAX_FILE_BYTES`] or with a line past
/// [`MAX_LINE_BYTES`], and only from a regular file (a FIFO would block for ever).
fn read_bounded(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes: a batch file holds at most {MAX_FILE_BYTES}",
            meta.len()
        ));
    }
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("a batch file holds at most {MAX_FILE_BYTES} bytes"));
    }
    if let Some((i, line)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
    {
        return Err(format!(
            "line {}: {} bytes: a line holds at most {MAX_LINE_BYTES}",
            i + 1,
            line.len()
        ));
    }
    Ok(text)
}

/// Reads the batch `file`: its name (the file's stem) and its requests, or every problem.
pub fn read(file: &Path) -> Result<(String, Vec<Expanded>), Vec<String>> {
    let shown = sanitize(&file.display().to_string());
    let text = read_bounded(file).map_err(|e| vec![format!("{shown}: {e}")])?;
    let base_dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // The name is a folder's name too: one that would point elsewhere ("", ".", "..") is not
    // taken.
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !matches!(s.trim_matches('.'), "") && !s.contains('/'))
        .unwrap_or_else(|| "batch".into());
    parse(&text, base_dir).map(|requests| (name, requests))
}

/// Expands the batch `text`, whose relative paths are relative to `base_dir`, and checks every
/// request and every local file. Either every request, or every problem and no request.
pub fn parse(text: &str, base_dir: &Path) -> Result<Vec<Expanded>, Vec<String>> {
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut files: Vec<FileUse> = Vec::new();
    let mut requests = Vec::new();
    // Requests the lines so far expand to, kept or not.
    let mut total = 0usize;
    let mut over_cap = false;
    // A byte-order mark is not part of the first line's JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let plan = match read_line(trimmed, base_dir, row, &mut files) {
            Ok(plan) => plan,
            Err(mut errs) => {
                problems.extend(errs.drain(..).map(|e| (row, e)));
                continue;
            }
        };
        if over_cap {
            // Already refused for its size; this line's fields were still read for problems.
            continue;
        }
        let count = plan.count();
        if count.saturating_add(total) > MAX_REQUESTS {
            over_cap = true;
            problems.push((
                row,
                format!(
                    "the batch would have more than {MAX_REQUESTS} requests: this line adds {}, after {} from the lines before it",
                    show_count(count),
                    total
                ),
            ));
            continue;
        }
        // Thousands of requests of a line may break the same rule: keep each message once.
        // Once anything is wrong no request is kept (none will be sent): an expansion whose
        // alternatives are long is held one request at a time.
        let mut seen = HashSet::new();
        plan.expand(|request| {
            let index = total;
            total += 1;
            let mut broken = false;
            for problem in request.validate() {
                broken = true;
                let message = problem.to_string();
                if seen.insert(message.clone()) {
                    problems.push((row, message));
                }
            }
            if broken || !problems.is_empty() {
                requests.clear();
                return;
            }
            requests.push(Expanded {
                row,
                index,
                request,
            });
        });
    }
    check_files(&files, &mut problems);
    if total == 0 && problems.is_empty() {
        problems.push((
            0,
            "the batch has no request: every line is blank or a comment".into(),
        ));
    }
    if problems.is_empty() {
        return Ok(requests);
    }
    // By line, each message once per line, in the order first found.
    problems.sort_by_key(|(row, _)| *row);
    let mut seen = HashSet::new();
    Err(problems
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .map(|(row, message)| match row {
            0 => sanitize(&message),
            row => format!("line {row}: {}", sanitize(&message)),
        })
        .collect())
}

fn show_count(count: usize) -> String {
    if count == usize::MAX {
        "more than can be counted".into()
    } else {
        count.to_string()
    }
}

/// A local file named by a line, to be checked once for the whole batch.
struct FileUse {
    path: PathBuf,
    role: Role,
    row: usize,
    field: String,
}

/// Checks each distinct file once, reporting it at the first line that names it.
fn check_files(files: &[FileUse], problems: &mut Vec<(usize, String)>) {
    let mut checked = HashSet::new();
    for file in files {
        // `Role` has no hash; a flag stands for it.
        if !checked.insert((file.path.clone(), file.role == Role::Video)) {
            continue;
        }
        if let Err(errs) = check_file(&file.path, file.role) {
            problems.extend(
                errs.into_iter()
                    .map(|e| (file.row, format!("{}: {e}", file.field))),
            );
        }
    }
}

/// One value a field takes in a request. `Unset` is a `null`: the field is left out.
#[derive(Debug, Clone)]
enum Setting {
    Unset,
    Mode(Mode),
    AspectRatio(AspectRatio),
    Duration(u32),
    GenerateAudio(bool),
    KeepOriginalSound(bool),
    VideoReferenceType(VideoReferenceType),
    StartImage(AssetId),
    EndImage(AssetId),
    ReferenceImages(Vec<AssetId>),
    ReferenceVideo(AssetId),
}

/// One axis of a line's expansion.
#[derive(Debug)]
enum Dimension {
    /// A field's values (a single value is an axis of one).
    Field(Vec<Setting>),
    /// The alternatives of one `{a|b}` group.
    Group(Vec<String>),
}

impl Dimension {
    fn len(&self) -> usize {
        match self {
            Dimension::Field(values) => values.len(),
            Dimension::Group(alternatives) => alternatives.len(),
        }
    }
}

/// A prompt with its groups replaced by the dimensions that choose their text.
#[derive(Debug, Default)]
struct Prompt(Vec<Part>);

#[derive(Debug)]
enum Part {
    Text(String),
    Choice(usize),
}

/// A line, read: its dimensions in written order and the prompts that refer to them.
#[derive(Debug, Default)]
struct Plan {
    dimensions: Vec<Dimension>,
    prompt: Prompt,
    shots: Option<Vec<(Prompt, u32)>>,
}

impl Plan {
    fn count(&self) -> usize {
        self.dimensions
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(d.len()))
            .unwrap_or(usize::MAX)
    }

    /// Calls `emit` with every request, the last dimension varying fastest.
    fn expand(&self, mut emit: impl FnMut(KlingRequest)) {
        let mut pick = vec![0usize; self.dimensions.len()];
        loop {
            emit(self.build(&pick));
            let mut d = pick.len();
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                pick[d] += 1;
                if pick[d] < self.dimensions[d].len() {
                    break;
                }
                pick[d] = 0;
            }
        }
    }

    fn build(&self, pick: &[usize]) -> KlingRequest {
        let mut request = KlingRequest {
            aspect_ratio: None,
            ..KlingRequest::default()
        };
        let mut duration_given = false;
        for (dimension, &i) in self.dimensions.iter().zip(pick) {
            let Dimension::Field(values) = dimension else {
                continue;
            };
            match values[i].clone() {
                Setting::Unset => {}
                Setting::Mode(v) => request.mode = v,
                Setting::AspectRatio(v) => request.aspect_ratio = Some(v),
                Setting::Duration(v) => {
                    request.duration = v;
                    duration_given = true;
                }
                Setting::GenerateAudio(v) => request.generate_audio = Some(v),
                Setting::KeepOriginalSound(v) => request.keep_original_sound = Some(v),
                Setting::VideoReferenceType(v) => request.video_reference_type = Some(v),
                Setting::StartImage(v) => request.start_image = Some(v),
                Setting::EndImage(v) => request.end_image = Some(v),
                Setting::ReferenceImages(v) => request.reference_images = v,
                Setting::ReferenceVideo(v) => request.reference_video = Some(v),
            }
        }
        request.prompt = self.render(&self.prompt, pick);
        if let Some(shots) = &self.shots {
            let shots: Vec<Shot> = shots
                .iter()
                .map(|(prompt, duration)| Shot {
                    prompt: self.render(prompt, pick),
                    duration: *duration,
                })
                .collect();
            if !duration_given {
                // As `submit` does: without a duration, the shots say how long the video is.
                let total: u64 = shots.iter().map(|s| u64::from(s.duration)).sum();
                request.duration = u32::try_from(total).unwrap_or(u32::MAX);
            }
            request.multi_prompt = Some(shots);
        }
        // As `submit` does: a start frame or the edited video sets the frame shape.
        if request.aspect_ratio.is_none()
            && request.start_image.is_none()
            && !request.is_video_edit()
        {
            request.aspect_ratio = KlingRequest::default().aspect_ratio;
        }
        request
    }

    fn render(&self, prompt: &Prompt, pick: &[usize]) -> String {
        let mut out = String::new();
        for part in &prompt.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Choice(d) => {
                    if let Dimension::Group(alternatives) = &self.dimensions[*d] {
                        out.push_str(&alternatives[pick[*d]]);
                    }
                }
            }
        }
        out
    }

    /// Adds `text`'s groups as dimensions and returns the prompt that refers to them.
    fn add_prompt(&mut self, text: &str) -> Result<Prompt, String> {
        let pieces = template::parse(text)?;
        // Refused before it is multiplied: even its shortest expansion is too long.
        let shortest: usize = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.chars().count(),
                Piece::Group(alternatives) => alternatives
                    .iter()
                    .map(|a| a.chars().count())
                    .min()
                    .unwrap_or(0),
            })
            .sum();
        if shortest > crate::kling::MAX_PROMPT_CHARS {
            return Err(format!(
                "at most {} characters, got {shortest} (its shortest expansion), before any \
                 alternative is expanded",
                crate::kling::MAX_PROMPT_CHARS
            ));
        }
        let mut parts = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => parts.push(Part::Text(text)),
                Piece::Group(alternatives) => {
                    parts.push(Part::Choice(self.dimensions.len()));
                    self.dimensions.push(Dimension::Group(alternatives));
                }
            }
        }
        Ok(Prompt(parts))
    }
}

/// The line's fields in the order written; `serde_json::Map` would sort them.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of request fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    fields.push(entry);
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(OrderedVisitor)
    }
}

/// Reads one line into its plan, noting the local files it names; or every problem with it.
fn read_line(
    line: &str,
    base_dir: &Path,
    row: usize,
    files: &mut Vec<FileUse>,
) -> Result<Plan, Vec<String>> {
    let fields = match serde_json::from_str::<Ordered>(line) {
        Ok(Ordered(fields)) => fields,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(vec![
                r#"must be a JSON object of request fields, like {"prompt": "..."}"#.into(),
            ]);
        }
        Err(e) => {
            // serde's own position says "line 1": the JSON is one line, so give the column only.
            let full = e.to_string();
            let message = full
                .rfind(" at line ")
                .map_or(full.as_str(), |i| &full[..i]);
            return Err(vec![format!(
                "not JSON: {message} at column {}",
                e.column()
            )]);
        }
    };
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (key, value) in &fields {
        if !seen.insert(key.as_str()) {
            problems.push(format!("{key:?} is given twice"));
            continue;
        }
        let mut files_here = Vec::new();
        let read = read_field(&mut plan, key, value, base_dir, &mut files_here);
        files.extend(files_here.into_iter().map(|(path, role, field)| FileUse {
            path,
            role,
            row,
            field,
        }));
        if let Err(mut errs) = read {
            problems.append(&mut errs);
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

type Files = Vec<(PathBuf, Role, String)>;

/// Reads one field into `plan`. Problems are prefixed with the field's name.
fn read_field(
    plan: &mut Plan,
    key: &str,
    value: &Value,
    base_dir: &Path,
    files: &mut Files,
) -> Result<(), Vec<String>> {
    let one = |v: &Value, files: &mut Files| -> Result<Setting, String> {
        if v.is_null() {
            return Ok(Setting::Unset);
        }
        let media = |role: Role, files: &mut Files| -> Result<AssetId, String> {
            let text = v
                .as_str()
                .ok_or_else(|| format!("{key}: must be a path or an asset id, got {v}"))?;
            media_value(text, key, role, base_dir, files)
        };
        Ok(match key {
            "mode" => Setting::Mode(parse_enum(key, v)?),
            "aspectRatio" => Setting::AspectRatio(parse_enum(key, v)?),
            "videoReferenceType" => Setting::VideoReferenceType(parse_enum(key, v)?),
            "duration" => Setting::Duration(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("{key}: must be a whole number of seconds, got {v}"))?,
            ),
            "generateAudio" | "keepOriginalSound" => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| format!("{key}: must be true or false, got {v}"))?;
                if key == "generateAudio" {
                    Setting::GenerateAudio(b)
                } else {
                    Setting::KeepOriginalSound(b)
                }
            }
            "startImage" => Setting::StartImage(media(Role::Image, files)?),
            "endImage" => Setting::EndImage(media(Role::Image, files)?),
            "referenceVideo" => Setting::ReferenceVideo(media(Role::Video, files)?),
            _ => return Err(unknown_field(key)),
        })
    };
    if !FIELDS.contains(&key) {
        return Err(vec![unknown_field(key)]);
    }
    match key {
        "prompt" => {
            let text = value.as_str().ok_or_else(|| match value {
                // A list would read as a matrix of prompts; groups are the way to write one.
                Value::Array(_) => {
                    vec!["prompt: must be a string; write {a|b} in it for alternatives".into()]
                }
                _ => vec![format!("prompt: must be a string, got {value}")],
            })?;
            plan.prompt = plan
                .add_prompt(text)
                .map_err(|e| vec![format!("prompt: {e}")])?;
            Ok(())
        }
        "multiPrompt" => read_shots(plan, value),
        "referenceImages" => {
            let setting = match value {
                Value::Null => Setting::Unset,
                Value::Array(items) => {
                    let mut ids = Vec::new();
                    let mut problems = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let field = format!("referenceImages[{i}]");
                        match item.as_str() {
                            Some(text) => {
                                match media_value(text, &field, Role::Image, base_dir, files) {
                                    Ok(id) => ids.push(id),
                                    Err(e) => problems.push(e),
                                }
                            }
                            None => problems.push(format!(
                                "{field}: must be a path or an asset id, got {item}"
                            )),
                        }
                    }
                    if !problems.is_empty() {
                        return Err(problems);
                    }
                    Setting::ReferenceImages(ids)
                }
                _ => {
                    return Err(vec![format!(
                        "referenceImages: must be an array of paths or asset ids, got {value}"
                    )]);
                }
            };
            plan.dimensions.push(Dimension::Field(vec![setting]));
            Ok(())
        }
        _ => {
            let values = match value {
                Value::Array(items) if items.is_empty() => {
                    return Err(vec![format!("{key}: an empty list gives no request")]);
                }
                Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            let mut settings = Vec::new();
            let mut problems = Vec::new();
            for v in values {
                match one(v, files) {
                    Ok(setting) => settings.push(setting),
                    Err(e) => problems.push(e),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            plan.dimensions.push(Dimension::Field(settings));
            Ok(())
        }
    }
}

fn parse_enum<T: std::str::FromStr<Err = crate::kling::ParseError>>(
    key: &str,
    v: &Value,
) -> Result<T, String> {
    match v.as_str() {
        // The parse error names the field and the allowed values.
        Some(text) => text
            .parse()
            .map_err(|e: crate::kling::ParseError| e.to_string()),
        None => Err(format!("{key}: must be a string, got {v}")),
    }
}

/// An asset id stays as it is; anything else is a path, made absolute against `base_dir` and
/// noted for checking.
fn media_value(
    text: &str,
    field: &str,
    role: Role,
    base_dir: &Path,
    files: &mut Files,
) -> Result<AssetId, String> {
    // Left as written: the request's own checks name an empty value.
    if text.trim().is_empty() {
        return Ok(AssetId::new(text));
    }
    let joined = base_dir.join(text);
    if text.starts_with("asset_") && !joined.exists() {
        return Ok(AssetId::new(text));
    }
    let path = std::path::absolute(&joined)
        .map_err(|e| format!("{field}: cannot make {text:?} absolute: {e}"))?;
    let id = path
        .to_str()
        .map(AssetId::new)
        .ok_or_else(|| format!("{field}: {} is not valid UTF-8", path.display()))?;
    files.push((path, role, field.to_string()));
    Ok(id)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShot {
    prompt: String,
    duration: u32,
}

/// `multiPrompt`: the shot list as an array, or as the API's JSON string of one.
fn read_shots(plan: &mut Plan, value: &Value) -> Result<(), Vec<String>> {
    const SHAPE: &str = r#"must be an array of {"prompt": "...", "duration": N}"#;
    let parsed;
    let items = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| vec![format!("multiPrompt: the string is not JSON: {e}")])?;
            match &parsed {
                Value::Array(items) => items,
                _ => return Err(vec![format!("multiPrompt: {SHAPE}")]),
            }
        }
        _ => return Err(vec![format!("multiPrompt: {SHAPE}, got {value}")]),
    };
    let mut shots = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // Numbered from 1, as the request's own checks number shots.
        let n = i + 1;
        match RawShot::deserialize(item) {
            Ok(shot) => match plan.add_prompt(&shot.prompt) {
                Ok(prompt) => shots.push((prompt, shot.duration)),
                Err(e) => problems.push(format!("multiPrompt[{n}].prompt: {e}")),
            },
            Err(e) => problems.push(format!("multiPrompt[{n}]: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    plan.shots = Some(shots);
    Ok(())
}

/// Names the closest known field, or all of them.
fn unknown_field(key: &str) -> String {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = squash(key);
    let closest = FIELDS
        .iter()
        .map(|f| (distance(&wanted, &squash(f)), *f))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 2);
    match closest {
        Some((_, field)) => format!("unknown field {key:?} (did you mean {field:?}?)"),
        None => format!(
            "unknown field {key:?}; the fields are {}",
            FIELDS.join(", ")
        ),
    }
}

/// Edit distance between two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
