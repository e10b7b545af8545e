//! The kinds of record a retention rule is for, and the events that start its clock.

use crate::kernel::codes::{Code, codes};

codes!(
    /// A retention class: the kind of record a rule is for. Every field of the catalogue names
    /// its class ([`FieldSpec::record_type`](crate::field::FieldSpec::record_type)).
    #[derive(PartialOrd, Ord)]
    RecordType {
        /// The case record: a person's details, related people, notes, plans, goals and
        /// appointments.
        CaseRecord = "case_record": "Case records",
        /// A referral that was not accepted (an accepted referral becomes part of the case record).
        Referral = "referral": "Referrals not accepted",
        /// A paper note awaiting transcription into the electronic record.
        PaperNote = "paper_note": "Paper notes awaiting transcription",
        /// An archived paper file (held on the premises or by an archive company).
        ArchivedPaper = "archived_paper": "Archived paper files",
        /// A document uploaded to a person's record.
        Document = "document": "Uploaded documents",
    }
);

impl RecordType {
    /// The class whose rules a record of this class follows where a service has no rule of its
    /// own for it. Documents, paper notes and archived paper files are part of the case record
    /// unless a rule says otherwise: kept as long as the case record, never destroyed sooner by
    /// default. A referral not accepted never became a case record, so it follows nothing: a
    /// service without a `referral` rule has no period for it (nothing falls due, nothing is
    /// destroyed).
    pub fn follows(self) -> Option<RecordType> {
        match self {
            RecordType::Document | RecordType::PaperNote | RecordType::ArchivedPaper => {
                Some(RecordType::CaseRecord)
            }
            RecordType::CaseRecord | RecordType::Referral => None,
        }
    }
}

codes!(
    /// The event that starts a retention period's clock. The label is for staff; the notice uses
    /// [`Trigger::words`].
    #[derive(PartialOrd, Ord)]
    Trigger {
        CaseClosed = "case_closed": "The case is closed",
        LastContact = "last_contact": "The last contact with the person",
        ReferralDeclined = "referral_declined": "The referral is declined",
        ApplicationNotTakenUp = "application_not_taken_up": "An application is not taken up",
        /// The date is the birthday itself (29 February's is 1 March in a common year).
        Birthday18 = "birthday_18": "The person's 18th birthday",
        Birthday25 = "birthday_25": "The person's 25th birthday",
        DeathRecorded = "death_recorded": "The person's death is recorded",
        HoldReleased = "hold_released": "A hold on the records is released",
        /// A paper note's content has been added to the electronic record.
        Transcribed = "transcribed": "The paper note is added to the electronic record",
    }
);

impl Trigger {
    /// The event in the words of a privacy notice, read after "10 years after …" or "at once
    /// after …", speaking to the person.
    pub fn words(self) -> &'static str {
        match self {
            Trigger::CaseClosed => "your case closes",
            Trigger::LastContact => "our last contact with you",
            Trigger::ReferralDeclined => "your referral is declined",
            Trigger::ApplicationNotTakenUp => {
                "we last hear from you about an application you did not take up"
            }
            Trigger::Birthday18 => "your 18th birthday",
            Trigger::Birthday25 => "your 25th birthday",
            Trigger::DeathRecorded => "we record your death",
            Trigger::HoldReleased => "a hold that kept your records for longer is released",
            Trigger::Transcribed => "the note has been added to your electronic record",
        }
    }

    /// For a birthday trigger, the age it is the birthday of.
    pub fn birthday_age(self) -> Option<u8> {
        match self {
            Trigger::Birthday18 => Some(18),
            Trigger::Birthday25 => Some(25),
            _ => None,
        }
    }
}

/// The codes a class takes, for an error that lists them.
pub(crate) fn codes_of<T: Code>() -> String {
    T::ALL
        .iter()
        .map(|v| v.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Serialised as its code (lower snake case), read back only from one of its codes.
macro_rules! serde_by_code {
    ($name:ident, $what:literal) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_code(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{code}` is not {} ({})",
                        $what,
                        codes_of::<$name>()
                    ))
                })
            }
        }
    };
}

serde_by_code!(RecordType, "a record type");
serde_by_code!(Trigger, "a retention trigger");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_serde_as_its_code() {
        for t in RecordType::ALL {
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert_eq!(serde_json::from_str::<RecordType>(&json).ok(), Some(t));
        }
        for t in Trigger::ALL {
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert_eq!(serde_json::from_str::<Trigger>(&json).ok(), Some(t));
        }
        let wrong = serde_json::from_str::<Trigger>("\"case_close\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            wrong.contains("`case_close` is not a retention trigger (case_closed, last_contact"),
            "{wrong}"
        );
    }

    #[test]
    fn the_classes_and_triggers_are_the_ones_the_register_may_name() {
        assert_eq!(
            codes_of::<RecordType>(),
            "case_record, referral, paper_note, archived_paper, document"
        );
        assert_eq!(
            codes_of::<Trigger>(),
            "case_closed, last_contact, referral_declined, application_not_taken_up, birthday_18, birthday_25, death_recorded, hold_released, transcribed"
        );
    }

    #[test]
    fn documents_and_paper_follow_the_case_record_and_a_referral_follows_nothing() {
        assert_eq!(RecordType::Document.follows(), Some(RecordType::CaseRecord));
        assert_eq!(
            RecordType::PaperNote.follows(),
            Some(RecordType::CaseRecord)
        );
        assert_eq!(
            RecordType::ArchivedPaper.follows(),
            Some(RecordType::CaseRecord)
        );
        assert_eq!(RecordType::Referral.follows(), None);
        assert_eq!(RecordType::CaseRecord.follows(), None);
    }

    #[test]
    fn every_trigger_has_words_that_read_after_after_and_only_birthdays_have_an_age() {
        for t in Trigger::ALL {
            let words = t.words();
            assert!(!words.is_empty() && !words.ends_with('.'), "{words}");
            assert_eq!(words, words.trim());
            assert!(
                words.starts_with(|c: char| c.is_lowercase()),
                "{words}: read mid-sentence"
            );
        }
        assert_eq!(Trigger::Birthday18.birthday_age(), Some(18));
        assert_eq!(Trigger::Birthday25.birthday_age(), Some(25));
        assert_eq!(Trigger::CaseClosed.birthday_age(), None);
    }
}
