//! The demo's calendar: Cao Bằng's secretariat sets the 2026 dates and the
//! windows its groups may move within; the party block ([`MOVED_GROUP`])
//! moves its self-assessment deadline, with its reason.
//!
//! The demo's current year ([`DEMO_YEAR`]) is in self-assessment, so its dates
//! follow the day the demo is loaded (today in Vietnam, UTC+7,
//! `thidua_web::ops::today`), computed by [`calendar_for`]:
//!
//! - the plan ([`PLANNED`]) puts the self-assessment deadline on 05/12/2026,
//!   the head review on 15/12/2026, the explanations on 22/12/2026, the
//!   appraisal on 05/01/2027, the deliberation on 15/01/2027 and the year-end
//!   review on 20/01/2027; the party block moves its deadline to 08/12/2026;
//! - loaded on or before 14/11/2026 (the deadline at least [`LEAD_DAYS`] = 21
//!   days ahead), the demo has exactly these dates;
//! - loaded later, the self-assessment deadline and every later event, their
//!   windows and the party block's date move by the same number of days, the
//!   fewest **whole weeks** that put the deadline at least 21 days after the
//!   load day (so the deadline is 21 to 27 days ahead, the spacing of the
//!   events is kept, and so are their weekdays: the meetings stay on working
//!   days). The covenant signing and the mid-year review do not move. Loaded
//!   on 22/11/2026, for example, everything from the deadline on moves two
//!   weeks: deadline 19/12/2026, explanations 05/01/2027.
//!
//! The calendar rules (`thidua_core::calendar`) keep the year-end events of
//! 2026 between 01/01/2026 and 31/03/2027. A moved date (a default, a
//! window's bound, the party block's date) past 31/03/2027 is put on
//! 31/03/2027 instead: the order of the events still holds (the rules after
//! the deadline allow the same day) and every default stays in its window.
//! So the full spacing holds for a demo loaded up to 23/01/2027 (deadline
//! 13/02/2027 or earlier, year-end review on 31/03/2027 at the latest); loaded
//! later, the later events are squeezed against 31/03/2027; from 11/03/2027
//! the deadline (31/03/2027) is less than 21 days ahead, and after 31/03/2027
//! it is past: the demo stays a demo of the 2026 year, whose self-assessment
//! the rules do not let last into April 2027.

use chrono::{Duration, NaiveDate};
use thidua_core::calendar::Event;
use thidua_core::text::format_date;
use thidua_db::Db;
use thidua_web::AppError;
use thidua_web::ops::calendar::{self as ops, DefaultInput, DefaultsInput, GroupDateInput, GroupDatesInput};

use super::covenant::ctx_of;
use super::{DEMO_YEAR, Ids, missing};

/// A day as (year, month, day).
pub type Ymd = (i32, u32, u32);

/// The planned dates of [`DEMO_YEAR`]: (event, default, earliest, latest),
/// in the order of the year.
pub const PLANNED: &[(Event, Ymd, Ymd, Ymd)] = &[
    (Event::CovenantSigning, (2026, 2, 20), (2026, 2, 10), (2026, 3, 10)),
    (Event::MidYearReview, (2026, 7, 15), (2026, 7, 1), (2026, 7, 31)),
    (Event::SelfAssessmentDeadline, (2026, 12, 5), (2026, 12, 1), (2026, 12, 15)),
    (Event::HeadReview, (2026, 12, 15), (2026, 12, 10), (2026, 12, 20)),
    (Event::Explanation, (2026, 12, 22), (2026, 12, 18), (2026, 12, 26)),
    (Event::Appraisal, (2027, 1, 5), (2027, 1, 2), (2027, 1, 12)),
    (Event::Deliberation, (2027, 1, 15), (2027, 1, 12), (2027, 1, 20)),
    (Event::YearEndReview, (2027, 1, 20), (2027, 1, 15), (2027, 1, 31)),
];

/// The group that moves its self-assessment deadline: the party block.
pub const MOVED_GROUP: &str = "cb-khoi-dang";
/// How many days after the authority's deadline the party block puts its own.
pub const MOVED_BY_DAYS: i64 = 3;
/// The self-assessment deadline is at least this many days after the load day
/// (while the rules allow it).
pub const LEAD_DAYS: i64 = 21;

/// The first event that moves with the load day; it and every later event move.
const FIRST_MOVED: Event = Event::SelfAssessmentDeadline;

/// An event of the authority's calendar: its default date and the window the
/// groups may move it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDates {
    pub event: Event,
    pub default_on: NaiveDate,
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

/// The demo's calendar of [`DEMO_YEAR`] for one load day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCalendar {
    /// The load day it was computed for.
    pub loaded_on: NaiveDate,
    /// How many days the self-assessment deadline and the later events moved
    /// from the plan (a multiple of 7; dates past the year's last allowed day
    /// are held on that day).
    pub shift_days: i64,
    /// Every event, in the order of the year.
    pub events: Vec<EventDates>,
    /// The party block's own self-assessment deadline.
    pub moved_deadline: NaiveDate,
}

impl DemoCalendar {
    /// The authority's default date of an event.
    pub fn default_of(&self, event: Event) -> NaiveDate {
        self.events.iter().find(|e| e.event == event).map_or(NaiveDate::MIN, |e| e.default_on)
    }

    /// The self-assessment deadline of every group but the party block.
    pub fn deadline(&self) -> NaiveDate {
        self.default_of(Event::SelfAssessmentDeadline)
    }

    /// The explanations' deadline of every group.
    pub fn explanation(&self) -> NaiveDate {
        self.default_of(Event::Explanation)
    }

    /// The dates as `thidua demo` prints them: one line per event, then the
    /// party block's own deadline.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(&format!("  {}  {}\n", format_date(e.default_on), e.event.label()));
        }
        let party = super::data::GROUPS.iter().find(|g| g.key == MOVED_GROUP).map_or(MOVED_GROUP, |g| g.name);
        out.push_str(&format!(
            "  {}  {} của {party} (khối dời hạn của mình)\n",
            format_date(self.moved_deadline),
            Event::SelfAssessmentDeadline.label()
        ));
        out
    }
}

fn ymd((y, m, d): Ymd) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// `d` moved `days` later, held on `last` if it would pass it.
fn moved(d: NaiveDate, days: i64, last: NaiveDate) -> NaiveDate {
    d.checked_add_signed(Duration::days(days)).map_or(last, |x| x.min(last))
}

/// The calendar of [`DEMO_YEAR`] for a demo loaded on `today` (see the module
/// documentation for the rule).
pub fn calendar_for(today: NaiveDate) -> DemoCalendar {
    let planned_deadline = PLANNED.iter().find(|p| p.0 == FIRST_MOVED).map_or(NaiveDate::MIN, |p| ymd(p.1));
    let wanted = today.checked_add_signed(Duration::days(LEAD_DAYS)).unwrap_or(NaiveDate::MAX);
    let short = (wanted - planned_deadline).num_days().max(0);
    let shift_days = (short + 6) / 7 * 7;
    let events: Vec<EventDates> = PLANNED
        .iter()
        .map(|&(event, default_on, earliest, latest)| {
            let days = if event >= FIRST_MOVED { shift_days } else { 0 };
            let last = event.bounds(DEMO_YEAR).1;
            EventDates {
                event,
                default_on: moved(ymd(default_on), days, last),
                earliest: moved(ymd(earliest), days, last),
                latest: moved(ymd(latest), days, last),
            }
        })
        .collect();
    let window = events.iter().find(|e| e.event == FIRST_MOVED).copied();
    let moved_deadline = window.map_or(NaiveDate::MIN, |w| moved(w.default_on, MOVED_BY_DAYS, w.latest));
    DemoCalendar { loaded_on: today, shift_days, events, moved_deadline }
}

/// Sets Cao Bằng's calendar of [`DEMO_YEAR`] for a demo loaded on `today`,
/// and the party block's own deadline; returns the calendar.
pub async fn load_calendar(db: &Db, ids: &Ids, today: NaiveDate) -> Result<DemoCalendar, AppError> {
    let plan = calendar_for(today);
    let st = thidua_web::AppState::new(db.clone(), Default::default());
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    let sec = ctx_of(db, "banthuongtruc.caobang").await?;
    let mut reason =
        format!("Kế hoạch công tác thi đua, khen thưởng năm {DEMO_YEAR} của Hội đồng TĐKT tỉnh (dữ liệu mẫu).");
    if plan.shift_days > 0 {
        reason.push_str(&format!(
            " Các mốc từ hạn tự chấm điểm trở đi được dời {} ngày theo ngày tạo dữ liệu mẫu ({}).",
            plan.shift_days,
            format_date(today)
        ));
    }
    let input = DefaultsInput {
        events: plan
            .events
            .iter()
            .map(|e| DefaultInput {
                event: e.event.code().into(),
                default_on: format_date(e.default_on),
                earliest_on: format_date(e.earliest),
                latest_on: format_date(e.latest),
            })
            .collect(),
        reason,
    };
    ops::set_defaults(&st, &sec, cb, DEMO_YEAR, &input).await?;
    let party = *ids.groups.get(MOVED_GROUP).ok_or_else(|| missing("group", MOVED_GROUP))?;
    let head = ctx_of(db, "canbo.bantochuc").await?;
    let own = GroupDatesInput {
        events: vec![GroupDateInput { event: FIRST_MOVED.code().into(), date: format_date(plan.moved_deadline) }],
        reason: "Khối thống nhất lùi hạn tự chấm để các ban Đảng kịp tổng hợp số liệu.".into(),
    };
    ops::move_group_dates(&st, &head, party, DEMO_YEAR, &own).await?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use thidua_core::calendar::{Window, check_defaults, check_group};

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).expect("date")
    }

    /// The calendar passes the rules of `thidua_core::calendar`, as
    /// `ops::calendar` checks them, with the party block's date.
    fn check_valid(c: &DemoCalendar) {
        let windows: Vec<(Event, Window)> = c
            .events
            .iter()
            .map(|e| (e.event, Window { default_on: e.default_on, earliest: e.earliest, latest: e.latest }))
            .collect();
        assert_eq!(check_defaults(DEMO_YEAR, &windows), Ok(()), "{c:#?}");
        assert_eq!(check_group(&windows, &[(FIRST_MOVED, c.moved_deadline)]), Ok(()), "{c:#?}");
        assert_eq!(c.events.iter().map(|e| e.event).collect::<Vec<_>>(), Event::ALL);
    }

    fn dates(c: &DemoCalendar) -> Vec<NaiveDate> {
        c.events.iter().map(|e| e.default_on).collect()
    }

    const PLANNED_DEFAULTS: [Ymd; 8] = [
        (2026, 2, 20),
        (2026, 7, 15),
        (2026, 12, 5),
        (2026, 12, 15),
        (2026, 12, 22),
        (2027, 1, 5),
        (2027, 1, 15),
        (2027, 1, 20),
    ];

    #[test]
    fn loaded_early_enough_the_demo_has_the_planned_dates() {
        for today in [d(2026, 1, 1), d(2026, 9, 30), d(2026, 11, 14)] {
            let c = calendar_for(today);
            check_valid(&c);
            assert_eq!(c.shift_days, 0, "{today}");
            assert_eq!(dates(&c), PLANNED_DEFAULTS.map(ymd), "{today}");
            assert_eq!(c.deadline(), d(2026, 12, 5));
            assert_eq!(c.moved_deadline, d(2026, 12, 8));
            assert_eq!(c.explanation(), d(2026, 12, 22));
            for (e, p) in c.events.iter().zip(PLANNED) {
                assert_eq!((e.earliest, e.latest), (ymd(p.2), ymd(p.3)));
            }
        }
    }

    #[test]
    fn later_the_dates_move_by_whole_weeks_keeping_their_spacing() {
        // (load day, weeks moved)
        for (today, weeks) in [
            (d(2026, 11, 15), 1),
            (d(2026, 11, 21), 1),
            (d(2026, 11, 22), 2),
            (d(2026, 12, 4), 3),
            (d(2026, 12, 5), 3),
            (d(2026, 12, 6), 4),
            (d(2026, 12, 20), 6),
            (d(2026, 12, 31), 7),
        ] {
            let c = calendar_for(today);
            check_valid(&c);
            assert_eq!(c.shift_days, 7 * weeks, "{today}");
            let ahead = (c.deadline() - today).num_days();
            assert!((LEAD_DAYS..LEAD_DAYS + 7).contains(&ahead), "{today}: the deadline {} days ahead", ahead);
            for (i, (e, p)) in c.events.iter().zip(PLANNED).enumerate() {
                let days = if i < 2 { 0 } else { c.shift_days };
                let by = Duration::days(days);
                assert_eq!(e.default_on, ymd(p.1) + by, "{today} {:?}", e.event);
                assert_eq!((e.earliest, e.latest), (ymd(p.2) + by, ymd(p.3) + by), "{today} {:?}", e.event);
                assert_eq!(e.default_on.weekday(), ymd(p.1).weekday(), "{today} {:?}: the same weekday", e.event);
            }
            assert_eq!(c.moved_deadline, c.deadline() + Duration::days(MOVED_BY_DAYS));
        }
        // today's demo (22/11/2026)
        let c = calendar_for(d(2026, 11, 22));
        let text = c.text();
        assert!(text.contains(&format!("  19/12/2026  {}\n", Event::SelfAssessmentDeadline.label())), "{text}");
        assert!(
            text.contains("  22/12/2026  ") && text.contains("Khối thi đua các ban, đơn vị, cơ quan Đảng"),
            "{text}"
        );
        assert_eq!(text.lines().count(), c.events.len() + 1);
        assert_eq!(
            (c.deadline(), c.moved_deadline, c.default_of(Event::HeadReview), c.explanation()),
            (d(2026, 12, 19), d(2026, 12, 22), d(2026, 12, 29), d(2027, 1, 5))
        );
        // at the end of December the events run into the next calendar year
        let c = calendar_for(d(2026, 12, 31));
        assert_eq!(c.deadline(), d(2027, 1, 23));
        assert_eq!(c.default_of(Event::YearEndReview), d(2027, 3, 10));
        assert_eq!(c.default_of(Event::MidYearReview), d(2026, 7, 15), "the mid-year review does not move");
    }

    #[test]
    fn dates_past_the_years_last_day_are_held_on_it() {
        let last = d(2027, 3, 31);
        // the last load day with the full spacing: nothing held yet but the year-end review's latest day
        let c = calendar_for(d(2027, 1, 23));
        check_valid(&c);
        assert_eq!(c.deadline(), d(2027, 2, 13));
        assert_eq!(c.default_of(Event::YearEndReview), last);
        // later, the last events are squeezed against 31/03/2027, in order
        for today in [d(2027, 1, 24), d(2027, 2, 20), d(2027, 3, 10), d(2027, 3, 11), d(2027, 3, 31), d(2027, 6, 1)] {
            let c = calendar_for(today);
            check_valid(&c);
            assert!(c.events.iter().all(|e| e.latest <= last), "{today}");
            assert!(c.moved_deadline <= last);
            if today <= d(2027, 3, 10) {
                assert!(c.deadline() >= today + Duration::days(LEAD_DAYS), "{today}");
            } else {
                assert_eq!(c.deadline(), last, "{today}");
            }
        }
        // far away, no overflow
        let c = calendar_for(NaiveDate::MAX);
        check_valid(&c);
        assert_eq!(c.deadline(), last);
    }
}
