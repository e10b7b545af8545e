//! Synthetic, obviously fictional people for the demo, tests and benchmarks: valid NHS numbers (from the
//! check-digit algorithm), valid National Insurance numbers, real-format postcodes and reserved
//! drama-range phone numbers. Deterministic for a seed.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::field::PersonField;
use crate::identifier::NhsNumber;
use crate::person::PersonInput;

const GIVEN: &[&str] = &[
    "Ada", "Bilal", "Ceri", "Dara", "Eilidh", "Femi", "Gwen", "Hamza", "Isla", "Jonah", "Kiran",
    "Lowri", "Mina", "Niall", "Orla", "Priya", "Quinn", "Rhys", "Sana", "Tomasz", "Una", "Viktor",
    "Wren", "Yusuf", "Zara",
];
const FAMILY: &[&str] = &[
    "Abbott",
    "Bevan",
    "Chowdhury",
    "Doyle",
    "Evans",
    "Fraser",
    "Gill",
    "Hughes",
    "Iqbal",
    "Jones",
    "Kowalski",
    "Lloyd",
    "McLeod",
    "Nwosu",
    "O'Brien",
    "Patel",
    "Quayle",
    "Rees",
    "Singh",
    "Taylor",
    "Ulloa",
    "Vance",
    "Whitfield",
    "Young",
    "Zielinski",
];
const STREETS: &[&str] = &[
    "Mill Lane",
    "Station Road",
    "Church Street",
    "Park Avenue",
    "Victoria Terrace",
    "Orchard Close",
];
const OUTWARD: &[&str] = &[
    "LS1", "M14", "B12", "CF10", "NE6", "BS3", "SW1A", "EH8", "G41", "NG7",
];
/// Inward-code letters that postcodes may use.
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
/// National Insurance prefixes that are valid and not administrative.
const NINO_PREFIXES: &[&str] = &["AB", "CE", "HJ", "JL", "KP", "LR", "MA", "PE", "RT", "WX"];

/// A generator of fictional people.
#[derive(Debug)]
pub struct Synthetic {
    rng: StdRng,
}

impl Synthetic {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }

    fn nhs_number(&mut self) -> String {
        loop {
            let first: String = (0..9)
                .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
                .collect();
            if let Some(n) = NhsNumber::with_check_digit(&first) {
                return n.as_str().to_owned();
            }
        }
    }

    /// One fictional person with every identity field filled.
    pub fn person(&mut self) -> PersonInput {
        let given = self.pick(GIVEN).to_owned();
        let family = self.pick(FAMILY).to_owned();
        let year = self.rng.random_range(1950..2006);
        let month = self.rng.random_range(1..=12);
        let day = self.rng.random_range(1..=28);
        let inward = format!(
            "{}{}{}",
            self.rng.random_range(0..10),
            char::from(INWARD_LETTERS[self.rng.random_range(0..INWARD_LETTERS.len())]),
            char::from(INWARD_LETTERS[self.rng.random_range(0..INWARD_LETTERS.len())]),
        );
        let email = format!(
            "{}.{}@example.org",
            given.to_lowercase(),
            family.to_lowercase().replace('\'', "")
        );
        let nhs = self.nhs_number();
        let ni = format!(
            "{}{:06}{}",
            self.pick(NINO_PREFIXES),
            self.rng.random_range(0..1_000_000),
            char::from(b'A' + self.rng.random_range(0..4u8))
        );
        let address = format!("{} {}", self.rng.random_range(1..200), self.pick(STREETS));
        let postcode = format!("{} {inward}", self.pick(OUTWARD));
        // Ofcom's range reserved for drama: never a real subscriber.
        let phone = format!("07700 900{:03}", self.rng.random_range(0..1000));
        PersonInput::new()
            .with(PersonField::Email, email)
            .with(PersonField::GivenName, given)
            .with(PersonField::FamilyName, family)
            .with(
                PersonField::DateOfBirth,
                format!("{year:04}-{month:02}-{day:02}"),
            )
            .with(PersonField::NhsNumber, nhs)
            .with(PersonField::NiNumber, ni)
            .with(PersonField::Address, address)
            .with(PersonField::Postcode, postcode)
            .with(PersonField::Phone, phone)
    }
}

const NOTE_LINES: &[&str] = &[
    "Talked through the week; sleeping better and keeping appointments.",
    "Missed the group session; agreed to try the Thursday one instead.",
    "Went through the housing form together; letter to follow.",
    "Feeling low this week. Agreed a check-in call on Friday.",
    "Attended the job club and updated the CV.",
    "Reviewed the support plan: two goals on track, one paused.",
];

impl Synthetic {
    /// `n` fictional case notes, one a day going back from today.
    pub fn notes(&mut self, n: usize) -> Vec<crate::record::NewEntry> {
        use crate::store::ContactType;
        (0..n)
            .map(|i| {
                let kinds = ContactType::ALL;
                let contact = kinds[self.rng.random_range(0..kinds.len())];
                let day = time::OffsetDateTime::now_utc()
                    - time::Duration::days(i64::try_from(i).unwrap_or(0));
                crate::record::NewEntry {
                    kind: crate::field::RecordKind::Note,
                    case_id: None,
                    parent_id: None,
                    contact_type: Some(contact),
                    occurs_at: Some(day),
                    status: None,
                    due_at: None,
                    flags: crate::store::NoteFlags::default(),
                    values: crate::record::RecordInput::new().with("body", self.pick(NOTE_LINES)),
                }
            })
            .collect()
    }

    /// One fictional self-referral with the referred person's details and a reason.
    pub fn referral(&mut self) -> crate::referral::NewReferral {
        let person = self.person();
        let mut values = crate::record::RecordInput::new();
        for code in [
            "given_name",
            "family_name",
            "date_of_birth",
            "nhs_number",
            "phone",
            "email",
            "postcode",
        ] {
            if let Some(field) = PersonField::from_code(code)
                && let Some(v) = person.get(field)
            {
                values = values.with(code, v);
            }
        }
        crate::referral::NewReferral {
            source: crate::store::ReferralSource::SelfReferral,
            partner_person_id: None,
            values: values.with("reason", "Would like support to stay well and find work."),
        }
    }
}
