//! Per-provider concurrency: how many requests may be in flight to one API at once.
//!
//! Sessions that talk to the same provider share one [`Gate`]. Its limit halves when the
//! provider answers 429 (too many requests) and grows back by one with each success, up to the
//! configured maximum (additive increase, multiplicative decrease), so many LLMs run at once
//! without hammering a rate-limited API.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::{ChatModel, ChatRequest, LlmError, Reply};

/// The shared limit of one provider.
#[derive(Debug)]
pub struct Gate {
    name: String,
    max: usize,
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Debug)]
struct GateState {
    limit: usize,
    in_flight: usize,
}

impl Gate {
    /// A gate that lets `max` requests (at least one) through at once.
    pub fn new(name: impl Into<String>, max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Gate {
            name: name.into(),
            max,
            state: Mutex::new(GateState {
                limit: max,
                in_flight: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// How many requests may be in flight now.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// How many requests are in flight now.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Waits until a request may go, then counts it in flight until the permit is dropped.
    pub fn acquire(self: &Arc<Self>) -> Permit {
        let mut state = self.lock();
        while state.in_flight >= state.limit {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.in_flight += 1;
        Permit { gate: self.clone() }
    }

    /// The provider said "too many requests": halve the limit (never below one).
    pub fn throttled(&self) {
        let mut state = self.lock();
        let halved = (state.limit / 2).max(1);
        if halved < state.limit {
            tracing::info!(provider = %self.name, from = state.limit, to = halved, "rate limited: fewer requests at once");
        }
        state.limit = halved;
    }

    /// A request succeeded: allow one more at once, up to the maximum.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        if state.limit < self.max {
            state.limit += 1;
            self.freed.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request in flight; dropping it lets the next one go.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.in_flight -= 1;
        self.gate.freed.notify_one();
    }
}

/// A model whose calls pass through a provider's gate, and tell it how they went.
pub struct GatedModel {
    inner: Box<dyn ChatModel + Send>,
    gate: Arc<Gate>,
}

impl GatedModel {
    pub fn new(inner: Box<dyn ChatModel + Send>, gate: Arc<Gate>) -> Self {
        GatedModel { inner, gate }
    }
}

impl ChatModel for GatedModel {
    fn complete(&mut self, iteration: u32, request: &ChatRequest) -> Result<Reply, LlmError> {
        let permit = self.gate.acquire();
        let result = self.inner.complete(iteration, request);
        drop(permit);
        match &result {
            Ok(_) => self.gate.succeeded(),
            Err(error) if error.status() == Some(429) => self.gate.throttled(),
            Err(_) => {}
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    #[test]
    fn the_limit_halves_on_throttling_and_grows_back_one_by_one() {
        let gate = Gate::new("p", 8);
        assert_eq!(gate.limit(), 8);
        gate.throttled();
        assert_eq!(gate.limit(), 4);
        gate.throttled();
        gate.throttled();
        gate.throttled();
        assert_eq!(gate.limit(), 1, "never below one");
        gate.succeeded();
        assert_eq!(gate.limit(), 2);
        for _ in 0..20 {
            gate.succeeded();
        }
        assert_eq!(gate.limit(), 8, "never above the maximum");
    }

    #[test]
    fn a_request_waits_while_the_limit_is_reached_and_goes_when_a_permit_is_dropped() {
        let gate = Gate::new("p", 1);
        let first = gate.acquire();
        assert_eq!(gate.in_flight(), 1);
        let (sent, received) = mpsc::channel();
        let waiting = {
            let gate = gate.clone();
            thread::spawn(move || {
                let _second = gate.acquire();
                sent.send(()).unwrap();
            })
        };
        // The second request cannot have gone: the only permit is held here.
        assert!(received.try_recv().is_err());
        drop(first);
        received.recv().unwrap();
        waiting.join().unwrap();
        assert_eq!(gate.in_flight(), 0);
    }

    struct Answers(Vec<Result<Reply, LlmError>>);

    impl ChatModel for Answers {
        fn complete(&mut self, _: u32, _: &ChatRequest) -> Result<Reply, LlmError> {
            self.0.remove(0)
        }
    }

    #[test]
    fn a_gated_model_throttles_on_429_only_and_grows_on_success() {
        let gate = Gate::new("p", 4);
        let mut model = GatedModel::new(
            Box::new(Answers(vec![
                Err(LlmError::api("p", Some(429), "slow down")),
                Err(LlmError::api("p", Some(500), "oops")),
                Ok(Reply::default()),
            ])),
            gate.clone(),
        );
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![],
            params: Default::default(),
        };
        assert!(model.complete(1, &request).is_err());
        assert_eq!(gate.limit(), 2);
        assert!(model.complete(1, &request).is_err());
        assert_eq!(gate.limit(), 2, "a server error is not a rate limit");
        assert!(model.complete(1, &request).is_ok());
        assert_eq!(gate.limit(), 3);
        assert_eq!(gate.in_flight(), 0);
    }
}
