//! A disclosure package as PDF (issue 16): its text says who sent it, to whom and when, and holds
//! exactly the values of the package, none left out and none added; markup in a value is printed.

use confidant_pdf::{PackageDocument, PackageSection, package_pdf};

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn text_of(pdf: &[u8]) -> String {
    squash(
        &pdf_extract::extract_text_from_mem(pdf)
            .unwrap_or_else(|e| panic!("the PDF's text cannot be read: {e}")),
    )
}

fn row(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn the_package_pdf_holds_exactly_what_was_sent_with_its_labels() {
    let document = PackageDocument {
        disclosure_id: "0190e000-0000-7000-8000-000000000001".to_owned(),
        title: "Information shared with Riverside GP".to_owned(),
        sender: "Northbridge Support (Recovery service)".to_owned(),
        summary: vec![
            row("To", "Riverside GP"),
            row("Sent", "1 Apr 2026 00:30 BST"),
            row("Lawful basis", "Legal obligation (Art. 6(1)(c))"),
            row("Reason", "The GP asked for a review #set text(red)"),
        ],
        sections: vec![
            PackageSection {
                heading: "Identity".to_owned(),
                rows: vec![row("Given name", "Rosalind"), row("Family name", "Quenby")],
            },
            PackageSection {
                heading: "Case note, 2 Mar 2026 10:00 GMT".to_owned(),
                rows: vec![row("Note", "Attended the clinic *on time*")],
            },
        ],
    };
    let pdf = package_pdf(&document).unwrap_or_else(|e| panic!("no PDF: {e}"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text_of(&pdf);
    for wanted in [
        "Information shared with Riverside GP",
        "Northbridge Support (Recovery service)",
        "1 Apr 2026 00:30 BST",
        "Legal obligation (Art. 6(1)(c))",
        "Given name",
        "Rosalind",
        "Family name",
        "Quenby",
        "Case note, 2 Mar 2026 10:00 GMT",
        "Attended the clinic *on time*",
        "#set text(red)",
    ] {
        assert!(
            text.contains(&squash(wanted)),
            "missing {wanted:?} in {text}"
        );
    }
}

#[test]
fn a_destruction_certificate_is_set_out_as_a_package_is() {
    let document = PackageDocument {
        disclosure_id: "0190e000-0000-7000-8000-000000000002".to_owned(),
        title: "Destruction certificate".to_owned(),
        sender: "Northbridge Support".to_owned(),
        summary: vec![
            row("Record (its id)", "0190e000-0000-7000-8000-000000000003"),
            row("Reason", "Period ended; nothing open"),
        ],
        sections: vec![PackageSection {
            heading: "Paper destroyed outside Confidant".to_owned(),
            rows: vec![row("2026-11-20", "by Shred Co, reference DC-77")],
        }],
    };
    let pdf = confidant_pdf::certificate_pdf(&document).unwrap_or_else(|e| panic!("no PDF: {e}"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text_of(&pdf);
    for wanted in [
        "Destruction certificate",
        "0190e000-0000-7000-8000-000000000003",
        "Paper destroyed outside Confidant",
        "by Shred Co, reference DC-77",
    ] {
        assert!(text.contains(&squash(wanted)), "{wanted} is missing");
    }
}

#[test]
fn a_letter_pdf_holds_its_sender_date_reference_and_every_paragraph_as_written() {
    let letter = confidant_core::rights::Letter {
        sender: "Northbridge Support".to_owned(),
        dated: "Monday 23 November 2026".to_owned(),
        reference: "0192A4B0".to_owned(),
        title: "Our decision on your request".to_owned(),
        paragraphs: vec![
            "We have decided not to act on your request #set text(red)".to_owned(),
            confidant_core::rights::ICO_ROUTE.to_owned(),
        ],
    };
    let pdf = confidant_pdf::letter_pdf(&letter).unwrap_or_else(|e| panic!("no PDF: {e}"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text_of(&pdf);
    for wanted in [
        "Northbridge Support",
        "Monday 23 November 2026",
        "Our reference: 0192A4B0",
        "Our decision on your request",
        "#set text(red)",
        "ico.org.uk/make-a-complaint",
        "Yours sincerely",
        "For Northbridge Support",
    ] {
        assert!(
            text.contains(&squash(wanted)),
            "{wanted} missing from {text}"
        );
    }
}
