//! Long conversations: when a conversation nears the model's context window (judged from the
//! input tokens the server reported for the last request), its older turns are summarised by
//! the model into one message and the last turns are kept whole. A split only ever falls where
//! a person's message starts a turn, so every `tool_use` stays with its `tool_result`.
//!
//! The session file keeps the full history: compaction appends a marker saying where the
//! summary starts (see `chat::session`), so nothing is lost and the file can always be replayed.

use crate::providers::message::{ChatMessage, ContentBlock, Role};

/// Compact once a request used this share of the window.
pub const COMPACT_AT_FRACTION: f64 = 0.8;
/// Turns (a person's message and everything it led to) kept whole after a compaction.
pub const KEEP_RECENT_TURNS: usize = 2;
/// How the summary message starts, so the model (and a person reading the session) knows.
pub const SUMMARY_HEADER: &str = "[Summary of the earlier part of this conversation, written when it was compacted]";

/// The instruction sent with the older turns.
pub const SUMMARY_INSTRUCTION: &str = "The conversation above is getting long and will be replaced by your summary. Write that summary now, for yourself, to continue the work: what the person wants, the decisions and facts established, the files and commands involved (paths, names, results), what was done, and what is still open. Be concise and concrete; keep exact names. Do not call tools; answer with the summary only.";

/// Context windows of well-known model families, in tokens (`[models.NAME] context_window`
/// overrides; unknown models are not compacted automatically, `/compact` still works).
const KNOWN_WINDOWS: &[(&str, u64)] = &[
    ("claude-", 200_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
];

/// The model's context window: configured, else known by its ID's family.
pub fn context_window(model: &str, configured: Option<u64>) -> Option<u64> {
    configured
        .filter(|w| *w > 0)
        .or_else(|| KNOWN_WINDOWS.iter().find(|(prefix, _)| model.starts_with(prefix)).map(|(_, window)| *window))
}

/// Whether a conversation whose last request used `used_tokens` should be compacted.
pub fn needs_compaction(used_tokens: u64, window: u64) -> bool {
    window > 0 && used_tokens as f64 >= window as f64 * COMPACT_AT_FRACTION
}

/// A person's message that starts a turn: a user message with text that is not only tool results.
fn starts_turn(message: &ChatMessage) -> bool {
    message.role == Role::User && message.content.iter().any(|b| !matches!(b, ContentBlock::ToolResult { .. }))
}

/// Where the kept part begins: the start of the `keep_turns`-th last turn. `None` when there
/// is nothing older to summarise.
pub fn split_point(history: &[ChatMessage], keep_turns: usize) -> Option<usize> {
    let starts: Vec<usize> = history.iter().enumerate().filter(|(_, m)| starts_turn(m)).map(|(i, _)| i).collect();
    if starts.len() <= keep_turns {
        return None;
    }
    let split = starts[starts.len() - keep_turns.max(1)];
    (split > 0).then_some(split)
}

/// The request that asks for the summary: the older turns, then the instruction.
pub fn summary_request(older: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut messages = older.to_vec();
    messages.push(ChatMessage::user_text(SUMMARY_INSTRUCTION));
    messages
}

/// The summary as the message that replaces the older turns.
pub fn summary_message(summary: &str) -> ChatMessage {
    ChatMessage::user_text(&format!("{SUMMARY_HEADER}\n\n{}", summary.trim()))
}

/// The history after compaction: the summary, then the kept turns whole.
pub fn compacted(summary: &str, kept: &[ChatMessage]) -> Vec<ChatMessage> {
    let mut messages = vec![summary_message(summary)];
    messages.extend(kept.iter().cloned());
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(t: &str) -> ChatMessage {
        ChatMessage::user_text(t)
    }
    fn answer(t: &str) -> ChatMessage {
        ChatMessage { role: Role::Assistant, content: vec![ContentBlock::text(t)] }
    }
    fn calls(id: &str) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse { id: id.into(), name: "t".into(), input: json!({}) }],
        }
    }
    fn results(id: &str) -> ChatMessage {
        ChatMessage {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: id.into(),
                content: vec![ContentBlock::text("r")],
                is_error: false,
            }],
        }
    }

    #[test]
    fn splits_only_where_a_person_starts_a_turn() {
        let h = vec![
            user("one"),
            calls("a"),
            results("a"),
            answer("done one"),
            user("two"),
            calls("b"),
            results("b"),
            calls("c"),
            results("c"),
            answer("done two"),
            user("three"),
            answer("done three"),
        ];
        assert_eq!(split_point(&h, 2), Some(4));
        assert_eq!(split_point(&h, 1), Some(10));
        assert_eq!(split_point(&h, 3), None, "nothing older than the kept turns");
        let split = split_point(&h, 2).unwrap();
        let kept = &h[split..];
        // Every call in the kept part has its result there too.
        let after = compacted("they asked for one", kept);
        assert!(matches!(&after[0].content[0], ContentBlock::Text { text, .. } if text.starts_with(SUMMARY_HEADER)));
        assert_eq!(after.len(), 1 + kept.len());
        let request = summary_request(&h[..split]);
        assert_eq!(request.last().unwrap(), &user(SUMMARY_INSTRUCTION));
    }

    #[test]
    fn windows_and_thresholds() {
        assert_eq!(context_window("claude-sonnet-4-6", None), Some(200_000));
        assert_eq!(context_window("claude-sonnet-4-6", Some(1_000_000)), Some(1_000_000));
        assert_eq!(context_window("qwen2.5-0.5b", None), None);
        assert_eq!(context_window("qwen2.5-0.5b", Some(4096)), Some(4096));
        assert!(needs_compaction(160_000, 200_000));
        assert!(!needs_compaction(159_999, 200_000));
        assert!(!needs_compaction(10, 0));
    }
}
