//! What the simulator saw, for tests to check what a client really sent.

use std::time::Duration;

use super::Route;

#[derive(Clone, Debug, Default)]
pub struct SimStats {
    /// Every POST to the generate route that passed auth, dry runs excluded.
    pub generate_posts: u64,
    pub jobs_created: u64,
    pub dry_runs: u64,
    pub get_job: u64,
    pub list_jobs: u64,
    pub cancels: u64,
    pub get_asset: u64,
    pub cdn_requests: u64,
    /// CDN requests that carried an `Authorization` header: credentials leaking off the API
    /// host. Must stay 0.
    pub cdn_with_authorization: u64,
    /// The `Range` header of every CDN request (None when absent), in order.
    pub cdn_ranges: Vec<Option<String>>,
    /// `POST /assets` requests that passed auth.
    pub asset_uploads: u64,
    /// `POST /uploads` requests that passed auth.
    pub upload_posts: u64,
    /// Multipart uploads created: `POST /uploads` answered 200.
    pub uploads_created: u64,
    pub get_upload: u64,
    /// `POST /uploads/{id}/action` requests that passed auth (the action is `complete`).
    pub upload_completes: u64,
    /// Every part PUT the CDN host received, refused and failed ones included.
    pub upload_parts_put: u64,
    /// Part PUTs that carried an `Authorization` header: credentials leaking off the API
    /// host. Must stay 0.
    pub upload_put_with_authorization: u64,
    /// `GET /models/{id}` requests that passed auth.
    pub get_model: u64,
    /// `GET /teams/{id}/limits` requests that passed auth.
    pub team_limits: u64,
    /// Requests answered 401.
    pub unauthorized: u64,
    /// The `projectId` query of the last API request that had one.
    pub last_project_id: Option<String>,
    /// The `createdAfter` of the last job listing that had one.
    pub last_created_after: Option<String>,
    /// The JSON body of the last generate POST (dry runs included), exactly as received.
    pub last_generate_body: Option<serde_json::Value>,
    /// The JSON body of every generate POST, in order, exactly as received, each with its
    /// route: [`Route::DryRun`] for a dry run, else [`Route::Generate`].
    pub generate_bodies: Vec<(Route, serde_json::Value)>,
    /// Every API and CDN request, with its arrival time since the simulator started.
    pub requests: Vec<(Duration, Route)>,
}

impl SimStats {
    /// Counts a request that passed auth on its route's counter.
    pub(crate) fn count(&mut self, route: Route) {
        let counter = match route {
            Route::Generate => &mut self.generate_posts,
            Route::DryRun => &mut self.dry_runs,
            Route::GetJob => &mut self.get_job,
            Route::ListJobs => &mut self.list_jobs,
            Route::CancelJob => &mut self.cancels,
            Route::GetAsset => &mut self.get_asset,
            Route::Cdn => &mut self.cdn_requests,
            Route::CreateAsset => &mut self.asset_uploads,
            Route::CreateUpload => &mut self.upload_posts,
            Route::GetUpload => &mut self.get_upload,
            Route::UploadAction => &mut self.upload_completes,
            Route::UploadPart => &mut self.upload_parts_put,
            Route::GetModel => &mut self.get_model,
            Route::TeamLimits => &mut self.team_limits,
        };
        *counter += 1;
    }
}
