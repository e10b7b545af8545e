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
