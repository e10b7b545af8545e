//! Where data goes, compared: recipients and processors with what each may receive, and each
//! service's consent form; and who is told when sharing narrows.

use super::*;
use crate::register::Terms;
use crate::store::RecipientKind;

impl Diff<'_> {
    /// Tells the staff of each service that shares with `party` (by the old register).
    fn staff(&mut self, party: &str, why: String) {
        let services = services_sharing_with(self.old, party);
        if services.is_empty() {
            return self.tell(Audience::ShareWizardStaff { service: None }, why);
        }
        for service in services {
            self.tell(
                Audience::ShareWizardStaff {
                    service: Some(service),
                },
                why.clone(),
            );
        }
    }

    /// What a recipient or processor may receive, compared; less is told to the staff who share
    /// with it. Whether anything changed.
    fn terms(&mut self, topic: Topic, party: &str, kind: &str) -> bool {
        let (a, b) = (self.old.terms_of(party), self.new.terms_of(party));
        let subject = format!("`{party}`: ");
        let (_, fewer) = self.list(
            topic,
            &subject,
            "may receive",
            &strs(&a.categories),
            &strs(&b.categories),
        );
        let codes = |t: &Terms| t.bases.iter().map(|b| b.code()).collect::<Vec<_>>();
        let (_, fewer_bases) = self.list(topic, &subject, "lawful bases", &codes(&a), &codes(&b));
        let mut less = Vec::new();
        if !fewer.is_empty() {
            less.push(format!("no longer {}", ticked(&fewer)));
        }
        if !fewer_bases.is_empty() {
            less.push(format!("no longer under {}", ticked(&fewer_bases)));
        }
        if !less.is_empty() {
            self.staff(
                party,
                format!("{kind} `{party}` may receive less: {}", less.join("; ")),
            );
        }
        a != b
    }

    pub(super) fn recipients(&mut self) {
        let t = Topic::Recipients;
        for o in &self.old.recipients {
            let Some(n) = self.new.recipient(&o.id) else {
                self.push(
                    t,
                    Mark::Removed,
                    format!(
                        "`{}` (\"{}\") is retired: it receives nothing more, and the disclosure log keeps it",
                        o.id, o.name
                    ),
                );
                self.staff(
                    &o.id,
                    format!(
                        "recipient `{}` is retired: nothing more can be shared with it",
                        o.id
                    ),
                );
                continue;
            };
            let Recipient {
                id,
                name,
                kind,
                when,
                outside_uk,
                consent_required,
                service,
                secure_email,
                email,
                phone,
                address,
            } = o;
            let subject = format!("`{id}`: ");
            self.value(t, &subject, "name", name, &n.name);
            self.value(t, &subject, "kind", kind, &n.kind);
            self.reworded(t, &subject, "when it receives data", when, &n.when);
            if *outside_uk != n.outside_uk {
                let now = if n.outside_uk { "now" } else { "no longer" };
                self.push(t, Mark::Changed, format!("{subject}{now} outside the UK"));
                if n.outside_uk {
                    self.staff(
                        id,
                        format!("recipient `{id}` is now outside the UK: shares to it need the person's explicit consent"),
                    );
                }
            }
            // A multi-agency meeting always needs consent, as start-up records it.
            let needs_consent = |r: &Recipient, asked: bool| {
                asked || r.kind == RecipientKind::MultiAgencyMeeting.code()
            };
            let (before, after) = (
                needs_consent(o, *consent_required),
                needs_consent(n, n.consent_required),
            );
            if before != after {
                let now = if after { "now" } else { "no longer" };
                self.push(
                    t,
                    Mark::Changed,
                    format!("{subject}{now} needs the person's consent to every share"),
                );
                if after {
                    self.staff(
                        id,
                        format!("recipient `{id}` now needs the person's consent, or a recorded reason to share without it, for every share"),
                    );
                }
            }
            self.option(t, &subject, "partner service", service, &n.service);
            self.option(t, &subject, "secure email", secure_email, &n.secure_email);
            self.details(
                t,
                &subject,
                [email.as_deref(), address.as_deref(), phone.as_deref()],
                [n.email.as_deref(), n.address.as_deref(), n.phone.as_deref()],
            );
            self.terms(t, id, "recipient");
        }
        for n in self
            .new
            .recipients
            .iter()
            .filter(|n| self.old.recipient(&n.id).is_none())
        {
            let text = format!(
                "`{}` (\"{}\", kind `{}`) is added{}",
                n.id,
                n.name,
                n.kind,
                receives(self.new, &n.id)
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
        }
    }

    pub(super) fn processors(&mut self) {
        let t = Topic::Processors;
        let dpo = self.dpo();
        for o in &self.old.processors {
            let Some(n) = self.new.processor(&o.id) else {
                self.push(
                    t,
                    Mark::Removed,
                    format!(
                        "`{}` (\"{}\") is retired: nothing more is sent to it, and the disclosure log keeps it",
                        o.id, o.name
                    ),
                );
                self.tell(
                    dpo.clone(),
                    format!(
                        "processor `{}` is retired: nothing more is sent to it",
                        o.id
                    ),
                );
                self.staff(
                    &o.id,
                    format!(
                        "processor `{}` is retired: nothing more can be sent to it",
                        o.id
                    ),
                );
                continue;
            };
            let Processor {
                id,
                name,
                role,
                agreement_starts,
                agreement_ends,
                secure_email,
                email,
                phone,
                address,
            } = o;
            let subject = format!("`{id}`: ");
            self.value(t, &subject, "name", name, &n.name);
            self.reworded(t, &subject, "what it does", role, &n.role);
            let starts = self.value(
                t,
                &subject,
                "agreement starts",
                agreement_starts,
                &n.agreement_starts,
            );
            let ends = self.value(
                t,
                &subject,
                "agreement ends",
                agreement_ends,
                &n.agreement_ends,
            );
            self.option(t, &subject, "secure email", secure_email, &n.secure_email);
            if starts || ends {
                self.tell(
                    dpo.clone(),
                    format!(
                        "processor `{id}`: its data processing agreement now runs from {} to {}",
                        n.agreement_starts, n.agreement_ends
                    ),
                );
            }
            self.details(
                t,
                &subject,
                [email.as_deref(), address.as_deref(), phone.as_deref()],
                [n.email.as_deref(), n.address.as_deref(), n.phone.as_deref()],
            );
            if self.terms(t, id, "processor") {
                self.tell(
                    dpo.clone(),
                    format!("processor `{id}` may receive other data: its agreement must cover what it now receives"),
                );
            }
        }
        for n in self
            .new
            .processors
            .iter()
            .filter(|n| self.old.processor(&n.id).is_none())
        {
            let text = format!(
                "`{}` (\"{}\") is added, its agreement running from {} to {}{}",
                n.id,
                n.name,
                n.agreement_starts,
                n.agreement_ends,
                receives(self.new, &n.id)
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
            self.tell(
                dpo.clone(),
                format!(
                    "processor `{}` is added: its data processing agreement must be in place, from {} to {}",
                    n.id, n.agreement_starts, n.agreement_ends
                ),
            );
        }
    }

    /// Each service's consent form, line by line.
    pub(super) fn consent_forms(&mut self) {
        let t = Topic::ConsentPurposes;
        for s in &self.new.services {
            let old_form = if self.old.service(&s.id).is_some() {
                self.old.consent_form(&s.id)
            } else {
                Vec::new()
            };
            let new_form = self.new.consent_form(&s.id);
            for o in &old_form {
                let p = &o.purpose.id;
                match new_form.iter().find(|l| l.purpose.id == *p) {
                    Some(n) => self.consent_line(&s.id, o, n),
                    None => {
                        self.push(
                            t,
                            Mark::Removed,
                            format!(
                                "`{p}` leaves the form of `{}`: the consent recorded to it is kept, and lets nothing more be shared",
                                s.id
                            ),
                        );
                        self.tell(
                            Audience::ShareWizardStaff {
                                service: Some(s.id.clone()),
                            },
                            format!("consent to `{p}` lets nothing more be shared"),
                        );
                    }
                }
            }
            for n in new_form
                .iter()
                .filter(|n| !old_form.iter().any(|o| o.purpose.id == n.purpose.id))
            {
                let text = format!(
                    "`{}` is on the form of `{}` (form version {}), letting data go to {}{}",
                    n.purpose.id,
                    s.id,
                    quoted(&n.purpose.form_version),
                    if n.recipients.is_empty() {
                        "no recipient the register names".to_owned()
                    } else {
                        ticked(&n.recipients)
                    },
                    if n.explicit {
                        ", as explicit consent"
                    } else {
                        ""
                    }
                );
                self.changes.push(Change {
                    topic: t,
                    mark: Mark::Added,
                    text,
                });
            }
        }
    }

    fn consent_line(&mut self, service: &str, o: &ConsentLine<'_>, n: &ConsentLine<'_>) {
        let t = Topic::ConsentPurposes;
        let ConsentLine {
            purpose,
            recipients,
            explicit,
        } = o;
        let ConsentPurpose {
            id,
            label,
            form_version,
            line: _,
        } = purpose;
        let subject = format!("`{id}` on the form of `{service}`: ");
        let mut ask = Vec::new();
        let raised = self.value(
            t,
            &subject,
            "form version",
            form_version,
            &n.purpose.form_version,
        );
        if raised {
            ask.push(format!(
                "its form version changes from {} to {}: consent given on an earlier form does not cover the new one",
                quoted(form_version),
                quoted(&n.purpose.form_version)
            ));
        }
        if *label != n.purpose.label {
            let text = if raised {
                format!("{subject}wording is reworded")
            } else {
                ask.push("its wording changes: consent given on the earlier wording does not cover the new one".to_owned());
                format!(
                    "{subject}wording is reworded but the form version stays {}: raise `form_version`, so each consent shows the wording it was given on",
                    quoted(form_version)
                )
            };
            self.push(t, Mark::Changed, text);
        }
        let (more, fewer) = self.list(t, &subject, "lets data go to", recipients, &n.recipients);
        if !more.is_empty() {
            ask.push(format!(
                "it now also lets data go to {}: consent given for fewer recipients does not cover them",
                ticked(&more)
            ));
        }
        if !fewer.is_empty() {
            self.tell(
                Audience::ShareWizardStaff {
                    service: Some(service.to_owned()),
                },
                format!(
                    "consent to `{id}` no longer lets data go to {}",
                    ticked(&fewer)
                ),
            );
        }
        if *explicit != n.explicit {
            let now = if n.explicit { "now" } else { "no longer" };
            self.push(t, Mark::Changed, format!("{subject}{now} explicit consent"));
            if n.explicit {
                ask.push(
                    "it is now explicit consent, which consent given before does not meet"
                        .to_owned(),
                );
            }
        }
        for why in ask {
            self.tell(
                Audience::Consented {
                    service: service.to_owned(),
                    purpose: id.clone(),
                },
                why,
            );
        }
    }
}

/// What a new recipient or processor may receive, as a clause.
fn receives(register: &Register, party: &str) -> String {
    let terms = register.terms_of(party);
    if terms.categories.is_empty() {
        return ": no activity names it yet".to_owned();
    }
    let bases: Vec<&str> = terms.bases.iter().map(|b| b.code()).collect();
    format!(
        ": it may receive {} under {}",
        ticked(&strs(&terms.categories)),
        ticked(&bases)
    )
}
