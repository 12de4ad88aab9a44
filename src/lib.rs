//! calbridge: calendar integrations for multi-tenant products.
//! One crate, two targets: `ssr` builds the server, `hydrate` the WASM that
//! brings the same components to life in the browser.

// Leptos view types nest deeply; the optimised hydrate build needs more room.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod model;
#[cfg(all(feature = "ssr", feature = "sandbox"))]
pub mod sandbox;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronous hydration: a lazy route's code may have to be fetched
    // before its part of the page can be hydrated.
    wasm_bindgen_futures::spawn_local(async {
        let document = leptos::prelude::document();
        let Some(body) = document.body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // A marker for people and tests: the page is interactive from here.
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}
