//! Points: exact hundredths, the one rounding rule, numbers as officers type them.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// A number of points (or a quantity: a result, a target) kept exactly in
/// hundredths. `Points::from_hundredths(23571)` is 235,71 points. Stored and
/// sent as the integer number of hundredths, so JSON never holds a float.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Points(i64);

/// The largest score figure a table may hold (a maximum, points per
/// occurrence, a cap): 10.000.000 points.
pub const SCORE_LIMIT: Points = Points(1_000_000_000);

/// The largest quantity a unit may enter as a result or a target:
/// 100.000.000.000 (a hundred billion, two decimals). With [`SCORE_LIMIT`]
/// it bounds every product of the target formula well inside `i128`.
pub const QUANTITY_LIMIT: Points = Points(10_000_000_000_000);

impl Points {
    pub const ZERO: Points = Points(0);

    /// From a number of hundredths: 1250 is 12,5.
    pub const fn from_hundredths(h: i64) -> Self {
        Points(h)
    }

    /// From a whole number of points: 40 is 40.
    pub const fn whole(n: i64) -> Self {
        Points(n * 100)
    }

    /// The number of hundredths.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `self × n`, for points per occurrence times a count.
    pub fn times(self, n: u32) -> Self {
        Points(self.0.saturating_mul(i64::from(n)))
    }

    /// Parses a number as a Vietnamese officer types it (see the module
    /// documentation of [`crate::scoring`] for the separators):
    ///
    /// - `,` is the decimal separator: "12,5" is twelve and a half;
    /// - `.` followed by exactly three digits is a thousands separator:
    ///   "1.000" is one thousand, "1.234.567,5" is what it looks like;
    /// - any other `.` is a decimal point: "12.5" is twelve and a half
    ///   (as a spreadsheet in an English locale writes it);
    /// - at most two decimals: "12,345" and "1,000" are refused, not guessed;
    /// - "0.125" is refused (a thousands group never starts with 0);
    /// - a leading `-` (or `−`) is accepted; whether a negative number is
    ///   acceptable is for the caller to say.
    ///
    /// `field` names the input in the message ("Điểm tối đa", "I.1"…).
    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        let t = s.trim();
        let bad = |why: &str| Invalid::new(field, format!("{field} \"{t}\" {why}"));
        if t.is_empty() {
            return Err(Invalid::new(field, format!("{field} không được để trống.")));
        }
        let (neg, body) = match t.strip_prefix(['-', '−']) {
            Some(rest) => (true, rest.trim_start()),
            None => (false, t.strip_prefix('+').unwrap_or(t).trim_start()),
        };
        if body.chars().any(|c| c.is_whitespace()) {
            return Err(bad("có khoảng trắng giữa các chữ số: dùng dấu chấm để phân cách hàng nghìn, ví dụ 1.000."));
        }
        if let Some(c) = body.chars().find(|c| !c.is_ascii_digit() && *c != '.' && *c != ',') {
            return Err(bad(&format!(
                "không phải là số (có ký tự \"{c}\"). Ghi số, ví dụ 12,5 hoặc 1.000 (dấu phẩy là dấu thập phân)."
            )));
        }
        let mut parts = body.split(',');
        let int_part = parts.next().unwrap_or("");
        let comma_frac = parts.next();
        if parts.next().is_some() {
            return Err(bad("có nhiều hơn một dấu phẩy: dấu phẩy chỉ dùng cho phần thập phân, ví dụ 12,5."));
        }
        let (int_digits, frac_digits): (String, &str) = match comma_frac {
            Some(frac) => {
                if frac.contains('.') {
                    return Err(bad("có dấu chấm sau dấu phẩy thập phân: ghi ví dụ 1.234,5."));
                }
                if frac.is_empty() {
                    return Err(bad("thiếu chữ số sau dấu phẩy: ghi ví dụ 12,5 hoặc bỏ dấu phẩy."));
                }
                if int_part.contains('.') {
                    match thousands(int_part) {
                        Some(d) => (d, frac),
                        None => {
                            return Err(bad(
                                "có dấu chấm không đúng chỗ: dấu chấm chỉ phân cách hàng nghìn (1.234,5), mỗi nhóm đủ 3 chữ số.",
                            ));
                        }
                    }
                } else {
                    (int_part.to_string(), frac)
                }
            }
            None => {
                if !int_part.contains('.') {
                    (int_part.to_string(), "")
                } else if let Some(d) = thousands(int_part) {
                    (d, "")
                } else {
                    let dots: Vec<&str> = int_part.split('.').collect();
                    if dots.len() == 2 {
                        (dots[0].to_string(), dots[1])
                    } else {
                        return Err(bad(
                            "có dấu chấm không đúng chỗ: dấu chấm phân cách hàng nghìn cần nhóm đủ 3 chữ số (1.234.567); phần thập phân ghi sau dấu phẩy (12,5).",
                        ));
                    }
                }
            }
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(bad("không có chữ số nào. Ghi số, ví dụ 12,5."));
        }
        if frac_digits.is_empty() && comma_frac.is_none() && int_part.ends_with('.') {
            return Err(bad("thiếu chữ số sau dấu chấm."));
        }
        if frac_digits.len() > 2 {
            return Err(bad(
                "có quá 2 chữ số thập phân: điểm tính đến phần trăm, ví dụ 12,35. (Nếu muốn ghi hàng nghìn, dùng dấu chấm: 1.000.)",
            ));
        }
        if int_digits.len() > 15 {
            return Err(bad("quá lớn."));
        }
        let int: i128 =
            if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| bad("không phải là số."))? };
        let frac: i128 = match frac_digits.len() {
            0 => 0,
            1 => frac_digits.parse::<i128>().map_err(|_| bad("không phải là số."))? * 10,
            _ => frac_digits.parse().map_err(|_| bad("không phải là số."))?,
        };
        let h = int * 100 + frac;
        if h > i128::from(QUANTITY_LIMIT.0) {
            return Err(bad(&format!("quá lớn (tối đa {QUANTITY_LIMIT}).")));
        }
        let h = h as i64;
        Ok(Points(if neg { -h } else { h }))
    }
}

/// Reads "1.234.567" as digits when every `.` is a thousands separator: the
/// first group 1 to 3 digits not starting with 0, every other group exactly
/// 3 digits. Else `None`.
fn thousands(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('.').collect();
    let first = groups.first()?;
    if groups.len() < 2 || first.is_empty() || first.len() > 3 || first.starts_with('0') {
        return None;
    }
    if groups[1..].iter().any(|g| g.len() != 3) {
        return None;
    }
    Some(groups.concat())
}

/// THE rounding rule of scoring, stated once and used for every figure: a
/// value is kept exact as a fraction of integers until it becomes a figure,
/// then rounded to hundredths, **half away from zero** (235,714… → 235,71;
/// 0,005 → 0,01; −0,005 → −0,01). `num / den` is the exact value counted in
/// hundredths; `den` must not be 0 (callers guarantee it; 0 gives 0).
pub fn round_hundredths(num: i128, den: i128) -> Points {
    if den == 0 {
        debug_assert!(den != 0, "round_hundredths: zero denominator");
        return Points::ZERO;
    }
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = num / den;
    let r = num % den;
    let q = if 2 * r.abs() >= den { q + num.signum() } else { q };
    Points(q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// A percentage `part / whole` in hundredths of a percent, rounded by the
/// rule above: for display only (comparisons use exact integers).
pub(crate) fn percent(part: i128, whole: i128) -> Points {
    round_hundredths(part * 10_000, whole)
}

impl fmt::Display for Points {
    /// Comma decimals and dot thousands: "1.234,56", "900", "-8,05".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::text::format_hundredths(self.0))
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, o: Points) -> Points {
        Points(self.0.saturating_add(o.0))
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, o: Points) -> Points {
        Points(self.0.saturating_sub(o.0))
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, o: Points) {
        *self = *self + o;
    }
}

impl SubAssign for Points {
    fn sub_assign(&mut self, o: Points) {
        *self = *self - o;
    }
}

impl Neg for Points {
    type Output = Points;
    fn neg(self) -> Points {
        Points(self.0.saturating_neg())
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, |a, b| a + b)
    }
}

impl<'a> Sum<&'a Points> for Points {
    fn sum<I: Iterator<Item = &'a Points>>(iter: I) -> Points {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<i64, String> {
        Points::parse("Điểm", s).map(|v| v.hundredths()).map_err(|e| e.message)
    }

    #[test]
    fn parses_vietnamese_numbers() {
        assert_eq!(p("12,5"), Ok(1250));
        assert_eq!(p("12.5"), Ok(1250));
        assert_eq!(p("12,05"), Ok(1205));
        assert_eq!(p(" 40 "), Ok(4000));
        assert_eq!(p("1.000"), Ok(100_000));
        assert_eq!(p("1.234.567,5"), Ok(123_456_750));
        assert_eq!(p("1.234,56"), Ok(123_456));
        assert_eq!(p("-8"), Ok(-800));
        assert_eq!(p("−8,05"), Ok(-805));
        assert_eq!(p("+3"), Ok(300));
        assert_eq!(p(",5"), Ok(50));
        assert_eq!(p("0,5"), Ok(50));
        assert_eq!(p("0.5"), Ok(50));
        assert_eq!(p("12.50"), Ok(1250));
        assert_eq!(p("1234"), Ok(123_400));
    }

    #[test]
    fn refuses_ambiguous_or_bad_numbers() {
        for s in [
            "",
            "  ",
            "abc",
            "12,345",
            "1,000",
            "0.125",
            "1.2345",
            "1.23.4",
            "1,2,3",
            "12,",
            "12.",
            "1 000",
            "1.000.5",
            "1.00,5",
            "12,5.1",
            "-",
            "5 điểm",
        ] {
            let r = p(s);
            assert!(r.is_err(), "{s:?} should be refused, got {r:?}");
        }
        assert!(p("12,345").unwrap_err().contains("2 chữ số thập phân"));
        assert!(p("abc").unwrap_err().contains("không phải là số"));
        assert!(p("9999999999999999").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_hundredths(5, 10), Points(1));
        assert_eq!(round_hundredths(-5, 10), Points(-1));
        assert_eq!(round_hundredths(4, 10), Points(0));
        assert_eq!(round_hundredths(-4, 10), Points(0));
        // 0,5 × 300 × 20/35 + 150 = 235,714… → 235,71 (in hundredths: 30000 × 55 / 70)
        assert_eq!(round_hundredths(30_000 * 55, 70), Points(23_571));
        assert_eq!(round_hundredths(30_000 * 45, 70), Points(19_286));
        assert_eq!(round_hundredths(7, -2), Points(-4));
        assert_eq!(round_hundredths(0, 3), Points(0));
    }

    #[test]
    fn displays_with_comma_decimals() {
        assert_eq!(Points(23_571).to_string(), "235,71");
        assert_eq!(Points::whole(1000).to_string(), "1.000");
        assert_eq!(Points(-800).to_string(), "-8");
        assert_eq!(serde_json::to_string(&Points(1250)).unwrap(), "1250");
        assert_eq!(serde_json::from_str::<Points>("1250").unwrap(), Points(1250));
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(h in -QUANTITY_LIMIT.0..=QUANTITY_LIMIT.0) {
            let v = Points(h);
            prop_assert_eq!(Points::parse("Điểm", &v.to_string()).unwrap(), v);
        }

        #[test]
        fn rounding_is_within_half_a_hundredth(num in -1_000_000_000i128..1_000_000_000, den in 1i128..100_000) {
            let r = i128::from(round_hundredths(num, den).0);
            // |r − num/den| ≤ 1/2  ⇔  |r·den − num| · 2 ≤ den
            prop_assert!((r * den - num).abs() * 2 <= den);
            // symmetric: rounding −x gives −round(x)
            prop_assert_eq!(round_hundredths(-num, den).0, -round_hundredths(num, den).0);
        }
    }
}
