//! Second factor for staff: time-based one-time passwords (RFC 6238) and one-time recovery codes.
//!
//! Guarantees:
//! - A [`TotpSecret`] is 160 random bits from the operating system's CSPRNG (RFC 4226's recommended
//!   size). It prints `[redacted]`, is wiped on drop and is intentionally not `Serialize`; its base32 form
//!   comes back in a [`Zeroizing`] string. Store it sealed, like any other secret.
//! - Codes are what every authenticator app supports: HMAC-SHA-1, 6 digits, 30-second steps
//!   (RFC 6238's defaults). [`verify`] accepts the step before and after the current one (RFC 6238
//!   §5.2's one step of clock drift), compares in constant time, and returns the matched step only when
//!   it is later than the last step used, so a code cannot be replayed: the caller stores the step and
//!   passes it back next time.
//! - Time is passed in (`unix_time`), never read from the clock here.
//! - Recovery codes carry 50 random bits each, are shown once, and only their SHA-256 is stored
//!   ([`recovery_code_hash`]); normalisation forgives case, spaces and hyphens, nothing else.
//! - The otpauth URI and its QR code contain the secret: show them only to their owner, on the
//!   enrolment page, and never log them.

use sha2::{Digest as _, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, random_bytes};

/// Bytes in a TOTP secret: 160 bits.
pub const SECRET_LEN: usize = 20;
/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Accessible name of the QR code image.
const QR_LABEL: &str = "QR code to scan with an authenticator app";
/// Lower-case RFC 4648 base32 alphabet: no 0, 1, 8 or 9, so nothing to confuse with O, l, B or g.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Characters in a recovery code, not counting the hyphen shown in the middle.
const RECOVERY_LEN: usize = 10;

/// A TOTP shared secret (160 random bits). `Debug` prints `[redacted]`; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl TotpSecret {
    /// A new random secret, for enrolment.
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// The secret from its stored bytes (after opening). Exactly [`SECRET_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; SECRET_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidTotpSecret)?;
        Ok(Self(bytes))
    }

    /// The secret from its base32 form as [`TotpSecret::base32`] writes it (case, spaces and `=`
    /// padding forgiven). Exactly [`SECRET_LEN`] bytes once decoded.
    pub fn from_base32(text: &str) -> Result<Self, CryptoError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let secret = Secret::try_from_base32(cleaned.as_str())
            .map_err(|_| CryptoError::InvalidTotpSecret)?;
        Self::from_bytes(secret.as_bytes())
    }

    /// The bytes to seal and store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding (32 upper-case characters), for manual entry in an
    /// authenticator app when the QR code cannot be scanned.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(self.secret().to_base32())
    }

    /// The secret in totp-rs's type, which wipes itself on drop.
    fn secret(&self) -> Secret {
        Secret::new_stack(self.0)
    }

    /// A generator for exactly one step at a time (no skew: [`verify`] walks the window itself).
    fn totp(&self, issuer: Option<&str>, account: &str) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_step_duration(STEP_SECS)
            .with_skew(0)
            .with_secret(self.secret())
            .with_issuer(issuer)
            .with_account_name(account)
            .build()
            .expect("SHA-1, 6 digits, 30 s, a 160-bit secret and colon-free labels are valid")
    }
}

/// Makes a label part acceptable to the Key URI format, which reserves `:` to separate issuer from
/// account: colons become hyphens and surrounding space goes.
fn label_part(text: &str) -> String {
    text.trim().replace(':', "-")
}

/// The `otpauth://totp/...` URI an authenticator app reads (HMAC-SHA-1, 6 digits, 30 s: what every
/// app supports), labelled `issuer:account`, e.g. issuer `"Confidant (Riverside)"` and the staff handle
/// as account. Both are percent-encoded; a `:` in either becomes `-` (the format reserves it), and a
/// blank account is written as `account`.
///
/// The URI contains the secret: render it as a QR code for its owner only, and never log it.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = label_part(issuer);
    let issuer = (!issuer.is_empty()).then_some(issuer.as_str());
    let mut account = label_part(account);
    if account.is_empty() {
        account = "account".to_owned();
    }
    secret
        .totp(issuer, &account)
        .to_url()
        .expect("a non-empty, colon-free account name makes a valid URI")
}

/// `data` (an otpauth URI) as a QR code in SVG: one complete `<svg>` element with no XML declaration,
/// no script and no text from `data`, safe to inline in HTML. It has `role="img"`, an `aria-label` and
/// a `<title>`, the standard 4-module quiet zone, black on white, error correction level M, and is at
/// least 200 px square (scale it with CSS; `shape-rendering` keeps the edges crisp).
///
/// # Panics
/// If `data` is longer than a QR code holds at level M (2,331 bytes); an otpauth URI is about 120.
pub fn qr_svg(data: &str) -> String {
    use qrcode::render::svg;

    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .expect("an otpauth URI fits in a QR code");
    let drawn = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    // The renderer writes an XML declaration (meaningless inside HTML) and no accessible name:
    // drop the one and add the other.
    let start = drawn
        .find("<svg")
        .expect("the renderer writes an <svg> element");
    let element = &drawn[start + "<svg".len()..];
    let open_end = element.find('>').expect("the <svg> start tag is closed");
    let (attributes, rest) = element.split_at(open_end);
    let rest = &rest[1..];
    format!(
        r#"<svg role="img" aria-label="{QR_LABEL}"{attributes}><title>{QR_LABEL}</title>{rest}"#
    )
}

/// The code for `unix_time`, as six digits (leading zeros kept). For tests and the browser-test helper.
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    secret.totp(None, "").generate(unix_time).to_string()
}

/// Checks `code` at `unix_time`, allowing one step of clock skew either way, and returns the matched
/// time step (`unix_time / 30`, give or take one) only if it is later than `last_used_step`, so a code
/// cannot be used twice: store the returned step and pass it back next time.
///
/// Spaces (any white space, as when a code is copied as "123 456") are ignored; anything else than
/// exactly six ASCII digits then gives `None`. Every step in the window is compared in constant time;
/// if two fresh steps match (a one-in-a-million coincidence), the earlier is returned.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let code: Zeroizing<String> =
        Zeroizing::new(code.chars().filter(|c| !c.is_whitespace()).collect());
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = secret.totp(None, "");
    let now = unix_time / STEP_SECS;
    let mut matched = None;
    for step in now.saturating_sub(1)..=now + 1 {
        // Every step is computed and compared, fresh or not, so timing says nothing about which matched.
        let hit = totp.check(&code, step * STEP_SECS).is_some();
        let fresh = last_used_step.is_none_or(|last| step > last);
        if hit && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// `n` new one-time recovery codes, distinct, each 10 characters of lower-case base32 (50 bits from
/// the CSPRNG) shown as `xxxxx-xxxxx`. Show them once; store only [`recovery_code_hash`] of each.
pub fn recovery_codes(n: usize) -> Vec<Zeroizing<String>> {
    let mut codes: Vec<Zeroizing<String>> = Vec::with_capacity(n);
    while codes.len() < n {
        let code = recovery_code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

fn recovery_code() -> Zeroizing<String> {
    let bytes = Zeroizing::new(random_bytes::<RECOVERY_LEN>());
    let mut code = Zeroizing::new(String::with_capacity(RECOVERY_LEN + 1));
    for (i, byte) in bytes.iter().enumerate() {
        if i == RECOVERY_LEN / 2 {
            code.push('-');
        }
        // 32 divides 256, so the low five bits of a uniform byte are uniform.
        code.push(char::from(RECOVERY_ALPHABET[usize::from(byte & 31)]));
    }
    code
}

/// What is stored of a recovery code, and what a typed one is looked up by: the SHA-256 of its
/// normalised form (lower case, white space and hyphens removed). `None` if what remains is not ten
/// characters of the recovery-code alphabet.
pub fn recovery_code_hash(code: &str) -> Option<[u8; 32]> {
    let normal: Zeroizing<String> = Zeroizing::new(
        code.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    let well_formed =
        normal.len() == RECOVERY_LEN && normal.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    well_formed.then(|| Sha256::digest(normal.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 key.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").expect("20 bytes")
    }

    #[test]
    fn the_rfc_6238_sha1_test_vectors_give_their_six_digit_codes() {
        // Appendix B lists 8-digit codes; a 6-digit code is the last six of them (modulo 10^6).
        let secret = rfc_secret();
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(&secret, time), eight_digits[2..], "at {time}");
        }
        assert_eq!(code_at(&secret, 59), "287082");
    }

    #[test]
    fn a_code_is_accepted_one_step_early_or_late_but_not_two() {
        let secret = TotpSecret::generate();
        let t = 1_700_000_015;
        let step = t / STEP_SECS;
        let code = code_at(&secret, t);
        assert_eq!(verify(&secret, &code, t, None), Some(step));
        assert_eq!(verify(&secret, &code, t - STEP_SECS, None), Some(step));
        assert_eq!(verify(&secret, &code, t + STEP_SECS, None), Some(step));
        // Two steps away the code is (barring a one-in-a-million coincidence) not in the window.
        let far = [t - 2 * STEP_SECS, t + 2 * STEP_SECS];
        for when in far {
            let window = (when / STEP_SECS - 1)..=(when / STEP_SECS + 1);
            if window
                .clone()
                .all(|s| code_at(&secret, s * STEP_SECS) != code)
            {
                assert_eq!(verify(&secret, &code, when, None), None, "at {when}");
            }
        }
        // The RFC vector, whose neighbours are known to differ.
        let rfc = rfc_secret();
        assert_eq!(verify(&rfc, "287082", 59 + 2 * STEP_SECS, None), None);
        assert_eq!(verify(&rfc, "287082", 59 + STEP_SECS, None), Some(1));
    }

    #[test]
    fn a_code_cannot_be_replayed_in_its_step_or_an_earlier_one() {
        let secret = rfc_secret();
        let step = verify(&secret, "287082", 59, None).expect("valid");
        assert_eq!(step, 1);
        assert_eq!(verify(&secret, "287082", 59, Some(step)), None);
        assert_eq!(verify(&secret, "287082", 70, Some(step)), None);
        assert_eq!(verify(&secret, "287082", 59, Some(step + 5)), None);
        // A later code is still accepted after it.
        let next = code_at(&secret, 89);
        assert_eq!(verify(&secret, &next, 89, Some(step)), Some(2));
        // Only steps up to the last one used are blocked: an older last step does not block this one.
        assert_eq!(verify(&secret, "287082", 59, Some(0)), Some(1));
    }

    #[test]
    fn spaces_are_ignored_but_malformed_codes_are_refused() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, "287 082", 59, None), Some(1));
        assert_eq!(verify(&secret, " 287082\t", 59, None), Some(1));
        assert_eq!(verify(&secret, "287\u{a0}082", 59, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "94287082",
            "28708a",
            "287-082",
            "+28708",
            "２８７０８２",
            "abcdef",
        ] {
            assert_eq!(verify(&secret, bad, 59, None), None, "{bad:?}");
        }
    }

    #[test]
    fn a_secret_round_trips_through_base32_and_bytes() {
        let secret = TotpSecret::generate();
        let text = secret.base32();
        assert_eq!(text.len(), 32);
        assert!(!text.contains('='));
        let back = TotpSecret::from_base32(&text).expect("parses");
        assert_eq!(back.as_bytes(), secret.as_bytes());
        let spaced = text.to_lowercase().replace("", " ");
        let spaced_back = TotpSecret::from_base32(&spaced).expect("parses");
        assert_eq!(spaced_back.as_bytes(), secret.as_bytes());
        assert_eq!(
            rfc_secret().base32().as_str(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let again = TotpSecret::from_bytes(secret.as_bytes()).expect("20 bytes");
        assert_eq!(code_at(&again, 1000), code_at(&secret, 1000));
    }

    #[test]
    fn a_secret_of_the_wrong_size_or_alphabet_is_refused() {
        assert_eq!(
            TotpSecret::from_bytes(&[0; 16]).err(),
            Some(CryptoError::InvalidTotpSecret)
        );
        assert_eq!(
            TotpSecret::from_bytes(&[0; 21]).err(),
            Some(CryptoError::InvalidTotpSecret)
        );
        for bad in [
            "",
            "GEZDGNBV",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",
            "not base32 at all!",
        ] {
            assert_eq!(
                TotpSecret::from_base32(bad).err(),
                Some(CryptoError::InvalidTotpSecret),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secrets_never_print_their_bytes() {
        let secret = rfc_secret();
        let printed = format!("{secret:?}");
        assert_eq!(printed, "[redacted]");
        assert!(!printed.contains("1234"));
    }

    #[test]
    fn two_generated_secrets_differ() {
        assert_ne!(
            TotpSecret::generate().as_bytes(),
            TotpSecret::generate().as_bytes()
        );
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_secret_with_standard_parameters() {
        let secret = rfc_secret();
        let uri = otpauth_uri(&secret, "Confidant (Riverside)", "j.okafor");
        assert_eq!(
            uri,
            "otpauth://totp/Confidant%20%28Riverside%29:j.okafor\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Confidant%20%28Riverside%29"
        );
        // The app reads it back to the same generator.
        let read = Totp::from_url(&uri).expect("parses");
        assert_eq!(read.algorithm(), Algorithm::SHA1);
        assert_eq!((read.digits(), read.step()), (6, 30));
        assert_eq!(read.generate(59).to_string(), "287082");
        assert_eq!(read.issuer(), Some("Confidant (Riverside)"));
        assert_eq!(read.account_name(), "j.okafor");
    }

    #[test]
    fn colons_and_blanks_in_the_label_are_made_safe() {
        let secret = rfc_secret();
        let uri = otpauth_uri(&secret, "Care: North", "a:b");
        let read = Totp::from_url(&uri).expect("parses");
        assert_eq!(read.issuer(), Some("Care- North"));
        assert_eq!(read.account_name(), "a-b");
        let blank = otpauth_uri(&secret, " ", "");
        assert!(
            blank.starts_with("otpauth://totp/account?secret="),
            "{blank}"
        );
    }

    #[test]
    fn the_qr_code_is_an_accessible_inline_svg_with_a_quiet_zone() {
        let uri = otpauth_uri(&rfc_secret(), "Confidant (Riverside)", "j.okafor");
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg "), "{}", &svg[..60]);
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(!svg.to_lowercase().contains("<script"));
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(&format!(r#"aria-label="{QR_LABEL}""#)));
        assert!(svg.contains(&format!("<title>{QR_LABEL}</title>")));
        // Nothing of the data appears as text: it is only in the modules.
        assert!(!svg.contains("GEZDGNBV") && !svg.contains("otpauth"));
        // Quiet zone: the first dark module (top-left finder pattern) is drawn 4 modules in from
        // both edges, and the image is the code's modules plus 4 on each side.
        let d = &svg[svg.find(" d=\"M").expect("a path") + 5..];
        let mut coords = d.split(|c: char| !c.is_ascii_digit()).take(2);
        let x: u32 = coords.next().and_then(|v| v.parse().ok()).expect("x");
        let y: u32 = coords.next().and_then(|v| v.parse().ok()).expect("y");
        assert_eq!(x, y);
        let module = x / 4;
        assert!(module > 0 && x == 4 * module, "first module at {x}");
        let width = svg.split("width=\"").nth(1).expect("width");
        let width: u32 = width[..width.find('"').expect("quote")].parse().expect("n");
        assert!(width >= 200);
        assert!(width.is_multiple_of(module));
        let modules =
            qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
                .expect("fits")
                .width();
        assert_eq!(width / module, u32::try_from(modules).expect("small") + 8);
    }

    #[test]
    fn recovery_codes_are_distinct_and_well_formed() {
        let codes = recovery_codes(10);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11, "{}", code.as_str());
            assert_eq!(&code[5..6], "-");
            assert!(
                code.bytes()
                    .filter(|&b| b != b'-')
                    .all(|b| RECOVERY_ALPHABET.contains(&b))
            );
            assert!(recovery_code_hash(code).is_some());
        }
        let mut seen: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 10);
        assert!(recovery_codes(0).is_empty());
    }

    #[test]
    fn a_recovery_code_hashes_the_same_however_it_is_typed() {
        let expected: [u8; 32] = Sha256::digest(b"abcdefghij").into();
        for typed in [
            "abcdefghij",
            "ABCDE-FGHIJ",
            "abcde-fghij",
            " abcde fghij ",
            "aBcDe-FgHiJ",
            "ab-cd-ef-gh-ij",
        ] {
            assert_eq!(recovery_code_hash(typed), Some(expected), "{typed:?}");
        }
        assert_ne!(recovery_code_hash("abcde-fghik"), Some(expected));
    }

    #[test]
    fn garbage_is_not_a_recovery_code() {
        for bad in [
            "",
            "-",
            "abcde",
            "abcde-fghi",
            "abcde-fghijk",
            "abcde-fgh1j",
            "abcde_fghij",
            "abcdé-fghij",
            "00000-00000",
            "abcde-fghi!",
        ] {
            assert_eq!(recovery_code_hash(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_secret_round_trips_through_base32(bytes in proptest::array::uniform20(proptest::num::u8::ANY)) {
            let secret = TotpSecret::from_bytes(&bytes).expect("20 bytes");
            let back = TotpSecret::from_base32(&secret.base32()).expect("parses");
            proptest::prop_assert_eq!(back.as_bytes(), &bytes[..]);
        }

        #[test]
        fn the_current_code_verifies_once_at_any_time(
            bytes in proptest::array::uniform20(proptest::num::u8::ANY),
            t in 0u64..=u64::MAX / 2,
        ) {
            let secret = TotpSecret::from_bytes(&bytes).expect("20 bytes");
            let code = code_at(&secret, t);
            proptest::prop_assert_eq!(code.len(), 6);
            let step = verify(&secret, &code, t, None);
            // The earliest matching step is returned; the previous step matches by coincidence only.
            proptest::prop_assert!(step == Some(t / STEP_SECS) || step == Some((t / STEP_SECS).saturating_sub(1)));
            let used = t / STEP_SECS;
            let replay = verify(&secret, &code, t, Some(used));
            proptest::prop_assert!(replay.is_none_or(|s| s > used));
        }

        #[test]
        fn any_typing_of_a_recovery_code_hashes_like_the_code(upper in proptest::bool::ANY, spaces in "[ -]{0,3}") {
            let code = recovery_codes(1).pop().expect("one code");
            let typed = code.replace('-', &spaces);
            let typed = if upper { typed.to_uppercase() } else { typed };
            proptest::prop_assert_eq!(recovery_code_hash(&typed), recovery_code_hash(&code));
            proptest::prop_assert!(recovery_code_hash(&typed).is_some());
        }
    }
}
