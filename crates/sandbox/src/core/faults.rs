//! Fault injection: latency, error statuses (with the provider's rate-limit
//! headers for 429), and for webhook deliveries duplicates, reordering and
//! drops. Rules are set through the control API; every random choice comes
//! from the sandbox's seeded generator.

use super::errors::error_response;
use crate::Provider;
use crate::{Sandbox, World};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultRule {
    /// `None` applies to every provider.
    #[serde(default)]
    pub provider: Option<Provider>,
    /// A substring of the request path (relative to `/sandbox`), e.g.
    /// `scheduled_events`; `None` matches every API call.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub duplicate_delivery_rate: f64,
    #[serde(default)]
    pub reorder_deliveries: bool,
    #[serde(default)]
    pub drop_rate: f64,
    /// Only API calls with this method (`POST`, …); `None`: any.
    #[serde(default)]
    pub method: Option<String>,
    /// The call is carried out, then its answer held this long: a caller
    /// that dies meanwhile never learns what it did (a crash between a
    /// provider write and recording it).
    #[serde(default)]
    pub hold_answer_ms: u64,
}

fn default_status() -> u16 {
    503
}

#[derive(Default)]
pub struct State {
    pub rules: Vec<FaultRule>,
    /// API errors injected so far.
    pub injected_errors: u64,
}

impl State {
    /// Adds a rule, replacing one for the same provider, endpoint and
    /// method.
    pub fn set(&mut self, rule: FaultRule) {
        self.rules.retain(|r| {
            !(r.provider == rule.provider && r.endpoint == rule.endpoint && r.method == rule.method)
        });
        self.rules.push(rule);
    }

    /// The newest rule for an API call (`call`: path and method) or, with
    /// none, for an outgoing delivery.
    fn matching(&self, provider: Provider, call: Option<(&str, &str)>) -> Option<&FaultRule> {
        self.rules.iter().rev().find(|r| {
            r.provider.is_none_or(|p| p == provider)
                && match (&r.endpoint, call) {
                    (Some(e), Some((p, _))) => p.contains(e.as_str()),
                    (Some(_), None) => false,
                    (None, _) => true,
                }
                && match (&r.method, call) {
                    (Some(m), Some((_, method))) => m.eq_ignore_ascii_case(method),
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
    }
}

/// What happens to one outgoing delivery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFaults {
    pub drop: bool,
    pub duplicate: bool,
    pub reorder: bool,
}

pub fn for_delivery(world: &mut World, provider: Provider) -> DeliveryFaults {
    let Some(rule) = world.faults.matching(provider, None).cloned() else {
        return DeliveryFaults::default();
    };
    DeliveryFaults {
        drop: rule.drop_rate > 0.0 && world.rng.gen_bool(rule.drop_rate.min(1.0)),
        duplicate: rule.duplicate_delivery_rate > 0.0
            && world.rng.gen_bool(rule.duplicate_delivery_rate.min(1.0)),
        reorder: rule.reorder_deliveries,
    }
}

/// Which provider a sandbox path belongs to (paths relative to `/sandbox`).
pub fn provider_of_path(path: &str) -> Option<Provider> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "calendly" | "calendly-auth" => Some(Provider::Calendly),
        "google" | "google-oauth" => Some(Provider::Google),
        "graph" | "microsoft-login" => Some(Provider::Microsoft),
        _ => None,
    }
}

/// Middleware over every provider API route (control API and panel excluded).
pub async fn inject(AxState(sandbox): AxState<Sandbox>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let Some(provider) = provider_of_path(&path) else {
        return next.run(req).await;
    };
    // Consent pages are for people; faults target machine calls.
    if path.ends_with("/authorize") || path.ends_with("/auth") {
        return next.run(req).await;
    }
    let decision = {
        let mut world = sandbox.world();
        world
            .faults
            .matching(provider, Some((&path, &method)))
            .cloned()
            .map(|rule| {
                let fail = rule.error_rate > 0.0 && world.rng.gen_bool(rule.error_rate.min(1.0));
                if fail {
                    world.faults.injected_errors += 1;
                }
                (
                    rule.latency_ms,
                    fail.then_some(rule.status),
                    rule.hold_answer_ms,
                )
            })
    };
    let Some((latency_ms, fail_status, hold_answer_ms)) = decision else {
        return next.run(req).await;
    };
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fail_status {
        None => {
            let answer = next.run(req).await;
            if hold_answer_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(hold_answer_ms)).await;
            }
            answer
        }
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = error_response(provider, status, "Injected fault (sandbox).");
            if status == StatusCode::TOO_MANY_REQUESTS {
                let reset = sandbox.world().now().timestamp() + 1;
                let headers = response.headers_mut();
                headers.insert("Retry-After", HeaderValue::from_static("1"));
                headers.insert("X-RateLimit-Limit", HeaderValue::from_static("500"));
                headers.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
                if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
                    headers.insert("X-RateLimit-Reset", v);
                }
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_providers() {
        assert_eq!(
            provider_of_path("/calendly/users/me"),
            Some(Provider::Calendly)
        );
        assert_eq!(
            provider_of_path("/calendly-auth/oauth/token"),
            Some(Provider::Calendly)
        );
        assert_eq!(
            provider_of_path("/google/calendar/v3/freeBusy"),
            Some(Provider::Google)
        );
        assert_eq!(
            provider_of_path("/microsoft-login/common/oauth2/v2.0/token"),
            Some(Provider::Microsoft)
        );
        assert_eq!(
            provider_of_path("/graph/v1.0/me"),
            Some(Provider::Microsoft)
        );
        assert_eq!(provider_of_path("/_control/faults"), None);
        assert_eq!(provider_of_path("/"), None);
    }

    fn rule(endpoint: &str, method: Option<&str>) -> FaultRule {
        serde_json::from_value(serde_json::json!({
            "provider": "google", "endpoint": endpoint, "method": method, "error_rate": 1.0
        }))
        .unwrap()
    }

    #[test]
    fn a_rule_with_a_method_matches_only_calls_with_it() {
        let mut state = State::default();
        state.set(rule("/events", Some("POST")));
        let events = "/google/calendar/v3/calendars/primary/events";
        assert!(state
            .matching(Provider::Google, Some((events, "post")))
            .is_some());
        assert!(state
            .matching(Provider::Google, Some((events, "GET")))
            .is_none());
        assert!(
            state.matching(Provider::Google, None).is_none(),
            "not a delivery rule"
        );
        assert!(state
            .matching(Provider::Microsoft, Some((events, "POST")))
            .is_none());
        // Another method on the same endpoint is a rule of its own.
        state.set(rule("/events", Some("PATCH")));
        state.set(rule("/events", None));
        assert_eq!(state.rules.len(), 3);
        assert!(state
            .matching(Provider::Google, Some((events, "GET")))
            .is_some());
    }
}
