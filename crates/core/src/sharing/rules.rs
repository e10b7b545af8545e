//! The sharing rules: what each says, the facts they read, and every rule a request breaks, each
//! named by its true cause (a withdrawn consent is not "no consent", an agreement that ended is
//! not one never signed).

use super::*;

codes!(
    /// A sharing rule a request can break. Codes are stable (API, audit, tests).
    #[derive(PartialOrd, Ord)]
    Rule {
        NoConsentPurpose = "no_consent_purpose_for_recipient",
        ConsentNotRecorded = "consent_not_recorded",
        ConsentRefused = "consent_refused",
        ConsentWithdrawn = "consent_withdrawn",
        ConsentExpired = "consent_expired",
        ConsentOnEarlierForm = "consent_on_earlier_form",
        ExplicitConsentNeeded = "explicit_consent_needed",
        SpecialCategoryNeedsArticle9 = "special_category_needs_article9",
        PublicInterestNeedsPart2 = "public_interest_needs_part2",
        CriminalOffenceNeedsSchedule1 = "criminal_offence_needs_schedule1",
        BeyondRecipientCategories = "beyond_recipient_categories",
        CategoryNotInRegister = "category_not_in_register",
        BasisNotForRecipient = "basis_not_for_recipient",
        RecordRestricted = "record_restricted",
        ObjectionUpheld = "objection_upheld",
        OutsideUkNeedsExplicitConsent = "outside_uk_needs_explicit_consent",
        RecipientNeedsConsent = "recipient_needs_consent",
        SafeContactNeverLeaves = "safe_contact_never_leaves",
        RecipientBarredForRecord = "recipient_barred_for_this_record",
        FlaggedNoteNeverLeaves = "flagged_note_never_leaves",
        ProcessorAgreementNotInForce = "processor_agreement_not_in_force",
        ProcessorAgreementEnded = "processor_agreement_ended",
        RecipientRetired = "recipient_retired",
        NotForThisService = "not_for_this_service",
        ConditionNotInRegister = "condition_not_in_register",
    }
);

impl Rule {
    /// The code this cause was reported under before causes were told apart (December 2026),
    /// kept beside the new code in the API for a deprecation period, for clients that match it.
    pub fn earlier_code(self) -> Option<&'static str> {
        match self {
            Rule::NoConsentPurpose
            | Rule::ConsentNotRecorded
            | Rule::ConsentRefused
            | Rule::ConsentWithdrawn
            | Rule::ConsentExpired
            | Rule::ConsentOnEarlierForm => Some("no_live_consent"),
            Rule::CategoryNotInRegister => Some("beyond_recipient_categories"),
            Rule::ProcessorAgreementEnded => Some("processor_agreement_not_in_force"),
            _ => None,
        }
    }

    /// What the rule says, for the person sharing.
    pub fn explanation(self) -> &'static str {
        match self {
            Rule::NoConsentPurpose => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but no purpose of this service's consent form covers this recipient, so the person cannot have consented to it."
            }
            Rule::ConsentNotRecorded => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but no decision of the person on this consent purpose is recorded: ask them and record their answer first."
            }
            Rule::ConsentRefused => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but the person refused consent to this purpose."
            }
            Rule::ConsentWithdrawn => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but the person withdrew their consent to this purpose."
            }
            Rule::ConsentExpired => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but the person's consent to this purpose has expired: ask them again."
            }
            Rule::ConsentOnEarlierForm => {
                "Consent is relied on (as the lawful basis or as the Article 9 condition), but the person consented on an earlier version of the consent form: the wording or the recipients have changed since, so ask them again."
            }
            Rule::ExplicitConsentNeeded => {
                "The Article 9 condition is explicit consent, but the person's consent to this purpose is not explicit consent: special category data such as health needs explicit consent under this condition, or another Article 9 condition."
            }
            Rule::SpecialCategoryNeedsArticle9 => {
                "Special category data (health, ethnicity, religion, sexual orientation and so on, and case notes) needs an Article 9 condition."
            }
            Rule::PublicInterestNeedsPart2 => {
                "Substantial public interest (Art. 9(2)(g)) needs a Schedule 1 Part 2 condition."
            }
            Rule::CriminalOffenceNeedsSchedule1 => {
                "Criminal offence data needs a DPA 2018 Schedule 1 condition."
            }
            Rule::BeyondRecipientCategories => {
                "Some data is outside what this recipient may receive: it needs a justification approved by a second person."
            }
            Rule::CategoryNotInRegister => {
                "Some data is of a category the register of processing activities does not let this service send this recipient: it cannot be sent, approval or not."
            }
            Rule::BasisNotForRecipient => {
                "This recipient may not receive data under this lawful basis."
            }
            Rule::RecordRestricted => {
                "Processing of this record is restricted: only storage, unless a permitted ground is recorded with its reason and approved by the Data Protection Officer or Caldicott Guardian."
            }
            Rule::ObjectionUpheld => {
                "The person's objection is upheld: nothing on legitimate interests or public task, unless compelling grounds or legal claims are recorded with their reason and approved by the Data Protection Officer or Caldicott Guardian."
            }
            Rule::OutsideUkNeedsExplicitConsent => {
                "The recipient is outside the UK: the person's explicit consent is needed."
            }
            Rule::RecipientNeedsConsent => {
                "This recipient needs the person's consent, and none is live (never asked, refused, withdrawn, expired or on an earlier form: their consent page says which); without it, record why the information is shared without consent."
            }
            Rule::SafeContactNeverLeaves => {
                "A victim's safe contact details never leave the record."
            }
            Rule::RecipientBarredForRecord => {
                "Nothing from this record may go to this recipient. Ask the Data Protection Officer or the Caldicott Guardian."
            }
            Rule::FlaggedNoteNeverLeaves => {
                "A note flagged as identifying a complainant or as could cause serious harm never leaves in a share."
            }
            Rule::ProcessorAgreementNotInForce => {
                "The processor's data processing agreement is not in force: none is recorded, or it has not started."
            }
            Rule::ProcessorAgreementEnded => "The processor's data processing agreement has ended.",
            Rule::RecipientRetired => "The recipient has been retired from the register.",
            Rule::NotForThisService => {
                "The register of processing activities names no activity of this service that shares with this recipient."
            }
            Rule::ConditionNotInRegister => {
                "The Article 9 or Schedule 1 condition is not one the register gives this sharing."
            }
        }
    }

    /// What the person sharing may put right in the last step (a reason, not a different share).
    pub fn fixed_by_a_reason(self) -> bool {
        self == Rule::RecipientNeedsConsent
    }
}

/// A broken rule, with the day that explains it where one does (when consent was withdrawn,
/// refused or given on the earlier form, when it expired, when an agreement ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub rule: Rule,
    pub on: Option<OffsetDateTime>,
}

impl Refusal {
    /// The rule's explanation, with its day in UK time.
    pub fn explanation(&self) -> String {
        let text = self.rule.explanation();
        let Some(on) = self.on else {
            return text.to_owned();
        };
        let day = crate::uk_time::date_text(on);
        let when = match self.rule {
            Rule::ConsentRefused => format!("Refused on {day}."),
            Rule::ConsentWithdrawn => format!("Withdrawn on {day}."),
            Rule::ConsentExpired => format!("Expired on {day}."),
            Rule::ConsentOnEarlierForm => format!("Given on {day}."),
            Rule::ProcessorAgreementEnded => format!("It ended on {day}."),
            _ => return text.to_owned(),
        };
        format!("{text} {when}")
    }
}

/// What the person's consent to the share's consent purpose is, for naming why it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum ConsentFinding {
    /// No live purpose of the service's consent form covers the recipient.
    #[default]
    NoPurpose,
    NotRecorded,
    /// The latest decision, with when it was recorded (or, for an expiry, when it expired).
    Refused(i64),
    Withdrawn(i64),
    Expired(i64),
    EarlierForm(i64),
    Live {
        explicit: bool,
    },
}

impl ConsentFinding {
    /// The latest decision on a purpose, as found at `now`.
    pub(super) fn of(
        line: Option<&ConsentPurposeRecord>,
        latest: Option<&ConsentRecord>,
        now: i64,
    ) -> Self {
        let Some(line) = line.filter(|l| l.retired_at_micros.is_none()) else {
            return ConsentFinding::NoPurpose;
        };
        let Some(c) = latest else {
            return ConsentFinding::NotRecorded;
        };
        match c.state {
            ConsentState::Refused => ConsentFinding::Refused(c.recorded_at_micros),
            ConsentState::Withdrawn => ConsentFinding::Withdrawn(c.recorded_at_micros),
            ConsentState::Granted if c.form_version != line.form_version => {
                ConsentFinding::EarlierForm(c.recorded_at_micros)
            }
            ConsentState::Granted => match c.expires_at_micros {
                Some(e) if e <= now => ConsentFinding::Expired(e),
                _ => ConsentFinding::Live {
                    explicit: line.explicit,
                },
            },
        }
    }

    pub(super) fn live(self) -> bool {
        matches!(self, ConsentFinding::Live { .. })
    }

    pub(super) fn explicit(self) -> bool {
        self == ConsentFinding::Live { explicit: true }
    }

    /// The rule that names why consent does not hold.
    fn rule(self) -> Rule {
        match self {
            ConsentFinding::NoPurpose => Rule::NoConsentPurpose,
            ConsentFinding::NotRecorded | ConsentFinding::Live { .. } => Rule::ConsentNotRecorded,
            ConsentFinding::Refused(_) => Rule::ConsentRefused,
            ConsentFinding::Withdrawn(_) => Rule::ConsentWithdrawn,
            ConsentFinding::Expired(_) => Rule::ConsentExpired,
            ConsentFinding::EarlierForm(_) => Rule::ConsentOnEarlierForm,
        }
    }

    fn day(self) -> Option<i64> {
        match self {
            ConsentFinding::Refused(t)
            | ConsentFinding::Withdrawn(t)
            | ConsentFinding::Expired(t)
            | ConsentFinding::EarlierForm(t) => Some(t),
            _ => None,
        }
    }
}

/// Every rule the request breaks, in a stable order.
pub(super) fn evaluate(p: &Parsed, facts: &Facts) -> Vec<Rule> {
    let mut broken = BTreeSet::new();
    let r = &p.recipient;
    let cats = categories_of(&p.fields, facts.with_entries);
    if r.retired_at_micros.is_some_and(|t| t <= facts.now) {
        broken.insert(Rule::RecipientRetired);
    }
    let bases = facts.route.as_ref().map_or(&r.bases, |route| &route.bases);
    if !bases.contains(&p.basis) {
        broken.insert(Rule::BasisNotForRecipient);
    }
    if let Some(route) = &facts.route {
        if !route.named {
            broken.insert(Rule::NotForThisService);
        }
        let outside = p
            .article9
            .is_some_and(|c| !route.article9.contains(c.code()))
            || p.schedule1
                .is_some_and(|c| !route.schedule1.contains(c.code()));
        if outside {
            broken.insert(Rule::ConditionNotInRegister);
        }
    }
    let explicit_condition = p.article9 == Some(Article9Condition::ExplicitConsent);
    let consent_based = p.basis == LawfulBasis::Consent || explicit_condition;
    if consent_based && !facts.consent.live() {
        broken.insert(facts.consent.rule());
    }
    if explicit_condition && facts.consent.live() && !facts.consent.explicit() {
        broken.insert(Rule::ExplicitConsentNeeded);
    }
    let special = facts.with_entries
        || p.fields
            .iter()
            .any(|f| matches!(f.spec().classification, Classification::SpecialCategory(_)));
    if special && p.article9.is_none() {
        broken.insert(Rule::SpecialCategoryNeedsArticle9);
    }
    if p.article9 == Some(Article9Condition::SubstantialPublicInterest)
        && !p.schedule1.is_some_and(Schedule1Condition::is_part2)
    {
        broken.insert(Rule::PublicInterestNeedsPart2);
    }
    let criminal = p
        .fields
        .iter()
        .any(|f| f.spec().classification == Classification::CriminalOffence);
    if criminal && p.schedule1.is_none() {
        broken.insert(Rule::CriminalOffenceNeedsSchedule1);
    }
    // Under a register, nothing goes beyond what it gives, approval or not (an approval still
    // grounds sharing despite a restriction or objection).
    match &facts.route {
        Some(route) => {
            if cats.iter().any(|c| !route.categories.contains(c)) {
                broken.insert(Rule::CategoryNotInRegister);
            }
        }
        None => {
            if cats
                .iter()
                .filter(|c| !r.categories.contains(*c))
                .any(|c| !facts.approved_categories.contains(c))
            {
                broken.insert(Rule::BeyondRecipientCategories);
            }
        }
    }
    if facts.restricted {
        let permitted = match p.ground {
            Some(OverrideGround::Consent) => facts.consent.live(),
            Some(
                OverrideGround::LegalClaims
                | OverrideGround::ProtectAnotherPerson
                | OverrideGround::ImportantPublicInterest,
            ) => true,
            _ => false,
        };
        if !(permitted && facts.override_approved) {
            broken.insert(Rule::RecordRestricted);
        }
    }
    if facts.objection
        && matches!(
            p.basis,
            LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
        )
        && !(matches!(
            p.ground,
            Some(OverrideGround::CompellingGrounds | OverrideGround::LegalClaims)
        ) && facts.override_approved)
    {
        broken.insert(Rule::ObjectionUpheld);
    }
    if r.outside_uk && !facts.consent.explicit() {
        broken.insert(Rule::OutsideUkNeedsExplicitConsent);
    }
    if r.consent_required
        && !facts.consent.live()
        && p.basis != LawfulBasis::Consent
        && !p.texts.contains_key("without_consent_reason")
    {
        broken.insert(Rule::RecipientNeedsConsent);
    }
    if p.fields.iter().any(|f| !f.spec().may_leave) {
        broken.insert(Rule::SafeContactNeverLeaves);
    }
    if facts.perpetrator_in_recipient {
        broken.insert(Rule::RecipientBarredForRecord);
    }
    if facts.flagged_selected {
        broken.insert(Rule::FlaggedNoteNeverLeaves);
    }
    if r.kind == RecipientKind::Processor {
        match (r.dpa_starts_at_micros, r.dpa_ends_at_micros) {
            (Some(s), Some(e)) if s <= facts.now && e > facts.now => {}
            (Some(s), Some(e)) if s <= facts.now && e <= facts.now => {
                broken.insert(Rule::ProcessorAgreementEnded);
            }
            _ => {
                broken.insert(Rule::ProcessorAgreementNotInForce);
            }
        }
    }
    broken.into_iter().collect()
}

/// The broken rules with the days that explain them.
pub(super) fn refusals(broken: &[Rule], p: &Parsed, facts: &Facts) -> Vec<Refusal> {
    broken
        .iter()
        .map(|&rule| {
            let day = match rule {
                Rule::ConsentRefused
                | Rule::ConsentWithdrawn
                | Rule::ConsentExpired
                | Rule::ConsentOnEarlierForm => facts.consent.day(),
                Rule::ProcessorAgreementEnded => p.recipient.dpa_ends_at_micros,
                _ => None,
            };
            Refusal {
                rule,
                on: day.map(from_micros),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(kind: RecipientKind) -> RecipientRecord {
        RecipientRecord {
            code: None,
            id: Uuid::nil(),
            organisation_id: Uuid::nil(),
            name: "GP".to_owned(),
            kind,
            outside_uk: false,
            categories: vec!["identity".to_owned(), "health".to_owned()],
            bases: vec![LawfulBasis::Consent, LawfulBasis::VitalInterests],
            consent_required: false,
            partner_service_id: None,
            dpa_starts_at_micros: None,
            dpa_ends_at_micros: None,
            secure_email: None,
            created_by: String::new(),
            updated_at_micros: 0,
            retired_at_micros: None,
        }
    }

    fn parsed(fields: &[PersonField], basis: LawfulBasis) -> Parsed {
        Parsed {
            consent_purpose_id: None,
            recipient: recipient(RecipientKind::Health),
            fields: fields.to_vec(),
            entries: EntrySelection::None,
            basis,
            article9: None,
            schedule1: None,
            ground: None,
            texts: BTreeMap::new(),
            person_told: true,
            processor: None,
        }
    }

    fn facts() -> Facts {
        Facts {
            consent_purpose_id: None,
            route: None,
            now: 1,
            consent: ConsentFinding::Live { explicit: false },
            restricted: false,
            objection: false,
            approved_categories: BTreeSet::new(),
            override_approved: false,
            perpetrator_in_recipient: false,
            flagged_selected: false,
            with_entries: false,
            state: SharingState::default(),
        }
    }

    #[test]
    fn every_broken_rule_is_named_once_and_in_order() {
        let mut p = parsed(
            &[
                PersonField::MentalHealth,
                PersonField::SafePhone,
                PersonField::Convictions,
            ],
            LawfulBasis::Consent,
        );
        p.recipient.outside_uk = true;
        let mut f = facts();
        f.consent = ConsentFinding::NotRecorded;
        let broken = evaluate(&p, &f);
        assert_eq!(
            broken,
            vec![
                Rule::ConsentNotRecorded,
                Rule::SpecialCategoryNeedsArticle9,
                Rule::CriminalOffenceNeedsSchedule1,
                Rule::BeyondRecipientCategories,
                Rule::OutsideUkNeedsExplicitConsent,
                Rule::SafeContactNeverLeaves,
            ]
        );
    }

    #[test]
    fn a_clean_share_breaks_nothing() {
        let mut p = parsed(
            &[PersonField::GivenName, PersonField::MentalHealth],
            LawfulBasis::Consent,
        );
        p.article9 = Some(Article9Condition::HealthSocialCare);
        assert!(evaluate(&p, &facts()).is_empty());
    }

    #[test]
    fn case_notes_count_as_special_category() {
        let p = parsed(&[], LawfulBasis::Consent);
        let mut f = facts();
        f.with_entries = true;
        let broken = evaluate(&p, &f);
        assert!(broken.contains(&Rule::SpecialCategoryNeedsArticle9));
        assert!(broken.contains(&Rule::BeyondRecipientCategories));
    }

    fn purpose(explicit: bool) -> ConsentPurposeRecord {
        ConsentPurposeRecord {
            id: Uuid::nil(),
            service_id: Uuid::nil(),
            code: "gp".to_owned(),
            label: "GP".to_owned(),
            recipient_ids: vec![Uuid::nil()],
            explicit,
            form_version: "2".to_owned(),
            created_at_micros: 0,
            retired_at_micros: None,
        }
    }

    fn decision(state: ConsentState, version: &str, expires: Option<i64>) -> ConsentRecord {
        ConsentRecord {
            id: Uuid::nil(),
            person_id: Uuid::nil(),
            purpose_id: Uuid::nil(),
            state,
            form_version: version.to_owned(),
            recorded_by: String::new(),
            recorded_at_micros: 1_000,
            expires_at_micros: expires,
        }
    }

    /// The rules a consent-based share of a name breaks, given what was found of the consent.
    fn consent_refusals(finding: ConsentFinding) -> Vec<Refusal> {
        let p = parsed(&[PersonField::GivenName], LawfulBasis::Consent);
        let mut f = facts();
        f.consent = finding;
        let broken = evaluate(&p, &f);
        refusals(&broken, &p, &f)
    }

    #[test]
    fn each_consent_cause_is_named_for_what_it_is() {
        let now = 5_000;
        let line = purpose(false);
        let cases = [
            (None, None, Rule::NoConsentPurpose, None),
            (Some(&line), None, Rule::ConsentNotRecorded, None),
            (
                Some(&line),
                Some(decision(ConsentState::Refused, "2", None)),
                Rule::ConsentRefused,
                Some(1_000),
            ),
            (
                Some(&line),
                Some(decision(ConsentState::Withdrawn, "2", None)),
                Rule::ConsentWithdrawn,
                Some(1_000),
            ),
            (
                Some(&line),
                Some(decision(ConsentState::Granted, "2", Some(4_000))),
                Rule::ConsentExpired,
                Some(4_000),
            ),
            (
                Some(&line),
                Some(decision(ConsentState::Granted, "1", None)),
                Rule::ConsentOnEarlierForm,
                Some(1_000),
            ),
        ];
        for (line, latest, rule, day) in cases {
            let finding = ConsentFinding::of(line, latest.as_ref(), now);
            assert_eq!(
                consent_refusals(finding),
                vec![Refusal {
                    rule,
                    on: day.map(from_micros)
                }],
                "{rule:?}"
            );
        }
        let mut retired = purpose(false);
        retired.retired_at_micros = Some(1);
        let granted = decision(ConsentState::Granted, "2", Some(9_000));
        assert_eq!(
            ConsentFinding::of(Some(&retired), Some(&granted), now),
            ConsentFinding::NoPurpose
        );
        assert!(ConsentFinding::of(Some(&line), Some(&granted), now).live());
    }

    #[test]
    fn a_withdrawal_says_the_uk_day_it_happened() {
        // 31 March 2026 23:30 UTC is 1 April 00:30 BST.
        let t = time::macros::datetime!(2026-03-31 23:30 UTC);
        let r = Refusal {
            rule: Rule::ConsentWithdrawn,
            on: Some(t),
        };
        assert!(
            r.explanation().ends_with("Withdrawn on 1 April 2026."),
            "{}",
            r.explanation()
        );
        assert!(!r.explanation().contains("no live consent"));
    }

    #[test]
    fn explicit_consent_is_named_when_consent_is_live_but_not_explicit() {
        let mut p = parsed(&[PersonField::MentalHealth], LawfulBasis::Consent);
        p.article9 = Some(Article9Condition::ExplicitConsent);
        assert_eq!(evaluate(&p, &facts()), vec![Rule::ExplicitConsentNeeded]);
        let mut f = facts();
        f.consent = ConsentFinding::Live { explicit: true };
        assert!(evaluate(&p, &f).is_empty());
        // Not given at all: the cause is that, not the explicitness.
        f.consent = ConsentFinding::NotRecorded;
        assert_eq!(evaluate(&p, &f), vec![Rule::ConsentNotRecorded]);
    }

    #[test]
    fn restriction_and_objection_are_named_apart() {
        let p = parsed(&[PersonField::GivenName], LawfulBasis::LegitimateInterests);
        let mut p = p;
        p.recipient.bases.push(LawfulBasis::LegitimateInterests);
        let mut f = facts();
        f.restricted = true;
        assert_eq!(evaluate(&p, &f), vec![Rule::RecordRestricted]);
        let mut f = facts();
        f.objection = true;
        assert_eq!(evaluate(&p, &f), vec![Rule::ObjectionUpheld]);
    }

    #[test]
    fn an_ended_agreement_is_not_a_missing_one() {
        let mut p = parsed(&[PersonField::GivenName], LawfulBasis::Consent);
        p.recipient.kind = RecipientKind::Processor;
        let mut f = facts();
        f.now = 100;
        assert_eq!(evaluate(&p, &f), vec![Rule::ProcessorAgreementNotInForce]);
        p.recipient.dpa_starts_at_micros = Some(10);
        p.recipient.dpa_ends_at_micros = Some(50);
        let broken = evaluate(&p, &f);
        assert_eq!(broken, vec![Rule::ProcessorAgreementEnded]);
        assert_eq!(refusals(&broken, &p, &f)[0].on, Some(from_micros(50)));
        p.recipient.dpa_starts_at_micros = Some(200);
        p.recipient.dpa_ends_at_micros = Some(300);
        assert_eq!(evaluate(&p, &f), vec![Rule::ProcessorAgreementNotInForce]);
    }

    #[test]
    fn a_category_the_register_does_not_give_is_named_apart_from_one_needing_approval() {
        let p = parsed(&[PersonField::Convictions], LawfulBasis::Consent);
        let mut f = facts();
        let broken = evaluate(&p, &f);
        assert!(broken.contains(&Rule::BeyondRecipientCategories));
        assert!(!broken.contains(&Rule::CategoryNotInRegister));
        f.route = Some(Route {
            named: true,
            bases: vec![LawfulBasis::Consent],
            ..Route::default()
        });
        let broken = evaluate(&p, &f);
        assert!(broken.contains(&Rule::CategoryNotInRegister));
        assert!(!broken.contains(&Rule::BeyondRecipientCategories));
    }
}
