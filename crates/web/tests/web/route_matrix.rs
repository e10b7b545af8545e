//! The route-wide proof. Every route the application registers (`confidant_web::routes().table()`),
//! pages and API, is sent by every kind of caller, for a record (or service, referral…) in their
//! scope and one out of it:
//! - its status is the one this file's table states, written out independently of the policies;
//!   a registered route missing from the table fails the test;
//! - its body, whatever the status (answers to writes and errors included), holds no marker the
//!   caller may not see: every field, entry, related person, document, code word and referral of
//!   both records carries a distinct marker, a processor's worker may see only the markers of
//!   what their referral sent, and a trustee only those of what their matter opens;
//! - a refusal changes nothing: the row count of every table is the same after it, except the
//!   refusal's own audit event, and the audit chain gains no `ok` event.
//!
//! Runs the real router in-process on a real database (SQLite and PostgreSQL), with real sessions
//! (password + TOTP sign-in through core) and real API tokens.

use confidant_core::access::PersonAccess;
use confidant_core::store::prelude::*;
use confidant_testkit::operator;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use confidant_core::clock::FixedClock;
use confidant_core::contact::PreferencesInput;
use confidant_core::document::Upload;
use confidant_core::field::{FieldGroup, PersonField, RecordKind, ValueKind};
use confidant_core::keeping::QueryHoldInput;
use confidant_core::person::PersonInput;
use confidant_core::record::{NewEntry, RecordInput};
use confidant_core::referral::NewReferral;
use confidant_core::sharing::{EntrySelection, RecipientInput, ShareRequest};
use confidant_core::store::{
    ContactType, EntryStatus, NoteFlags, ReferralSource, Relationship, TokenScope,
};
use confidant_core::{Clock, Confidant, Purpose, Role, access::Principal};
use confidant_store::SqlStore;
use confidant_testkit::{
    Synthetic, TEST_PASSWORD, TestApp, TestBackend, TestDb, each_backend, sign_in_fully, train,
};
use sqlx::Row;
use tower::ServiceExt;
use uuid::Uuid;

const BOUNDARY: &str = "matrix-cell-boundary";
/// A one-pixel PNG: each record's photo.
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// Who sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Practitioner,
    TeamManager,
    ServiceManager,
    Dpo,
    Caldicott,
    Administrator,
    Auditor,
    /// A processor's worker referred person A's given name and postcode and one note.
    ProcessorReferred,
    /// A worker of the same processor, referred nothing.
    ProcessorNotReferred,
    /// A trustee granted a complaint on person A: its identity details and notes (flagged ones
    /// excepted).
    TrusteeWithMatter,
    TrusteeWithoutMatter,
    /// A practitioner of service A who broke the glass on person B.
    BreakGlass,
    /// A practitioner of service A with a read-only token (and no session).
    ReadOnlyToken,
    NoSession,
}

const CALLERS: [Caller; 14] = [
    Caller::Practitioner,
    Caller::TeamManager,
    Caller::ServiceManager,
    Caller::Dpo,
    Caller::Caldicott,
    Caller::Administrator,
    Caller::Auditor,
    Caller::ProcessorReferred,
    Caller::ProcessorNotReferred,
    Caller::TrusteeWithMatter,
    Caller::TrusteeWithoutMatter,
    Caller::BreakGlass,
    Caller::ReadOnlyToken,
    Caller::NoSession,
];

impl Caller {
    fn role(self) -> Option<Role> {
        Some(match self {
            Caller::Practitioner | Caller::BreakGlass | Caller::ReadOnlyToken => Role::Practitioner,
            Caller::TeamManager => Role::TeamManager,
            Caller::ServiceManager => Role::ServiceManager,
            Caller::Dpo => Role::DataProtectionOfficer,
            Caller::Caldicott => Role::CaldicottGuardian,
            Caller::Administrator => Role::Administrator,
            Caller::Auditor => Role::Auditor,
            Caller::ProcessorReferred | Caller::ProcessorNotReferred => Role::ProcessorStaff,
            Caller::TrusteeWithMatter | Caller::TrusteeWithoutMatter => Role::Trustee,
            Caller::NoSession => return None,
        })
    }

    /// Works in service A (the in-scope service).
    fn in_service(self) -> bool {
        matches!(
            self,
            Caller::Practitioner
                | Caller::TeamManager
                | Caller::ServiceManager
                | Caller::BreakGlass
                | Caller::ReadOnlyToken
        )
    }

    fn oversees(self) -> bool {
        matches!(self, Caller::Dpo | Caller::Caldicott)
    }

    fn has_session(self) -> bool {
        !matches!(self, Caller::ReadOnlyToken | Caller::NoSession)
    }

    fn has_token(self) -> bool {
        !matches!(self, Caller::NoSession)
    }
}

/// Whether the target (record, service, referral…) is in the caller's scope (A) or not (B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Expect {
    Allowed,
    NotFound,
    Forbidden,
    /// No (full) session or token: 401 from the API, a redirect to sign in from a page.
    SignIn,
}

/// The kinds of access a route needs: the table's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// A service's public privacy notice: this world loads no register, so there is none (404).
    NoNotice,
    /// The sign-in form's post: refused (403) without the form's own CSRF token and cookie.
    SignInPost,
    /// The two-factor steps: for a session part-way through signing in; others are sent to sign in
    /// (a full session is sent on).
    SignInFlow,
    /// Any signed-in member of staff.
    Staff,
    /// Any signed-in member of staff, about their own session (sign-out, lock); run last.
    OwnSession,
    /// A page of the caller's own service (people list, referrals): others 403.
    ServicePage,
    /// The people page: the caller's service's caseload, or a processor's worker's referred
    /// people (only what their referrals sent); others 403.
    PeoplePage,
    /// The caseloads per worker of the caller's service: its team and service managers; others
    /// 403 (a page) or 404 (the API, for another service too).
    ManagersOfService,
    /// An API route naming a service: its own staff; another service (or none) answers 404.
    ServiceApi,
    /// A service's configuration or consent purposes: all of the organisation's staff.
    OrganisationRead,
    /// A referral into a service: its own staff; others 404.
    ReferralOfService,
    /// Reads a part of a record that a processor's referral can send (the person's fields, the
    /// entries sent).
    RecordReadReferable,
    /// Reads a part of a record a processor's worker never sees (related people, cases,
    /// documents, consents, contact preferences, history, access history, disclosures…).
    RecordRead,
    /// As [`Rule::RecordRead`], and never under break-the-glass nor a trustee's matter nor by the
    /// DPO: the record's export (the person's own copy comes through rights requests).
    RecordExport,
    /// Changes a part of a record a processor's referral can send.
    RecordChangeReferable,
    /// Changes any other part of the record (or adds to it).
    RecordChange,
    /// Shares from the record, or asks for an approval: the record's own service only.
    RecordShare,
    /// Decides an approval of a share: the DPO, the Caldicott Guardian or the person's service
    /// manager.
    ApprovalDecide,
    /// Restrictions and objections, releasing a legal hold, destroying a record: the DPO.
    Restrict,
    /// A record's legal holds, seen and placed: the DPO and the Caldicott Guardian.
    Hold,
    /// Who has seen a record: those who read it, and the DPO, Caldicott Guardian and auditor.
    AccessHistory,
    /// Assigns a person to a team and key worker: the service's managers.
    Assign,
    /// Breaks the glass on a record out of scope: staff of a service, the DPO and the Caldicott
    /// Guardian (a page: others 403).
    BreakGlass,
    /// Reviews break-the-glass and disclosures: the DPO and the Caldicott Guardian (403 for others).
    Oversight,
    /// As [`Rule::Oversight`], on the API: 404 for others.
    OversightApi,
    /// Staff accounts, seen by those who run, oversee or manage.
    AccountsRead,
    /// A new account: administrators.
    AccountCreate,
    /// Ending an account's sessions or disabling it: administrators and the DPO.
    AccountDisable,
    /// Changing an account (two-factor, password, training): administrators and the DPO for a
    /// practitioner's account.
    AccountChange,
    /// A trustee's matter: the DPO.
    AccountGrant,
    /// An account's display name, job title and team: administrators and the DPO.
    AccountDetails,
    /// The services, their teams and scopes: administrators (others 403), for any service of
    /// the organisation.
    ServicesAdmin,
    /// Recording the training of a practitioner's account: the DPO.
    AccountTraining,
    /// The recipient register and consent purposes: kept by the DPO and Caldicott Guardian.
    RegisterKeep,
    /// The register of processing activities (Art. 30): the DPO and Caldicott Guardian.
    ProcessingRegister,
    /// Someone else's token: nobody revokes it (404).
    NobodysToken,
    /// The disclosures made to a recipient: the DPO and Caldicott Guardian.
    RecipientDisclosures,
    /// A task for no caller (service B's referral's triage): nobody opens or closes it (404).
    NobodysTask,
    /// Logs a rights request about a record, and sees those logged: whoever reads it in its
    /// service (no grant), the DPO and the Caldicott Guardian.
    RightsLog,
    /// The rights requests of the services a caller oversees: the DPO, the Caldicott Guardian and
    /// a service's manager (a page: others 403; the API: 404).
    RightsList,
    /// One rights request: the DPO and the Caldicott Guardian, and its service's manager.
    RightsRead,
    /// Moving a rights request on: the DPO, and its service's manager.
    RightsManage,
}

/// A registered route, with its table entry: the rule, and how to build a request's body.
struct Entry {
    rule: Rule,
    /// The page form's fields after the CSRF token, or the API's JSON body.
    body: Body_,
    /// Allowed callers may get a 409: the target's state was consumed by an earlier allowed cell
    /// (an accepted referral, a closed case, a decided approval).
    consumes: bool,
    /// Allowed callers may get a 400 or 422: the body is refused after the permit (a wrong
    /// current password, a message template the service has not set up).
    invalid_ok: bool,
}

#[derive(Debug, Clone)]
enum Body_ {
    None,
    Form(String),
    Json(String),
    /// A multipart page upload (the CSRF token as a part).
    Multipart,
    /// A raw API upload.
    Raw,
}

fn e(rule: Rule, body: Body_) -> Entry {
    Entry {
        rule,
        body,
        consumes: false,
        invalid_ok: false,
    }
}

fn consuming(rule: Rule, body: Body_) -> Entry {
    Entry {
        consumes: true,
        ..e(rule, body)
    }
}

fn lenient(rule: Rule, body: Body_) -> Entry {
    Entry {
        invalid_ok: true,
        ..e(rule, body)
    }
}

fn form(s: &str) -> Body_ {
    Body_::Form(s.to_owned())
}

fn json(s: &str) -> Body_ {
    Body_::Json(s.to_owned())
}

/// The table: every route the application serves. `{…}` in bodies is filled in per cell.
fn table(method: &Method, path: &str) -> Option<Entry> {
    use Body_::None as N;
    use Rule::*;
    let m = method.as_str();
    Some(match (m, path) {
        // --- public ---
        ("GET", "/healthz" | "/assets/app.css" | "/assets/favicon.svg") => e(Public, N),
        ("GET", "/privacy" | "/sign-in" | "/accessibility") => e(Public, N),
        ("GET", "/privacy/{service}" | "/privacy/{service}/notice.md") => e(NoNotice, N),
        ("GET", "/privacy/{service}/notice.pdf") => e(NoNotice, N),
        ("GET", "/api/v1/openapi.json") => e(Public, N),
        ("GET", "/sign-in/enrol" | "/sign-in/two-factor") => e(SignInFlow, N),
        ("POST", "/sign-in") => e(SignInPost, form("handle=nobody&password=wrong")),
        ("POST", "/sign-in/enrol" | "/sign-in/two-factor") => e(SignInFlow, form("code=000000")),
        // --- the caller's own ---
        ("GET", "/" | "/account/password" | "/account/tokens" | "/lock") => e(Staff, N),
        ("GET", "/api/v1/me" | "/api/v1/catalogue" | "/api/v1/sharing/categories") => e(Staff, N),
        ("POST", "/account/password") => {
            lenient(Staff, form("current=wrong-password&password=x&confirm=y"))
        }
        ("POST", "/account/tokens") => e(Staff, form("scope=read&days=1&password=wrong")),
        ("POST", "/account/tokens/{token_id}/revoke") => e(NobodysToken, form("")),
        // --- the task inbox: one's own tasks only ---
        ("GET", "/tasks" | "/api/v1/tasks") => e(Staff, N),
        ("GET", "/tasks/{task_id}") => e(NobodysTask, N),
        ("POST", "/tasks/{task_id}/close") => e(
            NobodysTask,
            form("how=letter&told_on_day=1&told_on_month=11&told_on_year=2026"),
        ),
        ("POST", "/api/v1/tasks/{task_id}/close") => e(
            NobodysTask,
            json(r#"{"how":"letter","told_on":"2026-11-01"}"#),
        ),
        ("POST", "/lock") => e(OwnSession, form("password=wrong")),
        ("POST", "/sign-out") => e(OwnSession, form("")),
        // --- lists of the caller's service ---
        ("GET", "/people") => e(PeoplePage, N),
        ("GET", "/caseloads" | "/api/v1/services/{service_id}/caseloads") => {
            e(ManagersOfService, N)
        }
        ("GET", "/api/v1/services/{service_id}/caseload") => e(ServiceApi, N),
        ("GET", "/people/new" | "/referrals" | "/referrals/new" | "/paper" | "/diary") => {
            e(ServicePage, N)
        }
        ("POST", "/people/search") => {
            e(ServicePage, form("name=Qzmk&identifier_kind=&identifier="))
        }
        ("POST", "/people/new") => e(ServicePage, form("given_name=Cell&family_name=Matrix")),
        ("POST", "/referrals/new") => e(
            ServicePage,
            form("source=self&given_name=Cell&family_name=Matrix&reason=Needs+help"),
        ),
        ("GET", "/api/v1/services/{service_id}/people") => e(ServiceApi, N),
        ("POST", "/api/v1/services/{service_id}/people") => e(
            ServiceApi,
            json(r#"{"given_name":"Matrix","family_name":"Cell"}"#),
        ),
        ("POST", "/api/v1/services/{service_id}/people/lookups") => e(
            ServiceApi,
            json(r#"{"field":"postcode","value":"LS1 4AP"}"#),
        ),
        (
            "GET",
            "/api/v1/services/{service_id}/paper" | "/api/v1/services/{service_id}/referrals",
        ) => e(ServiceApi, N),
        ("POST", "/api/v1/services/{service_id}/referrals") => e(
            ServiceApi,
            json(r#"{"source":"self","fields":{"given_name":"Matrix","family_name":"Cell"}}"#),
        ),
        ("GET", "/api/v1/services/{service_id}/configuration") => e(OrganisationRead, N),
        ("GET", "/api/v1/services/{service_id}/consent-purposes") => e(OrganisationRead, N),
        ("GET", "/api/v1/organisations/{organisation_id}/services") => e(OrganisationRead, N),
        ("GET", "/services/{service_id}/consent-form") => e(OrganisationRead, N),
        // --- referrals ---
        ("GET", "/referrals/{referral_id}" | "/api/v1/referrals/{referral_id}") => {
            e(ReferralOfService, N)
        }
        ("POST", "/referrals/{referral_id}/triage") => {
            e(ReferralOfService, form("state=contact_attempted"))
        }
        ("POST", "/api/v1/referrals/{referral_id}/triage") => {
            e(ReferralOfService, json(r#"{"state":"contact_attempted"}"#))
        }
        ("POST", "/referrals/{referral_id}/accept") => consuming(ReferralOfService, form("")),
        ("POST", "/api/v1/referrals/{referral_id}/accept") => {
            consuming(ReferralOfService, json("{}"))
        }
        // --- the record: reads ---
        ("GET", "/people/{person_id}" | "/api/v1/people/{person_id}") => e(RecordReadReferable, N),
        ("GET", "/people/{person_id}/notes" | "/people/{person_id}/plans") => {
            e(RecordReadReferable, N)
        }
        ("GET", "/people/{person_id}/appointments" | "/people/{person_id}/paper") => {
            e(RecordReadReferable, N)
        }
        ("GET", "/api/v1/people/{person_id}/entries") => e(RecordReadReferable, N),
        ("GET", "/people/{person_id}/edit/{group}") => e(RecordChangeReferable, N),
        // The entry is each record's support plan (a note is not changed on a page), never
        // referred: a processor's worker is refused.
        ("GET", "/people/{person_id}/entries/{entry_id}/edit") => e(RecordChange, N),
        (
            "GET",
            "/people/{person_id}/history"
            | "/people/{person_id}/contact"
            | "/people/{person_id}/documents"
            | "/people/{person_id}/documents/{document_id}"
            | "/people/{person_id}/photo"
            | "/people/{person_id}/sharing"
            | "/people/{person_id}/disclosures/{disclosure_id}"
            | "/people/{person_id}/disclosures/{disclosure_id}/package.json"
            | "/people/{person_id}/disclosures/{disclosure_id}/package.pdf",
        ) => e(RecordRead, N),
        (
            "GET",
            "/api/v1/people/{person_id}/approvals"
            | "/api/v1/people/{person_id}/cases"
            | "/api/v1/people/{person_id}/consents"
            | "/api/v1/people/{person_id}/contact-preferences"
            | "/api/v1/people/{person_id}/disclosures"
            | "/api/v1/people/{person_id}/disclosures/{disclosure_id}"
            | "/api/v1/people/{person_id}/documents"
            | "/api/v1/people/{person_id}/documents/{document_id}"
            | "/api/v1/people/{person_id}/history"
            | "/api/v1/people/{person_id}/messages"
            | "/api/v1/people/{person_id}/related",
        ) => e(RecordRead, N),
        ("GET", "/api/v1/people/{person_id}/export") => e(RecordExport, N),
        ("GET", "/api/v1/people/{person_id}/access-history") => e(AccessHistory, N),
        // --- the record: changes ---
        // An empty change: the answer is the record as the caller may see it.
        ("PATCH", "/api/v1/people/{person_id}") => e(RecordChangeReferable, json("{}")),
        ("PATCH", "/api/v1/people/{person_id}/entries/{entry_id}") => {
            e(RecordChange, json(r#"{"fields":{}}"#))
        }
        ("POST", "/people/{person_id}/edit/{group}") => lenient(
            RecordChangeReferable,
            form("postcode={postcode}&given_name={given_name}"),
        ),
        ("POST", "/people/{person_id}/entries/{entry_id}/edit") => {
            lenient(RecordChange, form("title=Matrix+cell+plan"))
        }
        ("POST", "/people/{person_id}/entries/{entry_id}/status") => {
            lenient(RecordChange, form("status=current"))
        }
        ("GET", "/people/{person_id}/entries/{entry_id}/error") => e(RecordChange, N),
        ("GET", "/people/{person_id}/entries/{entry_id}/destruction") => e(RecordChange, N),
        // Recording a paper note destroyed once: a later allowed cell finds it destroyed (409).
        ("POST", "/people/{person_id}/entries/{entry_id}/destruction") => consuming(
            RecordChange,
            form(
                "destroyed_by=Matrix+Shredding&reference=M-1&destroyed_on_day=1&destroyed_on_month=1&destroyed_on_year=2020",
            ),
        ),
        ("POST", "/api/v1/people/{person_id}/entries/{entry_id}/destruction") => consuming(
            RecordChange,
            json(
                r#"{"destroyed_by":"Matrix Shredding","reference":"M-1","destroyed_on":"2020-01-01"}"#,
            ),
        ),
        ("GET", "/people/{person_id}/appointments/{entry_id}/reminder") => e(RecordChange, N),
        ("GET", "/people/{person_id}/documents/{document_id}/move") => e(RecordChange, N),
        // No such record number, no such person: refused by name after the permit, nothing moves.
        ("POST", "/people/{person_id}/documents/{document_id}/move") => {
            lenient(RecordChange, form("record_number=99999"))
        }
        ("POST", "/api/v1/people/{person_id}/documents/{document_id}/move") => lenient(
            RecordChange,
            json(r#"{"to_person_id":"00000000-0000-7000-8000-000000000000"}"#),
        ),
        // No address on record: refused by name after the permit, nothing queued.
        ("POST", "/people/{person_id}/appointments/{entry_id}/reminder") => {
            lenient(RecordChange, form("channel=email"))
        }
        // Marking an entry as entered in error once: a later allowed cell finds it marked (409).
        ("POST", "/people/{person_id}/entries/{entry_id}/error") => {
            consuming(RecordChange, form("reason=duplicate"))
        }
        ("POST", "/api/v1/people/{person_id}/entries/{entry_id}/error") => {
            consuming(RecordChange, json(r#"{"reason":"duplicate"}"#))
        }
        (
            "GET",
            "/people/{person_id}/notes/new"
            | "/people/{person_id}/plans/new"
            | "/people/{person_id}/plans/{plan_id}/goals/new"
            | "/people/{person_id}/appointments/new"
            | "/people/{person_id}/paper/new"
            | "/people/{person_id}/related/new"
            | "/people/{person_id}/related/{related_id}/remove"
            | "/people/{person_id}/related/{related_id}/edit"
            | "/people/{person_id}/cases/{case_id}/close",
        ) => e(RecordChange, N),
        ("POST", "/people/{person_id}/notes/new") => {
            e(RecordChange, form("contact_type=phone&body=Matrix+cell"))
        }
        ("POST", "/people/{person_id}/plans/new") => e(RecordChange, form("title=Matrix+plan")),
        ("POST", "/people/{person_id}/plans/{plan_id}/goals/new") => {
            lenient(RecordChange, form("description=Matrix+goal"))
        }
        ("POST", "/people/{person_id}/appointments/new") => lenient(
            RecordChange,
            form("occurs_at=2026-12-01T10:00&purpose=Matrix+appointment"),
        ),
        ("POST", "/people/{person_id}/paper/new") => e(
            RecordChange,
            form("kind=paper_note&description=Matrix+paper"),
        ),
        ("POST", "/people/{person_id}/related/new") => e(
            RecordChange,
            form("relationship=family&given_name=Matrix&family_name=Cell"),
        ),
        ("POST", "/people/{person_id}/related/{related_id}/remove") => {
            consuming(RecordChange, form(""))
        }
        // A fresh relative for each allowed cell, so the world's own keeps its markers.
        ("POST", "/people/{person_id}/related/{related_id}/edit") => consuming(
            RecordChange,
            form("relationship=next_of_kin&given_name=Changed&family_name=Cell"),
        ),
        ("PUT", "/api/v1/people/{person_id}/related/{related_id}") => consuming(
            RecordChange,
            json(r#"{"relationship":"next_of_kin","fields":{"given_name":"Changed"}}"#),
        ),
        ("POST", "/people/{person_id}/cases") => consuming(RecordChange, form("")),
        ("POST", "/people/{person_id}/cases/{case_id}/close") => {
            consuming(RecordChange, form("reason=completed"))
        }
        ("POST", "/people/{person_id}/contact") => e(RecordChange, form("phone=allowed")),
        ("POST", "/people/{person_id}/documents") => e(RecordChange, Body_::Multipart),
        ("POST", "/people/{person_id}/photo") => e(RecordChange, Body_::Multipart),
        ("POST", "/api/v1/people/{person_id}/documents") => e(RecordChange, Body_::Raw),
        ("POST", "/api/v1/people/{person_id}/entries") => e(
            RecordChange,
            json(r#"{"kind":"note","contact_type":"phone","fields":{"body":"Matrix cell"}}"#),
        ),
        ("POST", "/api/v1/people/{person_id}/related") => e(
            RecordChange,
            json(
                r#"{"relationship":"family","fields":{"given_name":"Matrix","family_name":"Cell"}}"#,
            ),
        ),
        ("DELETE", "/api/v1/people/{person_id}/related/{related_id}") => consuming(RecordChange, N),
        ("POST", "/api/v1/people/{person_id}/cases") => consuming(RecordChange, json("{}")),
        ("POST", "/api/v1/people/{person_id}/cases/{case_id}/close") => {
            consuming(RecordChange, json(r#"{"reason":"completed"}"#))
        }
        // The case is open or closed by then, as earlier cells left it: 409 when open.
        ("GET", "/people/{person_id}/cases/{case_id}/reopen") => consuming(RecordChange, N),
        ("POST", "/people/{person_id}/cases/{case_id}/reopen") => {
            consuming(RecordChange, form("reason=returned"))
        }
        ("POST", "/api/v1/people/{person_id}/cases/{case_id}/reopen") => {
            consuming(RecordChange, json(r#"{"reason":"returned"}"#))
        }
        ("PUT", "/api/v1/people/{person_id}/contact-preferences") => {
            e(RecordChange, json(r#"{"channels":{"phone":"allowed"}}"#))
        }
        ("POST", "/api/v1/people/{person_id}/messages") => lenient(
            RecordChange,
            json(r#"{"channel":"email","template":"appointment_reminder"}"#),
        ),
        ("POST", "/api/v1/people/{person_id}/consents") => e(
            RecordChange,
            json(r#"{"purpose_id":"{purpose_id}","state":"granted"}"#),
        ),
        ("POST", "/people/{person_id}/sharing/consent") => {
            e(RecordChange, form("purpose_id={purpose_id}&state=granted"))
        }
        // Merging: the record number or id of no one (or of the record itself) is refused by name
        // after the permits, nothing merges.
        ("GET", "/people/{person_id}/merge") => e(Assign, N),
        ("POST", "/people/{person_id}/merge") => lenient(Assign, form("record_number=99999")),
        ("GET", "/api/v1/people/{person_id}/merge") => lenient(Assign, N),
        ("POST", "/api/v1/people/{person_id}/merge") => lenient(
            Assign,
            json(
                r#"{"merge_id":"00000000-0000-7000-8000-000000000000","confirmed_how":"identifiers"}"#,
            ),
        ),
        ("GET", "/api/v1/people/{person_id}/merges") => e(RecordRead, N),
        ("PUT", "/api/v1/people/{person_id}/assignment") => e(Assign, json("{}")),
        ("GET", "/people/{person_id}/assignment") => e(Assign, N),
        // As the API's empty assignment: no team and no key worker.
        ("POST", "/people/{person_id}/assignment") => {
            e(Assign, form("team_id=none&key_worker_id=none"))
        }
        // --- sharing ---
        ("GET", "/people/{person_id}/share" | "/people/{person_id}/share/approval") => {
            e(RecordShare, N)
        }
        // The steps of a share: without the choices of the steps before, back to the first.
        (
            "GET",
            "/people/{person_id}/share/purpose"
            | "/people/{person_id}/share/data"
            | "/people/{person_id}/share/check"
            | "/people/{person_id}/share/confirm",
        ) => lenient(RecordShare, N),
        ("POST", "/people/{person_id}/share") => e(
            RecordShare,
            form(
                "action=share&recipient_id={recipient_id}&fields=given_name&basis=vital_interests&reason=Matrix+cell+share&person_told=yes",
            ),
        ),
        (
            "POST",
            "/api/v1/people/{person_id}/shares" | "/api/v1/people/{person_id}/shares/check",
        ) => e(
            RecordShare,
            json(
                r#"{"recipient_id":"{recipient_id}","fields":["given_name"],"lawful_basis":"vital_interests","reason":"Matrix cell share","person_told":true}"#,
            ),
        ),
        ("POST", "/people/{person_id}/share/approval") => e(
            RecordShare,
            form(
                "recipient_id={recipient_id}&category_health=yes&justification=Matrix+cell+approval",
            ),
        ),
        ("POST", "/api/v1/people/{person_id}/approvals") => e(
            RecordShare,
            json(
                r#"{"recipient_id":"{recipient_id}","categories":["health"],"justification":"Matrix cell approval"}"#,
            ),
        ),
        ("POST", "/people/{person_id}/sharing/approvals/{approval_id}") => {
            consuming(ApprovalDecide, form("decision=approve"))
        }
        ("POST", "/api/v1/people/{person_id}/approvals/{approval_id}") => {
            consuming(ApprovalDecide, json(r#"{"approve":true}"#))
        }
        ("POST", "/people/{person_id}/disclosures/{disclosure_id}/end") => {
            consuming(RecordShare, form(""))
        }
        ("POST", "/api/v1/people/{person_id}/disclosures/{disclosure_id}/end") => {
            consuming(RecordShare, json("{}"))
        }
        ("POST", "/people/{person_id}/sharing/restrictions") => {
            e(Restrict, form("kind=restriction"))
        }
        ("POST", "/api/v1/people/{person_id}/restrictions") => {
            e(Restrict, json(r#"{"kind":"restriction"}"#))
        }
        ("POST", "/people/{person_id}/sharing/restrictions/{restriction_id}/lift") => {
            consuming(Restrict, form(""))
        }
        ("POST", "/api/v1/people/{person_id}/restrictions/{restriction_id}/lift") => {
            consuming(Restrict, json("{}"))
        }
        // --- legal holds and destruction (a destruction in a cell is always refused after the
        // permit, for its basis: the world's records stay) ---
        ("GET", "/people/{person_id}/holds" | "/api/v1/people/{person_id}/holds") => e(Hold, N),
        ("POST", "/people/{person_id}/holds") => {
            e(Hold, form("kind=litigation&reason=Matrix+cell+legal+hold"))
        }
        ("POST", "/api/v1/people/{person_id}/holds") => e(
            Hold,
            json(r#"{"kind":"litigation","reason":"Matrix cell legal hold"}"#),
        ),
        ("POST", "/people/{person_id}/holds/{hold_id}/release") => {
            consuming(Restrict, form("reason=Matrix+cell+release"))
        }
        ("POST", "/api/v1/people/{person_id}/holds/{hold_id}/release") => {
            consuming(Restrict, json(r#"{"reason":"Matrix cell release"}"#))
        }
        ("GET", "/people/{person_id}/destroy" | "/api/v1/people/{person_id}/destruction") => {
            e(Restrict, N)
        }
        ("POST", "/people/{person_id}/destroy") => lenient(
            Restrict,
            form("basis=nope&reason=Matrix+cell+destruction&confirm=yes"),
        ),
        ("POST", "/api/v1/people/{person_id}/destruction") => lenient(
            Restrict,
            json(r#"{"basis":"nope","reason":"Matrix cell destruction"}"#),
        ),
        (
            "GET",
            "/admin/destruction-certificates"
            | "/admin/destruction-certificates/{certificate_id}"
            | "/admin/destruction-certificates/{certificate_id}/certificate.pdf",
        ) => e(Oversight, N),
        (
            "GET",
            "/api/v1/destruction-certificates"
            | "/api/v1/destruction-certificates/{certificate_id}",
        ) => e(OversightApi, N),
        // --- the retention review queue: its list is oversight; a review is of one record
        // (`retention.review`: the DPO and the Caldicott Guardian); approving is the DPO's
        // (`person.shred`), and a review still waiting for a decision is refused after the
        // permits (409, or 400 on the page) ---
        ("GET", "/admin/retention") => e(Oversight, N),
        ("GET", "/api/v1/retention/reviews") => e(OversightApi, N),
        ("GET", "/admin/retention/{review_id}" | "/api/v1/retention/reviews/{review_id}") => {
            e(Hold, N)
        }
        ("POST", "/admin/retention/{review_id}") => consuming(
            Hold,
            form(
                "decision=keep&keep_until_day=1&keep_until_month=1&keep_until_year=2030&reason=Matrix+cell+keep",
            ),
        ),
        ("POST", "/api/v1/retention/reviews/{review_id}/decision") => consuming(
            Hold,
            json(r#"{"decision":"keep","keep_until":"2030-01-01","reason":"Matrix cell keep"}"#),
        ),
        ("POST", "/admin/retention/approve") => Entry {
            invalid_ok: true,
            ..consuming(Restrict, form("review={review_id}"))
        },
        ("POST", "/api/v1/retention/approvals") => Entry {
            invalid_ok: true,
            ..consuming(Restrict, json(r#"{"reviews":["{review_id}"]}"#))
        },
        // Holds on a query: seen and placed by the DPO and the Caldicott Guardian (a period
        // ending before it starts is refused after the permit), released by the DPO.
        ("GET", "/admin/holds" | "/admin/holds/new") => e(Oversight, N),
        ("POST", "/admin/holds") => lenient(
            Oversight,
            form(
                "kind=inquiry&service_id={service_id}&from_on_day=30&from_on_month=11&from_on_year=2026&to_on_day=1&to_on_month=11&to_on_year=2026&reason=Matrix+cell+query+hold",
            ),
        ),
        ("POST", "/admin/holds/{query_hold_id}/release") => {
            e(Restrict, form("reason=Matrix+cell+release"))
        }
        ("GET", "/api/v1/holds/queries") => e(OversightApi, N),
        ("POST", "/api/v1/holds/queries") => lenient(
            OversightApi,
            json(
                r#"{"kind":"inquiry","service_id":"{service_id}","from_on":"2026-11-30","to_on":"2026-11-01","reason":"Matrix cell query hold"}"#,
            ),
        ),
        ("POST", "/api/v1/holds/queries/{query_hold_id}/release") => {
            e(Restrict, json(r#"{"reason":"Matrix cell release"}"#))
        }
        // Rights requests: logged about a record by whoever reads it in its service and by the DPO
        // and the Caldicott Guardian; seen by them and the service's manager; moved on by the DPO
        // and the service's manager (a day in the future is refused after the permit).
        ("GET", "/people/{person_id}/rights" | "/api/v1/people/{person_id}/rights-requests") => {
            e(RightsLog, N)
        }
        ("POST", "/people/{person_id}/rights") => e(
            RightsLog,
            form(
                "kind=access&channel=letter&received_on_day=20&received_on_month=11&received_on_year=2026&representative_id=&identity_check=known_to_staff",
            ),
        ),
        ("POST", "/api/v1/people/{person_id}/rights-requests") => e(
            RightsLog,
            json(
                r#"{"kind":"access","channel":"letter","received_on":"2026-11-20","identity_check":"known_to_staff"}"#,
            ),
        ),
        ("GET", "/rights" | "/api/v1/rights-requests") => e(RightsList, N),
        ("GET", "/rights/{request_id}" | "/api/v1/rights-requests/{request_id}") => {
            e(RightsRead, N)
        }
        ("POST", "/rights/{request_id}/steps") => lenient(
            RightsManage,
            form("step=answered&on_day=1&on_month=1&on_year=2999"),
        ),
        ("POST", "/api/v1/rights-requests/{request_id}/steps") => lenient(
            RightsManage,
            json(r#"{"step":"answered","on":"2999-01-01"}"#),
        ),
        // An access request's bundle: seen by whoever sees the request; compiled, decided,
        // checked and released by whoever moves it on. Before a cell has compiled it (and once a
        // cell has released it, answering the request), each is refused after the permit (409);
        // a decision is of the first item (withheld: allowed); a check is refused (409, or 400
        // and 422 for what stops it) to whoever decided an item.
        ("GET", "/rights/{request_id}/bundle" | "/api/v1/rights-requests/{request_id}/bundle") => {
            e(RightsRead, N)
        }
        ("GET", "/rights/{request_id}/bundle/items/{position}") => consuming(RightsRead, N),
        ("POST", "/rights/{request_id}/bundle") => Entry {
            invalid_ok: true,
            ..consuming(RightsManage, form(""))
        },
        ("POST", "/api/v1/rights-requests/{request_id}/bundle") => {
            consuming(RightsManage, json("{}"))
        }
        ("POST", "/rights/{request_id}/bundle/items/{position}") => Entry {
            invalid_ok: true,
            ..consuming(RightsManage, form("reason=identifies_other"))
        },
        ("POST", "/api/v1/rights-requests/{request_id}/bundle/items/{position}") => Entry {
            invalid_ok: true,
            ..consuming(
                RightsManage,
                json(r#"{"decision":"withhold","reason":"identifies_other"}"#),
            )
        },
        ("POST", "/rights/{request_id}/bundle/check") => Entry {
            invalid_ok: true,
            ..consuming(RightsManage, form(""))
        },
        ("POST", "/rights/{request_id}/bundle/release") => Entry {
            invalid_ok: true,
            ..consuming(RightsManage, form("confirm=yes"))
        },
        (
            "POST",
            "/api/v1/rights-requests/{request_id}/bundle/check"
            | "/api/v1/rights-requests/{request_id}/bundle/release",
        ) => Entry {
            invalid_ok: true,
            ..consuming(RightsManage, json("{}"))
        },
        (
            "GET",
            "/rights/{request_id}/bundle/copy.json"
            | "/rights/{request_id}/bundle/copy.pdf"
            | "/api/v1/rights-requests/{request_id}/bundle/copy",
        ) => consuming(RightsManage, N),
        // A step's letter to the person (the world's request's identity confirmed, acknowledged):
        // for whoever moves the request on.
        ("GET", "/rights/{request_id}/steps/{step_id}/letter.pdf") => e(RightsManage, N),
        // A request for erasure (the world's is one, open): seen and decided by whoever moves it
        // on. The matrix refuses it under an exemption (erasing would destroy the world's
        // record), which closes it: a later allowed cell finds it closed (409) or a new one.
        (
            "GET",
            "/rights/{request_id}/erasure" | "/api/v1/rights-requests/{request_id}/erasure",
        ) => e(RightsManage, N),
        ("POST", "/rights/{request_id}/erasure") => consuming(
            RightsManage,
            form("grounds_unlawful=yes&exemptions_legal_claims=yes"),
        ),
        ("POST", "/api/v1/rights-requests/{request_id}/erasure") => consuming(
            RightsManage,
            json(r#"{"grounds":["unlawful"],"exemptions":["legal_claims"]}"#),
        ),
        // Referrals not taken up: listed as oversight, erased by a reviewer of the referral's
        // service (the DPO and the Caldicott Guardian); the world's referrals are not due, so
        // each allowed cell is refused after the permit (409).
        ("GET", "/api/v1/retention/referrals") => e(OversightApi, N),
        ("POST", "/admin/retention/referrals/{referral_id}/erasure") => consuming(Hold, form("")),
        ("POST", "/api/v1/retention/referrals/{referral_id}/erasure") => {
            consuming(Hold, json("{}"))
        }
        // --- break the glass and oversight ---
        ("GET", "/people/{person_id}/break-glass") => e(BreakGlass, N),
        ("POST", "/people/{person_id}/break-glass") => {
            e(BreakGlass, form("reason=Matrix+cell+emergency+access"))
        }
        ("POST", "/api/v1/people/{person_id}/break-glass") => e(
            BreakGlass,
            json(r#"{"reason":"Matrix cell emergency access"}"#),
        ),
        ("GET", "/break-glass/review" | "/admin/disclosures/review") => e(Oversight, N),
        ("POST", "/break-glass/review/{grant_id}") => {
            consuming(Oversight, form("decision=signed_off&note=Matrix+cell"))
        }
        ("POST", "/admin/disclosures/review/{disclosure_id}") => {
            consuming(Oversight, form("decision=signed_off"))
        }
        ("GET", "/api/v1/disclosures/review") => e(OversightApi, N),
        ("POST", "/api/v1/disclosures/{disclosure_id}/review") => {
            consuming(OversightApi, json(r#"{"escalate":false}"#))
        }
        // --- accounts ---
        ("GET", "/admin/users" | "/admin/users/{staff_id}") => e(AccountsRead, N),
        ("GET", "/admin/users/new") => e(AccountCreate, N),
        ("POST", "/admin/users") => e(
            AccountCreate,
            form("handle=matrix.new.{n}&role=practitioner&service={service_id}"),
        ),
        // `{operation}` is expanded by `operations`.
        ("POST", "/admin/users/{staff_id}/{operation}") => e(AccountDisable, form("")),
        ("POST", "/api/v1/staff/{staff_id}/matters") => e(
            AccountGrant,
            json(
                r#"{"person_id":"{person_id}","matter":"complaint","parts":["identity","note"],"days":7,"reason":"Matrix cell matter"}"#,
            ),
        ),
        // --- services, teams and scopes ---
        (
            "GET",
            "/admin/services"
            | "/admin/services/{service_id}"
            | "/admin/services/{service_id}/scope",
        ) => e(ServicesAdmin, N),
        // The matrix's organisation is governed by a register: a new service is refused (422).
        ("POST", "/admin/services") => lenient(ServicesAdmin, form("name=Matrix+Service+{n}")),
        ("POST", "/admin/services/{service_id}/teams") => {
            e(ServicesAdmin, form("name=Matrix+Team+{n}"))
        }
        // The scope in force, unconfirmed: nobody's reach changes for later cells.
        ("POST", "/admin/services/{service_id}/scope") => e(ServicesAdmin, form("scope=service")),
        // --- the registers ---
        (
            "GET",
            "/admin/recipients/new"
            | "/admin/recipients/{recipient_id}"
            | "/admin/recipients/{recipient_id}/edit"
            | "/admin/consent-purposes/new",
        ) => e(RegisterKeep, N),
        ("POST", "/admin/recipients/new" | "/admin/recipients/{recipient_id}/edit") => lenient(
            RegisterKeep,
            form("name=Matrix+Cell+GP+{n}&kind=health&categories=identity&bases=consent"),
        ),
        ("POST", "/admin/recipients/{recipient_id}/workers") => {
            lenient(RegisterKeep, form("staff_id={target}"))
        }
        ("POST", "/admin/consent-purposes/new") => e(
            RegisterKeep,
            form(
                "service_id={service_id}&code=matrix_{n}&label=Matrix+cell+purpose&form_version=1",
            ),
        ),
        ("GET", "/api/v1/recipients" | "/admin/recipients") => e(Staff, N),
        ("POST", "/api/v1/recipients") => e(
            RegisterKeep,
            json(
                r#"{"name":"Matrix Cell GP {n}","kind":"health","categories":["identity"],"bases":["consent"]}"#,
            ),
        ),
        ("PUT", "/api/v1/recipients/{recipient_id}") => e(
            RegisterKeep,
            json(
                r#"{"name":"Matrix GP","kind":"health","categories":["identity"],"bases":["consent","vital_interests"]}"#,
            ),
        ),
        ("POST", "/api/v1/recipients/{recipient_id}/staff") => {
            lenient(RegisterKeep, json(r#"{"staff_id":"{target}"}"#))
        }
        ("GET", "/api/v1/recipients/{recipient_id}/disclosures") => e(RecipientDisclosures, N),
        ("POST", "/api/v1/services/{service_id}/consent-purposes") => e(
            RegisterKeep,
            json(r#"{"code":"matrix_{n}","label":"Matrix cell purpose","form_version":"1"}"#),
        ),
        ("GET", "/admin/register" | "/admin/register.csv") => e(ProcessingRegister, N),
        _ => return None,
    })
}

/// The account operations `/admin/users/{staff_id}/{operation}` takes, each its own cell; the one
/// that disables the account last.
const OPERATIONS: [(&str, Rule, &str); 7] = [
    ("end-sessions", Rule::AccountDisable, ""),
    (
        "details",
        Rule::AccountDetails,
        "display_name=Matrix+Target&job_title=Matrix+tester",
    ),
    ("reset-two-factor", Rule::AccountChange, ""),
    ("reset-password", Rule::AccountChange, ""),
    (
        "training",
        Rule::AccountTraining,
        "kind=data_protection&completed_on=2026-11-01&valid_for_days=365",
    ),
    (
        "grant",
        Rule::AccountGrant,
        "person_id={person_id}&reason=Matrix+cell+matter&days=7&matter=complaint&part_identity=yes&part_note=yes",
    ),
    ("disable", Rule::AccountDisable, ""),
];

/// What a caller may see of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sees {
    All,
    Referred,
    /// What the trustee's matter opens: the identity details and the plain (unflagged) note.
    Matter,
    Nothing,
}

fn sees(caller: Caller, person: Scope) -> Sees {
    match (caller, person) {
        (c, Scope::In) if c.in_service() => Sees::All,
        (Caller::TrusteeWithMatter, Scope::In) => Sees::Matter,
        (Caller::ProcessorReferred, Scope::In) => Sees::Referred,
        (Caller::BreakGlass, Scope::Out) => Sees::All,
        _ => Sees::Nothing,
    }
}

/// The table's rules, stated plainly.
fn expected(rule: Rule, caller: Caller, scope: Scope, path: &str, method: &str) -> Expect {
    let page = !path.starts_with("/api/");
    let organisation = path.contains("{organisation_id}");
    let names_recipient = path.contains("{recipient_id}");
    let lookup = path.ends_with("/lookups") || path.ends_with("/shares/check");
    use Expect::*;
    let signed_in = if page {
        caller.has_session()
    } else {
        caller.has_token()
    };
    match rule {
        Rule::Public => return Allowed,
        Rule::NoNotice => return NotFound,
        Rule::SignInPost => return Forbidden,
        Rule::SignInFlow => return if signed_in { Allowed } else { SignIn },
        // Sign-out answers with the way back to signing in, whoever asks.
        Rule::OwnSession if path == "/sign-out" => return SignIn,
        _ if !signed_in => return SignIn,
        _ => {}
    }
    let pick = |ok: bool, otherwise: Expect| if ok { Allowed } else { otherwise };
    // A read-only token is refused any change first, whatever it names.
    if caller == Caller::ReadOnlyToken
        && !page
        && (method != "GET" || rule == Rule::RecordExport)
        && !matches!(rule, Rule::Staff)
        && (rule != Rule::RecordExport || sees(caller, scope) == Sees::All)
        && !lookup
    {
        return Forbidden;
    }
    let reads = matches!(sees(caller, scope), Sees::All);
    let reads_referred = matches!(
        sees(caller, scope),
        Sees::All | Sees::Referred | Sees::Matter
    );
    // Changing a record: staff of its service (break-the-glass is read-only); a processor's worker
    // only what was referred.
    let changes = caller.in_service() && scope == Scope::In;
    let in_a = caller.in_service() && scope == Scope::In;
    match rule {
        Rule::Public | Rule::NoNotice | Rule::SignInPost | Rule::SignInFlow => Allowed,
        Rule::Staff | Rule::OwnSession => Allowed,
        Rule::ServicePage => pick(caller.in_service(), Forbidden),
        Rule::PeoplePage => pick(
            caller.in_service()
                || matches!(
                    caller,
                    Caller::ProcessorReferred | Caller::ProcessorNotReferred
                ),
            Forbidden,
        ),
        Rule::ManagersOfService => {
            let manager = matches!(caller, Caller::TeamManager | Caller::ServiceManager);
            if page {
                pick(manager, Forbidden)
            } else {
                pick(manager && scope == Scope::In, NotFound)
            }
        }
        Rule::ServiceApi | Rule::ReferralOfService => pick(in_a, NotFound),
        Rule::OrganisationRead => pick(scope == Scope::In || !organisation, NotFound),
        Rule::RecordReadReferable => pick(reads_referred, NotFound),
        Rule::RecordRead => pick(reads, NotFound),
        // Those who may read the whole record only under a read-only grant are told they may not
        // (a trustee's matter opens parts of it only, and never the export).
        Rule::RecordExport if (caller, scope) == (Caller::BreakGlass, Scope::Out) => Forbidden,
        Rule::RecordExport => pick(
            reads,
            if caller == Caller::ReadOnlyToken {
                Forbidden
            } else {
                NotFound
            },
        ),
        Rule::RecordChangeReferable => pick(
            changes || (caller == Caller::ProcessorReferred && scope == Scope::In),
            NotFound,
        ),
        Rule::RecordChange | Rule::RecordShare => pick(changes, NotFound),
        Rule::ApprovalDecide => pick(
            caller.oversees() || (caller == Caller::ServiceManager && scope == Scope::In),
            NotFound,
        ),
        Rule::Restrict => pick(caller == Caller::Dpo, NotFound),
        Rule::Hold => pick(caller.oversees(), NotFound),
        Rule::AccessHistory => pick(
            reads || matches!(caller, Caller::Dpo | Caller::Caldicott | Caller::Auditor),
            NotFound,
        ),
        Rule::Assign => pick(
            scope == Scope::In && matches!(caller, Caller::TeamManager | Caller::ServiceManager),
            NotFound,
        ),
        Rule::BreakGlass => {
            let ok = caller.in_service() || caller.oversees();
            if page {
                pick(ok, Forbidden)
            } else {
                pick(ok, NotFound)
            }
        }
        Rule::Oversight => pick(caller.oversees(), Forbidden),
        Rule::OversightApi => pick(caller.oversees(), NotFound),
        Rule::AccountsRead => pick(
            matches!(
                caller,
                Caller::Administrator
                    | Caller::Dpo
                    | Caller::Caldicott
                    | Caller::ServiceManager
                    | Caller::TeamManager
            ) && scope == Scope::In,
            if scope == Scope::Out
                && matches!(
                    caller,
                    Caller::Administrator
                        | Caller::Dpo
                        | Caller::Caldicott
                        | Caller::ServiceManager
                        | Caller::TeamManager
                )
            {
                NotFound
            } else {
                Forbidden
            },
        ),
        Rule::AccountCreate => pick(caller == Caller::Administrator, Forbidden),
        // A practitioner's account: administrators and the DPO end its sessions or disable it;
        // only the DPO changes it or records its training (administrators change administrators'
        // and auditors'), and only the DPO gives a trustee a matter. Those who see accounts are
        // told an account out of their organisation is not found; others, that the accounts are
        // not theirs to see. A matter refused names a record, so it answers as a record does.
        // Through the API, a trustee's matter is a decision on a record like any other: whoever may
        // not make it is told the record is not found.
        Rule::AccountGrant if !page => pick(caller == Caller::Dpo && scope == Scope::In, NotFound),
        Rule::ServicesAdmin => pick(caller == Caller::Administrator, Forbidden),
        Rule::AccountDisable
        | Rule::AccountDetails
        | Rule::AccountChange
        | Rule::AccountTraining
        | Rule::AccountGrant => {
            let ok = match rule {
                Rule::AccountDisable | Rule::AccountDetails => {
                    matches!(caller, Caller::Administrator | Caller::Dpo)
                }
                _ => caller == Caller::Dpo,
            };
            let sees_accounts = matches!(
                caller,
                Caller::Administrator
                    | Caller::Dpo
                    | Caller::Caldicott
                    | Caller::ServiceManager
                    | Caller::TeamManager
            );
            match scope {
                Scope::In if ok => Allowed,
                Scope::In if sees_accounts && rule == Rule::AccountGrant => NotFound,
                _ if scope == Scope::Out && sees_accounts => NotFound,
                _ => Forbidden,
            }
        }
        Rule::RegisterKeep => pick(
            caller.oversees() && (scope == Scope::In || !names_recipient),
            if caller.oversees() || !page || path.ends_with("/workers") {
                NotFound
            } else {
                Forbidden
            },
        ),
        // This world loads a register (for its trustees' matters): the page and the CSV are the
        // DPO's and Caldicott Guardian's.
        Rule::ProcessingRegister => pick(caller.oversees(), Forbidden),
        Rule::NobodysToken | Rule::NobodysTask => NotFound,
        Rule::RecipientDisclosures => pick(caller.oversees() && scope == Scope::In, NotFound),
        Rule::RightsLog => pick(in_a || caller.oversees(), NotFound),
        Rule::RightsList => pick(
            caller.oversees() || caller == Caller::ServiceManager,
            if page { Forbidden } else { NotFound },
        ),
        Rule::RightsRead => pick(
            caller.oversees() || (caller == Caller::ServiceManager && scope == Scope::In),
            NotFound,
        ),
        Rule::RightsManage => pick(
            caller == Caller::Dpo || (caller == Caller::ServiceManager && scope == Scope::In),
            NotFound,
        ),
    }
}

struct Member {
    caller: Caller,
    id: Uuid,
    cookie: Option<String>,
    csrf: String,
    token: Option<String>,
}

/// What each marker belongs to, and so who may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// A person's field (A: in scope, B: out).
    Field(Scope, PersonField),
    /// Any other part of a person's record (entries, related people, documents, code word…);
    /// `Some(id)` for an entry (a referral can send it).
    Part(Scope, Option<Uuid>),
    /// A referral into service A or B (its own staff see it).
    Referral(Scope),
}

struct World {
    app: axum::Router,
    confidant: Arc<Confidant<SqlStore, FixedClock>>,
    db: TestDb,
    members: Vec<Member>,
    organisation: Uuid,
    service: [Uuid; 2],
    person: [Uuid; 2],
    /// Two more people, in service A and B, for break-the-glass cells (so nobody's reach to A or B
    /// changes), and a trustee for the "grant" account cells.
    person_c: Uuid,
    person_d: Uuid,
    trustee_target: Uuid,
    document: [Uuid; 2],
    /// A flagged note of each person (never referred).
    entry: [Uuid; 2],
    plan: [Uuid; 2],
    /// A booked appointment later today (in the diary, and a reminder may be sent).
    appointment: [Uuid; 2],
    /// A paper note, transcribed, for the cells that record paper destroyed.
    paper: [Uuid; 2],
    related: [Uuid; 2],
    case: [Uuid; 2],
    referral: [Uuid; 2],
    disclosure: [Uuid; 2],
    approval: [Uuid; 2],
    restriction: [Uuid; 2],
    purpose: [Uuid; 2],
    /// The recipient share cells send to.
    recipient: Uuid,
    /// An account for the administrative cells to act on.
    target: Uuid,
    target_token: Uuid,
    nobodys_task: Uuid,
    glass_grant: Uuid,
    /// A destruction certificate (of a record made and destroyed for it).
    certificate: Uuid,
    worker: [Principal; 2],
    dpo: Principal,
    markers: Vec<(String, Owner)>,
    /// What the referral to the processor's worker sent.
    referred: BTreeSet<PersonField>,
    referred_entry: Uuid,
    /// The processor and the worker the referral names.
    referral_to: (Uuid, Uuid),
    /// The query of [`World::counts`], made once.
    snapshot_sql: std::sync::OnceLock<String>,
}

fn idx(scope: Scope) -> usize {
    match scope {
        Scope::In => 0,
        Scope::Out => 1,
    }
}

fn marker(scope: Scope, n: usize) -> String {
    // Letters only (names take no digits); long enough to occur nowhere by chance.
    let side = if scope == Scope::In { 'a' } else { 'b' };
    let a = char::from(b'a' + u8::try_from(n / 26).unwrap_or(0));
    let b = char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
    format!("Qzmk{side}{a}{b}x")
}

/// A record's fields, every one with a marker (identifiers with distinctive valid values).
fn marked_person(scope: Scope, seed: u64) -> PersonInput {
    let base = Synthetic::new(seed).person();
    let mut input = PersonInput::new();
    for (n, field) in PersonField::ALL.into_iter().enumerate() {
        let spec = field.spec();
        let value = match (field, spec.kind) {
            (PersonField::GivenName | PersonField::FamilyName, _) => Some(marker(scope, n)),
            (PersonField::Email, _) => {
                Some(format!("{}@example.org", marker(scope, n).to_lowercase()))
            }
            (_, ValueKind::Identifier | ValueKind::Date) => base.get(field).map(str::to_owned),
            (_, ValueKind::Line(_) | ValueKind::Text(_)) => {
                Some(format!("{} here", marker(scope, n)))
            }
            (_, ValueKind::Choice(choices)) => choices.first().map(|(c, _)| (*c).to_owned()),
            (_, ValueKind::Document) => None,
        };
        if let Some(v) = value {
            input = input.with(field, v);
        }
    }
    input
}

async fn world(backend: TestBackend) -> anyhow::Result<World> {
    let TestApp {
        db,
        confidant,
        organisation,
        service_a,
        service_b,
        worker_a,
        worker_b,
        dpo,
        ..
    } = TestApp::new(backend).await?;
    // A register names the trustees' matters a trustee can be granted.
    let confidant = confidant.with_register(confidant_testkit::test_register());
    let c = &confidant;
    let p = Purpose::Support;
    let mut markers: Vec<(String, Owner)> = Vec::new();
    let services = [service_a, service_b];
    let workers = [worker_a.clone(), worker_b.clone()];
    let mut person = [Uuid::nil(); 2];
    let mut document = [Uuid::nil(); 2];
    let mut entry = [Uuid::nil(); 2];
    let mut plan = [Uuid::nil(); 2];
    let mut appointment = [Uuid::nil(); 2];
    let mut paper = [Uuid::nil(); 2];
    let mut related = [Uuid::nil(); 2];
    let mut case = [Uuid::nil(); 2];
    let mut referral = [Uuid::nil(); 2];
    let mut restriction = [Uuid::nil(); 2];
    let mut purpose = [Uuid::nil(); 2];
    let mut plain_note = [Uuid::nil(); 2];
    let mut extra = 100;
    let mut next_marker = |scope: Scope| {
        extra += 1;
        marker(scope, extra)
    };
    let gp = c
        .add_recipient(
            &dpo,
            organisation,
            &RecipientInput {
                name: "Matrix GP".to_owned(),
                kind: "health".to_owned(),
                categories: vec!["identity".to_owned()],
                bases: vec!["consent".to_owned(), "vital_interests".to_owned()],
                ..RecipientInput::default()
            },
        )
        .await?;
    for scope in [Scope::In, Scope::Out] {
        let i = idx(scope);
        let worker = &workers[i];
        let created = c
            .create_person(worker, p, services[i], &marked_person(scope, 7 + i as u64))
            .await?;
        person[i] = created.id;
        let read = c.read_person(worker, p, created.id).await?;
        for field in PersonField::ALL {
            if let Some(v) = read.get(field)
                && v.len() >= 8
                && !matches!(field.spec().kind, ValueKind::Choice(_) | ValueKind::Date)
            {
                markers.push((v.to_owned(), Owner::Field(scope, field)));
            }
        }
        case[i] = c.open_case(worker, p, created.id, None).await?.id;
        // A plain note, a flagged one, a plan: each with its marker.
        for (n, flags) in [
            (0, NoteFlags::default()),
            (
                1,
                NoteFlags {
                    serious_harm: true,
                    ..NoteFlags::default()
                },
            ),
        ] {
            let m = next_marker(scope);
            let note = c
                .add_entry(
                    worker,
                    p,
                    created.id,
                    &NewEntry {
                        kind: RecordKind::Note,
                        case_id: None,
                        parent_id: None,
                        contact_type: Some(ContactType::Phone),
                        occurs_at: None,
                        status: None,
                        due_at: None,
                        flags,
                        values: RecordInput::new().with("body", format!("{m} note")),
                    },
                )
                .await?;
            markers.push((m, Owner::Part(scope, Some(note.id))));
            if n == 0 {
                plain_note[i] = note.id;
            } else {
                entry[i] = note.id;
            }
        }
        let m = next_marker(scope);
        let made = c
            .add_entry(
                worker,
                p,
                created.id,
                &NewEntry {
                    kind: RecordKind::Plan,
                    case_id: None,
                    parent_id: None,
                    contact_type: None,
                    occurs_at: None,
                    status: None,
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new().with("title", format!("{m} plan")),
                },
            )
            .await?;
        plan[i] = made.id;
        markers.push((m, Owner::Part(scope, Some(made.id))));
        let (what, place) = (next_marker(scope), next_marker(scope));
        let booked = c
            .add_entry(
                worker,
                p,
                created.id,
                &NewEntry {
                    kind: RecordKind::Appointment,
                    case_id: None,
                    parent_id: None,
                    contact_type: None,
                    occurs_at: Some(c.clock().now() + time::Duration::hours(3)),
                    status: None,
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new()
                        .with("title", format!("{what} meeting"))
                        .with("place", format!("{place} hall")),
                },
            )
            .await?;
        appointment[i] = booked.id;
        markers.push((what, Owner::Part(scope, Some(booked.id))));
        markers.push((place, Owner::Part(scope, Some(booked.id))));
        paper[i] = c
            .add_entry(
                worker,
                p,
                created.id,
                &NewEntry {
                    kind: RecordKind::PaperNote,
                    case_id: None,
                    parent_id: None,
                    contact_type: None,
                    occurs_at: None,
                    status: Some(EntryStatus::Transcribed),
                    due_at: None,
                    flags: NoteFlags::default(),
                    values: RecordInput::new().with("description", "Matrix paper"),
                },
            )
            .await?
            .id;
        let (g, f) = (next_marker(scope), next_marker(scope));
        related[i] = c
            .add_related(
                worker,
                p,
                created.id,
                Relationship::NextOfKin,
                None,
                &RecordInput::new()
                    .with("given_name", &g)
                    .with("family_name", &f),
            )
            .await?
            .id;
        markers.push((g, Owner::Part(scope, None)));
        markers.push((f, Owner::Part(scope, None)));
        let (content, name) = (next_marker(scope), next_marker(scope));
        document[i] = c
            .upload_document(
                worker,
                p,
                created.id,
                &Upload {
                    file_name: &format!("{}.txt", name.to_lowercase()),
                    content: format!("A letter: {content}.\n").as_bytes(),
                    description: None,
                    is_photo: false,
                },
            )
            .await?
            .id;
        markers.push((content, Owner::Part(scope, None)));
        c.upload_document(
            worker,
            p,
            created.id,
            &Upload {
                file_name: "photo.png",
                content: PNG,
                description: None,
                is_photo: true,
            },
        )
        .await?;
        markers.push((name.to_lowercase(), Owner::Part(scope, None)));
        let code_word = next_marker(scope);
        c.set_contact_preferences(
            worker,
            p,
            created.id,
            &PreferencesInput {
                channels: BTreeMap::from([("phone".to_owned(), "allowed".to_owned())]),
                no_voicemail: true,
                code_word: Some(code_word.clone()),
                ..PreferencesInput::default()
            },
        )
        .await?;
        markers.push((code_word, Owner::Part(scope, None)));
        purpose[i] = c
            .add_consent_purpose(
                &dpo,
                services[i],
                "matrix_gp",
                "Sharing with your GP",
                Some(gp.id),
                false,
                "1",
            )
            .await?
            .id;
        c.record_consent(worker, p, created.id, purpose[i], "granted", None)
            .await?;
        let r = c.restrict(&dpo, p, created.id, "restriction").await?;
        c.lift_restriction(&dpo, p, created.id, r.id).await?;
        restriction[i] = r.id;
        let (given, reason) = (next_marker(scope), next_marker(scope));
        referral[i] = c
            .create_referral(
                worker,
                p,
                services[i],
                &NewReferral {
                    source: ReferralSource::SelfReferral,
                    partner_person_id: None,
                    values: RecordInput::new()
                        .with("given_name", &given)
                        .with("family_name", "Referred")
                        .with("reason", format!("{reason} reason")),
                },
            )
            .await?
            .record
            .id;
        markers.push((given, Owner::Referral(scope)));
        markers.push((reason, Owner::Referral(scope)));
    }
    let person_c = c
        .create_person(&worker_b, p, service_b, &Synthetic::new(99).person())
        .await?
        .id;
    let person_d = c
        .create_person(&worker_a, p, service_a, &Synthetic::new(98).person())
        .await?
        .id;
    // A record destroyed at once, for its certificate.
    let certificate = {
        let gone = c
            .create_person(&worker_a, p, service_a, &Synthetic::new(97).person())
            .await?
            .id;
        c.destroy_person(
            &dpo,
            p,
            gone,
            "dpo_decision",
            "Made for the matrix, destroyed for it",
        )
        .await?
        .record
        .id
    };
    let trustee_target = c
        .create_staff(
            &operator(),
            organisation,
            None,
            Role::Trustee,
            "matrix.trustee.target",
        )
        .await?
        .id;
    // Staff: one of each kind of caller.
    let mut members = Vec::new();
    let mut processor = None;
    let mut referred_disclosure = Uuid::nil();
    let mut referral_to = (Uuid::nil(), Uuid::nil());
    let mut glass_grant = Uuid::nil();
    let referred = BTreeSet::from([PersonField::GivenName, PersonField::Postcode]);
    for caller in CALLERS {
        let Some(role) = caller.role() else {
            members.push(Member {
                caller,
                id: Uuid::nil(),
                cookie: None,
                csrf: String::new(),
                token: None,
            });
            continue;
        };
        let service = caller.in_service().then_some(service_a);
        let handle = format!("matrix.{}", format!("{caller:?}").to_lowercase());
        let staff = c
            .create_staff(&operator(), organisation, service, role, &handle)
            .await?;
        train(c, staff.id).await?;
        match caller {
            Caller::TrusteeWithMatter => {
                c.grant_trustee_matter(
                    &dpo,
                    staff.id,
                    person[0],
                    &confidant_testkit::complaint_matter(30),
                )
                .await?;
            }
            Caller::ProcessorReferred | Caller::ProcessorNotReferred => {
                let today = c.clock().now().date();
                let processor_id = match processor {
                    Some(id) => id,
                    None => {
                        let id = c
                            .add_recipient(
                                &dpo,
                                organisation,
                                &RecipientInput {
                                    name: "Matrix Processor Ltd".to_owned(),
                                    kind: "processor".to_owned(),
                                    categories: vec![
                                        "identity".to_owned(),
                                        "case_notes".to_owned(),
                                    ],
                                    bases: vec!["contract".to_owned()],
                                    dpa_starts_on: Some(
                                        (today - time::Duration::days(1)).to_string(),
                                    ),
                                    dpa_ends_on: Some(
                                        (today + time::Duration::days(365)).to_string(),
                                    ),
                                    ..RecipientInput::default()
                                },
                            )
                            .await?
                            .id;
                        processor = Some(id);
                        id
                    }
                };
                c.assign_processor_staff(&dpo, staff.id, processor_id)
                    .await?;
                if caller == Caller::ProcessorReferred {
                    referral_to = (processor_id, staff.id);
                    referred_disclosure = c
                        .share(
                            &worker_a,
                            p,
                            person[0],
                            &ShareRequest {
                                recipient_id: processor_id,
                                fields: referred.iter().map(|f| f.code().to_owned()).collect(),
                                entries: EntrySelection::Some(vec![plain_note[0]]),
                                basis: "contract".to_owned(),
                                article9: Some("health_social_care".to_owned()),
                                schedule1: Some("p1_health_social_care".to_owned()),
                                reason: "Referred for the matrix test".to_owned(),
                                person_told: true,
                                processor_staff_id: Some(staff.id),
                                referral_days: Some(30),
                                ..ShareRequest::default()
                            },
                        )
                        .await?
                        .disclosure_id;
                }
            }
            Caller::BreakGlass => {
                let actor = c.acting_as(&operator(), &staff).await?;
                glass_grant = c
                    .break_glass(&actor, person[1], "Matrix test: an emergency")
                    .await?
                    .id;
            }
            _ => {}
        }
        let (cookie, csrf) = if caller.has_session() {
            let full = sign_in_fully(c, &staff, TEST_PASSWORD).await?;
            let session = c
                .session(&full.token)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no session"))?;
            (Some(full.token), session.record.csrf_token)
        } else {
            (None, String::new())
        };
        let scope = if caller == Caller::ReadOnlyToken {
            TokenScope::Read
        } else {
            TokenScope::ReadWrite
        };
        let token = c
            .issue_token(&operator(), &staff, time::Duration::days(1), scope)
            .await?;
        members.push(Member {
            caller,
            id: staff.id,
            cookie,
            csrf,
            token: Some(token.expose().to_owned()),
        });
    }
    // A disclosure of B (a share to the GP), and an approval asked for on each record.
    let disclosure_b = c
        .share(
            &worker_b,
            p,
            person[1],
            &ShareRequest {
                recipient_id: gp.id,
                fields: vec!["given_name".to_owned()],
                basis: "vital_interests".to_owned(),
                reason: "Matrix test: a share".to_owned(),
                person_told: true,
                ..ShareRequest::default()
            },
        )
        .await?
        .disclosure_id;
    let mut approval = [Uuid::nil(); 2];
    for (i, worker) in workers.iter().enumerate() {
        approval[i] = c
            .request_approval(
                worker,
                p,
                person[i],
                gp.id,
                &["health".to_owned()],
                "Matrix test: an approval",
            )
            .await?
            .id;
    }
    let target_staff = c
        .create_staff(
            &operator(),
            organisation,
            Some(service_a),
            Role::Practitioner,
            "matrix.target",
        )
        .await?;
    c.issue_token(
        &operator(),
        &target_staff,
        time::Duration::days(1),
        TokenScope::Read,
    )
    .await?;
    let target_token = c
        .tokens_of(target_staff.id)
        .await?
        .first()
        .map(|t| t.id)
        .ok_or_else(|| anyhow::anyhow!("no token"))?;
    // Service B's referral's triage task: for service B's staff, none of whom call.
    let nobodys_task: String = {
        let mut conn = db.raw().await?;
        sqlx::query_scalar("SELECT id FROM task WHERE subject_id = $1")
            .bind(referral[1].to_string())
            .fetch_one(&mut conn)
            .await?
    };
    let nobodys_task = Uuid::parse_str(&nobodys_task)?;
    let confidant = Arc::new(confidant);
    let app = confidant_web::router(confidant.clone(), confidant_web::WebConfig::default());
    Ok(World {
        nobodys_task,
        app,
        confidant,
        db,
        members,
        organisation,
        service: services,
        person,
        person_c,
        person_d,
        trustee_target,
        document,
        entry,
        plan,
        appointment,
        paper,
        related,
        case,
        referral,
        disclosure: [referred_disclosure, disclosure_b],
        approval,
        restriction,
        purpose,
        recipient: gp.id,
        target: target_staff.id,
        target_token,
        glass_grant,
        certificate,
        worker: workers,
        dpo,
        markers,
        referred,
        referred_entry: plain_note[0],
        referral_to,
        snapshot_sql: std::sync::OnceLock::new(),
    })
}

impl World {
    /// The markers this caller may not see.
    fn forbidden(&self, caller: Caller) -> Vec<&(String, Owner)> {
        self.markers
            .iter()
            .filter(|(_, owner)| match owner {
                Owner::Field(s, field) => match sees(caller, *s) {
                    Sees::All => false,
                    Sees::Referred => !self.referred.contains(field),
                    Sees::Matter => field.spec().group != FieldGroup::Identity,
                    Sees::Nothing => true,
                },
                // The matter opens notes, flagged ones excepted: the plain note is the one the
                // processor was referred too.
                Owner::Part(s, entry) => match sees(caller, *s) {
                    Sees::All => false,
                    Sees::Referred | Sees::Matter => *entry != Some(self.referred_entry),
                    Sees::Nothing => true,
                },
                Owner::Referral(s) => !(caller.in_service() && *s == Scope::In),
            })
            .collect()
    }

    /// A rights request about record `i`: the access request there is, or a new one (the DPO's).
    async fn rights_request(&self, i: usize) -> anyhow::Result<Uuid> {
        self.request_of(i, confidant_core::store::RightKind::Access, false)
            .await
    }

    /// An open request for erasure about record `i`: the one there is, or a new one (the DPO's).
    async fn erasure_request(&self, i: usize) -> anyhow::Result<Uuid> {
        self.request_of(i, confidant_core::store::RightKind::Erasure, true)
            .await
    }

    /// A request of `kind` about record `i` (an open one, if `open`), or a new one.
    async fn request_of(
        &self,
        i: usize,
        kind: confidant_core::store::RightKind,
        open: bool,
    ) -> anyhow::Result<Uuid> {
        let store = self.confidant.store();
        if let Some(r) = store
            .rights_requests_about(self.person[i])
            .await?
            .iter()
            .find(|r| r.kind == kind && (!open || r.state.is_open()))
        {
            return Ok(r.id);
        }
        Ok(self
            .confidant
            .log_rights_request(
                &self.dpo,
                self.person[i],
                confidant_core::rights::RequestInput {
                    kind: kind.code(),
                    channel: "email",
                    received_on: "2026-11-20",
                    representative_id: None,
                    authority: None,
                    identity_check: Some("contact_on_record"),
                },
            )
            .await?
            .id)
    }

    /// A retention review of record `i` waiting for a decision: the one there is, or a new one.
    async fn review_waiting(&self, i: usize) -> anyhow::Result<Uuid> {
        use confidant_core::store::{NewReview, RetentionState};
        let store = self.confidant.store();
        let waiting = store
            .reviews(self.organisation, &[RetentionState::ToReview], 100)
            .await?
            .into_iter()
            .find(|r| r.person_id == self.person[i]);
        if let Some(r) = waiting {
            return Ok(r.id);
        }
        let id = Uuid::now_v7();
        let review = NewReview {
            id,
            organisation_id: self.organisation,
            service_id: self.service[i],
            person_id: self.person[i],
            rules: "records".to_owned(),
            due_on: "2026-11-01".to_owned(),
            found_at_micros: 0,
        };
        let audit = confidant_core::audit::AuditDraft::for_tests(
            "retention.sweep",
            None,
            self.confidant.clock().now(),
        );
        anyhow::ensure!(store.queue_reviews(&[review], audit).await? == 1);
        Ok(id)
    }

    /// Fills a path's (or body's) parameters for a cell. Consumable targets are made afresh for
    /// each cell that would consume them.
    async fn fill(
        &self,
        text: &str,
        scope: Scope,
        operation: Option<&str>,
        n: usize,
        fresh: bool,
    ) -> anyhow::Result<String> {
        let i = idx(scope);
        let random = Uuid::new_v4();
        let mut referral = self.referral[i];
        if fresh && text.contains("{referral_id}") {
            referral = self
                .confidant
                .create_referral(
                    &self.worker[i],
                    Purpose::Support,
                    self.service[i],
                    &NewReferral {
                        source: ReferralSource::SelfReferral,
                        partner_person_id: None,
                        values: RecordInput::new()
                            .with("given_name", "Fresh")
                            .with("family_name", "Referral"),
                    },
                )
                .await?
                .record
                .id;
        }
        let mut restriction = self.restriction[i];
        if fresh && text.contains("{restriction_id}") {
            let live = self
                .confidant
                .store()
                .restrictions_of(&PersonAccess::for_tests(self.person[i]))
                .await?
                .into_iter()
                .find(|r| r.lifted_at_micros.is_none());
            restriction = match live {
                Some(r) => r.id,
                None => {
                    self.confidant
                        .restrict(&self.dpo, Purpose::Support, self.person[i], "restriction")
                        .await?
                        .id
                }
            };
        }
        let mut hold = Uuid::nil();
        if text.contains("{hold_id}") {
            let live = self
                .confidant
                .store()
                .holds_of(&PersonAccess::for_tests(self.person[i]))
                .await?
                .into_iter()
                .map(|(h, _)| h)
                .find(|h| h.live());
            hold = match live {
                Some(h) => h.id,
                None => {
                    self.confidant
                        .place_hold(
                            &self.dpo,
                            Purpose::Support,
                            self.person[i],
                            "complaint",
                            None,
                            "A hold for the matrix to release",
                        )
                        .await?
                        .id
                }
            };
        }
        let mut query_hold = Uuid::nil();
        if text.contains("{query_hold_id}") {
            // A live hold on a query over the scope's service that covers no record (a period
            // long before the world), for the DPO's cell to release.
            let live = self
                .confidant
                .store()
                .query_holds(self.organisation)
                .await?
                .into_iter()
                .map(|(h, _)| h)
                .find(|h| h.service_id == self.service[i] && h.released_at_micros.is_none());
            query_hold = match live {
                Some(h) => h.id,
                None => {
                    self.confidant
                        .place_query_hold(
                            &self.dpo,
                            self.organisation,
                            QueryHoldInput {
                                kind: "inquiry",
                                service_id: self.service[i],
                                from_on: "2000-01-01",
                                to_on: "2000-01-02",
                                reason: "A hold for the matrix to release",
                            },
                        )
                        .await?
                        .id
                }
            };
        }
        let mut rights_request = Uuid::nil();
        if text.contains("{request_id}/erasure") {
            rights_request = self.erasure_request(i).await?;
        } else if text.contains("{request_id}") {
            rights_request = self.rights_request(i).await?;
        }
        let mut request_step = Uuid::nil();
        if text.contains("{step_id}") {
            request_step = self
                .confidant
                .store()
                .rights_request_steps(rights_request)
                .await?
                .iter()
                .find(|s| s.step == confidant_core::store::RequestStep::IdentityConfirmed)
                .map_or(Uuid::nil(), |s| s.id);
        }
        let mut review = Uuid::nil();
        if text.contains("{review_id}") {
            review = self.review_waiting(i).await?;
        }
        let mut related = self.related[i];
        if fresh && text.contains("{related_id}") {
            related = self
                .confidant
                .add_related(
                    &self.worker[i],
                    Purpose::Support,
                    self.person[i],
                    Relationship::Family,
                    None,
                    &RecordInput::new()
                        .with("given_name", "Fresh")
                        .with("family_name", "Relative"),
                )
                .await?
                .id;
        }
        // Ending a referral of A ends a fresh one, sent again to the same worker with the same
        // scope, so the worker keeps the first.
        let mut disclosure = self.disclosure[i];
        if fresh && scope == Scope::In && text.contains("{disclosure_id}/end") {
            let (processor, worker) = self.referral_to;
            disclosure = self
                .confidant
                .share(
                    &self.worker[0],
                    Purpose::Support,
                    self.person[0],
                    &ShareRequest {
                        recipient_id: processor,
                        fields: self.referred.iter().map(|f| f.code().to_owned()).collect(),
                        entries: EntrySelection::Some(vec![self.referred_entry]),
                        basis: "contract".to_owned(),
                        article9: Some("health_social_care".to_owned()),
                        schedule1: Some("p1_health_social_care".to_owned()),
                        reason: "Referred again for the matrix test".to_owned(),
                        person_told: true,
                        processor_staff_id: Some(worker),
                        referral_days: Some(30),
                        ..ShareRequest::default()
                    },
                )
                .await?
                .disclosure_id;
        }
        let break_glass_target = if scope == Scope::Out {
            self.person_c
        } else {
            self.person_d
        };
        let person = if text.contains("/break-glass") && !text.contains("review") {
            break_glass_target
        } else {
            self.person[i]
        };
        let organisation = if scope == Scope::In {
            self.organisation
        } else {
            random
        };
        let recipient = if scope == Scope::In || !text.starts_with("/a") {
            self.recipient
        } else {
            random
        };
        let staff = match (scope, operation) {
            (Scope::Out, _) => random,
            (Scope::In, Some("grant")) => self.trustee_target,
            (Scope::In, _) if text.ends_with("/matters") => self.trustee_target,
            (Scope::In, _) => self.target,
        };
        let service_slug = if scope == Scope::In {
            "recovery-service".to_owned()
        } else {
            "no-such-service".to_owned()
        };
        let given_name = self
            .markers
            .iter()
            .find(|(_, owner)| *owner == Owner::Field(Scope::In, PersonField::GivenName))
            .map(|(m, _)| m.clone())
            .unwrap_or_default();
        let replacements: [(&str, String); 32] = [
            ("{person_id}", person.to_string()),
            ("{service_id}", self.service[i].to_string()),
            ("{organisation_id}", organisation.to_string()),
            ("{document_id}", self.document[i].to_string()),
            ("{entry_id}", self.entry[i].to_string()),
            ("{plan_id}", self.plan[i].to_string()),
            ("{related_id}", related.to_string()),
            ("{case_id}", self.case[i].to_string()),
            ("{referral_id}", referral.to_string()),
            ("{disclosure_id}", disclosure.to_string()),
            ("{approval_id}", self.approval[i].to_string()),
            ("{restriction_id}", restriction.to_string()),
            ("{hold_id}", hold.to_string()),
            ("{query_hold_id}", query_hold.to_string()),
            ("{certificate_id}", self.certificate.to_string()),
            ("{review_id}", review.to_string()),
            ("{request_id}", rights_request.to_string()),
            ("{step_id}", request_step.to_string()),
            ("{purpose_id}", self.purpose[i].to_string()),
            ("{recipient_id}", recipient.to_string()),
            ("{staff_id}", staff.to_string()),
            ("{target}", self.target.to_string()),
            ("{token_id}", self.target_token.to_string()),
            ("{task_id}", self.nobodys_task.to_string()),
            ("{grant_id}", self.glass_grant.to_string()),
            ("{group}", "identity".to_owned()),
            (
                "{operation}",
                operation.unwrap_or("end-sessions").to_owned(),
            ),
            ("{service}", service_slug),
            ("{n}", n.to_string()),
            // The first item of a rights request's bundle (once a cell has compiled it).
            ("{position}", "0".to_owned()),
            ("{postcode}", "LS1+4AP".to_owned()),
            // The same given name again, so its marker stays on the record for later cells.
            ("{given_name}", given_name),
        ];
        // Pages change plans and goals, not notes: the entry a page edits is the plan; a
        // reminder is of the appointment.
        let mut out = text
            .replace(
                "/entries/{entry_id}/edit",
                &format!("/entries/{}/edit", self.plan[i]),
            )
            .replace(
                "/appointments/{entry_id}/reminder",
                &format!("/appointments/{}/reminder", self.appointment[i]),
            )
            .replace(
                "/entries/{entry_id}/destruction",
                &format!("/entries/{}/destruction", self.paper[i]),
            );
        for (from, to) in replacements {
            out = out.replace(from, &to);
        }
        Ok(out)
    }

    async fn request(
        &self,
        cell: &Cell,
        entry: &Entry,
        member: &Member,
        scope: Scope,
        n: usize,
        csrf: Csrf<'_>,
    ) -> anyhow::Result<(Request<Body>, bool)> {
        let (method, path, operation) = (&cell.method, cell.path.as_str(), cell.operation);
        let page = !path.starts_with("/api/");
        let fresh = entry.consumes;
        let uri = self.fill(path, scope, operation, n, fresh).await?;
        let mut builder = Request::builder().method(method.clone()).uri(uri);
        if page {
            if let Some(cookie) = &member.cookie {
                builder = builder.header(header::COOKIE, format!("confidant-session={cookie}"));
            }
        } else if let Some(token) = &member.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let token = match csrf {
            Csrf::Own => Some(member.csrf.as_str()),
            Csrf::Missing => None,
            Csrf::Other(other) => Some(other),
        };
        let request = match &entry.body {
            Body_::None => builder.body(Body::empty())?,
            Body_::Form(fields) => {
                let fields = self.fill(fields, scope, operation, n, false).await?;
                let body = match token {
                    Some(csrf) if fields.is_empty() => format!("csrf={csrf}"),
                    Some(csrf) => format!("csrf={csrf}&{fields}"),
                    None => fields,
                };
                builder
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))?
            }
            Body_::Json(text) => {
                let text = self.fill(text, scope, operation, n, false).await?;
                builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(text))?
            }
            Body_::Multipart => {
                let csrf_part = token
                    .map(|csrf| {
                        format!(
                            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
                        )
                    })
                    .unwrap_or_default();
                // A photo must be an image; any other upload is a document.
                let (name, kind, content): (&str, &str, &[u8]) = if path.ends_with("/photo") {
                    ("photo.png", "image/png", PNG)
                } else {
                    ("matrix.txt", "text/plain", b"A matrix cell's upload.\n")
                };
                let mut body = format!(
                    "{csrf_part}--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                     Content-Type: {kind}\r\n\r\n"
                )
                .into_bytes();
                body.extend_from_slice(content);
                body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
                builder
                    .header(
                        header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(Body::from(body))?
            }
            Body_::Raw => builder
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header("x-file-name", "matrix.txt")
                .body(Body::from("A matrix cell's upload.\n"))?,
        };
        Ok((request, page))
    }

    /// Sends a request that must be refused with 403 and change nothing: no row but at most its
    /// own audit event, and no `ok` event.
    async fn refused(
        &self,
        request: Request<Body>,
        what: &str,
        failures: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let counts = self.counts().await?;
        let head = self.confidant.store().audit_head().await?;
        let response = self.app.clone().oneshot(request).await?;
        if response.status() != StatusCode::FORBIDDEN {
            failures.push(format!("{what}: expected 403, got {}", response.status()));
        }
        let changed = changed(&counts, &self.counts().await?);
        if !changed.is_empty() {
            failures.push(format!("{what}: changed {changed:?}"));
        }
        let from = head.map_or(1, |h| h.seq + 1);
        let events = self.confidant.store().audit_events(from, 100).await?;
        if events.iter().any(|e| e.outcome == "ok") {
            failures.push(format!("{what}: left an ok event"));
        }
        Ok(())
    }

    /// Every table's state: its row count and a digest of its rows (every column but the time a
    /// session was last seen), so a refusal that changed a row in place is caught as well as one
    /// that added or removed one. The audit chain is compared by count only (it only grows; its
    /// events are checked one by one).
    async fn counts(&self) -> anyhow::Result<BTreeMap<String, (i64, u64)>> {
        let mut conn = self.db.raw().await?;
        let sqlite = self.db.backend == TestBackend::Sqlite;
        if self.snapshot_sql.get().is_none() {
            let sql = snapshot_sql(&mut conn, sqlite).await?;
            let _ = self.snapshot_sql.set(sql);
        }
        let sql = self.snapshot_sql.get().cloned().unwrap_or_default();
        let mut out = BTreeMap::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await?
        {
            let rows: Option<String> = row.get(2);
            let mut hasher = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&rows, &mut hasher);
            out.insert(
                row.get::<String, _>(0),
                (row.get::<i64, _>(1), std::hash::Hasher::finish(&hasher)),
            );
        }
        Ok(out)
    }
}

/// One query giving every table's name, row count and rows (every column but the time a session
/// was last seen, in a stable order); the audit tables by count only.
async fn snapshot_sql(conn: &mut sqlx::AnyConnection, sqlite: bool) -> anyhow::Result<String> {
    let columns_sql = if sqlite {
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
         ORDER BY m.name, p.cid"
    } else {
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_name = c.table_name \
         AND t.table_schema = c.table_schema \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         AND c.table_name NOT LIKE '_sqlx%' ORDER BY c.table_name, c.ordinal_position"
    };
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sqlx::query(columns_sql).fetch_all(&mut *conn).await? {
        columns
            .entry(row.get::<String, _>(0))
            .or_default()
            .push(row.get::<String, _>(1));
    }
    let parts: Vec<String> = columns
        .iter()
        .map(|(table, cols)| {
            if table.starts_with("audit_") {
                return format!("SELECT '{table}', COUNT(*), NULL FROM {table}");
            }
            let text: Vec<String> = cols
                .iter()
                .filter(|c| c.as_str() != "last_seen_at")
                .map(|c| {
                    if sqlite {
                        format!("quote(\"{c}\")")
                    } else {
                        format!("coalesce(\"{c}\"::text, 'NULL')")
                    }
                })
                .collect();
            if sqlite {
                format!(
                    "SELECT '{table}', COUNT(*), group_concat(r, ';') FROM \
                     (SELECT {} AS r FROM {table} ORDER BY r)",
                    text.join(" || '|' || ")
                )
            } else {
                format!(
                    "SELECT '{table}', COUNT(*), string_agg(r, ';' ORDER BY r) FROM \
                     (SELECT concat_ws('|', {}) AS r FROM {table}) x",
                    text.join(", ")
                )
            }
        })
        .collect();
    Ok(parts.join(" UNION ALL "))
}

/// Whether a refusal must leave its own audit event (`denied` or `not_found`). Not for what is no
/// decision on anyone's data: a public page that does not exist, a sign-in form without its token,
/// Nor, as docs/security.md lists among the known
/// gaps, for an administrative look-up of an id that names nothing in the caller's organisation
/// (a recipient, an account, an organisation) or revoking a token that is not one's own.
fn audited(rule: Rule, scope: Scope, path: &str) -> bool {
    let administrative = ["{recipient_id}", "{staff_id}", "{organisation_id}"]
        .iter()
        .any(|id| path.contains(id));
    match rule {
        Rule::Public | Rule::NoNotice | Rule::SignInPost | Rule::NobodysToken => false,
        _ => !(scope == Scope::Out && administrative),
    }
}

/// The tables whose rows differ between two snapshots, but for at most one new audit event.
fn changed(
    before: &BTreeMap<String, (i64, u64)>,
    after: &BTreeMap<String, (i64, u64)>,
) -> Vec<String> {
    before
        .iter()
        .filter(|(table, (n, digest))| {
            let (now, now_digest) = after.get(*table).copied().unwrap_or((0, 0));
            if table.as_str() == "audit_event" {
                now > n + 1
            } else {
                now != *n || now_digest != *digest
            }
        })
        .map(|(table, _)| table.clone())
        .collect()
}

/// Which CSRF token a page's form carries.
#[derive(Debug, Clone, Copy)]
enum Csrf<'a> {
    /// The session's own.
    Own,
    /// None at all.
    Missing,
    /// Another session's (valid for that session only).
    Other(&'a str),
}

/// What a response means.
fn outcome(status: StatusCode, location: &str, page: bool, entry: &Entry) -> Option<Expect> {
    if (status.is_redirection()
        && (location.starts_with("/sign-in") || location.split('?').next() == Some("/lock")))
        || (!page && status == StatusCode::UNAUTHORIZED)
    {
        Some(Expect::SignIn)
    } else if status.is_success()
        || status.is_redirection()
        || (entry.consumes && status == StatusCode::CONFLICT)
        || (entry.invalid_ok
            && matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ))
    {
        Some(Expect::Allowed)
    } else if status == StatusCode::NOT_FOUND {
        Some(Expect::NotFound)
    } else if status == StatusCode::FORBIDDEN {
        Some(Expect::Forbidden)
    } else {
        None
    }
}

/// The record's navigation offers a processor's worker only the parts a referral can send; the
/// service's own staff, every part. (Run first: the matrix ends every session.)
async fn record_navigation(world: &World) -> anyhow::Result<()> {
    for (caller, offered) in [
        (Caller::ProcessorReferred, false),
        (Caller::Practitioner, true),
    ] {
        let member = world
            .members
            .iter()
            .find(|m| m.caller == caller)
            .ok_or_else(|| anyhow::anyhow!("no {caller:?}"))?;
        let person = world.person[0];
        let request = Request::builder()
            .uri(format!("/people/{person}/notes"))
            .header(
                header::COOKIE,
                format!(
                    "confidant-session={}",
                    member.cookie.clone().unwrap_or_default()
                ),
            )
            .body(Body::empty())?;
        let response = world.app.clone().oneshot(request).await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "{caller:?}: {}",
            response.status()
        );
        let page =
            String::from_utf8_lossy(&axum::body::to_bytes(response.into_body(), 1 << 24).await?)
                .into_owned();
        anyhow::ensure!(
            page.contains(&format!("/people/{person}/plans\"")),
            "{caller:?}"
        );
        for part in ["documents", "contact", "sharing", "history"] {
            let link = format!("/people/{person}/{part}\"");
            anyhow::ensure!(
                page.contains(&link) == offered,
                "{caller:?}: a link to {part} {}",
                if offered { "is missing" } else { "is offered" }
            );
        }
    }
    Ok(())
}

/// One planned cell.
struct Cell {
    method: Method,
    path: String,
    operation: Option<&'static str>,
    rule: Rule,
}

async fn matrix(backend: TestBackend) -> anyhow::Result<()> {
    let world = world(backend).await?;
    record_navigation(&world).await?;
    let registered = confidant_web::routes::<SqlStore, FixedClock>().table();
    // Every registered route is in the table.
    let missing: Vec<String> = registered
        .iter()
        .filter(|r| table(&r.method, &r.path).is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        missing.is_empty(),
        "routes registered but missing from the matrix:\n{}",
        missing.join("\n")
    );
    let mut cells = Vec::new();
    for r in &registered {
        if r.path == "/admin/users/{staff_id}/{operation}" {
            for (operation, rule, _) in OPERATIONS {
                cells.push(Cell {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    operation: Some(operation),
                    rule,
                });
            }
        } else if let Some(entry) = table(&r.method, &r.path) {
            cells.push(Cell {
                method: r.method.clone(),
                path: r.path.clone(),
                operation: None,
                rule: entry.rule,
            });
        }
    }
    // Routes that end the caller's own session run last, sign-out the very last.
    cells.sort_by_key(|cell| match (cell.rule, cell.path.as_str()) {
        (_, "/sign-out") => 3,
        (Rule::OwnSession, _) => 2,
        (_, "/admin/users/{staff_id}/{operation}") => 1,
        _ => 0,
    });
    // While mending a cell: `MATRIX_ONLY=<part of a path>` runs only the matching cells, and each
    // wrong answer then shows the start of its body.
    let only = std::env::var("MATRIX_ONLY").ok();
    if let Some(part) = &only {
        cells.retain(|cell| cell.path.contains(part.as_str()));
    }
    let mut failures = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut n = 0;
    let mut forged = 0;
    let mut unaudited: Vec<String> = Vec::new();
    for cell in &cells {
        let mut entry =
            table(&cell.method, &cell.path).ok_or_else(|| anyhow::anyhow!("no entry"))?;
        if let Some(op) = cell.operation
            && let Some((_, _, body)) = OPERATIONS.iter().find(|(o, _, _)| *o == op)
        {
            entry.body = form(body);
        }
        let scopes: &[Scope] = if cell.path.contains('{') {
            &[Scope::In, Scope::Out]
        } else {
            &[Scope::In]
        };
        for member in &world.members {
            for &scope in scopes {
                n += 1;
                let want = expected(
                    cell.rule,
                    member.caller,
                    scope,
                    &cell.path,
                    cell.method.as_str(),
                );
                // A page's change the caller may make is first sent forged: without the form's
                // CSRF token, then with another session's. Each is refused and changes nothing.
                let page_change = !cell.path.starts_with("/api/") && cell.method != Method::GET;
                let signs_out = cell.path == "/sign-out" && member.cookie.is_some();
                if page_change && (want == Expect::Allowed || signs_out) && member.cookie.is_some()
                {
                    let other = world
                        .members
                        .iter()
                        .find(|m| m.caller != member.caller && m.cookie.is_some())
                        .map(|m| m.csrf.as_str())
                        .unwrap_or("forged");
                    for csrf in [Csrf::Missing, Csrf::Other(other)] {
                        forged += 1;
                        let (request, _) =
                            world.request(cell, &entry, member, scope, n, csrf).await?;
                        let what = format!(
                            "{} {}{} as {:?} with {csrf:?} CSRF token ({scope:?})",
                            cell.method,
                            cell.path,
                            cell.operation
                                .map(|o| format!(" [{o}]"))
                                .unwrap_or_default(),
                            member.caller,
                        );
                        world.refused(request, &what, &mut failures).await?;
                    }
                }
                let (request, page) = world
                    .request(cell, &entry, member, scope, n, Csrf::Own)
                    .await?;
                // Signing out is allowed to anyone signed in; its answer is the way to sign in.
                let before = if want == Expect::Allowed || signs_out {
                    None
                } else {
                    Some((
                        world.counts().await?,
                        world.confidant.store().audit_head().await?,
                    ))
                };
                let response = world.app.clone().oneshot(request).await?;
                let status = response.status();
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await?;
                let body = String::from_utf8_lossy(&bytes).to_lowercase();
                let got = outcome(status, &location, page, &entry);
                let what = format!(
                    "{} {}{} as {:?}={} ({scope:?})",
                    cell.method,
                    cell.path,
                    cell.operation
                        .map(|o| format!(" [{o}]"))
                        .unwrap_or_default(),
                    member.caller,
                    member.id
                );
                *seen.entry(format!("{want:?}")).or_default() += 1;
                if got != Some(want) {
                    let shown = if only.is_some() {
                        let events = world
                            .confidant
                            .store()
                            .audit_events(1, 100_000)
                            .await?
                            .into_iter()
                            .rev()
                            .take(4)
                            .map(|e| format!("{}:{}", e.action, e.outcome))
                            .collect::<Vec<_>>();
                        format!(
                            "\n  newest events {events:?}\n{}",
                            body.chars().take(3000).collect::<String>()
                        )
                    } else {
                        String::new()
                    };
                    failures.push(format!(
                        "{what}: expected {want:?}, got {status} {location}{shown}"
                    ));
                }
                for (m, owner) in world.forbidden(member.caller) {
                    if body.contains(&m.to_lowercase()) {
                        failures.push(format!("{what}: the answer holds a marker of {owner:?}"));
                    }
                }
                if let Some((counts, head)) = before
                    && got != Some(Expect::Allowed)
                {
                    let changed = changed(&counts, &world.counts().await?);
                    if !changed.is_empty() {
                        failures.push(format!("{what}: a refusal changed {changed:?}"));
                    }
                    let from = head.map_or(1, |h| h.seq + 1);
                    let events = world.confidant.store().audit_events(from, 100).await?;
                    if events.iter().any(|e| e.outcome == "ok") {
                        failures.push(format!(
                            "{what}: a refusal left an ok event ({:?})",
                            events
                                .iter()
                                .map(|e| format!("{}:{}:{}", e.action, e.outcome, e.actor))
                                .collect::<Vec<_>>()
                        ));
                    }
                    if matches!(got, Some(Expect::NotFound | Expect::Forbidden))
                        && audited(cell.rule, scope, &cell.path)
                        && !events
                            .iter()
                            .any(|e| matches!(e.outcome.as_str(), "denied" | "not_found"))
                    {
                        unaudited.push(format!("{what}: {got:?}"));
                    }
                }
                // A legal hold keeps anything of the record from being removed (a photo replaced,
                // say): release what a cell placed, or what was placed for a cell to release.
                if matches!(cell.rule, Rule::Hold) || cell.path.contains("{hold_id}") {
                    for i in 0..2 {
                        for (h, _) in world
                            .confidant
                            .store()
                            .holds_of(&PersonAccess::for_tests(world.person[i]))
                            .await?
                        {
                            if h.live() {
                                world
                                    .confidant
                                    .release_hold(
                                        &world.dpo,
                                        Purpose::Support,
                                        world.person[i],
                                        h.id,
                                        "Released by the matrix after its cell",
                                    )
                                    .await?;
                            }
                        }
                    }
                }
                // An open rights request keeps the record's parts as a hold does: withdraw what a
                // cell logged, or what was logged for a cell to read or move on.
                if matches!(
                    cell.rule,
                    Rule::RightsLog | Rule::RightsRead | Rule::RightsManage
                ) {
                    for i in 0..2 {
                        for r in world
                            .confidant
                            .store()
                            .rights_requests_about(world.person[i])
                            .await?
                        {
                            if r.state.is_open() {
                                world
                                    .confidant
                                    .step_rights_request(
                                        &world.dpo,
                                        world.organisation,
                                        r.id,
                                        confidant_core::rights::StepInput {
                                            step: "withdrawn",
                                            on: "2026-11-22",
                                            detail: None,
                                        },
                                    )
                                    .await?;
                            }
                        }
                    }
                }
                // A restriction stops the processor's referral: lift what a cell put on.
                if matches!(cell.rule, Rule::Restrict) {
                    for i in 0..2 {
                        for r in world
                            .confidant
                            .store()
                            .restrictions_of(&PersonAccess::for_tests(world.person[i]))
                            .await?
                        {
                            if r.lifted_at_micros.is_none() {
                                world
                                    .confidant
                                    .lift_restriction(
                                        &world.dpo,
                                        Purpose::Support,
                                        world.person[i],
                                        r.id,
                                    )
                                    .await?;
                            }
                        }
                    }
                }
            }
        }
    }
    failures.extend(
        unaudited
            .into_iter()
            .map(|u| format!("{u}: refused without an audit event")),
    );
    assert!(
        failures.is_empty(),
        "{} of {n} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A subset passing proves nothing about the rest.
    anyhow::ensure!(
        only.is_none(),
        "MATRIX_ONLY is set: only part of the matrix ran"
    );
    assert!(forged > 100, "only {forged} forged page changes were sent");
    for kind in ["Allowed", "NotFound", "Forbidden", "SignIn"] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 20,
            "{kind} too rare: {seen:?}"
        );
    }
    Ok(())
}

each_backend!(matrix => every_registered_route_answers_every_caller_as_the_table_says_on_sqlite, every_registered_route_answers_every_caller_as_the_table_says_on_postgres);
