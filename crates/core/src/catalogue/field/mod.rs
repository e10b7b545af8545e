//! The field catalogue: every stored field of Confidant declared once, with its classification.
//!
//! Guarantees:
//! - A value can be stored only under a field of this catalogue: a person's fields are the
//!   [`PersonField`]s; related people, referrals and record entries (notes, plans, goals, appointments,
//!   paper records, documents) have theirs in [`RECORD_FIELDS`]. A code names the field's place in the
//!   database and in the sealing's associated data.
//! - Each declaration carries what later features read: its classification (drives access, sharing,
//!   redaction in access requests, statistics and the privacy notice), its retention record type, its
//!   blind index, whether the person provided it (portability), whether it may ever leave the record
//!   (a victim's safe contact details never do), its field group (switched on per service) and how a
//!   value is checked.
//!
//! Here: the classifications, field groups, value kinds and record kinds every declaration uses, and
//! [`catalogue`], the whole list. A person's fields are declared in `person.rs`, every other
//! record's in `record.rs`, the blind indexes in `index.rs`.

mod index;
mod person;
mod record;

use crate::kernel::codes::codes;
use crate::retention::RecordType;
pub use index::IndexField;
pub use person::PersonField;
pub use record::{RECORD_FIELDS, record_field, record_fields};

/// Article 9 UK GDPR categories of special category data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Article9Category {
    RacialOrEthnicOrigin,
    ReligiousOrPhilosophicalBeliefs,
    Health,
    SexLife,
    SexualOrientation,
}

impl Article9Category {
    pub fn label(self) -> &'static str {
        match self {
            Article9Category::RacialOrEthnicOrigin => "racial or ethnic origin",
            Article9Category::ReligiousOrPhilosophicalBeliefs => {
                "religious or philosophical beliefs"
            }
            Article9Category::Health => "health",
            Article9Category::SexLife => "sex life",
            Article9Category::SexualOrientation => "sexual orientation",
        }
    }
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

impl Classification {
    pub fn label(self) -> String {
        match self {
            Classification::Personal => "personal data".to_owned(),
            Classification::SpecialCategory(c) => format!("special category: {}", c.label()),
            Classification::CriminalOffence => "criminal offence data".to_owned(),
            Classification::ThirdParty => "third-party data".to_owned(),
        }
    }
}

codes!(
    /// A group of fields a service collects or not (set in its configuration). `Identity` is always on.
    #[derive(PartialOrd, Ord)]
    FieldGroup {
        Identity = "identity": "Identity and contact",
        SafeContact = "safe_contact": "Safe contact",
        Communication = "communication": "Language and communication",
        Photo = "photo": "Photo",
        Diversity = "diversity": "Equality and diversity",
        Health = "health": "Health and disability",
        Pregnancy = "pregnancy": "Pregnancy",
        Children = "children": "Children",
        CriminalJustice = "criminal_justice": "Criminal justice",
        Employment = "employment": "Employment and income",
        Housing = "housing": "Housing and debts",
    }
);

/// Which field groups a service collects. Identity is always collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldGroups(std::collections::BTreeSet<FieldGroup>);

impl FieldGroups {
    pub fn new(groups: impl IntoIterator<Item = FieldGroup>) -> Self {
        let mut set: std::collections::BTreeSet<_> = groups.into_iter().collect();
        set.insert(FieldGroup::Identity);
        Self(set)
    }

    /// Every group: what a service collects until its configuration says otherwise.
    pub fn all() -> Self {
        Self::new(FieldGroup::ALL)
    }

    pub fn contains(&self, group: FieldGroup) -> bool {
        self.0.contains(&group)
    }

    pub fn iter(&self) -> impl Iterator<Item = FieldGroup> + '_ {
        self.0.iter().copied()
    }

    /// Comma-separated codes, as stored.
    pub fn codes(&self) -> String {
        self.0
            .iter()
            .map(|g| g.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses comma-separated codes; `Err` names the first unknown one.
    pub fn parse(codes: &str) -> Result<Self, String> {
        let mut groups = Vec::new();
        for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            groups.push(FieldGroup::from_code(code).ok_or_else(|| code.to_owned())?);
        }
        Ok(Self::new(groups))
    }
}

/// How a value is checked and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A field with its own parser in `identifier` (names, NHS number, postcode…).
    Identifier,
    /// One line of text, at most this many characters.
    Line(usize),
    /// Text with line breaks, at most this many characters.
    Text(usize),
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of these codes, each with its label.
    Choice(&'static [(&'static str, &'static str)]),
    /// Stored as a document, not as a field value (the photo).
    Document,
}

codes!(
    /// The kinds of record a field can belong to.
    #[derive(PartialOrd, Ord)]
    RecordKind {
        Person = "person",
        Related = "related",
        Referral = "referral",
        Note = "note",
        Plan = "plan",
        Goal = "goal",
        Appointment = "appointment",
        PaperNote = "paper_note",
        PaperFile = "paper_file",
        Document = "document",
    }
);

impl RecordKind {
    /// A paper note or an archived paper file: paper held outside Confidant, destroyed outside
    /// it and recorded so.
    pub fn is_paper(self) -> bool {
        matches!(self, RecordKind::PaperNote | RecordKind::PaperFile)
    }
}

/// How a field is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub record: RecordKind,
    pub code: &'static str,
    pub label: &'static str,
    pub classification: Classification,
    pub group: FieldGroup,
    pub kind: ValueKind,
    /// Has a blind index for exact look-ups.
    pub blind_index: bool,
    /// Provided by the person themselves (counts for portability).
    pub provided_by_person: bool,
    /// May leave the record in a share or export. A victim's safe contact details never do.
    pub may_leave: bool,
    /// The retention class whose rules apply to it (a document's, a paper note's and an archived
    /// paper file's follow the case record's where the service has no rule of their own:
    /// [`RecordType::follows`]).
    pub record_type: RecordType,
}

/// The whole catalogue: a person's fields, then every other record's.
pub fn catalogue() -> Vec<FieldSpec> {
    PersonField::ALL
        .iter()
        .map(|f| f.spec())
        .chain(RECORD_FIELDS.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_code_is_unique_within_its_record_and_round_trips() {
        let mut codes: Vec<_> = catalogue().iter().map(|f| (f.record, f.code)).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
        for f in PersonField::ALL {
            assert_eq!(PersonField::from_code(f.code()), Some(f));
            assert_eq!(f.spec().record, RecordKind::Person);
        }
        for f in IndexField::ALL {
            assert_eq!(IndexField::from_code(f.code()), Some(f));
        }
        for g in FieldGroup::ALL {
            assert_eq!(FieldGroup::from_code(g.code()), Some(g));
        }
    }

    #[test]
    fn every_field_is_in_the_retention_class_of_its_record() {
        for f in catalogue() {
            let class = match f.record {
                RecordKind::Referral => RecordType::Referral,
                RecordKind::PaperNote => RecordType::PaperNote,
                RecordKind::PaperFile => RecordType::ArchivedPaper,
                RecordKind::Document => RecordType::Document,
                RecordKind::Person
                | RecordKind::Related
                | RecordKind::Note
                | RecordKind::Plan
                | RecordKind::Goal
                | RecordKind::Appointment => RecordType::CaseRecord,
            };
            assert_eq!(f.record_type, class, "{} {}", f.record.code(), f.code);
        }
    }

    #[test]
    fn every_indexed_person_field_has_a_blind_index_and_no_other() {
        for f in PersonField::ALL {
            let indexed = IndexField::from_code(f.code()).is_some();
            assert_eq!(f.spec().blind_index, indexed, "{}", f.code());
        }
        for f in record_fields(RecordKind::Referral).filter(|f| f.blind_index) {
            assert!(IndexField::from_code(f.code).is_some(), "{}", f.code);
        }
        for f in RECORD_FIELDS
            .iter()
            .filter(|f| f.record != RecordKind::Referral)
        {
            assert!(!f.blind_index, "{}", f.code);
        }
    }

    #[test]
    fn safe_contact_details_never_leave_and_are_never_indexed() {
        for f in PersonField::of_group(FieldGroup::SafeContact) {
            assert!(!f.spec().may_leave, "{}", f.code());
            assert!(!f.spec().blind_index, "{}", f.code());
        }
        let leaving_safe = catalogue().into_iter().filter(|f| !f.may_leave).count();
        assert_eq!(leaving_safe, 4);
    }

    #[test]
    fn special_category_and_criminal_fields_are_classified() {
        use Classification as C;
        let class = |f: PersonField| f.spec().classification;
        assert_eq!(
            class(PersonField::Ethnicity),
            C::SpecialCategory(Article9Category::RacialOrEthnicOrigin)
        );
        assert_eq!(
            class(PersonField::Religion),
            C::SpecialCategory(Article9Category::ReligiousOrPhilosophicalBeliefs)
        );
        assert_eq!(
            class(PersonField::MentalHealth),
            C::SpecialCategory(Article9Category::Health)
        );
        assert_eq!(class(PersonField::Convictions), C::CriminalOffence);
        for f in PersonField::of_group(FieldGroup::CriminalJustice) {
            assert_eq!(class(f), C::CriminalOffence);
        }
        for f in record_fields(RecordKind::Related) {
            assert_eq!(f.classification, C::ThirdParty);
        }
    }

    #[test]
    fn field_groups_always_hold_identity_and_parse_their_codes() {
        let groups = FieldGroups::parse("health, employment").expect("known codes");
        assert!(groups.contains(FieldGroup::Identity));
        assert!(groups.contains(FieldGroup::Health));
        assert!(!groups.contains(FieldGroup::Pregnancy));
        assert_eq!(groups.codes(), "identity,health,employment");
        assert_eq!(FieldGroups::parse("health,nope"), Err("nope".to_owned()));
    }
}
