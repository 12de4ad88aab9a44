/// Declares `$route`, a lazy route (`leptos_router::Lazy<$route>`) showing
/// `<$page/>`, whose code lives in the WASM chunk named `$chunk` when the site
/// is built with `cargo leptos build --split`: the browser fetches a chunk
/// the first time it shows one of its pages, so `/login` (in the main WASM)
/// never downloads the sign-up, signed-in or admin UI. Chunks: `signup`,
/// `member` (meetings and settings), `admin`; code that several of them use
/// goes to shared chunks, fetched with whichever needs it first.
///
/// Like `#[lazy_route]`, but every page that names the same chunk shares one
/// file (`#[lazy_route]` gives each page its own, plus one file for every
/// combination of pages that share code: dozens of small downloads, and a
/// bigger app). `$view` names the function behind the split point; it must be
/// unique in the crate.
macro_rules! lazy_page {
    ($chunk:ident: $route:ident => $page:ident, $view:ident) => {
        #[doc = concat!(
                            "The `", stringify!($page), "` route, lazily loaded (WASM chunk `",
                            stringify!($chunk), "`)."
                        )]
        pub struct $route;

        const _: () = {
            use leptos::prelude::*;

            impl leptos_router::LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(this: Self) -> AnyView {
                    $view(this).await
                }

                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    preload_chunk().await;
                }
            }

            // In the browser: a split point. Calling `$view` first loads the
            // chunk (once; later calls reuse it).
            #[cfg(feature = "hydrate")]
            #[leptos::wasm_split::wasm_split(
                                $chunk,
                                wasm_split_path = ::leptos::wasm_split,
                                preload(preload_chunk)
                            )]
            fn $view(this: $route) -> AnyView {
                let $route = this;
                view! { <$page/> }.into_any()
            }

            // On the server: tells the response which chunk to preload (the
            // keys of `__wasm_split_manifest.json` are the chunk names).
            #[cfg(not(feature = "hydrate"))]
            async fn $view(this: $route) -> AnyView {
                let $route = this;
                leptos::prefetch_lazy_fn_on_server(stringify!($chunk));
                view! { <$page/> }.into_any()
            }
        };
    };
}

pub mod admin;
pub mod calendars;
pub mod login;
pub mod meetings;
pub mod not_found;
pub mod settings;
pub mod signup;
