use crate::model::paths;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="card empty-state">
            <p class="error-code">"404"</p>
            <h1>"Page not found"</h1>
            <p class="muted">"The page you asked for does not exist or has moved."</p>
            <p><a class="button" href=paths::MEETINGS>"Go to your meetings"</a></p>
        </section>
    }
}
