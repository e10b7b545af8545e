//! Where unlocking goes back to: the page that was open when the idle lock hid it.
//!
//! A return path arrives in a query string (`/lock?return=…`) and a posted form, so it is outside
//! input. [`ReturnPath::parse`] admits only what a page of this site looks like, so that unlocking
//! can never be turned into a redirect elsewhere:
//! - a local path: it starts with one `/`, so never `//host` (a network path), a scheme
//!   (`https:`), a backslash (`/\host`, which browsers read as `//host`) or percent-encoding;
//! - segments of lower-case letters, digits, `-`, `_` and `.`, none empty, `.` or `..`: the site's
//!   paths hold fixed words and ids, and nothing else, so nothing personal rides along;
//! - at most [`MAX_LEN`] bytes, and never the lock page itself.
//!
//! Anything else is ignored (unlocking goes to the dashboard), never echoed.

use std::fmt;

/// The longest return path kept: the site's longest page paths hold three ids.
pub const MAX_LEN: usize = 200;

/// A path of this site to go back to after unlocking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// The path, if it is one of this site's page paths in form (see the module's rules).
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix('/')?;
        if raw.len() > MAX_LEN || raw == "/lock" {
            return None;
        }
        if rest.is_empty() {
            return Some(Self(raw.to_owned()));
        }
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
                })
        };
        rest.split('/')
            .all(segment_ok)
            .then(|| Self(raw.to_owned()))
    }

    /// The path of a query string's or form's value, if there is one and it is in form.
    pub fn from_given(raw: Option<&str>) -> Option<Self> {
        raw.and_then(Self::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lock page's address that comes back here (the dashboard needs no `return`).
    pub fn lock_href(this: Option<&Self>) -> String {
        match this {
            Some(path) if path.0 != "/" => format!("/lock?return={}", path.0),
            _ => "/lock".to_owned(),
        }
    }
}

impl fmt::Display for ReturnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sites_page_paths_are_kept() {
        for path in [
            "/",
            "/people",
            "/people/0190b6a2-7d3c-7cc1-9d2e-5f7c1a2b3c4d",
            "/people/0190b6a2-7d3c-7cc1-9d2e-5f7c1a2b3c4d/notes",
            "/admin/register.csv",
            "/break-glass/review",
        ] {
            assert_eq!(ReturnPath::parse(path).map(|p| p.0), Some(path.to_owned()));
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_or_carry_text_is_refused() {
        for path in [
            "",
            "people",
            "//evil.example",
            "//evil.example/people",
            "https://evil",
            "https:/evil",
            "/\\evil",
            "/\\/evil",
            "/%2fevil",
            "/people//notes",
            "/people/../admin",
            "/people/./x",
            "/people/",
            "/people?x=1",
            "/people#x",
            "/People",
            "/people/Ada Lovelace",
            "/people/ada\tlovelace",
            "/people/ada@example.org",
            "/lock",
            "/\u{ff0f}evil",
            "/javascript:alert(1)",
        ] {
            assert_eq!(ReturnPath::parse(path), None, "{path:?}");
        }
        assert_eq!(
            ReturnPath::parse(&format!("/{}", "a".repeat(MAX_LEN))),
            None
        );
    }

    #[test]
    fn the_lock_address_carries_the_way_back() {
        let person = ReturnPath::parse("/people/1").expect("a path");
        assert_eq!(
            ReturnPath::lock_href(Some(&person)),
            "/lock?return=/people/1"
        );
        let home = ReturnPath::parse("/").expect("a path");
        assert_eq!(ReturnPath::lock_href(Some(&home)), "/lock");
        assert_eq!(ReturnPath::lock_href(None), "/lock");
    }

    proptest! {
        /// Whatever is given, what is kept is a local path: one leading slash, no backslash, no
        /// scheme, nothing but the allowed bytes.
        #[test]
        fn whatever_is_given_what_is_kept_stays_on_the_site(raw in any::<String>()) {
            if let Some(path) = ReturnPath::parse(&raw) {
                let s = path.as_str();
                prop_assert!(s.starts_with('/'));
                prop_assert!(!s.starts_with("//"));
                prop_assert!(!s.contains(['\\', ':', '%', '?', '#', '@']));
                prop_assert!(s.bytes().all(|b| b.is_ascii_graphic()));
            }
        }

        #[test]
        fn any_path_of_allowed_segments_is_kept(
            segments in proptest::collection::vec("[a-z0-9_-][a-z0-9._-]{0,11}", 1..5)
        ) {
            let path = format!("/{}", segments.join("/"));
            prop_assume!(path != "/lock" && segments.iter().all(|s| s != "." && s != ".."));
            prop_assert_eq!(ReturnPath::parse(&path).map(|p| p.0), Some(path));
        }
    }
}
