//! Semantic version constraints in the syntax upstream's `--filter-semver`
//! takes (Masterminds semver v3): `||` alternatives of comma- or
//! space-separated comparisons, `~`, `^`, `x` wildcards and hyphen ranges.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl Version {
    /// A loose version: optional `v`, missing minor/patch read as 0,
    /// leading zeros allowed, build metadata ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let text = match text.split_once('+') {
            Some((_, build)) if !valid_ids(build) => return None,
            Some((v, _)) => v,
            None => text,
        };
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) if valid_ids(pre) => {
                (core, pre.split('.').map(String::from).collect())
            }
            Some(_) => return None,
            None => (text, Vec::new()),
        };
        let mut parts = core.split('.');
        let number = |p: Option<&str>| -> Option<u64> {
            match p {
                None => Some(0),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                Some(_) => None,
            }
        };
        let major = number(Some(parts.next()?))?;
        let minor = number(parts.next())?;
        let patch = number(parts.next())?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn core(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

fn valid_ids(ids: &str) -> bool {
    ids.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core().cmp(&other.core()).then_with(|| {
            // A pre-release sorts before its release.
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

/// One comparison; `wild` counts the trailing parts given as `x`/`*` or
/// left out (3 = any version).
#[derive(Debug, Clone)]
struct Comparison {
    op: Op,
    version: Version,
    wild: u8,
}

#[derive(Debug, Clone)]
pub struct Constraints {
    alternatives: Vec<Vec<Comparison>>,
}

impl Constraints {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut alternatives = Vec::new();
        for group in text.split("||") {
            let group = expand_hyphen_ranges(group.trim());
            let mut comparisons = Vec::new();
            let mut tokens = group
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .peekable();
            while let Some(token) = tokens.next() {
                // `>= 1.2`: an operator alone takes the next token.
                let token = if token.bytes().all(|b| b"<>=!~^".contains(&b)) {
                    match tokens.next() {
                        Some(next) => format!("{token}{next}"),
                        None => return Err(format!("improper constraint: {token}")),
                    }
                } else {
                    token.to_string()
                };
                comparisons.push(parse_comparison(&token)?);
            }
            if comparisons.is_empty() {
                return Err(format!("improper constraint: {text}"));
            }
            alternatives.push(comparisons);
        }
        Ok(Self { alternatives })
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|group| group.iter().all(|c| c.matches(version)))
    }
}

/// `1.2 - 1.4.5` → `>=1.2 <=1.4.5`.
fn expand_hyphen_ranges(group: &str) -> String {
    let words: Vec<&str> = group.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 2 < words.len() && words[i + 1] == "-" {
            out.push(format!(">={}", words[i]));
            out.push(format!("<={}", words[i + 2]));
            i += 3;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

fn parse_comparison(token: &str) -> Result<Comparison, String> {
    let improper = || format!("improper constraint: {token}");
    let ops: [(&str, Op); 12] = [
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
        ("", Op::Eq),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(prefix, op)| token.strip_prefix(prefix).map(|rest| (*op, rest)))
        .ok_or_else(improper)?;
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let (core, suffix) = match rest.find(['-', '+']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(improper());
    }
    let is_wild = |p: &str| matches!(p, "x" | "X" | "*");
    let given = parts.iter().take_while(|p| !is_wild(p)).count();
    if parts[given..].iter().any(|p| !is_wild(p)) {
        return Err(improper());
    }
    let wild = (3 - given) as u8;
    parts.truncate(given);
    while parts.len() < 3 {
        parts.push("0");
    }
    let version = Version::parse(&format!("{}.{}.{}{suffix}", parts[0], parts[1], parts[2]))
        .ok_or_else(improper)?;
    Ok(Comparison { op, version, wild })
}

impl Comparison {
    fn matches(&self, v: &Version) -> bool {
        // Pre-releases only match comparisons that name one.
        if !v.pre.is_empty() && self.version.pre.is_empty() && self.op != Op::Ne {
            return false;
        }
        let c = &self.version;
        // The first version past the wildcard range (`1.2.x` → 1.3.0).
        let next = |wild: u8| -> Version {
            let (a, b, _) = c.core();
            let core = match wild {
                3 => (u64::MAX, 0, 0),
                2 => (a + 1, 0, 0),
                1 => (a, b + 1, 0),
                _ => (a, b, c.patch + 1),
            };
            Version {
                major: core.0,
                minor: core.1,
                patch: core.2,
                pre: vec!["0".into()],
            }
        };
        let in_range = |v: &Version| {
            v >= c && (self.wild == 0 && v == c || self.wild > 0 && *v < next(self.wild))
        };
        match self.op {
            Op::Eq => in_range(v),
            Op::Ne => !in_range(v),
            Op::Gt if self.wild > 0 => *v >= next(self.wild),
            Op::Gt => v > c,
            Op::Ge => v >= c,
            Op::Lt => v < c,
            Op::Le if self.wild > 0 => *v < next(self.wild),
            Op::Le => v <= c,
            Op::Tilde => {
                // ~1.2.3 and ~1.2 stay in 1.2; ~1 stays in 1.
                let upper = next(if self.wild >= 2 { 2 } else { 1 });
                v >= c && *v < upper
            }
            Op::Caret => {
                let upper = if c.major > 0 || self.wild >= 2 {
                    next(2)
                } else if c.minor > 0 || self.wild == 1 {
                    next(1)
                } else {
                    next(0)
                };
                v >= c && *v < upper
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, yes: &[&str], no: &[&str]) {
        let c = Constraints::parse(constraint).unwrap();
        for v in yes {
            assert!(
                c.matches(&Version::parse(v).unwrap()),
                "{constraint} should match {v}"
            );
        }
        for v in no {
            assert!(
                !c.matches(&Version::parse(v).unwrap()),
                "{constraint} should not match {v}"
            );
        }
    }

    #[test]
    fn comparisons() {
        check(
            ">=1.0.0",
            &["1.0.0", "v2.3.4", "01.2.3"],
            &["0.9.9", "1.0.0-rc.1"],
        );
        check(">= 1.2, < 3.0", &["1.2.0", "2.9.9"], &["3.0.0", "1.1.9"]);
        check(">1.2", &["1.3.0"], &["1.2.9"]);
        check("<=1.2", &["1.2.9"], &["1.3.0"]);
        check("1.2.x", &["1.2.0", "1.2.7"], &["1.3.0", "1.1.0"]);
        check("*", &["0.0.1", "9.9.9"], &[]);
        check("!=1.2.3", &["1.2.4"], &["1.2.3"]);
        check("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6"]);
        check("<1.0.0 || >=2.0.0", &["0.5.0", "2.0.0"], &["1.5.0"]);
    }

    #[test]
    fn tilde_and_caret() {
        check("~1.2.3", &["1.2.3", "1.2.9"], &["1.3.0", "1.2.2"]);
        check("~1", &["1.9.0"], &["2.0.0"]);
        check("^1.2.3", &["1.9.9"], &["2.0.0", "1.2.2"]);
        check("^0.2.3", &["0.2.9"], &["0.3.0"]);
        check("^0.0.3", &["0.0.3"], &["0.0.4"]);
    }

    #[test]
    fn prereleases_need_a_prerelease_constraint() {
        check(">=1.0.0-0", &["1.0.0-rc.1", "1.0.1"], &["0.9.0"]);
        check("1.0.0-rc.1", &["1.0.0-rc.1"], &["1.0.0-rc.2"]);
    }

    #[test]
    fn bad_input() {
        for bad in ["", ">=", "1.2.3.4", "a.b", "1.x.3", ">>1"] {
            assert!(Constraints::parse(bad).is_err(), "{bad}");
        }
        for bad in ["", "1.2.3.4", "1.a", "1.0.0-", "x"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
