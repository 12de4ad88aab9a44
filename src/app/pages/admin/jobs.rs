use super::AdminTabs;
use crate::api::operations::get_jobs;
use crate::app::components::connection_status::utc_minutes;
use crate::model::paths;
use crate::model::{JobStatus, JobView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const STATUSES: [JobStatus; 4] = [
    JobStatus::Queued,
    JobStatus::Running,
    JobStatus::Dead,
    JobStatus::Done,
];

/// `/admin/jobs`: background work, with retry and discard for dead jobs.
#[component]
pub fn AdminJobsPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.get().get("status").filter(|s| !s.is_empty());
    let page = Resource::new(status, get_jobs);
    view! {
        <Title text="Jobs"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(page) => {
                    let count = |s: JobStatus| page.counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
                    view! {
                        <nav class="filters chips" aria-label="Job status">
                            <a href=paths::ADMIN_JOBS class:active=move || status().is_none()>"All"</a>
                            {STATUSES.into_iter().map(|s| view! {
                                <a href=format!("{}?status={}", paths::ADMIN_JOBS, s.as_str()) class:active=move || status().as_deref() == Some(s.as_str())>
                                    {s.as_str()}" "<span class="count">{count(s)}</span>
                                </a>
                            }).collect_view()}
                        </nav>
                        <p class="muted small" data-testid="scheduler">
                            "Scheduler (renewals, token refreshes, polling): next run "
                            {page.scheduler_next_run.as_deref().map(utc_minutes).unwrap_or_else(|| "not scheduled".into())}
                        </p>
                        <p class="muted small" data-testid="housekeeping">
                            {match &page.housekeeping {
                                Some(h) => format!(
                                    "Housekeeping: last run {}; removed {} expired session(s), {} OAuth state(s), {} webhook event(s) older than {} days and {} orphaned secret(s).",
                                    utc_minutes(&h.finished_at), h.sessions, h.oauth_states, h.webhook_events, h.retention_days, h.secrets,
                                ),
                                None => "Housekeeping: not run yet (hourly, queued by the scheduler).".to_owned(),
                            }}
                        </p>
                        <JobsTable jobs=page.jobs/>
                    }.into_any()
                }
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn JobsTable(jobs: Vec<JobView>) -> impl IntoView {
    if jobs.is_empty() {
        return view! {
            <section class="card empty-state"><h2>"No jobs here"</h2>
            <p class="muted">"Background work appears here as calendars are connected and webhooks arrive."</p></section>
        }
        .into_any();
    }
    view! {
        <section class="card">
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"Kind"</th><th>"Status"</th><th>"Attempts"</th><th>"Runs at"</th><th>"Updated"</th><th>"Last error"</th><th></th></tr></thead>
                    <tbody>
                        {jobs.into_iter().map(|j| {
                            let dead = j.status == JobStatus::Dead;
                            view! {
                                <tr data-job=j.kind.clone()>
                                    <td data-label="Kind" class="nowrap"><code>{j.kind.clone()}</code></td>
                                    <td data-label="Status"><span class=format!("badge badge-job-{}", j.status.as_str())>{j.status.as_str()}</span></td>
                                    <td data-label="Attempts">{j.attempts}" / "{j.max_attempts}</td>
                                    <td data-label="Runs at" class="nowrap">{utc_minutes(&j.run_at)}</td>
                                    <td data-label="Updated" class="nowrap">{utc_minutes(&j.updated_at)}</td>
                                    <td data-label="Last error" class="error-text small">{j.last_error.clone()}</td>
                                    <td class="actions">
                                        {dead.then(|| view! {
                                            <form method="post" action=paths::RETRY_JOB.to(j.id)>
                                                <button type="submit" class="button small">"Retry"</button>
                                            </form>
                                            <form method="post" action=paths::DISCARD_JOB.to(j.id)>
                                                <button type="submit" class="button small danger-outline">"Discard"</button>
                                            </form>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
