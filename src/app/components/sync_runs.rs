//! A table of sync runs: the admin's log and a user's own syncs.

use crate::app::components::connection_status::utc_short;
use crate::app::components::provider_icon::ProviderIcon;
use crate::model::{paths, SyncRunView};
use leptos::prelude::*;

fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "running".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

/// The runs; `link` rows to their detail page (admins).
#[component]
pub fn RunsTable(runs: Vec<SyncRunView>, #[prop(default = true)] link: bool) -> impl IntoView {
    view! {
        <section class="card">
            <div class="table-wrap">
                <table class="table" data-testid="sync-runs">
                    <thead><tr><th>"Started (UTC)"</th><th>"Account"</th><th>"Trigger"</th><th>"Outcome"</th><th>"Changes"</th><th>"Took"</th></tr></thead>
                    <tbody>
                        {runs.into_iter().map(|r| {
                            let started = utc_short(&r.started_at);
                            view! {
                                <tr data-run=r.id.to_string() data-outcome=r.outcome.as_str() data-trigger=r.trigger.as_str()>
                                    <td data-label="Started (UTC)" class="nowrap">{if link {
                                        view! { <a href=paths::ADMIN_SYNC_RUN.to(r.id)>{started}</a> }.into_any()
                                    } else {
                                        view! { <span>{started}</span> }.into_any()
                                    }}</td>
                                    <td data-label="Account" title=r.provider.label()><ProviderIcon provider=r.provider/>" "{r.account_email.clone()}
                                        <br/><span class="muted small">{r.user_email.clone()}</span></td>
                                    <td data-label="Trigger">{r.trigger.label()}{r.full_read.then(|| view! { <br/><span class="muted small">"read in full"</span> })}</td>
                                    <td data-label="Outcome"><span class=format!("badge badge-sync-{}", r.outcome.as_str())>{r.outcome.label()}</span>
                                        {r.error.clone().map(|e| view! { <br/><span class="muted small">{e}</span> })}</td>
                                    <td data-label="Changes">{r.counts.summary()}</td>
                                    <td data-label="Took" class="nowrap">{duration(r.duration_ms)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
