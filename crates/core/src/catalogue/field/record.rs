//! The fields of every record beside a person's own ([`RECORD_FIELDS`]): related people, referrals,
//! case notes and contacts, plans, goals, appointments, paper records and documents.

use super::{Classification, FieldGroup, FieldSpec, RecordKind, RecordType, ValueKind};
const fn entry(
    record: RecordKind,
    code: &'static str,
    label: &'static str,
    classification: Classification,
    kind: ValueKind,
    record_type: RecordType,
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
        RecordType::CaseRecord,
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
            RecordType::Referral,
        )
    }
}

const fn sealed_text(
    record: RecordKind,
    code: &'static str,
    label: &'static str,
    max: usize,
    record_type: RecordType,
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
/// [`PersonField`](super::PersonField); both together are [`catalogue`](super::catalogue).
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
    sealed_text(
        RecordKind::Note,
        "body",
        "Note",
        20_000,
        RecordType::CaseRecord,
    ),
    FieldSpec {
        classification: Classification::ThirdParty,
        ..sealed_text(
            RecordKind::Note,
            "supplied_by",
            "Supplied by",
            200,
            RecordType::CaseRecord,
        )
    },
    // Support plans, goals and progress.
    sealed_text(
        RecordKind::Plan,
        "title",
        "Plan",
        200,
        RecordType::CaseRecord,
    ),
    sealed_text(
        RecordKind::Plan,
        "summary",
        "Summary",
        4000,
        RecordType::CaseRecord,
    ),
    sealed_text(
        RecordKind::Goal,
        "title",
        "Goal",
        300,
        RecordType::CaseRecord,
    ),
    sealed_text(
        RecordKind::Goal,
        "progress",
        "Progress",
        4000,
        RecordType::CaseRecord,
    ),
    // Appointments.
    sealed_text(
        RecordKind::Appointment,
        "title",
        "What",
        200,
        RecordType::CaseRecord,
    ),
    sealed_text(
        RecordKind::Appointment,
        "place",
        "Where",
        300,
        RecordType::CaseRecord,
    ),
    // Paper notes awaiting transcription and destruction; archived paper files.
    sealed_text(
        RecordKind::PaperNote,
        "description",
        "What the paper holds",
        500,
        RecordType::PaperNote,
    ),
    sealed_text(
        RecordKind::PaperFile,
        "description",
        "What the file holds",
        500,
        RecordType::ArchivedPaper,
    ),
    sealed_text(
        RecordKind::PaperFile,
        "location",
        "Where it is kept",
        300,
        RecordType::ArchivedPaper,
    ),
    // Documents: the original file name (the content is sealed whole, beside it). One line: a
    // name with a line break or another control character is refused. Documents are their own
    // retention class, which follows the case record's rules unless a rule is for documents.
    FieldSpec {
        kind: ValueKind::Line(255),
        ..sealed_text(
            RecordKind::Document,
            "file_name",
            "File name",
            255,
            RecordType::Document,
        )
    },
    sealed_text(
        RecordKind::Document,
        "description",
        "Description",
        500,
        RecordType::Document,
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
