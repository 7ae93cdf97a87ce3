//! The demo's calendar: Cao Bằng's secretariat sets the 2026 dates and the
//! windows its groups may move within; the party block moves its
//! self-assessment deadline, with its reason.

use thidua_db::Db;
use thidua_web::AppError;
use thidua_web::ops::calendar::{self as ops, DefaultInput, DefaultsInput, GroupDateInput, GroupDatesInput};

use super::covenant::ctx_of;
use super::{DEMO_YEAR, Ids, missing};

/// (event, default, earliest, latest), dd/mm/yyyy, for 2026.
const DATES: &[(&str, &str, &str, &str)] = &[
    ("covenant_signing", "20/02/2026", "10/02/2026", "10/03/2026"),
    ("mid_year_review", "15/07/2026", "01/07/2026", "31/07/2026"),
    ("self_assessment_deadline", "05/12/2026", "01/12/2026", "15/12/2026"),
    ("head_review", "15/12/2026", "10/12/2026", "20/12/2026"),
    ("explanation", "22/12/2026", "18/12/2026", "26/12/2026"),
    ("appraisal", "05/01/2027", "02/01/2027", "12/01/2027"),
    ("deliberation", "15/01/2027", "12/01/2027", "20/01/2027"),
    ("year_end_review", "20/01/2027", "15/01/2027", "31/01/2027"),
];

pub async fn load_calendar(db: &Db, ids: &Ids) -> Result<(), AppError> {
    let st = thidua_web::AppState::new(db.clone(), Default::default());
    let cb = *ids.authorities.get("cb").ok_or_else(|| missing("authority", "cb"))?;
    let sec = ctx_of(db, "banthuongtruc.caobang").await?;
    let input = DefaultsInput {
        events: DATES
            .iter()
            .map(|(e, d, from, to)| DefaultInput {
                event: (*e).into(),
                default_on: (*d).into(),
                earliest_on: (*from).into(),
                latest_on: (*to).into(),
            })
            .collect(),
        reason: "Kế hoạch công tác thi đua, khen thưởng năm 2026 của Hội đồng TĐKT tỉnh (dữ liệu mẫu).".into(),
    };
    ops::set_defaults(&st, &sec, cb, DEMO_YEAR, &input).await?;
    let party = *ids.groups.get("cb-khoi-dang").ok_or_else(|| missing("group", "cb-khoi-dang"))?;
    let head = ctx_of(db, "canbo.bantochuc").await?;
    let moved = GroupDatesInput {
        events: vec![GroupDateInput { event: "self_assessment_deadline".into(), date: "08/12/2026".into() }],
        reason: "Khối thống nhất lùi hạn tự chấm để kịp số liệu cuối tháng 11 của các ban Đảng.".into(),
    };
    ops::move_group_dates(&st, &head, party, DEMO_YEAR, &moved).await?;
    Ok(())
}
