//! Asking the person about a call the policy could not decide (SPEC §9).
//!
//! An [`Approver`] is how the person is reached: the terminal asks on stderr and reads
//! `/dev/tty` (`crate::term::approval`); a future chat channel asks its own way; [`NeverAsk`]
//! stands in when nobody can be asked, and the call is refused. Approvals come only from here:
//! the only way to widen the policy while it runs is a [`Grant`], and a grant is made only by
//! [`ApprovalRequest::always`] / [`ApprovalRequest::save`], which an approver calls once the
//! person has chosen. Nothing the model or a tool writes can produce one.

use crate::tools::ToolClass;
pub use crate::tools::policy::Grant;
use crate::tools::policy::Rule;

/// What the person is asked about. Every text here came from the model or a tool: untrusted,
/// to be sanitised before it reaches a screen.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalRequest<'a> {
    pub tool: &'a str,
    pub class: ToolClass,
    /// The call in one line ([`Tool::display`](crate::tools::Tool::display)).
    pub display: &'a str,
    /// Everything the person should see before saying yes
    /// ([`Tool::approval_detail`](crate::tools::Tool::approval_detail)): the arguments in full,
    /// or a diff for edits.
    pub detail: &'a str,
    /// The rule "always" and "save" add ([`suggest_rule`](crate::tools::policy::suggest_rule)).
    /// Without one, only yes and no are offered.
    pub suggested: Option<&'a Rule>,
}

/// The person's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Run this call.
    Yes,
    /// Do not run it: the model is told the person declined, and the turn goes on.
    No,
    /// Run it, and allow the grant's rule for the rest of the session
    /// ([`Policy::allow_for_session`](crate::tools::policy::Policy::allow_for_session)).
    Always(Grant),
    /// As `Always`, and the caller also appends the rule to `[permissions] allow` in
    /// `config.toml` (the approver writes no files).
    Save(Grant),
    /// Stop: the turn ends (Ctrl-C, or the terminal went away).
    Cancel,
}

impl ApprovalRequest<'_> {
    /// The answer "always this session", for an approver whose person chose it; `None` when no
    /// rule was suggested (then it must not be offered).
    pub fn always(&self) -> Option<Answer> {
        self.suggested.map(|rule| Answer::Always(Grant::approved(rule.clone())))
    }

    /// The answer "save as a rule", for an approver whose person chose it; `None` as for `always`.
    pub fn save(&self) -> Option<Answer> {
        self.suggested.map(|rule| Answer::Save(Grant::approved(rule.clone())))
    }
}

/// Reaches the person. Asked one call at a time.
pub trait Approver: Send {
    fn ask(&mut self, request: &ApprovalRequest<'_>) -> Answer;

    /// False when nobody can be asked ([`NeverAsk`]): the caller refuses the call and tells the
    /// model which rule would allow it
    /// ([`refused_without_terminal`](crate::tools::policy::refused_without_terminal)).
    fn can_ask(&self) -> bool {
        true
    }
}

/// No terminal, no channel: every question is answered no.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverAsk;

impl Approver for NeverAsk {
    fn ask(&mut self, _: &ApprovalRequest<'_>) -> Answer {
        Answer::No
    }

    fn can_ask(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Target;
    use crate::tools::policy::{Decision, Policy, suggest_rule};

    /// An approver that answers from a script, as a person at a terminal would.
    struct Scripted(Vec<&'static str>);

    impl Approver for Scripted {
        fn ask(&mut self, request: &ApprovalRequest<'_>) -> Answer {
            match self.0.remove(0) {
                "always" => request.always().unwrap_or(Answer::No),
                "save" => request.save().unwrap_or(Answer::No),
                "yes" => Answer::Yes,
                _ => Answer::No,
            }
        }
    }

    fn request<'a>(detail: &'a str, suggested: Option<&'a Rule>) -> ApprovalRequest<'a> {
        ApprovalRequest { tool: "bash", class: ToolClass::Bash, display: detail, detail, suggested }
    }

    #[test]
    fn always_grants_the_suggested_rule_for_the_session() {
        let mut policy = Policy::new(false);
        let target = Target::Command("cargo test --lib".into());
        let rule = suggest_rule("bash", ToolClass::Bash, &target).unwrap();
        let mut person = Scripted(vec!["yes", "always"]);
        assert_eq!(person.ask(&request("cargo test --lib", Some(&rule))), Answer::Yes);
        assert_eq!(policy.decide("bash", ToolClass::Bash, &target).decision, Decision::Ask, "yes is for one call");
        let Answer::Always(grant) = person.ask(&request("cargo test --lib", Some(&rule))) else { panic!("always") };
        assert_eq!(grant.rule().as_str(), "bash(cargo test:*)");
        policy.allow_for_session(&grant);
        let next = Target::Command("cargo test --doc".into());
        assert_eq!(policy.decide("bash", ToolClass::Bash, &next).decision, Decision::Allow);
    }

    #[test]
    fn save_carries_the_rule_and_no_rule_means_no_grant() {
        let rule = Rule::parse("web_fetch(domain:docs.rs)").unwrap();
        let Answer::Save(grant) = request("x", Some(&rule)).save().unwrap() else { panic!("save") };
        assert_eq!(grant.rule(), &rule);
        assert_eq!(request("x; y", None).always(), None);
        assert_eq!(request("x; y", None).save(), None);
        assert_eq!(Scripted(vec!["always"]).ask(&request("x; y", None)), Answer::No);
    }

    #[test]
    fn never_ask_refuses_and_says_it_cannot_ask() {
        let rule = Rule::parse("bash(ls:*)").unwrap();
        let mut approver = NeverAsk;
        assert_eq!(approver.ask(&request("ls", Some(&rule))), Answer::No);
        assert!(!approver.can_ask());
        assert!(Scripted(vec![]).can_ask());
    }
}
