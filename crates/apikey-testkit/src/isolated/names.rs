//! Names no other test uses, and connection URLs pointed at them.

/// A name no other test uses: `apikey_test_<32 hex>` (lower-case letters, digits and `_`, so it
/// needs no quoting as a PostgreSQL, MySQL or MongoDB database name or a file name).
pub fn unique_name() -> String {
    format!("apikey_test_{}", uuid::Uuid::new_v4().simple())
}

/// `url` with its database (the path after the host) replaced by `name`; the query is kept.
/// For drivers that take a URL rather than connect options with a database setter.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        let cases = [
            ("postgres://u:p@h:5432/postgres", "postgres://u:p@h:5432/n"),
            (
                "mysql://root@127.0.0.1:3306",
                "mysql://root@127.0.0.1:3306/n",
            ),
            (
                "postgres://h/db?sslmode=disable&x=a/b",
                "postgres://h/n?sslmode=disable&x=a/b",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "n"), want, "{url}");
        }
    }

    #[test]
    fn unique_names_differ_and_need_no_quoting() {
        let (a, b) = (unique_name(), unique_name());
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
    }
}
