use leptos::prelude::*;

/// Common IANA zones offered as suggestions; any valid IANA name is accepted.
pub const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Kyiv",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Vancouver",
];

/// The time zone field, server-rendered with `initial` as its `value`
/// attribute.
#[component]
pub fn TimeZoneInput(
    initial: String,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Input>,
) -> impl IntoView {
    view! {
        <label>
            "Time zone"
            <input
                node_ref=node_ref
                name="time_zone"
                list="time-zones"
                required
                autocomplete="off"
                value=initial
            />
            <datalist id="time-zones">
                {COMMON_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
            </datalist>
            <small class="hint">"Meetings are shown in this zone, for example Europe/Berlin."</small>
        </label>
    }
}

/// The time zone field for new accounts: once hydrated, the browser's own
/// zone replaces `initial` — but only while the field still holds it, so
/// whatever the person typed before hydration stays.
#[island]
pub fn BrowserTimeZoneInput(initial: String) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    #[cfg(feature = "hydrate")]
    {
        let untouched = initial.clone();
        Effect::new(move |_| {
            if let Some(field) = input.get() {
                if field.value() == untouched {
                    if let Some(tz) = browser_time_zone() {
                        field.set_value(&tz);
                    }
                }
            }
        });
    }
    view! { <TimeZoneInput initial node_ref=input/> }
}

#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()?
        .as_string()
}
