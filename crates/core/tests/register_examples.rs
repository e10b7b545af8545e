//! The example registers in `config/examples/` (F5 point 6): each is valid, each service's
//! generated privacy notice states every promise of the seed document it was modelled on, and a
//! copy of the recovery example with one fault of each kind of F5 point 2 is refused with the
//! file, the line of the offending table and what is wrong.

use std::path::{Path, PathBuf};

use confidant_core::notice::{NO_AUTOMATED_DECISIONS, NOTHING_OUTSIDE_THE_UK, notice};
use confidant_core::register::{Register, RegisterError};
use confidant_core::store::{Article9Condition, LawfulBasis, Schedule1Condition};

const RECOVERY: &str = include_str!("../../../config/examples/recovery.toml");

fn example_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/examples")
        .join(name)
}

fn load(name: &str) -> Register {
    let path = example_path(name);
    Register::load(&path).unwrap_or_else(|e| panic!("{} is not valid:\n{e}", path.display()))
}

/// The notice of one service, as Markdown.
fn markdown(register: &Register, service: &str) -> String {
    notice(register, service)
        .unwrap_or_else(|e| panic!("no notice for `{service}`: {e}"))
        .markdown()
}

/// Every promise must appear, verbatim, in the notice; all missing ones are listed at once.
fn assert_states(markdown: &str, promises: &[String]) {
    let missing: Vec<&String> = promises
        .iter()
        .filter(|p| !markdown.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the notice does not state:\n{}\n\nThe notice:\n{markdown}",
        missing
            .iter()
            .map(|m| format!("  - {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The rights every notice states (UK GDPR Arts. 15-22), and that there is no automated
/// decision-making or profiling (R14).
fn rights(consent_based: bool) -> Vec<String> {
    let mut rights: Vec<String> = [
        "right to be informed",
        "right of access",
        "right to rectification",
        "right to erasure",
        "right to restrict processing",
        "right to object",
        "right to data portability",
        NO_AUTOMATED_DECISIONS,
        "We make no decisions about you by automated means, and do no profiling.",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if consent_based {
        rights.push("right to withdraw consent".to_owned());
    }
    rights
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

// (a) Each example is valid.

#[test]
fn every_example_is_a_valid_register() {
    for (file, services) in [
        ("recovery.toml", &["recovery", "employment"][..]),
        ("care-company.toml", &["home-care"][..]),
        ("domestic-abuse-advocacy.toml", &["idva"][..]),
    ] {
        let register = load(file);
        let ids: Vec<&str> = register.services.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, services, "{file}");
        for s in services {
            // A notice can be made for every service: nothing it must state is missing.
            markdown(&register, s);
        }
    }
}

#[test]
fn the_recovery_example_parses_from_its_text_too() {
    Register::parse(Path::new("recovery.toml"), RECOVERY)
        .unwrap_or_else(|e| panic!("recovery.toml is not valid:\n{e}"));
}

#[test]
fn the_examples_use_no_real_contact_details_of_their_seeds() {
    for file in [
        "recovery.toml",
        "care-company.toml",
        "domestic-abuse-advocacy.toml",
    ] {
        let text = std::fs::read_to_string(example_path(file)).expect("the example is readable");
        let lower = text.to_lowercase();
        for real in [
            "humankind",
            "cumbria",
            "the well",
            "systmone",
            "iron mountain",
            "tori jones",
            "leesa howes",
            "battershall",
            "cambridgeshire",
            "peterborough",
            "01325",
            "0115 9856000",
            "01223",
        ] {
            assert!(!lower.contains(real), "{file} names `{real}` of its seed");
        }
    }
}

// (b) Each notice states every promise of its seed.

#[test]
fn the_recovery_notice_states_every_promise_of_its_seed() {
    let register = load("recovery.toml");
    let md = markdown(&register, "recovery");
    let mut promises = strings(&[
        // Controller, funder and area.
        "Lanternway Recovery Charity is the data controller",
        "We are registered with the Information Commissioner's Office, number ZX481736",
        "funded by Westmoor County Council",
        "in Westmoor",
        "Lanternway Recovery Charity, Unit 4, Beckside Business Park, Kirkby Westmoor WM4 7QT",
        "info@lanternway.example",
        // Contacts: the DPO and the Caldicott Guardian, each with their phone, under their titles.
        "Our Data Protection Officer: Jordan Whitfield, dpo@lanternway.example, phone 01632 960 160",
        "Our Caldicott Guardian, who protects the confidentiality of health and care information: Dr Samira Okafor, caldicott.guardian@lanternway.example, phone 01632 960 160",
        // A month to answer a request, extendable for complex ones.
        "We answer within one calendar month of receiving your request.",
        "we may take up to two further months",
        // The sub-contracted processor, the system supplier, and the two destruction contractors.
        "The Beacon Recovery Community works for us as a data processor: our sub-contractor, which supports people recovering from drug and alcohol addiction through therapy, counselling, peer mentoring, employment training and social activities",
        "Keystone Clinical Systems Ltd works for us as a data processor: supplies and maintains the management information system your record is held on",
        "Shredwell Confidential Waste Ltd works for us as a data processor: destroys our paper records on our premises",
        "Vaultstore Archiving Ltd works for us as a data processor: stores our archived paper records, and destroys them securely on its premises",
        // What is collected, and why.
        "To provide you with our drug and alcohol recovery service.",
        "gender, sex life (specifically relationships), sexual orientation, race and ethnicity and religious beliefs",
        "Health and disability",
        "Equality and diversity",
        "Criminal justice",
        "we process some criminal offence data about you so that we can provide you with our service",
        "to manage risks in relation to the public if there is a high risk of reoffending",
        "to manage risks where you may present a risk to the public and service users we work with",
        "if we erase your data at your request, we will not be able to offer you a service",
        // Sources.
        "your GP, Westmoor County Council, primary care services and housing services",
        "Anyone can refer you into our service.",
        "if you do not want it, we erase what we received at the point of referral",
        // Legal obligation recipients, and when.
        "we share your information with third parties without your consent, and sometimes without telling you",
        "The police: to report a crime (this includes driving under the influence)",
        "Social services (Westmoor County Council): to report abuse or neglect",
        "Mental health crisis services: to let them know if you are at serious risk",
        "Your Offender Manager or Probation Officer: if you are on a criminal justice order, we inform them of your engagement",
        "MARAC (to prevent domestic abuse) and MAPPA (to prevent reoffending): should you be subject to MARAC or MAPPA",
        "A court of law: if the law requires us to share",
        "Any other body UK law obliges us to share with: on a request we are obliged to meet by a legal obligation laid down in UK law",
        // Vital interests.
        "The emergency services: if you were in a life-or-death situation, so that they may save your life",
        // Legitimate interests recipients, and when.
        "The Individual Placement and Support (IPS) employment service: to support you into work",
        "Westmoor County Council social care team: to provide you with support through partnership working, where risks and vulnerabilities require us to do so in your best interests or in the best interests of others (particularly children, families and adults at risk)",
        "Your GP: in order to prescribe you medication",
        "Pharmacies: in order to prescribe you medication",
        "The prison, probation services, courts and police: to share prescribing information and/or arrange ongoing support, if you have recently been released or are going into custody",
        "Our funder, Westmoor County Council: we share some data",
        "When we share for statistical or research purposes, the data we share does not identify you",
        "Research organisations: when they carry out evaluation and statistical work on our behalf or on behalf of Westmoor County Council",
        // Consent: the national returns and everything else.
        "The National Drug Treatment Monitoring System (NDTMS)",
        "only if you consent on the Sharing Consent Form, we share some of your treatment information",
        "Criminal Justice Interventions Team (CJIT)",
        "only if you are receiving criminal justice interventions and consent on the Sharing Consent Form, we share some of your criminal justice information",
        "All other sharing of your personal data with third parties is decided by you, with your explicit consent on the Sharing Consent Form",
        // Transfers.
        "We do not send your information outside the UK.",
        "We do not transfer your data outside the UK unless you explicitly consent",
        // Retention and destruction.
        "Your case record, on paper and electronic: 10 years after the date you stop using our service",
        "Electronic records are destroyed by us; paper records are destroyed on our premises by our confidential waste contractor; paper records archived with our archive company are destroyed securely on its premises.",
        "A referral made by someone else, if you do not want our service: at once after your referral is declined. Then: erased from our systems at the point of referral.",
        "Our \"Lanternway Records Retention Schedule\" (version 1.3) sets this period.",
        // Security, confidentiality and breaches.
        "bound by the common law duty of confidentiality",
        "Everyone who handles data is trained on how to use it safely.",
        "we tell you without delay using the primary contact details you have given us, and report it to the ICO through our Data Protection Officer",
        // Requests and complaints.
        "tell the service you attend or, if you would feel more comfortable, contact our Caldicott Guardian",
        "where we say no to a request we always explain our decision in full",
        // The regulator.
        "https://ico.org.uk/make-a-complaint/",
        "0303 123 1113",
    ]);
    for basis in [
        LawfulBasis::LegitimateInterests,
        LawfulBasis::LegalObligation,
        LawfulBasis::VitalInterests,
        LawfulBasis::Consent,
    ] {
        promises.push(basis.label().to_owned());
    }
    promises.push(format!(
        "{}: to provide you with the Recovery Service",
        LawfulBasis::LegitimateInterests.label()
    ));
    for condition in [
        Article9Condition::HealthSocialCare,
        Article9Condition::VitalInterests,
        Article9Condition::ExplicitConsent,
    ] {
        promises.push(condition.label().to_owned());
    }
    for condition in [
        Schedule1Condition::HealthSocialCare,
        Schedule1Condition::UnlawfulActs,
        Schedule1Condition::Safeguarding,
        Schedule1Condition::Consent,
    ] {
        promises.push(condition.label().to_owned());
    }
    promises.push(
        "\"Lanternway Appropriate Policy Document: special category and criminal offence data\" (version 2.0)"
            .to_owned(),
    );
    promises.extend(rights(true));
    assert_states(&md, &promises);
}

#[test]
fn the_care_company_notice_states_every_promise_of_its_seed() {
    let register = load("care-company.toml");
    let md = markdown(&register, "home-care");
    let mut promises = strings(&[
        // Controller and contacts: the Data Compliance Officer.
        "Bramblecroft Home Care Ltd is the data controller",
        "number ZX592047",
        "Bramblecroft Home Care Ltd, Bramblecroft House, 12 Orchard Row, Lindford LF2 3BQ",
        "privacy@bramblecroft.example",
        "Daniel Ashworth, Data Compliance Officer, data.compliance@bramblecroft.example",
        // The processor and the transfer abroad.
        "Cloudcare Planning Inc. works for us as a data processor: provides the computer software system we keep your records on, under a data processing agreement",
        "Outside the UK, where our software providers are based: we make sure the transfer meets the requirements of UK GDPR",
        "Some of your information may be sent outside the UK, only as set out here.",
        // Whose data, what and where from.
        "existing and former service users",
        "existing and former service users' family members",
        "your personal details such as name, address and phone numbers",
        "what your referrer tells us and confidential information about your history, the support you need and the risks associated",
        "medical or health information",
        "information about the support you receive from us",
        "Health and disability",
        "The person or organisation who referred you to us",
        // Disclosures, and when.
        "The local authority's adult or children's safeguarding team (Lindshire County Council): in relation to a safeguarding concern, only when strictly necessary",
        "Your social worker: on your social worker's request, only when strictly necessary",
        "A governing body, for example the Care Quality Commission (CQC): upon inspection, only when strictly necessary",
        // Consent where no other basis applies, with the right to withdraw it.
        "Where no other lawful basis applies, we ask for your consent",
        "you can withdraw your consent at any time",
        // National data opt-out.
        "We do not share any data for planning or research purposes for which the national data opt-out would apply",
        // Retention and destruction.
        "Your care records, on paper and on our computer system: 8 years after our care and support for you ends",
        "paper records are cross-cut shredded on our premises, and electronic records are deleted from our care system and its backups",
        "Data found to be inaccurate is rectified or erased without delay. Our \"Bramblecroft Customer Data Record: retention periods\" (version 1.0) sets this period.",
        // Security and breaches.
        "locked filing cabinet, drawer or safe",
        "encrypted or password protected",
        "regularly backed up",
        "only with prior authorisation",
        "read our data protection policies at induction",
        "Every data breach is recorded on our Data Breach Register",
        "we report it to the Information Commissioner within 72 hours of discovery",
        // Subject access and complaints.
        "within one month",
        "manifestly unfounded, excessive or repetitive",
        "tell your care manager or contact our Data Compliance Officer",
        // The regulator.
        "https://ico.org.uk/make-a-complaint/",
    ]);
    for basis in [
        LawfulBasis::Contract,
        LawfulBasis::LegalObligation,
        LawfulBasis::Consent,
    ] {
        promises.push(basis.label().to_owned());
    }
    for condition in [
        Article9Condition::HealthSocialCare,
        Article9Condition::SubstantialPublicInterest,
        Article9Condition::ExplicitConsent,
    ] {
        promises.push(condition.label().to_owned());
    }
    for condition in [
        Schedule1Condition::HealthSocialCare,
        Schedule1Condition::Safeguarding,
    ] {
        promises.push(condition.label().to_owned());
    }
    promises.push(
        "\"Bramblecroft Appropriate Policy Document: safeguarding\" (version 1.0)".to_owned(),
    );
    promises.extend(rights(true));
    assert_states(&md, &promises);
    // It has a transfer: the notice must not also say nothing leaves the UK.
    assert!(!md.contains(NOTHING_OUTSIDE_THE_UK), "{md}");
}

#[test]
fn the_domestic_abuse_advocacy_notice_states_every_promise_of_its_seed() {
    let register = load("domestic-abuse-advocacy.toml");
    let md = markdown(&register, "idva");
    let mut promises = strings(&[
        // Controller, service, funder and area.
        "Fenshire County Council is the data controller",
        "number ZX305177",
        "Fenshire and Eastborough Independent Domestic Violence Advisory Service",
        "funded by Fenshire County Council",
        "in Fenshire and Eastborough",
        // The DPO: email, postal address and phone.
        "The Data Protection Officer, Fenshire County Council, data.protection@fenshire.example, Box No. FCC2306, Riverside House, 5 Bridge Street, Fenbridge FE1 4XY, phone 01632 960 137",
        // Referrals from professionals only.
        "referrals to the IDVA Service are accepted from professionals only",
        // What is collected, about whom, and why.
        "to assess the level of risk you are at of domestic abuse from the named perpetrator(s)",
        "to create with you a plan of support, including safety planning",
        "Safe contact",
        "Language and communication",
        "Equality and diversity",
        "Health and disability",
        "Children",
        "children and other vulnerable adults linked to you or the alleged perpetrator",
        "alleged perpetrators of abuse against you",
        "We collect only the information we need to carry out these functions.",
        // The processor.
        "Brightwater Mobile Advocacy CIC works for us as a data processor: commissioned by us to provide mobile advocacy for victims of domestic abuse across Fenshire",
        // Recipients, and when.
        "Hospitals and community health services: as part of providing support to you and keeping you safe",
        "Your GP: as part of providing support to you and keeping you safe",
        "Children's Social Care: as part of a multi-agency response",
        "Adult Social Care and Adult Safeguarding: as part of a multi-agency response",
        "Housing providers: as part of providing support to you and keeping you safe",
        "Criminal and civil courts: with an audit trail of appropriate court orders",
        "The police: to assist with and aid ongoing criminal investigations",
        "Relevant services in another area: if you may move into a different area",
        "We can share it without your specific consent when it is lawful, proportionate and necessary to do so to fulfil our public tasks",
        "we will inform you that we are sharing",
        "In all other circumstances we will ask your consent before sharing information about you.",
        // Retention and destruction, paper notes included.
        "Most records we make about your support from the IDVA Service: 7 years after we have ceased to work with you",
        "Paper notes IDVA staff keep about a conversation with you: at once after we have added the relevant information to our electronic systems. Then: securely destroyed and disposed of. Our \"Fenshire County Council Records Retention Schedule: IDVA Service\" (version 2.4) sets this period.",
        // Security.
        "standalone secure electronic case management system that can only be accessed by IDVA Service employees",
        "training on data protection and information security",
        "Caldicott principles",
        "Fenshire and Eastborough Information Sharing Framework",
        // Complaints and the regulator.
        "you can complain to the Data Protection Officer",
        "if we cannot, we explain why",
        "https://ico.org.uk/",
        "We do not send your information outside the UK.",
    ]);
    for basis in [LawfulBasis::PublicTask, LawfulBasis::Consent] {
        promises.push(basis.label().to_owned());
    }
    promises.push(
        Article9Condition::SubstantialPublicInterest
            .label()
            .to_owned(),
    );
    promises.push(Article9Condition::ExplicitConsent.label().to_owned());
    promises.push(Schedule1Condition::Statutory.label().to_owned());
    promises.push(
        "\"Fenshire County Council Appropriate Policy Document: special category and criminal offence data\" (version 3.1)"
            .to_owned(),
    );
    promises.extend(rights(true));
    assert_states(&md, &promises);
}

// (c) One fault of each kind (F5 point 2), in a copy of the recovery example.

const FAULTY: &str = "config/examples/recovery-with-a-fault.toml";

/// The recovery example with one change inside the table `header` whose `id` is `id`: `from`
/// (which must be there) becomes `to`. Returns the text and the line of the table's header.
fn with_fault(header: &str, id: &str, from: &str, to: &str) -> (String, usize) {
    let anchor = format!("{header}\nid = \"{id}\"\n");
    let start = RECOVERY
        .find(&anchor)
        .unwrap_or_else(|| panic!("the recovery example has no {header} `{id}`"));
    let body = start + header.len();
    let end = RECOVERY[body..]
        .find("\n[")
        .map_or(RECOVERY.len(), |i| body + i);
    let at = RECOVERY[start..end]
        .find(from)
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("{header} `{id}` has no `{from}`"));
    let text = format!("{}{}{}", &RECOVERY[..at], to, &RECOVERY[at + from.len()..]);
    let line = RECOVERY[..start].matches('\n').count() + 1;
    (text, line)
}

/// The faulty copy is refused with exactly one fault: at `line`, in the file, saying `message`.
fn assert_refused(text: &str, line: usize, message: &str) {
    let errors = match Register::parse(Path::new(FAULTY), text) {
        Ok(_) => panic!("a register with a fault was accepted (expected: {message})"),
        Err(e) => e.0,
    };
    assert_eq!(
        errors.len(),
        1,
        "one fault, one error: {:#?}",
        errors
            .iter()
            .map(RegisterError::to_string)
            .collect::<Vec<_>>()
    );
    let e = &errors[0];
    assert_eq!(e.file, Path::new(FAULTY));
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains(message), "{e}\nexpected: {message}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{FAULTY}:{line}: ")),
        "the error names the file and line: {shown}"
    );
}

#[test]
fn a_field_group_no_activity_covers_is_refused() {
    let (text, line) = with_fault(
        "[[service]]",
        "recovery",
        "field_groups = [\"safe_contact\",",
        "field_groups = [\"photo\", \"safe_contact\",",
    );
    assert_refused(
        &text,
        line,
        "service `recovery` collects `photo` but no activity of the service covers it with a lawful basis",
    );
}

#[test]
fn special_category_data_without_an_article_9_condition_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "monitoring",
        "article9 = \"health_social_care\"\n",
        "",
    );
    assert_refused(
        &text,
        line,
        "activity `monitoring`: special category data needs an Article 9 condition (`article9`)",
    );
}

#[test]
fn criminal_offence_data_without_a_schedule_1_condition_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "custody_healthcare",
        // Under 9(2)(c) no Part 1 condition is needed: only the criminal offence data lacks one.
        "article9 = \"health_social_care\"\nschedule1 = [\"p1_health_social_care\"]\n",
        "article9 = \"vital_interests\"\n",
    );
    assert_refused(
        &text,
        line,
        "activity `custody_healthcare`: criminal offence data needs a Schedule 1 condition (`schedule1`)",
    );
}

#[test]
fn health_or_social_care_without_its_part_1_condition_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "custody_healthcare",
        "schedule1 = [\"p1_health_social_care\"]\n",
        "schedule1 = [\"p2_unlawful_acts\"]\npolicy_document = \"apd\"\n",
    );
    assert_refused(
        &text,
        line,
        "activity `custody_healthcare`: this Article 9 condition needs its Schedule 1 Part 1 condition `p1_health_social_care` (DPA 2018 s.10(2))",
    );
}

#[test]
fn a_part_2_condition_without_a_policy_document_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "legal_duties",
        "policy_document = \"apd\"\n",
        "",
    );
    assert_refused(
        &text,
        line,
        "activity `legal_duties`: this Schedule 1 condition needs an appropriate policy document (`policy_document`)",
    );
}

#[test]
fn a_part_2_condition_naming_a_policy_document_not_in_the_register_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "legal_duties",
        "policy_document = \"apd\"",
        "policy_document = \"apd-2019\"",
    );
    assert_refused(
        &text,
        line,
        "activity `legal_duties`: policy document `apd-2019` is not in the register",
    );
}

#[test]
fn a_consent_based_activity_without_a_consent_purpose_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "ndtms_return",
        "consent_purpose = \"ndtms\"\n",
        "",
    );
    // The form's purpose goes too (a purpose no activity asks for is a fault of its own); it is
    // declared before the services, so the activity's line moves up by its lines.
    let start = text
        .find(NDTMS_PURPOSE)
        .expect("the example declares the ndtms purpose");
    let end = start + text[start..].find("\n\n").expect("a blank line follows it") + 2;
    let purpose = text[start..end].to_owned();
    let text = text.replacen(&purpose, "", 1);
    assert_refused(
        &text,
        line - purpose.matches('\n').count(),
        "activity `ndtms_return`: a consent-based activity needs `consent_purpose`",
    );
}

/// The recovery example's consent purpose for NDTMS, as declared.
const NDTMS_PURPOSE: &str = "[[consent_purpose]]\nid = \"ndtms\"\n";

#[test]
fn a_consent_purpose_no_activity_asks_for_is_refused() {
    let (text, line) = with_fault(
        "[[consent_purpose]]",
        "ndtms",
        "form_version = \"2026-1\"",
        "form_version = \"2026-1\"",
    );
    let text = text.replacen(
        "consent_purpose = \"ndtms\"\n",
        "consent_purpose = \"other_sharing\"\n",
        1,
    );
    assert_refused(
        &text,
        line,
        "consent purpose `ndtms`: no activity asks for it (`consent_purpose`)",
    );
}

#[test]
fn a_recipient_not_in_the_register_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "legal_duties",
        "recipients = [\"police\",",
        "recipients = [\"police-hq\",",
    );
    assert_refused(
        &text,
        line,
        "activity `legal_duties`: recipient `police-hq` is not in the register",
    );
}

#[test]
fn a_processor_not_in_the_register_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "treatment",
        "processors = [\"beacon\",",
        "processors = [\"beacon-trust\",",
    );
    assert_refused(
        &text,
        line,
        "activity `treatment`: processor `beacon-trust` is not in the register",
    );
}

#[test]
fn a_retention_rule_not_in_the_register_is_refused() {
    let (text, line) = with_fault(
        "[[activity]]",
        "emergency",
        "retention = \"case_records\"",
        "retention = \"case_records_v2\"",
    );
    assert_refused(
        &text,
        line,
        "activity `emergency`: retention rule `case_records_v2` is not in the register",
    );
}

#[test]
fn every_fault_of_a_register_is_reported_at_once() {
    // Two faults in different tables: both are named, each at its own table's line.
    let (one, service_line) = with_fault(
        "[[service]]",
        "recovery",
        "field_groups = [\"safe_contact\",",
        "field_groups = [\"photo\", \"safe_contact\",",
    );
    let (_, purpose_line) = with_fault(
        "[[consent_purpose]]",
        "ndtms",
        "id = \"ndtms\"",
        "id = \"ndtms\"",
    );
    let both = one.replacen(
        "consent_purpose = \"ndtms\"\n",
        "consent_purpose = \"cjit\"\n",
        1,
    );
    let errors = Register::parse(Path::new(FAULTY), &both)
        .expect_err("a register with two faults is refused")
        .0;
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    // The ndtms purpose, no longer asked for, is declared before the service.
    assert_eq!(lines, vec![purpose_line, service_line], "{errors:#?}");
}

#[path = "register_examples/properties.rs"]
mod properties;
