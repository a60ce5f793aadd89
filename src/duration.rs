//! Go-style durations (`90s`, `1h30m`, `1.5h`).
//!
//! Flux flags take Go duration syntax, and every duration written into YAML
//! is in Go's canonical form (`5m` is written `5m0s`), so both directions
//! follow Go's `time` package, including its error texts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration that parses and prints like Go's `time.Duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(Duration);

/// Why a duration string was rejected. The messages are Go's, with the
/// offending input quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", go_quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", go_quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.input))]
    UnknownUnit { unit: String, input: String },
    /// Go accepts negative durations, but no flux setting has a use for them.
    #[error("invalid duration {}: negative durations are not allowed", go_quote(.0))]
    Negative(String),
}

/// Largest Go duration, in nanoseconds (Go stores an int64).
const MAX_NANOS: u64 = i64::MAX as u64;

/// Go's unit table, in nanoseconds; both micro signs are accepted.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

impl GoDuration {
    pub const ZERO: GoDuration = GoDuration(Duration::ZERO);

    pub const fn new(d: Duration) -> Self {
        GoDuration(d)
    }

    pub const fn as_std(&self) -> Duration {
        self.0
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(d)
    }
}

impl From<GoDuration> for Duration {
    fn from(d: GoDuration) -> Self {
        d.0
    }
}

/// Parse Go duration syntax and return it in Go's canonical spelling.
pub fn canonicalize(s: &str) -> Result<String, DurationError> {
    Ok(s.parse::<GoDuration>()?.to_string())
}

impl FromStr for GoDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || DurationError::Invalid(input.to_string());
        let (negative, mut rest) = match input.as_bytes().first() {
            Some(b'-') => (true, &input[1..]),
            Some(b'+') => (false, &input[1..]),
            _ => (false, input),
        };
        // A bare zero needs no unit.
        if rest == "0" {
            return Ok(GoDuration::ZERO);
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let is_num = |c: char| c == '.' || c.is_ascii_digit();
            if !rest.starts_with(is_num) {
                return Err(invalid());
            }
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let whole = leading_int(&rest[..int_len]).ok_or_else(invalid)?;
            rest = &rest[int_len..];
            let mut frac_len = 0;
            let (mut frac, mut scale) = (0u64, 1f64);
            if let Some(after_dot) = rest.strip_prefix('.') {
                frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                (frac, scale) = leading_fraction(&after_dot[..frac_len]);
                rest = &after_dot[frac_len..];
            }
            if int_len == 0 && frac_len == 0 {
                return Err(invalid()); // e.g. ".s"
            }
            let unit_len = rest.find(is_num).unwrap_or(rest.len());
            if unit_len == 0 {
                return Err(DurationError::MissingUnit(input.to_string()));
            }
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            })?;
            if whole > (1u64 << 63) / nanos {
                return Err(invalid());
            }
            let mut value = whole * nanos;
            if frac > 0 {
                // Go goes through float64 here; doing the same keeps
                // `1.1h`-style values identical to the nanosecond.
                value += (frac as f64 * (nanos as f64 / scale)) as u64;
                if value > 1 << 63 {
                    return Err(invalid());
                }
            }
            total += value;
            if total > 1 << 63 {
                return Err(invalid());
            }
        }
        if negative && total > 0 {
            return Err(DurationError::Negative(input.to_string()));
        }
        if total > MAX_NANOS {
            return Err(invalid());
        }
        Ok(GoDuration(Duration::from_nanos(total)))
    }
}

/// The digits before a unit or point; `None` on overflow past 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    let mut x: u64 = 0;
    for d in digits.bytes() {
        x = x.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        if x > 1 << 63 {
            return None;
        }
    }
    Some(x)
}

/// Fraction digits as (value, 10^digits); precision past 2^63 is dropped.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let (mut x, mut scale) = (0u64, 1f64);
    for d in digits.bytes() {
        match x.checked_mul(10).map(|v| v + u64::from(d - b'0')) {
            Some(y) if y <= 1 << 63 => {
                x = y;
                scale *= 10.0;
            }
            _ => break,
        }
    }
    (x, scale)
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        // Below one second: the largest unit that fits, with a fraction.
        if nanos < 1_000_000_000 {
            let (unit, digits) = match nanos {
                n if n < 1_000 => ("ns", 0),
                n if n < 1_000_000 => ("\u{b5}s", 3),
                _ => ("ms", 6),
            };
            return write!(f, "{}{unit}", with_fraction(nanos, digits));
        }
        let secs = nanos / 1_000_000_000;
        let seconds = with_fraction(nanos % 60_000_000_000, 9);
        let minutes = secs / 60;
        if minutes == 0 {
            return write!(f, "{seconds}s");
        }
        let hours = minutes / 60;
        if hours == 0 {
            return write!(f, "{}m{seconds}s", minutes % 60);
        }
        write!(f, "{hours}h{}m{seconds}s", minutes % 60)
    }
}

/// `value / 10^digits` with the fraction's trailing zeros (and a bare
/// point) left out.
fn with_fraction(value: u128, digits: u32) -> String {
    let divisor = 10u128.pow(digits);
    let (int, frac) = (value / divisor, value % divisor);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// Go's `strconv.Quote`: double quotes, backslash escapes for quotes,
/// backslashes and control characters.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Duration, DurationError> {
        s.parse::<GoDuration>().map(|d| d.as_std())
    }

    #[test]
    fn parses_go_syntax() {
        let ms = Duration::from_millis;
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("300ms"), Ok(ms(300)));
        assert_eq!(parse("1us"), Ok(Duration::from_micros(1)));
        assert_eq!(parse("1\u{b5}s"), Ok(Duration::from_micros(1)));
        assert_eq!(parse("1\u{3bc}s"), Ok(Duration::from_micros(1)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("+0"), Ok(Duration::ZERO));
        assert_eq!(parse("-0"), Ok(Duration::ZERO));
        assert_eq!(parse("-0s"), Ok(Duration::ZERO));
        assert_eq!(parse("+5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse(".5s"), Ok(ms(500)));
        assert_eq!(parse("1.s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("1h1m1s1ms"), Ok(Duration::new(3661, 1_000_000)));
        assert_eq!(parse("10ns"), Ok(Duration::from_nanos(10)));
        assert_eq!(parse("1.1h"), Ok(Duration::from_secs(3960)));
        assert_eq!(
            parse("2562047h47m16.854775807s"),
            Ok(Duration::from_nanos(i64::MAX as u64))
        );
    }

    #[test]
    fn go_error_texts() {
        let err = |s: &str| parse(s).expect_err(s).to_string();
        assert_eq!(err("10"), r#"time: missing unit in duration "10""#);
        assert_eq!(err("1h5"), r#"time: missing unit in duration "1h5""#);
        assert_eq!(err(""), r#"time: invalid duration """#);
        assert_eq!(err("abc"), r#"time: invalid duration "abc""#);
        assert_eq!(err("-"), r#"time: invalid duration "-""#);
        assert_eq!(err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(err("1 m"), r#"time: unknown unit " m" in duration "1 m""#);
        assert_eq!(err("5d"), r#"time: unknown unit "d" in duration "5d""#);
        assert_eq!(
            err("9999999999h"),
            r#"time: invalid duration "9999999999h""#
        );
        assert_eq!(
            err("2562047h47m16.854775808s"),
            r#"time: invalid duration "2562047h47m16.854775808s""#
        );
        assert_eq!(
            err("-1m"),
            r#"invalid duration "-1m": negative durations are not allowed"#
        );
        assert_eq!(
            err("1\"s"),
            r#"time: unknown unit "\"s" in duration "1\"s""#
        );
    }

    #[test]
    fn canonical_form() {
        let cases = [
            ("0", "0s"),
            ("0s", "0s"),
            ("1.5ms", "1.5ms"),
            ("300ms", "300ms"),
            ("1500us", "1.5ms"),
            ("999ns", "999ns"),
            ("1001ns", "1.001\u{b5}s"),
            ("60s", "1m0s"),
            ("5m", "5m0s"),
            ("10m", "10m0s"),
            ("1h", "1h0m0s"),
            ("90s", "1m30s"),
            ("2.5s", "2.5s"),
            ("30s", "30s"),
            ("1h30m", "1h30m0s"),
            ("25h", "25h0m0s"),
            ("61.25s", "1m1.25s"),
            ("3661.000000001s", "1h1m1.000000001s"),
        ];
        for (input, want) in cases {
            assert_eq!(canonicalize(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn serde_uses_canonical_strings() {
        let d: GoDuration = "5m".parse().expect("valid");
        assert_eq!(serde_json::to_string(&d).expect("json"), "\"5m0s\"");
        let back: GoDuration = serde_json::from_str("\"1h30m\"").expect("json");
        assert_eq!(back.as_std(), Duration::from_secs(5400));
        let bad = serde_json::from_str::<GoDuration>("\"10\"").expect_err("no unit");
        assert!(bad.to_string().contains("missing unit"), "{bad}");
    }

    #[test]
    fn error_is_usable_by_clap() {
        fn assert_traits<E: std::error::Error + Send + Sync + 'static>() {}
        assert_traits::<<GoDuration as FromStr>::Err>();
        assert_eq!(GoDuration::from(Duration::from_secs(2)).to_string(), "2s");
        assert_eq!(
            Duration::from(GoDuration::new(Duration::from_secs(2))).as_secs(),
            2
        );
    }
}
