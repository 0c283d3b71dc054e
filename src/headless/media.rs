//! Local files named where an asset id may go: every file is checked before any upload, then
//! uploaded (or found in the upload cache) and replaced by its asset id.

use super::outln;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::upload_cache::UploadError;
use crate::engine::{Command, Event, UploadedAsset};
use crate::kling::{AssetId, KlingRequest};
use crate::media::{MediaInfo, MediaKind, Role, check_file};
use crate::sanitize::sanitize;
use crate::units::human_bytes;

use super::{CliError, Session, exit};

/// An asset id as the API spells them; anything else is taken as a path.
pub fn is_asset_id(value: &str) -> bool {
    value.starts_with("asset_") && !Path::new(value).exists()
}

/// The local files a request names, each with the role it plays, checked. Every problem of
/// every file is reported at once, before anything is uploaded.
fn local_files(request: &KlingRequest) -> Result<Vec<(String, MediaInfo, Role)>, CliError> {
    let mut named: Vec<(&AssetId, Role)> = Vec::new();
    named.extend(request.start_image.iter().map(|a| (a, Role::Image)));
    named.extend(request.end_image.iter().map(|a| (a, Role::Image)));
    named.extend(request.reference_images.iter().map(|a| (a, Role::Image)));
    named.extend(request.reference_video.iter().map(|a| (a, Role::Video)));
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for (value, role) in named {
        if is_asset_id(value.as_str()) {
            continue;
        }
        match check_file(Path::new(value.as_str()), role) {
            Ok(info) => files.push((value.as_str().to_string(), info, role)),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(CliError::Invalid(problems))
    }
}

/// Checks the request's local files (exit 2 on any problem, nothing sent); nothing else.
pub fn check_request_files(request: &KlingRequest) -> Result<(), CliError> {
    local_files(request).map(drop)
}

/// Uploads (or reuses) every local file the request names and puts asset ids in their place.
pub async fn resolve(session: &Session, request: &mut KlingRequest) -> Result<(), CliError> {
    let files = local_files(request)?;
    if files.is_empty() {
        return Ok(());
    }
    let paths = files
        .iter()
        .map(|(_, info, role)| (info.path.clone(), *role))
        .collect();
    let assets = upload_all(session, paths).await?;
    let ids: std::collections::HashMap<String, String> = files
        .into_iter()
        .zip(assets)
        .map(|((value, _, _), asset)| (value, asset.asset_id))
        .collect();
    let swap = |a: &mut AssetId| {
        if let Some(id) = ids.get(a.as_str()) {
            *a = AssetId::new(id.clone());
        }
    };
    request.start_image.iter_mut().for_each(swap);
    request.end_image.iter_mut().for_each(swap);
    request.reference_images.iter_mut().for_each(swap);
    request.reference_video.iter_mut().for_each(swap);
    Ok(())
}

/// Each file to an asset id, in order, through the engine (which records it in the upload
/// cache, for every process), with byte progress on a terminal.
async fn upload_all(
    session: &Session,
    files: Vec<(PathBuf, Role)>,
) -> Result<Vec<UploadedAsset>, CliError> {
    let (mut engine, _) = session.engine(session.engine_config(None)).await?;
    let tty = std::io::stderr().is_terminal();
    let outcome = async {
        let mut assets = Vec::new();
        for (n, (path, role)) in files.into_iter().enumerate() {
            let seq = n as u64 + 1;
            let shown = sanitize(&path.display().to_string());
            // The engine does not share this process's working folder.
            let file = std::path::absolute(&path)
                .map_err(|e| CliError::Local(format!("{shown}: cannot resolve it: {e}")))?;
            let _ = engine.commands.send(Command::Upload { seq, file, role });
            // Off a terminal: a line per quarter sent, then one a minute while the server
            // imports it, so a log never goes silent for minutes.
            let mut told_quarter = None;
            let started = std::time::Instant::now();
            let mut told_at = started;
            let mut sent_all = false;
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            tick.tick().await;
            let result = loop {
                let event = tokio::select! {
                    event = engine.events.recv() => event,
                    _ = tick.tick(), if !tty => {
                        if told_at.elapsed() >= std::time::Duration::from_secs(59) {
                            told_at = std::time::Instant::now();
                            let what = if sent_all { "the server imports it" } else { "sending" };
                            eprintln!(
                                "uploading {shown}: {what} ({} so far)",
                                crate::units::human_duration(started.elapsed())
                            );
                        }
                        continue;
                    }
                };
                match event {
                    Some(Event::UploadProgress {
                        seq: s,
                        sent,
                        total,
                    }) if s == seq => {
                        sent_all = total > 0 && sent >= total;
                        if tty {
                            eprint!(
                                "\r\x1b[2Kuploading {shown}  {}/{}",
                                human_bytes(sent),
                                human_bytes(total)
                            );
                        } else {
                            let quarter = (sent.saturating_mul(4)).checked_div(total).unwrap_or(4);
                            if told_quarter != Some(quarter) {
                                told_quarter = Some(quarter);
                                told_at = std::time::Instant::now();
                                eprintln!(
                                    "uploading {shown}  {}/{}",
                                    human_bytes(sent),
                                    human_bytes(total)
                                );
                            }
                        }
                    }
                    Some(Event::UploadDone { seq: s, result }) if s == seq => break result,
                    Some(Event::Halted { reason })
                    | Some(Event::Detached {
                        reason,
                        stopped: true,
                    }) => break Err(UploadError::Failed(reason)),
                    Some(_) => {}
                    None => break Err(UploadError::Failed("the engine stopped".into())),
                }
            };
            if tty {
                eprintln!();
            }
            match result {
                Ok(asset) => assets.push(asset),
                Err(UploadError::Invalid(problems)) => return Err(CliError::Invalid(problems)),
                Err(UploadError::Failed(reason) | UploadError::Passing(reason)) => {
                    return Err(CliError::Local(reason));
                }
            }
        }
        Ok(assets)
    }
    .await;
    engine.shutdown().await;
    outcome
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadReport {
    file: PathBuf,
    asset_id: String,
    kind: &'static str,
    size: u64,
    reused: bool,
}

/// `kling-tui upload FILE... [--json]`.
pub async fn upload_command(
    cli: &crate::cli::Cli,
    files: &[PathBuf],
    json: bool,
) -> Result<i32, CliError> {
    let mut checked: Vec<(MediaInfo, Role)> = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let role = match crate::media::open_regular(path).ok().and_then(|mut f| {
            let mut head = [0u8; 32];
            std::io::Read::read(&mut f, &mut head).ok()?;
            MediaKind::sniff(&head)
        }) {
            Some(kind) if !kind.is_image() => Role::Video,
            _ => Role::Image,
        };
        match check_file(path, role) {
            Ok(info) => checked.push((info, role)),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Invalid(problems));
    }
    let session = Session::open(cli).await?;
    let paths = checked
        .iter()
        .map(|(info, role)| (info.path.clone(), *role))
        .collect();
    let assets = upload_all(&session, paths).await?;
    for ((info, _), asset) in checked.into_iter().zip(assets) {
        let UploadedAsset { asset_id, reused } = asset;
        if json {
            let report = UploadReport {
                file: info.path.clone(),
                asset_id,
                kind: info.kind.name(),
                size: info.size,
                reused,
            };
            outln!("{}", serde_json::to_string(&report).unwrap_or_default());
        } else {
            let note = if reused { "  (already uploaded)" } else { "" };
            outln!(
                "{}  {}{note}",
                sanitize(&info.path.display().to_string()),
                sanitize(&asset_id)
            );
        }
    }
    Ok(exit::OK)
}
