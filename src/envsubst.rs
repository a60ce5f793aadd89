//! Flux's variable substitution language (`${var}`, `${var:=default}`, …),
//! used by `flux envsubst` and by post-build substitution in
//! `flux build/diff kustomization`.
//!
//! The scanner reproduces the token rules of Flux's envsubst package
//! (a fork of drone/envsubst) step by step, including its oddities: `$$`
//! collapses to `$` everywhere outside `${…}`, `${var=x}` acts like
//! `${var:=x}`, `${var-x}` does not parse, and a NUL character ends the
//! input. Text is handled as bytes, as Go strings are.

/// A substitution failure, worded as Flux words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    #[error("bad substitution")]
    BadSubstitution,
    #[error("missing closing brace")]
    MissingClosingBrace,
    #[error("unable to parse variable name")]
    ParseVariableName,
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    #[error("variable not set (strict mode): {0:?}")]
    NotSet(String),
}

/// Substitutes every `${…}` expression of `text`. `lookup` answers a
/// variable's value, or `None` when it is not set: in strict mode that is
/// an error unless a default operator supplies the value, otherwise the
/// variable counts as empty.
pub fn substitute(
    text: &[u8],
    strict: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<u8>, SubstError> {
    let nodes = Parser::new(text).parse_all()?;
    let mut out = Vec::with_capacity(text.len());
    for node in &nodes {
        eval(node, strict, lookup, &mut out)?;
    }
    Ok(out)
}

#[derive(Debug)]
enum Node {
    Text(Vec<u8>),
    Func {
        /// The operator (`:=`, `#`, `//`, …); empty for a bare `${var}`.
        op: Vec<u8>,
        var: String,
        args: Vec<Node>,
    },
}

fn eval(
    node: &Node,
    strict: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<u8>,
) -> Result<(), SubstError> {
    let (op, var, args) = match node {
        Node::Text(text) => {
            out.extend_from_slice(text);
            return Ok(());
        }
        Node::Func { op, var, args } => (op.as_slice(), var, args),
    };
    let mut values = Vec::with_capacity(args.len());
    for arg in args {
        let mut buf = Vec::new();
        eval(arg, strict, lookup, &mut buf)?;
        values.push(buf);
    }
    let value = match lookup(var) {
        Some(value) => value.into_bytes(),
        None if strict && !is_default_op(op) => return Err(SubstError::NotSet(var.clone())),
        None => Vec::new(),
    };
    out.extend_from_slice(&apply(op, &value, &values));
    Ok(())
}

/// Operators that supply their own value for an unset variable.
fn is_default_op(op: &[u8]) -> bool {
    matches!(
        op,
        b"-" | b"+" | b"=" | b"?" | b":-" | b":+" | b":=" | b":?"
    )
}

fn apply(op: &[u8], s: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    match op {
        b"," => map_first(s, |c| c.to_lowercase().collect()),
        b",," => String::from_utf8_lossy(s).to_lowercase().into_bytes(),
        b"^" => map_first(s, |c| c.to_uppercase().collect()),
        b"^^" => String::from_utf8_lossy(s).to_uppercase().into_bytes(),
        b"#" if args.is_empty() => s.len().to_string().into_bytes(),
        b"#" => trim_prefix(s, &args[0], false),
        b"##" => trim_prefix(s, args.first().map_or(&[][..], |a| a), true),
        b"%" | b"%%" => match args.first() {
            Some(pattern) => {
                let reversed = trim_prefix(&reverse(s), &reverse(pattern), op == b"%%");
                reverse(&reversed)
            }
            None => s.to_vec(),
        },
        b":" => substring(s, args),
        b"/#" => match args {
            [old, new] if s.starts_with(old) => replace(s, old, new, Some(1)),
            _ => s.to_vec(),
        },
        b"/%" => match args {
            [old, new] if s.ends_with(old) => [&s[..s.len() - old.len()], new].concat(),
            _ => s.to_vec(),
        },
        b"/" | b"//" => {
            let count = (op == b"/").then_some(1);
            match args {
                [] => s.to_vec(),
                [old] => replace(s, old, b"", count),
                [old, new, ..] => replace(s, old, new, count),
            }
        }
        // Every other operator (`:=`, `:-`, `=`, `:+`, `:?`, bare) yields
        // the value, or the arguments when it is empty.
        _ if s.is_empty() && !args.is_empty() => args.concat(),
        _ => s.to_vec(),
    }
}

fn map_first(s: &[u8], f: impl Fn(char) -> String) -> Vec<u8> {
    let text = String::from_utf8_lossy(s);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut out = f(first);
            out.push_str(chars.as_str());
            out.into_bytes()
        }
        None => Vec::new(),
    }
}

fn reverse(s: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(s)
        .chars()
        .rev()
        .collect::<String>()
        .into_bytes()
}

/// Removes the shortest (or longest) prefix of `s` that matches the glob
/// `pattern`; an invalid pattern leaves `s` as it is. The empty prefix
/// is never tried, as in Flux.
fn trim_prefix(s: &[u8], pattern: &[u8], longest: bool) -> Vec<u8> {
    let mut found = None;
    for end in (1..=s.len()).rev() {
        match glob_match(pattern, &s[..end]) {
            Err(()) => return s.to_vec(),
            Ok(true) => {
                found = Some(end);
                if longest {
                    break;
                }
            }
            Ok(false) => {}
        }
    }
    match found {
        Some(end) => s[end..].to_vec(),
        None => s.to_vec(),
    }
}

fn replace(s: &[u8], old: &[u8], new: &[u8], count: Option<usize>) -> Vec<u8> {
    let limit = count.unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(s.len());
    let mut done = 0;
    let mut i = 0;
    if old.is_empty() {
        // Go inserts `new` before every character (and at the end).
        let text = String::from_utf8_lossy(s);
        let mut rest = text.as_ref();
        loop {
            if done < limit {
                out.extend_from_slice(new);
                done += 1;
            }
            let Some(c) = rest.chars().next() else { break };
            out.extend_from_slice(c.to_string().as_bytes());
            rest = &rest[c.len_utf8()..];
        }
        return out;
    }
    while i < s.len() {
        if done < limit && s[i..].starts_with(old) {
            out.extend_from_slice(new);
            i += old.len();
            done += 1;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Go's `strconv.Atoi`: optional sign, decimal digits only.
fn atoi(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

fn substring(s: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    let Some(first) = args.first() else {
        return s.to_vec();
    };
    let len = s.len() as i64;
    let Some(mut pos) = atoi(first) else {
        return s.to_vec();
    };
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let Some(second) = args.get(1) else {
        return if pos < len {
            s[pos as usize..].to_vec()
        } else {
            Vec::new()
        };
    };
    let Some(length) = atoi(second) else {
        return s.to_vec();
    };
    if length < 0 {
        let end = len + length;
        return if end < pos {
            Vec::new()
        } else {
            s[pos as usize..end as usize].to_vec()
        };
    }
    if pos.saturating_add(length) >= len {
        return if pos < len {
            s[pos as usize..].to_vec()
        } else {
            Vec::new()
        };
    }
    s[pos as usize..(pos + length) as usize].to_vec()
}

/// Go's `path.Match` on bytes: `*` (not across `/`), `?`, `[…]` classes
/// with ranges and `^` negation, `\` escapes. `Err` for a malformed pattern.
pub(crate) fn glob_match(pattern: &[u8], name: &[u8]) -> Result<bool, ()> {
    let pattern = String::from_utf8_lossy(pattern).chars().collect::<Vec<_>>();
    let name = String::from_utf8_lossy(name).chars().collect::<Vec<_>>();
    glob_chars(&pattern, &name)
}

fn glob_chars(mut pattern: &[char], mut name: &[char]) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let mut star = false;
        while pattern.first() == Some(&'*') {
            pattern = &pattern[1..];
            star = true;
        }
        let (chunk, rest) = split_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&'/'));
        }
        let (matched_rest, ok) = match_chunk(chunk, name)?;
        if ok && (matched_rest.is_empty() || !pattern.is_empty()) {
            name = matched_rest;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (matched_rest, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !matched_rest.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = matched_rest;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Go checks the rest of the pattern for syntax errors before
        // reporting no match.
        while !pattern.is_empty() {
            while pattern.first() == Some(&'*') {
                pattern = &pattern[1..];
            }
            let (chunk, rest) = split_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// The pattern up to the next unescaped `*` outside a class.
fn split_chunk(pattern: &[char]) -> (&[char], &[char]) {
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 < pattern.len() => i += 1,
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (&pattern[..i], &pattern[i..])
}

/// Matches `chunk` (no `*`) at the start of `s`; returns what is left.
/// Syntax errors are reported even when `s` runs out, as Go does.
fn match_chunk<'a>(mut chunk: &[char], mut s: &'a [char]) -> Result<(&'a [char], bool), ()> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            '[' => {
                let c = if failed { '\0' } else { s[0] };
                if !failed {
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut n = 0;
                loop {
                    if !chunk.is_empty() && chunk[0] == ']' && n > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        let (h, rest) = class_char(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                    n += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            '\\' => {
                chunk = &chunk[1..];
                if chunk.is_empty() {
                    return Err(());
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            c => {
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        Ok((&[], false))
    } else {
        Ok((s, true))
    }
}

fn class_char(chunk: &[char]) -> Result<(char, &[char]), ()> {
    match chunk {
        [] | ['-' | ']', ..] => Err(()),
        ['\\', c, rest @ ..] => Ok((*c, rest)),
        ['\\'] => Err(()),
        [c, rest @ ..] => Ok((*c, rest)),
    }
}

// Scanner mode bits: which tokens `scan` recognises.
const IDENT: u8 = 1;
const LBRACK: u8 = 2;
const RBRACK: u8 = 4;
const ESCAPE: u8 = 8;
// Which characters escape the next one when ESCAPE is on.
const DOLLAR: u8 = 1;
const BACKSLASH: u8 = 2;

/// Which characters an identifier token may hold; `i` is the byte offset
/// just after the character, from the token's start (1 for the first
/// ASCII character).
#[derive(Clone, Copy)]
enum Accept {
    Rune,
    Ident,
    Colon,
    OneHash,
    NotClosing,
    HashOp,
    PercentOp,
    DefaultOp,
    ReplaceOp,
    OneEqual,
    OneColon,
    RejectColonClose,
    Slash,
    NotSlash,
    CasingOp,
}

impl Accept {
    fn accepts(self, r: char, i: usize) -> bool {
        match self {
            Accept::Rune => true,
            Accept::Ident => r.is_alphabetic() || r.is_numeric() || r == '_',
            Accept::Colon => r == ':',
            Accept::OneHash => r == '#' && i == 1,
            Accept::NotClosing => r != '}',
            Accept::HashOp => r == '#' && i < 3,
            Accept::PercentOp => r == '%' && i < 3,
            Accept::DefaultOp => {
                (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
            }
            Accept::ReplaceOp => (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%')),
            Accept::OneEqual => i == 1 && r == '=',
            Accept::OneColon => i == 1 && r == ':',
            Accept::RejectColonClose => r != ':' && r != '}',
            Accept::Slash => r == '/',
            Accept::NotSlash => r != '/',
            Accept::CasingOp => matches!(r, ',' | '^') && i < 3,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

/// End of input; a NUL character in the input reads the same.
const EOF: char = '\0';

struct Parser {
    buf: Vec<u8>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escapes: u8,
    accept: Accept,
}

impl Parser {
    fn new(text: &[u8]) -> Self {
        Self {
            buf: text.to_vec(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escapes: 0,
            accept: Accept::Rune,
        }
    }

    fn read(&mut self) -> char {
        if self.pos >= self.buf.len() {
            self.width = 0;
            return EOF;
        }
        let (c, width) = decode(&self.buf[self.pos..]);
        self.width = width;
        self.pos += width;
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
    }

    fn peek(&mut self) -> char {
        let c = self.read();
        self.unread();
        c
    }

    /// Drops the byte just read (an escape character) from the buffer.
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }

    fn token_text(&self) -> Vec<u8> {
        self.buf[self.start..self.pos].to_vec()
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let c = self.read();
        if c == EOF {
            Token::Eof
        } else if self.scan_lbrack(c) {
            Token::Lbrack
        } else if self.mode & RBRACK != 0 && c == '}' {
            Token::Rbrack
        } else if self.scan_ident(c) {
            Token::Ident
        } else {
            Token::Illegal
        }
    }

    fn scan_lbrack(&mut self, c: char) -> bool {
        if self.mode & LBRACK == 0 || c != '$' {
            return false;
        }
        if self.read() == '{' {
            return true;
        }
        self.unread();
        false
    }

    fn escaped(&mut self, c: char) -> bool {
        if self.mode & ESCAPE == 0 {
            return false;
        }
        if c == '$' && self.escapes & DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        c == '\\' && self.escapes & BACKSLASH != 0 && matches!(self.peek(), '/' | '\\')
    }

    fn scan_ident(&mut self, c: char) -> bool {
        if self.mode & IDENT == 0 {
            return false;
        }
        if self.escaped(c) {
            self.skip();
        } else if !self.accept.accepts(c, self.pos - self.start) {
            return false;
        }
        loop {
            let c = self.read();
            if c == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(c) {
                self.unread();
                self.unread();
                break;
            }
            if self.escaped(c) {
                self.skip();
                continue;
            }
            if !self.accept.accepts(c, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }

    fn set(&mut self, accept: Accept, mode: u8) {
        self.accept = accept;
        self.mode = mode;
    }

    /// The top level: text and expressions up to the end.
    fn parse_all(&mut self) -> Result<Vec<Node>, SubstError> {
        let mut nodes = Vec::new();
        loop {
            self.set(Accept::Rune, IDENT | LBRACK | ESCAPE);
            self.escapes = DOLLAR;
            match self.scan() {
                Token::Ident => nodes.push(Node::Text(self.token_text())),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(self.parse_func()?),
                _ => return Err(SubstError::BadSubstitution),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, SubstError> {
        self.escapes = DOLLAR | BACKSLASH;
        if self.peek() == '#' {
            return self.parse_len();
        }
        self.set(Accept::Ident, IDENT);
        let var = match self.scan() {
            Token::Ident => String::from_utf8_lossy(&self.token_text()).into_owned(),
            _ => return Err(SubstError::ParseVariableName),
        };
        match self.peek() {
            ':' => return self.parse_default_or_substring(var),
            '=' => return self.parse_default(var),
            ',' | '^' => return self.parse_casing(var),
            '/' => return self.parse_replace(var),
            '#' => return self.parse_remove(var, Accept::HashOp),
            '%' => return self.parse_remove(var, Accept::PercentOp),
            _ => {}
        }
        self.set(Accept::Ident, RBRACK);
        match self.scan() {
            Token::Rbrack => Ok(Node::Func {
                op: Vec::new(),
                var,
                args: Vec::new(),
            }),
            _ => Err(SubstError::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, SubstError> {
        self.set(accept, mode | LBRACK);
        match self.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.token_text())),
            _ => Err(SubstError::ParseFuncSubstitution),
        }
    }

    fn operator(&mut self, accept: Accept, err: SubstError) -> Result<Vec<u8>, SubstError> {
        self.set(accept, IDENT);
        match self.scan() {
            Token::Ident => Ok(self.token_text()),
            _ => Err(err),
        }
    }

    fn parse_default_or_substring(&mut self, var: String) -> Result<Node, SubstError> {
        self.read();
        let next = self.peek();
        self.unread();
        match next {
            '=' | '-' | '?' | '+' => self.parse_default(var),
            _ => self.parse_substring(var),
        }
    }

    fn parse_substring(&mut self, var: String) -> Result<Node, SubstError> {
        let op = self.operator(Accept::OneColon, SubstError::BadSubstitution)?;
        let mut args = vec![self.parse_param(Accept::RejectColonClose, IDENT)?];
        self.set(Accept::Colon, IDENT | RBRACK);
        match self.scan() {
            Token::Rbrack => return Ok(Node::Func { op, var, args }),
            Token::Ident => {}
            _ => return Err(SubstError::BadSubstitution),
        }
        args.push(self.parse_param(Accept::NotClosing, IDENT)?);
        self.close()?;
        Ok(Node::Func { op, var, args })
    }

    fn parse_remove(&mut self, var: String, accept: Accept) -> Result<Node, SubstError> {
        let op = self.operator(accept, SubstError::BadSubstitution)?;
        let args = vec![self.parse_param(Accept::NotClosing, IDENT)?];
        self.close()?;
        Ok(Node::Func { op, var, args })
    }

    fn parse_replace(&mut self, var: String) -> Result<Node, SubstError> {
        let op = self.operator(Accept::ReplaceOp, SubstError::BadSubstitution)?;
        let mut args = Vec::new();
        if self.peek() == '/' {
            // An empty pattern: the delimiter follows at once.
            args.push(Node::Text(Vec::new()));
        } else {
            args.push(self.parse_param(Accept::NotSlash, IDENT | ESCAPE)?);
        }
        self.set(Accept::Slash, IDENT);
        if self.scan() != Token::Ident {
            return Err(SubstError::BadSubstitution);
        }
        if self.peek() != '}' {
            args.push(self.parse_param(Accept::NotClosing, IDENT | ESCAPE)?);
        }
        self.close()?;
        Ok(Node::Func { op, var, args })
    }

    fn parse_default(&mut self, var: String) -> Result<Node, SubstError> {
        let accept = if self.peek() == '=' {
            Accept::OneEqual
        } else {
            Accept::DefaultOp
        };
        let op = self.operator(accept, SubstError::ParseDefaultFunction)?;
        let mut args = Vec::new();
        loop {
            if self.peek() == '}' {
                self.close()?;
                return Ok(Node::Func { op, var, args });
            }
            args.push(self.parse_param(Accept::NotClosing, IDENT)?);
        }
    }

    fn parse_casing(&mut self, var: String) -> Result<Node, SubstError> {
        let op = self.operator(Accept::CasingOp, SubstError::BadSubstitution)?;
        self.close()?;
        Ok(Node::Func {
            op,
            var,
            args: Vec::new(),
        })
    }

    fn parse_len(&mut self) -> Result<Node, SubstError> {
        let op = self.operator(Accept::OneHash, SubstError::BadSubstitution)?;
        self.set(Accept::Ident, IDENT);
        let var = match self.scan() {
            Token::Ident => String::from_utf8_lossy(&self.token_text()).into_owned(),
            _ => return Err(SubstError::BadSubstitution),
        };
        self.close()?;
        Ok(Node::Func {
            op,
            var,
            args: Vec::new(),
        })
    }

    fn close(&mut self) -> Result<(), SubstError> {
        self.mode = RBRACK;
        match self.scan() {
            Token::Rbrack => Ok(()),
            _ => Err(SubstError::BadSubstitution),
        }
    }
}

/// Go's `utf8.DecodeRune`: the first character and its width, or U+FFFD
/// and width 1 for an invalid byte.
fn decode(bytes: &[u8]) -> (char, usize) {
    let end = bytes.len().min(4);
    let valid = match std::str::from_utf8(&bytes[..end]) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(c) => (c, c.len_utf8()),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, strict: bool) -> Result<String, SubstError> {
        let lookup = |name: &str| match name {
            "A" => Some("hello".to_string()),
            "P" => Some("/usr/local/lib.tar.gz".to_string()),
            "E" => Some(String::new()),
            "N" => Some("3".to_string()),
            _ => None,
        };
        substitute(text.as_bytes(), strict, &lookup)
            .map(|out| String::from_utf8(out).expect("utf-8"))
    }

    fn ok(text: &str) -> String {
        run(text, false).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn plain_and_default_forms() {
        assert_eq!(ok("x ${A} y"), "x hello y");
        assert_eq!(ok("${B}"), "");
        assert_eq!(ok("${B:=flux-system}"), "flux-system");
        assert_eq!(ok("${B:-d}${B=e}${B:+f}${B:?g}"), "defg");
        assert_eq!(ok("${E:=set-but-empty}"), "set-but-empty");
        assert_eq!(ok("${A:=no}"), "hello");
        assert_eq!(ok("${B:=${A}-x}"), "hello-x");
        assert_eq!(ok("$A and $ alone"), "$A and $ alone");
    }

    #[test]
    fn dollar_dollar_collapses_everywhere() {
        assert_eq!(ok("$${A}"), "${A}");
        assert_eq!(ok("a$$b"), "a$b");
        assert_eq!(ok("$$$$"), "$$");
    }

    #[test]
    fn string_functions() {
        assert_eq!(ok("${#A}"), "5");
        assert_eq!(ok("${A^}${A^^}"), "HelloHELLO");
        assert_eq!(ok("${A,}"), "hello");
        assert_eq!(
            ok("${A:1}|${A:1:2}|${A:-2}|${A:9}|${A:x}|${A:1:-1}"),
            "ello|el|hello||hello|ell"
        );
        // Go's Atoi refuses the space, so the value comes back whole.
        assert_eq!(ok("${A: -2}"), "hello");
        // Go's path.Match: `*` never matches a `/`.
        assert_eq!(
            ok("${P#*/}|${P##*/}"),
            "usr/local/lib.tar.gz|usr/local/lib.tar.gz"
        );
        assert_eq!(ok("${P#/*/}|${P##/*/*/}"), "local/lib.tar.gz|lib.tar.gz");
        assert_eq!(ok("${P%.*}|${P%%.*}"), "/usr/local/lib.tar|/usr/local/lib");
        assert_eq!(
            ok("${A/l/L}|${A//l/L}|${A/#he/HE}|${A/%lo/LO}|${A/l/}"),
            "heLlo|heLLo|HEllo|helLO|helo"
        );
        // The second slash is required even when the replacement is empty.
        assert_eq!(run("${A/l}", false), Err(SubstError::BadSubstitution));
        assert_eq!(ok(r"${P//\//_}"), "_usr_local_lib.tar.gz");
    }

    #[test]
    fn substring_with_a_default_looking_operand() {
        // `:-2` is the default operator, not a negative offset.
        assert_eq!(ok("${B:-2}"), "2");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(run("${A", false), Err(SubstError::MissingClosingBrace));
        assert_eq!(run("${}", false), Err(SubstError::ParseVariableName));
        assert_eq!(run("${A-x}", false), Err(SubstError::MissingClosingBrace));
        assert_eq!(run("${A+x}", false), Err(SubstError::MissingClosingBrace));
        assert_eq!(run("${A:=x", false), Err(SubstError::ParseFuncSubstitution));
    }

    #[test]
    fn strict_mode_fails_on_unset_variables_without_defaults() {
        assert_eq!(run("${B}", true), Err(SubstError::NotSet("B".to_string())));
        assert_eq!(
            SubstError::NotSet("B".into()).to_string(),
            "variable not set (strict mode): \"B\""
        );
        assert_eq!(run("${#B}", true), Err(SubstError::NotSet("B".into())));
        assert_eq!(run("${B:=d}", true), Ok("d".to_string()));
        assert_eq!(run("${E}", true), Ok(String::new()));
    }

    #[test]
    fn nul_ends_the_input_and_odd_bytes_survive() {
        assert_eq!(ok("a\0b"), "a");
        assert_eq!(ok("é ${A} ü"), "é hello ü");
    }

    #[test]
    fn globs_follow_go_path_match() {
        assert_eq!(glob_match(b"*.go", b"a.go"), Ok(true));
        assert_eq!(glob_match(b"*", b"a/b"), Ok(false));
        assert_eq!(glob_match(b"[a-c]x", b"bx"), Ok(true));
        assert_eq!(glob_match(b"[^a-c]x", b"bx"), Ok(false));
        assert_eq!(glob_match(b"[", b"a"), Err(()));
        assert_eq!(glob_match(b"a\\*", b"a*"), Ok(true));
    }

    #[test]
    fn deep_lines_do_not_recurse() {
        let text = "${A}".repeat(100_000);
        assert_eq!(ok(&text).len(), 500_000);
    }
}
