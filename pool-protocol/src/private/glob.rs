//! One `path.Match` glob (Go's `path` package): `*` is any run of non-`/` characters, `?` one
//! non-`/` character, `[...]` a class of characters or ranges (`^` negates), `\` escapes.

/// One element of a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A character matched exactly.
    Literal(char),
    /// `*`.
    Star,
    /// `?`.
    AnyOne,
    /// `[...]`: inclusive ranges (single characters are one-character ranges).
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A well-formed glob and the number of `/` it contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Glob {
    tokens: Vec<Token>,
    slashes: usize,
}

impl Glob {
    /// Parses `pattern`; `None` when Go's `path.Match` would report `ErrBadPattern`.
    pub(super) fn parse(pattern: &str) -> Option<Glob> {
        let mut chars = pattern.chars().peekable();
        let mut tokens = Vec::new();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::Star,
                '?' => Token::AnyOne,
                '\\' => Token::Literal(chars.next()?),
                '[' => parse_class(&mut chars)?,
                other => Token::Literal(other),
            });
        }
        let slashes = pattern.matches('/').count();
        Some(Glob { tokens, slashes })
    }

    /// Whether the glob matches the first `slashes + 1` elements of `target`.
    pub(super) fn matches_prefix(&self, target: &str) -> bool {
        let elements = self.slashes + 1;
        let mut parts = target.splitn(elements + 1, '/');
        let taken: Vec<&str> = parts.by_ref().take(elements).collect();
        if taken.len() < elements {
            return false;
        }
        let target: Vec<char> = taken.join("/").chars().collect();
        match_tokens(&self.tokens, &target)
    }
}

/// Parses a class after its `[`, through its `]`.
fn parse_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Token> {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
            return Some(Token::Class { negated, ranges });
        }
        let lo = class_char(chars)?;
        let hi = match chars.next_if_eq(&'-') {
            Some(_) => class_char(chars)?,
            None => lo,
        };
        ranges.push((lo, hi));
    }
}

/// One (possibly escaped) character of a class; `-` and `]` must be escaped, and the class
/// must not end here.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let c = match chars.next()? {
        '-' | ']' => return None,
        '\\' => chars.next()?,
        c => c,
    };
    chars.peek()?;
    Some(c)
}

/// Whether `tokens` match all of `target`.
fn match_tokens(tokens: &[Token], target: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return target.is_empty();
    };
    match first {
        Token::Star => (0..=target.len())
            .take_while(|&n| n == 0 || target[n - 1] != '/')
            .any(|n| match_tokens(rest, &target[n..])),
        single => match target.split_first() {
            Some((c, target_rest)) => matches_one(single, *c) && match_tokens(rest, target_rest),
            None => false,
        },
    }
}

/// Whether a non-star token matches the character `c`.
fn matches_one(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(literal) => *literal == c,
        Token::AnyOne => c != '/',
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Token::Star => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        let glob = Glob::parse(pattern).expect("well-formed");
        match_tokens(&glob.tokens, &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn path_match_rules() {
        assert!(matches("a*c", "abbc"));
        assert!(!matches("a*c", "ab/c"), "* stops at /");
        assert!(matches("a*/b", "abc/b"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "a/c"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(matches("\\*", "*"));
        assert!(!matches("\\*", "x"));
        assert!(matches("*", ""));
        for bad in ["[", "[]", "[^]", "[a-", "a\\", "[-a]", "[a"] {
            assert!(Glob::parse(bad).is_none(), "{bad} is malformed");
        }
        assert!(Glob::parse("[\\]]").is_some());
    }
}
