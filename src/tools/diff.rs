//! A unified diff of two texts, line by line, for the person approving an edit.
//!
//! Myers' algorithm on the lines between the common head and tail (usually the whole story for
//! an edit). Its memory grows with the square of the number of differences, so past
//! [`MAX_DIFFERENCES`] the middle is shown as removed then added: still exact, just less neat.
//! Written here rather than taken from a crate: this is all pincer needs of one.

use std::fmt::Write;

/// Lines of context around each change, as `diff -u`.
const CONTEXT_LINES: usize = 3;
/// Differences Myers' algorithm may look for before the diff falls back to remove-then-add.
const MAX_DIFFERENCES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// `--- old_label` / `+++ new_label` then hunks; empty when the texts are equal.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);
    if ops.iter().all(|&op| op == Op::Equal) {
        return String::new();
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    // Positions in `a` and `b` before each op.
    let mut positions = Vec::with_capacity(ops.len() + 1);
    let (mut i, mut j) = (0, 0);
    for &op in &ops {
        positions.push((i, j));
        match op {
            Op::Equal => (i, j) = (i + 1, j + 1),
            Op::Delete => i += 1,
            Op::Insert => j += 1,
        }
    }
    positions.push((i, j));
    let mut k = 0;
    while k < ops.len() {
        if ops[k] == Op::Equal {
            k += 1;
            continue;
        }
        // A hunk: from CONTEXT_LINES before this change to CONTEXT_LINES after the last change
        // that lies within 2 * CONTEXT_LINES equal lines of the previous one.
        // (Hunks cannot overlap: the next change lies more than 2 * CONTEXT_LINES further on.)
        let start = k.saturating_sub(CONTEXT_LINES);
        let mut end = k;
        let mut equal_run = 0;
        let mut m = k;
        while m < ops.len() {
            if ops[m] == Op::Equal {
                equal_run += 1;
                if equal_run > 2 * CONTEXT_LINES {
                    break;
                }
            } else {
                equal_run = 0;
                end = m;
            }
            m += 1;
        }
        let stop = (end + 1 + CONTEXT_LINES).min(ops.len());
        let (a0, b0) = positions[start];
        let (a1, b1) = positions[stop];
        let _ = writeln!(out, "@@ -{} +{} @@", range(a0, a1 - a0), range(b0, b1 - b0));
        for (n, &op) in ops.iter().enumerate().take(stop).skip(start) {
            let (ai, bj) = positions[n];
            let (sign, line) = match op {
                Op::Equal => (' ', a[ai]),
                Op::Delete => ('-', a[ai]),
                Op::Insert => ('+', b[bj]),
            };
            out.push(sign);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k = stop;
    }
    out
}

/// `start,len` as unified diffs write it (1-based; an empty range names the line before it).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..].iter().rev().zip(b[head..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops = vec![Op::Equal; head];
    match myers(mid_a, mid_b, MAX_DIFFERENCES) {
        Some(mid) => ops.extend(mid),
        None => {
            ops.extend(std::iter::repeat_n(Op::Delete, mid_a.len()));
            ops.extend(std::iter::repeat_n(Op::Insert, mid_b.len()));
        }
    }
    ops.extend(std::iter::repeat_n(Op::Equal, tail));
    ops
}

/// The shortest edit script from `a` to `b`, or `None` past `max_d` differences.
fn myers(a: &[&str], b: &[&str], max_d: usize) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // `trace[d]` is `v` before step d, for the diagonals -d-1..=d+1 that step reads.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max.min(max_d) as isize {
        trace.push(v[(offset - d - 1) as usize..=(offset + d + 1) as usize].to_vec());
        let mut k = -d;
        while k <= d {
            let at = |k: isize| (offset + k) as usize;
            let mut x =
                if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) { v[at(k + 1)] } else { v[at(k - 1)] + 1 };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                return Some(backtrack(&trace, n, m));
            }
            k += 2;
        }
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        // `v` holds diagonals -d-1..=d+1.
        let get = |k: isize| v[(k + d + 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && get(k - 1) < get(k + 1)) { k + 1 } else { k - 1 };
        let prev_x = get(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            ops.push(Op::Equal);
            x -= 1;
            y -= 1;
        }
        if d > 0 {
            ops.push(if x == prev_x { Op::Insert } else { Op::Delete });
        }
        x = prev_x;
        y = prev_y;
    }
    ops.reverse();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Applies a unified diff made by [`unified`] to `old` (a checker, not a general patcher).
    fn apply(old: &str, diff: &str) -> String {
        let a: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0; // next line of `a` to copy
        let mut lines = diff.split_inclusive('\n').skip(2).peekable();
        while let Some(line) = lines.next() {
            if let Some(h) = line.strip_prefix("@@ -") {
                let spec = h.split(' ').next().unwrap();
                let mut parts = spec.split(',');
                let start: usize = parts.next().unwrap().parse().unwrap();
                let len: usize = parts.next().map_or(1, |l| l.parse().unwrap());
                let first = if len == 0 { start } else { start - 1 };
                out.extend(a[next..first].iter().copied());
                next = first;
                continue;
            }
            let no_newline = lines.peek().is_some_and(|l| l.starts_with('\\'));
            let body = &line[1..];
            let body = if no_newline { body.strip_suffix('\n').unwrap() } else { body };
            if no_newline {
                lines.next();
            }
            match line.as_bytes()[0] {
                b' ' => {
                    assert_eq!(a[next], body, "context mismatch");
                    out.push_str(body);
                    next += 1;
                }
                b'-' => {
                    assert_eq!(a[next], body, "removed line mismatch");
                    next += 1;
                }
                b'+' => out.push_str(body),
                other => panic!("unexpected line start {other}"),
            }
        }
        out.extend(a[next..].iter().copied());
        out
    }

    #[test]
    fn a_small_edit_reads_like_diff_u() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(unified(old, new, "x", "x"), "--- x\n+++ x\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n");
        assert_eq!(unified(old, old, "x", "x"), "");
        assert_eq!(unified("", "one\n", "/dev/null", "n"), "--- /dev/null\n+++ n\n@@ -0,0 +1 @@\n+one\n");
        assert_eq!(unified("x\n", "x", "a", "b"), "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n");
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old: String = (1..=30).map(|i| format!("{i}\n")).collect();
        let new: String = (1..=30)
            .map(|i| match i {
                3 => "three\n".to_string(),
                27 => "twenty-seven\n".to_string(),
                _ => format!("{i}\n"),
            })
            .collect();
        let diff = unified(&old, &new, "a", "b");
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert_eq!(apply(&old, &diff), new);
    }

    #[test]
    fn many_differences_fall_back_to_remove_then_add() {
        let old: String = (0..3000).map(|i| format!("{i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("{}\n", i * 7 % 3001)).collect();
        let diff = unified(&old, &new, "a", "b");
        assert_eq!(apply(&old, &diff), new);
    }

    proptest! {
        #[test]
        fn applying_the_diff_gives_the_new_text(
            old in proptest::collection::vec("[abc]{0,2}\n?", 0..30),
            new in proptest::collection::vec("[abc]{0,2}\n?", 0..30),
        ) {
            let (old, new) = (old.concat(), new.concat());
            let diff = unified(&old, &new, "a", "b");
            prop_assert_eq!(diff.is_empty(), old == new);
            prop_assert_eq!(apply(&old, &diff), new);
        }
    }
}
