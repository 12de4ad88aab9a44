//! calbridge: calendar integrations for multi-tenant products.
//! One crate, two targets: `ssr` builds the server, `hydrate` the WASM that
//! brings the same components to life in the browser.

// Leptos view types nest deeply; the optimised hydrate build needs more room.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod model;
/// The provider emulators (crates/sandbox), when built with `sandbox`.
#[cfg(feature = "sandbox")]
pub use calbridge_sandbox as sandbox;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod web;

/// Called by the islands script once the WASM is loaded; the script then
/// hydrates each `<leptos-island>` on the page, synchronously, in one pass.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A marker for people and tests: the page is interactive from here. Set
    // from a task, which runs after the islands script's pass over the page.
    leptos::prelude::set_timeout(
        || {
            if let Some(root) = leptos::prelude::document().document_element() {
                let _ = root.set_attribute("data-hydrated", "");
            }
        },
        std::time::Duration::ZERO,
    );
}
