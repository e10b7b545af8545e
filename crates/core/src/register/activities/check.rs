//! The rules a register is checked against as a whole (R12): unique ids, references that resolve,
//! and each activity's lawful basis and conditions for the field groups its services collect. Every
//! fault is collected with its line, none stops the check.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::field::{Classification, FieldGroup, PersonField};
use crate::store::{Article9Condition, LawfulBasis, RecipientKind, Schedule1Condition};

use super::{Activity, Organisation, RawRegister, RegisterError};

/// The field groups holding special category data, and criminal offence data.
fn groups_of(pred: impl Fn(Classification) -> bool) -> BTreeSet<FieldGroup> {
    PersonField::ALL
        .iter()
        .filter(|f| pred(f.spec().classification))
        .map(|f| f.spec().group)
        .collect()
}

fn special_groups() -> BTreeSet<FieldGroup> {
    groups_of(|c| matches!(c, Classification::SpecialCategory(_)))
}

fn criminal_groups() -> BTreeSet<FieldGroup> {
    groups_of(|c| c == Classification::CriminalOffence)
}

fn date_of(s: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &format).ok()
}

fn date_ok(s: &str) -> bool {
    date_of(s).is_some()
}

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

pub(super) struct Faults<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) list: Vec<RegisterError>,
}

impl Faults<'_> {
    pub(super) fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.list.push(RegisterError {
            file: self.file.to_owned(),
            line: line_of(self.text, span.start),
            message: message.into(),
        });
    }
}

fn unique<'a>(
    f: &mut Faults<'_>,
    what: &str,
    items: impl Iterator<Item = (&'a str, Range<usize>)>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (id, span) in items {
        if id.trim().is_empty() {
            f.at(&span, format!("a {what} has no id"));
        } else if !seen.insert(id.to_owned()) {
            f.at(&span, format!("{what} `{id}` is declared twice"));
        }
    }
    seen
}

pub(super) fn check(raw: &RawRegister, f: &mut Faults<'_>) {
    let org = raw.organisation.get_ref();
    let org_span = raw.organisation.span();
    if !is_code(&org.id) {
        f.at(
            &org_span,
            "organisation: `id` must be a code of 1 to 40 lower-case letters, digits, `-` and `_` (Confidant finds the organisation by it)",
        );
    }
    if !date_ok(&org.reviewed_on) {
        f.at(
            &org_span,
            "organisation: `reviewed_on` must be a date (YYYY-MM-DD)",
        );
    }
    if org.key_backup_days.is_some_and(|d| !(1..=366).contains(&d)) {
        f.at(
            &org_span,
            "organisation: `key_backup_days` must be from 1 to 366 (how long key store backups are kept)",
        );
    }
    for (what, value) in [
        ("controller", &org.controller),
        ("registration_number", &org.registration_number),
        ("address", &org.address),
        ("email", &org.email),
        ("complaints", &org.complaints),
        ("regulator", &org.regulator),
    ] {
        if value.trim().is_empty() {
            f.at(&org_span, format!("organisation: `{what}` is empty"));
        }
    }
    check_contacts(org, &org_span, f);
    let docs = unique(
        f,
        "policy document",
        raw.policy_document
            .iter()
            .map(|d| (d.get_ref().id.as_str(), d.span())),
    );
    let rules = unique(
        f,
        "retention rule",
        raw.retention
            .iter()
            .map(|r| (r.get_ref().id.as_str(), r.span())),
    );
    let recipients = unique(
        f,
        "recipient",
        raw.recipient
            .iter()
            .map(|r| (r.get_ref().id.as_str(), r.span())),
    );
    let processors = unique(
        f,
        "processor",
        raw.processor
            .iter()
            .map(|p| (p.get_ref().id.as_str(), p.span())),
    );
    let services = unique(
        f,
        "service",
        raw.service
            .iter()
            .map(|s| (s.get_ref().id.as_str(), s.span())),
    );
    unique(
        f,
        "activity",
        raw.activity
            .iter()
            .map(|a| (a.get_ref().id.as_str(), a.span())),
    );
    let purposes = unique(
        f,
        "consent purpose",
        raw.consent_purpose
            .iter()
            .map(|p| (p.get_ref().id.as_str(), p.span())),
    );
    check_parties(raw, f, &services);
    unique(
        f,
        "trustee matter",
        raw.trustee_matter
            .iter()
            .map(|m| (m.get_ref().id.as_str(), m.span())),
    );
    for m in &raw.trustee_matter {
        let matter = m.get_ref();
        if matter.label.trim().is_empty() {
            f.at(
                &m.span(),
                format!("trustee matter `{}`: `label` is empty", matter.id),
            );
        }
        if matter.parts.is_empty() {
            f.at(
                &m.span(),
                format!(
                    "trustee matter `{}`: names no `parts` of a record",
                    matter.id
                ),
            );
        }
        for part in &matter.parts {
            if crate::record::trustee::MatterPart::from_code(part).is_none() {
                f.at(
                    &m.span(),
                    format!(
                        "trustee matter `{}`: `{part}` is not a part of a record (a field group, or note, plan, goal, appointment)",
                        matter.id
                    ),
                );
            }
        }
        if !(1..=366).contains(&matter.max_days) {
            f.at(
                &m.span(),
                format!(
                    "trustee matter `{}`: `max_days` must be 1 to 366",
                    matter.id
                ),
            );
        }
    }
    for p in &raw.consent_purpose {
        let line = p.get_ref();
        if line.label.trim().is_empty() || line.form_version.trim().is_empty() {
            f.at(
                &p.span(),
                format!(
                    "consent purpose `{}`: `label` and `form_version` must not be empty",
                    line.id
                ),
            );
        }
        if !raw
            .activity
            .iter()
            .any(|a| a.get_ref().consent_purpose.as_deref() == Some(line.id.as_str()))
        {
            f.at(
                &p.span(),
                format!(
                    "consent purpose `{}`: no activity asks for it (`consent_purpose`)",
                    line.id
                ),
            );
        }
    }
    for s in &raw.service {
        let svc = s.get_ref();
        if svc.respond_within_days == 0 || svc.respond_within_days > 30 {
            f.at(
                &s.span(),
                format!(
                    "service `{}`: `respond_within_days` must be 1 to 30 (the law allows one month at most)",
                    svc.id
                ),
            );
        }
        if let Some(division) = &svc.bank_holidays
            && crate::rights::Division::from_code(division).is_none()
        {
            f.at(
                &s.span(),
                format!(
                    "service `{}`: `bank_holidays` must be england-and-wales, scotland or northern-ireland",
                    svc.id
                ),
            );
        }
        if crate::store::ReferralPolicy::from_code(&svc.referrals).is_none() {
            f.at(
                &s.span(),
                format!(
                    "service `{}`: `{}` is not a referral policy (anyone, self, professional, partner)",
                    svc.id, svc.referrals
                ),
            );
        }
        let partner_policy = crate::store::ReferralPolicy::from_code(&svc.referrals)
            == Some(crate::store::ReferralPolicy::PartnerOnly);
        match svc.partner.as_deref() {
            None if partner_policy => f.at(
                &s.span(),
                format!(
                    "service `{}`: referrals from a partner only need `partner`: the partner service's id",
                    svc.id
                ),
            ),
            Some(_) if !partner_policy => f.at(
                &s.span(),
                format!(
                    "service `{}`: `partner` is only for `referrals = \"partner\"`",
                    svc.id
                ),
            ),
            Some(p) if p == svc.id || !services.contains(p) => f.at(
                &s.span(),
                format!(
                    "service `{}`: partner `{p}` is not another service of the register",
                    svc.id
                ),
            ),
            _ => {}
        }
        for g in &svc.field_groups {
            if FieldGroup::from_code(g).is_none() {
                f.at(
                    &s.span(),
                    format!("service `{}`: `{g}` is not a field group", svc.id),
                );
            }
        }
    }
    let special = special_groups();
    let criminal = criminal_groups();
    let abroad: BTreeSet<String> = raw
        .recipient
        .iter()
        .map(Spanned::get_ref)
        .filter(|r| r.outside_uk)
        .map(|r| r.id.clone())
        .collect();
    for a in &raw.activity {
        check_activity(
            a.get_ref(),
            &a.span(),
            f,
            &Known {
                abroad: &abroad,
                docs: &docs,
                rules: &rules,
                recipients: &recipients,
                processors: &processors,
                services: &services,
                purposes: &purposes,
            },
            &special,
            &criminal,
        );
    }
    // Coverage: every group a service collects is covered by an activity of that service with a
    // lawful basis, and that activity has the conditions the group's data needs.
    for s in &raw.service {
        let svc = s.get_ref();
        let mut groups: Vec<FieldGroup> = svc
            .field_groups
            .iter()
            .filter_map(|g| FieldGroup::from_code(g))
            .collect();
        groups.insert(0, FieldGroup::Identity);
        for group in groups {
            let covering: Vec<&Activity> = raw
                .activity
                .iter()
                .map(Spanned::get_ref)
                .filter(|a| a.services.iter().any(|x| x == &svc.id))
                .filter(|a| a.categories.iter().any(|c| c == group.code()))
                .collect();
            if covering.is_empty() {
                f.at(
                    &s.span(),
                    format!(
                        "service `{}` collects `{}` but no activity of the service covers it with a lawful basis",
                        svc.id,
                        group.code()
                    ),
                );
            }
        }
    }
}

/// The organisation's contacts: someone to contact about people's information (a Data Protection
/// Officer or a data manager), and no contact detail left blank, since the notice prints each one.
fn check_contacts(org: &Organisation, span: &Range<usize>, f: &mut Faults<'_>) {
    if org.dpo.is_none() && org.data_manager.is_none() {
        f.at(
            span,
            "organisation: name a Data Protection Officer (`[organisation.dpo]`) or a data manager (`[organisation.data_manager]`), or both",
        );
    }
    if org.phone.as_deref().is_some_and(|p| p.trim().is_empty()) {
        f.at(
            span,
            "organisation: `phone` is empty (leave it out if there is none)",
        );
    }
    for (role, contact) in org.contacts() {
        for (what, value) in [("name", &contact.name), ("email", &contact.email)] {
            if value.trim().is_empty() {
                f.at(
                    span,
                    format!("organisation: `{}.{what}` is empty", role.code()),
                );
            }
        }
        for (what, value) in [("address", &contact.address), ("phone", &contact.phone)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                f.at(
                    span,
                    format!(
                        "organisation: `{}.{what}` is empty (leave it out if there is none)",
                        role.code()
                    ),
                );
            }
        }
    }
}

struct Known<'a> {
    /// Recipients outside the UK.
    abroad: &'a BTreeSet<String>,
    docs: &'a BTreeSet<String>,
    rules: &'a BTreeSet<String>,
    recipients: &'a BTreeSet<String>,
    processors: &'a BTreeSet<String>,
    services: &'a BTreeSet<String>,
    purposes: &'a BTreeSet<String>,
}

/// A code as the register's ids are written.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Recipients and processors: kinds, a partner service's service, agreement dates.
fn check_parties(raw: &RawRegister, f: &mut Faults<'_>, services: &BTreeSet<String>) {
    for r in &raw.recipient {
        let rec = r.get_ref();
        let kind = RecipientKind::from_code(&rec.kind);
        match kind {
            None => f.at(
                &r.span(),
                format!(
                    "recipient `{}`: `{}` is not a recipient kind",
                    rec.id, rec.kind
                ),
            ),
            Some(RecipientKind::Processor) => f.at(
                &r.span(),
                format!(
                    "recipient `{}`: a processor is declared as `[[processor]]`, with its agreement",
                    rec.id
                ),
            ),
            Some(RecipientKind::DataSubject) => f.at(
                &r.span(),
                format!(
                    "recipient `{}`: the person's own copy is not a recipient of the register",
                    rec.id
                ),
            ),
            _ => {}
        }
        let partner = kind == Some(RecipientKind::PartnerService);
        match rec.service.as_deref() {
            None if partner => f.at(
                &r.span(),
                format!(
                    "recipient `{}`: a partner service names its `service` (an id of this register)",
                    rec.id
                ),
            ),
            Some(_) if !partner => f.at(
                &r.span(),
                format!(
                    "recipient `{}`: `service` is only for a `partner_service`",
                    rec.id
                ),
            ),
            Some(s) if !services.contains(s) => f.at(
                &r.span(),
                format!("recipient `{}`: service `{s}` is not in the register", rec.id),
            ),
            _ => {}
        }
        check_secure_email(
            f,
            &r.span(),
            "recipient",
            &rec.id,
            rec.secure_email.as_deref(),
        );
    }
    for p in &raw.processor {
        let proc = p.get_ref();
        check_secure_email(
            f,
            &p.span(),
            "processor",
            &proc.id,
            proc.secure_email.as_deref(),
        );
        let starts = date_of(&proc.agreement_starts);
        let ends = date_of(&proc.agreement_ends);
        if starts.is_none() || ends.is_none() {
            f.at(
                &p.span(),
                format!(
                    "processor `{}`: `agreement_starts` and `agreement_ends` must be dates (YYYY-MM-DD)",
                    proc.id
                ),
            );
        }
        if let (Some(s), Some(e)) = (starts, ends)
            && e <= s
        {
            f.at(
                &p.span(),
                format!(
                    "processor `{}`: the agreement must end after it starts",
                    proc.id
                ),
            );
        }
    }
}

fn check_activity(
    a: &Activity,
    span: &Range<usize>,
    f: &mut Faults<'_>,
    known: &Known<'_>,
    special: &BTreeSet<FieldGroup>,
    criminal: &BTreeSet<FieldGroup>,
) {
    let name = format!("activity `{}`", a.id);
    let basis = LawfulBasis::from_code(&a.basis).filter(|b| *b != LawfulBasis::SubjectRequest);
    if basis.is_none() {
        f.at(span, format!("{name}: `{}` is not a lawful basis", a.basis));
    }
    if basis == Some(LawfulBasis::LegitimateInterests)
        && a.legitimate_interest
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: legitimate interests needs `legitimate_interest`: the interest"),
        );
    }
    if basis == Some(LawfulBasis::Consent)
        && a.consent_purpose
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: a consent-based activity needs `consent_purpose`"),
        );
    }
    let article9 = a
        .article9
        .as_deref()
        .map(|c| (c, Article9Condition::from_code(c)));
    if let Some((code, None)) = article9 {
        f.at(
            span,
            format!("{name}: `{code}` is not an Article 9 condition"),
        );
    }
    let mut part2 = false;
    let mut schedule1_any = false;
    for c in &a.schedule1 {
        match Schedule1Condition::from_code(c) {
            Some(cond) => {
                schedule1_any = true;
                part2 |= cond.is_part2();
            }
            None => f.at(span, format!("{name}: `{c}` is not a Schedule 1 condition")),
        }
    }
    if let Some(p) = a.consent_purpose.as_deref()
        && !p.trim().is_empty()
        && !known.purposes.contains(p)
    {
        f.at(
            span,
            format!("{name}: consent purpose `{p}` is not in the register (`[[consent_purpose]]`)"),
        );
    }
    if a.categories.is_empty() {
        f.at(
            span,
            format!("{name}: names no data categories (`categories`: field group codes, or `case_notes`)"),
        );
    }
    let mut groups = BTreeSet::new();
    let mut case_notes = false;
    for c in &a.categories {
        match FieldGroup::from_code(c) {
            Some(g) => {
                groups.insert(g);
            }
            None if c == crate::sharing::CASE_NOTES => case_notes = true,
            None => f.at(
                span,
                format!("{name}: `{c}` is not a data category (a field group, or `case_notes`)"),
            ),
        }
    }
    // Case notes routinely hold health and other special category details.
    if (case_notes || groups.iter().any(|g| special.contains(g))) && a.article9.is_none() {
        f.at(
            span,
            format!("{name}: special category data needs an Article 9 condition (`article9`)"),
        );
    }
    if groups.iter().any(|g| criminal.contains(g)) && !schedule1_any {
        f.at(
            span,
            format!("{name}: criminal offence data needs a Schedule 1 condition (`schedule1`)"),
        );
    }
    if matches!(
        article9,
        Some((_, Some(Article9Condition::SubstantialPublicInterest)))
    ) && !part2
    {
        f.at(span, format!("{name}: substantial public interest (Art. 9(2)(g)) needs a Schedule 1 Part 2 condition"));
    }
    // DPA 2018 s.10(2): Art. 9(2)(b), (h), (i) and (j) are met only with their Schedule 1 Part 1
    // condition.
    let part1_needed = match article9 {
        Some((_, Some(Article9Condition::EmploymentSocialProtection))) => {
            Some(Schedule1Condition::Employment)
        }
        Some((_, Some(Article9Condition::HealthSocialCare))) => {
            Some(Schedule1Condition::HealthSocialCare)
        }
        Some((_, Some(Article9Condition::PublicHealth))) => Some(Schedule1Condition::PublicHealth),
        Some((_, Some(Article9Condition::ArchivingResearch))) => Some(Schedule1Condition::Research),
        _ => None,
    };
    if let Some(needed) = part1_needed
        && !a.schedule1.iter().any(|c| c == needed.code())
    {
        f.at(
            span,
            format!(
                "{name}: this Article 9 condition needs its Schedule 1 Part 1 condition `{}` (DPA 2018 s.10(2))",
                needed.code()
            ),
        );
    }
    // Part 2 conditions, and Part 1 para 1 (employment), are met only with an appropriate policy
    // document (DPA 2018 Sch. 1 paras 1(1)(b) and 5).
    let employment = a
        .schedule1
        .iter()
        .any(|c| c == Schedule1Condition::Employment.code());
    if (part2 || employment) && a.policy_document.is_none() {
        f.at(
            span,
            format!(
                "{name}: this Schedule 1 condition needs an appropriate policy document (`policy_document`)"
            ),
        );
    }

    if let Some(d) = a.policy_document.as_deref()
        && !known.docs.contains(d)
    {
        f.at(
            span,
            format!("{name}: policy document `{d}` is not in the register"),
        );
    }
    let consent_condition = matches!(
        article9,
        Some((_, Some(Article9Condition::ExplicitConsent)))
    ) || a
        .schedule1
        .iter()
        .any(|c| c == Schedule1Condition::Consent.code());
    if consent_condition
        && basis != Some(LawfulBasis::Consent)
        && a.consent_purpose
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: a consent condition needs `consent_purpose`"),
        );
    }
    if a.transfers.is_empty() && a.recipients.iter().any(|r| known.abroad.contains(r)) {
        f.at(span, format!("{name}: a recipient outside the UK needs a transfer with its safeguard (`transfers`)"));
    }
    if a.services.is_empty() {
        f.at(span, format!("{name}: names no service"));
    }
    for s in &a.services {
        if !known.services.contains(s) {
            f.at(
                span,
                format!("{name}: service `{s}` is not in the register"),
            );
        }
    }
    for r in &a.recipients {
        if !known.recipients.contains(r) {
            f.at(
                span,
                format!("{name}: recipient `{r}` is not in the register"),
            );
        }
    }
    for p in &a.processors {
        if !known.processors.contains(p) {
            f.at(
                span,
                format!("{name}: processor `{p}` is not in the register"),
            );
        }
    }
    if !known.rules.contains(&a.retention) {
        f.at(
            span,
            format!(
                "{name}: retention rule `{}` is not in the register",
                a.retention
            ),
        );
    }
    if a.people.is_empty() {
        f.at(span, format!("{name}: names no categories of people"));
    }
    if a.security.is_empty() {
        f.at(span, format!("{name}: names no security measures"));
    }
}

/// A party's `secure_email`, when given, is one email address.
fn check_secure_email(
    f: &mut Faults<'_>,
    span: &Range<usize>,
    what: &str,
    id: &str,
    email: Option<&str>,
) {
    if let Some(e) = email
        && crate::catalogue::identifier::EmailAddress::parse(e).is_err()
    {
        f.at(
            span,
            format!(
                "{what} `{id}`: `secure_email` must be one email address, such as team@example.org"
            ),
        );
    }
}
