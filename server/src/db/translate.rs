//! Placeholder rewriting for PostgreSQL: `?N` → `$N`, bare `?` → the next `$k`.
//!
//! Quoted text (`'…'`), quoted identifiers (`"…"`) and comments are copied untouched, so a
//! `?` inside a string literal stays a `?`.

/// The statement with PostgreSQL placeholders.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // A doubled quote inside is an escaped quote: leave and re-enter.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&next.to_string());
                } else {
                    next = next.max(digits.parse().unwrap_or(0));
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn numbered_and_bare_placeholders_become_dollar_numbers() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1"
        );
        assert_eq!(
            to_postgres("INSERT INTO t (a, b) VALUES (?, ?)"),
            "INSERT INTO t (a, b) VALUES ($1, $2)"
        );
        assert_eq!(to_postgres("x = ?10"), "x = $10");
    }

    #[test]
    fn question_marks_in_literals_identifiers_and_comments_stay() {
        assert_eq!(
            to_postgres("SELECT '?', \"a?\" FROM t -- why?\nWHERE x = ?1 AND y = 'it''s ?'"),
            "SELECT '?', \"a?\" FROM t -- why?\nWHERE x = $1 AND y = 'it''s ?'"
        );
    }
}
