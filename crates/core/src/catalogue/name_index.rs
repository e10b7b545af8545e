//! Name search without decrypting a whole service: keyed digests of name fragments.
//!
//! Names are sealed, so a search cannot read them in the database. Each person instead has a set of
//! *name grams*: for every word of their given and family names, its first letter, its first two
//! letters and every run of three letters, each as a keyed digest (HMAC with the installation's
//! index key, separated by service, truncated to 8 bytes). A search turns its words into grams the
//! same way, the store returns the people holding all of them, and only those candidates' names are
//! opened and checked.
//!
//! Matching: a query word of three letters or more must appear inside a word of the given or family
//! name; a shorter one must start such a word. Case and the characters `-`, `'` are ignored.
//!
//! What the digests reveal to someone with the database but not the key: which people of a service
//! share name fragments (so roughly how similar their names are), never the fragments themselves.
//! This is the known cost of searchable encryption; see docs/security.md.

use std::collections::BTreeSet;

/// One name gram's digest as stored.
pub type GramDigest = [u8; 8];

const IGNORED: [char; 4] = ['-', '\u{2010}', '\'', '\u{2019}'];

/// The words of a name or query: lower case, split on spaces and hyphens, apostrophes dropped.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '-' || c == '\u{2010}')
        .map(|w| {
            w.chars()
                .filter(|c| !IGNORED.contains(c) && !c.is_control())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn trigrams(word: &[char]) -> impl Iterator<Item = String> + '_ {
    word.windows(3).map(|w| w.iter().collect())
}

/// The grams stored for a person's names.
pub(crate) fn grams_of_names(names: &[&str]) -> BTreeSet<String> {
    let mut grams = BTreeSet::new();
    for word in names.iter().flat_map(|n| words(n)) {
        let chars: Vec<char> = word.chars().collect();
        grams.insert(format!("^{}", chars[0]));
        if chars.len() >= 2 {
            grams.insert(format!("^{}{}", chars[0], chars[1]));
        }
        grams.extend(trigrams(&chars));
    }
    grams
}

/// The grams a query needs: each word's trigrams, or for a word of one or two letters, its prefix
/// gram. Empty if the query has no words.
pub(crate) fn grams_of_query(query: &str) -> BTreeSet<String> {
    let mut grams = BTreeSet::new();
    for word in words(query) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < 3 {
            grams.insert(format!("^{word}"));
        } else {
            grams.extend(trigrams(&chars));
        }
    }
    grams
}

/// Whether a person's names match the query (the check made after opening a candidate's names).
pub(crate) fn matches(query: &str, names: &[&str]) -> bool {
    let name_words: Vec<String> = names.iter().flat_map(|n| words(n)).collect();
    let query_words = words(query);
    !query_words.is_empty()
        && query_words.iter().all(|q| {
            if q.chars().count() < 3 {
                name_words.iter().any(|w| w.starts_with(q.as_str()))
            } else {
                name_words.iter().any(|w| w.contains(q.as_str()))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grams_cover_prefixes_and_inner_runs() {
        let g = grams_of_names(&["Mary-Anne", "O'Neill"]);
        for expected in [
            "^m", "^ma", "mar", "ary", "^a", "ann", "nne", "^o", "^on", "one", "ill",
        ] {
            assert!(g.contains(expected), "{expected}");
        }
        assert!(!g.contains("yan"), "no grams across word boundaries");
        assert_eq!(grams_of_query("an"), BTreeSet::from(["^an".to_owned()]));
        assert!(matches("neil", &["Mary-Anne", "O'Neill"]));
        assert!(matches("ma on", &["Mary-Anne", "O'Neill"]));
        assert!(
            !matches("ne", &["Mary-Anne", "O'Neill"]),
            "short words match word starts"
        );
        assert!(!matches("", &["Ada"]));
    }

    proptest! {
        /// Whatever matches has every query gram among the name's grams: the index never hides a
        /// true match.
        #[test]
        fn the_index_never_misses_a_match(
            given in "[A-Za-z' -]{1,12}",
            family in "[A-Za-z' -]{1,12}",
            start in 0usize..12,
            len in 1usize..6,
        ) {
            let all: String = words(&given).into_iter().chain(words(&family)).collect::<Vec<_>>().join(" ");
            let chars: Vec<char> = all.chars().collect();
            prop_assume!(!chars.is_empty());
            let s = start.min(chars.len() - 1);
            let query: String = chars[s..(s + len).min(chars.len())].iter().collect();
            if matches(&query, &[&given, &family]) {
                let stored = grams_of_names(&[&given, &family]);
                for g in grams_of_query(&query) {
                    prop_assert!(stored.contains(&g), "missing gram {}", g);
                }
            }
        }
    }
}
