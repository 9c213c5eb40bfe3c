//! Names people choose: a member's display name, a community's name. What
//! neighbours read must be what it looks like, so characters that are invisible
//! or reorder text (bidi overrides, zero-width, tags) are removed before a name
//! is checked or compared. The Postgres function private.clean_name applies
//! the same rule; tests/fixtures/display-names.json holds the cases both run.

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 40;

/// Every kind of space, read as one plain space.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Control, format (bidi, zero-width, tags) and other characters that show nothing.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}'
        | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// The name as it is shown: spaces made plain and collapsed, invisible characters removed, ends trimmed.
pub fn clean(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if is_space(c) { ' ' } else { c };
        if is_invisible(c) || (c == ' ' && (name.is_empty() || name.ends_with(' '))) {
            continue;
        }
        name.push(c);
    }
    name.truncate(name.trim_end_matches(' ').len());
    name
}

/// A display name: the cleaned name when 1 to 40 characters remain.
pub fn display_name(text: &str) -> Option<String> {
    let name = clean(text);
    (1..=MAX_DISPLAY_NAME).contains(&name.chars().count()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        why: String,
        input: String,
        name: Option<String>,
    }

    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
    }

    #[test]
    fn the_shared_cases_clean_as_postgres_cleans_them() {
        let table: Table = serde_json::from_str(include_str!("../../../tests/fixtures/display-names.json")).unwrap();
        assert!(table.cases.len() >= 15);
        for case in table.cases {
            assert_eq!(display_name(&case.input), case.name, "{}", case.why);
        }
    }

    #[test]
    fn a_cleaned_name_is_already_clean() {
        for text in ["  a \u{200B} b  ", "\u{202E}x\u{3000}\u{3000}y", "plain"] {
            let once = clean(text);
            assert_eq!(clean(&once), once);
        }
    }
}
