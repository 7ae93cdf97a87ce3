//! The generated scoring table: 60 lines (5 sections, 30 criteria, 25
//! sub-criteria), every method, bonus and penalty lines with caps, bands with
//! section floors, tie-breaks, not-applicable criteria scaled. Valid by
//! `ScoringTable::validate`, and computable by one SQL query (see `p2.rs`).

use thidua_core::scoring::{AdjustLine, Band, Level, Line, Method, NotApplicableRule, Points, ScoringTable, TieBreak};

use crate::rng::Rng;

/// Sections: code, name, maximum (whole points); 950 content points in all.
const SECTIONS: &[(&str, &str, i64)] = &[
    ("I", "Thực hiện nhiệm vụ chính trị, chuyên môn được giao", 400),
    ("II", "Công tác thi đua, khen thưởng", 200),
    ("III", "Cải cách hành chính, chuyển đổi số", 150),
    ("IV", "Xây dựng tổ chức Đảng, đoàn thể; phòng, chống tham nhũng, lãng phí", 120),
    ("V", "Phối hợp trong khối; chế độ thông tin, báo cáo", 80),
];

/// Criterion names, cycled.
const CRITERIA: &[&str] = &[
    "Kết quả thực hiện chỉ tiêu kinh tế - xã hội được giao",
    "Tham mưu, ban hành văn bản đúng hạn, có chất lượng",
    "Giải quyết thủ tục hành chính đúng hạn",
    "Ứng dụng công nghệ thông tin, dịch vụ công trực tuyến",
    "Phát động, đăng ký, ký kết giao ước thi đua",
    "Sơ kết, tổng kết phong trào thi đua đúng thời gian",
    "Phát hiện, bồi dưỡng, nhân rộng điển hình tiên tiến",
    "Hồ sơ đề nghị khen thưởng đúng quy định, đúng hạn",
    "Xây dựng tổ chức Đảng trong sạch, vững mạnh",
    "Xây dựng khối đoàn kết nội bộ",
    "Thực hành tiết kiệm, chống lãng phí",
    "Tham gia hoạt động chung của khối",
    "Gửi báo cáo định kỳ đúng hạn",
    "Phối hợp, hỗ trợ các đơn vị trong khối",
    "Công tác dân vận, quy chế dân chủ cơ sở",
];

/// The criteria (leaves) scored against a target from the covenant.
pub const TARGET_LINES: &[&str] = &["I.3", "I.4", "II.3", "III.3"];

/// Splits `total` hundredths into `n` parts (multiples of 50, at least 100 each) that add up exactly.
fn split(rng: &mut Rng, total: i64, n: usize) -> Vec<i64> {
    let units = total / 50;
    let weights: Vec<i64> = (0..n).map(|_| 2 + rng.below(4) as i64).collect();
    let wsum: i64 = weights.iter().sum();
    let mut parts: Vec<i64> = weights.iter().map(|w| (units * w / wsum).max(2)).collect();
    let mut diff = units - parts.iter().sum::<i64>();
    let mut i = 0;
    while diff != 0 {
        let k = i % n;
        if diff > 0 {
            parts[k] += 1;
            diff -= 1;
        } else if parts[k] > 2 {
            parts[k] -= 1;
            diff += 1;
        }
        i += 1;
    }
    parts.into_iter().map(|p| p * 50).collect()
}

fn ladder(max: i64, kha_pct: i64) -> Method {
    Method::Qualitative {
        levels: vec![
            Level::new("Tốt", Points::from_hundredths(max)),
            Level::new("Khá", Points::from_hundredths(max * kha_pct / 100)),
            Level::new("Trung bình", Points::from_hundredths(max / 2)),
            Level::new("Kém", Points::ZERO),
        ],
    }
}

fn method_for(code: &str, leaf_index: usize, max: i64, kha_pct: i64) -> Method {
    if TARGET_LINES.contains(&code) {
        return Method::Target;
    }
    match leaf_index % 5 {
        1 => {
            // a count: per occurrence a third or a quarter of the max, capped at the max
            let per = (max / (3 + (leaf_index as i64 % 2))).max(50);
            Method::Count { per: Points::from_hundredths(per), cap: Points::from_hundredths(max) }
        }
        2 | 4 => Method::Manual,
        0 => ladder(max, kha_pct),
        _ => Method::met_or_not(Points::from_hundredths(max)),
    }
}

/// The table of one authority and year. `seed` varies the maxima; `kha_pct`
/// is the share of the maximum of the ladders' second level (a later version
/// of a table changes it).
pub fn table(seed: u64, kha_pct: i64) -> ScoringTable {
    let mut rng = Rng::new(seed);
    let mut leaf_index = 0usize;
    let mut name_index = (seed % CRITERIA.len() as u64) as usize;
    let mut next_name = || {
        name_index = (name_index + 1) % CRITERIA.len();
        CRITERIA[name_index]
    };
    let mut lines = Vec::new();
    for (code, name, max) in SECTIONS {
        let parts = split(&mut rng, max * 100, 6);
        let mut children = Vec::new();
        for (c, &cmax) in parts.iter().enumerate() {
            let ccode = format!("{code}.{}", c + 1);
            let kids = match c {
                0 => 3,
                1 => 2,
                _ => 0,
            };
            if kids == 0 {
                let m = method_for(&ccode, leaf_index, cmax, kha_pct);
                leaf_index += 1;
                let mut l = Line::leaf(&ccode, next_name(), Points::from_hundredths(cmax), m);
                l.evidence_required = leaf_index.is_multiple_of(3);
                children.push(l);
            } else {
                let sub = split(&mut rng, cmax, kids);
                let mut subs = Vec::new();
                for (k, &smax) in sub.iter().enumerate() {
                    let scode = format!("{ccode}.{}", (b'a' + k as u8) as char);
                    let m = method_for(&scode, leaf_index, smax, kha_pct);
                    leaf_index += 1;
                    subs.push(Line::leaf(&scode, next_name(), Points::from_hundredths(smax), m));
                }
                children.push(Line::parent(&ccode, next_name(), Points::from_hundredths(cmax), subs));
            }
        }
        lines.push(Line::parent(code, name, Points::whole(*max), children));
    }
    let w = Points::whole;
    let mut covenant = AdjustLine::new("TR.3", "Không ký giao ước thi đua đầu năm", w(20), Some(w(20)));
    covenant.secretariat_only = true;
    let band = |code: &str, label: &str, min: i64, share: Option<u32>| Band {
        code: code.into(),
        label: label.into(),
        min_total: w(min),
        min_section_share_pct: share,
    };
    ScoringTable {
        lines,
        bonus: vec![
            AdjustLine::new("TH.1", "Được Chính phủ, bộ, ngành trung ương khen thưởng đột xuất", w(10), None),
            AdjustLine::new("TH.2", "Mô hình, sáng kiến được công nhận cấp tỉnh", w(10), Some(w(20))),
            AdjustLine::new("TH.3", "Dẫn đầu khối về một chỉ tiêu", w(5), Some(w(15))),
        ],
        penalties: vec![
            AdjustLine::new("TR.1", "Mỗi báo cáo, hồ sơ gửi chậm", w(5), Some(w(20))),
            AdjustLine::new("TR.2", "Mỗi lần vắng mặt không lý do tại hoạt động của khối", w(10), None),
            covenant,
        ],
        bonus_cap: Some(w(30)),
        penalty_cap: Some(w(40)),
        may_exceed_nominal: true,
        not_applicable_rule: NotApplicableRule::Scaled,
        bands: vec![
            band("xuat_sac", "Xuất sắc", 880, Some(80)),
            band("tot", "Tốt", 780, Some(70)),
            band("hoan_thanh", "Hoàn thành", 620, None),
            band("khong_hoan_thanh", "Không hoàn thành", 0, None),
        ],
        tie_breaks: vec![TieBreak::MoreBonus, TieBreak::FewerPenalties, TieBreak::MoreInSection("I".to_string())],
        review_flags: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tables_are_valid_and_have_sixty_lines() {
        for seed in 0..200 {
            for kha in [75, 70] {
                let t = table(seed, kha);
                assert_eq!(t.walk().len(), 60);
                assert_eq!(t.nominal_max(), Points::whole(950));
                if let Err(e) = t.validate() {
                    panic!("seed {seed}: {:?}", e.iter().map(|x| &x.message).collect::<Vec<_>>());
                }
                for code in TARGET_LINES {
                    assert!(matches!(t.find(code).and_then(|l| l.method.as_ref()), Some(Method::Target)));
                }
            }
        }
    }
}
