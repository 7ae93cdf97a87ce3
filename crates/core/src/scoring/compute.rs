//! THE pure function: a group's raw values in, every figure with its
//! explanation out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::input::{Checked, Entry, NaReason, UnitInput};
use super::points::{Points, percent, round_hundredths};
use super::table::{AdjustLine, Band, Line, NotApplicableRule, ScoringTable, TieBreak};
use crate::error::Invalid;

/// Formats an explanation's text only when the explanation is kept.
macro_rules! say {
    ($on:expr, $($arg:tt)*) => {
        if $on { format!($($arg)*) } else { String::new() }
    };
}

/// Every unit's figures, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupResult {
    /// Ordered by rank, then by name in Vietnamese order, then by id.
    pub units: Vec<UnitResult>,
    /// The leading units of each target criterion that some unit exceeded.
    pub leads: Vec<TargetLead>,
}

/// The leading unit(s) of a target criterion: the highest (A − T) / T.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetLead {
    pub code: String,
    /// Several when they exceed by exactly the same share.
    pub unit_ids: Vec<i64>,
    /// How far the leaders exceeded their target, in percent, rounded to
    /// hundredths of a percent: for display (points are computed exactly).
    pub exceed_percent: Points,
}

/// One unit's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitResult {
    pub unit_id: i64,
    pub name: String,
    /// Every line of the table, parents before children.
    pub lines: Vec<LineResult>,
    /// The sections (top-level lines), with their share of their maximum.
    pub sections: Vec<SectionResult>,
    /// The sum of the sections.
    pub content: Points,
    /// The nominal maximum less the maxima of the lines that do not apply.
    pub applicable_max: Points,
    pub bonus_lines: Vec<AdjustResult>,
    /// Bonus after the line caps and the total cap.
    pub bonus: Points,
    pub penalty_lines: Vec<AdjustResult>,
    /// Penalty after the line caps and the total cap (a positive number, deducted).
    pub penalty: Points,
    /// content + bonus − penalty, capped at the nominal maximum unless the
    /// table lets the bonus exceed it, and never below 0.
    pub total: Points,
    /// The total used for classification and ranking: the total, or with the
    /// `Scaled` rule and lines not applicable, the scaled content + bonus − penalty.
    pub compared_total: Points,
    pub class: Option<ClassResult>,
    /// Competition ranking: 1, 2, 2, 4.
    pub rank: u32,
    pub explanation: Explanation,
}

impl UnitResult {
    /// The result of one line, by code.
    pub fn line(&self, code: &str) -> Option<&LineResult> {
        self.lines.iter().find(|l| l.code == code)
    }

    /// Points of one line (0 if the code is unknown).
    pub fn points(&self, code: &str) -> Points {
        self.line(code).map(|l| l.points).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineResult {
    pub code: String,
    /// 0 for a section.
    pub depth: u32,
    /// A criterion scored by a method (else a parent summing its children).
    pub leaf: bool,
    pub points: Points,
    pub max: Points,
    /// The part of `max` that applies to this unit.
    pub applicable_max: Points,
    pub status: LineStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Scored,
    /// No value entered: counts 0.
    NotEntered,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionResult {
    pub code: String,
    pub points: Points,
    pub max: Points,
    /// The maximum the band floors measure against: the applicable part with
    /// the `Scaled` rule, the whole maximum with `Unscaled`.
    pub share_basis: Points,
    /// points ÷ share_basis in percent, rounded to hundredths: for display.
    pub share_percent: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustResult {
    pub code: String,
    pub count: u32,
    /// count × points per occurrence, before the line cap.
    pub raw: Points,
    /// After the line cap.
    pub points: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassResult {
    pub code: String,
    pub label: String,
}

/// The reasoning behind every figure of a unit, in Vietnamese, in the order
/// the figures are computed. The UI renders it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Explanation {
    pub steps: Vec<Step>,
    /// Not written (see [`Explain`]): the steps stay empty.
    #[serde(skip)]
    quiet: bool,
}

impl Explanation {
    /// The steps about one line, bonus line or penalty line.
    pub fn for_line<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps.iter().filter(move |s| s.line.as_deref() == Some(code))
    }

    /// The steps about one kind of figure.
    pub fn for_figure(&self, figure: Figure) -> impl Iterator<Item = &Step> + '_ {
        self.steps.iter().filter(move |s| s.figure == figure)
    }

    /// Whether the steps are written.
    pub fn is_written(&self) -> bool {
        !self.quiet
    }

    fn push(&mut self, figure: Figure, line: Option<&str>, text: String) {
        if !self.quiet {
            self.steps.push(Step { figure, line: line.map(str::to_string), text });
        }
    }
}

/// One step: which figure it explains, the line code if any, the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub figure: Figure,
    pub line: Option<String>,
    pub text: String,
}

/// Which figure a step explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// A line's points (leaf or parent).
    Line,
    Bonus,
    Penalty,
    /// The sum of the sections.
    Content,
    Total,
    /// The total used for comparison.
    Compared,
    Class,
    Rank,
}

/// Whose figures [`compute_with`] explains. The figures are the same
/// whatever the choice; only the texts are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// Every unit's (what [`compute`] does).
    All,
    /// One unit's: a unit's own sheet shows only its own.
    Unit(i64),
    /// Nobody's: ranking, totals and classes only.
    Nobody,
}

impl Explain {
    fn covers(self, unit_id: i64) -> bool {
        match self {
            Explain::All => true,
            Explain::Unit(u) => u == unit_id,
            Explain::Nobody => false,
        }
    }
}

/// Computes every unit's points per line, section totals, bonus and penalty
/// after caps, total, compared total, class and rank, each explained.
///
/// Refuses (with every problem listed) an invalid table, duplicate unit ids,
/// raw values that do not fit the table, and a unit to which no criterion
/// applies. The result does not depend on the order of `units`.
pub fn compute(table: &ScoringTable, units: &[UnitInput]) -> Result<GroupResult, Vec<Invalid>> {
    compute_with(table, units, Explain::All)
}

/// [`compute`], with the explanations of only the units `explain` names
/// (the others' are empty); every figure is the same.
pub fn compute_with(table: &ScoringTable, units: &[UnitInput], explain: Explain) -> Result<GroupResult, Vec<Invalid>> {
    table.validate()?;
    let mut errs = Vec::new();
    let mut ids = BTreeSet::new();
    for u in units {
        if !ids.insert(u.unit_id) {
            errs.push(Invalid::new(
                "Đơn vị",
                format!("Đơn vị mã {} ({}) có hai bộ điểm: mỗi đơn vị chỉ có một bộ điểm.", u.unit_id, u.name),
            ));
        }
    }
    let mut checked = Vec::with_capacity(units.len());
    for u in units {
        match u.checked(table) {
            Ok(c) => checked.push(c),
            Err(e) => errs.extend(e),
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    // Input order must not matter: work in unit-id order.
    checked.sort_by_key(|c| c.unit.unit_id);
    let leads = find_leads(table, &checked);
    let mut results = Vec::with_capacity(checked.len());
    for c in &checked {
        let r = score_unit(table, &leads, c, explain.covers(c.unit.unit_id));
        if !r.applicable_max.is_positive() {
            errs.push(Invalid::new(
                "Đơn vị",
                format!(
                    "{}: không tiêu chí nào áp dụng cho đơn vị (mọi tiêu chí ghi không áp dụng hoặc chưa giao chỉ tiêu): giao chỉ tiêu hoặc nhập giá trị cho ít nhất một tiêu chí.",
                    c.unit.name
                ),
            ));
        }
        results.push(r);
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    rank(table, &mut results);
    results.sort_by(|a, b| {
        a.rank.cmp(&b.rank).then_with(|| crate::text::vi_cmp(&a.name, &b.name)).then_with(|| a.unit_id.cmp(&b.unit_id))
    });
    let leads = leads
        .into_iter()
        .map(|(code, l)| TargetLead {
            code: code.to_string(),
            unit_ids: l.ids(),
            exceed_percent: percent(l.num, l.den),
        })
        .collect();
    Ok(GroupResult { units: results, leads })
}

/// The leader of a target criterion: exceeded its own target by the share
/// num / den = (A − T) / T, the highest of the group, and > 0.
struct Lead {
    num: i128,
    den: i128,
    /// (unit id, name), in Vietnamese name order.
    units: Vec<(i64, String)>,
}

impl Lead {
    fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.units.iter().map(|u| u.0).collect();
        ids.sort_unstable();
        ids
    }
}

fn find_leads<'a>(table: &'a ScoringTable, units: &[Checked<'_>]) -> BTreeMap<&'a str, Lead> {
    let mut leads = BTreeMap::new();
    for l in table.walk() {
        let mut best: Option<Lead> = None;
        for u in units {
            let Some(Entry::Target { actual, target }) = u.entries.get(l.code.as_str()) else { continue };
            let (num, den) = (i128::from((*actual - *target).hundredths()), i128::from(target.hundredths()));
            if num <= 0 {
                continue;
            }
            let name = u.unit.name.clone();
            match &mut best {
                Some(b) if num * b.den == b.num * den => b.units.push((u.unit.unit_id, name)),
                Some(b) if num * b.den < b.num * den => {}
                _ => best = Some(Lead { num, den, units: vec![(u.unit.unit_id, name)] }),
            }
        }
        if let Some(mut b) = best {
            b.units.sort_by(|x, y| crate::text::vi_cmp(&x.1, &y.1).then(x.0.cmp(&y.0)));
            leads.insert(l.code.as_str(), b);
        }
    }
    leads
}

struct Scored {
    points: Points,
    applicable_max: Points,
    status: LineStatus,
}

fn score_unit(table: &ScoringTable, leads: &BTreeMap<&str, Lead>, c: &Checked<'_>, on: bool) -> UnitResult {
    let mut ex = Explanation { steps: vec![], quiet: !on };
    let mut lines = Vec::new();
    let mut sections = Vec::new();
    let mut section_points = Vec::new();
    for s in &table.lines {
        let r = score_line(s, 0, leads, c, &mut lines, &mut ex);
        section_points.push((s, r));
    }
    let nominal = table.nominal_max();
    let content: Points = section_points.iter().map(|(_, r)| r.points).sum();
    let applicable_max: Points = section_points.iter().map(|(_, r)| r.applicable_max).sum();
    ex.push(
        Figure::Content,
        None,
        say!(
            on,
            "Điểm các phần: {} = {content} (tối đa {nominal}).",
            section_points.iter().map(|(s, r)| format!("{} {}", s.code, r.points)).collect::<Vec<_>>().join(" + ")
        ),
    );
    let scaled = table.not_applicable_rule == NotApplicableRule::Scaled;
    for (s, r) in &section_points {
        let basis = if scaled { r.applicable_max } else { s.max };
        sections.push(SectionResult {
            code: s.code.clone(),
            points: r.points,
            max: s.max,
            share_basis: basis,
            share_percent: if basis.is_positive() {
                percent(i128::from(r.points.hundredths()), i128::from(basis.hundredths()))
            } else {
                Points::ZERO
            },
        });
    }

    let (bonus_lines, bonus) = adjust(&c.bonus, table.bonus_cap, Figure::Bonus, "Điểm thưởng", &mut ex);
    let (penalty_lines, penalty) = adjust(&c.penalties, table.penalty_cap, Figure::Penalty, "Điểm trừ", &mut ex);

    let total = finish_total(table, content, bonus, penalty, "Tổng điểm", &mut ex, Figure::Total);
    let not_applicable: Vec<&str> =
        lines.iter().filter(|l| l.leaf && l.status == LineStatus::NotApplicable).map(|l| l.code.as_str()).collect();
    let compared_total = if not_applicable.is_empty() {
        ex.push(
            Figure::Compared,
            None,
            say!(on, "Mọi tiêu chí đều áp dụng: tổng dùng để so sánh là tổng điểm {total}."),
        );
        total
    } else if !scaled {
        ex.push(
            Figure::Compared,
            None,
            say!(
                on,
                "Tiêu chí không áp dụng ({}) tính 0 điểm, bảng không quy đổi: tổng dùng để so sánh là tổng điểm {total}.",
                not_applicable.join(", ")
            ),
        );
        total
    } else if !applicable_max.is_positive() {
        total // refused by compute: nothing applies
    } else {
        // content × nominal ÷ applicable, exact, rounded once.
        let sc = round_hundredths(
            i128::from(content.hundredths()) * i128::from(nominal.hundredths()),
            i128::from(applicable_max.hundredths()),
        );
        ex.push(
            Figure::Compared,
            None,
            say!(
                on,
                "Tiêu chí không áp dụng ({}): điểm tối đa áp dụng {applicable_max}/{nominal}; điểm nội dung quy đổi {content} × {nominal} ÷ {applicable_max} = {sc}.",
                not_applicable.join(", ")
            ),
        );
        finish_total(table, sc, bonus, penalty, "Tổng dùng để so sánh", &mut ex, Figure::Compared)
    };

    let class = classify(table, compared_total, total_name(total, compared_total), &sections, &mut ex);

    UnitResult {
        unit_id: c.unit.unit_id,
        name: c.unit.name.clone(),
        lines,
        sections,
        content,
        applicable_max,
        bonus_lines,
        bonus,
        penalty_lines,
        penalty,
        total,
        compared_total,
        class,
        rank: 0,
        explanation: ex,
    }
}

/// content + bonus − penalty; capped at the nominal maximum unless the table
/// allows more; never below 0.
fn finish_total(
    table: &ScoringTable,
    content: Points,
    bonus: Points,
    penalty: Points,
    what: &str,
    ex: &mut Explanation,
    figure: Figure,
) -> Points {
    let on = ex.is_written();
    let sum = content + bonus - penalty;
    let mut text = say!(on, "{what}: {content} + {bonus} (thưởng) − {penalty} (trừ) = {sum}");
    let mut t = sum;
    let nominal = table.nominal_max();
    if !table.may_exceed_nominal && t > nominal {
        text.push_str(&say!(on, ", vượt điểm tối đa {nominal} (bảng không cho vượt): tính {nominal}"));
        t = nominal;
    }
    if t.is_negative() {
        text.push_str(", tổng không thấp hơn 0: tính 0");
        t = Points::ZERO;
    }
    text.push('.');
    ex.push(figure, None, text);
    t
}

fn score_line(
    l: &Line,
    depth: u32,
    leads: &BTreeMap<&str, Lead>,
    c: &Checked<'_>,
    out: &mut Vec<LineResult>,
    ex: &mut Explanation,
) -> Scored {
    let on = ex.is_written();
    let code = l.code.as_str();
    let at = out.len();
    out.push(LineResult {
        code: l.code.clone(),
        depth,
        leaf: l.is_leaf(),
        points: Points::ZERO,
        max: l.max,
        applicable_max: l.max,
        status: LineStatus::NotEntered,
    });
    let r = if l.is_leaf() {
        let entry = c.entries.get(code).copied().unwrap_or(Entry::Missing);
        let (r, text) = score_leaf(l, entry, leads.get(code), c.unit.unit_id, on);
        ex.push(Figure::Line, Some(code), text);
        r
    } else {
        let kids: Vec<(&Line, Scored)> =
            l.children.iter().map(|ch| (ch, score_line(ch, depth + 1, leads, c, out, ex))).collect();
        let sum: Points = kids.iter().map(|(_, r)| r.points).sum();
        let app: Points = kids.iter().map(|(_, r)| r.applicable_max).sum::<Points>().min(l.max);
        let status = if kids.iter().all(|(_, r)| r.status == LineStatus::NotApplicable) {
            LineStatus::NotApplicable
        } else if kids.iter().any(|(_, r)| r.status == LineStatus::Scored) {
            LineStatus::Scored
        } else {
            LineStatus::NotEntered
        };
        let parts = if on {
            kids.iter().map(|(_, r)| r.points.to_string()).collect::<Vec<_>>().join(" + ")
        } else {
            String::new()
        };
        let mut text = if status == LineStatus::NotApplicable {
            say!(on, "{code}: không áp dụng (mọi tiêu chí con không áp dụng)")
        } else {
            say!(on, "{code}: cộng các tiêu chí con {parts} = {sum}")
        };
        let points = if sum > l.max {
            text.push_str(&say!(on, ", vượt điểm tối đa {}: tính {}", l.max, l.max));
            l.max
        } else {
            if status != LineStatus::NotApplicable {
                text.push_str(&say!(on, "/{}", l.max));
            }
            sum
        };
        if app < l.max && status != LineStatus::NotApplicable {
            text.push_str(&say!(on, " (phần áp dụng tối đa {app})"));
        }
        text.push('.');
        ex.push(Figure::Line, Some(code), text);
        Scored { points, applicable_max: app, status }
    };
    out[at].points = r.points;
    out[at].applicable_max = r.applicable_max;
    out[at].status = r.status;
    r
}

fn score_leaf(l: &Line, entry: Entry<'_>, lead: Option<&Lead>, unit_id: i64, on: bool) -> (Scored, String) {
    let c = l.code.as_str();
    let m = l.max;
    let scored = |points: Points| Scored { points, applicable_max: m, status: LineStatus::Scored };
    match entry {
        Entry::Missing => (
            Scored { points: Points::ZERO, applicable_max: m, status: LineStatus::NotEntered },
            say!(on, "{c}: chưa nhập giá trị: tính 0/{m}."),
        ),
        Entry::NotApplicable(why) => (
            Scored { points: Points::ZERO, applicable_max: Points::ZERO, status: LineStatus::NotApplicable },
            match why {
                NaReason::Declared => say!(on, "{c}: không áp dụng cho đơn vị."),
                NaReason::NoTarget => say!(on, "{c}: không áp dụng (đơn vị không được giao chỉ tiêu)."),
            },
        ),
        Entry::Level(lv) => (scored(lv.points), say!(on, "{c}: mức \"{}\": {}/{m}.", lv.label, lv.points)),
        Entry::Count(n) => {
            let (per, cap) = match &l.method {
                Some(super::table::Method::Count { per, cap }) => (*per, *cap),
                _ => (Points::ZERO, m),
            };
            let raw = per.times(n);
            if raw > cap {
                (scored(cap), say!(on, "{c}: {n} lần × {per} = {raw}, vượt mức trần {cap}: tính {cap}."))
            } else {
                (scored(raw), say!(on, "{c}: {n} lần × {per} = {raw}/{m}."))
            }
        }
        Entry::Manual { points, reason } => (scored(points), say!(on, "{c}: chấm {points}/{m}; lý do: {reason}.")),
        Entry::Target { actual, target } => {
            let (a, t, mh) =
                (i128::from(actual.hundredths()), i128::from(target.hundredths()), i128::from(m.hundredths()));
            let head = say!(on, "{c}: thực hiện {actual}/{target} chỉ tiêu");
            if a < t {
                // 0,5 · M · A / T
                let p = round_hundredths(mh * a, 2 * t);
                let text =
                    say!(on, "{head} (đạt {}%), chưa đạt chỉ tiêu; 0,5×{m}×{actual}/{target} = {p}.", percent(a, t));
                return (scored(p), text);
            }
            if a == t {
                let p = round_hundredths(mh, 2);
                return (scored(p), say!(on, "{head}, đạt chỉ tiêu; 0,5×{m} = {p}."));
            }
            let e = percent(a - t, t);
            let Some(ld) = lead else {
                // unreachable: a unit exceeding its target makes a leader exist
                return (scored(m), say!(on, "{head} (vượt {e}%), dẫn đầu: {m}."));
            };
            if (a - t) * ld.den == ld.num * t {
                let with = if on {
                    let others: Vec<&str> =
                        ld.units.iter().filter(|(id, _)| *id != unit_id).map(|(_, n)| n.as_str()).collect();
                    if others.is_empty() { String::new() } else { format!(" (cùng {})", others.join(", ")) }
                } else {
                    String::new()
                };
                return (
                    scored(m),
                    say!(on, "{head} (vượt {e}%), dẫn đầu về tiêu chí này{with}: được điểm tối đa {m}."),
                );
            }
            // 0,5·M + 0,5·M·e/e_lead with e = (A−T)/T, e_lead = num/den:
            // M · (T·num + (A−T)·den) / (2·T·num), exact, rounded once.
            let p = round_hundredths(mh * (t * ld.num + (a - t) * ld.den), 2 * t * ld.num);
            let le = percent(ld.num, ld.den);
            let text = say!(
                on,
                "{head} (vượt {e}%); đơn vị dẫn đầu vượt {le}% ({}); 0,5×{m} + 0,5×{m}×{e}/{le} = {p}.",
                ld.units.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
            );
            (scored(p.min(m)), text)
        }
    }
}

fn adjust(
    lines: &[(&AdjustLine, u32)],
    total_cap: Option<Points>,
    figure: Figure,
    what: &str,
    ex: &mut Explanation,
) -> (Vec<AdjustResult>, Points) {
    let on = ex.is_written();
    let mut out = Vec::with_capacity(lines.len());
    for (l, n) in lines {
        let raw = l.per.times(*n);
        let points = match l.cap {
            Some(cap) if raw > cap => {
                ex.push(
                    figure,
                    Some(&l.code),
                    say!(on, "{}: {n} lần × {} = {raw}, vượt mức tối đa của dòng {cap}: tính {cap}.", l.code, l.per),
                );
                cap
            }
            _ => {
                if *n > 0 {
                    ex.push(figure, Some(&l.code), say!(on, "{}: {n} lần × {} = {raw}.", l.code, l.per));
                }
                raw
            }
        };
        out.push(AdjustResult { code: l.code.clone(), count: *n, raw, points });
    }
    let scored: Vec<&AdjustResult> = out.iter().filter(|r| r.count > 0).collect();
    let sum: Points = scored.iter().map(|r| r.points).sum();
    let total = match total_cap {
        Some(cap) if sum > cap => {
            if on {
                let parts = scored.iter().map(|r| r.points.to_string()).collect::<Vec<_>>().join(" + ");
                ex.push(figure, None, format!("{what}: {parts} = {sum}, vượt mức tối đa {cap}: tính {cap}."));
            }
            cap
        }
        _ => {
            if scored.is_empty() {
                ex.push(figure, None, say!(on, "{what}: không có."));
            } else if scored.len() == 1 {
                ex.push(figure, None, say!(on, "{what}: {sum}."));
            } else if on {
                let parts = scored.iter().map(|r| r.points.to_string()).collect::<Vec<_>>().join(" + ");
                ex.push(figure, None, format!("{what}: {parts} = {sum}."));
            }
            sum
        }
    };
    (out, total)
}

/// How the class's and the rank's steps name the total they go by: the
/// compared total, called so when it is not the total.
fn total_name(total: Points, compared_total: Points) -> &'static str {
    if compared_total == total { "tổng" } else { "tổng dùng để so sánh" }
}

impl UnitResult {
    /// Whether the class and rank go by a total other than the total (some
    /// criteria do not apply and the table scales): then its steps
    /// ([`Figure::Compared`]) say how it was reached.
    pub fn compared_differs(&self) -> bool {
        self.compared_total != self.total
    }
}

/// Whether a section meets a share: points ≥ pct% of its basis, exactly.
fn meets_share(s: &SectionResult, pct: u32) -> bool {
    !s.share_basis.is_positive()
        || i128::from(s.points.hundredths()) * 100 >= i128::from(pct) * i128::from(s.share_basis.hundredths())
}

/// Why a unit misses a band, empty if it satisfies it; `what` names the total.
fn misses(b: &Band, total: Points, what: &str, sections: &[SectionResult]) -> Vec<String> {
    let mut why = Vec::new();
    if total < b.min_total {
        why.push(format!("{what} {total} < {}", b.min_total));
    }
    if let Some(pct) = b.min_section_share_pct {
        for s in sections.iter().filter(|s| !meets_share(s, pct)) {
            why.push(format!("phần {} đạt {}% < {pct}%", s.code, s.share_percent));
        }
    }
    why
}

fn classify(
    table: &ScoringTable,
    total: Points,
    what: &str,
    sections: &[SectionResult],
    ex: &mut Explanation,
) -> Option<ClassResult> {
    if table.bands.is_empty() {
        return None;
    }
    let on = ex.is_written();
    let mut missed = Vec::new();
    for b in &table.bands {
        let why = misses(b, total, what, sections);
        if why.is_empty() {
            let mut text = say!(on, "Xếp loại {}: {what} {total} ≥ {}", b.label, b.min_total);
            if let Some(pct) = b.min_section_share_pct {
                text.push_str(&say!(on, " và mọi phần ≥ {pct}%"));
                if let Some(low) =
                    sections.iter().filter(|s| s.share_basis.is_positive()).min_by_key(|s| s.share_percent)
                {
                    text.push_str(&say!(on, " (thấp nhất: phần {} đạt {}%)", low.code, low.share_percent));
                }
            }
            // what it would take to move up: the band just above
            if let Some((label, why)) = missed.last() {
                text.push_str(&say!(on, "; không đạt {label} vì {why}"));
            }
            text.push('.');
            ex.push(Figure::Class, None, text);
            return Some(ClassResult { code: b.code.clone(), label: b.label.clone() });
        }
        missed.push((b.label.as_str(), why.join(", ")));
    }
    let text = say!(
        on,
        "Không xếp loại được: {}.",
        missed.iter().map(|(l, w)| format!("không đạt {l} vì {w}")).collect::<Vec<_>>().join("; ")
    );
    ex.push(Figure::Class, None, text);
    None
}

/// The ranking key, greater is better: the compared total, then each tie-break.
fn key(table: &ScoringTable, r: &UnitResult) -> Vec<i64> {
    let mut k = vec![r.compared_total.hundredths()];
    for t in &table.tie_breaks {
        k.push(match t {
            TieBreak::MoreBonus => r.bonus.hundredths(),
            TieBreak::FewerPenalties => -r.penalty.hundredths(),
            TieBreak::MoreInSection(c) => r.points(c).hundredths(),
        });
    }
    k
}

fn tie_value(t: &TieBreak, r: &UnitResult) -> Points {
    match t {
        TieBreak::MoreBonus => r.bonus,
        TieBreak::FewerPenalties => r.penalty,
        TieBreak::MoreInSection(c) => r.points(c),
    }
}

/// Competition ranking: rank = 1 + the number of units with a strictly better key.
fn rank(table: &ScoringTable, results: &mut [UnitResult]) {
    let keys: Vec<Vec<i64>> = results.iter().map(|r| key(table, r)).collect();
    let n = results.len();
    for i in 0..n {
        let better = keys.iter().filter(|k| **k > keys[i]).count();
        let rank = 1 + better as u32;
        results[i].rank = rank;
        if !results[i].explanation.is_written() {
            continue;
        }
        let what = total_name(results[i].total, results[i].compared_total);
        let mut text = format!("Hạng {rank}/{n}: {what} {}", results[i].compared_total);
        let mut tied: Vec<usize> = (0..n).filter(|&j| j != i && keys[j][0] == keys[i][0]).collect();
        if tied.is_empty() {
            text.push('.');
            results[i].explanation.push(Figure::Rank, None, text);
            continue;
        }
        let names = |ix: &[usize]| ix.iter().map(|&j| results[j].name.as_str()).collect::<Vec<_>>().join(", ");
        text.push_str(&format!(", bằng {}.", names(&tied)));
        let mut steps = vec![text];
        for (t_ix, t) in table.tie_breaks.iter().enumerate() {
            if tied.is_empty() {
                break;
            }
            let k = t_ix + 1;
            let mut s = format!(
                "Tiêu chí phụ {k} ({}): {} {}; {}",
                t.label(),
                results[i].name,
                tie_value(t, &results[i]),
                tied.iter()
                    .map(|&j| format!("{} {}", results[j].name, tie_value(t, &results[j])))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let above: Vec<usize> = tied.iter().copied().filter(|&j| keys[j][k] > keys[i][k]).collect();
            let below: Vec<usize> = tied.iter().copied().filter(|&j| keys[j][k] < keys[i][k]).collect();
            if !below.is_empty() {
                s.push_str(&format!(" → xếp trên {}", names(&below)));
            }
            if !above.is_empty() {
                s.push_str(&format!(" → xếp dưới {}", names(&above)));
            }
            s.push('.');
            steps.push(s);
            tied.retain(|&j| keys[j][k] == keys[i][k]);
        }
        if !tied.is_empty() {
            steps.push(format!(
                "Vẫn bằng {} sau mọi tiêu chí phụ: đồng hạng {rank} (không xếp theo tên).",
                names(&tied)
            ));
        }
        for s in steps {
            results[i].explanation.push(Figure::Rank, None, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::input::RawValue;
    use super::super::sample::sample_table;
    use super::super::table::Method;
    use super::*;

    /// The sample table and variants of it with other cap, scaling and tie-break rules.
    fn variant(i: u8) -> ScoringTable {
        let mut t = sample_table();
        match i {
            1 => t.may_exceed_nominal = false,
            2 => t.not_applicable_rule = NotApplicableRule::Unscaled,
            3 => {
                t.bonus_cap = None;
                t.penalty_cap = Some(Points::whole(15));
            }
            4 => t.tie_breaks = vec![TieBreak::MoreInSection("II".into()), TieBreak::FewerPenalties],
            5 => t.tie_breaks = vec![],
            _ => {}
        }
        t
    }

    fn leaves(t: &ScoringTable) -> Vec<&Line> {
        t.walk().into_iter().filter(|l| l.is_leaf()).collect()
    }

    /// Random material for one unit: per leaf (selector, a, b), bonus and penalty counts.
    type Seed = (Vec<(u8, u32, u32)>, Vec<u32>, Vec<u32>);

    fn seed() -> impl Strategy<Value = Seed> {
        let t = sample_table();
        (
            vec((0u8..12, any::<u32>(), any::<u32>()), leaves(&t).len()),
            vec(0u32..5, t.bonus.len()),
            vec(0u32..4, t.penalties.len()),
        )
    }

    /// Turns a seed into a valid unit input: selector 0 leaves the line
    /// empty, 1 marks it not applicable, 2 puts a target criterion exactly
    /// on target; targets 1 to 1.000, results 0 to 2.000.
    fn make(t: &ScoringTable, id: i64, s: &Seed) -> UnitInput {
        let mut u = UnitInput { unit_id: id, name: format!("Đơn vị {id}"), ..Default::default() };
        for (l, (sel, a, b)) in leaves(t).into_iter().zip(&s.0) {
            let code = l.code.clone();
            if *sel == 0 {
                continue;
            }
            if *sel == 1 {
                u.values.insert(code, RawValue::NotApplicable);
                continue;
            }
            let v = match l.method.as_ref().unwrap() {
                Method::Qualitative { levels } => RawValue::Level(*a as usize % levels.len()),
                Method::Count { .. } => RawValue::Count(a % 8),
                Method::Manual => RawValue::Manual {
                    points: Points::from_hundredths(i64::from(*a) % (l.max.hundredths() + 1)),
                    reason: "theo hồ sơ".into(),
                },
                Method::Target => {
                    let target = Points::from_hundredths(1 + i64::from(*b) % 100_000);
                    u.targets.insert(code.clone(), target);
                    let actual = if *sel == 2 { target } else { Points::from_hundredths(i64::from(*a) % 200_001) };
                    RawValue::Actual { actual }
                }
            };
            u.values.insert(code, v);
        }
        for (l, n) in t.bonus.iter().zip(&s.1) {
            u.bonus.insert(l.code.clone(), *n);
        }
        for (l, n) in t.penalties.iter().zip(&s.2) {
            u.penalties.insert(l.code.clone(), *n);
        }
        u
    }

    /// A group: a table variant and units, some of them exact copies of
    /// others (under another id and name) so that ties are common.
    fn group() -> impl Strategy<Value = (ScoringTable, Vec<UnitInput>)> {
        (0u8..6, vec(seed(), 1..7), 0usize..4).prop_map(|(v, seeds, dups)| {
            let t = variant(v);
            let mut units: Vec<UnitInput> = seeds.iter().enumerate().map(|(i, s)| make(&t, i as i64 + 1, s)).collect();
            for (d, s) in seeds.iter().take(dups).enumerate() {
                units.push(make(&t, 100 + d as i64, s));
            }
            (t, units)
        })
    }

    fn run(t: &ScoringTable, units: &[UnitInput]) -> Option<GroupResult> {
        match compute(t, units) {
            Ok(g) => Some(g),
            // the only refusal possible for generated input: nothing applies to a unit
            Err(e) => {
                assert!(e.iter().all(|e| e.message.contains("không tiêu chí nào áp dụng")), "{e:?}");
                None
            }
        }
    }

    fn unit(g: &GroupResult, id: i64) -> &UnitResult {
        g.units.iter().find(|u| u.unit_id == id).unwrap()
    }

    /// Raises one raw value of a leaf, if it can be raised.
    fn raise(t: &ScoringTable, u: &mut UnitInput, leaf: usize, d: u32) -> bool {
        let l = leaves(t)[leaf % leaves(t).len()];
        let code = l.code.clone();
        let d = d.max(1);
        let new = match (l.method.as_ref().unwrap(), u.values.get(&code)) {
            (_, Some(RawValue::NotApplicable)) => return false,
            (Method::Count { .. }, Some(RawValue::Count(n))) => RawValue::Count(n + d % 5 + 1),
            (Method::Count { .. }, _) => RawValue::Count(d % 5 + 1),
            (Method::Qualitative { .. }, Some(RawValue::Level(0))) => return false,
            (Method::Qualitative { .. }, Some(RawValue::Level(i))) => RawValue::Level(d as usize % i),
            (Method::Qualitative { levels }, _) => RawValue::Level(d as usize % levels.len()),
            (Method::Manual, Some(RawValue::Manual { points, .. })) => RawValue::Manual {
                points: (*points + Points::from_hundredths(i64::from(d))).min(l.max),
                reason: "chấm lại".into(),
            },
            (Method::Manual, _) => RawValue::Manual {
                points: Points::from_hundredths(i64::from(d) % (l.max.hundredths() + 1)),
                reason: "x".into(),
            },
            (Method::Target, Some(RawValue::Actual { actual })) => {
                RawValue::Actual { actual: *actual + Points::from_hundredths(i64::from(d)) }
            }
            (Method::Target, _) => {
                if !u.targets.contains_key(&code) {
                    return false;
                }
                RawValue::Actual { actual: Points::from_hundredths(i64::from(d)) }
            }
        };
        u.values.insert(code, new);
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Lines within their maxima, parents the capped sum of their
        /// children, bonus and penalty within their caps, totals within the
        /// table's maximum and never negative.
        #[test]
        fn totals_never_exceed_the_caps((t, units) in group()) {
            let Some(g) = run(&t, &units) else { return Ok(()) };
            prop_assert_eq!(g.units.len(), units.len());
            for r in &g.units {
                for l in t.walk() {
                    let lr = r.line(&l.code).unwrap();
                    prop_assert!(lr.points >= Points::ZERO && lr.points <= l.max, "{} {:?}", l.code, lr);
                    prop_assert!(lr.points <= lr.applicable_max && lr.applicable_max <= l.max);
                    if !l.is_leaf() {
                        let sum: Points = l.children.iter().map(|c| r.points(&c.code)).sum();
                        prop_assert_eq!(lr.points, sum.min(l.max));
                    }
                }
                for (b, line) in r.bonus_lines.iter().zip(&t.bonus) {
                    prop_assert_eq!(b.points, line.cap.map_or(b.raw, |c| b.raw.min(c)));
                }
                for (b, line) in r.penalty_lines.iter().zip(&t.penalties) {
                    prop_assert_eq!(b.points, line.cap.map_or(b.raw, |c| b.raw.min(c)));
                }
                if let Some(c) = t.bonus_cap { prop_assert!(r.bonus <= c); }
                if let Some(c) = t.penalty_cap { prop_assert!(r.penalty <= c); }
                if let Some(c) = t.max_bonus() { prop_assert!(r.bonus <= c); }
                prop_assert!(r.content <= t.nominal_max() && r.applicable_max <= t.nominal_max());
                prop_assert!(r.total >= Points::ZERO && r.compared_total >= Points::ZERO);
                if let Some(m) = t.max_total() {
                    prop_assert!(r.total <= m && r.compared_total <= m, "{} {} > {}", r.total, r.compared_total, m);
                }
                if !t.may_exceed_nominal {
                    prop_assert!(r.total <= t.nominal_max() && r.compared_total <= t.nominal_max());
                }
            }
        }

        /// Sorting by (compared total, tie-break keys) gives non-decreasing
        /// ranks; equal keys give equal ranks; rank = 1 + the number strictly better.
        #[test]
        fn ranking_is_a_total_order_consistent_with_the_tie_breaks((t, units) in group()) {
            let Some(g) = run(&t, &units) else { return Ok(()) };
            let keyed: Vec<(Vec<i64>, u32)> = g.units.iter().map(|r| (key(&t, r), r.rank)).collect();
            // the result is listed best first
            prop_assert!(keyed.windows(2).all(|w| w[0].1 <= w[1].1 && w[0].0 >= w[1].0));
            let mut sorted = keyed.clone();
            sorted.sort_by(|a, b| b.0.cmp(&a.0));
            prop_assert!(sorted.windows(2).all(|w| w[0].1 <= w[1].1));
            for (ka, ra) in &keyed {
                prop_assert_eq!(*ra as usize, 1 + keyed.iter().filter(|(kb, _)| kb > ka).count());
                for (kb, rb) in &keyed {
                    prop_assert_eq!(ka == kb, ra == rb);
                }
            }
        }

        /// Raising one of a unit's raw values (a count, a level, manual
        /// points, an actual result, even the leader's) or a bonus count never
        /// lowers its own points; a penalty never raises them. Raising an
        /// actual result never raises another unit's points on that line.
        #[test]
        fn raising_a_value_never_lowers_own_points(
            (t, units) in group(), who in any::<usize>(), leaf in any::<usize>(), d in 1u32..50_000, adj in 0usize..3
        ) {
            let Some(before) = run(&t, &units) else { return Ok(()) };
            let i = who % units.len();
            let id = units[i].unit_id;
            let mut raised = units.clone();
            if !raise(&t, &mut raised[i], leaf, d) { return Ok(()) };
            let Some(after) = run(&t, &raised) else { return Ok(()) };
            let (b, a) = (unit(&before, id), unit(&after, id));
            let code = &leaves(&t)[leaf % leaves(&t).len()].code;
            prop_assert!(a.points(code) >= b.points(code), "{}: {} → {}", code, b.points(code), a.points(code));
            prop_assert!(a.content >= b.content);
            prop_assert!(a.total >= b.total);
            prop_assert!(a.compared_total >= b.compared_total);
            if matches!(t.find(code).unwrap().method, Some(Method::Target)) {
                for o in units.iter().filter(|o| o.unit_id != id) {
                    prop_assert!(unit(&after, o.unit_id).points(code) <= unit(&before, o.unit_id).points(code));
                }
            }

            let mut more = units.clone();
            let (lines, map) = if adj == 0 { (&t.bonus, &mut more[i].bonus) } else { (&t.penalties, &mut more[i].penalties) };
            let l = &lines[d as usize % lines.len()];
            *map.entry(l.code.clone()).or_default() += 1 + d % 3;
            let Some(after) = run(&t, &more) else { return Ok(()) };
            let a = unit(&after, id);
            if adj == 0 {
                prop_assert!(a.bonus >= b.bonus && a.total >= b.total && a.compared_total >= b.compared_total);
            } else {
                prop_assert!(a.penalty >= b.penalty && a.total <= b.total && a.compared_total <= b.compared_total);
            }
        }

        /// The same input in any order gives the same result, every time.
        #[test]
        fn compute_is_deterministic_and_independent_of_input_order(
            (t, units) in group().prop_flat_map(|(t, u)| (Just(t), Just(u.clone()), Just(u).prop_shuffle()))
                .prop_map(|(t, u, s)| (t, (u, s)))
        ) {
            let (units, shuffled) = units;
            let a = compute(&t, &units);
            prop_assert_eq!(&a, &compute(&t, &units));
            prop_assert_eq!(&a, &compute(&t, &shuffled));
        }

        /// Leaving explanations out changes no figure: with nobody's, every
        /// explanation is empty; with one unit's, that unit's is the full one.
        #[test]
        fn explaining_fewer_units_changes_no_figure((t, units) in group()) {
            let all = compute(&t, &units);
            let strip = |g: &GroupResult| {
                let mut g = g.clone();
                for u in &mut g.units {
                    u.explanation = Explanation::default();
                }
                g
            };
            match &all {
                Err(e) => prop_assert_eq!(e, &compute_with(&t, &units, Explain::Nobody).unwrap_err()),
                Ok(all) => {
                    let none = compute_with(&t, &units, Explain::Nobody).expect("same as compute");
                    prop_assert!(none.units.iter().all(|u| u.explanation.steps.is_empty()));
                    prop_assert_eq!(strip(all), strip(&none));
                    let id = all.units[all.units.len() / 2].unit_id;
                    let one = compute_with(&t, &units, Explain::Unit(id)).expect("same as compute");
                    prop_assert_eq!(strip(all), strip(&one));
                    for (a, o) in all.units.iter().zip(&one.units) {
                        if a.unit_id == id {
                            prop_assert!(!a.explanation.steps.is_empty());
                            prop_assert_eq!(&a.explanation.steps, &o.explanation.steps);
                        } else {
                            prop_assert!(o.explanation.steps.is_empty());
                        }
                    }
                }
            }
        }

        /// The leading unit of a target criterion gets its maximum; a unit
        /// exceeding its target gets at least half of it.
        #[test]
        fn the_leader_gets_the_maximum((t, units) in group()) {
            let Some(g) = run(&t, &units) else { return Ok(()) };
            for lead in &g.leads {
                let max = t.find(&lead.code).unwrap().max;
                for id in &lead.unit_ids {
                    prop_assert_eq!(unit(&g, *id).points(&lead.code), max);
                }
                for u in &units {
                    if let (Some(RawValue::Actual { actual }), Some(target)) = (u.values.get(&lead.code), u.targets.get(&lead.code))
                        && actual >= target
                    {
                        prop_assert!(unit(&g, u.unit_id).points(&lead.code) >= round_hundredths(i128::from(max.hundredths()), 2));
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_duplicate_units_bad_tables_and_units_with_nothing_applicable() {
        let t = sample_table();
        let u = UnitInput { unit_id: 1, name: "Sở Tư pháp".into(), ..Default::default() };
        let e = compute(&t, &[u.clone(), u.clone()]).unwrap_err();
        assert!(e[0].message.contains("Đơn vị mã 1 (Sở Tư pháp) có hai bộ điểm"), "{e:?}");

        let mut bad = t.clone();
        bad.bands.swap(0, 1);
        assert!(compute(&bad, std::slice::from_ref(&u)).unwrap_err()[0].message.contains("không bao giờ được xếp"));

        let mut none = u.clone();
        for l in leaves(&t) {
            if !matches!(l.method, Some(Method::Target)) {
                none.values.insert(l.code.clone(), RawValue::NotApplicable);
            }
        }
        let e = compute(&t, &[none]).unwrap_err();
        assert!(e[0].message.contains("Sở Tư pháp: không tiêu chí nào áp dụng"), "{e:?}");

        // nothing entered yet: every line counts 0 and applies
        let g = compute(&t, &[u]).unwrap();
        assert_eq!(g.units[0].total, Points::ZERO);
        assert_eq!(g.units[0].line("II.1").unwrap().status, LineStatus::NotEntered);
        assert_eq!(g.units[0].class.as_ref().unwrap().code, "khong_hoan_thanh");
        assert!(compute(&t, &[]).unwrap().units.is_empty());
    }

    #[test]
    fn tied_leaders_both_get_the_maximum_and_equal_results_share_a_rank() {
        let t = sample_table();
        let mk = |id: i64, name: &str, tg: i64, a: i64| {
            let mut u = UnitInput { unit_id: id, name: name.into(), ..Default::default() };
            u.targets.insert("I.1".into(), Points::whole(tg));
            u.values.insert("I.1".into(), RawValue::Actual { actual: Points::whole(a) });
            u
        };
        // both exceed by 50%: 150/100 and 300/200
        let g = compute(&t, &[mk(1, "Sở B", 100, 150), mk(2, "Sở A", 200, 300), mk(3, "Sở C", 100, 125)]).unwrap();
        assert_eq!(g.leads[0].unit_ids, vec![1, 2]);
        assert_eq!(unit(&g, 1).points("I.1"), Points::whole(300));
        assert_eq!(unit(&g, 2).points("I.1"), Points::whole(300));
        // 150 + 150 × 25/50 = 225
        assert_eq!(unit(&g, 3).points("I.1"), Points::whole(225));
        assert_eq!((unit(&g, 1).rank, unit(&g, 2).rank, unit(&g, 3).rank), (1, 1, 3));
        // shared rank listed by name
        assert_eq!(g.units.iter().map(|u| u.unit_id).collect::<Vec<_>>(), vec![2, 1, 3]);
        let s: Vec<&str> = unit(&g, 1).explanation.for_line("I.1").map(|s| s.text.as_str()).collect();
        assert_eq!(
            s,
            vec![
                "I.1: thực hiện 150/100 chỉ tiêu (vượt 50%), dẫn đầu về tiêu chí này (cùng Sở A): được điểm tối đa 300."
            ]
        );
    }
}
