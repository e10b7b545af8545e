//! The field catalogue: every stored field of a person declared once, with its classification.
//!
//! Guarantees: a value can be stored only under a [`PersonField`] of this catalogue; its code names its
//! place in the database (and in the sealing's associated data), its classification drives how later
//! features (sharing, access requests, statistics, notices) treat it.

/// Article 9 UK GDPR categories of special category data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Article9Category {
    RacialOrEthnicOrigin,
    ReligiousOrPhilosophicalBeliefs,
    Health,
    SexLife,
    SexualOrientation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// Ordinary personal data.
    Personal,
    SpecialCategory(Article9Category),
    /// Criminal offence data (Article 10; DPA 2018 Schedule 1).
    CriminalOffence,
    /// About someone other than the service user.
    ThirdParty,
}

/// How a field is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub code: &'static str,
    pub label: &'static str,
    pub classification: Classification,
    /// Has a blind index for exact look-ups.
    pub blind_index: bool,
    /// Provided by the person themselves (counts for portability).
    pub provided_by_person: bool,
    /// The record type whose retention rule applies.
    pub record_type: &'static str,
}

/// The identity fields of a person's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersonField {
    GivenName,
    FamilyName,
    DateOfBirth,
    NhsNumber,
    NiNumber,
    Address,
    Postcode,
    Phone,
    Email,
}

const fn identity(code: &'static str, label: &'static str, blind_index: bool) -> FieldSpec {
    FieldSpec {
        code,
        label,
        classification: Classification::Personal,
        blind_index,
        provided_by_person: true,
        record_type: "case_record",
    }
}

impl PersonField {
    pub const ALL: [PersonField; 9] = [
        PersonField::GivenName,
        PersonField::FamilyName,
        PersonField::DateOfBirth,
        PersonField::NhsNumber,
        PersonField::NiNumber,
        PersonField::Address,
        PersonField::Postcode,
        PersonField::Phone,
        PersonField::Email,
    ];

    pub const fn spec(self) -> FieldSpec {
        match self {
            PersonField::GivenName => identity("given_name", "Given name", false),
            PersonField::FamilyName => identity("family_name", "Family name", false),
            PersonField::DateOfBirth => identity("date_of_birth", "Date of birth", false),
            PersonField::NhsNumber => identity("nhs_number", "NHS number", true),
            PersonField::NiNumber => identity("ni_number", "National Insurance number", true),
            PersonField::Address => identity("address", "Address", false),
            PersonField::Postcode => identity("postcode", "Postcode", true),
            PersonField::Phone => identity("phone", "Phone", true),
            PersonField::Email => identity("email", "Email", true),
        }
    }

    pub fn code(self) -> &'static str {
        self.spec().code
    }

    pub fn from_code(code: &str) -> Option<PersonField> {
        PersonField::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// Blind indexes of a person. Each is the index's stored code and its HMAC domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexField {
    NhsNumber,
    NiNumber,
    Postcode,
    Phone,
    Email,
    /// Date of birth and family name together: finds a person without an identifier number.
    BirthAndFamilyName,
}

impl IndexField {
    pub const ALL: [IndexField; 6] = [
        IndexField::NhsNumber,
        IndexField::NiNumber,
        IndexField::Postcode,
        IndexField::Phone,
        IndexField::Email,
        IndexField::BirthAndFamilyName,
    ];

    pub fn code(self) -> &'static str {
        match self {
            IndexField::NhsNumber => "nhs_number",
            IndexField::NiNumber => "ni_number",
            IndexField::Postcode => "postcode",
            IndexField::Phone => "phone",
            IndexField::Email => "email",
            IndexField::BirthAndFamilyName => "birth_family_name",
        }
    }

    pub fn from_code(code: &str) -> Option<IndexField> {
        IndexField::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The HMAC domain: separates indexes so equal values in two fields do not match.
    pub fn domain(self) -> &'static str {
        match self {
            IndexField::NhsNumber => "person.nhs_number",
            IndexField::NiNumber => "person.ni_number",
            IndexField::Postcode => "person.postcode",
            IndexField::Phone => "person.phone",
            IndexField::Email => "person.email",
            IndexField::BirthAndFamilyName => "person.birth_family_name",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_code_is_unique_and_round_trips() {
        let mut codes: Vec<_> = PersonField::ALL.iter().map(|f| f.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), PersonField::ALL.len());
        for f in PersonField::ALL {
            assert_eq!(PersonField::from_code(f.code()), Some(f));
        }
        for f in IndexField::ALL {
            assert_eq!(IndexField::from_code(f.code()), Some(f));
        }
    }

    #[test]
    fn every_indexed_field_has_a_blind_index() {
        for f in PersonField::ALL {
            let indexed = IndexField::from_code(f.code()).is_some();
            assert_eq!(f.spec().blind_index, indexed, "{}", f.code());
        }
    }
}
