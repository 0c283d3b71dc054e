//! One-shot faults that tests inject, and the queue that hands them out in order of arrival.

/// The routes the simulator answers, as named in faults and in the request log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    Generate,
    DryRun,
    GetJob,
    ListJobs,
    CancelJob,
    GetAsset,
    Cdn,
    /// `POST /assets`: an image sent inline.
    CreateAsset,
    /// `POST /uploads`.
    CreateUpload,
    /// `GET /uploads/{id}`.
    GetUpload,
    /// `POST /uploads/{id}/action`.
    UploadAction,
    /// A part `PUT` to the CDN host.
    UploadPart,
    /// `GET /models/{modelId}`.
    GetModel,
    /// `GET /teams/{teamId}/limits`.
    TeamLimits,
}

impl Route {
    /// Reads that a rate-based 5xx may hit; never a POST, which could cost money to repeat.
    pub(crate) fn is_get(self) -> bool {
        matches!(
            self,
            Route::GetJob
                | Route::ListJobs
                | Route::GetAsset
                | Route::Cdn
                | Route::GetUpload
                | Route::GetModel
                | Route::TeamLimits
        )
    }
}

/// A fault for the next requests of one kind. Faults of the same kind are used up in the
/// order they were injected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next `count` requests to `route` answer `status` with an error body and do nothing
    /// else.
    ApiStatus {
        route: Route,
        status: u16,
        count: u32,
    },
    /// The next `count` requests to `route` answer 429 with `remainingSeconds: seconds`.
    ApiWait {
        route: Route,
        seconds: u64,
        count: u32,
    },
    /// The job is created (and counted), but the answer is `status`: a client must not re-send.
    GenerateErrorAfterCreate { status: u16, count: u32 },
    /// The job is created, then the connection drops part-way through the answer.
    GenerateResetAfterCreate { count: u32 },
    /// The job is created, and the answer comes `millis` later: a POST still in flight.
    GenerateSlowAnswer { millis: u64, count: u32 },
    /// 429 with `details.actionLimit` and `remainingSeconds`; no job is created.
    Generate429 { count: u32, remaining_seconds: u64 },
    /// The next `count` CDN downloads send about half the body, then break the connection.
    CdnTruncate { count: u32 },
    /// The next `count` CDN downloads send headers, then break before any byte of body.
    CdnReset { count: u32 },
    /// The next `count` CDN downloads that carry `Range` answer 200 with the whole body.
    CdnIgnoreRange { count: u32 },
    /// The next `count` CDN downloads answer 200 with the first half of the file, its headers
    /// consistent with that shorter body.
    CdnShortFile { count: u32 },
    /// The next `count` CDN downloads answer 200 with a small `text/html` error page.
    CdnHtmlPage { count: u32 },
    /// The next `count` CDN downloads answer 200 with the file gzip-compressed and
    /// `Content-Encoding: gzip`, whatever the request asked for.
    CdnGzip { count: u32 },
    /// The next `count` CDN downloads answer 200 with `extra` bytes after the file, headers
    /// consistent with that longer body.
    CdnLonger { count: u32, extra: u64 },
    /// The next `count` CDN downloads answer 200 with no length and a body that never ends
    /// (the file, then filler) until the client hangs up.
    CdnEndless { count: u32 },
    /// The next `count` CDN downloads send about half the body, then nothing more while
    /// keeping the connection open.
    CdnStall { count: u32 },
    /// The next `count` CDN downloads send the whole body with one byte changed, a different
    /// byte each time.
    CdnCorrupt { count: u32 },
    /// The next `count` CDN downloads send the right body under an ETag that looks like an
    /// MD5 but is not the body's (as S3 gives for objects encrypted with KMS).
    CdnForeignEtag { count: u32 },
    /// The next `count` asset lookups leave out the file's size.
    AssetWithoutSize { count: u32 },
    /// The next `count` lookups of a finished video leave out its `thumbnail` (its
    /// `firstFrame`, `lastFrame` and `preview` stay).
    AssetWithoutThumbnail { count: u32 },
    /// The next `count` lookups of a finished video leave out every picture: `thumbnail`,
    /// `firstFrame`, `lastFrame` and `preview`.
    AssetWithoutPictures { count: u32 },
    /// The next `count` CDN downloads answer 200 with the announced type and length but
    /// another file's bytes (a text file), as a misconfigured origin does.
    CdnForeignFile { count: u32 },
    /// The next job created gets this id instead of a generated one (ids are the server's
    /// to choose: nothing says they are safe as file names).
    NextJobId { id: String },
    /// The next asset an upload makes (inline or multipart) gets this id instead of a
    /// generated one: a hostile server's escape sequences, `../`, bidi controls.
    NextAssetId { id: String },
    /// Every link issued so far answers 403 from now on; fresh links still work. This
    /// includes upload part links.
    ExpireAllLinks,
    /// The next `count` upload part PUTs answer 500 and store nothing.
    UploadPartFail { count: u32 },
    /// The next `count` uploads completed with every part in place end in `failed`, with
    /// errorMessage "The file could not be imported".
    ImportFail { count: u32 },
    /// The next `count` jobs created end in `failure`, whatever the failure rate.
    JobFails { count: u32 },
}

impl Fault {
    fn count_mut(&mut self) -> Option<&mut u32> {
        match self {
            Fault::ApiStatus { count, .. }
            | Fault::ApiWait { count, .. }
            | Fault::GenerateErrorAfterCreate { count, .. }
            | Fault::GenerateResetAfterCreate { count }
            | Fault::GenerateSlowAnswer { count, .. }
            | Fault::Generate429 { count, .. }
            | Fault::CdnTruncate { count }
            | Fault::CdnReset { count }
            | Fault::CdnIgnoreRange { count }
            | Fault::CdnShortFile { count }
            | Fault::CdnHtmlPage { count }
            | Fault::CdnGzip { count }
            | Fault::CdnLonger { count, .. }
            | Fault::CdnEndless { count }
            | Fault::CdnStall { count }
            | Fault::CdnCorrupt { count }
            | Fault::CdnForeignEtag { count }
            | Fault::AssetWithoutSize { count }
            | Fault::AssetWithoutThumbnail { count }
            | Fault::AssetWithoutPictures { count }
            | Fault::CdnForeignFile { count }
            | Fault::UploadPartFail { count }
            | Fault::ImportFail { count }
            | Fault::JobFails { count } => Some(count),
            Fault::ExpireAllLinks | Fault::NextJobId { .. } | Fault::NextAssetId { .. } => None,
        }
    }
}

/// What happens to a generate request after its job was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterCreate {
    Status(u16),
    Reset,
    /// Answer after this many milliseconds.
    Delay(u64),
}

/// How a CDN answer goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Breakage {
    Truncate,
    Reset,
    ShortFile,
    HtmlPage,
    Gzip,
    Longer(u64),
    Endless,
    Stall,
    /// Which byte past the middle to change.
    Corrupt(u64),
    ForeignEtag,
    ForeignFile,
}

/// Which pictures a video's asset lookup carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pictures {
    All,
    NoThumbnail,
    None,
}

/// Counted faults waiting to be used, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PendingFaults {
    queue: Vec<Fault>,
}

impl PendingFaults {
    /// Queues a fault: a counted one while its count is above 0, an uncounted one for one
    /// use. `ExpireAllLinks` is handled by the caller.
    pub(crate) fn push(&mut self, mut fault: Fault) {
        if fault.count_mut().is_none_or(|count| *count > 0) {
            self.queue.push(fault);
        }
    }

    /// Uses one count of the oldest fault that `pick` accepts.
    fn take<T>(&mut self, pick: impl Fn(&Fault) -> Option<T>) -> Option<T> {
        let (index, value) = self
            .queue
            .iter()
            .enumerate()
            .find_map(|(i, fault)| pick(fault).map(|v| (i, v)))?;
        let spent = match self.queue[index].count_mut() {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => true,
        };
        if spent {
            self.queue.remove(index);
        }
        Some(value)
    }

    pub(crate) fn api_status(&mut self, route: Route) -> Option<u16> {
        self.take(|f| match f {
            Fault::ApiStatus {
                route: r, status, ..
            } if *r == route => Some(*status),
            _ => None,
        })
    }

    pub(crate) fn api_wait(&mut self, route: Route) -> Option<u64> {
        self.take(|f| match f {
            Fault::ApiWait {
                route: r, seconds, ..
            } if *r == route => Some(*seconds),
            _ => None,
        })
    }

    pub(crate) fn generate_429(&mut self) -> Option<u64> {
        self.take(|f| match f {
            Fault::Generate429 {
                remaining_seconds, ..
            } => Some(*remaining_seconds),
            _ => None,
        })
    }

    pub(crate) fn after_create(&mut self) -> Option<AfterCreate> {
        self.take(|f| match f {
            Fault::GenerateErrorAfterCreate { status, .. } => Some(AfterCreate::Status(*status)),
            Fault::GenerateResetAfterCreate { .. } => Some(AfterCreate::Reset),
            Fault::GenerateSlowAnswer { millis, .. } => Some(AfterCreate::Delay(*millis)),
            _ => None,
        })
    }

    pub(crate) fn cdn_ignore_range(&mut self) -> bool {
        self.take(|f| matches!(f, Fault::CdnIgnoreRange { .. }).then_some(()))
            .is_some()
    }

    pub(crate) fn next_job_id(&mut self) -> Option<String> {
        self.take(|f| match f {
            Fault::NextJobId { id } => Some(id.clone()),
            _ => None,
        })
    }

    pub(crate) fn job_fails(&mut self) -> bool {
        self.take(|f| matches!(f, Fault::JobFails { .. }).then_some(()))
            .is_some()
    }

    pub(crate) fn next_asset_id(&mut self) -> Option<String> {
        self.take(|f| match f {
            Fault::NextAssetId { id } => Some(id.clone()),
            _ => None,
        })
    }

    pub(crate) fn asset_without_size(&mut self) -> bool {
        self.take(|f| matches!(f, Fault::AssetWithoutSize { .. }).then_some(()))
            .is_some()
    }

    pub(crate) fn asset_pictures(&mut self) -> Pictures {
        self.take(|f| match f {
            Fault::AssetWithoutThumbnail { .. } => Some(Pictures::NoThumbnail),
            Fault::AssetWithoutPictures { .. } => Some(Pictures::None),
            _ => None,
        })
        .unwrap_or(Pictures::All)
    }

    pub(crate) fn upload_part_fail(&mut self) -> bool {
        self.take(|f| matches!(f, Fault::UploadPartFail { .. }).then_some(()))
            .is_some()
    }

    pub(crate) fn import_fail(&mut self) -> bool {
        self.take(|f| matches!(f, Fault::ImportFail { .. }).then_some(()))
            .is_some()
    }

    pub(crate) fn cdn_breakage(&mut self) -> Option<Breakage> {
        self.take(|f| match f {
            Fault::CdnTruncate { .. } => Some(Breakage::Truncate),
            Fault::CdnReset { .. } => Some(Breakage::Reset),
            Fault::CdnShortFile { .. } => Some(Breakage::ShortFile),
            Fault::CdnHtmlPage { .. } => Some(Breakage::HtmlPage),
            Fault::CdnGzip { .. } => Some(Breakage::Gzip),
            Fault::CdnLonger { extra, .. } => Some(Breakage::Longer(*extra)),
            Fault::CdnEndless { .. } => Some(Breakage::Endless),
            Fault::CdnStall { .. } => Some(Breakage::Stall),
            // The count left tells the uses apart, so each changes another byte.
            Fault::CdnCorrupt { count } => Some(Breakage::Corrupt(u64::from(*count))),
            Fault::CdnForeignEtag { .. } => Some(Breakage::ForeignEtag),
            Fault::CdnForeignFile { .. } => Some(Breakage::ForeignFile),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_in_order_and_counted_down() {
        let mut pending = PendingFaults::default();
        pending.push(Fault::ApiStatus {
            route: Route::GetJob,
            status: 500,
            count: 2,
        });
        pending.push(Fault::ApiStatus {
            route: Route::ListJobs,
            status: 502,
            count: 1,
        });
        pending.push(Fault::ApiStatus {
            route: Route::GetJob,
            status: 503,
            count: 1,
        });
        pending.push(Fault::CdnReset { count: 0 });
        let seen: Vec<_> = (0..4).map(|_| pending.api_status(Route::GetJob)).collect();
        assert_eq!(seen, [Some(500), Some(500), Some(503), None]);
        assert_eq!(pending.api_status(Route::ListJobs), Some(502));
        assert_eq!(pending.cdn_breakage(), None);
    }

    #[test]
    fn the_oldest_of_two_kinds_wins() {
        let mut pending = PendingFaults::default();
        pending.push(Fault::GenerateResetAfterCreate { count: 1 });
        pending.push(Fault::GenerateErrorAfterCreate {
            status: 500,
            count: 1,
        });
        assert_eq!(pending.after_create(), Some(AfterCreate::Reset));
        assert_eq!(pending.after_create(), Some(AfterCreate::Status(500)));
        assert_eq!(pending.after_create(), None);
    }
}
