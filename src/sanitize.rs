//! Neutralising untrusted text (model output, server error bodies) before it reaches a terminal.
//!
//! Escape and control sequences could move the cursor, rewrite the screen, set the window title or
//! worse. Each control character becomes visible caret notation (`ESC` → `^[`), so nothing is
//! silently lost; newlines and tabs pass. The mapping is per character, so text split into chunks
//! anywhere (between whole characters) sanitises the same as the whole.

use std::borrow::Cow;

/// Returns `text` with every control character except `\n` and `\t` made visible.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_sanitized(&mut out, c);
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn push_sanitized(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
        return;
    }
    match c as u32 {
        // C0 controls and DEL in caret notation: ESC → ^[, BEL → ^G, CR → ^M, DEL → ^?.
        code @ 0..=0x1f => {
            out.push('^');
            out.push(char::from(code as u8 + b'@'));
        }
        0x7f => out.push_str("^?"),
        // C1 controls (U+0080–U+009F), e.g. the one-byte CSI.
        _ => out.push('\u{FFFD}'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_text_passes() {
        assert!(matches!(sanitize("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(sanitize("a\x1b[2Jb"), "a^[[2Jb");
        assert_eq!(sanitize("\x1b]0;title\x07"), "^[]0;title^G");
        assert_eq!(sanitize("over\rwrite"), "over^Mwrite");
        assert_eq!(sanitize("x\u{9b}31m\x7f"), "x\u{FFFD}31m^?");
        assert_eq!(sanitize("héllo 🦀"), "héllo 🦀");
    }
}
