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

/// A group of fields a service collects or not (set in its configuration). `Identity` is always on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldGroup {
    Identity,
    SafeContact,
    Communication,
    Photo,
    Diversity,
    Health,
    Pregnancy,
    Children,
    CriminalJustice,
    Employment,
    Housing,
}

impl FieldGroup {
    pub const ALL: [FieldGroup; 11] = [
        FieldGroup::Identity,
        FieldGroup::SafeContact,
        FieldGroup::Communication,
        FieldGroup::Photo,
        FieldGroup::Diversity,
        FieldGroup::Health,
        FieldGroup::Pregnancy,
        FieldGroup::Children,
        FieldGroup::CriminalJustice,
        FieldGroup::Employment,
        FieldGroup::Housing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FieldGroup::Identity => "identity",
            FieldGroup::SafeContact => "safe_contact",
            FieldGroup::Communication => "communication",
            FieldGroup::Photo => "photo",
            FieldGroup::Diversity => "diversity",
            FieldGroup::Health => "health",
            FieldGroup::Pregnancy => "pregnancy",
            FieldGroup::Children => "children",
            FieldGroup::CriminalJustice => "criminal_justice",
            FieldGroup::Employment => "employment",
            FieldGroup::Housing => "housing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldGroup::Identity => "Identity and contact",
            FieldGroup::SafeContact => "Safe contact",
            FieldGroup::Communication => "Language and communication",
            FieldGroup::Photo => "Photo",
            FieldGroup::Diversity => "Equality and diversity",
            FieldGroup::Health => "Health and disability",
            FieldGroup::Pregnancy => "Pregnancy",
            FieldGroup::Children => "Children",
            FieldGroup::CriminalJustice => "Criminal justice",
            FieldGroup::Employment => "Employment and income",
            FieldGroup::Housing => "Housing and debts",
        }
    }

    pub fn from_code(code: &str) -> Option<FieldGroup> {
        FieldGroup::ALL.into_iter().find(|g| g.code() == code)
    }
}

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

/// The kinds of record a field can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Person,
    Related,
    Referral,
    Note,
    Plan,
    Goal,
    Appointment,
    PaperNote,
    PaperFile,
    Document,
}

impl RecordKind {
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Person,
        RecordKind::Related,
        RecordKind::Referral,
        RecordKind::Note,
        RecordKind::Plan,
        RecordKind::Goal,
        RecordKind::Appointment,
        RecordKind::PaperNote,
        RecordKind::PaperFile,
        RecordKind::Document,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Person => "person",
            RecordKind::Related => "related",
            RecordKind::Referral => "referral",
            RecordKind::Note => "note",
            RecordKind::Plan => "plan",
            RecordKind::Goal => "goal",
            RecordKind::Appointment => "appointment",
            RecordKind::PaperNote => "paper_note",
            RecordKind::PaperFile => "paper_file",
            RecordKind::Document => "document",
        }
    }

    pub fn from_code(code: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.code() == code)
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
    /// The record type whose retention rule applies.
    pub record_type: &'static str,
}

const CASE_RECORD: &str = "case_record";
const REFERRAL_RECORD: &str = "referral";
const PAPER_RECORD: &str = "paper_record";

const fn person(
    code: &'static str,
    label: &'static str,
    group: FieldGroup,
    classification: Classification,
    kind: ValueKind,
) -> FieldSpec {
    FieldSpec {
        record: RecordKind::Person,
        code,
        label,
        classification,
        group,
        kind,
        blind_index: false,
        provided_by_person: true,
        may_leave: true,
        record_type: CASE_RECORD,
    }
}

const fn identity(code: &'static str, label: &'static str, blind_index: bool) -> FieldSpec {
    FieldSpec {
        blind_index,
        ..person(
            code,
            label,
            FieldGroup::Identity,
            Classification::Personal,
            ValueKind::Identifier,
        )
    }
}

const fn safe(code: &'static str, label: &'static str, kind: ValueKind) -> FieldSpec {
    FieldSpec {
        may_leave: false,
        ..person(
            code,
            label,
            FieldGroup::SafeContact,
            Classification::Personal,
            kind,
        )
    }
}

const fn special(
    code: &'static str,
    label: &'static str,
    group: FieldGroup,
    category: Article9Category,
    kind: ValueKind,
) -> FieldSpec {
    person(
        code,
        label,
        group,
        Classification::SpecialCategory(category),
        kind,
    )
}

const fn criminal(code: &'static str, label: &'static str, kind: ValueKind) -> FieldSpec {
    person(
        code,
        label,
        FieldGroup::CriminalJustice,
        Classification::CriminalOffence,
        kind,
    )
}

const YES_NO: &[(&str, &str)] = &[("yes", "Yes"), ("no", "No")];
const YES_NO_UNKNOWN: &[(&str, &str)] = &[("yes", "Yes"), ("no", "No"), ("unknown", "Not known")];
const GENDER: &[(&str, &str)] = &[
    ("woman", "Woman"),
    ("man", "Man"),
    ("non_binary", "Non-binary"),
    ("other", "Another gender"),
    ("not_said", "Prefers not to say"),
];
const ORIENTATION: &[(&str, &str)] = &[
    ("heterosexual", "Heterosexual or straight"),
    ("gay_lesbian", "Gay or lesbian"),
    ("bisexual", "Bisexual"),
    ("other", "Another sexual orientation"),
    ("not_said", "Prefers not to say"),
];
const ETHNICITY: &[(&str, &str)] = &[
    ("asian", "Asian or Asian British"),
    ("black", "Black, Black British, Caribbean or African"),
    ("mixed", "Mixed or multiple ethnic groups"),
    ("white", "White"),
    ("other", "Another ethnic group"),
    ("not_said", "Prefers not to say"),
];
const RELIGION: &[(&str, &str)] = &[
    ("none", "No religion"),
    ("buddhist", "Buddhist"),
    ("christian", "Christian"),
    ("hindu", "Hindu"),
    ("jewish", "Jewish"),
    ("muslim", "Muslim"),
    ("sikh", "Sikh"),
    ("other", "Another religion or belief"),
    ("not_said", "Prefers not to say"),
];
const RELATIONSHIP_STATUS: &[(&str, &str)] = &[
    ("single", "Single"),
    ("partner", "In a relationship"),
    ("married", "Married or civil partnership"),
    ("separated", "Separated or divorced"),
    ("widowed", "Widowed"),
    ("not_said", "Prefers not to say"),
];

/// The fields of a person's record.
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
    SafePhone,
    SafeEmail,
    SafeAddress,
    SafeTimes,
    Language,
    Interpreter,
    CommunicationNeeds,
    Photo,
    Gender,
    RelationshipStatus,
    SexualOrientation,
    Ethnicity,
    Religion,
    Disabilities,
    PhysicalHealth,
    MentalHealth,
    Pregnancy,
    Convictions,
    CriminalJusticeOrders,
    OffenderManager,
    EmploymentHistory,
    Income,
    HousingHistory,
    Debts,
}

impl PersonField {
    pub const ALL: [PersonField; 33] = [
        PersonField::GivenName,
        PersonField::FamilyName,
        PersonField::DateOfBirth,
        PersonField::NhsNumber,
        PersonField::NiNumber,
        PersonField::Address,
        PersonField::Postcode,
        PersonField::Phone,
        PersonField::Email,
        PersonField::SafePhone,
        PersonField::SafeEmail,
        PersonField::SafeAddress,
        PersonField::SafeTimes,
        PersonField::Language,
        PersonField::Interpreter,
        PersonField::CommunicationNeeds,
        PersonField::Photo,
        PersonField::Gender,
        PersonField::RelationshipStatus,
        PersonField::SexualOrientation,
        PersonField::Ethnicity,
        PersonField::Religion,
        PersonField::Disabilities,
        PersonField::PhysicalHealth,
        PersonField::MentalHealth,
        PersonField::Pregnancy,
        PersonField::Convictions,
        PersonField::CriminalJusticeOrders,
        PersonField::OffenderManager,
        PersonField::EmploymentHistory,
        PersonField::Income,
        PersonField::HousingHistory,
        PersonField::Debts,
    ];

    pub const fn spec(self) -> FieldSpec {
        use Article9Category as A;
        use FieldGroup as G;
        use ValueKind as V;
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
            PersonField::SafePhone => safe("safe_phone", "Safe phone number", V::Identifier),
            PersonField::SafeEmail => safe("safe_email", "Safe email address", V::Identifier),
            PersonField::SafeAddress => safe("safe_address", "Safe postal address", V::Text(300)),
            PersonField::SafeTimes => safe("safe_times", "Safe times to call", V::Line(200)),
            PersonField::Language => person(
                "language",
                "First language",
                G::Communication,
                Classification::Personal,
                V::Line(60),
            ),
            PersonField::Interpreter => person(
                "interpreter",
                "Needs an interpreter",
                G::Communication,
                Classification::Personal,
                V::Choice(YES_NO),
            ),
            PersonField::CommunicationNeeds => person(
                "communication_needs",
                "Communication needs",
                G::Communication,
                Classification::Personal,
                V::Text(1000),
            ),
            PersonField::Photo => person(
                "photo",
                "Photo",
                G::Photo,
                Classification::Personal,
                V::Document,
            ),
            PersonField::Gender => special(
                "gender",
                "Gender",
                G::Diversity,
                A::SexLife,
                V::Choice(GENDER),
            ),
            PersonField::RelationshipStatus => special(
                "relationship_status",
                "Relationship status",
                G::Diversity,
                A::SexLife,
                V::Choice(RELATIONSHIP_STATUS),
            ),
            PersonField::SexualOrientation => special(
                "sexual_orientation",
                "Sexual orientation",
                G::Diversity,
                A::SexualOrientation,
                V::Choice(ORIENTATION),
            ),
            PersonField::Ethnicity => special(
                "ethnicity",
                "Ethnic group",
                G::Diversity,
                A::RacialOrEthnicOrigin,
                V::Choice(ETHNICITY),
            ),
            PersonField::Religion => special(
                "religion",
                "Religion or belief",
                G::Diversity,
                A::ReligiousOrPhilosophicalBeliefs,
                V::Choice(RELIGION),
            ),
            PersonField::Disabilities => special(
                "disabilities",
                "Disabilities",
                G::Health,
                A::Health,
                V::Text(2000),
            ),
            PersonField::PhysicalHealth => special(
                "physical_health",
                "Physical health",
                G::Health,
                A::Health,
                V::Text(4000),
            ),
            PersonField::MentalHealth => special(
                "mental_health",
                "Mental health",
                G::Health,
                A::Health,
                V::Text(4000),
            ),
            PersonField::Pregnancy => special(
                "pregnancy",
                "Pregnant",
                G::Pregnancy,
                A::Health,
                V::Choice(YES_NO_UNKNOWN),
            ),
            PersonField::Convictions => criminal(
                "convictions",
                "Cautions and convictions (including spent)",
                V::Text(4000),
            ),
            PersonField::CriminalJusticeOrders => criminal(
                "criminal_justice_orders",
                "Criminal-justice orders",
                V::Text(2000),
            ),
            PersonField::OffenderManager => {
                criminal("offender_manager", "Offender manager", V::Line(200))
            }
            PersonField::EmploymentHistory => person(
                "employment_history",
                "Employment history",
                G::Employment,
                Classification::Personal,
                V::Text(4000),
            ),
            PersonField::Income => person(
                "income",
                "Income and benefits",
                G::Employment,
                Classification::Personal,
                V::Text(1000),
            ),
            PersonField::HousingHistory => person(
                "housing_history",
                "Housing history",
                G::Housing,
                Classification::Personal,
                V::Text(4000),
            ),
            PersonField::Debts => person(
                "debts",
                "Debts",
                G::Housing,
                Classification::Personal,
                V::Text(2000),
            ),
        }
    }

    pub fn code(self) -> &'static str {
        self.spec().code
    }

    pub fn from_code(code: &str) -> Option<PersonField> {
        PersonField::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The fields of one group, in catalogue order.
    pub fn of_group(group: FieldGroup) -> impl Iterator<Item = PersonField> {
        PersonField::ALL
            .into_iter()
            .filter(move |f| f.spec().group == group)
    }
}

const fn entry(
    record: RecordKind,
    code: &'static str,
    label: &'static str,
    classification: Classification,
    kind: ValueKind,
    record_type: &'static str,
) -> FieldSpec {
    FieldSpec {
        record,
        code,
        label,
        classification,
        group: FieldGroup::Identity,
        kind,
        blind_index: false,
        provided_by_person: false,
        may_leave: true,
        record_type,
    }
}

const fn third_party(record: RecordKind, code: &'static str, label: &'static str) -> FieldSpec {
    entry(
        record,
        code,
        label,
        Classification::ThirdParty,
        ValueKind::Line(200),
        CASE_RECORD,
    )
}

const fn referred(code: &'static str, label: &'static str, blind_index: bool) -> FieldSpec {
    FieldSpec {
        blind_index,
        provided_by_person: true,
        ..entry(
            RecordKind::Referral,
            code,
            label,
            Classification::Personal,
            ValueKind::Identifier,
            REFERRAL_RECORD,
        )
    }
}

const fn sealed_text(
    record: RecordKind,
    code: &'static str,
    label: &'static str,
    max: usize,
    record_type: &'static str,
) -> FieldSpec {
    entry(
        record,
        code,
        label,
        Classification::Personal,
        ValueKind::Text(max),
        record_type,
    )
}

/// Every field of related people, referrals and record entries. A person's own fields are
/// [`PersonField`]; both together are [`catalogue`].
pub const RECORD_FIELDS: &[FieldSpec] = &[
    // Related people: third parties, each sealed with their own key.
    third_party(RecordKind::Related, "given_name", "Given name"),
    third_party(RecordKind::Related, "family_name", "Family name"),
    third_party(RecordKind::Related, "phone", "Phone"),
    third_party(RecordKind::Related, "email", "Email"),
    FieldSpec {
        kind: ValueKind::Text(300),
        ..third_party(RecordKind::Related, "address", "Address")
    },
    FieldSpec {
        kind: ValueKind::Text(2000),
        ..third_party(RecordKind::Related, "notes", "Notes")
    },
    // Referrals: sealed with the referral's own key until it is accepted or erased.
    referred("given_name", "Given name", false),
    referred("family_name", "Family name", false),
    referred("date_of_birth", "Date of birth", false),
    referred("nhs_number", "NHS number", true),
    referred("ni_number", "National Insurance number", true),
    referred("postcode", "Postcode", true),
    referred("phone", "Phone", true),
    referred("email", "Email", true),
    FieldSpec {
        kind: ValueKind::Text(300),
        ..referred("address", "Address", false)
    },
    FieldSpec {
        classification: Classification::ThirdParty,
        provided_by_person: false,
        kind: ValueKind::Line(200),
        ..referred("referrer_name", "Referrer's name", false)
    },
    FieldSpec {
        classification: Classification::ThirdParty,
        provided_by_person: false,
        kind: ValueKind::Line(200),
        ..referred("referrer_organisation", "Referrer's organisation", false)
    },
    FieldSpec {
        classification: Classification::ThirdParty,
        provided_by_person: false,
        kind: ValueKind::Line(200),
        ..referred("referrer_contact", "Referrer's phone or email", false)
    },
    FieldSpec {
        provided_by_person: false,
        kind: ValueKind::Text(4000),
        ..referred("reason", "Reason for referral", false)
    },
    // Case notes and contacts, sealed with the person's key.
    sealed_text(RecordKind::Note, "body", "Note", 20_000, CASE_RECORD),
    FieldSpec {
        classification: Classification::ThirdParty,
        ..sealed_text(
            RecordKind::Note,
            "supplied_by",
            "Supplied by",
            200,
            CASE_RECORD,
        )
    },
    // Support plans, goals and progress.
    sealed_text(RecordKind::Plan, "title", "Plan", 200, CASE_RECORD),
    sealed_text(RecordKind::Plan, "summary", "Summary", 4000, CASE_RECORD),
    sealed_text(RecordKind::Goal, "title", "Goal", 300, CASE_RECORD),
    sealed_text(RecordKind::Goal, "progress", "Progress", 4000, CASE_RECORD),
    // Appointments.
    sealed_text(RecordKind::Appointment, "title", "What", 200, CASE_RECORD),
    sealed_text(RecordKind::Appointment, "place", "Where", 300, CASE_RECORD),
    // Paper notes awaiting transcription and destruction; archived paper files.
    sealed_text(
        RecordKind::PaperNote,
        "description",
        "What the paper holds",
        500,
        PAPER_RECORD,
    ),
    sealed_text(
        RecordKind::PaperFile,
        "description",
        "What the file holds",
        500,
        PAPER_RECORD,
    ),
    sealed_text(
        RecordKind::PaperFile,
        "location",
        "Where it is kept",
        300,
        PAPER_RECORD,
    ),
    // Documents: the original file name (the content is sealed whole, beside it). One line: a
    // name with a line break or another control character is refused.
    FieldSpec {
        kind: ValueKind::Line(255),
        ..sealed_text(
            RecordKind::Document,
            "file_name",
            "File name",
            255,
            CASE_RECORD,
        )
    },
    sealed_text(
        RecordKind::Document,
        "description",
        "Description",
        500,
        CASE_RECORD,
    ),
];

/// The declaration of a record field, if the catalogue has it.
pub fn record_field(record: RecordKind, code: &str) -> Option<&'static FieldSpec> {
    RECORD_FIELDS
        .iter()
        .find(|f| f.record == record && f.code == code)
}

/// The fields of one kind of record, in catalogue order.
pub fn record_fields(record: RecordKind) -> impl Iterator<Item = &'static FieldSpec> {
    RECORD_FIELDS.iter().filter(move |f| f.record == record)
}

/// The whole catalogue: a person's fields, then every other record's.
pub fn catalogue() -> Vec<FieldSpec> {
    PersonField::ALL
        .iter()
        .map(|f| f.spec())
        .chain(RECORD_FIELDS.iter().copied())
        .collect()
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

    /// The HMAC domain: separates indexes so equal values in two fields do not match. A referral's
    /// identifiers are indexed in the same domains, so a referral finds the people it may duplicate.
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
