//! Windows-1252's bytes 0x80–0x9F, which both charset decoding (`decode`) and HTML's numeric
//! character references (`html`: `&#150;` is an en dash, as the HTML standard says) map.

/// Windows-1252's 0x80–0x9F; the other bytes are the same code points as Latin-1. The five
/// unassigned bytes map to their C1 controls, as WHATWG says.
pub(super) const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{02C6}',
    '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}',
    '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}',
    '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];
