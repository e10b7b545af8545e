//! The organisation's own entries compared: its details and contacts, services, retention rules,
//! activities and policy documents.

use super::*;
use crate::register::{Organisation, Transfer, TrusteeMatter};

impl Diff<'_> {
    pub(super) fn organisation(&mut self) {
        let t = Topic::Organisation;
        let (o, n) = (&self.old.organisation, &self.new.organisation);
        let Organisation {
            id,
            controller,
            registration_number,
            address,
            email,
            phone,
            dpo: _,
            caldicott_guardian: _,
            data_manager: _,
            complaints,
            regulator,
            reviewed_on,
            key_backup_days,
        } = o;
        if *id != n.id {
            self.push(
                t,
                Mark::Hazard,
                format!(
                    "id from `{id}` to `{new}`: Confidant will treat it as a new organisation, creating `{new}` with the register's services at the next start and leaving `{id}`, and everything recorded in it, as it is",
                    new = n.id
                ),
            );
        }
        self.value(t, "", "controller", controller, &n.controller);
        self.value(
            t,
            "",
            "ICO registration number",
            registration_number,
            &n.registration_number,
        );
        self.value(t, "", "address", address, &n.address);
        self.value(t, "", "email", email, &n.email);
        self.option(t, "", "phone", phone, &n.phone);
        // The contacts, each by its role (`dpo`, `caldicott_guardian`, `data_manager`).
        for role in ContactRole::ALL {
            self.contact(role, contact_of(o, role), contact_of(n, role));
        }
        self.reworded(t, "", "how to complain", complaints, &n.complaints);
        self.reworded(t, "", "the regulator's details", regulator, &n.regulator);
        self.value(t, "", "last reviewed", reviewed_on, &n.reviewed_on);
        let days =
            |d: &Option<u32>| d.map_or_else(|| "not stated".to_owned(), |d| format!("{d} days"));
        self.value(
            t,
            "",
            "how long key store backups are kept",
            &days(key_backup_days),
            &days(&n.key_backup_days),
        );
    }

    fn contact(&mut self, role: ContactRole, old: Option<&Contact>, new: Option<&Contact>) {
        let t = Topic::Organisation;
        let title = role.label();
        match (old, new) {
            (None, None) => {}
            (None, Some(c)) => self.push(t, Mark::Added, format!("{title}: {}", c.name)),
            (Some(c), None) => self.push(t, Mark::Removed, format!("{title}: {}", c.name)),
            (Some(a), Some(b)) => {
                let Contact {
                    name,
                    email,
                    address,
                    phone,
                } = a;
                let subject = format!("{title}: ");
                self.value(t, &subject, "name", name, &b.name);
                self.details(
                    t,
                    &subject,
                    [Some(email.as_str()), address.as_deref(), phone.as_deref()],
                    [
                        Some(b.email.as_str()),
                        b.address.as_deref(),
                        b.phone.as_deref(),
                    ],
                );
            }
        }
    }

    pub(super) fn services(&mut self) {
        let t = Topic::Services;
        for o in &self.old.services {
            let Some(n) = self.new.service(&o.id) else {
                self.push(
                    t,
                    Mark::Hazard,
                    format!(
                        "`{}` (\"{}\") is removed: start-up will stop while Confidant still has this service",
                        o.id, o.name
                    ),
                );
                continue;
            };
            let Service {
                id,
                name,
                funder,
                area,
                referrals,
                partner,
                field_groups,
                respond_within_days,
                bank_holidays,
                line: _,
            } = o;
            let subject = format!("`{id}`: ");
            if name.trim() != n.name.trim() {
                self.push(
                    t,
                    Mark::Hazard,
                    format!(
                        "{subject}name from \"{name}\" to \"{}\": start-up will stop while Confidant still calls it \"{}\"",
                        n.name,
                        name.trim()
                    ),
                );
            }
            self.value(t, &subject, "funder", funder, &n.funder);
            self.value(t, &subject, "area", area, &n.area);
            self.list(
                t,
                &subject,
                "field groups collected",
                &strs(field_groups),
                &strs(&n.field_groups),
            );
            self.value(t, &subject, "who may refer", referrals, &n.referrals);
            self.option(t, &subject, "partner service", partner, &n.partner);
            self.value(
                t,
                &subject,
                "days to answer a rights request",
                &respond_within_days.to_string(),
                &n.respond_within_days.to_string(),
            );
            self.option(
                t,
                &subject,
                "bank holidays for rights requests' due dates",
                bank_holidays,
                &n.bank_holidays,
            );
        }
        for n in self
            .new
            .services
            .iter()
            .filter(|n| self.old.service(&n.id).is_none())
        {
            let text = format!(
                "`{}` (\"{}\") is added: start-up creates it, collecting {}, with referrals from `{}`",
                n.id,
                n.name,
                if n.field_groups.is_empty() {
                    "`identity` only".to_owned()
                } else {
                    ticked(&strs(&n.field_groups))
                },
                n.referrals
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
        }
    }

    pub(super) fn retention(&mut self) {
        let t = Topic::Retention;
        for o in &self.old.retention {
            let Some(n) = self.new.retention_rule(&o.id) else {
                self.push(
                    t,
                    Mark::Removed,
                    format!("`{}` (\"{}\") is removed", o.id, o.records),
                );
                continue;
            };
            let RetentionRule {
                id,
                records,
                record_type,
                services,
                trigger,
                said_as,
                period,
                source,
                destruction,
            } = o;
            let subject = format!("`{id}`: ");
            self.value(t, &subject, "records", records, &n.records);
            self.value(
                t,
                &subject,
                "record type",
                record_type.code(),
                n.record_type.code(),
            );
            match (services, &n.services) {
                (Some(a), Some(b)) => {
                    self.list(t, &subject, "services", &strs(a), &strs(b));
                }
                (None, None) => {}
                (a, b) => {
                    let shown = |s: &Option<Vec<String>>| {
                        s.as_deref()
                            .map_or_else(|| "every service".to_owned(), |l| ticked(&strs(l)))
                    };
                    self.push(
                        t,
                        Mark::Changed,
                        format!("{subject}services from {} to {}", shown(a), shown(b)),
                    );
                }
            }
            self.value(
                t,
                &subject,
                "period",
                &period.to_string(),
                &n.period.to_string(),
            );
            self.value(t, &subject, "trigger", trigger.code(), n.trigger.code());
            self.option(t, &subject, "trigger's words", said_as, &n.said_as);
            self.value(t, &subject, "source", source, &n.source);
            self.reworded(
                t,
                &subject,
                "how records are destroyed",
                destruction,
                &n.destruction,
            );
        }
        for n in self
            .new
            .retention
            .iter()
            .filter(|n| self.old.retention_rule(&n.id).is_none())
        {
            let text = format!(
                "`{}` (\"{}\") is added: {} after {}",
                n.id,
                n.records,
                n.period,
                n.trigger_words()
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
        }
    }

    pub(super) fn activities(&mut self) {
        let t = Topic::Activities;
        let find = |r: &'_ Register, id: &str| r.activities.iter().position(|a| a.id == id);
        for o in &self.old.activities {
            let Some(n) = find(self.new, &o.id).map(|i| &self.new.activities[i]) else {
                self.push(
                    t,
                    Mark::Removed,
                    format!("`{}` (for {}) is removed", o.id, ticked(&strs(&o.services))),
                );
                continue;
            };
            let Activity {
                id,
                services,
                purpose,
                basis,
                legitimate_interest,
                consent_purpose,
                article9,
                schedule1,
                policy_document,
                categories,
                people,
                recipients,
                processors,
                transfers,
                retention,
                security,
                source,
            } = o;
            let subject = format!("`{id}`: ");
            self.list(t, &subject, "services", &strs(services), &strs(&n.services));
            self.reworded(t, &subject, "purpose", purpose, &n.purpose);
            self.value(t, &subject, "lawful basis", basis, &n.basis);
            self.option(
                t,
                &subject,
                "legitimate interest",
                legitimate_interest,
                &n.legitimate_interest,
            );
            self.option(
                t,
                &subject,
                "consent purpose",
                consent_purpose,
                &n.consent_purpose,
            );
            self.option(t, &subject, "Article 9 condition", article9, &n.article9);
            self.list(
                t,
                &subject,
                "Schedule 1 conditions",
                &strs(schedule1),
                &strs(&n.schedule1),
            );
            self.option(
                t,
                &subject,
                "policy document",
                policy_document,
                &n.policy_document,
            );
            self.list(
                t,
                &subject,
                "categories",
                &strs(categories),
                &strs(&n.categories),
            );
            self.words(t, &subject, "people", people, &n.people);
            self.list(
                t,
                &subject,
                "recipients",
                &strs(recipients),
                &strs(&n.recipients),
            );
            self.list(
                t,
                &subject,
                "processors",
                &strs(processors),
                &strs(&n.processors),
            );
            let places = |ts: &[Transfer]| {
                ts.iter()
                    .map(|t| format!("{} ({})", t.country, t.safeguard))
                    .collect::<Vec<_>>()
            };
            self.words(
                t,
                &subject,
                "transfers outside the UK",
                &places(transfers),
                &places(&n.transfers),
            );
            self.value(t, &subject, "retention rule", retention, &n.retention);
            let (more, fewer) = delta(&strs(security), &strs(&n.security));
            if !more.is_empty() || !fewer.is_empty() {
                self.push(
                    t,
                    Mark::Changed,
                    format!(
                        "{subject}security measures: {} added, {} removed",
                        more.len(),
                        fewer.len()
                    ),
                );
            }
            match (source, &n.source) {
                (Some(a), Some(b)) => self.reworded(t, &subject, "source", a, b),
                (None, Some(_)) => {
                    self.push(t, Mark::Changed, format!("{subject}a source is added"))
                }
                (Some(_), None) => {
                    self.push(t, Mark::Changed, format!("{subject}its source is removed"))
                }
                (None, None) => {}
            }
        }
        for n in self
            .new
            .activities
            .iter()
            .filter(|n| find(self.old, &n.id).is_none())
        {
            let text = format!(
                "`{}` is added, for {}, on lawful basis `{}`, with categories {}",
                n.id,
                ticked(&strs(&n.services)),
                n.basis,
                ticked(&strs(&n.categories))
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
        }
    }

    pub(super) fn policy_documents(&mut self) {
        let t = Topic::PolicyDocuments;
        for o in &self.old.policy_documents {
            let Some(n) = self.new.policy_document(&o.id) else {
                self.push(
                    t,
                    Mark::Removed,
                    format!("`{}` (\"{}\") is removed", o.id, o.title),
                );
                continue;
            };
            let PolicyDocument { id, title, version } = o;
            let subject = format!("`{id}`: ");
            self.value(t, &subject, "title", title, &n.title);
            self.value(t, &subject, "version", version, &n.version);
        }
        for n in self
            .new
            .policy_documents
            .iter()
            .filter(|n| self.old.policy_document(&n.id).is_none())
        {
            let text = format!(
                "`{}` (\"{}\", version {}) is added",
                n.id,
                n.title,
                quoted(&n.version)
            );
            self.changes.push(Change {
                topic: t,
                mark: Mark::Added,
                text,
            });
        }
    }
}

impl Diff<'_> {
    /// The kinds of trustees' matter: the DPO grants them, so is told of each change (grants
    /// already made keep the parts and days they were given).
    pub(super) fn trustee_matters(&mut self) {
        let t = Topic::TrusteeMatters;
        for o in &self.old.trustee_matters {
            let Some(n) = self.new.trustee_matter(&o.id) else {
                self.push(t, Mark::Removed, format!("`{}` is removed", o.id));
                self.tell(
                    self.dpo(),
                    format!("trustees' matter `{}` can no longer be granted", o.id),
                );
                continue;
            };
            let TrusteeMatter {
                id,
                label,
                parts,
                max_days,
            } = o;
            let subject = format!("`{id}`: ");
            let mut changed = self.value(t, &subject, "label", label, &n.label);
            changed |= self.value(t, &subject, "parts", &parts.join(", "), &n.parts.join(", "));
            changed |= self.value(
                t,
                &subject,
                "longest grant (days)",
                &max_days.to_string(),
                &n.max_days.to_string(),
            );
            if changed {
                self.tell(
                    self.dpo(),
                    format!("trustees' matter `{id}` changes what a new grant may open"),
                );
            }
        }
        for n in self
            .new
            .trustee_matters
            .iter()
            .filter(|n| self.old.trustee_matter(&n.id).is_none())
        {
            self.push(
                t,
                Mark::Added,
                format!(
                    "`{}` (\"{}\": {}, up to {} days) is added",
                    n.id,
                    n.label,
                    n.parts.join(", "),
                    n.max_days
                ),
            );
            self.tell(
                self.dpo(),
                format!("trustees' matter `{}` can now be granted", n.id),
            );
        }
    }
}

fn contact_of(o: &Organisation, role: ContactRole) -> Option<&Contact> {
    o.contacts().find(|(r, _)| *r == role).map(|(_, c)| c)
}
