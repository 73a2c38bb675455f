//! Spending limits: cost and tokens per run and per invocation, checked before each request.
//!
//! A limit is checked before a request is sent, so the request that crosses it completes and
//! is recorded; no request starts once a limit is reached. A run stopped by a budget ends
//! `aborted` with the reason (a harness limit, never charged to the LLM) and can be resumed
//! with a larger budget. Cost follows `config::spent_usd`; tokens are input plus output tokens
//! as the provider reported them.

use std::sync::{Arc, Mutex};

use crate::config::{spent_usd, Price};
use crate::llm::Reply;

/// How an end reason written by a budget begins (replay finds budget stops by it).
pub const BUDGET_REASON_PREFIX: &str = "budget:";

/// Upper bounds; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub cost_usd: Option<f64>,
    pub tokens: Option<u64>,
}

impl Limits {
    pub fn is_none(&self) -> bool {
        self.cost_usd.is_none() && self.tokens.is_none()
    }

    /// Why `spent` has reached a limit, if it has; `scope` and `flags` name the limit's scope
    /// and its command-line flags (cost, tokens) for the message.
    fn reached(&self, spent: &Spent, scope: &str, flags: (&str, &str)) -> Option<String> {
        if let Some(limit) = self.cost_usd {
            if spent.cost_usd >= limit {
                return Some(format!(
                    "{BUDGET_REASON_PREFIX} {scope} spent {:.4} USD of `{} {limit}`",
                    spent.cost_usd, flags.0
                ));
            }
        }
        if let Some(limit) = self.tokens {
            if spent.tokens >= limit {
                return Some(format!(
                    "{BUDGET_REASON_PREFIX} {scope} used {} tokens of `{} {limit}`",
                    spent.tokens, flags.1
                ));
            }
        }
        None
    }
}

/// What has been spent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub cost_usd: f64,
    pub tokens: u64,
    /// Replies whose cost could not be known (no reported cost, no price or no usage).
    pub unpriced_replies: u32,
}

impl Spent {
    /// One reply's share, under the entry's price.
    pub fn of_reply(reply: &Reply, price: Option<&Price>) -> Spent {
        let cost = spent_usd(reply.cost_usd, reply.usage.as_ref(), price);
        Spent {
            cost_usd: cost.unwrap_or(0.0),
            tokens: reply
                .usage
                .map_or(0, |usage| usage.input_tokens + usage.output_tokens),
            unpriced_replies: u32::from(cost.is_none()),
        }
    }

    pub(crate) fn add(&mut self, other: Spent) {
        self.cost_usd += other.cost_usd;
        self.tokens += other.tokens;
        self.unpriced_replies += other.unpriced_replies;
    }
}

/// The limits of one whole `harness generate` invocation, shared by its runs.
#[derive(Debug, Default)]
pub struct InvocationBudget {
    limits: Limits,
    spent: Mutex<Spent>,
}

impl InvocationBudget {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(InvocationBudget {
            limits,
            spent: Mutex::new(Spent::default()),
        })
    }

    /// Everything the invocation's runs spent so far.
    pub fn spent(&self) -> Spent {
        self.spent.lock().map(|spent| *spent).unwrap_or_default()
    }
}

/// One run's budget: its own limits plus the invocation's.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub run: Limits,
    pub invocation: Option<Arc<InvocationBudget>>,
    /// Replay of a run a budget stopped: stop before this iteration's request, with this reason.
    pub recorded_stop: Option<(u32, String)>,
}

impl Budget {
    /// No limits at all (replay, tests).
    pub fn unlimited() -> Budget {
        Budget::default()
    }

    /// The replay of a run that a budget stopped at `iteration`, for `reason`.
    pub fn replaying_stop(iteration: u32, reason: String) -> Budget {
        Budget {
            recorded_stop: Some((iteration, reason)),
            ..Budget::default()
        }
    }

    /// Why no request may be sent for `iteration`, given what this run spent so far.
    pub fn exhausted(&self, iteration: u32, run_spent: &Spent) -> Option<String> {
        if let Some((stop, reason)) = &self.recorded_stop {
            if iteration >= *stop {
                return Some(reason.clone());
            }
        }
        if let Some(reason) = self.run.reached(
            run_spent,
            "this run",
            ("--max-run-cost", "--max-run-tokens"),
        ) {
            return Some(reason);
        }
        let invocation = self.invocation.as_ref()?;
        invocation.limits.reached(
            &invocation.spent(),
            "this invocation",
            ("--max-cost", "--max-tokens"),
        )
    }

    /// Counts a reply against the run's and the invocation's limits.
    pub fn charge(&self, run_spent: &mut Spent, reply: Spent) {
        run_spent.add(reply);
        if let Some(invocation) = &self.invocation {
            if let Ok(mut spent) = invocation.spent.lock() {
                spent.add(reply);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Usage;

    fn reply(input: u64, output: u64, reported: Option<f64>) -> Reply {
        Reply {
            usage: Some(Usage {
                input_tokens: input,
                output_tokens: output,
                ..Default::default()
            }),
            cost_usd: reported,
            ..Default::default()
        }
    }

    fn price() -> Price {
        Price {
            input_per_mtok: 2.0,
            output_per_mtok: 10.0,
            as_of: None,
        }
    }

    #[test]
    fn a_reported_cost_wins_over_the_list_price() {
        let spent = Spent::of_reply(&reply(1_000_000, 0, Some(0.5)), Some(&price()));
        assert_eq!(spent.cost_usd, 0.5);
        assert_eq!(spent.tokens, 1_000_000);
        let listed = Spent::of_reply(&reply(1_000_000, 100_000, None), Some(&price()));
        assert!((listed.cost_usd - 3.0).abs() < 1e-12);
        assert_eq!(listed.unpriced_replies, 0);
        let unknown = Spent::of_reply(&reply(10, 10, None), None);
        assert_eq!((unknown.cost_usd, unknown.unpriced_replies), (0.0, 1));
    }

    #[test]
    fn the_run_limit_stops_at_the_first_check_past_it() {
        let budget = Budget {
            run: Limits {
                cost_usd: None,
                tokens: Some(100),
            },
            invocation: None,
            recorded_stop: None,
        };
        let mut spent = Spent::default();
        assert_eq!(budget.exhausted(1, &spent), None);
        budget.charge(&mut spent, Spent::of_reply(&reply(60, 30, None), None));
        assert_eq!(budget.exhausted(1, &spent), None, "90 of 100 tokens");
        budget.charge(&mut spent, Spent::of_reply(&reply(6, 4, None), None));
        let reason = budget.exhausted(1, &spent).expect("100 of 100 tokens");
        assert!(reason.contains("this run used 100 tokens of `--max-run-tokens 100`"));
    }

    #[test]
    fn the_invocation_limit_is_shared_by_its_runs() {
        let shared = InvocationBudget::new(Limits {
            cost_usd: Some(1.0),
            tokens: None,
        });
        let budget = Budget {
            run: Limits::default(),
            invocation: Some(shared.clone()),
            recorded_stop: None,
        };
        let (mut first, mut second) = (Spent::default(), Spent::default());
        budget.charge(&mut first, Spent::of_reply(&reply(0, 0, Some(0.6)), None));
        assert_eq!(budget.exhausted(1, &second), None);
        budget.charge(&mut second, Spent::of_reply(&reply(0, 0, Some(0.4)), None));
        let reason = budget.exhausted(1, &first).expect("1.0 of 1.0 USD in all");
        assert!(reason.contains("this invocation spent 1.0000 USD of `--max-cost 1`"));
        assert!((shared.spent().cost_usd - 1.0).abs() < 1e-12);
        assert_eq!(budget.exhausted(1, &Spent::default()), Some(reason));
    }

    #[test]
    fn a_replay_stops_where_the_recording_stopped() {
        let budget = Budget::replaying_stop(3, "budget: recorded".into());
        assert_eq!(budget.exhausted(2, &Spent::default()), None);
        assert_eq!(
            budget.exhausted(3, &Spent::default()).as_deref(),
            Some("budget: recorded")
        );
    }
}
