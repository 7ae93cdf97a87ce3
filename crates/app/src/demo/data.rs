//! Demo data: authorities, units, unit lineage and emulation groups (clusters and blocks).
//!
//! Plain static data with no dependencies; the loader lives elsewhere.
//!
//! What is here:
//! - two authorities: the Central council (`tw`) and the province of Cao Bằng (`cb`, whose
//!   secretariat is Sở Nội vụ tỉnh Cao Bằng);
//! - Cao Bằng: 17 groups with 137 member units in 2026 (seed 000): 6 blocks of provincial
//!   bodies named as in seed 003 (years 2023–2026) and 11 clusters of the 56 communes and wards
//!   that exist since 1 July 2025 (years 2025–2026; before that date the province still had
//!   districts, whose clusters are not modelled here);
//! - the Central council's "Cụm thi đua các tỉnh Trung du và Miền núi phía Bắc" (seed 002,
//!   years 2015–2026), a "Cụm thi đua các tỉnh miền núi, biên giới phía Bắc" (2023–2026) and
//!   the "Khối thi đua các Bộ, ngành kinh tế" (seed 001; years 2014, 2023–2026).
//!
//! Accuracy, read before trusting a name:
//! - Only the facts taken from the seeds are sourced: the 2015 head (Bắc Giang) and deputy
//!   (Bắc Kạn) of the midlands cluster and its 7 provinces; the 2014 head (Bộ Xây dựng) and
//!   members of the ministries' block; the names of the 6 provincial blocks; 17 groups and
//!   137 units in Cao Bằng. Province mergers follow `data/provinces-2025.csv`.
//! - The split of bodies into blocks, the communes' grouping into clusters, the cluster
//!   names, all heads and deputies other than those above, and the border cluster's
//!   composition are ILLUSTRATIVE: plausible, not taken from a decision.
//! - Commune and ward names are ILLUSTRATIVE: they are the post-2025 names as far as known
//!   (3 wards Thục Phán, Nùng Trí Cao, Tân Giang and 53 communes, all formed from Cao Bằng's
//!   own place names) but have not been checked against the resolution that created them.
//!   Pre-2025 communes and their lineage are not modelled.
//! - The 2025 reorganisation dates are simplified: departments, party bodies and the
//!   press merged "on 1 March 2025" (predecessors active to 2025-02-28); the tax office and
//!   civil-judgment enforcement are renamed on 1 July 2025. The real dates differ by a few
//!   weeks for some bodies. The interim regional bodies of early 2025 (regional tax
//!   sub-departments and the like) are not modelled, and the regionalised customs,
//!   treasury and social-insurance offices keep a simplified provincial name throughout.
//! - Central cluster memberships after 1 July 2025 are plausible redrawings using only
//!   post-merger provinces; the real 2025/2026 composition was not available.
//!
//! Rules the data obeys (checked by the tests at the bottom):
//! - a unit is *active in year Y* when `active_from <= Y-07-01 <= active_to` (missing bound =
//!   open). So a year's membership uses the units that exist on 1 July of that year: for
//!   2025, the merged departments (from 1 March) and the merged provinces and new communes
//!   (from 1 July), never their predecessors;
//! - every member unit belongs to the group's authority; a unit is in at most one group of an
//!   authority per year; head and deputy are distinct members of the same group-year;
//! - every lineage predecessor has `active_to` set before `effective_on`, and its successor
//!   is active on `effective_on`.

#![allow(dead_code)]

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// An organising level: the Central council, a ministry or a province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorityDef {
    pub key: &'static str,
    pub name: &'static str,
    pub short_name: &'static str,
    /// "central" | "ministry" | "province"
    pub level: &'static str,
    /// Key of the parent authority.
    pub parent: Option<&'static str>,
}

/// A body that can be a member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitDef {
    pub key: &'static str,
    pub name: &'static str,
    pub short_name: &'static str,
    /// "department" | "commune" | "province" | "ministry" | "party" | "mass" | "enterprise" | "other"
    pub kind: &'static str,
    /// Key of the authority whose groups the unit joins.
    pub authority: &'static str,
    /// "YYYY-MM-DD", inclusive; `None` = since before the data starts.
    pub active_from: Option<&'static str>,
    /// "YYYY-MM-DD", inclusive; `None` = still active.
    pub active_to: Option<&'static str>,
}

/// A predecessor unit that merged, split or was renamed into a successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageDef {
    pub predecessor: &'static str,
    pub successor: &'static str,
    /// "merged" | "split" | "renamed"
    pub kind: &'static str,
    /// "YYYY-MM-DD": first day of the successor's responsibility.
    pub effective_on: &'static str,
    pub note: &'static str,
}

/// An emulation group (cụm or khối) with its yearly memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDef {
    pub key: &'static str,
    /// "cluster" | "block"
    pub kind: &'static str,
    pub name: &'static str,
    pub authority: &'static str,
    pub years: &'static [GroupYearDef],
}

/// One emulation year of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupYearDef {
    pub year: i32,
    /// Unit key of the head (cụm trưởng / khối trưởng).
    pub head: &'static str,
    /// Unit key of the deputy (cụm phó / khối phó).
    pub deputy: Option<&'static str>,
    /// Unit keys, including head and deputy.
    pub members: &'static [&'static str],
}

// ---------------------------------------------------------------------------------------------
// Dates of the 2025 reorganisation
// ---------------------------------------------------------------------------------------------

/// Last day of ministries, departments and party bodies merged in early 2025.
const UNTIL_MAR_2025: &str = "2025-02-28";
/// First day of the merged ministries, departments and party bodies.
const FROM_MAR_2025: &str = "2025-03-01";
/// Last day of the 63 provinces and of the district level.
const UNTIL_JUL_2025: &str = "2025-06-30";
/// First day of the 34 provinces and the new communes and wards.
const FROM_JUL_2025: &str = "2025-07-01";

// ---------------------------------------------------------------------------------------------
// Constructors (keep the tables short)
// ---------------------------------------------------------------------------------------------

const fn unit(
    key: &'static str,
    name: &'static str,
    short_name: &'static str,
    kind: &'static str,
    authority: &'static str,
    active_from: Option<&'static str>,
    active_to: Option<&'static str>,
) -> UnitDef {
    UnitDef { key, name, short_name, kind, authority, active_from, active_to }
}

/// A Cao Bằng body that exists throughout the data.
const fn cb(key: &'static str, name: &'static str, short_name: &'static str, kind: &'static str) -> UnitDef {
    unit(key, name, short_name, kind, "cb", None, None)
}

/// A Cao Bằng body that ends on `to`.
const fn cb_until(
    key: &'static str,
    name: &'static str,
    short_name: &'static str,
    kind: &'static str,
    to: &'static str,
) -> UnitDef {
    unit(key, name, short_name, kind, "cb", None, Some(to))
}

/// A Cao Bằng body that starts on `from`.
const fn cb_since(
    key: &'static str,
    name: &'static str,
    short_name: &'static str,
    kind: &'static str,
    from: &'static str,
) -> UnitDef {
    unit(key, name, short_name, kind, "cb", Some(from), None)
}

/// A Cao Bằng commune or ward of the two-level local government (from 1 July 2025).
const fn commune(key: &'static str, name: &'static str, short_name: &'static str) -> UnitDef {
    unit(key, name, short_name, "commune", "cb", Some(FROM_JUL_2025), None)
}

/// A unit of the Central council's groups that exists throughout the data.
const fn tw(key: &'static str, name: &'static str, short_name: &'static str, kind: &'static str) -> UnitDef {
    unit(key, name, short_name, kind, "tw", None, None)
}

/// A unit of the Central council's groups that ends on `to`.
const fn tw_until(
    key: &'static str,
    name: &'static str,
    short_name: &'static str,
    kind: &'static str,
    to: &'static str,
) -> UnitDef {
    unit(key, name, short_name, kind, "tw", None, Some(to))
}

/// A unit of the Central council's groups that starts on `from`.
const fn tw_since(
    key: &'static str,
    name: &'static str,
    short_name: &'static str,
    kind: &'static str,
    from: &'static str,
) -> UnitDef {
    unit(key, name, short_name, kind, "tw", Some(from), None)
}

const fn year(year: i32, head: &'static str, deputy: &'static str, members: &'static [&'static str]) -> GroupYearDef {
    GroupYearDef { year, head, deputy: Some(deputy), members }
}

const fn lineage(
    predecessor: &'static str,
    successor: &'static str,
    kind: &'static str,
    effective_on: &'static str,
    note: &'static str,
) -> LineageDef {
    LineageDef { predecessor, successor, kind, effective_on, note }
}

// ---------------------------------------------------------------------------------------------
// Authorities
// ---------------------------------------------------------------------------------------------

pub static AUTHORITIES: &[AuthorityDef] = &[
    AuthorityDef {
        key: "tw",
        name: "Hội đồng Thi đua - Khen thưởng Trung ương",
        short_name: "HĐTĐKT Trung ương",
        level: "central",
        parent: None,
    },
    // Secretariat: Sở Nội vụ tỉnh Cao Bằng (unit "cb-so-noi-vu").
    AuthorityDef {
        key: "cb", name: "Tỉnh Cao Bằng", short_name: "Cao Bằng", level: "province", parent: Some("tw")
    },
];

// ---------------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------------

pub static UNITS: &[UnitDef] = &[
    // ===================== Central council: provinces =====================
    tw("tw-phu-tho", "Tỉnh Phú Thọ", "Phú Thọ", "province"),
    tw("tw-tuyen-quang", "Tỉnh Tuyên Quang", "Tuyên Quang", "province"),
    tw_until("tw-yen-bai", "Tỉnh Yên Bái", "Yên Bái", "province", UNTIL_JUL_2025),
    tw_until("tw-hoa-binh", "Tỉnh Hòa Bình", "Hòa Bình", "province", UNTIL_JUL_2025),
    tw_until("tw-bac-giang", "Tỉnh Bắc Giang", "Bắc Giang", "province", UNTIL_JUL_2025),
    tw_until("tw-bac-kan", "Tỉnh Bắc Kạn", "Bắc Kạn", "province", UNTIL_JUL_2025),
    tw("tw-thai-nguyen", "Tỉnh Thái Nguyên", "Thái Nguyên", "province"),
    tw("tw-lao-cai", "Tỉnh Lào Cai", "Lào Cai", "province"),
    tw("tw-bac-ninh", "Tỉnh Bắc Ninh", "Bắc Ninh", "province"),
    tw_until("tw-ha-giang", "Tỉnh Hà Giang", "Hà Giang", "province", UNTIL_JUL_2025),
    // In no group of this data; kept so that Phú Thọ's lineage is complete.
    tw_until("tw-vinh-phuc", "Tỉnh Vĩnh Phúc", "Vĩnh Phúc", "province", UNTIL_JUL_2025),
    tw("tw-cao-bang", "Tỉnh Cao Bằng", "Cao Bằng", "province"),
    tw("tw-lang-son", "Tỉnh Lạng Sơn", "Lạng Sơn", "province"),
    tw("tw-lai-chau", "Tỉnh Lai Châu", "Lai Châu", "province"),
    tw("tw-dien-bien", "Tỉnh Điện Biên", "Điện Biên", "province"),
    tw("tw-son-la", "Tỉnh Sơn La", "Sơn La", "province"),
    // ===================== Central council: ministries =====================
    tw("bo-xay-dung", "Bộ Xây dựng", "Bộ XD", "ministry"),
    tw_until("bo-gtvt", "Bộ Giao thông vận tải", "Bộ GTVT", "ministry", UNTIL_MAR_2025),
    tw_until("bo-nn-ptnt", "Bộ Nông nghiệp và Phát triển nông thôn", "Bộ NN&PTNT", "ministry", UNTIL_MAR_2025),
    tw_until("bo-tn-mt", "Bộ Tài nguyên và Môi trường", "Bộ TN&MT", "ministry", UNTIL_MAR_2025),
    tw_until("bo-tt-tt", "Bộ Thông tin và Truyền thông", "Bộ TT&TT", "ministry", UNTIL_MAR_2025),
    tw("bo-cong-thuong", "Bộ Công Thương", "Bộ CT", "ministry"),
    tw("vcci", "Phòng Thương mại và Công nghiệp Việt Nam", "VCCI", "other"),
    tw_since("bo-nn-mt", "Bộ Nông nghiệp và Môi trường", "Bộ NN&MT", "ministry", FROM_MAR_2025),
    // Existed before; joins the block in 2025 when it takes over Bộ TT&TT.
    tw("bo-kh-cn", "Bộ Khoa học và Công nghệ", "Bộ KH&CN", "ministry"),
    // ===================== Cao Bằng: party bodies =====================
    cb("cb-vp-tinh-uy", "Văn phòng Tỉnh ủy Cao Bằng", "Văn phòng Tỉnh ủy", "party"),
    cb("cb-ban-to-chuc", "Ban Tổ chức Tỉnh ủy Cao Bằng", "Ban Tổ chức Tỉnh ủy", "party"),
    cb("cb-ubkt-tinh-uy", "Ủy ban Kiểm tra Tỉnh ủy Cao Bằng", "UBKT Tỉnh ủy", "party"),
    cb_until("cb-ban-tuyen-giao", "Ban Tuyên giáo Tỉnh ủy Cao Bằng", "Ban Tuyên giáo Tỉnh ủy", "party", UNTIL_MAR_2025),
    cb_until("cb-ban-dan-van", "Ban Dân vận Tỉnh ủy Cao Bằng", "Ban Dân vận Tỉnh ủy", "party", UNTIL_MAR_2025),
    cb_since("cb-ban-tgdv", "Ban Tuyên giáo và Dân vận Tỉnh ủy Cao Bằng", "Ban TG&DV Tỉnh ủy", "party", FROM_MAR_2025),
    cb("cb-ban-noi-chinh", "Ban Nội chính Tỉnh ủy Cao Bằng", "Ban Nội chính Tỉnh ủy", "party"),
    cb("cb-truong-chinh-tri", "Trường Chính trị Hoàng Đình Giong tỉnh Cao Bằng", "Trường Chính trị", "party"),
    cb_until("cb-du-khoi-cq", "Đảng ủy Khối các cơ quan tỉnh Cao Bằng", "ĐU Khối các cơ quan", "party", UNTIL_MAR_2025),
    cb_until(
        "cb-du-khoi-dn",
        "Đảng ủy Khối Doanh nghiệp tỉnh Cao Bằng",
        "ĐU Khối Doanh nghiệp",
        "party",
        UNTIL_MAR_2025,
    ),
    cb_since("cb-du-cq-dang", "Đảng ủy các cơ quan Đảng tỉnh Cao Bằng", "ĐU các cơ quan Đảng", "party", FROM_MAR_2025),
    cb_since("cb-du-ubnd", "Đảng ủy Ủy ban nhân dân tỉnh Cao Bằng", "ĐU UBND tỉnh", "party", FROM_MAR_2025),
    cb_until("cb-bao-cao-bang", "Báo Cao Bằng", "Báo Cao Bằng", "party", UNTIL_MAR_2025),
    cb_since("cb-bao-ptth", "Báo và Phát thanh, Truyền hình Cao Bằng", "Báo và PT-TH Cao Bằng", "party", FROM_MAR_2025),
    cb(
        "cb-vp-dbqh-hdnd",
        "Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân tỉnh Cao Bằng",
        "Văn phòng Đoàn ĐBQH và HĐND",
        "department",
    ),
    cb("cb-hoi-nha-bao", "Hội Nhà báo tỉnh Cao Bằng", "Hội Nhà báo", "mass"),
    // ===================== Cao Bằng: Fatherland Front, associations, mass organisations ==========
    cb("cb-ubmttq", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Cao Bằng", "Ủy ban MTTQ tỉnh", "mass"),
    cb("cb-hoi-nong-dan", "Hội Nông dân tỉnh Cao Bằng", "Hội Nông dân", "mass"),
    cb("cb-hoi-phu-nu", "Hội Liên hiệp Phụ nữ tỉnh Cao Bằng", "Hội LHPN tỉnh", "mass"),
    cb("cb-tinh-doan", "Tỉnh đoàn Cao Bằng", "Tỉnh đoàn", "mass"),
    cb("cb-ldld", "Liên đoàn Lao động tỉnh Cao Bằng", "LĐLĐ tỉnh", "mass"),
    cb("cb-hoi-ccb", "Hội Cựu chiến binh tỉnh Cao Bằng", "Hội CCB tỉnh", "mass"),
    cb("cb-lhh-khkt", "Liên hiệp các Hội Khoa học và Kỹ thuật tỉnh Cao Bằng", "Liên hiệp các Hội KH&KT", "mass"),
    cb("cb-lh-huu-nghi", "Liên hiệp các tổ chức hữu nghị tỉnh Cao Bằng", "Liên hiệp các tổ chức hữu nghị", "mass"),
    cb("cb-hoi-vhnt", "Hội Văn học Nghệ thuật tỉnh Cao Bằng", "Hội VHNT", "mass"),
    cb("cb-hoi-chu-thap-do", "Hội Chữ thập đỏ tỉnh Cao Bằng", "Hội Chữ thập đỏ", "mass"),
    cb("cb-hoi-nct", "Hội Người cao tuổi tỉnh Cao Bằng", "Hội Người cao tuổi", "mass"),
    cb("cb-hoi-khuyen-hoc", "Hội Khuyến học tỉnh Cao Bằng", "Hội Khuyến học", "mass"),
    cb("cb-hoi-cuu-tnxp", "Hội Cựu Thanh niên xung phong tỉnh Cao Bằng", "Hội Cựu TNXP", "mass"),
    cb(
        "cb-hoi-nan-nhan-da-cam",
        "Hội Nạn nhân chất độc da cam/dioxin tỉnh Cao Bằng",
        "Hội Nạn nhân CĐDC/dioxin",
        "mass",
    ),
    // ===================== Cao Bằng: internal affairs =====================
    cb("cb-cong-an", "Công an tỉnh Cao Bằng", "Công an tỉnh", "other"),
    cb("cb-bchqs", "Bộ Chỉ huy Quân sự tỉnh Cao Bằng", "Bộ CHQS tỉnh", "other"),
    cb("cb-bdbp", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Cao Bằng", "BĐBP tỉnh", "other"),
    cb("cb-toa-an", "Tòa án nhân dân tỉnh Cao Bằng", "TAND tỉnh", "other"),
    cb("cb-vks", "Viện kiểm sát nhân dân tỉnh Cao Bằng", "VKSND tỉnh", "other"),
    cb("cb-thanh-tra", "Thanh tra tỉnh Cao Bằng", "Thanh tra tỉnh", "department"),
    cb("cb-so-tu-phap", "Sở Tư pháp tỉnh Cao Bằng", "Sở Tư pháp", "department"),
    cb("cb-so-noi-vu", "Sở Nội vụ tỉnh Cao Bằng", "Sở Nội vụ", "department"),
    cb("cb-vp-ubnd", "Văn phòng Ủy ban nhân dân tỉnh Cao Bằng", "Văn phòng UBND tỉnh", "department"),
    cb_until("cb-cuc-thads", "Cục Thi hành án dân sự tỉnh Cao Bằng", "Cục THADS tỉnh", "other", UNTIL_JUL_2025),
    cb_since("cb-thads", "Thi hành án dân sự tỉnh Cao Bằng", "THADS tỉnh", "other", FROM_JUL_2025),
    cb("cb-tt-hcc", "Trung tâm Phục vụ hành chính công tỉnh Cao Bằng", "Trung tâm PVHCC", "other"),
    cb("cb-hoi-luat-gia", "Hội Luật gia tỉnh Cao Bằng", "Hội Luật gia", "mass"),
    // Simplified name: customs was regionalised in 2025 (see the note at the top).
    cb("cb-hai-quan", "Hải quan tỉnh Cao Bằng", "Hải quan", "other"),
    // ===================== Cao Bằng: general economy =====================
    cb("cb-so-tai-chinh", "Sở Tài chính tỉnh Cao Bằng", "Sở Tài chính", "department"),
    cb_until("cb-so-khdt", "Sở Kế hoạch và Đầu tư tỉnh Cao Bằng", "Sở KH&ĐT", "department", UNTIL_MAR_2025),
    cb("cb-so-cong-thuong", "Sở Công Thương tỉnh Cao Bằng", "Sở Công Thương", "department"),
    cb_until("cb-cuc-qltt", "Cục Quản lý thị trường tỉnh Cao Bằng", "Cục QLTT", "other", UNTIL_MAR_2025),
    cb_until("cb-cuc-thue", "Cục Thuế tỉnh Cao Bằng", "Cục Thuế", "other", UNTIL_JUL_2025),
    cb_since("cb-thue", "Thuế tỉnh Cao Bằng", "Thuế tỉnh", "other", FROM_JUL_2025),
    cb("cb-kho-bac", "Kho bạc Nhà nước Cao Bằng", "Kho bạc", "other"),
    cb("cb-bhxh", "Bảo hiểm xã hội tỉnh Cao Bằng", "BHXH tỉnh", "other"),
    cb_until("cb-cuc-thong-ke", "Cục Thống kê tỉnh Cao Bằng", "Cục Thống kê", "other", UNTIL_MAR_2025),
    cb_since("cb-thong-ke", "Thống kê tỉnh Cao Bằng", "Thống kê tỉnh", "other", FROM_MAR_2025),
    cb("cb-nhcsxh", "Ngân hàng Chính sách xã hội chi nhánh tỉnh Cao Bằng", "NHCSXH Cao Bằng", "other"),
    cb(
        "cb-agribank",
        "Ngân hàng Nông nghiệp và Phát triển nông thôn Việt Nam chi nhánh tỉnh Cao Bằng",
        "Agribank Cao Bằng",
        "enterprise",
    ),
    cb("cb-bidv", "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam chi nhánh Cao Bằng", "BIDV Cao Bằng", "enterprise"),
    cb("cb-vietinbank", "Ngân hàng TMCP Công Thương Việt Nam chi nhánh Cao Bằng", "VietinBank Cao Bằng", "enterprise"),
    cb(
        "cb-vietcombank",
        "Ngân hàng TMCP Ngoại thương Việt Nam chi nhánh Cao Bằng",
        "Vietcombank Cao Bằng",
        "enterprise",
    ),
    cb("cb-lien-minh-htx", "Liên minh Hợp tác xã tỉnh Cao Bằng", "Liên minh HTX", "other"),
    cb("cb-bql-kkt", "Ban Quản lý Khu kinh tế tỉnh Cao Bằng", "BQL Khu kinh tế", "department"),
    cb("cb-bao-viet", "Công ty Bảo Việt Cao Bằng", "Bảo Việt Cao Bằng", "enterprise"),
    cb("cb-xskt", "Công ty TNHH MTV Xổ số kiến thiết Cao Bằng", "Xổ số kiến thiết", "enterprise"),
    // ===================== Cao Bằng: technical economy =====================
    cb("cb-so-xay-dung", "Sở Xây dựng tỉnh Cao Bằng", "Sở Xây dựng", "department"),
    cb_until("cb-so-gtvt", "Sở Giao thông vận tải tỉnh Cao Bằng", "Sở GTVT", "department", UNTIL_MAR_2025),
    cb_until(
        "cb-so-nn-ptnt",
        "Sở Nông nghiệp và Phát triển nông thôn tỉnh Cao Bằng",
        "Sở NN&PTNT",
        "department",
        UNTIL_MAR_2025,
    ),
    cb_until("cb-so-tn-mt", "Sở Tài nguyên và Môi trường tỉnh Cao Bằng", "Sở TN&MT", "department", UNTIL_MAR_2025),
    cb_since("cb-so-nn-mt", "Sở Nông nghiệp và Môi trường tỉnh Cao Bằng", "Sở NN&MT", "department", FROM_MAR_2025),
    cb("cb-so-kh-cn", "Sở Khoa học và Công nghệ tỉnh Cao Bằng", "Sở KH&CN", "department"),
    cb_until("cb-so-tt-tt", "Sở Thông tin và Truyền thông tỉnh Cao Bằng", "Sở TT&TT", "department", UNTIL_MAR_2025),
    cb("cb-dien-luc", "Công ty Điện lực Cao Bằng", "Điện lực Cao Bằng", "enterprise"),
    cb("cb-buu-dien", "Bưu điện tỉnh Cao Bằng", "Bưu điện tỉnh", "enterprise"),
    cb(
        "cb-viettel",
        "Viettel Cao Bằng - Chi nhánh Tập đoàn Công nghiệp - Viễn thông Quân đội",
        "Viettel Cao Bằng",
        "enterprise",
    ),
    cb("cb-vnpt", "Viễn thông Cao Bằng (VNPT Cao Bằng)", "VNPT Cao Bằng", "enterprise"),
    cb("cb-mobifone", "MobiFone tỉnh Cao Bằng", "MobiFone Cao Bằng", "enterprise"),
    cb("cb-cap-thoat-nuoc", "Công ty cổ phần Cấp thoát nước Cao Bằng", "Cấp thoát nước", "enterprise"),
    cb(
        "cb-thuy-loi",
        "Công ty TNHH MTV Quản lý khai thác công trình thủy lợi Cao Bằng",
        "Thủy lợi Cao Bằng",
        "enterprise",
    ),
    cb("cb-xang-dau", "Công ty Xăng dầu Cao Bằng", "Xăng dầu Cao Bằng", "enterprise"),
    cb("cb-gang-thep", "Công ty cổ phần Gang thép Cao Bằng", "Gang thép Cao Bằng", "enterprise"),
    cb("cb-bqlda", "Ban Quản lý dự án đầu tư xây dựng tỉnh Cao Bằng", "BQLDA ĐTXD tỉnh", "other"),
    cb("cb-qlxd-gt", "Công ty cổ phần Quản lý và Xây dựng giao thông Cao Bằng", "QL&XD giao thông", "enterprise"),
    // ===================== Cao Bằng: culture and society =====================
    cb("cb-so-gddt", "Sở Giáo dục và Đào tạo tỉnh Cao Bằng", "Sở GD&ĐT", "department"),
    cb("cb-so-y-te", "Sở Y tế tỉnh Cao Bằng", "Sở Y tế", "department"),
    cb("cb-so-vhttdl", "Sở Văn hóa, Thể thao và Du lịch tỉnh Cao Bằng", "Sở VH,TT&DL", "department"),
    cb_until("cb-ban-dan-toc", "Ban Dân tộc tỉnh Cao Bằng", "Ban Dân tộc", "department", UNTIL_MAR_2025),
    cb_since("cb-so-dt-tg", "Sở Dân tộc và Tôn giáo tỉnh Cao Bằng", "Sở DT&TG", "department", FROM_MAR_2025),
    cb_until(
        "cb-so-ldtbxh",
        "Sở Lao động - Thương binh và Xã hội tỉnh Cao Bằng",
        "Sở LĐ-TB&XH",
        "department",
        UNTIL_MAR_2025,
    ),
    cb_until("cb-dai-ptth", "Đài Phát thanh - Truyền hình Cao Bằng", "Đài PT-TH Cao Bằng", "other", UNTIL_MAR_2025),
    cb("cb-truong-cd", "Trường Cao đẳng Cao Bằng", "Trường Cao đẳng", "other"),
    cb("cb-bvdk", "Bệnh viện Đa khoa tỉnh Cao Bằng", "BVĐK tỉnh", "other"),
    cb("cb-cdc", "Trung tâm Kiểm soát bệnh tật tỉnh Cao Bằng", "CDC Cao Bằng", "other"),
    cb("cb-bv-ydct", "Bệnh viện Y dược cổ truyền tỉnh Cao Bằng", "BV YDCT tỉnh", "other"),
    cb("cb-thpt-chuyen", "Trường Trung học phổ thông Chuyên Cao Bằng", "THPT Chuyên", "other"),
    cb("cb-pt-dtnt", "Trường Phổ thông Dân tộc nội trú tỉnh Cao Bằng", "PT DTNT tỉnh", "other"),
    cb("cb-bao-tang", "Bảo tàng tỉnh Cao Bằng", "Bảo tàng tỉnh", "other"),
    cb("cb-thu-vien", "Thư viện tỉnh Cao Bằng", "Thư viện tỉnh", "other"),
    cb("cb-geopark", "Ban Quản lý Công viên địa chất Non nước Cao Bằng", "BQL CVĐC Non nước Cao Bằng", "other"),
    cb("cb-tt-bao-tro", "Trung tâm Bảo trợ xã hội tỉnh Cao Bằng", "TT Bảo trợ xã hội", "other"),
    // ===================== Cao Bằng: wards and communes (from 1 July 2025; names illustrative) ====
    commune("cb-p-thuc-phan", "Phường Thục Phán", "Thục Phán"),
    commune("cb-p-nung-tri-cao", "Phường Nùng Trí Cao", "Nùng Trí Cao"),
    commune("cb-p-tan-giang", "Phường Tân Giang", "Tân Giang"),
    // Hòa An area
    commune("cb-x-hoa-an", "Xã Hòa An", "Hòa An"),
    commune("cb-x-nam-tuan", "Xã Nam Tuấn", "Nam Tuấn"),
    commune("cb-x-bach-dang", "Xã Bạch Đằng", "Bạch Đằng"),
    commune("cb-x-nguyen-hue", "Xã Nguyễn Huệ", "Nguyễn Huệ"),
    // Bảo Lâm area
    commune("cb-x-bao-lam", "Xã Bảo Lâm", "Bảo Lâm"),
    commune("cb-x-quang-lam", "Xã Quảng Lâm", "Quảng Lâm"),
    commune("cb-x-nam-quang", "Xã Nam Quang", "Nam Quang"),
    commune("cb-x-ly-bon", "Xã Lý Bôn", "Lý Bôn"),
    commune("cb-x-yen-tho", "Xã Yên Thổ", "Yên Thổ"),
    // Bảo Lạc area
    commune("cb-x-bao-lac", "Xã Bảo Lạc", "Bảo Lạc"),
    commune("cb-x-coc-pang", "Xã Cốc Pàng", "Cốc Pàng"),
    commune("cb-x-co-ba", "Xã Cô Ba", "Cô Ba"),
    commune("cb-x-khanh-xuan", "Xã Khánh Xuân", "Khánh Xuân"),
    commune("cb-x-xuan-truong", "Xã Xuân Trường", "Xuân Trường"),
    commune("cb-x-huy-giap", "Xã Huy Giáp", "Huy Giáp"),
    commune("cb-x-hung-dao", "Xã Hưng Đạo", "Hưng Đạo"),
    commune("cb-x-son-lo", "Xã Sơn Lộ", "Sơn Lộ"),
    // Nguyên Bình area
    commune("cb-x-nguyen-binh", "Xã Nguyên Bình", "Nguyên Bình"),
    commune("cb-x-tinh-tuc", "Xã Tĩnh Túc", "Tĩnh Túc"),
    commune("cb-x-ca-thanh", "Xã Ca Thành", "Ca Thành"),
    commune("cb-x-phan-thanh", "Xã Phan Thanh", "Phan Thanh"),
    commune("cb-x-thanh-cong", "Xã Thành Công", "Thành Công"),
    commune("cb-x-tam-kim", "Xã Tam Kim", "Tam Kim"),
    commune("cb-x-minh-tam", "Xã Minh Tâm", "Minh Tâm"),
    // Thông Nông – Hà Quảng area
    commune("cb-x-ha-quang", "Xã Hà Quảng", "Hà Quảng"),
    commune("cb-x-thong-nong", "Xã Thông Nông", "Thông Nông"),
    commune("cb-x-truong-ha", "Xã Trường Hà", "Trường Hà"),
    commune("cb-x-tong-cot", "Xã Tổng Cọt", "Tổng Cọt"),
    commune("cb-x-lung-nam", "Xã Lũng Nặm", "Lũng Nặm"),
    commune("cb-x-can-yen", "Xã Cần Yên", "Cần Yên"),
    commune("cb-x-thanh-long", "Xã Thanh Long", "Thanh Long"),
    // Thạch An area
    commune("cb-x-dong-khe", "Xã Đông Khê", "Đông Khê"),
    commune("cb-x-thach-an", "Xã Thạch An", "Thạch An"),
    commune("cb-x-duc-long", "Xã Đức Long", "Đức Long"),
    commune("cb-x-canh-tan", "Xã Canh Tân", "Canh Tân"),
    commune("cb-x-kim-dong", "Xã Kim Đồng", "Kim Đồng"),
    commune("cb-x-minh-khai", "Xã Minh Khai", "Minh Khai"),
    // Quảng Hòa area
    commune("cb-x-quang-uyen", "Xã Quảng Uyên", "Quảng Uyên"),
    commune("cb-x-phuc-hoa", "Xã Phục Hòa", "Phục Hòa"),
    commune("cb-x-hanh-phuc", "Xã Hạnh Phúc", "Hạnh Phúc"),
    commune("cb-x-doc-lap", "Xã Độc Lập", "Độc Lập"),
    commune("cb-x-be-van-dan", "Xã Bế Văn Đàn", "Bế Văn Đàn"),
    // Trà Lĩnh area
    commune("cb-x-tra-linh", "Xã Trà Lĩnh", "Trà Lĩnh"),
    commune("cb-x-quang-han", "Xã Quang Hán", "Quang Hán"),
    commune("cb-x-quang-trung", "Xã Quang Trung", "Quang Trung"),
    // Trùng Khánh area
    commune("cb-x-trung-khanh", "Xã Trùng Khánh", "Trùng Khánh"),
    commune("cb-x-dam-thuy", "Xã Đàm Thủy", "Đàm Thủy"),
    commune("cb-x-dinh-phong", "Xã Đình Phong", "Đình Phong"),
    commune("cb-x-doai-duong", "Xã Đoài Dương", "Đoài Dương"),
    // Hạ Lang area
    commune("cb-x-ha-lang", "Xã Hạ Lang", "Hạ Lang"),
    commune("cb-x-ly-quoc", "Xã Lý Quốc", "Lý Quốc"),
    commune("cb-x-vinh-quy", "Xã Vinh Quý", "Vinh Quý"),
    commune("cb-x-quang-long", "Xã Quang Long", "Quang Long"),
];

// ---------------------------------------------------------------------------------------------
// Lineage
// ---------------------------------------------------------------------------------------------

pub static LINEAGE: &[LineageDef] = &[
    // ----- provinces (National Assembly resolution of 12 June 2025; provinces-2025.csv) -----
    lineage(
        "tw-yen-bai",
        "tw-lao-cai",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Yên Bái và tỉnh Lào Cai thành tỉnh Lào Cai.",
    ),
    lineage(
        "tw-hoa-binh",
        "tw-phu-tho",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Vĩnh Phúc, tỉnh Hòa Bình và tỉnh Phú Thọ thành tỉnh Phú Thọ.",
    ),
    lineage(
        "tw-vinh-phuc",
        "tw-phu-tho",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Vĩnh Phúc, tỉnh Hòa Bình và tỉnh Phú Thọ thành tỉnh Phú Thọ.",
    ),
    lineage(
        "tw-bac-giang",
        "tw-bac-ninh",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Bắc Giang và tỉnh Bắc Ninh thành tỉnh Bắc Ninh.",
    ),
    lineage(
        "tw-bac-kan",
        "tw-thai-nguyen",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Bắc Kạn và tỉnh Thái Nguyên thành tỉnh Thái Nguyên.",
    ),
    lineage(
        "tw-ha-giang",
        "tw-tuyen-quang",
        "merged",
        FROM_JUL_2025,
        "Hợp nhất tỉnh Hà Giang và tỉnh Tuyên Quang thành tỉnh Tuyên Quang.",
    ),
    // ----- ministries (Government structure of the 15th legislature, from 1 March 2025) -----
    lineage(
        "bo-gtvt",
        "bo-xay-dung",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Bộ Giao thông vận tải và Bộ Xây dựng thành Bộ Xây dựng.",
    ),
    lineage(
        "bo-nn-ptnt",
        "bo-nn-mt",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Bộ Nông nghiệp và Phát triển nông thôn và Bộ Tài nguyên và Môi trường thành Bộ Nông nghiệp và Môi trường.",
    ),
    lineage(
        "bo-tn-mt",
        "bo-nn-mt",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Bộ Nông nghiệp và Phát triển nông thôn và Bộ Tài nguyên và Môi trường thành Bộ Nông nghiệp và Môi trường.",
    ),
    lineage(
        "bo-tt-tt",
        "bo-kh-cn",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Bộ Thông tin và Truyền thông và Bộ Khoa học và Công nghệ thành Bộ Khoa học và Công nghệ; chức năng báo chí, xuất bản chuyển sang Bộ Văn hóa, Thể thao và Du lịch.",
    ),
    // ----- Cao Bằng: specialised departments (dates simplified to 1 March 2025) -----
    lineage(
        "cb-so-khdt",
        "cb-so-tai-chinh",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Kế hoạch và Đầu tư và Sở Tài chính thành Sở Tài chính.",
    ),
    lineage(
        "cb-so-gtvt",
        "cb-so-xay-dung",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Giao thông vận tải và Sở Xây dựng thành Sở Xây dựng.",
    ),
    lineage(
        "cb-so-nn-ptnt",
        "cb-so-nn-mt",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Nông nghiệp và Phát triển nông thôn và Sở Tài nguyên và Môi trường thành Sở Nông nghiệp và Môi trường.",
    ),
    lineage(
        "cb-so-tn-mt",
        "cb-so-nn-mt",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Nông nghiệp và Phát triển nông thôn và Sở Tài nguyên và Môi trường thành Sở Nông nghiệp và Môi trường.",
    ),
    lineage(
        "cb-so-tt-tt",
        "cb-so-kh-cn",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Thông tin và Truyền thông và Sở Khoa học và Công nghệ thành Sở Khoa học và Công nghệ; lĩnh vực báo chí, xuất bản chuyển về Sở Văn hóa, Thể thao và Du lịch.",
    ),
    lineage(
        "cb-so-ldtbxh",
        "cb-so-noi-vu",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Sở Lao động - Thương binh và Xã hội và Sở Nội vụ thành Sở Nội vụ; giáo dục nghề nghiệp chuyển về Sở Giáo dục và Đào tạo, bảo trợ xã hội, trẻ em chuyển về Sở Y tế.",
    ),
    lineage(
        "cb-ban-dan-toc",
        "cb-so-dt-tg",
        "renamed",
        FROM_MAR_2025,
        "Thành lập Sở Dân tộc và Tôn giáo trên cơ sở Ban Dân tộc, tiếp nhận thêm chức năng quản lý nhà nước về tín ngưỡng, tôn giáo từ Sở Nội vụ.",
    ),
    lineage(
        "cb-cuc-qltt",
        "cb-so-cong-thuong",
        "merged",
        FROM_MAR_2025,
        "Chuyển Cục Quản lý thị trường tỉnh về Sở Công Thương (tổ chức lại thành Chi cục Quản lý thị trường).",
    ),
    // ----- Cao Bằng: party bodies and press -----
    lineage(
        "cb-ban-tuyen-giao",
        "cb-ban-tgdv",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Ban Tuyên giáo Tỉnh ủy và Ban Dân vận Tỉnh ủy thành Ban Tuyên giáo và Dân vận Tỉnh ủy.",
    ),
    lineage(
        "cb-ban-dan-van",
        "cb-ban-tgdv",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Ban Tuyên giáo Tỉnh ủy và Ban Dân vận Tỉnh ủy thành Ban Tuyên giáo và Dân vận Tỉnh ủy.",
    ),
    lineage(
        "cb-du-khoi-cq",
        "cb-du-cq-dang",
        "merged",
        FROM_MAR_2025,
        "Kết thúc hoạt động Đảng bộ Khối các cơ quan tỉnh; thành lập Đảng bộ các cơ quan Đảng tỉnh.",
    ),
    lineage(
        "cb-du-khoi-dn",
        "cb-du-ubnd",
        "merged",
        FROM_MAR_2025,
        "Kết thúc hoạt động Đảng bộ Khối Doanh nghiệp tỉnh; các tổ chức đảng chuyển về Đảng bộ Ủy ban nhân dân tỉnh.",
    ),
    lineage(
        "cb-bao-cao-bang",
        "cb-bao-ptth",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Báo Cao Bằng và Đài Phát thanh - Truyền hình Cao Bằng thành Báo và Phát thanh, Truyền hình Cao Bằng, trực thuộc Tỉnh ủy.",
    ),
    lineage(
        "cb-dai-ptth",
        "cb-bao-ptth",
        "merged",
        FROM_MAR_2025,
        "Hợp nhất Báo Cao Bằng và Đài Phát thanh - Truyền hình Cao Bằng thành Báo và Phát thanh, Truyền hình Cao Bằng, trực thuộc Tỉnh ủy.",
    ),
    // ----- Cao Bằng: centrally managed agencies in the province -----
    lineage(
        "cb-cuc-thong-ke",
        "cb-thong-ke",
        "renamed",
        FROM_MAR_2025,
        "Cục Thống kê tỉnh tổ chức lại thành Thống kê tỉnh Cao Bằng thuộc Cục Thống kê (Bộ Tài chính).",
    ),
    lineage(
        "cb-cuc-thue",
        "cb-thue",
        "renamed",
        FROM_JUL_2025,
        "Cục Thuế tỉnh tổ chức lại thành Thuế tỉnh Cao Bằng (giai đoạn chi cục thuế khu vực từ tháng 3 đến tháng 6/2025 không mô phỏng).",
    ),
    lineage(
        "cb-cuc-thads",
        "cb-thads",
        "renamed",
        FROM_JUL_2025,
        "Cục Thi hành án dân sự tỉnh tổ chức lại thành Thi hành án dân sự tỉnh Cao Bằng khi bỏ cấp huyện (ngày hiệu lực minh họa).",
    ),
];

// ---------------------------------------------------------------------------------------------
// Group memberships: Cao Bằng blocks of provincial bodies
// ---------------------------------------------------------------------------------------------

const KHOI_DANG_2023: &[&str] = &[
    "cb-vp-tinh-uy",
    "cb-ban-to-chuc",
    "cb-ubkt-tinh-uy",
    "cb-ban-tuyen-giao",
    "cb-ban-dan-van",
    "cb-ban-noi-chinh",
    "cb-truong-chinh-tri",
    "cb-du-khoi-cq",
    "cb-du-khoi-dn",
    "cb-bao-cao-bang",
    "cb-vp-dbqh-hdnd",
    "cb-hoi-nha-bao",
];
const KHOI_DANG_2025: &[&str] = &[
    "cb-vp-tinh-uy",
    "cb-ban-to-chuc",
    "cb-ubkt-tinh-uy",
    "cb-ban-tgdv",
    "cb-ban-noi-chinh",
    "cb-truong-chinh-tri",
    "cb-du-cq-dang",
    "cb-du-ubnd",
    "cb-bao-ptth",
    "cb-vp-dbqh-hdnd",
    "cb-hoi-nha-bao",
];

const KHOI_MTTQ: &[&str] = &[
    "cb-ubmttq",
    "cb-hoi-nong-dan",
    "cb-hoi-phu-nu",
    "cb-tinh-doan",
    "cb-ldld",
    "cb-hoi-ccb",
    "cb-lhh-khkt",
    "cb-lh-huu-nghi",
    "cb-hoi-vhnt",
    "cb-hoi-chu-thap-do",
    "cb-hoi-nct",
    "cb-hoi-khuyen-hoc",
    "cb-hoi-cuu-tnxp",
    "cb-hoi-nan-nhan-da-cam",
];

const KHOI_NOI_CHINH_2023: &[&str] = &[
    "cb-cong-an",
    "cb-bchqs",
    "cb-bdbp",
    "cb-toa-an",
    "cb-vks",
    "cb-thanh-tra",
    "cb-so-tu-phap",
    "cb-so-noi-vu",
    "cb-vp-ubnd",
    "cb-cuc-thads",
    "cb-tt-hcc",
    "cb-hoi-luat-gia",
    "cb-hai-quan",
];
const KHOI_NOI_CHINH_2025: &[&str] = &[
    "cb-cong-an",
    "cb-bchqs",
    "cb-bdbp",
    "cb-toa-an",
    "cb-vks",
    "cb-thanh-tra",
    "cb-so-tu-phap",
    "cb-so-noi-vu",
    "cb-vp-ubnd",
    "cb-thads",
    "cb-tt-hcc",
    "cb-hoi-luat-gia",
    "cb-hai-quan",
];

const KHOI_KT_TONG_HOP_2023: &[&str] = &[
    "cb-so-tai-chinh",
    "cb-so-khdt",
    "cb-so-cong-thuong",
    "cb-cuc-qltt",
    "cb-cuc-thue",
    "cb-kho-bac",
    "cb-bhxh",
    "cb-cuc-thong-ke",
    "cb-nhcsxh",
    "cb-agribank",
    "cb-bidv",
    "cb-vietinbank",
    "cb-vietcombank",
    "cb-lien-minh-htx",
    "cb-bql-kkt",
    "cb-bao-viet",
    "cb-xskt",
];
const KHOI_KT_TONG_HOP_2025: &[&str] = &[
    "cb-so-tai-chinh",
    "cb-so-cong-thuong",
    "cb-thue",
    "cb-kho-bac",
    "cb-bhxh",
    "cb-thong-ke",
    "cb-nhcsxh",
    "cb-agribank",
    "cb-bidv",
    "cb-vietinbank",
    "cb-vietcombank",
    "cb-lien-minh-htx",
    "cb-bql-kkt",
    "cb-bao-viet",
    "cb-xskt",
];

const KHOI_KT_KY_THUAT_2023: &[&str] = &[
    "cb-so-xay-dung",
    "cb-so-gtvt",
    "cb-so-nn-ptnt",
    "cb-so-tn-mt",
    "cb-so-kh-cn",
    "cb-so-tt-tt",
    "cb-dien-luc",
    "cb-buu-dien",
    "cb-viettel",
    "cb-vnpt",
    "cb-mobifone",
    "cb-cap-thoat-nuoc",
    "cb-thuy-loi",
    "cb-xang-dau",
    "cb-gang-thep",
    "cb-bqlda",
    "cb-qlxd-gt",
];
const KHOI_KT_KY_THUAT_2025: &[&str] = &[
    "cb-so-xay-dung",
    "cb-so-nn-mt",
    "cb-so-kh-cn",
    "cb-dien-luc",
    "cb-buu-dien",
    "cb-viettel",
    "cb-vnpt",
    "cb-mobifone",
    "cb-cap-thoat-nuoc",
    "cb-thuy-loi",
    "cb-xang-dau",
    "cb-gang-thep",
    "cb-bqlda",
    "cb-qlxd-gt",
];

const KHOI_VHXH_2023: &[&str] = &[
    "cb-so-gddt",
    "cb-so-y-te",
    "cb-so-vhttdl",
    "cb-ban-dan-toc",
    "cb-so-ldtbxh",
    "cb-dai-ptth",
    "cb-truong-cd",
    "cb-bvdk",
    "cb-cdc",
    "cb-bv-ydct",
    "cb-thpt-chuyen",
    "cb-pt-dtnt",
    "cb-bao-tang",
    "cb-thu-vien",
    "cb-geopark",
    "cb-tt-bao-tro",
];
const KHOI_VHXH_2025: &[&str] = &[
    "cb-so-gddt",
    "cb-so-y-te",
    "cb-so-vhttdl",
    "cb-so-dt-tg",
    "cb-truong-cd",
    "cb-bvdk",
    "cb-cdc",
    "cb-bv-ydct",
    "cb-thpt-chuyen",
    "cb-pt-dtnt",
    "cb-bao-tang",
    "cb-thu-vien",
    "cb-geopark",
    "cb-tt-bao-tro",
];

// ---------------------------------------------------------------------------------------------
// Group memberships: Cao Bằng clusters of communes and wards (2025–2026)
// ---------------------------------------------------------------------------------------------

const CUM_01: &[&str] = &["cb-p-thuc-phan", "cb-p-nung-tri-cao", "cb-p-tan-giang"];
const CUM_02: &[&str] = &["cb-x-hoa-an", "cb-x-nam-tuan", "cb-x-bach-dang", "cb-x-nguyen-hue"];
const CUM_03: &[&str] = &["cb-x-bao-lam", "cb-x-quang-lam", "cb-x-nam-quang", "cb-x-ly-bon", "cb-x-yen-tho"];
const CUM_04: &[&str] = &[
    "cb-x-bao-lac",
    "cb-x-coc-pang",
    "cb-x-co-ba",
    "cb-x-khanh-xuan",
    "cb-x-xuan-truong",
    "cb-x-huy-giap",
    "cb-x-hung-dao",
    "cb-x-son-lo",
];
const CUM_05: &[&str] = &[
    "cb-x-nguyen-binh",
    "cb-x-tinh-tuc",
    "cb-x-ca-thanh",
    "cb-x-phan-thanh",
    "cb-x-thanh-cong",
    "cb-x-tam-kim",
    "cb-x-minh-tam",
];
const CUM_06: &[&str] = &[
    "cb-x-ha-quang",
    "cb-x-thong-nong",
    "cb-x-truong-ha",
    "cb-x-tong-cot",
    "cb-x-lung-nam",
    "cb-x-can-yen",
    "cb-x-thanh-long",
];
const CUM_07: &[&str] =
    &["cb-x-dong-khe", "cb-x-thach-an", "cb-x-duc-long", "cb-x-canh-tan", "cb-x-kim-dong", "cb-x-minh-khai"];
const CUM_08: &[&str] = &["cb-x-quang-uyen", "cb-x-phuc-hoa", "cb-x-hanh-phuc", "cb-x-doc-lap", "cb-x-be-van-dan"];
const CUM_09: &[&str] = &["cb-x-tra-linh", "cb-x-quang-han", "cb-x-quang-trung"];
const CUM_10: &[&str] = &["cb-x-trung-khanh", "cb-x-dam-thuy", "cb-x-dinh-phong", "cb-x-doai-duong"];
const CUM_11: &[&str] = &["cb-x-ha-lang", "cb-x-ly-quoc", "cb-x-vinh-quy", "cb-x-quang-long"];

// ---------------------------------------------------------------------------------------------
// Group memberships: Central council
// ---------------------------------------------------------------------------------------------

/// The 7 provinces of seed 002 (2015), unchanged until the 2025 mergers.
const CUM_TDMNPB_7_TINH: &[&str] =
    &["tw-phu-tho", "tw-tuyen-quang", "tw-yen-bai", "tw-hoa-binh", "tw-bac-giang", "tw-bac-kan", "tw-thai-nguyen"];
/// Plausible redrawing after 1 July 2025: the post-merger provinces that absorbed the seven.
const CUM_TDMNPB_2025: &[&str] = &["tw-phu-tho", "tw-tuyen-quang", "tw-lao-cai", "tw-thai-nguyen", "tw-bac-ninh"];
/// Plausible composition before the mergers (illustrative).
const CUM_MNBG_2023: &[&str] =
    &["tw-ha-giang", "tw-cao-bang", "tw-lang-son", "tw-lao-cai", "tw-lai-chau", "tw-dien-bien", "tw-son-la"];
/// After 1 July 2025: Hà Giang is part of Tuyên Quang and Lào Cai (with Yên Bái) moved to the
/// midlands cluster; the remaining border provinces stay (illustrative).
const CUM_MNBG_2025: &[&str] = &["tw-cao-bang", "tw-lang-son", "tw-lai-chau", "tw-dien-bien", "tw-son-la"];

/// Seed 001 (2014).
const KHOI_BO_KT_2014: &[&str] =
    &["bo-xay-dung", "bo-gtvt", "bo-nn-ptnt", "bo-tn-mt", "bo-tt-tt", "bo-cong-thuong", "vcci"];
/// After the ministry mergers of 1 March 2025.
const KHOI_BO_KT_2025: &[&str] = &["bo-xay-dung", "bo-nn-mt", "bo-kh-cn", "bo-cong-thuong", "vcci"];

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

pub static GROUPS: &[GroupDef] = &[
    // ===================== Cao Bằng: 6 blocks =====================
    GroupDef {
        key: "cb-khoi-dang",
        kind: "block",
        name: "Khối thi đua các ban, đơn vị, cơ quan Đảng",
        authority: "cb",
        years: &[
            year(2023, "cb-ban-to-chuc", "cb-ubkt-tinh-uy", KHOI_DANG_2023),
            year(2024, "cb-ubkt-tinh-uy", "cb-ban-noi-chinh", KHOI_DANG_2023),
            year(2025, "cb-ban-noi-chinh", "cb-ban-to-chuc", KHOI_DANG_2025),
            year(2026, "cb-ban-to-chuc", "cb-ban-tgdv", KHOI_DANG_2025),
        ],
    },
    GroupDef {
        key: "cb-khoi-mttq",
        kind: "block",
        name: "Khối thi đua Mặt trận Tổ quốc và các tổ chức hội, đoàn thể",
        authority: "cb",
        years: &[
            year(2023, "cb-ubmttq", "cb-ldld", KHOI_MTTQ),
            year(2024, "cb-ldld", "cb-tinh-doan", KHOI_MTTQ),
            year(2025, "cb-tinh-doan", "cb-hoi-phu-nu", KHOI_MTTQ),
            year(2026, "cb-hoi-phu-nu", "cb-hoi-nong-dan", KHOI_MTTQ),
        ],
    },
    GroupDef {
        key: "cb-khoi-noi-chinh",
        kind: "block",
        name: "Khối thi đua các cơ quan tham mưu Nội chính",
        authority: "cb",
        years: &[
            year(2023, "cb-cong-an", "cb-toa-an", KHOI_NOI_CHINH_2023),
            year(2024, "cb-toa-an", "cb-vks", KHOI_NOI_CHINH_2023),
            year(2025, "cb-vks", "cb-so-tu-phap", KHOI_NOI_CHINH_2025),
            year(2026, "cb-so-tu-phap", "cb-thanh-tra", KHOI_NOI_CHINH_2025),
        ],
    },
    GroupDef {
        key: "cb-khoi-kt-tong-hop",
        kind: "block",
        name: "Khối thi đua các cơ quan Kinh tế tổng hợp",
        authority: "cb",
        years: &[
            year(2023, "cb-so-khdt", "cb-cuc-thue", KHOI_KT_TONG_HOP_2023),
            year(2024, "cb-cuc-thue", "cb-kho-bac", KHOI_KT_TONG_HOP_2023),
            year(2025, "cb-kho-bac", "cb-so-tai-chinh", KHOI_KT_TONG_HOP_2025),
            year(2026, "cb-so-tai-chinh", "cb-bhxh", KHOI_KT_TONG_HOP_2025),
        ],
    },
    GroupDef {
        key: "cb-khoi-kt-ky-thuat",
        kind: "block",
        name: "Khối thi đua Kinh tế kỹ thuật chuyên ngành",
        authority: "cb",
        years: &[
            year(2023, "cb-so-gtvt", "cb-so-tn-mt", KHOI_KT_KY_THUAT_2023),
            year(2024, "cb-so-tn-mt", "cb-so-xay-dung", KHOI_KT_KY_THUAT_2023),
            year(2025, "cb-so-xay-dung", "cb-so-nn-mt", KHOI_KT_KY_THUAT_2025),
            year(2026, "cb-so-nn-mt", "cb-dien-luc", KHOI_KT_KY_THUAT_2025),
        ],
    },
    GroupDef {
        key: "cb-khoi-vhxh",
        kind: "block",
        name: "Khối thi đua các sở, ban, ngành về Văn hóa - Xã hội",
        authority: "cb",
        years: &[
            year(2023, "cb-so-y-te", "cb-so-ldtbxh", KHOI_VHXH_2023),
            year(2024, "cb-so-ldtbxh", "cb-so-gddt", KHOI_VHXH_2023),
            year(2025, "cb-so-gddt", "cb-so-vhttdl", KHOI_VHXH_2025),
            year(2026, "cb-so-vhttdl", "cb-so-y-te", KHOI_VHXH_2025),
        ],
    },
    // ===================== Cao Bằng: 11 clusters of wards and communes =====================
    GroupDef {
        key: "cb-cum-01",
        kind: "cluster",
        name: "Cụm thi đua số 1 (các phường)",
        authority: "cb",
        years: &[
            year(2025, "cb-p-thuc-phan", "cb-p-tan-giang", CUM_01),
            year(2026, "cb-p-tan-giang", "cb-p-nung-tri-cao", CUM_01),
        ],
    },
    GroupDef {
        key: "cb-cum-02",
        kind: "cluster",
        name: "Cụm thi đua số 2 (các xã khu vực Hòa An)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-hoa-an", "cb-x-nguyen-hue", CUM_02),
            year(2026, "cb-x-nguyen-hue", "cb-x-bach-dang", CUM_02),
        ],
    },
    GroupDef {
        key: "cb-cum-03",
        kind: "cluster",
        name: "Cụm thi đua số 3 (các xã khu vực Bảo Lâm)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-bao-lam", "cb-x-ly-bon", CUM_03),
            year(2026, "cb-x-ly-bon", "cb-x-quang-lam", CUM_03),
        ],
    },
    GroupDef {
        key: "cb-cum-04",
        kind: "cluster",
        name: "Cụm thi đua số 4 (các xã khu vực Bảo Lạc)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-bao-lac", "cb-x-hung-dao", CUM_04),
            year(2026, "cb-x-hung-dao", "cb-x-xuan-truong", CUM_04),
        ],
    },
    GroupDef {
        key: "cb-cum-05",
        kind: "cluster",
        name: "Cụm thi đua số 5 (các xã khu vực Nguyên Bình)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-nguyen-binh", "cb-x-tinh-tuc", CUM_05),
            year(2026, "cb-x-tinh-tuc", "cb-x-minh-tam", CUM_05),
        ],
    },
    GroupDef {
        key: "cb-cum-06",
        kind: "cluster",
        name: "Cụm thi đua số 6 (các xã khu vực Thông Nông – Hà Quảng)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-ha-quang", "cb-x-thong-nong", CUM_06),
            year(2026, "cb-x-thong-nong", "cb-x-truong-ha", CUM_06),
        ],
    },
    GroupDef {
        key: "cb-cum-07",
        kind: "cluster",
        name: "Cụm thi đua số 7 (các xã khu vực Thạch An)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-dong-khe", "cb-x-duc-long", CUM_07),
            year(2026, "cb-x-duc-long", "cb-x-thach-an", CUM_07),
        ],
    },
    GroupDef {
        key: "cb-cum-08",
        kind: "cluster",
        name: "Cụm thi đua số 8 (các xã khu vực Quảng Hòa)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-quang-uyen", "cb-x-phuc-hoa", CUM_08),
            year(2026, "cb-x-phuc-hoa", "cb-x-hanh-phuc", CUM_08),
        ],
    },
    GroupDef {
        key: "cb-cum-09",
        kind: "cluster",
        name: "Cụm thi đua số 9 (các xã khu vực Trà Lĩnh)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-tra-linh", "cb-x-quang-han", CUM_09),
            year(2026, "cb-x-quang-han", "cb-x-quang-trung", CUM_09),
        ],
    },
    GroupDef {
        key: "cb-cum-10",
        kind: "cluster",
        name: "Cụm thi đua số 10 (các xã khu vực Trùng Khánh)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-trung-khanh", "cb-x-dam-thuy", CUM_10),
            year(2026, "cb-x-dam-thuy", "cb-x-doai-duong", CUM_10),
        ],
    },
    GroupDef {
        key: "cb-cum-11",
        kind: "cluster",
        name: "Cụm thi đua số 11 (các xã khu vực Hạ Lang)",
        authority: "cb",
        years: &[
            year(2025, "cb-x-ha-lang", "cb-x-ly-quoc", CUM_11),
            year(2026, "cb-x-ly-quoc", "cb-x-vinh-quy", CUM_11),
        ],
    },
    // ===================== Central council =====================
    GroupDef {
        key: "tw-cum-tdmnpb",
        kind: "cluster",
        name: "Cụm thi đua các tỉnh Trung du và Miền núi phía Bắc",
        authority: "tw",
        years: &[
            // 2015 head and deputy as reported in seed 002; later years illustrative.
            year(2015, "tw-bac-giang", "tw-bac-kan", CUM_TDMNPB_7_TINH),
            year(2016, "tw-bac-kan", "tw-thai-nguyen", CUM_TDMNPB_7_TINH),
            year(2017, "tw-thai-nguyen", "tw-phu-tho", CUM_TDMNPB_7_TINH),
            year(2018, "tw-phu-tho", "tw-tuyen-quang", CUM_TDMNPB_7_TINH),
            year(2019, "tw-tuyen-quang", "tw-yen-bai", CUM_TDMNPB_7_TINH),
            year(2020, "tw-yen-bai", "tw-hoa-binh", CUM_TDMNPB_7_TINH),
            year(2021, "tw-hoa-binh", "tw-bac-giang", CUM_TDMNPB_7_TINH),
            year(2022, "tw-bac-giang", "tw-bac-kan", CUM_TDMNPB_7_TINH),
            year(2023, "tw-bac-kan", "tw-thai-nguyen", CUM_TDMNPB_7_TINH),
            year(2024, "tw-thai-nguyen", "tw-phu-tho", CUM_TDMNPB_7_TINH),
            year(2025, "tw-phu-tho", "tw-tuyen-quang", CUM_TDMNPB_2025),
            year(2026, "tw-tuyen-quang", "tw-lao-cai", CUM_TDMNPB_2025),
        ],
    },
    GroupDef {
        key: "tw-cum-mnbg",
        kind: "cluster",
        name: "Cụm thi đua các tỉnh miền núi, biên giới phía Bắc",
        authority: "tw",
        years: &[
            year(2023, "tw-son-la", "tw-lao-cai", CUM_MNBG_2023),
            year(2024, "tw-lao-cai", "tw-cao-bang", CUM_MNBG_2023),
            year(2025, "tw-cao-bang", "tw-lang-son", CUM_MNBG_2025),
            year(2026, "tw-lang-son", "tw-dien-bien", CUM_MNBG_2025),
        ],
    },
    GroupDef {
        key: "tw-khoi-bo-kt",
        kind: "block",
        name: "Khối thi đua các Bộ, ngành kinh tế",
        authority: "tw",
        years: &[
            // 2014 head as reported in seed 001; the deputy and later years are illustrative.
            year(2014, "bo-xay-dung", "bo-gtvt", KHOI_BO_KT_2014),
            year(2023, "bo-nn-ptnt", "bo-tn-mt", KHOI_BO_KT_2014),
            year(2024, "bo-tn-mt", "bo-cong-thuong", KHOI_BO_KT_2014),
            year(2025, "bo-cong-thuong", "bo-xay-dung", KHOI_BO_KT_2025),
            year(2026, "bo-xay-dung", "bo-nn-mt", KHOI_BO_KT_2025),
        ],
    },
];

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap, HashSet};

    const AUTHORITY_LEVELS: &[&str] = &["central", "ministry", "province"];
    const UNIT_KINDS: &[&str] =
        &["department", "commune", "province", "ministry", "party", "mass", "enterprise", "other"];
    const LINEAGE_KINDS: &[&str] = &["merged", "split", "renamed"];
    const GROUP_KINDS: &[&str] = &["cluster", "block"];

    fn units_by_key() -> HashMap<&'static str, &'static UnitDef> {
        UNITS.iter().map(|u| (u.key, u)).collect()
    }

    fn authority_keys() -> HashSet<&'static str> {
        AUTHORITIES.iter().map(|a| a.key).collect()
    }

    /// The rule: a unit is active in emulation year `year` when it exists on 1 July of that
    /// year, i.e. `active_from <= YYYY-07-01 <= active_to`, bounds inclusive, a missing bound
    /// being open. ISO dates compare correctly as strings.
    fn active_in_year(u: &UnitDef, year: i32) -> bool {
        let day = format!("{year:04}-07-01");
        active_on(u, &day)
    }

    fn active_on(u: &UnitDef, day: &str) -> bool {
        u.active_from.is_none_or(|from| from <= day) && u.active_to.is_none_or(|to| to >= day)
    }

    fn is_iso_date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
            && (1..=12).contains(&s[5..7].parse::<u32>().unwrap())
            && (1..=31).contains(&s[8..10].parse::<u32>().unwrap())
    }

    fn is_slug(s: &str) -> bool {
        !s.is_empty()
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--")
            && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    }

    /// Distinct member units of `authority`'s groups in `year`.
    fn members_in(authority: &str, year: i32) -> (usize, BTreeSet<&'static str>) {
        let mut groups = 0;
        let mut units = BTreeSet::new();
        for g in GROUPS.iter().filter(|g| g.authority == authority) {
            if let Some(gy) = g.years.iter().find(|gy| gy.year == year) {
                groups += 1;
                units.extend(gy.members.iter().copied());
            }
        }
        (groups, units)
    }

    #[test]
    fn keys_are_unique_ascii_slugs() {
        let mut seen = HashSet::new();
        for u in UNITS {
            assert!(is_slug(u.key), "unit key {:?} is not a slug", u.key);
            assert!(seen.insert(u.key), "duplicate unit key {}", u.key);
        }
        let mut seen = HashSet::new();
        for a in AUTHORITIES {
            assert!(is_slug(a.key), "authority key {:?} is not a slug", a.key);
            assert!(seen.insert(a.key), "duplicate authority key {}", a.key);
        }
        let mut seen = HashSet::new();
        for g in GROUPS {
            assert!(is_slug(g.key), "group key {:?} is not a slug", g.key);
            assert!(seen.insert(g.key), "duplicate group key {}", g.key);
        }
    }

    #[test]
    fn names_are_unique_and_non_empty() {
        let mut seen = HashSet::new();
        for u in UNITS {
            assert!(!u.name.trim().is_empty() && !u.short_name.trim().is_empty(), "{}", u.key);
            // Two provinces named "Tỉnh Cao Bằng" would be ambiguous; the province as a unit of
            // the Central council and as an authority share the name on purpose, units do not.
            assert!(seen.insert(u.name), "duplicate unit name {}", u.name);
        }
        let mut seen = HashSet::new();
        for g in GROUPS {
            assert!(seen.insert((g.authority, g.name)), "duplicate group name {}", g.name);
        }
    }

    #[test]
    fn enumerations_are_valid() {
        for a in AUTHORITIES {
            assert!(AUTHORITY_LEVELS.contains(&a.level), "{}: level {}", a.key, a.level);
        }
        for u in UNITS {
            assert!(UNIT_KINDS.contains(&u.kind), "{}: kind {}", u.key, u.kind);
        }
        for l in LINEAGE {
            assert!(LINEAGE_KINDS.contains(&l.kind), "{} -> {}: kind {}", l.predecessor, l.successor, l.kind);
        }
        for g in GROUPS {
            assert!(GROUP_KINDS.contains(&g.kind), "{}: kind {}", g.key, g.kind);
        }
    }

    #[test]
    fn dates_are_well_formed_and_ordered() {
        for u in UNITS {
            for d in [u.active_from, u.active_to].into_iter().flatten() {
                assert!(is_iso_date(d), "{}: bad date {}", u.key, d);
            }
            if let (Some(from), Some(to)) = (u.active_from, u.active_to) {
                assert!(from <= to, "{}: active_from after active_to", u.key);
            }
        }
        for l in LINEAGE {
            assert!(is_iso_date(l.effective_on), "{}: bad date {}", l.predecessor, l.effective_on);
            assert!(!l.note.trim().is_empty(), "{}: empty note", l.predecessor);
        }
    }

    #[test]
    fn every_referenced_key_exists() {
        let units = units_by_key();
        let authorities = authority_keys();
        for a in AUTHORITIES {
            if let Some(p) = a.parent {
                assert!(authorities.contains(p), "{}: unknown parent {}", a.key, p);
                assert_ne!(p, a.key, "{} is its own parent", a.key);
            }
        }
        for u in UNITS {
            assert!(authorities.contains(u.authority), "{}: unknown authority {}", u.key, u.authority);
        }
        for l in LINEAGE {
            assert!(units.contains_key(l.predecessor), "unknown predecessor {}", l.predecessor);
            assert!(units.contains_key(l.successor), "unknown successor {}", l.successor);
        }
        for g in GROUPS {
            assert!(authorities.contains(g.authority), "{}: unknown authority {}", g.key, g.authority);
            for gy in g.years {
                assert!(units.contains_key(gy.head), "{} {}: unknown head {}", g.key, gy.year, gy.head);
                if let Some(d) = gy.deputy {
                    assert!(units.contains_key(d), "{} {}: unknown deputy {}", g.key, gy.year, d);
                }
                for m in gy.members {
                    assert!(units.contains_key(m), "{} {}: unknown member {}", g.key, gy.year, m);
                }
            }
        }
    }

    #[test]
    fn group_years_are_well_formed() {
        for g in GROUPS {
            assert!(!g.years.is_empty(), "{}: no years", g.key);
            for pair in g.years.windows(2) {
                assert!(pair[0].year < pair[1].year, "{}: years not increasing", g.key);
            }
            for gy in g.years {
                let members: HashSet<_> = gy.members.iter().copied().collect();
                assert_eq!(members.len(), gy.members.len(), "{} {}: duplicate member", g.key, gy.year);
                assert!(members.len() >= 3, "{} {}: fewer than 3 members", g.key, gy.year);
                assert!(members.contains(gy.head), "{} {}: head not a member", g.key, gy.year);
                let deputy = gy.deputy.expect("every group-year of the demo has a deputy");
                assert!(members.contains(deputy), "{} {}: deputy not a member", g.key, gy.year);
                assert_ne!(gy.head, deputy, "{} {}: head is also deputy", g.key, gy.year);
            }
        }
    }

    #[test]
    fn members_belong_to_the_group_authority() {
        let units = units_by_key();
        for g in GROUPS {
            for gy in g.years {
                for m in gy.members {
                    assert_eq!(
                        units[m].authority, g.authority,
                        "{} {}: {} belongs to another authority",
                        g.key, gy.year, m
                    );
                }
            }
        }
    }

    #[test]
    fn no_unit_in_two_groups_of_one_authority_in_one_year() {
        let mut seen: HashMap<(&str, i32, &str), &str> = HashMap::new();
        for g in GROUPS {
            for gy in g.years {
                for m in gy.members {
                    if let Some(other) = seen.insert((g.authority, gy.year, m), g.key) {
                        panic!("{m} is in {other} and {} in {}", g.key, gy.year);
                    }
                }
            }
        }
    }

    #[test]
    fn members_are_active_on_1_july_of_their_year() {
        let units = units_by_key();
        for g in GROUPS {
            for gy in g.years {
                for m in gy.members {
                    assert!(active_in_year(units[m], gy.year), "{} {}: {} is not active on 1 July", g.key, gy.year, m);
                }
            }
        }
    }

    #[test]
    fn lineage_is_consistent() {
        let units = units_by_key();
        let mut seen = HashSet::new();
        for l in LINEAGE {
            assert_ne!(l.predecessor, l.successor);
            assert!(seen.insert((l.predecessor, l.successor)), "duplicate lineage {}", l.predecessor);
            let pred = units[l.predecessor];
            let succ = units[l.successor];
            let to = pred.active_to.unwrap_or_else(|| panic!("predecessor {} has no active_to", pred.key));
            assert!(to < l.effective_on, "{}: active_to {} not before {}", pred.key, to, l.effective_on);
            assert!(active_on(succ, l.effective_on), "{}: successor not active on {}", succ.key, l.effective_on);
            assert_eq!(pred.authority, succ.authority, "{}: lineage across authorities", pred.key);
            if l.kind == "renamed" {
                let n = LINEAGE.iter().filter(|o| o.predecessor == l.predecessor).count();
                assert_eq!(n, 1, "{}: renamed into several units", pred.key);
            }
        }
        // A unit that ends without a successor would vanish from history; in this data every
        // ended unit has one.
        for u in UNITS.iter().filter(|u| u.active_to.is_some()) {
            assert!(LINEAGE.iter().any(|l| l.predecessor == u.key), "{} ends without lineage", u.key);
        }
    }

    #[test]
    fn cao_bang_2026_has_17_groups_and_137_units() {
        let (groups, units) = members_in("cb", 2026);
        assert_eq!(groups, 17);
        assert_eq!(units.len(), 137);
        let by_key = units_by_key();
        let communes = units.iter().filter(|k| by_key[*k].kind == "commune").count();
        assert_eq!(communes, 56, "3 wards and 53 communes");
        let blocks = GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "block").count();
        let clusters = GROUPS.iter().filter(|g| g.authority == "cb" && g.kind == "cluster").count();
        assert_eq!((blocks, clusters), (6, 11));
        // Every Cao Bằng commune is in a 2026 cluster.
        let all_communes = UNITS.iter().filter(|u| u.authority == "cb" && u.kind == "commune").count();
        assert_eq!(all_communes, 56);
    }

    #[test]
    fn cao_bang_group_years() {
        for g in GROUPS.iter().filter(|g| g.authority == "cb") {
            let years: Vec<i32> = g.years.iter().map(|gy| gy.year).collect();
            match g.kind {
                "block" => assert_eq!(years, [2023, 2024, 2025, 2026], "{}", g.key),
                _ => assert_eq!(years, [2025, 2026], "{}", g.key),
            }
        }
        let (groups, _) = members_in("cb", 2024);
        assert_eq!(groups, 6, "before July 2025 only the blocks of provincial bodies are modelled");
    }

    #[test]
    fn seed_facts_hold() {
        let group = |key: &str| GROUPS.iter().find(|g| g.key == key).unwrap();
        let at = |g: &'static GroupDef, y: i32| g.years.iter().find(|gy| gy.year == y).unwrap();

        let cum = group("tw-cum-tdmnpb");
        let y2015 = at(cum, 2015);
        assert_eq!((y2015.head, y2015.deputy), ("tw-bac-giang", Some("tw-bac-kan")));
        assert_eq!(y2015.members.len(), 7);
        for y in [2016, 2023, 2024, 2025, 2026] {
            at(cum, y);
        }

        let khoi = group("tw-khoi-bo-kt");
        assert_eq!(at(khoi, 2014).head, "bo-xay-dung");
        assert_eq!(at(khoi, 2014).members.len(), 7);
        assert_eq!(at(khoi, 2026).head, "bo-xay-dung");

        // Tỉnh Cao Bằng, as a province, is a member of a central cluster.
        let (_, tw_2026) = members_in("tw", 2026);
        assert!(tw_2026.contains("tw-cao-bang"));
    }

    #[test]
    fn central_groups_after_july_2025_hold_only_post_merger_provinces() {
        let units = units_by_key();
        for y in [2025, 2026] {
            let (_, members) = members_in("tw", y);
            for m in members {
                let u = units[m];
                assert!(u.active_to.is_none(), "{y}: {m} no longer exists");
            }
        }
    }
}
