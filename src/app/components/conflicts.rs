//! The conflict queue: each appointment or booking changed on both sides, its two
//! versions side by side, field by field, with the two ways to settle it.
//! Shown to admins on `/admin/sync` and to owners on `/settings/calendars`.

use crate::app::components::provider_icon::ProviderIcon;
use crate::model::{paths, ConflictField, ConflictSubject, ConflictView};
use leptos::prelude::*;

/// The queue; `as_admin` shows whose each conflict is and posts the Keep
/// buttons to the admin's paths.
#[component]
pub fn ConflictQueue(
    conflicts: Vec<ConflictView>,
    #[prop(default = false)] as_admin: bool,
) -> impl IntoView {
    if conflicts.is_empty() {
        return view! {
            <p class="muted" data-testid="no-conflicts">"No conflicts: calbridge and the calendars agree."</p>
        }
        .into_any();
    }
    view! {
        <div class="conflicts" data-testid="conflicts">
            {conflicts.into_iter().map(|c| view! {
                <ConflictCard conflict=c as_admin/>
            }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn ConflictCard(conflict: ConflictView, as_admin: bool) -> impl IntoView {
    let ConflictView {
        subject,
        title,
        owner_name,
        owner_email,
        provider,
        external_link,
        fields,
    } = conflict;
    view! {
        <section
            class="card conflict"
            data-appointment=match subject { ConflictSubject::Appointment(id) => Some(id.to_string()), _ => None }
            data-booking=match subject { ConflictSubject::Booking(id) => Some(id.to_string()), _ => None }
        >
            <div class="conflict-head">
                <h3>{title}</h3>
                <span class="muted small">
                    <ProviderIcon provider/>" "{provider.label()}
                    {as_admin.then(|| view! { " · "{owner_name}" ("{owner_email}")" })}
                    {external_link.map(|href| view! {
                        " · "<a href=href target="_blank" rel="noopener noreferrer">"Open in calendar"</a>
                    })}
                </span>
            </div>
            <ConflictFields fields/>
            <form method="post" action=paths::keep_conflict(subject, as_admin) class="inline-form conflict-actions">
                <button type="submit" name="keep" value="calbridge" class="button">"Keep calbridge"</button>
                <button type="submit" name="keep" value="calendar" class="button">"Keep calendar"</button>
            </form>
        </section>
    }
}

/// Both versions side by side, field by field, what differs marked.
#[component]
pub fn ConflictFields(fields: Vec<ConflictField>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table conflict-fields">
                <thead><tr><th>"Field"</th><th>"In calbridge"</th><th>"In the calendar"</th></tr></thead>
                <tbody>
                    {fields.into_iter().map(|f| {
                        let field = f.label.to_lowercase();
                        view! {
                        <tr class:differs=f.differs data-field=field>
                            <th scope="row">{f.label}</th>
                            <td data-label="In calbridge" data-side="calbridge">{f.calbridge}</td>
                            <td data-label="In the calendar" data-side="calendar">{f.calendar}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
