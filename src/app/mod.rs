use leptos::prelude::*; pub fn shell(_o: leptos::config::LeptosOptions) -> impl IntoView { view!{<p>"x"</p>} } #[component] pub fn App() -> impl IntoView { view!{<p>"x"</p>} }
