//! What the server says of the model and of the team's limits, read at start and kept a day.

use super::*;

/// The model's description is read again after a day.
pub(super) const MODEL_KEPT_SECS: i64 = 24 * 60 * 60;

impl Worker {
    /// Reads the server's description of the model, unless one read less than a day ago is
    /// kept (or a read is under way).
    pub(super) fn ask_model(&mut self) {
        let fresh = self.ledger.model().is_some_and(|(at, _)| {
            at.parse::<jiff::Timestamp>()
                .is_ok_and(|t| jiff::Timestamp::now().duration_since(t).as_secs() < MODEL_KEPT_SECS)
        });
        if fresh || self.model_asked {
            return;
        }
        self.model_asked = true;
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks
            .spawn_for(Owner::Engine, Kind::Model, async move {
                let result = client.get_model(crate::kling::MODEL_ID).await;
                let _ = tx.send(Internal::Model(result));
            });
    }

    /// Reads the team's concurrency ceiling, when the team is known, rather than finding it
    /// by 429s.
    pub(super) fn ask_team_limits(&mut self) {
        let Some(team) = self.config.team_id.clone() else {
            return;
        };
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        self.tasks
            .spawn_for(Owner::Engine, Kind::Model, async move {
                let result = client.team_limits(&team).await;
                let _ = tx.send(Internal::TeamLimits(result));
            });
    }

    /// The server's description of the model: kept, its rules taken, and each way it differs
    /// from the built-in table told once (ever, per ledger).
    pub(super) fn model_read(&mut self, result: Result<serde_json::Value, ApiError>) {
        self.model_asked = false;
        match result {
            Ok(model) => {
                self.ledger.keep_model(&model);
                self.rules = crate::kling::Rules::from_model(&model);
                let differences = self.rules.differences();
                let told = self.ledger.told_rules();
                for difference in differences.iter().filter(|d| !told.contains(d)) {
                    tracing::info!("{difference}");
                    self.emit(Event::Notice {
                        message: sanitize(difference),
                    });
                }
                if differences != told {
                    self.ledger.keep_told_rules(&differences);
                }
            }
            Err(e) => {
                let message = format!(
                    "the model's description could not be read ({}): the built-in rules apply",
                    sanitize(&e.to_string())
                );
                tracing::info!("{message}");
                self.emit(Event::Notice { message });
            }
        }
    }

    pub(super) fn team_limits_read(&mut self, result: Result<serde_json::Value, ApiError>) {
        let ceiling = result
            .as_ref()
            .ok()
            .and_then(crate::engine::ceiling::Ceiling::from_limits);
        match (ceiling, result) {
            (Some(ceiling), _) => {
                let n = ceiling.limit().unwrap_or_default();
                tracing::info!("the team runs at most {n} jobs at once (its plan's limits)");
                self.action_limit = ceiling;
                self.drain_queue();
            }
            (_, Err(e)) => tracing::info!(
                "the team's limits could not be read ({}): its ceiling is learnt from 429s",
                sanitize(&e.to_string())
            ),
            _ => tracing::info!("the team's limits name no ceiling: it is learnt from 429s"),
        }
    }
}
