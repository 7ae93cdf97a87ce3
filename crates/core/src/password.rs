//! Password rules (NIST SP 800-63B style): a length floor, no composition rules.

use crate::error::Invalid;

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 12;
/// The longest password accepted, in characters (hashing cost stays bounded).
pub const MAX_CHARS: usize = 256;

/// Checks a new password. `username` is refused as a password.
pub fn check_new_password(password: &str, username: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(Invalid::new(
            "Mật khẩu",
            format!("Mật khẩu phải có ít nhất {MIN_CHARS} ký tự (hiện có {n}). Một cụm từ dễ nhớ là lựa chọn tốt."),
        ));
    }
    if n > MAX_CHARS {
        return Err(Invalid::new("Mật khẩu", format!("Mật khẩu dài tối đa {MAX_CHARS} ký tự.")));
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(Invalid::new("Mật khẩu", "Mật khẩu không được trùng với tên đăng nhập."));
    }
    Ok(())
}

/// A user name: 3 to 64 characters of a-z, 0-9, dot, dash, underscore.
pub fn parse_username(s: &str) -> Result<String, Invalid> {
    let t = s.trim().to_lowercase();
    let ok = (3..=64).contains(&t.len())
        && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !ok {
        return Err(Invalid::new(
            "Tên đăng nhập",
            "Tên đăng nhập dài 3 đến 64 ký tự, chỉ gồm chữ không dấu, chữ số và các dấu . - _",
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_only() {
        assert!(check_new_password("ngắn quá", "u").is_err());
        assert!(check_new_password("mật khẩu đủ dài rồi", "u").is_ok());
        assert!(check_new_password("aaaaaaaaaaaa", "u").is_ok());
        assert!(check_new_password("admin.thidua", "admin.thidua").is_err());
        assert!(check_new_password(&"x".repeat(257), "u").is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(parse_username(" CB.SoTuPhap ").unwrap(), "cb.sotuphap");
        assert!(parse_username("có dấu").is_err());
        assert!(parse_username("ab").is_err());
    }
}
