//! The HTML → text conversion: what a reader would see, case by case, and hostile documents
//! (never closed, deeply nested, huge) converted in linear time and bounded memory.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

#[track_caller]
fn check(cases: &[(&str, &str)]) {
    for (html, text) in cases {
        assert_eq!(to_text(html), *text, "for {html:?}");
    }
}

#[test]
fn text_has_its_whitespace_collapsed() {
    check(&[
        ("", ""),
        ("plain words", "plain words"),
        ("too    many   spaces", "too many spaces"),
        ("one\ntwo\r\nthree\tfour", "one two three four"),
        ("  leading and trailing  ", "leading and trailing"),
        ("bold <b>words</b> and <span class=\"x\">spans</span>", "bold words and spans"),
        ("no<b>space</b>here", "nospacehere"),
        ("a literal < sign, 5 < 6 and x <= y", "a literal < sign, 5 < 6 and x <= y"),
        ("two\u{a0}\u{a0}non-breaking", "two\u{a0}\u{a0}non-breaking"),
    ]);
}

#[test]
fn blocks_and_lines_are_separated() {
    check(&[
        ("<p>one</p><p>two</p>", "one\n\ntwo\n\n"),
        ("<div>one</div><div>two</div>", "one\n\ntwo\n\n"),
        ("before<h2>Title</h2>after", "before\n\nTitle\n\nafter"),
        ("a <p> b", "a\n\nb"),
        ("x<br><p>y", "x\n\ny"),
        ("two<br>line<br/>breaks<br class=\"c\">here", "two\nline\nbreaks\nhere"),
        ("items<ul><li>one</li><li>two</li></ul>after", "items\none\ntwo\nafter"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a\nb\nc\n"),
        ("<select><option>one<option>two</select>", "one\ntwo"),
        ("one<hr>two", "one\n\ntwo"),
        ("<dl><dt>term</dt><dd>meaning</dd></dl>", "term\n\nmeaning\n\n"),
        ("<h7>not a heading</h7>next", "not a headingnext"),
    ]);
}

#[test]
fn links_keep_their_target() {
    check(&[
        ("see <a href=\"/docs\">the docs</a>.", "see the docs (/docs)."),
        ("<a href=\"https://x.test/\">https://x.test/</a>", "https://x.test/"),
        ("<a href=\"/only\"></a>", "/only"),
        ("<a href=\"/img\"><img src=\"i.png\"></a>", "/img"),
        ("<a href=\"\">empty</a>", "empty"),
        ("<a name=\"anchor\">no href</a>", "no href"),
        ("<a class='c' href='single'>q</a>", "q (single)"),
        ("<a href=unquoted>u</a>", "u (unquoted)"),
        ("<a href=https://x.test/>slash</a>", "slash (https://x.test/)"),
        ("<a href = \"spaced\" >s</a >", "s (spaced)"),
        ("<A HREF=\"UP\">upper</A>", "upper (UP)"),
        ("<a href=\"q?a=1&amp;b=2\">amp</a>", "amp (q?a=1&b=2)"),
        ("<a href=\"x\"><span title=\"</a>\">one</span> two</a> after", "one two (x) after"),
        ("<a href=\"x\">one<!-- </a> --> two</a> after", "one two (x) after"),
        ("<a href=\"x\"><script>'</a>'</script>one</a> after", "one (x) after"),
        ("<a href=\"x\" title=\"a>b\">gt in a value</a>", "gt in a value (x)"),
        ("<a href=\"x\"/>after", "after"),
        ("<a href=\"/card\"><div>Card title</div></a>next", "Card title (/card)\n\nnext"),
    ]);
}

#[test]
fn javascript_links_are_dropped_however_written() {
    check(&[
        ("<a href=\"javascript:void(0)\">js</a>", "js"),
        ("<a href=\"JavaScript:go()\">js</a>", "js"),
        ("<a href=\"  javascript:go()\">js</a>", "js"),
        ("<a href=\"&#106;avascript:go()\">js</a>", "js"),
        ("<a href=\"java&#x0A;script:go()\">js</a>", "js"),
        ("<a href=\"java\tscript:go()\">js</a>", "js"),
    ]);
}

#[test]
fn what_a_reader_does_not_see_is_dropped() {
    check(&[
        ("<html><head><title>T</title><meta charset=utf-8></head><body>shown</body></html>", "shown"),
        ("<head><style>p{}</style><script>x()</script>no end tag for head<p>shown", "no end tag for head\n\nshown"),
        ("<head><link rel=x></head>after", "after"),
        ("<head><meta x><p>the body began</p>", "the body began\n\n"),
        ("not <script type=\"text/javascript\">var a = 1 < 2;</script>scripts", "not scripts"),
        ("<SCRIPT>x</SCRIPT>upper", "upper"),
        ("<script>'</scripts>' still script</script >gone", "gone"),
        ("<style>p { color: red }</style>styled", "styled"),
        ("<template><p>inert</p></template>shown", "shown"),
        ("<title>hidden</title>shown", "shown"),
        ("<script/>self-closed", "self-closed"),
        ("before<!-- a <b>comment</b> -->after", "beforeafter"),
        ("<!DOCTYPE html><?xml version=\"1.0\"?>text", "text"),
    ]);
}

#[test]
fn preformatted_text_keeps_its_whitespace() {
    check(&[
        ("<pre>one\n  two\tthree</pre>", "one\n  two\tthree\n\n"),
        ("<pre>\nfirst line break dropped</pre>", "first line break dropped\n\n"),
        ("text<pre><code>fn  main() {}</code></pre>more", "text\n\nfn  main() {}\n\nmore"),
        ("<pre>a &lt; b</pre>", "a < b\n\n"),
        ("<xmp><b>literal</b> &amp;</xmp>after", "<b>literal</b> &amp;after"),
        ("<textarea><b>literal</b> &amp;</textarea>after", "<b>literal</b> &after"),
        ("<plaintext><b>all</b> the rest &amp;", "<b>all</b> the rest &amp;"),
    ]);
}

#[test]
fn images_are_their_alt_text() {
    check(&[
        ("before<img alt=\"a diagram\">after", "beforea diagramafter"),
        ("<img alt=\"a&amp;  b\">", "a& b"),
        ("<img src=\"no-alt.png\">", ""),
    ]);
}

#[test]
fn character_references_are_decoded() {
    check(&[
        ("fish &amp; chips", "fish & chips"),
        ("&lt;tag&gt; &quot;q&quot; &apos;a&apos;", "<tag> \"q\" 'a'"),
        ("&copy; &reg; &trade; &euro; &pound; &yen; &cent;", "© ® ™ € £ ¥ ¢"),
        ("&eacute;t&eacute; &Uuml;ber &szlig; &oelig;", "été Über ß œ"),
        ("&alpha;&beta;&Omega; &rarr; &hellip; &mdash;", "αβΩ → … —"),
        ("&AMP; &LT;", "& <"),
        ("&nbsp;", "\u{a0}"),
        ("&copy.", "©."),
        ("A&amp=B", "A&=B"),
        ("one&Tab;&NewLine;two", "one two"),
        ("&#8268; and &#x204D; and &#X41;", "⁌ and ⁍ and A"),
        ("&#169copyright", "©copyright"),
        ("&#150; &#x93;quoted&#x94;", "– \u{201C}quoted\u{201D}"),
        ("Tom & Jerry", "Tom & Jerry"),
        ("&neither; &abcdefghij; &", "&neither; &abcdefghij; &"),
        ("&#+65; &#; &#x; &#x110000; &#xD800; &#0;", "&#+65; &#; &#x; &#x110000; &#xD800; &#0;"),
        // Controls that could drive a terminal stay as written.
        ("&#27;[31m &#x7f; &#x81; &#1;", "&#27;[31m &#x7f; &#x81; &#1;"),
        ("&#0000000065; &#99999999999999999999;", "&#0000000065; &#99999999999999999999;"),
    ]);
    assert_eq!(decode_entities("a &lt;b&gt; &amp;amp; <raw>"), "a <b> &amp; <raw>");
}

#[test]
fn the_entity_table_is_sorted_for_binary_search() {
    assert!(ENTITIES.windows(2).all(|w| w[0].0 < w[1].0), "sorted and without duplicates");
    for (name, c) in ENTITIES {
        assert_eq!(reference(&format!("{name};"), false), Some((*c, name.len() + 1)), "{name}");
    }
}

#[test]
fn what_is_never_closed_ends_the_document_as_in_a_browser() {
    check(&[
        ("<div><p><a href=x>open everything", "open everything (x)"),
        ("text<!-- never closed <p>hidden", "text"),
        ("text<script>never closed</p>", "text"),
        ("text<a href=\"never closed>hidden", "text"),
        ("text<div class='x", "text"),
        ("text<", "text<"),
        ("text</", "text</"),
        ("text<!", "text"),
        ("text<a", "text"),
        ("text</ p>", "text</ p>"),
        ("<a href=1>one<a href=2>two</a>", "one (1)two (2)"),
    ]);
}

#[test]
fn hostile_documents_take_linear_time_and_bounded_memory() {
    const MB: usize = 1 << 20;
    let huge_href = format!("<a href=\"{}\">x</a>", "h".repeat(4 * MB));
    let documents = [
        "<div>".repeat(MB / 5),
        "<a href=x>y".repeat(MB / 11),
        "<pre>".repeat(MB / 5),
        "<a x=\"".repeat(MB / 6),
        "<a<".repeat(MB / 3),
        format!("<script>{}", "</".repeat(MB / 2)),
        format!("<textarea>{}", "</textare".repeat(MB / 10)),
        "<!-".repeat(MB / 3),
        "&#x1F980;&amp;&unknown".repeat(MB / 23),
        format!("<img{}>", " alt=x".repeat(MB / 6)),
        huge_href.clone(),
        "x<br>".repeat(MB / 5),
        // Millions of raw line breaks, then a tag each needing a look at how many there are.
        format!("<pre>{}</pre>{}", "\n".repeat(2 * MB), "<br>".repeat(MB / 4)),
    ];
    let started = Instant::now();
    for html in &documents {
        let text = to_text(html);
        assert!(text.len() <= html.len(), "output {} bytes from {} bytes of input", text.len(), html.len());
    }
    // Quadratic work on these 1–4 MB documents would take hours.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(to_text(&huge_href), format!("x ({})", "h".repeat(4 * MB)));
    let nested = to_text(&"<a href=x>y".repeat(3));
    assert_eq!(nested, "y (x)y (x)y (x)", "a link ends the one before: no nesting, no recursion");
}

#[test]
fn a_link_opened_after_kept_spaces_survives_the_line_break_that_drops_them() {
    // The spaces `<pre>` kept are dropped at the break, under where the link's text started.
    // (The link has no text of its own, so its target stands in its place.)
    assert_eq!(to_text("<pre>x  <a href=\"y\"><br></a>"), "xy");
    assert_eq!(to_text("<textarea>abc  </textarea><a href=x><br></a>"), "abcx");
    assert_eq!(to_text("<pre>x  <a href=\"y\"><br>"), "xy");
    let text = to_text("<pre>\u{e9}\u{e9}  <a href=\"y\"><br>z\u{e9}</a>");
    assert!(text.starts_with("\u{e9}\u{e9}\n") && text.contains("z\u{e9}"), "{text:?}");
}

#[test]
fn named_references_need_their_semicolon_but_the_commonest() {
    assert_eq!(to_text("<a href=\"/s?q=x&lang=en&copy=1&sum=2\">t</a>"), "t (/s?q=x&lang=en&copy=1&sum=2)");
    assert_eq!(to_text("&amp;&amp x &lang; &lang &copy 2026"), "&& x \u{2329} &lang \u{a9} 2026");
}

proptest! {
    #[test]
    fn any_input_converts_without_growing(html in "(<[a-z/!]{0,3}[ a-z=\"'>&#;x0-9]{0,8}|&[a-z#0-9]{0,6};?|[ a-z<>&\n]{0,6}|<pre>|</a>|<a href=\"h\">|<!--|-->|<script>|</script>){0,40}") {
        let text = to_text(&html);
        prop_assert!(text.len() <= html.len() + 2, "{} from {}", text.len(), html.len());
    }
}
