//! "Did you mean …" for a misspelt command or `info` subcommand, from the
//! names in the grammar.

use crate::grammar::Grammar;

/// The suggestion line for QEMU's `unknown command: 'NAME'` message, if
/// some command is spelt closely enough (`ejct` → `eject`, `info spcie` →
/// `info spice`).
pub fn did_you_mean(grammar: &Grammar, message: &str) -> Option<String> {
    let typed = message
        .strip_prefix("unknown command: '")?
        .strip_suffix('\'')?;
    let words: Vec<&str> = typed.split_whitespace().collect();
    let (prefix, word, table) = match words.as_slice() {
        [one] => ("", *one, grammar.commands()),
        [first, sub] => {
            let entry = grammar
                .commands()
                .entries
                .iter()
                .find(|e| e.answers_to(first))?;
            let table = grammar.table(entry.subtable.as_deref()?)?;
            (*first, *sub, table)
        }
        _ => return None,
    };
    let mut close: Vec<(usize, &str)> = table
        .entries
        .iter()
        .flat_map(|e| e.names())
        .filter_map(|name| {
            let d = distance(word, name);
            (d <= limit(word) && d > 0).then_some((d, name))
        })
        .collect();
    close.sort();
    close.dedup_by(|a, b| a.1 == b.1);
    let best = close.first()?.0;
    let names: Vec<String> = close
        .iter()
        .filter(|(d, _)| *d == best)
        .take(3)
        .map(|(_, name)| {
            let full = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix} {name}")
            };
            format!("\"{full}\"")
        })
        .collect();
    Some(format!("Did you mean {}?", names.join(" or ")))
}

/// How many edits a word of this length may be off by.
fn limit(word: &str) -> usize {
    match word.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// Edit distance with adjacent transpositions counting as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggest(message: &str) -> Option<String> {
        did_you_mean(Grammar::builtin().expect("grammar"), message)
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(
            suggest("unknown command: 'ejct'").as_deref(),
            Some("Did you mean \"eject\"?")
        );
        assert_eq!(
            suggest("unknown command: 'info spcie'").as_deref(),
            Some("Did you mean \"info spice\"?")
        );
        assert_eq!(
            suggest("unknown command: 'info blok'").as_deref(),
            Some("Did you mean \"info block\"?")
        );
    }

    #[test]
    fn far_or_other_messages_get_nothing() {
        assert_eq!(suggest("unknown command: 'zzzzzzzz'"), None);
        assert_eq!(suggest("invalid char in expression"), None);
        assert_eq!(suggest("unknown command: 'info'"), None);
    }
}
