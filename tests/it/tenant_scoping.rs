//! Every SQL statement over a tenant-owned table must filter or write
//! `tenant_id`, unless its function says why not with an `unscoped:` note.
//! Together with repository functions that require a `TenantScope`, this is
//! what keeps a forgotten tenant filter out of the code base.

use regex::Regex;
use std::path::Path;

/// Tables whose rows belong to one tenant: every table the migrations (of
/// either backend) create with a `tenant_id` column or give one later, so a
/// new table is covered without anyone remembering to list it.
fn tenant_tables() -> Vec<String> {
    let create_re =
        Regex::new(r"(?is)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*?)\n\s*\);")
            .unwrap();
    let added_re = Regex::new(r"(?i)ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+tenant_id\b").unwrap();
    let mut tables = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for c in create_re.captures_iter(&sql) {
                let has_tenant = c[2]
                    .lines()
                    .any(|line| line.trim_start().to_lowercase().starts_with("tenant_id "));
                if has_tenant {
                    tables.push(c[1].to_lowercase());
                }
            }
            tables.extend(added_re.captures_iter(&sql).map(|c| c[1].to_lowercase()));
        }
    }
    tables.sort();
    tables.dedup();
    tables
}

#[test]
fn the_tenant_tables_come_from_the_migrations() {
    let tables = tenant_tables();
    for known in [
        "users",
        "sessions",
        "secrets",
        "connections",
        "jobs",
        "bookings",
        "webhook_events",
        "meetings",
        "api_keys",
        "sync_runs",
        "appointments",
        "appointment_events",
        "activity_by_hour",
        "rate_limits",
    ] {
        assert!(tables.iter().any(|t| t == known), "{known} in {tables:?}");
    }
    assert!(!tables.iter().any(|t| t == "tenants"), "{tables:?}");
}

/// One violation: `file:function`.
fn violations(file: &str, source: &str) -> Vec<String> {
    let tenant_tables = tenant_tables().join("|");
    let fn_re = Regex::new(r"(?m)^(?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)").unwrap();
    let table_re = Regex::new(&format!(
        r"(?i)\b(?:FROM|JOIN|INTO|UPDATE)\s+({tenant_tables})\b"
    ))
    .unwrap();
    let filter_re = Regex::new(r"(?i)\b(?:WHERE|AND)\s+(?:\w+\.)?tenant_id\s*=").unwrap();
    let insert_re = Regex::new(&format!(r"(?i)\bINSERT\s+INTO\s+({tenant_tables})\b")).unwrap();
    let string_re = Regex::new(r#"(?s)"((?:[^"\\]|\\.)*)""#).unwrap();
    let starts: Vec<(usize, String)> = fn_re
        .captures_iter(source)
        .map(|c| (c.get(0).unwrap().start(), c[1].to_owned()))
        .collect();
    let mut out = Vec::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map(|s| s.0).unwrap_or(source.len());
        let body = &source[*start..end];
        // The doc comment directly above the function.
        let before = &source[..*start];
        let doc: Vec<&str> = before
            .lines()
            .rev()
            .take_while(|l| l.trim_start().starts_with("///") || l.trim_start().starts_with("#["))
            .collect();
        let unscoped = doc.iter().any(|l| l.contains("unscoped:"));
        let sql: String = string_re
            .captures_iter(body)
            .map(|c| c[1].replace("\\\n", " "))
            .collect::<Vec<_>>()
            .join(" ");
        let reads_or_changes = table_re
            .find_iter(&sql)
            .any(|m| !m.as_str().to_uppercase().starts_with("INTO"));
        let scoped = (!reads_or_changes || filter_re.is_match(&sql))
            && (!insert_re.is_match(&sql) || sql.contains("tenant_id"));
        if table_re.is_match(&sql) && !scoped && !unscoped {
            out.push(format!("{file}:{name}"));
        }
    }
    out
}

#[test]
fn every_tenant_query_is_scoped() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/platform/db");
    let mut all = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            checked += 1;
            all.extend(violations(
                &path.file_name().unwrap().to_string_lossy(),
                &source,
            ));
        }
    }
    assert!(checked >= 5, "repository modules found: {checked}");
    assert!(
        all.is_empty(),
        "queries over tenant tables without tenant_id: {all:?}"
    );
}

#[test]
fn the_check_catches_a_forgotten_tenant_filter() {
    let bad = r#"
pub async fn get(ex: E, id: UserId) -> DbResult<User> {
    sqlx::query_as("SELECT id, email FROM users WHERE id = $1").bind(id).fetch_one(ex).await
}
"#;
    assert_eq!(violations("x.rs", bad), vec!["x.rs:get".to_owned()]);
    let scoped = bad.replace("WHERE id = $1", "WHERE tenant_id = $2 AND id = $1");
    assert!(violations("x.rs", &scoped).is_empty());
    // Selecting the column is not filtering by it.
    let selected_only = bad.replace("SELECT id, email", "SELECT id, tenant_id, email");
    assert_eq!(
        violations("x.rs", &selected_only),
        vec!["x.rs:get".to_owned()]
    );
    let justified = format!(
        "/// unscoped: login has no tenant yet.\n{}",
        bad.trim_start()
    );
    assert!(violations("x.rs", &justified).is_empty());
    let multi_line = r#"
pub async fn purge(ex: E) {
    sqlx::query("DELETE \
         FROM sessions WHERE expires_at < $1").execute(ex).await
}
"#;
    assert_eq!(
        violations("x.rs", multi_line),
        vec!["x.rs:purge".to_owned()]
    );
}
