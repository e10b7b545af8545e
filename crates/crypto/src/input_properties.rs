//! Randomised tests of the crypto crate's parsers of outside input (issue 12, the route-wide
//! proof): a typed TOTP code, a typed recovery code, a TOTP secret's base32 form, the master key
//! file's hexadecimal form, a stored password hash, a new password and a sealed value.
//!
//! What they prove, for any input: no panic; what is refused is refused as a value (`None`,
//! `false` or an error), and what is accepted is exactly the accepted shape.
//!
//! Case counts are modest so the suite stays fast, and failures are not persisted to files: a case
//! a run finds is added as a plain regression test instead.

use proptest::prelude::*;

use crate::totp::{TotpSecret, code_at, recovery_code_hash, verify};
use crate::{DataKey, FieldAddress, MasterKey, password};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any string, or one made of what these parsers look at (digits, base32 and hexadecimal letters,
/// separators, white space, multi-byte characters).
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-zA-Z2-7 \t\u{a0}\u{3000}=\\-$,+/é٣]{0,40}",
    ]
}

const TIME: u64 = 1_795_000_000;

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_typed_totp_code_verifies_only_as_six_digits(
        secret in proptest::array::uniform20(any::<u8>()),
        code in typed(),
    ) {
        let secret = TotpSecret::from_bytes(&secret).expect("20 bytes");
        if verify(&secret, &code, TIME, None).is_some() {
            let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
            let now = TIME / crate::totp::STEP_SECS;
            let matches_a_step = (now - 1..=now + 1)
                .any(|step| code_at(&secret, step * crate::totp::STEP_SECS) == digits);
            prop_assert!(matches_a_step);
        }
    }

    #[test]
    fn a_typed_recovery_code_hashes_only_in_its_alphabet(code in typed()) {
        if recovery_code_hash(&code).is_some() {
            let normal: String = code
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_lowercase())
                .collect();
            prop_assert_eq!(normal.len(), 10);
            prop_assert!(normal.bytes().all(|b| b"abcdefghijklmnopqrstuvwxyz234567".contains(&b)));
        }
    }

    #[test]
    fn a_totp_secrets_text_gives_twenty_bytes_or_an_error(text in typed()) {
        if let Ok(secret) = TotpSecret::from_base32(&text) {
            prop_assert_eq!(secret.as_bytes().len(), 20);
        }
    }

    #[test]
    fn a_master_key_files_text_gives_a_key_or_an_error(
        text in prop_oneof![typed(), "[0-9a-fA-F]{62,66}", " ?[0-9a-f]{64}\n?"],
    ) {
        if let Ok(key) = MasterKey::from_hex(&text) {
            let hex = key.to_hex();
            prop_assert_eq!(hex.as_str(), text.trim().to_ascii_lowercase());
        }
    }

    #[test]
    fn a_stored_password_hash_that_is_not_ours_never_verifies(phc in prop_oneof![
        typed(),
        "\\$argon2(id|i|d)?\\$v=(19|16)\\$m=[0-9]{1,5},t=[0-9],p=[0-9]\\$[A-Za-z0-9+/]{0,30}\\$[A-Za-z0-9+/]{0,50}",
    ]) {
        // Random text is at most a well-formed hash of some other password, never of this one; and
        // parameters out of bounds are refused before any work is done.
        prop_assert!(!password::verify("correct horse battery staple", &phc));
        let _ = password::needs_rehash(&phc);
    }

    #[test]
    fn a_sealed_value_that_was_tampered_with_does_not_open(
        plain in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
        cut in any::<proptest::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let key = DataKey::generate();
        let place = FieldAddress { table: "person_field", column: "given_name", row_id: "r", key_version: 1 };
        let sealed = key.seal(&place, &plain);
        let mut flipped = sealed.clone();
        let i = at.index(flipped.len());
        flipped[i] ^= flip;
        prop_assert!(key.open(&place, &flipped).is_err());
        prop_assert!(key.open(&place, &sealed[..cut.index(sealed.len())]).is_err());
        prop_assert!(key.open(&place, &noise).is_err());
    }
}

proptest! {
    // zxcvbn does real work on each password: fewer cases.
    #![proptest_config(config(64))]

    #[test]
    fn a_new_password_is_checked_without_a_panic(
        pw in prop_oneof![any::<String>(), "[a-zA-Z0-9 !é]{0,80}"],
        context in proptest::collection::vec(typed(), 0..3),
    ) {
        let words: Vec<&str> = context.iter().map(String::as_str).collect();
        let _ = password::check_new(&pw, &words);
    }
}
