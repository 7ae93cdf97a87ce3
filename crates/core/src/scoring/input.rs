//! A unit's raw values, and their checking against a table.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::points::{Points, QUANTITY_LIMIT};
use super::table::{AdjustLine, Level, Line, Method, ScoringTable};
use crate::error::Invalid;

/// The most occurrences a count (a count criterion, a bonus or a penalty line) may hold.
pub const MAX_COUNT: u32 = 10_000;

/// What a unit entered for one leaf criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawValue {
    /// Index into a qualitative criterion's levels (0 is the best).
    Level(usize),
    /// The result of a target criterion; the target comes from [`UnitInput::targets`].
    Actual { actual: Points },
    /// The number of occurrences of a count criterion.
    Count(u32),
    /// Points of a manual criterion, with the reason.
    Manual { points: Points, reason: String },
    /// The criterion does not apply to this unit.
    NotApplicable,
}

/// One unit's raw values for one table. A leaf without a value counts 0
/// (status "not entered"); a target criterion without a target for the unit
/// does not apply to it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UnitInput {
    pub unit_id: i64,
    pub name: String,
    /// Leaf code → value.
    #[serde(default)]
    pub values: BTreeMap<String, RawValue>,
    /// Target criterion code → the unit's target (from the covenant).
    #[serde(default)]
    pub targets: BTreeMap<String, Points>,
    /// Bonus line code → occurrences.
    #[serde(default)]
    pub bonus: BTreeMap<String, u32>,
    /// Penalty line code → occurrences.
    #[serde(default)]
    pub penalties: BTreeMap<String, u32>,
}

/// Why a criterion does not apply to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NaReason {
    Declared,
    NoTarget,
}

/// A leaf value once checked against its line: the shape compute relies on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Entry<'a> {
    Level(&'a Level),
    Target { actual: Points, target: Points },
    Count(u32),
    Manual { points: Points, reason: &'a str },
    NotApplicable(NaReason),
    Missing,
}

/// A unit's input checked against a table.
pub(super) struct Checked<'a> {
    pub unit: &'a UnitInput,
    pub entries: BTreeMap<&'a str, Entry<'a>>,
    pub bonus: Vec<(&'a AdjustLine, u32)>,
    pub penalties: Vec<(&'a AdjustLine, u32)>,
}

impl UnitInput {
    /// Checks every value against the table, reporting every problem with a
    /// message that names the unit and the line.
    pub fn check(&self, table: &ScoringTable) -> Result<(), Vec<Invalid>> {
        self.checked(table).map(|_| ())
    }

    pub(super) fn checked<'a>(&'a self, table: &'a ScoringTable) -> Result<Checked<'a>, Vec<Invalid>> {
        let mut errs = Vec::new();
        let u =
            if self.name.trim().is_empty() { format!("Đơn vị mã {}", self.unit_id) } else { self.name.clone() };
        if self.name.trim().is_empty() {
            errs.push(Invalid::new("Đơn vị", format!("Đơn vị mã {} chưa có tên.", self.unit_id)));
        }
        let all = table.walk();
        let lines: HashMap<&str, &Line> = all.iter().map(|l| (l.code.as_str(), *l)).collect();
        for code in self.values.keys() {
            match lines.get(code.as_str()) {
                None => errs.push(Invalid::new(
                    code,
                    format!("{u}: có giá trị cho mã {code} nhưng bảng chấm điểm không có tiêu chí này: bỏ giá trị hoặc sửa mã."),
                )),
                Some(l) if !l.is_leaf() => errs.push(Invalid::new(
                    code,
                    format!("{u}: {code} là phần tổng hợp, điểm được cộng từ các tiêu chí con: nhập giá trị cho các tiêu chí con của {code}."),
                )),
                Some(_) => {}
            }
        }
        for (code, t) in &self.targets {
            match lines.get(code.as_str()) {
                Some(l) if matches!(l.method, Some(Method::Target)) => {
                    if !t.is_positive() {
                        errs.push(Invalid::new(
                            code,
                            format!("{u}: chỉ tiêu {code} là {t}: chỉ tiêu phải lớn hơn 0 (nếu không giao chỉ tiêu, bỏ trống để tiêu chí không áp dụng)."),
                        ));
                    } else if *t > QUANTITY_LIMIT {
                        errs.push(Invalid::new(code, format!("{u}: chỉ tiêu {code} quá lớn (tối đa {QUANTITY_LIMIT}).")));
                    }
                }
                Some(_) => errs.push(Invalid::new(
                    code,
                    format!("{u}: có chỉ tiêu cho {code} nhưng {code} không chấm theo chỉ tiêu: bỏ chỉ tiêu này."),
                )),
                None => errs.push(Invalid::new(
                    code,
                    format!("{u}: có chỉ tiêu cho mã {code} nhưng bảng chấm điểm không có tiêu chí này: bỏ chỉ tiêu hoặc sửa mã."),
                )),
            }
        }
        let mut entries = BTreeMap::new();
        for l in all.into_iter().filter(|l| l.is_leaf()) {
            let Some(m) = &l.method else { continue };
            match entry(&u, l, m, self.values.get(&l.code), self.targets.get(&l.code)) {
                Ok(e) => {
                    entries.insert(l.code.as_str(), e);
                }
                Err(e) => errs.push(e),
            }
        }
        let bonus = adjust(&u, "thưởng", &table.bonus, &self.bonus, &mut errs);
        let penalties = adjust(&u, "trừ", &table.penalties, &self.penalties, &mut errs);
        if errs.is_empty() { Ok(Checked { unit: self, entries, bonus, penalties }) } else { Err(errs) }
    }
}

/// One value of a unit on one line of the table, checked as
/// [`UnitInput::check`] checks it among the unit's values (same messages),
/// without walking the whole table: what a save checks for each line it
/// writes. `target` is the unit's target on a target line, if any.
pub fn check_value(
    line: &Line,
    unit_id: i64,
    name: &str,
    value: &RawValue,
    target: Option<&Points>,
) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        return Err(Invalid::new("Đơn vị", format!("Đơn vị mã {unit_id} chưa có tên.")));
    }
    let code = &line.code;
    if !line.is_leaf() {
        return Err(Invalid::new(
            code,
            format!(
                "{name}: {code} là phần tổng hợp, điểm được cộng từ các tiêu chí con: nhập giá trị cho các tiêu chí con của {code}."
            ),
        ));
    }
    match &line.method {
        Some(m) => entry(name, line, m, Some(value), target).map(|_| ()),
        None => Ok(()),
    }
}

fn entry<'a>(
    u: &str,
    l: &'a Line,
    m: &'a Method,
    v: Option<&'a RawValue>,
    target: Option<&Points>,
) -> Result<Entry<'a>, Invalid> {
    let c = l.code.as_str();
    let err = |msg: String| Invalid::new(c, msg);
    let wrong = |what: &str| {
        err(format!("{u}: {c} có cách chấm \"{}\", không nhận {what}: nhập lại theo đúng cách chấm.", m.label()))
    };
    match (m, v) {
        (Method::Target, Some(RawValue::NotApplicable)) if target.is_some() => Err(err(format!(
            "{u}: đã được giao chỉ tiêu {c} nhưng ghi không áp dụng: nhập kết quả thực hiện, hoặc bỏ chỉ tiêu nếu tiêu chí không áp dụng."
        ))),
        (_, Some(RawValue::NotApplicable)) => Ok(Entry::NotApplicable(NaReason::Declared)),
        (Method::Target, None) => {
            Ok(if target.is_some() { Entry::Missing } else { Entry::NotApplicable(NaReason::NoTarget) })
        }
        (_, None) => Ok(Entry::Missing),
        (Method::Qualitative { levels }, Some(RawValue::Level(i))) => match levels.get(*i) {
            Some(lv) => Ok(Entry::Level(lv)),
            None => Err(err(format!(
                "{u}: {c} không có mức số {}; các mức là {}: chọn một trong các mức này.",
                i + 1,
                levels
                    .iter()
                    .enumerate()
                    .map(|(k, lv)| format!("{}. {}", k + 1, lv.label))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
        (Method::Qualitative { .. }, Some(_)) => Err(wrong("giá trị khác ngoài một mức")),
        (Method::Target, Some(RawValue::Actual { actual })) => {
            let Some(t) = target else {
                return Err(err(format!(
                    "{u}: có kết quả thực hiện {c} ({actual}) nhưng chưa được giao chỉ tiêu: giao chỉ tiêu cho đơn vị trong giao ước, hoặc ghi không áp dụng."
                )));
            };
            if actual.is_negative() {
                Err(err(format!("{u}: kết quả thực hiện {c} là {actual}: ghi số không âm.")))
            } else if *actual > QUANTITY_LIMIT {
                Err(err(format!("{u}: kết quả thực hiện {c} quá lớn (tối đa {QUANTITY_LIMIT}).")))
            } else {
                Ok(Entry::Target { actual: *actual, target: *t })
            }
        }
        (Method::Target, Some(_)) => Err(wrong("giá trị khác ngoài kết quả thực hiện")),
        (Method::Count { .. }, Some(RawValue::Count(n))) => {
            if *n > MAX_COUNT {
                Err(err(format!("{u}: số lần của {c} là {n}, quá lớn (tối đa {MAX_COUNT}): kiểm tra lại.")))
            } else {
                Ok(Entry::Count(*n))
            }
        }
        (Method::Count { .. }, Some(_)) => Err(wrong("giá trị khác ngoài số lần")),
        (Method::Manual, Some(RawValue::Manual { points, reason })) => {
            if points.is_negative() {
                Err(err(format!("{u}: điểm {c} là {points}: ghi từ 0 đến {}.", l.max)))
            } else if *points > l.max {
                Err(err(format!(
                    "{u}: điểm {c} là {points}, vượt điểm tối đa {} {} điểm: ghi từ 0 đến {}.",
                    l.max,
                    *points - l.max,
                    l.max
                )))
            } else if reason.trim().is_empty() {
                Err(err(format!("{u}: điểm {c} chấm trực tiếp cần ghi lý do: ghi vì sao chấm {points} điểm.")))
            } else {
                Ok(Entry::Manual { points: *points, reason: reason.trim() })
            }
        }
        (Method::Manual, Some(_)) => Err(wrong("giá trị khác ngoài số điểm có lý do")),
    }
}

fn adjust<'a>(
    u: &str,
    what: &str,
    lines: &'a [AdjustLine],
    counts: &BTreeMap<String, u32>,
    errs: &mut Vec<Invalid>,
) -> Vec<(&'a AdjustLine, u32)> {
    for (code, n) in counts {
        if !lines.iter().any(|l| &l.code == code) {
            errs.push(Invalid::new(
                code,
                format!(
                    "{u}: có điểm {what} mã {code} nhưng bảng chấm điểm không có dòng điểm {what} này: bỏ hoặc sửa mã."
                ),
            ));
        } else if *n > MAX_COUNT {
            errs.push(Invalid::new(
                code,
                format!("{u}: số lần của {code} là {n}, quá lớn (tối đa {MAX_COUNT}): kiểm tra lại."),
            ));
        }
    }
    lines.iter().map(|l| (l, counts.get(&l.code).copied().unwrap_or(0))).collect()
}

impl Line {
    /// Parses what an officer typed for this leaf (a spreadsheet cell, a form
    /// field) into a raw value. "Không áp dụng" (or "KAD", "-") is not applicable;
    /// a qualitative criterion takes a level's label or its points ("Đạt", "40");
    /// a target criterion the result ("1.234,5"); a count the number of
    /// occurrences; a manual criterion the points, with `reason` required.
    pub fn parse_value(&self, s: &str, reason: &str) -> Result<RawValue, Invalid> {
        let c = self.code.as_str();
        let t = s.trim();
        let f = crate::text::fold(t);
        if matches!(f.as_str(), "khong ap dung" | "kad" | "-" | "k/a" | "n/a") {
            return Ok(RawValue::NotApplicable);
        }
        let Some(m) = &self.method else {
            return Err(Invalid::new(
                c,
                format!("{c} là phần tổng hợp, điểm được cộng từ các tiêu chí con: nhập giá trị cho các tiêu chí con."),
            ));
        };
        if t.is_empty() {
            return Err(Invalid::new(c, format!("{c} chưa có giá trị: nhập giá trị hoặc ghi \"Không áp dụng\".")));
        }
        match m {
            Method::Qualitative { levels } => {
                if let Some(i) = levels.iter().position(|lv| crate::text::fold(&lv.label) == f) {
                    return Ok(RawValue::Level(i));
                }
                if let Ok(p) = Points::parse(c, t)
                    && let Some(i) = levels.iter().position(|lv| lv.points == p)
                {
                    return Ok(RawValue::Level(i));
                }
                Err(Invalid::new(
                    c,
                    format!(
                        "{c}: \"{t}\" không phải là một mức của tiêu chí; chọn một trong: {}.",
                        levels.iter().map(|lv| format!("{} ({})", lv.label, lv.points)).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
            Method::Target => {
                let a = Points::parse(c, t)?;
                if a.is_negative() {
                    return Err(Invalid::new(c, format!("Kết quả thực hiện {c} là {a}: ghi số không âm.")));
                }
                Ok(RawValue::Actual { actual: a })
            }
            Method::Count { .. } => {
                let n: u32 = t.parse().map_err(|_| {
                    Invalid::new(c, format!("{c}: \"{t}\" không phải là số lần: ghi số nguyên không âm, ví dụ 3."))
                })?;
                if n > MAX_COUNT {
                    return Err(Invalid::new(c, format!("{c}: số lần {n} quá lớn (tối đa {MAX_COUNT}).")));
                }
                Ok(RawValue::Count(n))
            }
            Method::Manual => {
                let p = Points::parse(c, t)?;
                if p.is_negative() || p > self.max {
                    return Err(Invalid::new(c, format!("Điểm {c} là {p}: ghi từ 0 đến {}.", self.max)));
                }
                if reason.trim().is_empty() {
                    return Err(Invalid::new(
                        c,
                        format!("Điểm {c} chấm trực tiếp cần ghi lý do: ghi vì sao chấm {p} điểm."),
                    ));
                }
                Ok(RawValue::Manual { points: p, reason: reason.trim().to_string() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample_table;
    use super::*;

    fn unit() -> UnitInput {
        UnitInput { unit_id: 7, name: "Sở Tư pháp".into(), ..Default::default() }
    }

    fn raw_value() -> impl proptest::strategy::Strategy<Value = RawValue> {
        use proptest::prelude::*;
        prop_oneof![
            (0usize..6).prop_map(RawValue::Level),
            (-500i64..200_000).prop_map(|h| RawValue::Actual { actual: Points::from_hundredths(h) }),
            (0u32..MAX_COUNT + 3).prop_map(RawValue::Count),
            ((-500i64..12_000), prop_oneof![Just(""), Just("Có văn bản")])
                .prop_map(|(h, r)| RawValue::Manual { points: Points::from_hundredths(h), reason: r.to_string() }),
            Just(RawValue::NotApplicable),
        ]
    }

    proptest::proptest! {
        /// A save checks one value on one line with `check_value`: the
        /// same first error (or none) as the unit's whole input holding
        /// only that value, on every line of the sample table.
        #[test]
        fn one_value_is_checked_as_the_whole_input_checks_it(line in 0usize..100, v in raw_value(), named: bool) {
            let table = sample_table();
            let all = table.walk();
            let l = all[line % all.len()];
            let mut u = UnitInput { unit_id: 7, name: if named { "Sở Tư pháp".into() } else { " ".into() }, ..Default::default() };
            u.values.insert(l.code.clone(), v.clone());
            let target = matches!(v, RawValue::Actual { .. }).then(|| Points::whole(1));
            if let Some(t) = target {
                u.targets.insert(l.code.clone(), t);
            }
            let whole = u.check(&table).err().map(|mut e| e.remove(0));
            let one = check_value(l, 7, &u.name, &v, target.as_ref()).err();
            // a target given on a line that is not a target line is the whole input's own error
            if target.is_none() || matches!(l.method, Some(Method::Target)) || !l.is_leaf() {
                proptest::prop_assert_eq!(one, whole);
            }
        }
    }

    fn errors(u: &UnitInput) -> Vec<String> {
        u.check(&sample_table())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| format!("{}|{}", e.field, e.message))
            .collect()
    }

    fn one_error(u: &UnitInput, needle: &str) {
        let e = errors(u);
        assert!(e.iter().any(|m| m.contains(needle)), "expected {needle:?} in {e:#?}");
        assert!(e.iter().all(|m| m.contains("Sở Tư pháp")), "every message names the unit: {e:#?}");
    }

    #[test]
    fn empty_input_is_fine() {
        assert!(unit().check(&sample_table()).is_ok());
    }

    #[test]
    fn bad_values_are_refused_naming_unit_and_line() {
        let mut u = unit();
        u.values.insert("II.1".into(), RawValue::Level(2));
        one_error(&u, "II.1|Sở Tư pháp: II.1 không có mức số 3");

        let mut u = unit();
        u.values.insert("X.9".into(), RawValue::Count(1));
        one_error(&u, "bảng chấm điểm không có tiêu chí này");

        let mut u = unit();
        u.values.insert("II".into(), RawValue::Count(1));
        one_error(&u, "II là phần tổng hợp");

        let mut u = unit();
        u.values.insert("I.2".into(), RawValue::Manual { points: Points::whole(101), reason: "tốt".into() });
        one_error(&u, "vượt điểm tối đa 100 1 điểm");

        let mut u = unit();
        u.values.insert("I.2".into(), RawValue::Manual { points: Points::whole(-1), reason: "x".into() });
        one_error(&u, "ghi từ 0 đến 100");

        let mut u = unit();
        u.values.insert("I.2".into(), RawValue::Manual { points: Points::whole(50), reason: "  ".into() });
        one_error(&u, "cần ghi lý do");

        let mut u = unit();
        u.values.insert("I.2".into(), RawValue::Count(3));
        one_error(&u, "I.2 có cách chấm \"chấm điểm trực tiếp (có lý do)\", không nhận");

        let mut u = unit();
        u.values.insert("I.1".into(), RawValue::Actual { actual: Points::whole(5) });
        one_error(&u, "chưa được giao chỉ tiêu");

        let mut u = unit();
        u.targets.insert("I.1".into(), Points::whole(100));
        u.values.insert("I.1".into(), RawValue::Actual { actual: Points::whole(-5) });
        one_error(&u, "ghi số không âm");

        let mut u = unit();
        u.targets.insert("I.1".into(), Points::ZERO);
        one_error(&u, "chỉ tiêu phải lớn hơn 0");

        let mut u = unit();
        u.targets.insert("I.2".into(), Points::whole(3));
        one_error(&u, "không chấm theo chỉ tiêu");

        let mut u = unit();
        u.targets.insert("I.1".into(), Points::whole(3));
        u.values.insert("I.1".into(), RawValue::NotApplicable);
        one_error(&u, "đã được giao chỉ tiêu I.1 nhưng ghi không áp dụng");

        let mut u = unit();
        u.values.insert("II.3".into(), RawValue::Count(MAX_COUNT + 1));
        one_error(&u, "quá lớn");

        let mut u = unit();
        u.bonus.insert("TH.9".into(), 1);
        one_error(&u, "không có dòng điểm thưởng này");

        let mut u = unit();
        u.penalties.insert("TR.1".into(), MAX_COUNT + 1);
        one_error(&u, "TR.1|Sở Tư pháp: số lần của TR.1");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut u = unit();
        u.values.insert("II.1".into(), RawValue::Level(9));
        u.values.insert("Z".into(), RawValue::NotApplicable);
        u.bonus.insert("Q".into(), 1);
        assert_eq!(errors(&u).len(), 3);
    }

    #[test]
    fn parses_typed_values() {
        let t = sample_table();
        let l = |c: &str| t.find(c).unwrap().clone();
        assert_eq!(l("II.1").parse_value("đạt", ""), Ok(RawValue::Level(0)));
        assert_eq!(l("II.1").parse_value("Không đạt", ""), Ok(RawValue::Level(1)));
        assert_eq!(l("II.1").parse_value("40", ""), Ok(RawValue::Level(0)));
        assert!(l("II.1").parse_value("35", "").is_err());
        assert_eq!(l("III.1").parse_value("25", ""), Ok(RawValue::Level(1)));
        assert_eq!(
            l("I.1").parse_value("1.234,5", ""),
            Ok(RawValue::Actual { actual: Points::from_hundredths(123_450) })
        );
        assert_eq!(l("I.1").parse_value("Không áp dụng", ""), Ok(RawValue::NotApplicable));
        assert_eq!(l("II.3").parse_value("3", ""), Ok(RawValue::Count(3)));
        assert!(l("II.3").parse_value("-1", "").is_err());
        assert!(l("II.3").parse_value("2,5", "").is_err());
        assert_eq!(
            l("I.2").parse_value("85,5", " đúng hạn "),
            Ok(RawValue::Manual { points: Points::from_hundredths(8550), reason: "đúng hạn".into() })
        );
        assert!(l("I.2").parse_value("85", "").unwrap_err().message.contains("lý do"));
        assert!(l("I.2").parse_value("101", "x").is_err());
        assert!(l("I").parse_value("3", "").is_err());
        assert!(l("I.2").parse_value("", "x").is_err());
    }
}
