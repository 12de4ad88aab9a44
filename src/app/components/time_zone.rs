use leptos::prelude::*;

/// Common IANA zones offered as suggestions; any valid IANA name is accepted.
const COMMON_ZONES: &[&str] = &[
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

/// The time zone field, server-rendered with `initial`. With `detect`, once
/// hydrated, the browser's own zone replaces the placeholder value (for new
/// accounts; an existing profile keeps what the user chose).
#[component]
pub fn TimeZoneInput(initial: String, #[prop(optional)] detect: bool) -> impl IntoView {
    let value = RwSignal::new(initial);
    #[cfg(not(feature = "hydrate"))]
    let _ = detect;
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if detect {
            if let Some(tz) = browser_time_zone() {
                value.set(tz);
            }
        }
    });
    view! {
        <label>
            "Time zone"
            <input
                name="time_zone"
                list="time-zones"
                required
                autocomplete="off"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <datalist id="time-zones">
                {COMMON_ZONES.iter().map(|z| view! { <option value=*z></option> }).collect_view()}
            </datalist>
            <small class="hint">"Meetings are shown in this zone, for example Europe/Berlin."</small>
        </label>
    }
}

#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()?
        .as_string()
}
