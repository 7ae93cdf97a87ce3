//! The organisation registry: authorities, units and their lineage,
//! groups (clusters and blocks) and yearly memberships.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// Declares a closed set of codes stored as text, each with its Vietnamese label.
macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal => $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The code stored in the database and used by the API.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            /// The Vietnamese label shown to users.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            /// Parses a code, or a Vietnamese label (as typed in a spreadsheet).
            pub fn parse(s: &str) -> Option<Self> {
                let f = crate::text::fold(s);
                Self::ALL.iter().copied().find(|v| v.code() == s.trim() || crate::text::fold(v.label()) == f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }
    };
}

pub(crate) use coded_enum;

coded_enum!(
    /// The level of an authority that organises groups.
    AuthorityLevel {
        Central = "central" => "Trung ương",
        Ministry = "ministry" => "Bộ, ngành",
        Province = "province" => "Tỉnh, thành phố",
    }
);

coded_enum!(
    /// What kind of body a unit is.
    UnitKind {
        Department = "department" => "Sở, ban, ngành",
        Commune = "commune" => "Xã, phường, đặc khu",
        Province = "province" => "Tỉnh, thành phố",
        Ministry = "ministry" => "Bộ, cơ quan ngang bộ",
        Party = "party" => "Cơ quan Đảng",
        Mass = "mass" => "Mặt trận, đoàn thể",
        Enterprise = "enterprise" => "Doanh nghiệp",
        Other = "other" => "Khác",
    }
);

coded_enum!(
    /// How a unit's history continues in another unit.
    LineageKind {
        Merged = "merged" => "Sáp nhập vào",
        Split = "split" => "Chia tách thành",
        Renamed = "renamed" => "Đổi tên thành",
    }
);

coded_enum!(
    /// A cluster groups units by geography; a block by function or field.
    GroupKind {
        Cluster = "cluster" => "Cụm thi đua",
        Block = "block" => "Khối thi đua",
    }
);

coded_enum!(
    /// A unit's role in a group for a year.
    MemberRole {
        Head = "head" => "Trưởng",
        Deputy = "deputy" => "Phó",
        Member = "member" => "Thành viên",
    }
);

impl MemberRole {
    /// "Cụm trưởng", "Khối phó"…, the word officers use.
    pub fn label_for(self, kind: GroupKind) -> &'static str {
        match (kind, self) {
            (GroupKind::Cluster, MemberRole::Head) => "Cụm trưởng",
            (GroupKind::Cluster, MemberRole::Deputy) => "Cụm phó",
            (GroupKind::Block, MemberRole::Head) => "Khối trưởng",
            (GroupKind::Block, MemberRole::Deputy) => "Khối phó",
            (_, MemberRole::Member) => "Thành viên",
        }
    }
}

/// A name as entered: trimmed, one space between words, 2 to 250 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, Invalid> {
        let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = t.chars().count();
        if n == 0 {
            return Err(Invalid::new(field, format!("{field} không được để trống.")));
        }
        if n < 2 {
            return Err(Invalid::new(field, format!("{field} quá ngắn (ít nhất 2 ký tự).")));
        }
        if n > 250 {
            return Err(Invalid::new(field, format!("{field} quá dài (tối đa 250 ký tự).")));
        }
        if t.chars().any(|c| c.is_control()) {
            return Err(Invalid::new(field, format!("{field} chứa ký tự không hợp lệ.")));
        }
        Ok(Name(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An optional short name: empty means "same as the name".
pub fn parse_short_name(s: &str, name: &Name) -> Result<String, Invalid> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return Ok(name.as_str().to_string());
    }
    if t.chars().count() > 100 {
        return Err(Invalid::new("Tên viết tắt", "Tên viết tắt quá dài (tối đa 100 ký tự)."));
    }
    Ok(t)
}

/// An optional date field: empty is none; otherwise dd/mm/yyyy or yyyy-mm-dd.
pub fn parse_opt_date(field: &'static str, s: &str) -> Result<Option<NaiveDate>, Invalid> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    crate::text::parse_date(s)
        .map(Some)
        .ok_or_else(|| Invalid::new(field, format!("{field} \"{}\" không đúng dạng ngày (dd/mm/yyyy).", s.trim())))
}

/// A required date field.
pub fn parse_date_field(field: &'static str, s: &str) -> Result<NaiveDate, Invalid> {
    parse_opt_date(field, s)?.ok_or_else(|| Invalid::new(field, format!("{field} không được để trống.")))
}

/// Emulation years the registry accepts.
pub fn parse_year(s: &str) -> Result<i32, Invalid> {
    let y: i32 = s
        .trim()
        .parse()
        .map_err(|_| Invalid::new("Năm", format!("Năm \"{}\" phải là số có 4 chữ số, ví dụ 2026.", s.trim())))?;
    if !(2000..=2100).contains(&y) {
        return Err(Invalid::new("Năm", "Năm phải trong khoảng 2000 đến 2100."));
    }
    Ok(y)
}

/// Checks the active period of a unit.
pub fn check_active_period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), Invalid> {
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(Invalid::new("Hoạt động đến", "Ngày kết thúc hoạt động phải sau ngày bắt đầu hoạt động."));
    }
    Ok(())
}

/// Whether a unit active over [from, to] is active on a day.
pub fn is_active_on(from: Option<NaiveDate>, to: Option<NaiveDate>, day: NaiveDate) -> bool {
    from.is_none_or(|f| f <= day) && to.is_none_or(|t| day <= t)
}

/// Whether a unit is active at some point of an emulation year.
pub fn is_active_in_year(from: Option<NaiveDate>, to: Option<NaiveDate>, year: i32) -> bool {
    let start = NaiveDate::from_ymd_opt(year, 1, 1);
    let end = NaiveDate::from_ymd_opt(year, 12, 31);
    match (start, end) {
        (Some(s), Some(e)) => from.is_none_or(|f| f <= e) && to.is_none_or(|t| s <= t),
        _ => false,
    }
}

/// The roles of the members of one group-year, checked as a whole:
/// one head at most, one deputy at most, and no unit twice.
pub fn check_roles(members: &[(i64, MemberRole)]) -> Result<(), Invalid> {
    let heads = members.iter().filter(|m| m.1 == MemberRole::Head).count();
    let deputies = members.iter().filter(|m| m.1 == MemberRole::Deputy).count();
    if heads > 1 {
        return Err(Invalid::new("Vai trò", "Mỗi cụm, khối chỉ có một đơn vị trưởng trong một năm."));
    }
    if deputies > 1 {
        return Err(Invalid::new("Vai trò", "Mỗi cụm, khối chỉ có tối đa một đơn vị phó trong một năm."));
    }
    let mut ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(Invalid::new("Đơn vị", "Một đơn vị chỉ được có một vai trò trong cụm, khối."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_round_trip() {
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse(k.code()), Some(*k));
            assert_eq!(UnitKind::parse(k.label()), Some(*k));
        }
        assert_eq!(GroupKind::parse("cum thi dua"), Some(GroupKind::Cluster));
        assert_eq!(MemberRole::parse("Trưởng"), Some(MemberRole::Head));
        assert_eq!(MemberRole::parse("bogus"), None);
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(Name::parse("Tên", "  Sở  Tư   pháp ").unwrap().as_str(), "Sở Tư pháp");
        assert!(Name::parse("Tên", "   ").is_err());
        assert!(Name::parse("Tên", &"a".repeat(251)).is_err());
    }

    #[test]
    fn roles_are_checked() {
        use MemberRole::*;
        assert!(check_roles(&[(1, Head), (2, Deputy), (3, Member)]).is_ok());
        assert!(check_roles(&[(1, Head), (2, Head)]).is_err());
        assert!(check_roles(&[(1, Deputy), (2, Deputy)]).is_err());
        assert!(check_roles(&[(1, Member), (1, Head)]).is_err());
    }

    #[test]
    fn active_periods() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        assert!(is_active_in_year(None, d(2025, 2, 28), 2025));
        assert!(!is_active_in_year(None, d(2025, 2, 28), 2026));
        assert!(is_active_in_year(d(2025, 7, 1), None, 2025));
        assert!(!is_active_in_year(d(2025, 7, 1), None, 2024));
        assert!(check_active_period(d(2025, 1, 2), d(2025, 1, 1)).is_err());
    }
}
