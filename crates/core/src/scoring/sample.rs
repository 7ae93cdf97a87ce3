//! The sample table of DOMAIN.md §7, for demo data and tests.

use super::points::Points;
use super::table::{AdjustLine, Band, Level, Line, Method, NotApplicableRule, ScoringTable, TieBreak};

/// A provincial block of departments, 1.000 points = 950 content + 50 bonus.
///
/// The 950 content points: I 500 (I.1 target 300, I.2 manual 100, I.3 manual
/// 100); II 200 (II.1 met/not 40, II.2 met/not 30, II.3 count 10 each up to
/// 50, II.4 met/not 40, II.5 count 10 each up to 40); III 150 (three criteria
/// of 50 on a ladder Đạt 50 / Đạt một phần 25 / Không đạt 0); IV 100 (IV.1
/// manual 60, IV.2 met/not 40). The nominal maximum is the content, 950; the
/// table lets the bonus (capped at 50) lift the total above it, hence 1.000.
/// Bonus TH.1 10 each (no line cap), TH.2 10 each up to 20, TH.3 5 each up to
/// 20; penalties TR.1 8 (once, secretariat only), TR.2 5 each, TR.3 5 each,
/// TR.4 20 each, TR.5 10 each. Bands 900/85%, 800/80%, 700/70%, else 0;
/// tie-breaks: more bonus, fewer penalties, more in section I. Not-applicable
/// criteria are scaled.
pub fn sample_table() -> ScoringTable {
    let w = Points::whole;
    let met = |m: i64| Method::met_or_not(w(m));
    let ladder = || Method::Qualitative {
        levels: vec![
            Level::new("Đạt", w(50)),
            Level::new("Đạt một phần", w(25)),
            Level::new("Không đạt", Points::ZERO),
        ],
    };
    let with = |mut l: Line, guidance: &str, evidence: bool| {
        l.guidance = guidance.to_string();
        l.evidence_required = evidence;
        l
    };
    let lines = vec![
        Line::parent(
            "I",
            "Thực hiện nhiệm vụ chính trị, chuyên môn",
            w(500),
            vec![
                with(
                    Line::leaf("I.1", "Kết quả thực hiện các chỉ tiêu được giao", w(300), Method::Target),
                    "Ghi kết quả thực hiện so với chỉ tiêu được giao trong giao ước; đơn vị dẫn đầu khối được điểm tối đa.",
                    true,
                ),
                with(
                    Line::leaf("I.2", "Tham mưu, xây dựng văn bản đúng hạn, có chất lượng", w(100), Method::Manual),
                    "Chấm từ 0 đến 100 điểm, ghi rõ lý do; đính kèm danh mục văn bản.",
                    true,
                ),
                Line::leaf("I.3", "Chỉ số cải cách hành chính và chuyển đổi số", w(100), Method::Manual),
            ],
        ),
        Line::parent(
            "II",
            "Công tác thi đua, khen thưởng",
            w(200),
            vec![
                with(Line::leaf("II.1", "Phát động, đăng ký, ký kết giao ước thi đua", w(40), met(40)), "", true),
                Line::leaf("II.2", "Sơ kết, tổng kết đúng thời gian", w(30), met(30)),
                with(
                    Line::leaf(
                        "II.3",
                        "Phát hiện, bồi dưỡng, nhân rộng điển hình tiên tiến",
                        w(50),
                        Method::Count { per: w(10), cap: w(50) },
                    ),
                    "10 điểm cho mỗi điển hình được tuyên truyền, nhân rộng; tối đa 50 điểm.",
                    true,
                ),
                Line::leaf("II.4", "Hồ sơ đề nghị khen thưởng đúng quy định, đúng hạn", w(40), met(40)),
                Line::leaf(
                    "II.5",
                    "Tham gia hoạt động của khối: kiểm tra chéo, hội nghị, tập huấn",
                    w(40),
                    Method::Count { per: w(10), cap: w(40) },
                ),
            ],
        ),
        Line::parent(
            "III",
            "Xây dựng tổ chức Đảng, đoàn thể; đoàn kết, thực hành tiết kiệm, phòng, chống tham nhũng",
            w(150),
            vec![
                Line::leaf("III.1", "Xây dựng tổ chức Đảng, đoàn thể trong sạch, vững mạnh", w(50), ladder()),
                Line::leaf("III.2", "Xây dựng khối đoàn kết nội bộ", w(50), ladder()),
                Line::leaf("III.3", "Thực hành tiết kiệm, chống lãng phí, phòng, chống tham nhũng", w(50), ladder()),
            ],
        ),
        Line::parent(
            "IV",
            "Thực hiện nhiệm vụ chung và phối hợp trong khối",
            w(100),
            vec![
                Line::leaf("IV.1", "Thực hiện nhiệm vụ chung của khối", w(60), Method::Manual),
                Line::leaf("IV.2", "Phối hợp, hỗ trợ các đơn vị trong khối", w(40), met(40)),
            ],
        ),
    ];
    let mut tr1 =
        AdjustLine::new("TR.1", "Không phát động, không ký giao ước, không đăng ký thi đua đầu năm", w(8), Some(w(8)));
    tr1.secretariat_only = true;
    ScoringTable {
        lines,
        bonus: vec![
            AdjustLine::new("TH.1", "Được Chính phủ, bộ, ngành trung ương khen thưởng đột xuất", w(10), None),
            AdjustLine::new("TH.2", "Mô hình, sáng kiến được công nhận cấp tỉnh", w(10), Some(w(20))),
            AdjustLine::new("TH.3", "Dẫn đầu khối về một chỉ tiêu (có xác nhận của sở, ngành)", w(5), Some(w(20))),
        ],
        penalties: vec![
            tr1,
            AdjustLine::new("TR.2", "Mỗi báo cáo, hồ sơ gửi chậm", w(5), None),
            AdjustLine::new("TR.3", "Mỗi hồ sơ bị trả lại do sai sót", w(5), None),
            AdjustLine::new(
                "TR.4",
                "Vi phạm kỷ luật, vi phạm pháp luật đã có kết luận của cơ quan có thẩm quyền",
                w(20),
                None,
            ),
            AdjustLine::new("TR.5", "Mỗi lần vắng mặt không lý do tại hoạt động của khối", w(10), None),
        ],
        bonus_cap: Some(w(50)),
        penalty_cap: None,
        may_exceed_nominal: true,
        not_applicable_rule: NotApplicableRule::Scaled,
        bands: vec![
            band("xuat_sac", "Xuất sắc", 900, Some(85)),
            band("tot", "Tốt", 800, Some(80)),
            band("hoan_thanh", "Hoàn thành", 700, Some(70)),
            band("khong_hoan_thanh", "Không hoàn thành", 0, None),
        ],
        tie_breaks: vec![TieBreak::MoreBonus, TieBreak::FewerPenalties, TieBreak::MoreInSection("I".to_string())],
        review_flags: super::FlagRules::default(),
    }
}

fn band(code: &str, label: &str, min: i64, share: Option<u32>) -> Band {
    Band {
        code: code.to_string(),
        label: label.to_string(),
        min_total: Points::whole(min),
        min_section_share_pct: share,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::compute::{GroupResult, LineStatus, UnitResult, compute};
    use super::super::input::{RawValue, UnitInput};
    use super::*;

    fn p(s: &str) -> Points {
        Points::parse("p", s).unwrap()
    }

    #[test]
    fn the_sample_table_is_valid_and_sums_up() {
        let t = sample_table();
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(t.nominal_max(), Points::whole(950));
        assert_eq!(t.max_bonus(), Some(Points::whole(50)));
        assert_eq!(t.max_total(), Some(Points::whole(1000)));
        let s: Vec<(String, Points)> = t.section_maxima();
        assert_eq!(
            s,
            vec![
                ("I".to_string(), p("500")),
                ("II".to_string(), p("200")),
                ("III".to_string(), p("150")),
                ("IV".to_string(), p("100"))
            ]
        );
        // stored as JSON and read back unchanged
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"kind\":\"target\""));
        assert!(json.contains("\"max\":30000"));
        assert_eq!(serde_json::from_str::<ScoringTable>(&json).unwrap(), t);
    }

    /// Builds a unit from (code, value) pairs.
    struct U(UnitInput);
    impl U {
        fn new(id: i64, name: &str) -> U {
            U(UnitInput { unit_id: id, name: name.to_string(), ..Default::default() })
        }
        fn target(mut self, code: &str, t: i64, a: i64) -> U {
            self.0.targets.insert(code.into(), Points::whole(t));
            self.0.values.insert(code.into(), RawValue::Actual { actual: Points::whole(a) });
            self
        }
        fn level(mut self, code: &str, i: usize) -> U {
            self.0.values.insert(code.into(), RawValue::Level(i));
            self
        }
        fn count(mut self, code: &str, n: u32) -> U {
            self.0.values.insert(code.into(), RawValue::Count(n));
            self
        }
        fn manual(mut self, code: &str, pts: i64) -> U {
            self.0.values.insert(
                code.into(),
                RawValue::Manual { points: Points::whole(pts), reason: format!("theo báo cáo, {pts} điểm") },
            );
            self
        }
        fn bonus(mut self, code: &str, n: u32) -> U {
            self.0.bonus.insert(code.into(), n);
            self
        }
        fn penalty(mut self, code: &str, n: u32) -> U {
            self.0.penalties.insert(code.into(), n);
            self
        }
        /// II.1, II.2, II.4: levels; II.3, II.5: counts.
        fn ii(self, l1: usize, l2: usize, c3: u32, l4: usize, c5: u32) -> U {
            self.level("II.1", l1).level("II.2", l2).count("II.3", c3).level("II.4", l4).count("II.5", c5)
        }
        fn iii(self, a: usize, b: usize, c: usize) -> U {
            self.level("III.1", a).level("III.2", b).level("III.3", c)
        }
        fn iv(self, m: i64, l: usize) -> U {
            self.manual("IV.1", m).level("IV.2", l)
        }
    }

    /// Eight departments of one block. Level index 0 is the best level
    /// (Đạt: full points), 1 the next (Không đạt: 0 for met/not met;
    /// Đạt một phần: 25 on the III ladder).
    fn block() -> Vec<UnitInput> {
        vec![
            // 1. Below target. I.1: A 80 < T 100 → 0,5×300×80/100 = 120.
            //    I = 120 + 80 + 80 = 280. II = 40 + 0 + 2×10 + 40 + 3×10 = 130.
            //    III = 50 + 25 + 25 = 100. IV = 45 + 0 = 45. Content 555.
            //    Penalty TR.1 8 (secretariat) + TR.5 2×10 = 28. Total 555 − 28 = 527.
            U::new(1, "Sở Tài chính")
                .target("I.1", 100, 80)
                .manual("I.2", 80)
                .manual("I.3", 80)
                .ii(0, 1, 2, 0, 3)
                .iii(0, 1, 1)
                .iv(45, 1)
                .penalty("TR.1", 1)
                .penalty("TR.5", 2),
            // 2. At target. I.1: A = T = 200 → 0,5×300 = 150. I = 150 + 100 + 100 = 350 (70%).
            //    II = 40 + 30 + 50 + 40 + 40 = 200. III = 150. IV = 60 + 40 = 100. Content 800.
            //    Bonus TH.1 10 + TH.2 2×10 = 20 + TH.3 4×5 = 20 → 50 (= cap). Total 850.
            //    850 ≥ 800 but I is 70% < 80% → not Tốt; Hoàn thành (≥ 700, every section ≥ 70%).
            U::new(2, "Sở Xây dựng")
                .target("I.1", 200, 200)
                .manual("I.2", 100)
                .manual("I.3", 100)
                .ii(0, 0, 5, 0, 4)
                .iii(0, 0, 0)
                .iv(60, 0)
                .bonus("TH.1", 1)
                .bonus("TH.2", 2)
                .bonus("TH.3", 4),
            // 3. Above target, not the leader. e = (120 − 100)/100 = 20%; leader e = 35%.
            //    I.1 = 150 + 150 × 20/35 = 150 + 85,714… = 235,714… → 235,71.
            //    I = 235,71 + 90 + 85 = 410,71 (82,14%). II = 40 + 30 + 30 + 40 + 40 = 180.
            //    III = 50 + 50 + 25 = 125 (83,33%). IV = 50 + 40 = 90. Content 805,71.
            //    Bonus TH.2 10; penalty TR.2 5. Total 805,71 + 10 − 5 = 810,71 → Tốt.
            U::new(3, "Sở Công Thương")
                .target("I.1", 100, 120)
                .manual("I.2", 90)
                .manual("I.3", 85)
                .ii(0, 0, 3, 0, 4)
                .iii(0, 0, 1)
                .iv(50, 0)
                .bonus("TH.2", 1)
                .penalty("TR.2", 1),
            // 4. The leader of I.1: e = (270 − 200)/200 = 35%, the highest → 300.
            //    I = 300 + 95 + 90 = 485. II.3: 7 × 10 = 70 over its cap 50 → 50;
            //    II = 40 + 30 + 50 + 40 + 40 = 200. III = 150. IV = 55 + 40 = 95. Content 930.
            //    Bonus TH.1 2×10 = 20; TH.2 3×10 = 30 over its line cap 20 → 20; TH.3 3×5 = 15;
            //    20 + 20 + 15 = 55 over the total cap 50 → 50. Total 980 → Xuất sắc.
            U::new(4, "Sở Nông nghiệp và Môi trường")
                .target("I.1", 200, 270)
                .manual("I.2", 95)
                .manual("I.3", 90)
                .ii(0, 0, 7, 0, 4)
                .iii(0, 0, 0)
                .iv(55, 0)
                .bonus("TH.1", 2)
                .bonus("TH.2", 3)
                .bonus("TH.3", 3),
            // 5. I.1 not applicable (no target). I = 90 + 90 = 180 of an applicable 200.
            //    II = 40 + 30 + 40 + 40 + 40 = 190. III = 150. IV = 50 + 40 = 90. Content 610.
            //    Applicable max 950 − 300 = 650. Scaled content 610 × 950 / 650 = 891,538… → 891,54.
            //    Bonus TH.1 10. Total 620; compared 891,54 + 10 = 901,54.
            //    Sections against their applicable maxima: I 90%, II 95%, III 100%, IV 90% → Xuất sắc.
            U::new(5, "Sở Y tế")
                .manual("I.2", 90)
                .manual("I.3", 90)
                .ii(0, 0, 4, 0, 4)
                .iii(0, 0, 0)
                .iv(50, 0)
                .bonus("TH.1", 1),
            // 6. e = (110 − 100)/100 = 10% → I.1 = 150 + 150 × 10/35 = 192,857… → 192,86.
            //    I = 192,86 + 80 + 80 = 352,86 (70,57%). II = 40 + 30 + 30 + 40 + 40 = 180.
            //    III = 125. IV = 40 + 40 = 80. Content 737,86. Bonus TH.3 2×5 = 10;
            //    penalty TR.3 5. Total 742,86 → Hoàn thành (I 70,57% < 80% and total < 800).
            U::new(6, "Sở Tư pháp")
                .target("I.1", 100, 110)
                .manual("I.2", 80)
                .manual("I.3", 80)
                .ii(0, 0, 3, 0, 4)
                .iii(0, 0, 1)
                .iv(40, 0)
                .bonus("TH.3", 2)
                .penalty("TR.3", 1),
            // 7. Same I (352,86). II = 40 + 30 + 40 + 40 + 30 = 180. III = 125. IV = 35 + 40 = 75 (75%).
            //    Content 732,86. Bonus TH.2 10, no penalty. Total 742,86: ties 6 and 8 on the
            //    total and on bonus (10), wins on fewer penalties (0 < 5) → rank 5.
            U::new(7, "Sở Nội vụ")
                .target("I.1", 100, 110)
                .manual("I.2", 80)
                .manual("I.3", 80)
                .ii(0, 0, 4, 0, 3)
                .iii(0, 1, 0)
                .iv(35, 0)
                .bonus("TH.2", 1),
            // 8. Like 6 with II.3 5×10 and II.5 2×10 (II = 40 + 30 + 50 + 40 + 20, still 180), bonus TH.1 10, penalty TR.2 5.
            //    Total 742,86, bonus 10, penalty 5, section I 352,86: equal to 6 on every
            //    tie-break → both rank 6 (then 8 for unit 1).
            U::new(8, "Sở Khoa học và Công nghệ")
                .target("I.1", 100, 110)
                .manual("I.2", 80)
                .manual("I.3", 80)
                .ii(0, 0, 5, 0, 2)
                .iii(0, 0, 1)
                .iv(40, 0)
                .bonus("TH.1", 1)
                .penalty("TR.2", 1),
        ]
        .into_iter()
        .map(|u| u.0)
        .collect()
    }

    fn by_id(g: &GroupResult) -> BTreeMap<i64, &UnitResult> {
        g.units.iter().map(|u| (u.unit_id, u)).collect()
    }

    fn steps(u: &UnitResult) -> String {
        u.explanation.steps.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn hand_computed_block() {
        let g = compute(&sample_table(), &block()).unwrap();
        let u = by_id(&g);
        // (id, I.1, I, II, III, IV, content, bonus, penalty, total, compared, class, rank)
        let expected = [
            (1, "120", "280", "130", "100", "45", "555", "0", "28", "527", "527", "khong_hoan_thanh", 8),
            (2, "150", "350", "200", "150", "100", "800", "50", "0", "850", "850", "hoan_thanh", 3),
            (3, "235,71", "410,71", "180", "125", "90", "805,71", "10", "5", "810,71", "810,71", "tot", 4),
            (4, "300", "485", "200", "150", "95", "930", "50", "0", "980", "980", "xuat_sac", 1),
            (5, "0", "180", "190", "150", "90", "610", "10", "0", "620", "901,54", "xuat_sac", 2),
            (6, "192,86", "352,86", "180", "125", "80", "737,86", "10", "5", "742,86", "742,86", "hoan_thanh", 6),
            (7, "192,86", "352,86", "180", "125", "75", "732,86", "10", "0", "742,86", "742,86", "hoan_thanh", 5),
            (8, "192,86", "352,86", "180", "125", "80", "737,86", "10", "5", "742,86", "742,86", "hoan_thanh", 6),
        ];
        for (id, i1, s1, s2, s3, s4, content, bonus, penalty, total, compared, class, rank) in expected {
            let r = u[&id];
            let ctx = format!("unit {id} {}:\n{}", r.name, steps(r));
            assert_eq!(r.points("I.1"), p(i1), "I.1 of {ctx}");
            assert_eq!(r.points("I"), p(s1), "I of {ctx}");
            assert_eq!(r.points("II"), p(s2), "II of {ctx}");
            assert_eq!(r.points("III"), p(s3), "III of {ctx}");
            assert_eq!(r.points("IV"), p(s4), "IV of {ctx}");
            assert_eq!(r.content, p(content), "content of {ctx}");
            assert_eq!(r.bonus, p(bonus), "bonus of {ctx}");
            assert_eq!(r.penalty, p(penalty), "penalty of {ctx}");
            assert_eq!(r.total, p(total), "total of {ctx}");
            assert_eq!(r.compared_total, p(compared), "compared of {ctx}");
            assert_eq!(r.class.as_ref().map(|c| c.code.as_str()), Some(class), "class of {ctx}");
            assert_eq!(r.rank, rank, "rank of {ctx}");
        }
        // best first; shared rank 6 in Vietnamese name order (K before T)
        assert_eq!(g.units.iter().map(|u| u.unit_id).collect::<Vec<_>>(), vec![4, 5, 2, 3, 7, 8, 6, 1]);
        assert_eq!(g.leads.len(), 1);
        assert_eq!(g.leads[0].code, "I.1");
        assert_eq!(g.leads[0].unit_ids, vec![4]);
        assert_eq!(g.leads[0].exceed_percent, p("35"));

        // caps: a count over its cap, a bonus line over its cap, the bonus total over its cap
        let u4 = u[&4];
        assert_eq!(u4.points("II.3"), p("50"));
        let th2 = u4.bonus_lines.iter().find(|b| b.code == "TH.2").unwrap();
        assert_eq!((th2.count, th2.raw, th2.points), (3, p("30"), p("20")));
        assert_eq!(u4.bonus_lines.iter().map(|b| b.points).sum::<Points>(), p("55"));
        // not applicable
        let u5 = u[&5];
        assert_eq!(u5.line("I.1").unwrap().status, LineStatus::NotApplicable);
        assert_eq!(u5.applicable_max, p("650"));
        assert_eq!(u5.line("I").unwrap().applicable_max, p("200"));
        assert_eq!(u5.sections[0].share_percent, p("90"));
    }

    #[test]
    fn hand_computed_explanations() {
        let g = compute(&sample_table(), &block()).unwrap();
        let u = by_id(&g);
        let has = |id: i64, needle: &str| {
            let s = steps(u[&id]);
            assert!(s.contains(needle), "unit {id}: expected {needle:?} in\n{s}");
        };
        has(1, "I.1: thực hiện 80/100 chỉ tiêu (đạt 80%), chưa đạt chỉ tiêu; 0,5×300×80/100 = 120.");
        has(2, "I.1: thực hiện 200/200 chỉ tiêu, đạt chỉ tiêu; 0,5×300 = 150.");
        has(
            3,
            "I.1: thực hiện 120/100 chỉ tiêu (vượt 20%); đơn vị dẫn đầu vượt 35% (Sở Nông nghiệp và Môi trường); 0,5×300 + 0,5×300×20/35 = 235,71.",
        );
        has(4, "I.1: thực hiện 270/200 chỉ tiêu (vượt 35%), dẫn đầu về tiêu chí này: được điểm tối đa 300.");
        has(4, "II.3: 7 lần × 10 = 70, vượt mức trần 50: tính 50.");
        has(4, "TH.2: 3 lần × 10 = 30, vượt mức tối đa của dòng 20: tính 20.");
        has(4, "Điểm thưởng: 20 + 20 + 15 = 55, vượt mức tối đa 50: tính 50.");
        has(4, "Xếp loại Xuất sắc: tổng 980 ≥ 900 và mọi phần ≥ 85% (thấp nhất: phần IV đạt 95%).");
        has(1, "Điểm trừ: 8 + 20 = 28.");
        has(1, "I.2: chấm 80/100; lý do: theo báo cáo, 80 điểm.");
        has(2, "Xếp loại Hoàn thành: tổng 850 ≥ 700 và mọi phần ≥ 70%");
        has(2, "(thấp nhất: phần I đạt 70%); không đạt Tốt vì phần I đạt 70% < 80%.");
        has(5, "I.1: không áp dụng (đơn vị không được giao chỉ tiêu).");
        has(5, "I: cộng các tiêu chí con 0 + 90 + 90 = 180/500 (phần áp dụng tối đa 200).");
        has(5, "điểm nội dung quy đổi 610 × 950 ÷ 650 = 891,54.");
        has(5, "Tổng dùng để so sánh: 891,54 + 10 (thưởng) − 0 (trừ) = 901,54.");
        // the class goes by the compared total, and says so when it is not the total
        has(5, "Xếp loại Xuất sắc: tổng dùng để so sánh 901,54 ≥ 900");
        assert!(!steps(u[&5]).contains("Xếp loại Xuất sắc: tổng 901,54"));
        has(
            7,
            "Tiêu chí phụ 2 (ít điểm trừ hơn): Sở Nội vụ 0; Sở Tư pháp 5, Sở Khoa học và Công nghệ 5 → xếp trên Sở Tư pháp, Sở Khoa học và Công nghệ.",
        );
        has(6, "Vẫn bằng Sở Khoa học và Công nghệ sau mọi tiêu chí phụ: đồng hạng 6 (không xếp theo tên).");
        has(6, "Hạng 6/8: tổng 742,86, bằng Sở Nội vụ, Sở Khoa học và Công nghệ.");
        // a unit classed and ranked by its compared total says so in both steps
        has(5, "Hạng 2/8: tổng dùng để so sánh 901,54.");
        // a unit whose compared total is its total: both steps say "tổng"
        has(4, "Hạng 1/8: tổng 980.");
        // every figure of every unit is explained
        for r in &g.units {
            for l in &r.lines {
                assert!(r.explanation.for_line(&l.code).next().is_some(), "{} has no step for {}", r.name, l.code);
            }
        }
    }

    #[test]
    fn unscaled_rule_compares_the_plain_total() {
        let mut t = sample_table();
        t.not_applicable_rule = NotApplicableRule::Unscaled;
        let g = compute(&t, &block()).unwrap();
        let u5 = by_id(&g)[&5];
        // 610 + 10 = 620, compared as is; I is 180/500 = 36% → Không hoàn thành;
        // ranked below the 742,86 of units 6 to 8, above unit 1's 527.
        assert_eq!(u5.compared_total, p("620"));
        assert_eq!(u5.class.as_ref().unwrap().code, "khong_hoan_thanh");
        assert_eq!(u5.rank, 7);
        assert!(steps(u5).contains(
            "Tiêu chí không áp dụng (I.1) tính 0 điểm, bảng không quy đổi: tổng dùng để so sánh là tổng điểm 620."
        ));
    }

    #[test]
    fn total_capped_when_the_table_does_not_allow_more() {
        let mut t = sample_table();
        t.may_exceed_nominal = false;
        // unit 4: 930 + 50 = 980 > 950 → 950
        let g = compute(&t, &block()).unwrap();
        let u4 = by_id(&g)[&4];
        assert_eq!(u4.total, p("950"));
        assert!(steps(u4).contains("= 980, vượt điểm tối đa 950 (bảng không cho vượt): tính 950."));
    }
}
