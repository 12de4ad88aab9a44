//! HTML for the pages people see (consent screens, the panel).

/// Escapes text for an HTML element or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
