//! The privacy notice as PDF (F5 point 3): the text a reader (or a screen reader) gets out of the
//! PDF says what the notice says, and the register's words are printed, never obeyed as markup.

use std::path::Path;

use confidant_core::notice::{NO_AUTOMATED_DECISIONS, Notice, Section, notice};
use confidant_core::register::Register;
use confidant_pdf::notice_pdf;

const RECOVERY: &str = include_str!("../../../config/examples/recovery.toml");

fn recovery_notice() -> Notice {
    let register = Register::parse(Path::new("config/examples/recovery.toml"), RECOVERY)
        .unwrap_or_else(|e| panic!("the recovery example is not valid:\n{e}"));
    notice(&register, "recovery").unwrap_or_else(|e| panic!("no notice: {e}"))
}

/// The PDF's text, compared without white space (lines wrap anywhere, even inside "6(1)(f)") and
/// without the page footers ("Page 2 of 6"), which sit between the last line of a page and the
/// first of the next.
fn text_of(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf)
        .unwrap_or_else(|e| panic!("the PDF's text cannot be read: {e}"));
    let words: Vec<&str> = text.split_whitespace().collect();
    let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    let mut kept = String::with_capacity(text.len());
    let mut i = 0;
    while i < words.len() {
        let footer = words
            .get(i..i + 4)
            .is_some_and(|w| w[0] == "Page" && number(w[1]) && w[2] == "of" && number(w[3]));
        if footer {
            i += 4;
        } else {
            kept.push_str(words[i]);
            i += 1;
        }
    }
    kept
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_contains(text: &str, wanted: &str) {
    assert!(
        text.contains(&squash(wanted)),
        "the PDF does not say {wanted:?}; its text (without white space):\n{text}"
    );
}

#[test]
fn the_recovery_notice_pdf_states_the_controller_rights_retention_and_no_automated_decisions() {
    let notice = recovery_notice();
    let pdf = notice_pdf(&notice).unwrap_or_else(|e| panic!("no PDF: {e}"));
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let text = text_of(&pdf);

    assert_contains(&text, &notice.title);
    assert_contains(&text, "Lanternway Recovery Charity");
    assert_contains(&text, "Your rights");
    assert_contains(&text, "10 years after the date you stop using our service");
    assert_contains(&text, NO_AUTOMATED_DECISIONS);
    // Every heading, paragraph and item of the notice is in the PDF.
    for section in &notice.sections {
        assert_contains(&text, &section.heading);
        for line in section.paragraphs.iter().chain(&section.items) {
            assert_contains(&text, line);
        }
    }
}

#[test]
fn the_pdf_is_tagged_for_accessibility_and_titled() {
    let notice = recovery_notice();
    let pdf = notice_pdf(&notice).unwrap_or_else(|e| panic!("no PDF: {e}"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/MarkInfo"), "the PDF is not marked as tagged");
    assert!(
        raw.contains("/StructTreeRoot"),
        "the PDF has no structure tree"
    );
    assert!(raw.contains("/Lang"), "the PDF declares no language");
}

#[test]
fn the_same_notice_gives_the_same_pdf() {
    let notice = recovery_notice();
    let first = notice_pdf(&notice).unwrap_or_else(|e| panic!("no PDF: {e}"));
    let second = notice_pdf(&notice).unwrap_or_else(|e| panic!("no PDF: {e}"));
    assert!(first == second, "rendering the same notice twice differs");
}

#[test]
fn typst_markup_in_the_notice_is_printed_literally() {
    let hostile = [
        r#"#set page(fill: red) #panic("injected")"#,
        r"*bold* _emph_ $x^2$ [link] \ backslash <label> @ref `raw`",
        r#"]) #panic("closed the string") ("#,
        r#"" + panic("quote") + ""#,
        "// not a comment /* nor this */ = not a heading",
        r"\u{1F600} #{ 1 + 1 } ~ -- --- ...",
    ];
    let notice = Notice {
        service_id: "test".to_owned(),
        service_name: "A #service".to_owned(),
        controller: r#"Acme <Ltd> #"ctl" $1"#.to_owned(),
        title: r"Notice for #title *and* [brackets] \ and $dollars$".to_owned(),
        reviewed_on: "2026-11-26".to_owned(),
        sections: vec![Section {
            heading: "= Heading with #hash and *stars*".to_owned(),
            paragraphs: hostile.iter().map(|s| (*s).to_owned()).collect(),
            items: vec![
                "- not a nested list".to_owned(),
                "+ nor a numbered one".to_owned(),
                r"<b>html</b> & #emph[x]".to_owned(),
            ],
        }],
    };
    let pdf = notice_pdf(&notice).unwrap_or_else(|e| panic!("markup in the notice broke it: {e}"));
    let text = text_of(&pdf);
    assert_contains(&text, &notice.title);
    assert_contains(&text, &notice.sections[0].heading);
    for line in notice.sections[0]
        .paragraphs
        .iter()
        .chain(&notice.sections[0].items)
    {
        assert_contains(&text, line);
    }
}
