//! Which turns a conversation keeps.
//!
//! The API rejects an assistant message without content and an empty text block (HTTP 400), so a
//! refusal or an empty answer, once stored, would break the conversation for good. Such a turn
//! keeps neither the question nor the answer: the history stays strictly user/assistant, and what
//! is sent back is always valid.

use crate::providers::message::{ChatMessage, Role};
use crate::providers::{ContentBlock, Message};

/// Why a finished turn is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    Refused,
    Empty,
}

impl NotKept {
    /// What to tell the person.
    pub fn notice(self) -> &'static str {
        match self {
            NotKept::Refused => "this question and its refusal are not kept in the conversation",
            NotKept::Empty => "this question and its empty answer are not kept in the conversation",
        }
    }
}

/// The assistant message to keep for `answer`: its blocks without empty text.
pub fn answer_to_keep(answer: &Message) -> Result<ChatMessage, NotKept> {
    keep_answer(answer.stop_reason.as_deref(), answer.content.clone())
}

/// [`answer_to_keep`] for an answer's content taken out of it (a long answer is not copied).
pub fn keep_answer(stop_reason: Option<&str>, mut content: Vec<ContentBlock>) -> Result<ChatMessage, NotKept> {
    if stop_reason == Some("refusal") {
        return Err(NotKept::Refused);
    }
    content.retain(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()));
    if !content.iter().any(has_substance) {
        return Err(NotKept::Empty);
    }
    Ok(ChatMessage { role: Role::Assistant, content })
}

/// A stored history made safe to send: empty text blocks go, and so does every turn whose answer
/// has nothing left (written by versions that stored refusals).
pub fn sendable(history: Vec<ChatMessage>) -> Vec<ChatMessage> {
    sendable_iter(history.iter())
}

/// [`sendable`] over borrowed messages, copying each kept one once.
pub fn sendable_iter<'m>(history: impl Iterator<Item = &'m ChatMessage>) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    for message in history {
        let content = sendable_blocks(&message.content);
        let empty = !content.iter().any(has_substance);
        match message.role {
            Role::Assistant if empty => {
                if out.last().is_some_and(|m| m.role == Role::User) {
                    out.pop();
                }
            }
            Role::User if empty => {}
            role => out.push(ChatMessage { role, content }),
        }
    }
    out
}

fn sendable_blocks(blocks: &[ContentBlock]) -> Vec<ContentBlock> {
    blocks.iter().filter(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty())).cloned().collect()
}

/// Thinking alone is not an answer; text, a tool call or a server block is.
fn has_substance(block: &ContentBlock) -> bool {
    !matches!(block, ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> ContentBlock {
        ContentBlock::Text { text: t.into(), citations: vec![] }
    }

    fn answer(stop: &str, content: Vec<ContentBlock>) -> Message {
        Message { content, stop_reason: Some(stop.into()), ..Message::default() }
    }

    fn assistant(content: Vec<ContentBlock>) -> ChatMessage {
        ChatMessage { role: Role::Assistant, content }
    }

    #[test]
    fn refusals_and_empty_answers_are_not_kept() {
        assert_eq!(answer_to_keep(&answer("refusal", vec![text("I can")])), Err(NotKept::Refused));
        assert_eq!(answer_to_keep(&answer("end_turn", vec![])), Err(NotKept::Empty));
        assert_eq!(answer_to_keep(&answer("end_turn", vec![text("")])), Err(NotKept::Empty));
        let thinking = ContentBlock::Thinking { thinking: "hm".into(), signature: "s".into() };
        assert_eq!(answer_to_keep(&answer("max_tokens", vec![thinking.clone(), text("")])), Err(NotKept::Empty));
        let kept = answer_to_keep(&answer("end_turn", vec![thinking.clone(), text(""), text("hi")])).unwrap();
        assert_eq!(kept, assistant(vec![thinking, text("hi")]));
    }

    #[test]
    fn stored_refusals_are_dropped_with_their_question() {
        let history = vec![
            ChatMessage::user_text("a"),
            assistant(vec![text("")]),
            ChatMessage::user_text("b"),
            assistant(vec![text("B"), text("")]),
            ChatMessage::user_text("c"),
            assistant(vec![]),
        ];
        let sent = sendable(history);
        assert_eq!(sent, vec![ChatMessage::user_text("b"), assistant(vec![text("B")])]);
    }
}
