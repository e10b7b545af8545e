//! Staff passwords: what a new one must be, and how it is stored and checked.
//!
//! Guarantees:
//! - A password is used exactly as typed: never truncated, never case-changed, never trimmed. Its
//!   length is counted in Unicode scalar values (`char`s), so "ééé…" counts one per letter, not per byte.
//! - A new password must be [`MIN_CHARS`]–[`MAX_CHARS`] long and not easy to guess: zxcvbn scores it
//!   against common and breached-style passwords, keyboard patterns, dates, repeats and the words of its
//!   context (handle, organisation, service, "confidant"), and anything below 3 of 4 is refused, as is a
//!   password whose remainder scores below 3 once its context words are taken out. There are no
//!   composition rules (NIST SP 800-63B): a long passphrase of plain words is welcome.
//! - Only a PHC string is stored: Argon2id, version 19, a fresh 16-byte random salt per hash, and the
//!   parameters of [`parameters`]. The password itself is never stored, logged or echoed in an error; a
//!   [`PasswordProblem`] carries fixed advice sentences only.
//! - [`verify`] compares in constant time and answers `false`, never panics, for any malformed or
//!   foreign hash. [`verify_dummy`] spends the same work for an account that does not exist, so the time
//!   a sign-in takes does not tell whether the handle is known.

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use zeroize::Zeroizing;

/// Fewest characters (Unicode scalar values) a new password may have.
pub const MIN_CHARS: usize = 12;
/// Most characters (Unicode scalar values) a new password may have. Long enough for any passphrase,
/// short enough to bound the work an attacker can make us do.
pub const MAX_CHARS: usize = 128;

/// Argon2 memory cost in KiB: 19 MiB.
const M_COST_KIB: u32 = 19 * 1024;
/// Argon2 passes over memory.
const T_COST: u32 = 2;
/// Argon2 lanes.
const P_COST: u32 = 1;

/// Upper bounds on the parameters [`verify`] accepts from a stored hash. They sit far above ours, so a
/// future increase still verifies, but keep a corrupt row from asking for gigabytes or hours.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;
/// Shortest hash output [`verify`] accepts (ours are 32 bytes): a shorter one matches too easily.
const MIN_OUTPUT_LEN: usize = 16;

/// Why a new password was refused. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("must be at least 12 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    /// Too easy to guess: a common or breached-style password, a pattern (keyboard rows, repeats,
    /// sequences, dates), or built from the context words. `hint` is zxcvbn's own advice if it gave any
    /// (fixed sentences such as "This is similar to a commonly used password."), or for a password that
    /// leans on its context words our own fixed sentence; never text from the password.
    #[error("is too easy to guess")]
    TooGuessable { hint: Option<String> },
}

/// Checks a NEW password (at sign-up, reset or change; never at sign-in, where any stored password must
/// still work): length [`MIN_CHARS`]–[`MAX_CHARS`] characters, then zxcvbn with `context_words` (the
/// user's handle, organisation and service names; "confidant" is always added) as user inputs, refusing
/// a score below 3 of 4 (fewer than about 10^8 guesses). No composition rules.
///
/// Context words are also split at punctuation and spaces ("Riverside Care" gives "riverside" and
/// "care" too), so a password built from part of a name is caught; and because zxcvbn prices a context
/// word like any dictionary word, the password is scored again with its context words taken out, and
/// refused if that remainder scores below 3 (so "RiversideOkafor99" is refused for a user "j.okafor" at
/// Riverside, while a strong passphrase that happens to contain "riverside" is not).
pub fn check_new(password: &str, context_words: &[&str]) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let inputs = user_inputs(context_words);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    if entropy.score() < STRONG_ENOUGH {
        let hint = entropy
            .feedback()
            .map(|feedback| feedback.to_string().trim().to_owned())
            .filter(|hint| !hint.is_empty());
        return Err(PasswordProblem::TooGuessable { hint });
    }
    // zxcvbn prices a context word like any dictionary word, so two of them and a year still reach
    // score 3. What is left once they are taken out must be strong enough on its own.
    if let Some(rest) = without_context_words(password, &inputs)
        && zxcvbn::zxcvbn(&rest, &inputs).score() < STRONG_ENOUGH
    {
        return Err(PasswordProblem::TooGuessable {
            hint: Some(CONTEXT_HINT.to_owned()),
        });
    }
    Ok(())
}

/// The lowest zxcvbn score accepted: 3 of 4, at least about 10^8 guesses ("safely unguessable").
const STRONG_ENOUGH: zxcvbn::Score = zxcvbn::Score::Three;
/// Advice when a password leans on its context words.
const CONTEXT_HINT: &str =
    "Avoid your user name and the names of your organisation, your service and Confidant.";

/// The password in lower case with every context word of three or more characters taken out (each
/// replaced by one space, longest first), or `None` if it contains none of them.
fn without_context_words(password: &str, inputs: &[&str]) -> Option<Zeroizing<String>> {
    let mut words: Vec<&str> = inputs
        .iter()
        .copied()
        .filter(|word| word.chars().count() >= 3)
        .collect();
    words.sort_by_key(|word| std::cmp::Reverse(word.len()));
    let mut rest = Zeroizing::new(password.to_lowercase());
    let mut found = false;
    for word in words {
        if rest.contains(word) {
            found = true;
            *rest = rest.replace(word, " ");
        }
    }
    found.then_some(rest)
}

/// The words zxcvbn should treat as known to an attacker: each context word whole, with its
/// punctuation removed, and each run of three or more letters or digits in it.
fn user_inputs(context_words: &[&str]) -> Vec<String> {
    let mut inputs = vec!["confidant".to_owned()];
    for word in context_words {
        let word = word.trim().to_lowercase();
        if word.is_empty() {
            continue;
        }
        let joined: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
        inputs.extend(
            word.split(|c: char| !c.is_alphanumeric())
                .filter(|part| part.chars().count() >= 3)
                .map(str::to_owned),
        );
        inputs.push(joined);
        inputs.push(word);
    }
    inputs.sort();
    inputs.dedup();
    inputs.retain(|input| !input.is_empty());
    inputs
}

/// The hasher with Confidant's parameters: Argon2id v19, m = 19456 KiB (19 MiB), t = 2, p = 1.
///
/// These are OWASP's minimum recommendation for Argon2id (Password Storage Cheat Sheet), and the
/// argon2 crate's defaults, stated here explicitly so that a change of crate defaults cannot silently
/// change ours. Raising them later is safe: [`verify`] reads the parameters from each stored hash, and
/// [`needs_rehash`] tells when to store a new one after a successful sign-in.
fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
        .expect("the OWASP parameters are valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The Argon2id parameters new hashes use: (memory in KiB, passes, lanes) = (19456, 2, 1), OWASP's
/// minimum. For documentation and benchmarks.
pub fn parameters() -> (u32, u32, u32) {
    (M_COST_KIB, T_COST, P_COST)
}

/// Hashes a password for storage: Argon2id with m = 19456 KiB, t = 2, p = 1 (OWASP's minimum) and a
/// fresh random 16-byte salt, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`). Deliberately slow: call it off the async runtime.
///
/// Check a new password with [`check_new`] first; this function hashes whatever it is given.
pub fn hash(password: &str) -> String {
    hasher()
        .hash_password(password.as_bytes())
        .expect("Argon2id hashing with valid parameters and an OS salt succeeds")
        .to_string()
}

/// Checks `password` against a stored PHC string, comparing the hashes in constant time. `false` for a
/// wrong password and for any malformed hash, a hash of another algorithm than Argon2id, or parameters
/// beyond sane bounds. Deliberately slow: call it off the async runtime.
pub fn verify(password: &str, phc: &str) -> bool {
    let Some(parsed) = parse(phc) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Parses a stored hash, accepting only a complete Argon2id hash (salt, and an output of at least
/// 16 bytes) with parameters within bounds.
fn parse(phc: &str) -> Option<PasswordHash> {
    let parsed = PasswordHash::new(phc).ok()?;
    let complete = parsed.algorithm == argon2::ARGON2ID_IDENT
        && parsed.salt.is_some()
        && parsed
            .hash
            .as_ref()
            .is_some_and(|output| output.len() >= MIN_OUTPUT_LEN);
    let params = Params::try_from(&parsed).ok()?;
    let within = params.m_cost() <= MAX_M_COST_KIB
        && params.t_cost() <= MAX_T_COST
        && params.p_cost() <= MAX_P_COST;
    (complete && within).then_some(parsed)
}

/// Whether a stored hash should be replaced by a new [`hash`] of the same password (just verified):
/// true when it was made with other parameters, version or output length than ours, or cannot be read.
pub fn needs_rehash(phc: &str) -> bool {
    let Some(parsed) = parse(phc) else {
        return true;
    };
    let ours = Params::try_from(&parsed).is_ok_and(|p| {
        (p.m_cost(), p.t_cost(), p.p_cost()) == parameters()
            && p.output_len() == Some(Params::DEFAULT_OUTPUT_LEN)
    });
    !ours || parsed.version != Some(Version::V0x13.into())
}

/// A hash of a password nobody knows, made once per process with the current parameters.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut unguessable = [0u8; 32];
    rand::fill(&mut unguessable[..]);
    hash(&hex::encode(unguessable))
});

/// Spends the same work as a real [`verify`], for a sign-in with an unknown handle, so that response
/// time is no oracle for which handles exist. The result is thrown away.
///
/// The dummy hash is computed on first use, which makes that first call cost one hash more; call
/// `verify_dummy("")` once at start-up to pay it there.
pub fn verify_dummy(password: &str) {
    std::hint::black_box(verify(password, &DUMMY_HASH));
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: &[&str] = &["j.okafor", "Riverside Care Trust", "Adult Social Care"];
    /// A passphrase of uncommon words, strong by zxcvbn's measure.
    const STRONG: &str = "velvet harbour tangles quietly";

    /// One hash for the tests that only need some hash, since each costs about 0.1 s.
    static STRONG_HASH: LazyLock<String> = LazyLock::new(|| hash(STRONG));

    fn strong_of_length(n: usize) -> String {
        let base = "Velvet harbour tangles quietly under marmalade skies, 47 lanterns drift";
        base.chars().cycle().take(n).collect()
    }

    #[test]
    fn eleven_characters_are_too_short_and_twelve_strong_ones_are_enough() {
        assert_eq!(
            check_new("kX9#vQ2!mZ4", &[]),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(check_new("kX9#vQ2!mZ4$", &[]), Ok(()));
    }

    #[test]
    fn a_password_of_128_characters_is_accepted_and_129_refused() {
        assert_eq!(check_new(&strong_of_length(128), CONTEXT), Ok(()));
        assert_eq!(
            check_new(&strong_of_length(129), CONTEXT),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Eleven two-byte characters are 22 bytes but still too short.
        let eleven = "ĳßøæœłđħŧŋé";
        assert_eq!(eleven.chars().count(), 11);
        assert_eq!(check_new(eleven, &[]), Err(PasswordProblem::TooShort));
        // 128 three- and four-byte characters are far more than 128 bytes but allowed ...
        let wide: String = "雪山🦊海風🌲森月".chars().cycle().take(128).collect();
        assert!(wide.len() > 3 * 128);
        assert_ne!(check_new(&wide, &[]), Err(PasswordProblem::TooLong));
        // ... and one more is too long.
        let wider: String = "雪山🦊海風🌲森月".chars().cycle().take(129).collect();
        assert_eq!(check_new(&wider, &[]), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn common_and_patterned_passwords_are_refused_with_advice() {
        for weak in [
            "password123456",
            "qwertyuiopas",
            "123456789012",
            "aaaaaaaaaaaaaaaa",
            "iloveyou2024!",
            "Password1234",
        ] {
            let problem = check_new(weak, &[]).expect_err(weak);
            let PasswordProblem::TooGuessable { hint } = problem else {
                panic!("{weak}: expected TooGuessable, got {problem:?}");
            };
            let hint = hint.expect("zxcvbn gives advice for a weak password");
            assert!(!hint.is_empty());
            assert!(!hint.to_lowercase().contains(&weak.to_lowercase()));
        }
    }

    #[test]
    fn a_password_built_from_the_context_words_is_refused() {
        for weak in [
            "riversidecare2024",
            "RiversideOkafor99",
            "J.Okafor-Riverside",
            "Okafor Riverside Adult",
            "confidantconfidant1",
            "Adult Social Care 2024!",
        ] {
            assert!(
                matches!(
                    check_new(weak, CONTEXT),
                    Err(PasswordProblem::TooGuessable { .. })
                ),
                "{weak} should be refused in context"
            );
        }
    }

    #[test]
    fn the_same_password_is_fine_outside_its_context() {
        // Shows the refusal above comes from the context words, not the password alone.
        assert_eq!(check_new("Okafor Riverside Adult", &[]), Ok(()));
        assert_eq!(
            check_new("Okafor Riverside Adult", CONTEXT),
            Err(PasswordProblem::TooGuessable {
                hint: Some(CONTEXT_HINT.to_owned())
            })
        );
    }

    #[test]
    fn a_strong_passphrase_may_mention_a_context_word() {
        assert_eq!(
            check_new("my riverside garden grows crooked quince trees", CONTEXT),
            Ok(())
        );
    }

    #[test]
    fn a_long_random_passphrase_is_accepted() {
        assert_eq!(check_new(STRONG, CONTEXT), Ok(()));
        assert_eq!(
            check_new("correct-walrus-ledger-fjord-amber", CONTEXT),
            Ok(())
        );
    }

    #[test]
    fn a_hash_verifies_its_own_password_only() {
        assert!(verify(STRONG, &STRONG_HASH));
        assert!(!verify("velvet harbour tangles quietlY", &STRONG_HASH));
        assert!(!verify("", &STRONG_HASH));
    }

    #[test]
    fn the_hash_is_an_argon2id_phc_string_with_the_owasp_parameters() {
        assert!(
            STRONG_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            *STRONG_HASH
        );
        assert_eq!(parameters(), (19456, 2, 1));
        assert!(!STRONG_HASH.contains(STRONG));
        assert!(!needs_rehash(&STRONG_HASH));
    }

    #[test]
    fn hashing_the_same_password_twice_uses_different_salts() {
        let again = hash(STRONG);
        assert_ne!(again, *STRONG_HASH);
        assert!(verify(STRONG, &again));
    }

    #[test]
    fn a_malformed_or_foreign_hash_never_verifies() {
        // Cut to 24 and to 8 bytes of output (32 and 11 base64 characters).
        let truncated = &STRONG_HASH[..STRONG_HASH.len() - 11];
        let too_short = &STRONG_HASH[..STRONG_HASH.len() - 32];
        let other_algorithm = STRONG_HASH.replacen("$argon2id$", "$argon2i$", 1);
        let huge_memory = STRONG_HASH.replacen("m=19456", "m=4194304", 1);
        for bad in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            truncated,
            too_short,
            other_algorithm.as_str(),
            huge_memory.as_str(),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            assert!(!verify(STRONG, bad), "{bad:?} should not verify");
            assert!(needs_rehash(bad));
        }
    }

    #[test]
    fn a_hash_with_older_parameters_still_verifies_but_needs_rehashing() {
        let params = Params::new(8 * 1024, 1, 1, None).expect("valid");
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(STRONG.as_bytes())
            .expect("hashes")
            .to_string();
        assert!(verify(STRONG, &old));
        assert!(needs_rehash(&old));
    }

    #[test]
    fn verify_dummy_returns_without_panicking() {
        verify_dummy("anything at all");
        verify_dummy("");
        // The dummy hash is a real hash with our parameters, so the work matches a real verify.
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    proptest::proptest! {
        #[test]
        fn any_password_under_twelve_characters_is_too_short(pw in "\\PC{0,11}") {
            proptest::prop_assert_eq!(check_new(&pw, CONTEXT), Err(PasswordProblem::TooShort));
        }

        #[test]
        fn any_password_over_128_characters_is_too_long(pw in "\\PC{129,200}") {
            proptest::prop_assert_eq!(check_new(&pw, CONTEXT), Err(PasswordProblem::TooLong));
        }

        #[test]
        fn a_common_word_and_digits_is_refused_without_quoting_it(
            pw in "(password|sunshine|football|iloveyou|princess|baseball|superman|riverside)[0-9]{4}"
        ) {
            let problem = check_new(&pw, CONTEXT);
            let is_guessable = matches!(&problem, Err(PasswordProblem::TooGuessable { .. }));
            proptest::prop_assert!(is_guessable, "{} gave {:?}", pw, problem);
            if let Err(PasswordProblem::TooGuessable { hint: Some(hint) }) = problem {
                proptest::prop_assert!(!hint.to_lowercase().contains(&pw));
            }
        }
    }
}
