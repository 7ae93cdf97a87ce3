//! The calendar of a group's year: the dates of the covenant signing, the
//! mid-year review, the self-assessment deadline, the head review, the
//! explanations, the appraisal, the deliberation and the year-end review.
//!
//! The organising authority sets, for each year and each event, a default
//! date and a window (earliest and latest date) for all its groups. A group
//! may give an event a date of its own inside the window; the effective date
//! is the group's own date, else the authority's default.
//!
//! Rules (each refusal says what to fix, in Vietnamese):
//! - every date lies in its event's span of the emulation year ([`Event::bounds`]):
//!   the covenant from 1 October of the year before (it may be signed at the
//!   previous year-end review) to 31 December; the mid-year review within the
//!   year; the six year-end events from 1 January to 31 March of the next year;
//! - a window holds its default: earliest ≤ default ≤ latest;
//! - the order of [`RULES`], applied transitively (when an event in between has
//!   no date, its neighbours are still compared): covenant < mid-year review <
//!   self-assessment deadline ≤ head review ≤ explanation ≤ appraisal ≤
//!   deliberation, and appraisal ≤ year-end review. The deliberation and the
//!   year-end review are not ordered between themselves: groups often deliberate
//!   at the year-end meeting, some before it, some after.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::text::format_date;

/// An event of a group's year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    CovenantSigning,
    MidYearReview,
    SelfAssessmentDeadline,
    HeadReview,
    Explanation,
    Appraisal,
    Deliberation,
    YearEndReview,
}

impl Event {
    /// In the order of the year.
    pub const ALL: &'static [Event] = &[
        Event::CovenantSigning,
        Event::MidYearReview,
        Event::SelfAssessmentDeadline,
        Event::HeadReview,
        Event::Explanation,
        Event::Appraisal,
        Event::Deliberation,
        Event::YearEndReview,
    ];

    /// The code stored in the database and used by the API.
    pub fn code(self) -> &'static str {
        match self {
            Event::CovenantSigning => "covenant_signing",
            Event::MidYearReview => "mid_year_review",
            Event::SelfAssessmentDeadline => "self_assessment_deadline",
            Event::HeadReview => "head_review",
            Event::Explanation => "explanation",
            Event::Appraisal => "appraisal",
            Event::Deliberation => "deliberation",
            Event::YearEndReview => "year_end_review",
        }
    }

    /// The Vietnamese label shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Event::CovenantSigning => "Ký kết giao ước thi đua",
            Event::MidYearReview => "Sơ kết 6 tháng",
            Event::SelfAssessmentDeadline => "Hạn tự chấm điểm",
            Event::HeadReview => "Đơn vị trưởng tổng hợp, đối chiếu",
            Event::Explanation => "Giải trình",
            Event::Appraisal => "Thẩm định",
            Event::Deliberation => "Bình xét",
            Event::YearEndReview => "Tổng kết",
        }
    }

    /// Parses a code, or a Vietnamese label (with or without diacritics).
    pub fn parse(s: &str) -> Option<Event> {
        let f = crate::text::fold(s);
        Event::ALL.iter().copied().find(|e| e.code() == s.trim() || crate::text::fold(e.label()) == f)
    }

    /// The first and last day any calendar may give this event in an emulation year.
    pub fn bounds(self, year: i32) -> (NaiveDate, NaiveDate) {
        let day = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        match self {
            Event::CovenantSigning => (day(year - 1, 10, 1), day(year, 12, 31)),
            Event::MidYearReview => (day(year, 1, 1), day(year, 12, 31)),
            _ => (day(year, 1, 1), day(year + 1, 3, 31)),
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The authority's default date of an event and the window a group may move it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub default_on: NaiveDate,
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

impl Window {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.earliest <= d && d <= self.latest
    }
}

/// Builds and checks the window of one event in a year. An empty earliest or
/// latest date is the default date itself (groups may not move the event that way).
pub fn window(
    event: Event,
    year: i32,
    default_on: NaiveDate,
    earliest: Option<NaiveDate>,
    latest: Option<NaiveDate>,
) -> Result<Window, Vec<Invalid>> {
    let w = Window { default_on, earliest: earliest.unwrap_or(default_on), latest: latest.unwrap_or(default_on) };
    let l = event.label();
    let mut errors = Vec::new();
    if let Err(e) = check_in_year(event, year, default_on) {
        errors.push(e);
    }
    if w.earliest > w.default_on {
        errors.push(Invalid::new(
            l,
            format!(
                "{l}: ngày sớm nhất ({}) phải trước hoặc bằng ngày mặc định ({}).",
                format_date(w.earliest),
                format_date(w.default_on)
            ),
        ));
    }
    if w.latest < w.default_on {
        errors.push(Invalid::new(
            l,
            format!(
                "{l}: ngày muộn nhất ({}) phải sau hoặc bằng ngày mặc định ({}).",
                format_date(w.latest),
                format_date(w.default_on)
            ),
        ));
    }
    let (lo, hi) = event.bounds(year);
    for (what, d) in [("ngày sớm nhất", w.earliest), ("ngày muộn nhất", w.latest)] {
        if (d < lo || d > hi) && errors.is_empty() {
            errors.push(Invalid::new(
                l,
                format!(
                    "{l}: {what} ({}) phải trong khoảng {} – {} của năm thi đua {year}.",
                    format_date(d),
                    format_date(lo),
                    format_date(hi)
                ),
            ));
        }
    }
    if errors.is_empty() { Ok(w) } else { Err(errors) }
}

/// Checks that a date lies in the event's span of the emulation year.
pub fn check_in_year(event: Event, year: i32, d: NaiveDate) -> Result<(), Invalid> {
    let (lo, hi) = event.bounds(year);
    if d < lo || d > hi {
        let l = event.label();
        return Err(Invalid::new(
            l,
            format!(
                "{l}: ngày {} không thuộc năm thi đua {year}. Hãy chọn một ngày từ {} đến {}.",
                format_date(d),
                format_date(lo),
                format_date(hi)
            ),
        ));
    }
    Ok(())
}

/// Checks that a group's own date lies in the authority's window.
pub fn check_in_window(event: Event, w: &Window, d: NaiveDate) -> Result<(), Invalid> {
    if !w.contains(d) {
        let l = event.label();
        let msg = if w.earliest == w.latest {
            format!(
                "{l}: cơ quan tổ chức không cho dời ngày {} (đang chọn {}). Hãy để theo lịch chung.",
                format_date(w.default_on),
                format_date(d)
            )
        } else {
            format!(
                "{l}: ngày {} nằm ngoài khoảng cơ quan tổ chức cho phép. Hãy chọn một ngày từ {} đến {}.",
                format_date(d),
                format_date(w.earliest),
                format_date(w.latest)
            )
        };
        return Err(Invalid::new(l, msg));
    }
    Ok(())
}

/// "`after` comes after `before`" (strictly, or on the same day or later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub before: Event,
    pub after: Event,
    pub strict: bool,
}

/// The order of the year; [`check_order`] applies it transitively.
pub const RULES: &[Rule] = &[
    Rule { before: Event::CovenantSigning, after: Event::MidYearReview, strict: true },
    Rule { before: Event::MidYearReview, after: Event::SelfAssessmentDeadline, strict: true },
    Rule { before: Event::SelfAssessmentDeadline, after: Event::HeadReview, strict: false },
    Rule { before: Event::HeadReview, after: Event::Explanation, strict: false },
    Rule { before: Event::Explanation, after: Event::Appraisal, strict: false },
    Rule { before: Event::Appraisal, after: Event::Deliberation, strict: false },
    Rule { before: Event::Appraisal, after: Event::YearEndReview, strict: false },
];

impl Rule {
    /// The rule in words, for the calendar pages.
    pub fn describe(&self) -> String {
        let how = if self.strict { "sau" } else { "cùng ngày hoặc sau" };
        format!("{}: {how} {}", self.after.label(), self.before.label())
    }

    fn holds(&self, before: NaiveDate, after: NaiveDate) -> bool {
        if self.strict { before < after } else { before <= after }
    }

    fn message(&self, before: NaiveDate, after: NaiveDate) -> Invalid {
        let (a, b) = (self.after.label(), self.before.label());
        let (da, db) = (format_date(after), format_date(before));
        let msg = if self.strict {
            format!("Ngày \"{a}\" ({da}) phải sau ngày \"{b}\" ({db}). Hãy dời một trong hai ngày.")
        } else {
            format!("Ngày \"{a}\" ({da}) không được trước ngày \"{b}\" ({db}). Hãy dời một trong hai ngày.")
        };
        Invalid::new(a, msg)
    }
}

fn index(e: Event) -> usize {
    Event::ALL.iter().position(|x| *x == e).unwrap_or(0)
}

/// Whether `a` must come before `b`, by [`RULES`] and their consequences:
/// `Some(true)` strictly, `Some(false)` on the same day or later, `None` unordered.
pub fn must_precede(a: Event, b: Event) -> Option<bool> {
    closure()[index(a)][index(b)]
}

fn closure() -> [[Option<bool>; 8]; 8] {
    let mut rel = [[None; 8]; 8];
    for r in RULES {
        rel[index(r.before)][index(r.after)] = Some(r.strict);
    }
    for k in 0..8 {
        for i in 0..8 {
            for j in 0..8 {
                if let (Some(s1), Some(s2)) = (rel[i][k], rel[k][j]) {
                    let s = s1 || s2;
                    rel[i][j] = Some(rel[i][j].is_some_and(|x: bool| x) || s);
                }
            }
        }
    }
    rel
}

/// Checks the order of a set of dates (events without a date are skipped).
/// Broken rules between neighbours are reported first; only when they all
/// hold are events compared across a missing neighbour.
pub fn check_order(dates: &[(Event, NaiveDate)]) -> Result<(), Vec<Invalid>> {
    let date = |e: Event| dates.iter().find(|d| d.0 == e).map(|d| d.1);
    let mut errors = Vec::new();
    for r in RULES {
        if let (Some(b), Some(a)) = (date(r.before), date(r.after))
            && !r.holds(b, a)
        {
            errors.push(r.message(b, a));
        }
    }
    if errors.is_empty() {
        let rel = closure();
        for (i, &x) in Event::ALL.iter().enumerate() {
            for (j, &y) in Event::ALL.iter().enumerate() {
                if let (Some(strict), Some(b), Some(a)) = (rel[i][j], date(x), date(y)) {
                    let r = Rule { before: x, after: y, strict };
                    if !r.holds(b, a) {
                        errors.push(r.message(b, a));
                    }
                }
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// The effective date of each event: the group's own, else the authority's
/// default; in the order of the year, events without either left out.
pub fn effective(windows: &[(Event, Window)], own: &[(Event, NaiveDate)]) -> Vec<(Event, NaiveDate)> {
    Event::ALL
        .iter()
        .filter_map(|&e| {
            own.iter()
                .find(|o| o.0 == e)
                .map(|o| o.1)
                .or_else(|| windows.iter().find(|w| w.0 == e).map(|w| w.1.default_on))
                .map(|d| (e, d))
        })
        .collect()
}

/// Checks an authority's defaults for a year: each window (see [`window`]) and the order of the default dates.
pub fn check_defaults(year: i32, windows: &[(Event, Window)]) -> Result<(), Vec<Invalid>> {
    let mut errors = Vec::new();
    for (e, w) in windows {
        if let Err(mut v) = window(*e, year, w.default_on, Some(w.earliest), Some(w.latest)) {
            errors.append(&mut v);
        }
    }
    if errors.is_empty() {
        let defaults: Vec<(Event, NaiveDate)> = windows.iter().map(|(e, w)| (*e, w.default_on)).collect();
        check_order(&defaults)?;
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Checks a group's own dates against the authority's windows, then the order
/// of the group's effective calendar.
pub fn check_group(windows: &[(Event, Window)], own: &[(Event, NaiveDate)]) -> Result<(), Vec<Invalid>> {
    let mut errors = Vec::new();
    for (e, d) in own {
        match windows.iter().find(|w| w.0 == *e) {
            Some((_, w)) => {
                if let Err(x) = check_in_window(*e, w, *d) {
                    errors.push(x);
                }
            }
            None => errors.push(Invalid::new(
                e.label(),
                format!(
                    "{}: cơ quan tổ chức chưa đặt lịch chung cho việc này nên cụm, khối chưa thể chọn ngày. \
                     Hãy để trống hoặc đề nghị cơ quan thường trực đặt lịch chung trước.",
                    e.label()
                ),
            )),
        }
    }
    if errors.is_empty() {
        check_order(&effective(windows, own))?;
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, Actor, Grant, GroupCtx, Role, Target, decide};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).expect("date")
    }

    fn w(default_on: NaiveDate, earliest: NaiveDate, latest: NaiveDate) -> Window {
        Window { default_on, earliest, latest }
    }

    /// A plausible calendar for 2026.
    fn sample() -> Vec<(Event, Window)> {
        use Event::*;
        vec![
            (CovenantSigning, w(d(2026, 3, 15), d(2026, 3, 1), d(2026, 3, 31))),
            (MidYearReview, w(d(2026, 7, 15), d(2026, 7, 1), d(2026, 7, 31))),
            (SelfAssessmentDeadline, w(d(2026, 11, 15), d(2026, 11, 10), d(2026, 11, 20))),
            (HeadReview, w(d(2026, 11, 30), d(2026, 11, 25), d(2026, 12, 5))),
            (Explanation, w(d(2026, 12, 5), d(2026, 12, 1), d(2026, 12, 10))),
            (Appraisal, w(d(2026, 12, 15), d(2026, 12, 15), d(2026, 12, 15))),
            (Deliberation, w(d(2026, 12, 20), d(2026, 12, 16), d(2026, 12, 31))),
            (YearEndReview, w(d(2026, 12, 20), d(2026, 12, 16), d(2027, 1, 15))),
        ]
    }

    #[test]
    fn codes_and_labels_round_trip() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.code()), Some(*e));
            assert_eq!(Event::parse(e.label()), Some(*e));
        }
        assert_eq!(Event::parse("so ket 6 thang"), Some(Event::MidYearReview));
        assert_eq!(Event::parse("tong ket"), Some(Event::YearEndReview));
        assert_eq!(Event::parse("họp mặt"), None);
        assert_eq!(Event::ALL.len(), 8);
    }

    #[test]
    fn the_sample_calendar_is_valid() {
        let s = sample();
        assert_eq!(check_defaults(2026, &s), Ok(()));
        assert_eq!(check_group(&s, &[]), Ok(()));
        // a group moves its covenant signing within the window
        assert_eq!(check_group(&s, &[(Event::CovenantSigning, d(2026, 3, 25))]), Ok(()));
        assert_eq!(
            effective(&s, &[(Event::CovenantSigning, d(2026, 3, 25))])[0],
            (Event::CovenantSigning, d(2026, 3, 25))
        );
    }

    #[test]
    fn a_group_stays_within_the_window() {
        let s = sample();
        let e = check_group(&s, &[(Event::CovenantSigning, d(2026, 4, 2))]).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("nằm ngoài khoảng"), "{}", e[0].message);
        assert!(e[0].message.contains("01/03/2026") && e[0].message.contains("31/03/2026"), "{}", e[0].message);
        // a fixed date cannot move at all
        let e = check_group(&s, &[(Event::Appraisal, d(2026, 12, 16))]).unwrap_err();
        assert!(e[0].message.contains("không cho dời"), "{}", e[0].message);
        // an event the authority has not scheduled cannot get a group date
        let partial: Vec<_> = s.iter().copied().filter(|x| x.0 != Event::Explanation).collect();
        let e = check_group(&partial, &[(Event::Explanation, d(2026, 12, 5))]).unwrap_err();
        assert!(e[0].message.contains("chưa đặt lịch chung"), "{}", e[0].message);
    }

    #[test]
    fn a_group_keeps_the_order() {
        // both dates inside their windows, but the head review before the self-assessment deadline
        let mut s = sample();
        s[2].1.latest = d(2026, 11, 28);
        let e =
            check_group(&s, &[(Event::SelfAssessmentDeadline, d(2026, 11, 28)), (Event::HeadReview, d(2026, 11, 25))])
                .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].field, "Đơn vị trưởng tổng hợp, đối chiếu");
        assert!(e[0].message.contains("không được trước"), "{}", e[0].message);
        assert!(e[0].message.contains("25/11/2026") && e[0].message.contains("28/11/2026"));
        // the same day is fine for a non-strict rule
        assert_eq!(
            check_order(&[(Event::SelfAssessmentDeadline, d(2026, 11, 28)), (Event::HeadReview, d(2026, 11, 28))]),
            Ok(())
        );
        // but not for a strict one
        let e =
            check_order(&[(Event::MidYearReview, d(2026, 7, 1)), (Event::YearEndReview, d(2026, 7, 1))]).unwrap_err();
        assert!(e[0].message.contains("phải sau"), "{}", e[0].message);
    }

    #[test]
    fn order_holds_across_missing_events() {
        // no head review, explanation or appraisal: the deadline is still compared with the deliberation
        let e =
            check_order(&[(Event::SelfAssessmentDeadline, d(2026, 12, 20)), (Event::Deliberation, d(2026, 12, 10))])
                .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "Bình xét");
        assert_eq!(must_precede(Event::CovenantSigning, Event::YearEndReview), Some(true));
        assert_eq!(must_precede(Event::SelfAssessmentDeadline, Event::Deliberation), Some(false));
        assert_eq!(must_precede(Event::Deliberation, Event::YearEndReview), None);
        assert_eq!(must_precede(Event::YearEndReview, Event::Deliberation), None);
        assert_eq!(must_precede(Event::YearEndReview, Event::CovenantSigning), None);
    }

    #[test]
    fn dates_belong_to_the_year() {
        assert!(check_in_year(Event::CovenantSigning, 2026, d(2025, 12, 20)).is_ok(), "signed at last year's review");
        assert!(check_in_year(Event::CovenantSigning, 2026, d(2025, 9, 30)).is_err());
        assert!(check_in_year(Event::MidYearReview, 2026, d(2027, 1, 5)).is_err());
        assert!(check_in_year(Event::YearEndReview, 2026, d(2027, 1, 15)).is_ok());
        assert!(check_in_year(Event::YearEndReview, 2026, d(2027, 4, 1)).is_err());
        let e = check_in_year(Event::Appraisal, 2026, d(2025, 12, 31)).unwrap_err();
        assert!(e.message.contains("01/01/2026") && e.message.contains("31/03/2027"), "{}", e.message);
    }

    #[test]
    fn windows_hold_their_default() {
        let ok = window(Event::Appraisal, 2026, d(2026, 12, 15), None, None).expect("fixed");
        assert_eq!((ok.earliest, ok.latest), (d(2026, 12, 15), d(2026, 12, 15)));
        let e =
            window(Event::Appraisal, 2026, d(2026, 12, 15), Some(d(2026, 12, 16)), Some(d(2026, 12, 10))).unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(e[0].message.contains("ngày sớm nhất"));
        assert!(e[1].message.contains("ngày muộn nhất"));
        let e = window(Event::MidYearReview, 2026, d(2026, 12, 15), None, Some(d(2027, 1, 10))).unwrap_err();
        assert!(e[0].message.contains("31/12/2026"), "{}", e[0].message);
        let e = window(Event::MidYearReview, 2027, d(2026, 7, 15), None, None).unwrap_err();
        assert!(e[0].message.contains("không thuộc năm thi đua 2027"), "{}", e[0].message);
    }

    #[test]
    fn defaults_out_of_order_are_refused() {
        let mut s = sample();
        s[1].1 = w(d(2026, 3, 10), d(2026, 3, 1), d(2026, 3, 20));
        let e = check_defaults(2026, &s).unwrap_err();
        assert_eq!(e[0].field, "Sơ kết 6 tháng");
        assert!(e[0].message.contains("phải sau ngày \"Ký kết giao ước thi đua\""), "{}", e[0].message);
    }

    fn grant(role: Role, a: i64, u: Option<i64>) -> Grant {
        Grant { role, authority_id: Some(a), unit_id: u }
    }

    #[test]
    fn the_policy_of_the_calendar() {
        // the authority's secretariat sets defaults; a unit of the group moves the group's dates only as head or deputy
        let (tw, cb, hn) = (1, 2, 3);
        let sec = Actor { user_id: 1, grants: vec![grant(Role::Secretariat, cb, None)] };
        let other = Actor { user_id: 2, grants: vec![grant(Role::Secretariat, hn, None)] };
        let head = Actor { user_id: 3, grants: vec![grant(Role::UnitOfficer, cb, Some(10))] };
        let member = Actor { user_id: 4, grants: vec![grant(Role::UnitOfficer, cb, Some(12))] };
        let viewer = Actor { user_id: 5, grants: vec![grant(Role::Viewer, cb, None)] };
        let auth = Target::authority(vec![cb, tw]);
        assert!(decide(&sec, Action::ManageCalendar, &auth).is_ok());
        for a in [&other, &head, &member, &viewer] {
            assert!(decide(a, Action::ManageCalendar, &auth).is_err());
        }
        let g = GroupCtx { head_unit: Some(10), deputy_unit: None, member_units: vec![10, 12], inspections: vec![] };
        let t = Target::group(vec![cb, tw], g);
        assert!(decide(&head, Action::LeadGroupYear, &t).is_ok());
        assert!(decide(&sec, Action::LeadGroupYear, &t).is_ok());
        assert!(decide(&member, Action::LeadGroupYear, &t).is_err());
        assert!(decide(&member, Action::ViewGroup, &t).is_ok());
        assert!(decide(&other, Action::ViewGroup, &t).is_err());
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..600).prop_map(|n| d(2025, 10, 1) + chrono::Duration::days(n))
    }

    proptest! {
        /// Strictly increasing dates in the order of the year always pass.
        #[test]
        fn the_order_of_the_year_passes(mask in proptest::collection::vec(any::<bool>(), 8), start in 0i64..200, gaps in proptest::collection::vec(1i64..20, 8)) {
            let mut day = d(2026, 1, 1) + chrono::Duration::days(start);
            let mut dates = Vec::new();
            for (i, e) in Event::ALL.iter().enumerate() {
                day += chrono::Duration::days(gaps[i]);
                if mask[i] {
                    dates.push((*e, day));
                }
            }
            prop_assert_eq!(check_order(&dates), Ok(()));
        }

        /// The order check accepts exactly the dates that satisfy every rule and its consequences.
        #[test]
        fn the_order_check_is_exact(dates in proptest::collection::vec(proptest::option::of(any_date()), 8)) {
            let set: Vec<(Event, NaiveDate)> =
                Event::ALL.iter().zip(&dates).filter_map(|(e, x)| x.map(|x| (*e, x))).collect();
            let mut all_hold = true;
            for (a, da) in &set {
                for (b, db) in &set {
                    match must_precede(*a, *b) {
                        Some(true) => all_hold &= da < db,
                        Some(false) => all_hold &= da <= db,
                        None => {}
                    }
                }
            }
            prop_assert_eq!(check_order(&set).is_ok(), all_hold);
        }

        /// An accepted group calendar only holds own dates inside the windows.
        #[test]
        fn accepted_group_dates_are_inside_the_windows(own in proptest::collection::vec(proptest::option::of(any_date()), 8)) {
            let s = sample();
            let own: Vec<(Event, NaiveDate)> =
                Event::ALL.iter().zip(&own).filter_map(|(e, x)| x.map(|x| (*e, x))).collect();
            if check_group(&s, &own).is_ok() {
                for (e, x) in &own {
                    let w = s.iter().find(|w| w.0 == *e).map(|w| w.1).expect("window");
                    prop_assert!(w.contains(*x));
                }
                prop_assert_eq!(check_order(&effective(&s, &own)), Ok(()));
            }
        }

        /// An accepted window holds its default and lies in the year.
        #[test]
        fn accepted_windows_are_consistent(a in any_date(), b in any_date(), c in any_date(), i in 0usize..8) {
            let e = Event::ALL[i];
            if let Ok(w) = window(e, 2026, a, Some(b), Some(c)) {
                let (lo, hi) = e.bounds(2026);
                prop_assert!(w.earliest <= w.default_on && w.default_on <= w.latest);
                prop_assert!(lo <= w.earliest && w.latest <= hi);
            }
        }
    }
}
