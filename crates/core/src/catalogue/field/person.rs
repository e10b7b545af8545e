//! The fields of a person's own record ([`PersonField`]), each declared with its classification,
//! group and value kind, and the option lists of the choice fields.

use super::{
    Article9Category, Classification, FieldGroup, FieldSpec, RecordKind, RecordType, ValueKind,
};
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
        record_type: RecordType::CaseRecord,
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
