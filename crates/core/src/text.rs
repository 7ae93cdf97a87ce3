//! Vietnamese text: search folding, collation order, and the display
//! formats officers expect (dd/mm/yyyy dates, comma decimals).

use std::cmp::Ordering;

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

/// Folds a text for search: lower case, no tone marks or vowel marks,
/// `đ` as `d`, runs of white space as one space. "Đà Nẵng" and "da nang"
/// fold to the same key.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF)
}

/// The Vietnamese alphabet order of base letters (without tones):
/// a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y.
/// Returns a primary weight for one base letter (lower case, tone removed).
fn letter_weight(base: char) -> u32 {
    const ORDER: &[char] = &[
        'a', 'ă', 'â', 'b', 'c', 'd', 'đ', 'e', 'ê', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'ô', 'ơ', 'p',
        'q', 'r', 's', 't', 'u', 'ư', 'v', 'w', 'x', 'y', 'z',
    ];
    if let Some(i) = ORDER.iter().position(|&c| c == base) {
        return 1000 + i as u32;
    }
    if base.is_whitespace() {
        return 1;
    }
    if base.is_alphanumeric() {
        return 2000 + base as u32;
    }
    // punctuation sorts before letters, after space
    10 + (base as u32 % 400)
}

/// Tone weight: no tone, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot below),
/// the order used by Vietnamese dictionaries.
fn tone_weight(mark: char) -> Option<u32> {
    match mark {
        '\u{0300}' => Some(1), // huyền
        '\u{0309}' => Some(2), // hỏi
        '\u{0303}' => Some(3), // ngã
        '\u{0301}' => Some(4), // sắc
        '\u{0323}' => Some(5), // nặng
        _ => None,
    }
}

/// Splits a character into (base letter with its vowel mark, tone).
fn decompose(c: char) -> (char, u32) {
    let mut base = String::new();
    let mut tone = 0;
    for d in c.to_lowercase().flat_map(|l| l.nfd().collect::<Vec<_>>()) {
        if let Some(t) = tone_weight(d) {
            tone = t;
        } else {
            base.push(d);
        }
    }
    let composed: String = base.nfc().collect();
    let b = composed.chars().next().unwrap_or(c);
    (b, tone)
}

/// A sort key that orders texts as a Vietnamese reader expects:
/// letters first by the Vietnamese alphabet (đ after d, ă and â after a),
/// then by tone, then by case.
pub fn sort_key(s: &str) -> Vec<u32> {
    let chars: Vec<char> = s.trim().chars().collect();
    let mut primary = Vec::with_capacity(chars.len() + 1);
    let mut secondary = Vec::with_capacity(chars.len());
    let mut tertiary = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            // a run of digits sorts as a number: "số 2" before "số 10"
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let digits = run.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            primary.push(600 + digits.len() as u32);
            primary.extend(digits.chars().map(|d| 700 + d as u32 - '0' as u32));
            continue;
        }
        let (base, tone) = decompose(c);
        primary.push(letter_weight(base));
        secondary.push(tone);
        tertiary.push(u32::from(c.is_uppercase()));
        i += 1;
    }
    primary.push(0);
    primary.extend(secondary);
    primary.push(0);
    primary.extend(tertiary);
    primary
}

/// Compares two texts in Vietnamese order.
pub fn vi_cmp(a: &str, b: &str) -> Ordering {
    sort_key(a).cmp(&sort_key(b))
}

/// Sorts items by a text in Vietnamese order.
pub fn sort_vi_by<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|t| sort_key(key(t)));
}

/// dd/mm/yyyy.
pub fn format_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    // not chrono's format string, which is parsed again on every call
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}

/// Parses a date an officer typed or a form sent: dd/mm/yyyy, d/m/yyyy or yyyy-mm-dd.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    if parts.len() == 3 && parts[2].len() == 4 {
        let d: u32 = parts[0].parse().ok()?;
        let m: u32 = parts[1].parse().ok()?;
        let y: i32 = parts[2].parse().ok()?;
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    None
}

/// Formats a number of hundredths with a comma decimal and dot thousands:
/// 123456 → "1.234,56"; 90000 → "900"; 12350 → "123,5".
pub fn format_hundredths(v: i64) -> String {
    let neg = v < 0;
    let a = v.unsigned_abs();
    let int = a / 100;
    let frac = a % 100;
    let int_s = group_thousands(int);
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&int_s);
    if frac != 0 {
        s.push(',');
        if frac.is_multiple_of(10) {
            s.push_str(&(frac / 10).to_string());
        } else {
            s.push_str(&format!("{frac:02}"));
        }
    }
    s
}

/// 1234567 → "1.234.567".
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fold_removes_marks() {
        assert_eq!(fold("Đà Nẵng"), "da nang");
        assert_eq!(fold("  Sở   Tư pháp "), "so tu phap");
        assert_eq!(fold("ỦY BAN"), "uy ban");
    }

    #[test]
    fn vietnamese_order() {
        let mut v = vec!["Đông", "Dương", "An", "Ân", "Ăn", "Bình", "Ba"];
        v.sort_by(|a, b| vi_cmp(a, b));
        assert_eq!(v, vec!["An", "Ăn", "Ân", "Ba", "Bình", "Dương", "Đông"]);
        let mut t = vec!["má", "ma", "mạ", "mà", "mã", "mả"];
        t.sort_by(|a, b| vi_cmp(a, b));
        assert_eq!(t, vec!["ma", "mà", "mả", "mã", "má", "mạ"]);
        let mut n = vec!["Cụm số 10", "Cụm số 2", "Cụm số 1", "Cụm số 11"];
        n.sort_by(|a, b| vi_cmp(a, b));
        assert_eq!(n, vec!["Cụm số 1", "Cụm số 2", "Cụm số 10", "Cụm số 11"]);
    }

    proptest::proptest! {
        #[test]
        fn a_date_is_written_as_chrono_writes_it(days in 0i32..3_000_000) {
            let d = NaiveDate::from_ymd_opt(1000, 1, 1).unwrap() + chrono::Days::new(days as u64);
            proptest::prop_assume!(chrono::Datelike::year(&d) <= 9999);
            proptest::prop_assert_eq!(format_date(d), d.format("%d/%m/%Y").to_string());
        }
    }

    #[test]
    fn dates_and_numbers() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        assert_eq!(format_date(d), "05/03/2026");
        assert_eq!(parse_date("5/3/2026"), Some(d));
        assert_eq!(parse_date("2026-03-05"), Some(d));
        assert_eq!(parse_date("31/02/2026"), None);
        assert_eq!(format_hundredths(123456), "1.234,56");
        assert_eq!(format_hundredths(90000), "900");
        assert_eq!(format_hundredths(12350), "123,5");
        assert_eq!(format_hundredths(-805), "-8,05");
    }

    proptest! {
        #[test]
        fn fold_is_idempotent(s in "\\PC{0,40}") {
            let f = fold(&s);
            prop_assert_eq!(fold(&f), f);
        }

        #[test]
        fn vi_cmp_is_a_total_order(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            let ab = vi_cmp(&a, &b);
            prop_assert_eq!(ab.reverse(), vi_cmp(&b, &a));
        }
    }
}
