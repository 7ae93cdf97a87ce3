//! Editing a draft scoring table one step at a time, as an officer does in
//! the editor: change a line, add a line, delete, move up or down, indent
//! under the line above, outdent. Each step keeps the tree well formed; the
//! table as a whole is checked by [`ScoringTable::validate`] (a draft may be
//! incomplete, an adopted table may not).

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::scoring::{AdjustLine, Band, FlagRules, Line, Method, NotApplicableRule, Points, ScoringTable, TieBreak};

/// One step of the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Changes a line's fields (its children stay). `method: None` makes it a
    /// section or group whose points are the sum of its children.
    SetLine {
        code: String,
        new_code: String,
        name: String,
        guidance: String,
        max: Points,
        evidence_required: bool,
        method: Option<Method>,
    },
    /// Adds a line at the end of `parent`'s children (or as a new section).
    AddLine {
        parent: Option<String>,
        code: String,
        name: String,
        max: Points,
        method: Option<Method>,
    },
    /// Deletes a line and everything below it.
    Delete {
        code: String,
    },
    MoveUp {
        code: String,
    },
    MoveDown {
        code: String,
    },
    /// Makes the line the last child of the line above it.
    Indent {
        code: String,
    },
    /// Makes the line the next sibling of its parent.
    Outdent {
        code: String,
    },
    /// Replaces the bonus lines, the penalty lines and the caps.
    SetAdjustments {
        bonus: Vec<AdjustLine>,
        penalties: Vec<AdjustLine>,
        bonus_cap: Option<Points>,
        penalty_cap: Option<Points>,
        may_exceed_nominal: bool,
    },
    /// Replaces the classification bands, tie-breaks and the not-applicable rule.
    SetRules {
        bands: Vec<Band>,
        tie_breaks: Vec<TieBreak>,
        not_applicable_rule: NotApplicableRule,
    },
    /// Replaces the thresholds of the head review's flags.
    SetFlags {
        far_above_percent: u32,
        outlier_percent: u32,
        outlier_min_units: usize,
    },
}

fn missing(code: &str) -> Invalid {
    Invalid::new("Mã", format!("Không có dòng mã \"{code}\" trong bảng điểm."))
}

/// The list that holds a line, and the line's index in it.
fn locate<'a>(lines: &'a mut Vec<Line>, code: &str) -> Option<(&'a mut Vec<Line>, usize)> {
    if let Some(i) = lines.iter().position(|l| l.code == code) {
        return Some((lines, i));
    }
    for l in lines.iter_mut() {
        if let Some(found) = locate(&mut l.children, code) {
            return Some(found);
        }
    }
    None
}

fn find_mut<'a>(lines: &'a mut [Line], code: &str) -> Option<&'a mut Line> {
    for l in lines.iter_mut() {
        if l.code == code {
            return Some(l);
        }
        if let Some(found) = find_mut(&mut l.children, code) {
            return Some(found);
        }
    }
    None
}

/// The parent of a line (None for a section or an unknown code).
fn parent_of(lines: &[Line], code: &str) -> Option<String> {
    for l in lines {
        if l.children.iter().any(|c| c.code == code) {
            return Some(l.code.clone());
        }
        if let Some(p) = parent_of(&l.children, code) {
            return Some(p);
        }
    }
    None
}

fn check_code(code: &str) -> Result<String, Invalid> {
    let c = code.trim().to_string();
    if c.is_empty() {
        return Err(Invalid::new("Mã", "Mã dòng không được để trống (ví dụ: I, I.1, I.1.a)."));
    }
    if c.chars().count() > crate::scoring::MAX_CODE_CHARS || c.chars().any(char::is_whitespace) {
        return Err(Invalid::new(
            "Mã",
            format!("Mã \"{c}\" không hợp lệ: tối đa {} ký tự, không có dấu cách.", crate::scoring::MAX_CODE_CHARS),
        ));
    }
    Ok(c)
}

fn check_name(name: &str) -> Result<String, Invalid> {
    let n = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if n.is_empty() {
        return Err(Invalid::new("Nội dung", "Nội dung tiêu chí không được để trống."));
    }
    Ok(n)
}

fn check_max(max: Points) -> Result<Points, Invalid> {
    if max.is_negative() {
        return Err(Invalid::new("Điểm tối đa", "Điểm tối đa không được âm."));
    }
    if max > crate::scoring::SCORE_LIMIT {
        return Err(Invalid::new("Điểm tối đa", "Điểm tối đa quá lớn."));
    }
    Ok(max)
}

fn code_taken(table: &ScoringTable, code: &str) -> bool {
    table.find(code).is_some()
        || table.bonus.iter().any(|b| b.code == code)
        || table.penalties.iter().any(|p| p.code == code)
}

/// [`apply`], with every problem of a step that has several fields at once
/// (the review flags' three thresholds) where `apply` gives the first.
pub fn apply_all(table: &ScoringTable, edit: Edit) -> Result<ScoringTable, Vec<Invalid>> {
    if let Edit::SetFlags { far_above_percent, outlier_percent, outlier_min_units } = &edit {
        FlagRules {
            far_above_percent: *far_above_percent,
            outlier_percent: *outlier_percent,
            outlier_min_units: *outlier_min_units,
        }
        .check()?;
    }
    apply(table, edit).map_err(|e| vec![e])
}

/// Applies one step. On error the table is unchanged.
pub fn apply(table: &ScoringTable, edit: Edit) -> Result<ScoringTable, Invalid> {
    let mut t = table.clone();
    match edit {
        Edit::SetLine { code, new_code, name, guidance, max, evidence_required, method } => {
            let new_code = check_code(&new_code)?;
            if new_code != code && code_taken(&t, &new_code) {
                return Err(Invalid::new("Mã", format!("Mã \"{new_code}\" đã có trong bảng điểm; mỗi dòng một mã.")));
            }
            let name = check_name(&name)?;
            let max = check_max(max)?;
            let line = find_mut(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            if method.is_some() && !line.children.is_empty() {
                return Err(Invalid::new(
                    "Cách chấm",
                    format!("Dòng {code} có dòng con: điểm của nó là tổng các dòng con, không chọn cách chấm riêng."),
                ));
            }
            line.code = new_code;
            line.name = name;
            line.guidance = guidance.trim().to_string();
            line.max = max;
            line.evidence_required = evidence_required;
            line.method = method;
        }
        Edit::AddLine { parent, code, name, max, method } => {
            let code = check_code(&code)?;
            if code_taken(&t, &code) {
                return Err(Invalid::new("Mã", format!("Mã \"{code}\" đã có trong bảng điểm; mỗi dòng một mã.")));
            }
            let line = Line {
                code,
                name: check_name(&name)?,
                guidance: String::new(),
                max: check_max(max)?,
                evidence_required: false,
                method,
                children: vec![],
            };
            match parent {
                None => t.lines.push(line),
                Some(p) => {
                    let parent = find_mut(&mut t.lines, &p).ok_or_else(|| missing(&p))?;
                    if parent.method.is_some() {
                        return Err(Invalid::new(
                            "Dòng cha",
                            format!(
                                "Dòng {p} đang có cách chấm riêng; hãy bỏ cách chấm của nó trước khi thêm dòng con."
                            ),
                        ));
                    }
                    parent.children.push(line);
                }
            }
        }
        Edit::Delete { code } => {
            let (list, i) = locate(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            list.remove(i);
            t.tie_breaks.retain(|tb| !matches!(tb, TieBreak::MoreInSection(c) if *c == code));
        }
        Edit::MoveUp { code } => {
            let (list, i) = locate(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            if i == 0 {
                return Err(Invalid::new("Vị trí", format!("Dòng {code} đã ở trên cùng trong nhóm của nó.")));
            }
            list.swap(i - 1, i);
        }
        Edit::MoveDown { code } => {
            let (list, i) = locate(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            if i + 1 >= list.len() {
                return Err(Invalid::new("Vị trí", format!("Dòng {code} đã ở dưới cùng trong nhóm của nó.")));
            }
            list.swap(i, i + 1);
        }
        Edit::Indent { code } => {
            let (list, i) = locate(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            if i == 0 {
                return Err(Invalid::new(
                    "Vị trí",
                    format!("Dòng {code} không có dòng nào phía trên cùng cấp để thụt vào dưới."),
                ));
            }
            if list[i - 1].method.is_some() {
                return Err(Invalid::new(
                    "Vị trí",
                    format!(
                        "Dòng phía trên ({}) đang có cách chấm riêng; hãy bỏ cách chấm của nó trước khi đưa dòng {code} vào dưới nó.",
                        list[i - 1].code
                    ),
                ));
            }
            let line = list.remove(i);
            list[i - 1].children.push(line);
        }
        Edit::Outdent { code } => {
            let parent = parent_of(&t.lines, &code)
                .ok_or_else(|| Invalid::new("Vị trí", format!("Dòng {code} đã ở cấp cao nhất.")))?;
            let (list, i) = locate(&mut t.lines, &code).ok_or_else(|| missing(&code))?;
            let line = list.remove(i);
            let (plist, pi) = locate(&mut t.lines, &parent).ok_or_else(|| missing(&parent))?;
            plist.insert(pi + 1, line);
        }
        Edit::SetAdjustments { bonus, penalties, bonus_cap, penalty_cap, may_exceed_nominal } => {
            t.bonus = bonus;
            t.penalties = penalties;
            t.bonus_cap = bonus_cap;
            t.penalty_cap = penalty_cap;
            t.may_exceed_nominal = may_exceed_nominal;
        }
        Edit::SetRules { bands, tie_breaks, not_applicable_rule } => {
            t.bands = bands;
            t.tie_breaks = tie_breaks;
            t.not_applicable_rule = not_applicable_rule;
        }
        Edit::SetFlags { far_above_percent, outlier_percent, outlier_min_units } => {
            let flags = FlagRules { far_above_percent, outlier_percent, outlier_min_units };
            flags.check().map_err(|mut e| e.remove(0))?;
            t.review_flags = flags;
        }
    }
    Ok(t)
}

/// An empty table with the usual rules: four bands and the usual tie-breaks,
/// to start a group's table from scratch.
pub fn blank() -> ScoringTable {
    let mut t = crate::scoring::sample_table();
    t.lines.clear();
    t.bonus.clear();
    t.penalties.clear();
    t.tie_breaks.retain(|tb| !matches!(tb, TieBreak::MoreInSection(_)));
    t
}

/// A line with its depth, in display order, for the editor.
pub fn flatten(table: &ScoringTable) -> Vec<(usize, &Line)> {
    fn walk<'a>(lines: &'a [Line], depth: usize, out: &mut Vec<(usize, &'a Line)>) {
        for l in lines {
            out.push((depth, l));
            walk(&l.children, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(&table.lines, 0, &mut out);
    out
}

/// The sum of a parent's children's maxima, for showing it beside the parent's own.
pub fn children_sum(line: &Line) -> Option<Points> {
    if line.children.is_empty() { None } else { Some(line.children.iter().map(|c| c.max).sum()) }
}

// ---------- the editor's text fields: one item a line, fields split by "|" ----------

fn fields(line: &str) -> Vec<String> {
    line.split('|').map(|f| f.trim().to_string()).collect()
}

fn opt_points(field: &str, s: &str) -> Result<Option<Points>, Invalid> {
    if s.trim().is_empty() { Ok(None) } else { Points::parse(field, s).map(Some) }
}

/// Levels of a qualitative criterion, one a line: "Đạt | 40".
pub fn parse_levels(text: &str) -> Result<Vec<crate::scoring::Level>, Invalid> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f = fields(line);
        if f.len() != 2 || f[0].is_empty() {
            return Err(Invalid::new(
                "Các mức",
                format!("Dòng {} của các mức phải có dạng \"Tên mức | điểm\", ví dụ \"Đạt | 40\".", i + 1),
            ));
        }
        out.push(crate::scoring::Level::new(f[0].clone(), Points::parse("Điểm của mức", &f[1])?));
    }
    if out.is_empty() {
        return Err(Invalid::new("Các mức", "Cần ít nhất một mức, ví dụ \"Đạt | 40\" và \"Không đạt | 0\"."));
    }
    Ok(out)
}

pub fn format_levels(levels: &[crate::scoring::Level]) -> String {
    levels.iter().map(|l| format!("{} | {}", l.label, l.points)).collect::<Vec<_>>().join("\n")
}

/// Bonus or penalty lines, one a line: "mã | nội dung | điểm mỗi lần | tối đa | BTT"
/// (the cap may be empty; "BTT" marks a line only the secretariat scores).
pub fn parse_adjust_lines(what: &str, text: &str) -> Result<Vec<AdjustLine>, Invalid> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f = fields(line);
        if !(3..=5).contains(&f.len()) || f[0].is_empty() || f[1].is_empty() {
            return Err(Invalid::new(
                what,
                format!(
                    "Dòng {} của {what} phải có dạng \"mã | nội dung | điểm mỗi lần | tối đa | BTT\" (tối đa và BTT có thể bỏ trống).",
                    i + 1
                ),
            ));
        }
        out.push(AdjustLine {
            code: check_code(&f[0])?,
            name: f[1].clone(),
            per: Points::parse("Điểm mỗi lần", &f[2])?,
            cap: opt_points("Tối đa", f.get(3).map(String::as_str).unwrap_or(""))?,
            secretariat_only: f.get(4).is_some_and(|x| !x.is_empty()),
        });
    }
    Ok(out)
}

pub fn format_adjust_lines(lines: &[AdjustLine]) -> String {
    lines
        .iter()
        .map(|a| {
            let cap = a.cap.map(|c| c.to_string()).unwrap_or_default();
            let btt = if a.secretariat_only { " | BTT" } else { "" };
            format!("{} | {} | {} | {cap}{btt}", a.code, a.name, a.per)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Classification bands, best first, one a line: "mã | tên | tổng tối thiểu | % tối thiểu mỗi phần".
pub fn parse_bands(text: &str) -> Result<Vec<Band>, Invalid> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f = fields(line);
        if !(3..=4).contains(&f.len()) || f[0].is_empty() || f[1].is_empty() {
            return Err(Invalid::new(
                "Xếp loại",
                format!(
                    "Dòng {} của xếp loại phải có dạng \"mã | tên | tổng tối thiểu | % tối thiểu mỗi phần\".",
                    i + 1
                ),
            ));
        }
        let share = match f.get(3).map(|x| x.trim_end_matches('%').trim()).filter(|x| !x.is_empty()) {
            None => None,
            Some(x) => Some(x.parse::<u32>().ok().filter(|p| *p <= 100).ok_or_else(|| {
                Invalid::new("Xếp loại", format!("Tỷ lệ \"{x}\" ở dòng {} phải là số nguyên từ 0 đến 100.", i + 1))
            })?),
        };
        out.push(Band {
            code: f[0].clone(),
            label: f[1].clone(),
            min_total: Points::parse("Tổng tối thiểu", &f[2])?,
            min_section_share_pct: share,
        });
    }
    Ok(out)
}

pub fn format_bands(bands: &[Band]) -> String {
    bands
        .iter()
        .map(|b| {
            let share = b.min_section_share_pct.map(|p| format!(" | {p}")).unwrap_or_default();
            format!("{} | {} | {}{share}", b.code, b.label, b.min_total)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Tie-breaks, in order, one a line: "điểm thưởng", "điểm trừ", or "phần I".
pub fn parse_tie_breaks(text: &str) -> Result<Vec<TieBreak>, Invalid> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let f = crate::text::fold(line);
        let tb = if f.contains("thuong") {
            TieBreak::MoreBonus
        } else if f.contains("tru") {
            TieBreak::FewerPenalties
        } else if let Some(code) =
            line.split_whitespace().last().filter(|_| f.starts_with("phan") || f.starts_with("muc"))
        {
            TieBreak::MoreInSection(code.to_string())
        } else {
            return Err(Invalid::new(
                "Thứ tự ưu tiên",
                format!(
                    "Không hiểu \"{line}\": mỗi dòng là \"điểm thưởng\", \"điểm trừ\" hoặc \"phần <mã>\" (ví dụ \"phần I\")."
                ),
            ));
        };
        out.push(tb);
    }
    Ok(out)
}

pub fn format_tie_breaks(tbs: &[TieBreak]) -> String {
    tbs.iter()
        .map(|t| match t {
            TieBreak::MoreBonus => "điểm thưởng".to_string(),
            TieBreak::FewerPenalties => "điểm trừ".to_string(),
            TieBreak::MoreInSection(c) => format!("phần {c}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::sample_table;

    fn codes(t: &ScoringTable) -> Vec<(usize, String)> {
        flatten(t).into_iter().map(|(d, l)| (d, l.code.clone())).collect()
    }

    #[test]
    fn add_move_indent_outdent_delete() {
        let t = blank();
        let t = apply(
            &t,
            Edit::AddLine {
                parent: None,
                code: "I".into(),
                name: "Nhiệm vụ".into(),
                max: Points::whole(100),
                method: None,
            },
        )
        .unwrap();
        let t = apply(
            &t,
            Edit::AddLine {
                parent: Some("I".into()),
                code: "I.1".into(),
                name: "Kết quả".into(),
                max: Points::whole(60),
                method: Some(Method::Manual),
            },
        )
        .unwrap();
        let t = apply(
            &t,
            Edit::AddLine {
                parent: Some("I".into()),
                code: "I.2".into(),
                name: "Tham mưu".into(),
                max: Points::whole(40),
                method: None,
            },
        )
        .unwrap();
        assert_eq!(codes(&t), vec![(0, "I".into()), (1, "I.1".into()), (1, "I.2".into())]);
        let t = apply(&t, Edit::MoveUp { code: "I.2".into() }).unwrap();
        assert_eq!(codes(&t), vec![(0, "I".into()), (1, "I.2".into()), (1, "I.1".into())]);
        // I.1 under I.2 (which has no method)
        let t = apply(&t, Edit::Indent { code: "I.1".into() }).unwrap();
        assert_eq!(codes(&t), vec![(0, "I".into()), (1, "I.2".into()), (2, "I.1".into())]);
        let t = apply(&t, Edit::Outdent { code: "I.1".into() }).unwrap();
        assert_eq!(codes(&t), vec![(0, "I".into()), (1, "I.2".into()), (1, "I.1".into())]);
        let t = apply(&t, Edit::Outdent { code: "I.1".into() }).unwrap();
        assert_eq!(codes(&t), vec![(0, "I".into()), (1, "I.2".into()), (0, "I.1".into())]);
        let t = apply(&t, Edit::Delete { code: "I".into() }).unwrap();
        assert_eq!(codes(&t), vec![(0, "I.1".into())]);
    }

    #[test]
    fn refusals_leave_the_table_unchanged() {
        let t = sample_table();
        let dup = apply(
            &t,
            Edit::AddLine {
                parent: None, code: "I".into(), name: "Trùng".into(), max: Points::whole(1), method: None
            },
        );
        assert!(dup.unwrap_err().message.contains("đã có"));
        let neg = apply(
            &t,
            Edit::AddLine { parent: None, code: "V".into(), name: "Âm".into(), max: Points::whole(-1), method: None },
        );
        assert!(neg.is_err());
        assert!(apply(&t, Edit::MoveUp { code: "I".into() }).is_err());
        assert!(apply(&t, Edit::Outdent { code: "I".into() }).is_err());
        assert!(apply(&t, Edit::Delete { code: "không-có".into() }).is_err());
        // a leaf with a method cannot take children
        let leaf = flatten(&t).into_iter().find(|(_, l)| l.method.is_some()).map(|(_, l)| l.code.clone()).unwrap();
        let r = apply(
            &t,
            Edit::AddLine {
                parent: Some(leaf),
                code: "X".into(),
                name: "Con".into(),
                max: Points::whole(1),
                method: None,
            },
        );
        assert!(r.unwrap_err().message.contains("cách chấm"));
        let r = apply(
            &t,
            Edit::SetLine {
                code: "I".into(),
                new_code: "I".into(),
                name: "Phần I".into(),
                guidance: String::new(),
                max: Points::whole(500),
                evidence_required: false,
                method: Some(Method::Manual),
            },
        );
        assert!(r.is_err(), "a section with children cannot get its own method");
    }

    #[test]
    fn the_review_flags_thresholds_are_the_tables_own() {
        let t = sample_table();
        let set = |far, outlier, units| Edit::SetFlags {
            far_above_percent: far,
            outlier_percent: outlier,
            outlier_min_units: units,
        };
        let t2 = apply(&t, set(15, 40, 5)).unwrap();
        assert_eq!(t2.review_flags, FlagRules { far_above_percent: 15, outlier_percent: 40, outlier_min_units: 5 });
        assert!(t2.validate().is_ok());
        let e = apply(&t, set(0, 40, 5)).unwrap_err();
        assert!(e.message.contains("ghi một số nguyên từ 1 đến 100"), "{}", e.message);
        let e = apply(&t, set(15, 101, 5)).unwrap_err();
        assert!(e.message.contains("trung vị của cụm, khối\" là 101%"), "{}", e.message);
        let e = apply(&t, set(15, 40, 1)).unwrap_err();
        assert!(e.message.contains("Số đơn vị tối thiểu để so với trung vị là 1"), "{}", e.message);
        // every threshold's problem at once, field by field
        let errs = apply_all(&t, set(0, 101, 1)).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["Cảnh báo so với kiểm tra chéo", "Cảnh báo so với trung vị", "Số đơn vị tối thiểu"]);
        assert_eq!(apply_all(&t, set(15, 40, 5)).unwrap(), t2);
        assert_eq!(apply_all(&t, Edit::Delete { code: "nope".into() }).unwrap_err().len(), 1);
        // a table stored before the thresholds were part of it reads with the usual ones
        let mut json: serde_json::Value = serde_json::to_value(&t2).unwrap();
        json.as_object_mut().unwrap().remove("review_flags");
        let old: ScoringTable = serde_json::from_value(json).unwrap();
        assert_eq!(old.review_flags, FlagRules::default());
    }

    #[test]
    fn text_fields_round_trip() {
        let t = sample_table();
        assert_eq!(parse_adjust_lines("Điểm thưởng", &format_adjust_lines(&t.bonus)).unwrap(), t.bonus);
        assert_eq!(parse_adjust_lines("Điểm trừ", &format_adjust_lines(&t.penalties)).unwrap(), t.penalties);
        assert_eq!(parse_bands(&format_bands(&t.bands)).unwrap(), t.bands);
        assert_eq!(parse_tie_breaks(&format_tie_breaks(&t.tie_breaks)).unwrap(), t.tie_breaks);
        let levels = parse_levels("Đạt | 40\nKhông đạt | 0").unwrap();
        assert_eq!(parse_levels(&format_levels(&levels)).unwrap(), levels);
        assert!(parse_levels("Đạt 40").is_err());
        assert!(parse_bands("XS | Xuất sắc | 900 | 120").is_err());
        assert!(parse_tie_breaks("theo tên").is_err());
        assert!(parse_adjust_lines("Điểm trừ", "TR.1 | Muộn").is_err());
    }

    #[test]
    fn sample_table_edits_then_validates() {
        let t = sample_table();
        assert!(t.validate().is_ok());
        // raising a child's max above the parent's makes the table invalid, and says so
        let (code, line) = flatten(&t)
            .into_iter()
            .find(|(d, l)| *d == 1 && l.method.is_some())
            .map(|(_, l)| (l.code.clone(), l.clone()))
            .unwrap();
        let t2 = apply(
            &t,
            Edit::SetLine {
                code: code.clone(),
                new_code: code.clone(),
                name: line.name.clone(),
                guidance: line.guidance.clone(),
                max: Points::whole(10_000),
                evidence_required: true,
                method: line.method.clone(),
            },
        );
        let errs = t2.map(|t| t.validate());
        assert!(matches!(errs, Ok(Err(_))));
    }
}
