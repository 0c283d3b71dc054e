//! What the ledger keeps beside jobs: the model's description, the rules already told, and
//! the prices dry runs quoted.

use super::*;

/// A request's name in the quote cache: the digest of what would be sent.
fn quote_key(request: &KlingRequest) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(request.to_json().to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Ledger {
    /// What a dry run said `request` costs, if one did within `max_age`.
    pub fn cached_quote(
        &self,
        request: &KlingRequest,
        max_age: std::time::Duration,
    ) -> Option<f64> {
        let since = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::try_from(max_age).ok()?)
            .ok()?;
        self.conn
            .prepare_cached(
                "SELECT cost FROM quotes
                 WHERE request = ?1 AND julianday(quoted_at) >= julianday(?2)",
            )
            .and_then(|mut q| {
                q.query_row(
                    rusqlite::params![quote_key(request), since.to_string()],
                    |r| r.get::<_, f64>(0),
                )
            })
            .ok()
            .filter(|cost| cost.is_finite() && *cost >= 0.0)
    }

    /// Keeps what a dry run said `request` costs. Only a cache: a failure to write it is
    /// logged, nothing more.
    pub fn keep_quote(&self, request: &KlingRequest, cost: f64) {
        if !cost.is_finite() || cost < 0.0 {
            return;
        }
        let kept = self
            .conn
            .prepare_cached(
                "INSERT INTO quotes (request, cost, quoted_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (request) DO UPDATE SET cost = ?2, quoted_at = ?3",
            )
            .and_then(|mut q| {
                q.execute(rusqlite::params![
                    quote_key(request),
                    cost,
                    jiff::Timestamp::now().to_string()
                ])
            });
        if let Err(e) = kept {
            tracing::warn!("cannot keep a quote in the ledger: {e}");
        }
    }

    /// A value kept in the ledger's `meta` table, if any.
    pub(super) fn meta(conn: &Connection, key: &str) -> Option<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .ok()
            .flatten()
    }

    pub(super) fn set_meta(&self, key: &str, value: &str) {
        let kept = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        );
        if let Err(e) = kept {
            tracing::warn!("cannot keep {key} in the ledger: {e}");
        }
    }

    /// The model as the server last described it, and when that was read (RFC 3339).
    pub fn model(&self) -> Option<(String, serde_json::Value)> {
        let text = Self::meta(&self.conn, "model")?;
        let kept: serde_json::Value = serde_json::from_str(&text).ok()?;
        let at = kept.get("readAt")?.as_str()?.to_string();
        Some((at, kept.get("model")?.clone()))
    }

    /// Keeps the server's description of the model, read now. Only a cache.
    pub fn keep_model(&self, model: &serde_json::Value) {
        let kept = serde_json::json!({
            "readAt": jiff::Timestamp::now().to_string(),
            "model": model,
        });
        self.set_meta("model", &kept.to_string());
    }

    /// Differences from the built-in rules already told, so each is told once.
    pub fn told_rules(&self) -> Vec<String> {
        Self::meta(&self.conn, "rules_told")
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn keep_told_rules(&self, told: &[String]) {
        self.set_meta(
            "rules_told",
            &serde_json::to_string(told).unwrap_or_default(),
        );
    }

    /// The rules requests are checked against: the server's description kept in the ledger
    /// in `dir`, else the built-in table. Read without locking, for any client.
    pub fn rules(dir: &Path) -> crate::kling::Rules {
        let kept = Self::reader(dir)
            .ok()
            .flatten()
            .and_then(|conn| Self::meta(&conn, "model"))
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        match kept.as_ref().and_then(|k| k.get("model")) {
            Some(model) => crate::kling::Rules::from_model(model),
            None => crate::kling::Rules::builtin(),
        }
    }
}
