//! Accent-insensitive folding of Vietnamese text, for matching column headers.

/// Folds Vietnamese text for loose comparison: lower case, diacritics removed
/// (`đ` → `d`), runs of whitespace collapsed to one space, ends trimmed.
///
/// Works without Unicode normalisation tables: precomposed Vietnamese letters
/// are mapped to their ASCII base and combining marks (U+0300–U+036F, as
/// found in decomposed text) are dropped.
///
/// ```
/// assert_eq!(thidua_export::fold_vi("  Tên   ĐƠN vị "), "ten don vi");
/// ```
pub fn fold_vi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for ch in s.chars().flat_map(char::to_lowercase) {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if ('\u{0300}'..='\u{036F}').contains(&ch) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(base_letter(ch));
    }
    out
}

/// Maps a lower-case Vietnamese letter to its ASCII base letter.
fn base_letter(ch: char) -> char {
    match ch {
        'à' | 'á' | 'ả' | 'ã' | 'ạ' | 'ă' | 'ằ' | 'ắ' | 'ẳ' | 'ẵ' | 'ặ' | 'â' | 'ầ' | 'ấ' | 'ẩ' | 'ẫ' | 'ậ' => {
            'a'
        }
        'è' | 'é' | 'ẻ' | 'ẽ' | 'ẹ' | 'ê' | 'ề' | 'ế' | 'ể' | 'ễ' | 'ệ' => 'e',
        'ì' | 'í' | 'ỉ' | 'ĩ' | 'ị' => 'i',
        'ò' | 'ó' | 'ỏ' | 'õ' | 'ọ' | 'ô' | 'ồ' | 'ố' | 'ổ' | 'ỗ' | 'ộ' | 'ơ' | 'ờ' | 'ớ' | 'ở' | 'ỡ' | 'ợ' => {
            'o'
        }
        'ù' | 'ú' | 'ủ' | 'ũ' | 'ụ' | 'ư' | 'ừ' | 'ứ' | 'ử' | 'ữ' | 'ự' => 'u',
        'ỳ' | 'ý' | 'ỷ' | 'ỹ' | 'ỵ' => 'y',
        // `ð` is the Icelandic eth, sometimes typed instead of `đ`.
        'đ' | 'ð' => 'd',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::fold_vi;

    #[test]
    fn folds_precomposed_and_upper_case() {
        assert_eq!(fold_vi("Tên đơn vị"), "ten don vi");
        assert_eq!(fold_vi("TÊN ĐƠN VỊ"), "ten don vi");
        assert_eq!(fold_vi("Điểm thưởng, điểm trừ; Xếp hạng"), "diem thuong, diem tru; xep hang");
        assert_eq!(fold_vi("ỳýỷỹỵ ằắẳẵặ ầấẩẫậ ờớởỡợ ừứửữự"), "yyyyy aaaaa aaaaa ooooo uuuuu");
    }

    #[test]
    fn folds_decomposed_and_whitespace() {
        // "Tên đơn vị" in NFD: e + U+0302, o + U+031B, i + U+0323.
        assert_eq!(fold_vi("Te\u{0302}n \u{0111}o\u{031B}n vi\u{0323}"), "ten don vi");
        assert_eq!(fold_vi("\u{00A0} Tên \t\n đơn  vị \u{00A0}"), "ten don vi");
        assert_eq!(fold_vi(""), "");
    }
}
