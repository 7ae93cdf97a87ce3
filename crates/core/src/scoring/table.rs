//! The scoring table: a tree of criteria with methods and maxima, bonus and
//! penalty lines, classification bands and tie-breaks; and its validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::points::{Points, SCORE_LIMIT};
use crate::error::Invalid;

/// The most lines (criteria at every depth) a table may have.
pub const MAX_LINES: usize = 2_000;
/// The most bonus lines, and the most penalty lines, a table may have.
pub const MAX_ADJUST_LINES: usize = 200;
/// The longest code of a line, in characters.
pub const MAX_CODE_CHARS: usize = 20;

/// A group-year's scoring table (bảng chấm điểm), stored as JSON and versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringTable {
    /// The sections (top-level lines), each a tree of criteria.
    pub lines: Vec<Line>,
    /// Bonus lines (điểm thưởng); a unit's values are occurrence counts.
    #[serde(default)]
    pub bonus: Vec<AdjustLine>,
    /// Penalty lines (điểm trừ); `per` is the positive number of points deducted.
    #[serde(default)]
    pub penalties: Vec<AdjustLine>,
    /// The most bonus a unit can get in total; `None`: only the per-line caps.
    #[serde(default)]
    pub bonus_cap: Option<Points>,
    /// The most a unit can lose to penalties in total; `None`: no total cap.
    #[serde(default)]
    pub penalty_cap: Option<Points>,
    /// Whether the bonus may lift a total above the nominal maximum (the sum
    /// of the sections). When false, the total is capped at the nominal maximum.
    #[serde(default)]
    pub may_exceed_nominal: bool,
    /// How a unit with not-applicable criteria is compared.
    pub not_applicable_rule: NotApplicableRule,
    /// Classification bands, best first; a unit gets the first it satisfies.
    #[serde(default)]
    pub bands: Vec<Band>,
    /// Tie-breaks applied in order to units with equal totals.
    #[serde(default)]
    pub tie_breaks: Vec<TieBreak>,
    /// The thresholds of the head review's flags, as the group agreed them
    /// with its table (a table stored before they were part of it has the
    /// usual ones).
    #[serde(default)]
    pub review_flags: FlagRules,
}

/// The most units the outlier flag may ask for before it compares a unit
/// with the group's median.
pub const MAX_OUTLIER_MIN_UNITS: usize = 100;

/// The thresholds of the head review's flags (cảnh báo khi tổng hợp), as
/// shares of a line's maximum. Flags only point the reviewers at a line;
/// they change no score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagRules {
    /// Self points above the inspection proposal by more than this % of the max.
    pub far_above_percent: u32,
    /// Self points above the group median by more than this % of the max.
    pub outlier_percent: u32,
    /// The fewest units with the line applying for the outlier flag.
    pub outlier_min_units: usize,
}

impl Default for FlagRules {
    fn default() -> Self {
        FlagRules { far_above_percent: 20, outlier_percent: 30, outlier_min_units: 3 }
    }
}

impl FlagRules {
    /// Checks the thresholds, each problem with a Vietnamese message saying what to write.
    pub fn check(&self) -> Result<(), Vec<Invalid>> {
        let mut errs = Vec::new();
        for (field, what, v) in [
            ("Cảnh báo so với kiểm tra chéo", "tự chấm cao hơn đề xuất của đoàn kiểm tra chéo", self.far_above_percent),
            ("Cảnh báo so với trung vị", "tự chấm cao hơn trung vị của cụm, khối", self.outlier_percent),
        ] {
            if !(1..=100).contains(&v) {
                errs.push(Invalid::new(
                    field,
                    format!(
                        "Ngưỡng cảnh báo \"{what}\" là {v}%: ghi một số nguyên từ 1 đến 100 (phần trăm điểm tối đa của tiêu chí)."
                    ),
                ));
            }
        }
        if !(2..=MAX_OUTLIER_MIN_UNITS).contains(&self.outlier_min_units) {
            errs.push(Invalid::new(
                "Số đơn vị tối thiểu",
                format!(
                    "Số đơn vị tối thiểu để so với trung vị là {}: ghi một số nguyên từ 2 đến {MAX_OUTLIER_MIN_UNITS}.",
                    self.outlier_min_units
                ),
            ));
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

/// How the total of a unit with not-applicable criteria is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicableRule {
    /// The content points are scaled to the nominal maximum:
    /// content × nominal max ÷ applicable max, rounded once; section floors of
    /// the bands are measured against the applicable part of each section.
    Scaled,
    /// Not-applicable criteria simply score 0 against the full maxima.
    Unscaled,
}

impl NotApplicableRule {
    pub fn label(self) -> &'static str {
        match self {
            NotApplicableRule::Scaled => "Quy đổi theo điểm tối đa của các tiêu chí áp dụng",
            NotApplicableRule::Unscaled => "Không quy đổi (tiêu chí không áp dụng tính 0 điểm)",
        }
    }
}

/// One line of the table: a section, a criterion or a sub-criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// "I", "I.1", "I.1.a": unique in the table (case ignored).
    pub code: String,
    pub name: String,
    /// Guidance for the officer who scores it: what counts, which evidence.
    #[serde(default)]
    pub guidance: String,
    /// The line's maximum, exactly attainable (see [`ScoringTable::validate`]).
    pub max: Points,
    #[serde(default)]
    pub evidence_required: bool,
    /// How a leaf is scored; `None` for a parent whose points are the sum of
    /// its children, capped at its maximum.
    #[serde(default)]
    pub method: Option<Method>,
    #[serde(default)]
    pub children: Vec<Line>,
}

/// How a leaf criterion is scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// A fixed ladder of levels, best first, the first worth the line's max
    /// (met / not met is two levels: max and 0).
    Qualitative { levels: Vec<Level> },
    /// Against a per-unit target with the group-leader formula; see
    /// [`crate::scoring`] for the formula. Units without a target: not applicable.
    Target,
    /// Points per occurrence up to a cap equal to the line's max.
    Count { per: Points, cap: Points },
    /// Any value from 0 to the max, with a reason.
    Manual,
}

impl Method {
    /// Met (the line's max) or not met (0).
    pub fn met_or_not(max: Points) -> Method {
        Method::Qualitative { levels: vec![Level::new("Đạt", max), Level::new("Không đạt", Points::ZERO)] }
    }

    /// The Vietnamese name of the method.
    pub fn label(&self) -> &'static str {
        match self {
            Method::Qualitative { .. } => "chấm theo mức (đạt / không đạt)",
            Method::Target => "so với chỉ tiêu được giao",
            Method::Count { .. } => "tính theo số lần",
            Method::Manual => "chấm điểm trực tiếp (có lý do)",
        }
    }
}

/// One level of a qualitative criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub label: String,
    pub points: Points,
}

impl Level {
    pub fn new(label: impl Into<String>, points: Points) -> Self {
        Level { label: label.into(), points }
    }
}

/// A bonus or a penalty line: `per` points per occurrence, up to `cap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustLine {
    pub code: String,
    pub name: String,
    /// Points per occurrence, positive (a penalty's points are deducted).
    pub per: Points,
    #[serde(default)]
    pub cap: Option<Points>,
    /// Only the secretariat scores this line (e.g. no covenant signed).
    #[serde(default)]
    pub secretariat_only: bool,
}

/// A classification band: the total needed, and the share of its own
/// maximum every section needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    pub code: String,
    /// "Xuất sắc", "Tốt", "Hoàn thành", "Không hoàn thành".
    pub label: String,
    pub min_total: Points,
    /// Every section needs at least this percentage of its maximum.
    #[serde(default)]
    pub min_section_share_pct: Option<u32>,
}

/// A rule that orders units with equal totals. Ties that remain after all of
/// them share a rank (competition ranking: 1, 2, 2, 4). There is deliberately
/// no tie-break by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum TieBreak {
    /// More bonus points (after caps) first.
    MoreBonus,
    /// Fewer penalty points (after caps) first.
    FewerPenalties,
    /// More points in the named line (usually a section) first.
    MoreInSection(String),
}

impl TieBreak {
    pub fn label(&self) -> String {
        match self {
            TieBreak::MoreBonus => "nhiều điểm thưởng hơn".to_string(),
            TieBreak::FewerPenalties => "ít điểm trừ hơn".to_string(),
            TieBreak::MoreInSection(c) => format!("nhiều điểm hơn ở {c}"),
        }
    }
}

impl Line {
    /// A leaf criterion.
    pub fn leaf(code: &str, name: &str, max: Points, method: Method) -> Line {
        Line {
            code: code.to_string(),
            name: name.to_string(),
            guidance: String::new(),
            max,
            evidence_required: false,
            method: Some(method),
            children: Vec::new(),
        }
    }

    /// A section or parent criterion: its points are the sum of its children.
    pub fn parent(code: &str, name: &str, max: Points, children: Vec<Line>) -> Line {
        Line {
            code: code.to_string(),
            name: name.to_string(),
            guidance: String::new(),
            max,
            evidence_required: false,
            method: None,
            children,
        }
    }

    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// This line and all below it, parents before children.
    pub fn walk(&self) -> Vec<&Line> {
        let mut out = vec![];
        self.walk_into(&mut out);
        out
    }

    fn walk_into<'a>(&'a self, out: &mut Vec<&'a Line>) {
        out.push(self);
        for c in &self.children {
            c.walk_into(out);
        }
    }
}

impl AdjustLine {
    pub fn new(code: &str, name: &str, per: Points, cap: Option<Points>) -> AdjustLine {
        AdjustLine { code: code.to_string(), name: name.to_string(), per, cap, secretariat_only: false }
    }
}

impl ScoringTable {
    /// Every line, parents before children, sections in order.
    pub fn walk(&self) -> Vec<&Line> {
        let mut out = Vec::new();
        for l in &self.lines {
            l.walk_into(&mut out);
        }
        out
    }

    /// The line with this code (exact).
    pub fn find(&self, code: &str) -> Option<&Line> {
        fn within<'a>(lines: &'a [Line], code: &str) -> Option<&'a Line> {
            lines.iter().find_map(|l| if l.code == code { Some(l) } else { within(&l.children, code) })
        }
        within(&self.lines, code)
    }

    pub fn find_bonus(&self, code: &str) -> Option<&AdjustLine> {
        self.bonus.iter().find(|l| l.code == code)
    }

    /// The penalty line for not signing the covenant: a line only the
    /// secretariat scores whose name mentions "giao ước" (the table, not the
    /// code, says how many points it costs).
    pub fn covenant_penalty(&self) -> Option<&AdjustLine> {
        self.penalties.iter().find(|l| l.secretariat_only && crate::text::fold(&l.name).contains("giao uoc"))
    }

    pub fn find_penalty(&self, code: &str) -> Option<&AdjustLine> {
        self.penalties.iter().find(|l| l.code == code)
    }

    /// The nominal maximum: the sum of the sections' maxima (the content,
    /// 950 in the sample table). Bonus comes on top of it only when
    /// `may_exceed_nominal` is set; see [`ScoringTable::max_total`].
    pub fn nominal_max(&self) -> Points {
        self.lines.iter().map(|l| l.max).sum()
    }

    /// Each section's code and maximum, in order.
    pub fn section_maxima(&self) -> Vec<(String, Points)> {
        self.lines.iter().map(|l| (l.code.clone(), l.max)).collect()
    }

    /// The most bonus a unit can get: the total cap, or the sum of the line
    /// caps if smaller; `None` if unbounded (no total cap and a line without cap).
    pub fn max_bonus(&self) -> Option<Points> {
        let lines: Option<Points> = self.bonus.iter().map(|l| l.cap).sum();
        match (self.bonus_cap, lines) {
            (Some(c), Some(l)) => Some(c.min(l)),
            (Some(c), None) => Some(c),
            (None, l) => l,
        }
    }

    /// The highest total a unit can reach: the nominal maximum, plus the
    /// most bonus when the table lets the total exceed the nominal maximum
    /// (1.000 = 950 + 50 in the sample table). `None` if unbounded.
    pub fn max_total(&self) -> Option<Points> {
        if self.may_exceed_nominal {
            self.max_bonus().map(|b| self.nominal_max() + b)
        } else {
            Some(self.nominal_max())
        }
    }

    /// Checks the whole table and reports every problem, each with a
    /// Vietnamese message naming the line and saying what to fix.
    ///
    /// Besides the obvious (codes and names present, codes unique across
    /// lines, bonus and penalties, positive maxima, caps not below the points
    /// per occurrence, bands best first, tie-breaks naming known lines), every
    /// maximum must be **exactly attainable**: a parent's children add up to
    /// exactly its maximum (more would be cut silently, less could never be
    /// reached), a qualitative ladder's first level is worth the maximum, and
    /// a count's cap equals the maximum. So "I reaches 100%" means what it says
    /// and the section floors of the bands are fair.
    pub fn validate(&self) -> Result<(), Vec<Invalid>> {
        let mut errs = Vec::new();
        if self.lines.is_empty() {
            errs.push(Invalid::new(
                "Bảng chấm điểm",
                "Bảng chấm điểm chưa có phần nào: thêm ít nhất một phần có tiêu chí.",
            ));
        }
        let all = self.walk();
        if all.len() > MAX_LINES {
            errs.push(Invalid::new(
                "Bảng chấm điểm",
                format!("Bảng có {} dòng, quá {MAX_LINES} dòng cho phép: gộp bớt tiêu chí.", all.len()),
            ));
        }
        for (i, l) in self.lines.iter().enumerate() {
            check_line(l, &format!("phần thứ {}", i + 1), &mut errs);
        }
        self.check_codes(&mut errs);
        check_adjust("Điểm thưởng", "điểm thưởng", &self.bonus, &mut errs);
        check_adjust("Điểm trừ", "điểm trừ", &self.penalties, &mut errs);
        for (field, cap) in [("Điểm thưởng", self.bonus_cap), ("Điểm trừ", self.penalty_cap)] {
            if let Some(c) = cap {
                if !c.is_positive() {
                    errs.push(Invalid::new(
                        field,
                        format!(
                            "Mức tối đa của tổng {} là {c}: ghi số lớn hơn 0, hoặc để trống nếu không giới hạn.",
                            field.to_lowercase()
                        ),
                    ));
                } else if c > SCORE_LIMIT {
                    errs.push(Invalid::new(
                        field,
                        format!("Mức tối đa của tổng {} quá lớn (tối đa {SCORE_LIMIT}).", field.to_lowercase()),
                    ));
                }
            }
        }
        if let Err(e) = self.review_flags.check() {
            errs.extend(e);
        }
        if self.nominal_max() > SCORE_LIMIT {
            errs.push(Invalid::new(
                "Bảng chấm điểm",
                format!("Tổng điểm tối đa các phần là {}, quá lớn (tối đa {SCORE_LIMIT}).", self.nominal_max()),
            ));
        }
        self.check_bands(&mut errs);
        self.check_tie_breaks(&mut errs);
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    fn check_codes(&self, errs: &mut Vec<Invalid>) {
        let mut seen: BTreeMap<String, (usize, &str)> = BTreeMap::new();
        let codes = self
            .walk()
            .into_iter()
            .map(|l| l.code.as_str())
            .chain(self.bonus.iter().map(|l| l.code.as_str()))
            .chain(self.penalties.iter().map(|l| l.code.as_str()));
        for c in codes {
            if c.trim().is_empty() {
                continue; // reported where the line is checked
            }
            seen.entry(c.to_lowercase()).or_insert((0, c)).0 += 1;
        }
        for (n, c) in seen.values() {
            if *n > 1 {
                errs.push(Invalid::new(
                    *c,
                    format!("Mã {c} được dùng cho {n} dòng: mỗi tiêu chí, dòng thưởng, dòng trừ cần một mã riêng (không phân biệt chữ hoa, chữ thường)."),
                ));
            }
        }
    }

    fn check_bands(&self, errs: &mut Vec<Invalid>) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, b) in self.bands.iter().enumerate() {
            let at = format!("mức xếp loại thứ {}", i + 1);
            let field = if b.label.trim().is_empty() { at.clone() } else { format!("Xếp loại {}", b.label) };
            if b.code.trim().is_empty() {
                errs.push(Invalid::new(
                    &field,
                    format!("{} chưa có mã: ghi một mã ngắn, ví dụ xuat_sac.", cap_first(&at)),
                ));
            } else {
                *seen.entry(b.code.trim().to_lowercase()).or_default() += 1;
            }
            if b.label.trim().is_empty() {
                errs.push(Invalid::new(&field, format!("{} chưa có tên: ghi ví dụ \"Xuất sắc\".", cap_first(&at))));
            }
            if b.min_total.is_negative() {
                errs.push(Invalid::new(
                    &field,
                    format!("Mức {} đòi tổng tối thiểu {}: ghi số không âm.", b.label, b.min_total),
                ));
            }
            if let Some(p) = b.min_section_share_pct
                && p > 100
            {
                errs.push(Invalid::new(
                    &field,
                    format!("Mức {} đòi mỗi phần đạt {p}% điểm tối đa: ghi tỷ lệ từ 0 đến 100.", b.label),
                ));
            }
            for prev in &self.bands[..i] {
                let share = |b: &Band| b.min_section_share_pct.unwrap_or(0);
                if prev.min_total <= b.min_total && share(prev) <= share(b) {
                    errs.push(Invalid::new(
                        &field,
                        format!(
                            "Mức {} (tổng ≥ {}, mỗi phần ≥ {}%) không bao giờ được xếp vì mức {} đứng trước chỉ đòi tổng ≥ {}, mỗi phần ≥ {}%: sắp các mức từ cao xuống thấp, mức sau phải thấp hơn mức trước.",
                            b.label,
                            b.min_total,
                            share(b),
                            prev.label,
                            prev.min_total,
                            share(prev)
                        ),
                    ));
                    break;
                }
            }
        }
        for (c, n) in seen {
            if n > 1 {
                errs.push(Invalid::new(
                    "Xếp loại",
                    format!("Mã xếp loại {c} được dùng {n} lần: mỗi mức cần một mã riêng."),
                ));
            }
        }
    }

    fn check_tie_breaks(&self, errs: &mut Vec<Invalid>) {
        for (i, t) in self.tie_breaks.iter().enumerate() {
            if self.tie_breaks[..i].contains(t) {
                errs.push(Invalid::new(
                    "Tiêu chí phụ xếp hạng",
                    format!("Tiêu chí phụ \"{}\" được ghi hai lần: bỏ lần sau.", t.label()),
                ));
            }
            if let TieBreak::MoreInSection(c) = t
                && self.find(c).is_none()
            {
                errs.push(Invalid::new(
                    "Tiêu chí phụ xếp hạng",
                    format!("Tiêu chí phụ thứ {} so điểm ở \"{c}\" nhưng bảng không có phần hay tiêu chí mã {c}: chọn một mã có trong bảng.", i + 1),
                ));
            }
        }
    }
}

fn cap_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Checks the code of a line or an adjust line; `at` says where it is when it has none.
fn check_code(code: &str, at: &str, errs: &mut Vec<Invalid>) -> String {
    if code.trim().is_empty() {
        errs.push(Invalid::new(at, format!("{} chưa có mã: ghi mã như I, I.1, I.1.a.", cap_first(at))));
        return at.to_string();
    }
    if code.trim() != code || code.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errs.push(Invalid::new(
            code,
            format!("Mã \"{code}\" có khoảng trắng hoặc ký tự điều khiển: ghi liền, ví dụ I.1.a."),
        ));
    }
    if code.chars().count() > MAX_CODE_CHARS {
        errs.push(Invalid::new(code, format!("Mã \"{code}\" dài quá {MAX_CODE_CHARS} ký tự: ghi mã ngắn như I.1.a.")));
    }
    code.to_string()
}

fn check_line(l: &Line, at: &str, errs: &mut Vec<Invalid>) {
    let code = check_code(&l.code, at, errs);
    let c = code.as_str();
    if l.name.trim().is_empty() {
        errs.push(Invalid::new(c, format!("Tiêu chí {c} chưa có tên: ghi nội dung tiêu chí.")));
    }
    if !l.max.is_positive() {
        errs.push(Invalid::new(c, format!("Điểm tối đa của {c} là {}: ghi số lớn hơn 0.", l.max)));
    } else if l.max > SCORE_LIMIT {
        errs.push(Invalid::new(c, format!("Điểm tối đa của {c} là {}, quá lớn (tối đa {SCORE_LIMIT}).", l.max)));
    }
    match (&l.method, l.children.is_empty()) {
        (None, true) => errs.push(Invalid::new(
            c,
            format!("Tiêu chí {c} chưa có cách chấm: chọn cách chấm (theo mức, so với chỉ tiêu, theo số lần, chấm trực tiếp) hoặc thêm tiêu chí con."),
        )),
        (Some(m), false) => errs.push(Invalid::new(
            c,
            format!(
                "Tiêu chí {c} có tiêu chí con nên điểm của nó là tổng điểm các tiêu chí con: bỏ cách chấm \"{}\" của {c} hoặc chuyển cách chấm đó xuống một tiêu chí con.",
                m.label()
            ),
        )),
        (Some(m), true) => check_method(c, l.max, m, errs),
        (None, false) => {
            let sum: Points = l.children.iter().map(|ch| ch.max).sum();
            let parts = l.children.iter().map(|ch| format!("{} {}", ch.code, ch.max)).collect::<Vec<_>>().join(", ");
            if sum > l.max {
                errs.push(Invalid::new(
                    c,
                    format!(
                        "Các tiêu chí con của {c} ({parts}) cộng lại {sum} điểm, vượt điểm tối đa {} của {c} {} điểm: giảm điểm tối đa các tiêu chí con hoặc tăng điểm tối đa của {c}.",
                        l.max,
                        sum - l.max
                    ),
                ));
            } else if sum < l.max {
                errs.push(Invalid::new(
                    c,
                    format!(
                        "Các tiêu chí con của {c} ({parts}) chỉ cộng lại {sum} điểm, thiếu {} so với điểm tối đa {} của {c}, nên {c} không bao giờ đạt điểm tối đa: tăng điểm các tiêu chí con hoặc giảm điểm tối đa của {c}.",
                        l.max - sum,
                        l.max
                    ),
                ));
            }
        }
    }
    for (i, ch) in l.children.iter().enumerate() {
        check_line(ch, &format!("tiêu chí con thứ {} của {c}", i + 1), errs);
    }
}

fn check_method(c: &str, max: Points, m: &Method, errs: &mut Vec<Invalid>) {
    match m {
        Method::Qualitative { levels } => {
            if levels.len() < 2 {
                errs.push(Invalid::new(
                    c,
                    format!("Tiêu chí {c} chấm theo mức cần ít nhất 2 mức (ví dụ Đạt {max}, Không đạt 0): thêm mức."),
                ));
            }
            let mut labels: BTreeMap<String, usize> = BTreeMap::new();
            for (i, lv) in levels.iter().enumerate() {
                if lv.label.trim().is_empty() {
                    errs.push(Invalid::new(c, format!("Mức thứ {} của {c} chưa có tên: ghi ví dụ \"Đạt\".", i + 1)));
                } else {
                    *labels.entry(crate::text::fold(&lv.label)).or_default() += 1;
                }
                if lv.points.is_negative() {
                    errs.push(Invalid::new(
                        c,
                        format!("Mức \"{}\" của {c} là {} điểm: ghi số không âm.", lv.label, lv.points),
                    ));
                }
                if lv.points > max {
                    errs.push(Invalid::new(
                        c,
                        format!(
                            "Mức \"{}\" của {c} là {} điểm, vượt điểm tối đa {max} của {c} {} điểm: giảm điểm của mức hoặc tăng điểm tối đa.",
                            lv.label,
                            lv.points,
                            lv.points - max
                        ),
                    ));
                }
                if i > 0 && levels[i - 1].points <= lv.points {
                    errs.push(Invalid::new(
                        c,
                        format!(
                            "Các mức của {c} phải xếp từ cao xuống thấp, mỗi mức ít điểm hơn mức trước: mức \"{}\" ({}) đứng sau mức \"{}\" ({}).",
                            lv.label,
                            lv.points,
                            levels[i - 1].label,
                            levels[i - 1].points
                        ),
                    ));
                }
            }
            if let Some(first) = levels.first()
                && first.points < max
            {
                errs.push(Invalid::new(
                    c,
                    format!(
                        "Mức cao nhất của {c} (\"{}\", {} điểm) thấp hơn điểm tối đa {max}, nên {c} không bao giờ đạt điểm tối đa: cho mức cao nhất {max} điểm hoặc giảm điểm tối đa.",
                        first.label, first.points
                    ),
                ));
            }
            for (label, n) in labels {
                if n > 1 {
                    errs.push(Invalid::new(
                        c,
                        format!("Tên mức \"{label}\" của {c} bị trùng: đặt tên khác cho từng mức."),
                    ));
                }
            }
        }
        Method::Count { per, cap } => {
            if !per.is_positive() {
                errs.push(Invalid::new(c, format!("Điểm mỗi lần của {c} là {per}: ghi số lớn hơn 0.")));
            } else if cap < per {
                errs.push(Invalid::new(
                    c,
                    format!("Mức trần {cap} của {c} thấp hơn điểm mỗi lần {per}: tăng mức trần (thường bằng điểm tối đa {max})."),
                ));
            }
            if *cap != max && cap >= per {
                errs.push(Invalid::new(
                    c,
                    format!("Mức trần {cap} của {c} phải bằng điểm tối đa {max} của tiêu chí: sửa mức trần hoặc điểm tối đa cho bằng nhau."),
                ));
            }
        }
        Method::Target | Method::Manual => {}
    }
}

fn check_adjust(field: &str, what: &str, lines: &[AdjustLine], errs: &mut Vec<Invalid>) {
    if lines.len() > MAX_ADJUST_LINES {
        errs.push(Invalid::new(
            field,
            format!("Có {} dòng {what}, quá {MAX_ADJUST_LINES} dòng cho phép.", lines.len()),
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        let code = check_code(&l.code, &format!("dòng {what} thứ {}", i + 1), errs);
        let c = code.as_str();
        if l.name.trim().is_empty() {
            errs.push(Invalid::new(c, format!("Dòng {what} {c} chưa có tên: ghi nội dung.")));
        }
        if !l.per.is_positive() {
            errs.push(Invalid::new(
                c,
                format!(
                    "Điểm mỗi lần của dòng {what} {c} là {}: ghi số dương (điểm trừ ghi số dương, phần mềm tự trừ).",
                    l.per
                ),
            ));
        } else if l.per > SCORE_LIMIT {
            errs.push(Invalid::new(c, format!("Điểm mỗi lần của dòng {what} {c} quá lớn (tối đa {SCORE_LIMIT}).")));
        }
        if let Some(cap) = l.cap {
            if cap < l.per {
                errs.push(Invalid::new(
                    c,
                    format!("Mức tối đa {cap} của dòng {what} {c} thấp hơn điểm mỗi lần {}: tăng mức tối đa hoặc để trống nếu không giới hạn.", l.per),
                ));
            } else if cap > SCORE_LIMIT {
                errs.push(Invalid::new(c, format!("Mức tối đa của dòng {what} {c} quá lớn (tối đa {SCORE_LIMIT}).")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample_table;
    use super::*;

    fn w(n: i64) -> Points {
        Points::whole(n)
    }

    /// The messages of an invalid table, "field|message".
    fn errors(t: &ScoringTable) -> Vec<String> {
        t.validate().err().unwrap_or_default().into_iter().map(|e| format!("{}|{}", e.field, e.message)).collect()
    }

    fn refused(t: &ScoringTable, needle: &str) {
        let e = errors(t);
        assert!(e.iter().any(|m| m.contains(needle)), "expected {needle:?} in {e:#?}");
    }

    fn line_mut<'a>(t: &'a mut ScoringTable, code: &str) -> &'a mut Line {
        fn find<'a>(ls: &'a mut [Line], code: &str) -> Option<&'a mut Line> {
            for l in ls {
                if l.code == code {
                    return Some(l);
                }
                if let Some(f) = find(&mut l.children, code) {
                    return Some(f);
                }
            }
            None
        }
        find(&mut t.lines, code).unwrap()
    }

    #[test]
    fn children_exceeding_or_short_of_the_parent() {
        let mut t = sample_table();
        line_mut(&mut t, "I.3").max = w(150);
        refused(
            &t,
            "I|Các tiêu chí con của I (I.1 300, I.2 100, I.3 150) cộng lại 550 điểm, vượt điểm tối đa 500 của I 50 điểm",
        );
        let mut t = sample_table();
        line_mut(&mut t, "I").max = w(550);
        refused(&t, "chỉ cộng lại 500 điểm, thiếu 50 so với điểm tối đa 550 của I");
    }

    #[test]
    fn maxima_must_be_positive() {
        let mut t = sample_table();
        line_mut(&mut t, "I.2").max = w(-100);
        refused(&t, "I.2|Điểm tối đa của I.2 là -100: ghi số lớn hơn 0.");
        let mut t = sample_table();
        line_mut(&mut t, "I.2").max = w(0);
        refused(&t, "Điểm tối đa của I.2 là 0");
        let mut t = sample_table();
        line_mut(&mut t, "I.2").max = Points::from_hundredths(SCORE_LIMIT.hundredths() + 1);
        refused(&t, "quá lớn");
    }

    #[test]
    fn count_caps() {
        let mut t = sample_table();
        line_mut(&mut t, "II.3").method = Some(Method::Count { per: w(10), cap: w(5) });
        refused(&t, "II.3|Mức trần 5 của II.3 thấp hơn điểm mỗi lần 10");
        let mut t = sample_table();
        line_mut(&mut t, "II.3").method = Some(Method::Count { per: w(10), cap: w(40) });
        refused(&t, "Mức trần 40 của II.3 phải bằng điểm tối đa 50");
        let mut t = sample_table();
        line_mut(&mut t, "II.3").method = Some(Method::Count { per: w(0), cap: w(50) });
        refused(&t, "Điểm mỗi lần của II.3 là 0");
    }

    #[test]
    fn adjust_lines() {
        let mut t = sample_table();
        t.bonus[1].cap = Some(w(5));
        refused(&t, "TH.2|Mức tối đa 5 của dòng điểm thưởng TH.2 thấp hơn điểm mỗi lần 10");
        let mut t = sample_table();
        t.penalties[1].per = w(-5);
        refused(&t, "TR.2|Điểm mỗi lần của dòng điểm trừ TR.2 là -5: ghi số dương");
        let mut t = sample_table();
        t.bonus_cap = Some(w(0));
        refused(&t, "Mức tối đa của tổng điểm thưởng là 0");
        let mut t = sample_table();
        t.penalties[0].name = " ".into();
        refused(&t, "Dòng điểm trừ TR.1 chưa có tên");
        let mut t = sample_table();
        t.bonus[0].code = String::new();
        refused(&t, "Dòng điểm thưởng thứ 1 chưa có mã");
    }

    #[test]
    fn duplicate_empty_and_malformed_codes() {
        let mut t = sample_table();
        line_mut(&mut t, "II.2").code = "ii.1".into();
        refused(&t, "Mã II.1 được dùng cho 2 dòng");
        let mut t = sample_table();
        t.penalties[4].code = "TH.1".into();
        refused(&t, "Mã TH.1 được dùng cho 2 dòng");
        let mut t = sample_table();
        line_mut(&mut t, "III.2").code = String::new();
        refused(&t, "Tiêu chí con thứ 2 của III chưa có mã");
        let mut t = sample_table();
        line_mut(&mut t, "III.2").code = "III 2".into();
        refused(&t, "Mã \"III 2\" có khoảng trắng");
        let mut t = sample_table();
        line_mut(&mut t, "III.2").name = "".into();
        refused(&t, "III.2|Tiêu chí III.2 chưa có tên");
        let mut t = sample_table();
        t.lines[3].code = "".into();
        refused(&t, "Phần thứ 4 chưa có mã");
    }

    #[test]
    fn qualitative_levels() {
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method =
            Some(Method::Qualitative { levels: vec![Level::new("Đạt", w(45)), Level::new("Không đạt", w(0))] });
        refused(&t, "II.1|Mức \"Đạt\" của II.1 là 45 điểm, vượt điểm tối đa 40 của II.1 5 điểm");
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method =
            Some(Method::Qualitative { levels: vec![Level::new("Không đạt", w(0)), Level::new("Đạt", w(40))] });
        refused(&t, "phải xếp từ cao xuống thấp");
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method =
            Some(Method::Qualitative { levels: vec![Level::new("Đạt", w(30)), Level::new("Không đạt", w(0))] });
        refused(&t, "Mức cao nhất của II.1 (\"Đạt\", 30 điểm) thấp hơn điểm tối đa 40");
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method = Some(Method::Qualitative { levels: vec![Level::new("Đạt", w(40))] });
        refused(&t, "cần ít nhất 2 mức");
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method = Some(Method::Qualitative {
            levels: vec![Level::new("Đạt", w(40)), Level::new("đạt", w(10)), Level::new("", w(0))],
        });
        refused(&t, "Tên mức \"dat\" của II.1 bị trùng");
        refused(&t, "Mức thứ 3 của II.1 chưa có tên");
        let mut t = sample_table();
        line_mut(&mut t, "II.1").method =
            Some(Method::Qualitative { levels: vec![Level::new("Đạt", w(40)), Level::new("Trừ", w(-5))] });
        refused(&t, "Mức \"Trừ\" của II.1 là -5 điểm: ghi số không âm");
    }

    #[test]
    fn methods_only_on_leaves() {
        let mut t = sample_table();
        line_mut(&mut t, "I").method = Some(Method::Target);
        refused(
            &t,
            "I|Tiêu chí I có tiêu chí con nên điểm của nó là tổng điểm các tiêu chí con: bỏ cách chấm \"so với chỉ tiêu được giao\"",
        );
        let mut t = sample_table();
        line_mut(&mut t, "I.1").method = None;
        refused(&t, "Tiêu chí I.1 chưa có cách chấm");
        let mut t = sample_table();
        line_mut(&mut t, "I.1").children.push(Line::leaf("I.1.a", "Chỉ tiêu a", w(300), Method::Manual));
        refused(&t, "Tiêu chí I.1 có tiêu chí con");
        // a target criterion as a leaf, deeper in the tree, is fine
        let mut t = sample_table();
        let i1 = line_mut(&mut t, "I.1");
        i1.method = None;
        i1.children = vec![
            Line::leaf("I.1.a", "Chỉ tiêu a", w(200), Method::Target),
            Line::leaf("I.1.b", "Chỉ tiêu b", w(100), Method::Target),
        ];
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn bands_in_descending_order() {
        let mut t = sample_table();
        t.bands.swap(0, 1);
        refused(
            &t,
            "Xếp loại Xuất sắc|Mức Xuất sắc (tổng ≥ 900, mỗi phần ≥ 85%) không bao giờ được xếp vì mức Tốt đứng trước",
        );
        let mut t = sample_table();
        t.bands[1].min_section_share_pct = Some(120);
        refused(&t, "ghi tỷ lệ từ 0 đến 100");
        let mut t = sample_table();
        t.bands[2].code = "tot".into();
        refused(&t, "Mã xếp loại tot được dùng 2 lần");
        let mut t = sample_table();
        t.bands[3].label = "".into();
        refused(&t, "Mức xếp loại thứ 4 chưa có tên");
        let mut t = sample_table();
        t.bands[3].min_total = w(-1);
        refused(&t, "ghi số không âm");
        // a lower total with a higher floor is a different, reachable band
        let mut t = sample_table();
        t.bands[1].min_section_share_pct = Some(90);
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn tie_breaks() {
        let mut t = sample_table();
        t.tie_breaks.push(TieBreak::MoreInSection("V".into()));
        refused(&t, "Tiêu chí phụ thứ 4 so điểm ở \"V\" nhưng bảng không có phần hay tiêu chí mã V");
        let mut t = sample_table();
        t.tie_breaks.push(TieBreak::MoreBonus);
        refused(&t, "Tiêu chí phụ \"nhiều điểm thưởng hơn\" được ghi hai lần");
    }

    #[test]
    fn empty_table_and_every_error_at_once() {
        let t = ScoringTable {
            lines: vec![],
            bonus: vec![],
            penalties: vec![],
            bonus_cap: None,
            penalty_cap: None,
            may_exceed_nominal: false,
            not_applicable_rule: NotApplicableRule::Scaled,
            bands: vec![],
            tie_breaks: vec![],
            review_flags: FlagRules::default(),
        };
        refused(&t, "chưa có phần nào");
        let mut t = sample_table();
        t.review_flags.outlier_min_units = 0;
        refused(&t, "Số đơn vị tối thiểu để so với trung vị là 0: ghi một số nguyên từ 2 đến 100.");
        let mut t = sample_table();
        line_mut(&mut t, "I.3").max = w(150);
        t.bonus[1].cap = Some(w(5));
        t.tie_breaks.push(TieBreak::MoreInSection("V".into()));
        assert_eq!(errors(&t).len(), 3, "{:#?}", errors(&t));
    }

    #[test]
    fn maxima_and_serialisation() {
        let mut t = sample_table();
        t.may_exceed_nominal = false;
        assert_eq!(t.max_total(), Some(w(950)));
        t.may_exceed_nominal = true;
        t.bonus_cap = None;
        // TH.1 has no line cap: the bonus is unbounded
        assert_eq!(t.max_bonus(), None);
        assert_eq!(t.max_total(), None);
        t.bonus[0].cap = Some(w(10));
        assert_eq!(t.max_bonus(), Some(w(50)));
        let tb = serde_json::to_string(&vec![TieBreak::MoreBonus, TieBreak::MoreInSection("I".into())]).unwrap();
        assert_eq!(tb, r#"[{"kind":"more_bonus"},{"kind":"more_in_section","code":"I"}]"#);
        let m = serde_json::to_string(&Method::Count { per: w(10), cap: w(50) }).unwrap();
        assert_eq!(m, r#"{"kind":"count","per":1000,"cap":5000}"#);
    }
}
