//! Cross-inspection (kiểm tra chéo) of a group's year: which member unit
//! inspects which.
//!
//! The head unit generates a plan with [`plan`] and may adjust it by hand;
//! [`check`] applies the same rules to any plan.
//!
//! Rules (each refusal names the units and says what to fix, in Vietnamese):
//! - every member is inspected by exactly one other member;
//! - a unit never inspects itself (conflict of interest);
//! - no two units inspect each other in the same year (A → B and B → A);
//! - the load is balanced: the numbers of units the members inspect differ by
//!   at most one (a generated plan has every member inspect exactly one unit:
//!   a permutation whose cycles all have three units or more);
//! - a pair of last year is not repeated where it can be avoided: [`plan`]
//!   minimises the repeats and reports them, [`check`] warns about them.
//!
//! A group needs at least three members: with one or two the rules cannot be
//! met. With three, the only plans are the two rounds A → B → C → A and
//! A → C → B → A.
//!
//! The plan is deterministic: the same members, last year's pairs and seed
//! give the same plan, whatever the order of the members in the input.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::rng::SplitMix64;

/// The field named in the refusals.
const FIELD: &str = "Kiểm tra chéo";

/// Up to this many members, [`plan`] searches every possible plan, so the
/// repeats it reports are the fewest possible.
const EXHAUSTIVE_UP_TO: usize = 8;

/// A member unit of the group-year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: i64,
    /// The name shown in messages.
    pub name: String,
}

impl Member {
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Member { id, name: name.into() }
    }
}

/// One unit inspecting another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pair {
    pub inspector: i64,
    pub inspected: i64,
}

impl Pair {
    pub fn new(inspector: i64, inspected: i64) -> Self {
        Pair { inspector, inspected }
    }
}

/// A generated plan with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// One pair per member, in the order of the members given (by inspector).
    pub pairs: Vec<Pair>,
    /// How many pairs of last year the plan repeats (the fewest found).
    pub repeats_from_last_year: usize,
    /// The explanation of the plan, in Vietnamese.
    pub notes: Vec<String>,
}

/// The plan's search draws from a deterministic generator.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The name of a unit for messages.
fn name_of(names: &HashMap<i64, &str>, id: i64) -> String {
    match names.get(&id) {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => format!("đơn vị mã {id}"),
    }
}

/// Refuses groups too small and units listed twice.
fn check_members(members: &[Member]) -> Result<(), Invalid> {
    let mut seen = HashSet::new();
    for m in members {
        if !seen.insert(m.id) {
            return Err(Invalid::new(
                FIELD,
                format!(
                    "{} có mặt hơn một lần trong danh sách thành viên. Hãy để mỗi đơn vị một lần.",
                    if m.name.trim().is_empty() {
                        format!("Đơn vị mã {}", m.id)
                    } else {
                        m.name.trim().to_string()
                    }
                ),
            ));
        }
    }
    if members.len() < 3 {
        return Err(Invalid::new(
            FIELD,
            format!(
                "Cụm, khối cần ít nhất 3 thành viên để kiểm tra chéo (hiện có {}): với ít hơn, đơn vị sẽ phải tự \
                 kiểm tra mình hoặc hai đơn vị kiểm tra lẫn nhau. Hãy bổ sung thành viên hoặc đề nghị cơ quan \
                 thường trực tổ chức kiểm tra.",
                members.len()
            ),
        ));
    }
    Ok(())
}

/// Whether the assignment `sigma` (inspector index → inspected index) has no
/// unit inspecting itself and no two units inspecting each other at `i`.
fn fine_at(sigma: &[usize], i: usize) -> bool {
    sigma[i] != i && sigma[sigma[i]] != i
}

/// Generates the cross-inspection plan of a group-year.
///
/// `last_year` may hold pairs of units no longer members: they are ignored.
/// The same input and `seed` give the same plan.
pub fn plan(members: &[Member], last_year: &[Pair], seed: u64) -> Result<Plan, Invalid> {
    check_members(members)?;
    // Work on the members sorted by id, so the order of the input does not matter.
    let mut ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    let n = ids.len();
    let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let names: HashMap<i64, &str> = members.iter().map(|m| (m.id, m.name.as_str())).collect();

    // Last year's pairs between this year's members.
    let mut old = vec![vec![false; n]; n];
    let mut ignored = 0usize;
    for p in last_year {
        match (index.get(&p.inspector), index.get(&p.inspected)) {
            (Some(&a), Some(&b)) if a != b => old[a][b] = true,
            _ => ignored += 1,
        }
    }
    let had_last_year = old.iter().any(|row| row.iter().any(|x| *x));

    // Repeats no plan can avoid: a member whose every possible inspector, or
    // every possible inspected unit, is a pair of last year.
    let forced_out = (0..n).filter(|&a| (0..n).all(|b| a == b || old[a][b])).count();
    let forced_in = (0..n).filter(|&b| (0..n).all(|a| a == b || old[a][b])).count();
    let lower_bound = forced_out.max(forced_in);

    let mut rng = Rng(SplitMix64::new(seed ^ 0x7468_6964_7561_u64));
    let (sigma, exact) = if n <= EXHAUSTIVE_UP_TO {
        (search_all(n, &old, lower_bound, &mut rng), true)
    } else {
        let s = local_search(n, &old, lower_bound, &mut rng);
        let cost = (0..n).filter(|&a| old[a][s[a]]).count();
        (s, cost == lower_bound)
    };
    let repeats: Vec<(usize, usize)> = (0..n).filter(|&a| old[a][sigma[a]]).map(|a| (a, sigma[a])).collect();

    // The pairs in the order of the members given.
    let pairs: Vec<Pair> = members.iter().map(|m| Pair::new(m.id, ids[sigma[index[&m.id]]])).collect();

    let mut notes = vec![format!(
        "Kế hoạch kiểm tra chéo gồm {n} cặp cho {n} thành viên: mỗi thành viên kiểm tra đúng một đơn vị và được \
         đúng một đơn vị khác kiểm tra; không đơn vị nào tự kiểm tra mình, không có hai đơn vị kiểm tra lẫn nhau."
    )];
    if n == 3 {
        notes.push(
            "Cụm, khối có 3 thành viên chỉ có hai cách phân công (hai vòng ba đơn vị theo hai chiều ngược nhau)."
                .to_string(),
        );
    }
    // The rounds, each from the first of its members in the order given.
    let mut done = vec![false; n];
    let mut rounds = Vec::new();
    for m in members {
        let start = index[&m.id];
        if done[start] {
            continue;
        }
        let mut chain = Vec::new();
        let mut i = start;
        while !done[i] {
            done[i] = true;
            chain.push(name_of(&names, ids[i]));
            i = sigma[i];
        }
        chain.push(name_of(&names, ids[start]));
        rounds.push(chain.join(" → "));
    }
    if rounds.len() == 1 {
        notes.push(format!("Vòng kiểm tra: {}.", rounds[0]));
    } else {
        for (k, r) in rounds.iter().enumerate() {
            notes.push(format!("Vòng kiểm tra {}: {r}.", k + 1));
        }
    }
    if !had_last_year {
        notes.push("Không có phân công của năm trước để so sánh.".to_string());
    } else if repeats.is_empty() {
        notes.push("Không cặp nào lặp lại phân công của năm trước.".to_string());
    } else {
        let list: Vec<String> = repeats
            .iter()
            .map(|&(a, b)| format!("{} kiểm tra {}", name_of(&names, ids[a]), name_of(&names, ids[b])))
            .collect();
        let why = if exact {
            "không thể tránh với số thành viên và phân công năm trước"
        } else {
            "không tìm được cách phân công tránh được; có thể điều chỉnh bằng tay"
        };
        notes.push(format!("{} cặp lặp lại phân công của năm trước ({why}): {}.", repeats.len(), list.join("; ")));
    }
    if ignored > 0 {
        notes.push(format!(
            "Bỏ qua {ignored} cặp của năm trước có đơn vị không còn là thành viên hoặc tự kiểm tra mình."
        ));
    }
    Ok(Plan { pairs, repeats_from_last_year: repeats.len(), notes })
}

/// The plan with the fewest repeats among all plans (small groups), the first
/// found in an order drawn from `rng`.
fn search_all(n: usize, old: &[Vec<bool>], lower_bound: usize, rng: &mut Rng) -> Vec<usize> {
    struct Search<'a> {
        n: usize,
        old: &'a [Vec<bool>],
        lower_bound: usize,
        orders: Vec<Vec<usize>>,
        sigma: Vec<usize>,
        used: Vec<bool>,
        best: Option<(usize, Vec<usize>)>,
    }
    impl Search<'_> {
        fn go(&mut self, i: usize, cost: usize) {
            if let Some((b, _)) = &self.best
                && (cost >= *b || *b == self.lower_bound)
            {
                return;
            }
            if i == self.n {
                self.best = Some((cost, self.sigma.clone()));
                return;
            }
            for k in 0..self.n {
                let j = self.orders[i][k];
                // Not itself, not taken, and no pair the other way round.
                if j == i || self.used[j] || (j < i && self.sigma[j] == i) {
                    continue;
                }
                self.used[j] = true;
                self.sigma[i] = j;
                self.go(i + 1, cost + usize::from(self.old[i][j]));
                self.used[j] = false;
            }
        }
    }
    let orders = (0..n)
        .map(|_| {
            let mut o: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut o);
            o
        })
        .collect();
    let mut s = Search { n, old, lower_bound, orders, sigma: vec![usize::MAX; n], used: vec![false; n], best: None };
    s.go(0, 0);
    // Every group of 3 or more has a plan (one round of all members).
    s.best.map(|(_, sigma)| sigma).unwrap_or_else(|| (0..n).map(|i| (i + 1) % n).collect())
}

/// A plan with few repeats for larger groups: one round of all members in a
/// random order, then random exchanges of inspected units that keep the rules
/// and do not add repeats.
fn local_search(n: usize, old: &[Vec<bool>], lower_bound: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut sigma = vec![0; n];
    for k in 0..n {
        sigma[order[k]] = order[(k + 1) % n];
    }
    let mut cost = (0..n).filter(|&a| old[a][sigma[a]]).count();
    let budget = (400 * n * n).clamp(20_000, 2_000_000);
    let mut tries = 0;
    while cost > lower_bound && tries < budget {
        tries += 1;
        let i = rng.below(n);
        let j = rng.below(n);
        if i == j {
            continue;
        }
        let before = usize::from(old[i][sigma[i]]) + usize::from(old[j][sigma[j]]);
        sigma.swap(i, j);
        let after = usize::from(old[i][sigma[i]]) + usize::from(old[j][sigma[j]]);
        if fine_at(&sigma, i) && fine_at(&sigma, j) && after <= before {
            cost = cost + after - before;
        } else {
            sigma.swap(i, j);
        }
    }
    sigma
}

/// Checks a plan adjusted by hand: the errors name the units and say what to
/// fix; the warnings (pairs repeated from last year) do not block the plan.
pub fn check(members: &[Member], pairs: &[Pair], last_year: &[Pair]) -> Result<Vec<String>, Vec<Invalid>> {
    check_members(members).map_err(|e| vec![e])?;
    let names: HashMap<i64, &str> = members.iter().map(|m| (m.id, m.name.as_str())).collect();
    let name = |id: i64| name_of(&names, id);
    let mut errors = Vec::new();
    let err = |errors: &mut Vec<Invalid>, msg: String| errors.push(Invalid::new(FIELD, msg));

    // Unknown units and units inspecting themselves.
    let mut reported_unknown = HashSet::new();
    for p in pairs {
        for id in [p.inspector, p.inspected] {
            if !names.contains_key(&id) && reported_unknown.insert(id) {
                err(
                    &mut errors,
                    format!(
                        "Đơn vị mã {id} không phải thành viên của cụm, khối năm nay. Hãy chọn một thành viên của \
                         cụm, khối."
                    ),
                );
            }
        }
        if p.inspector == p.inspected && names.contains_key(&p.inspector) {
            let a = name(p.inspector);
            err(
                &mut errors,
                format!("{a} không được tự kiểm tra chính mình. Hãy phân công một thành viên khác kiểm tra {a}."),
            );
        }
    }
    let valid: Vec<Pair> = pairs
        .iter()
        .copied()
        .filter(|p| p.inspector != p.inspected && names.contains_key(&p.inspector) && names.contains_key(&p.inspected))
        .collect();

    // Two units inspecting each other.
    let set: HashSet<Pair> = valid.iter().copied().collect();
    let mut reported = HashSet::new();
    for p in &valid {
        let (lo, hi) = (p.inspector.min(p.inspected), p.inspector.max(p.inspected));
        if set.contains(&Pair::new(p.inspected, p.inspector)) && reported.insert((lo, hi)) {
            err(
                &mut errors,
                format!(
                    "{} và {} kiểm tra lẫn nhau trong cùng năm. Hãy đổi một trong hai cặp để mỗi đơn vị được một \
                     đơn vị khác kiểm tra.",
                    name(p.inspector),
                    name(p.inspected)
                ),
            );
        }
    }

    // Each member inspected exactly once.
    for m in members {
        let by: Vec<i64> = valid.iter().filter(|p| p.inspected == m.id).map(|p| p.inspector).collect();
        let a = name(m.id);
        match by.len() {
            0 => err(
                &mut errors,
                format!("{a} chưa có đơn vị nào kiểm tra. Hãy phân công một thành viên khác kiểm tra {a}."),
            ),
            1 => {}
            k => {
                let list: Vec<String> = by.iter().map(|&b| name(b)).collect();
                err(
                    &mut errors,
                    format!(
                        "{a} được {k} đơn vị kiểm tra ({}); mỗi đơn vị chỉ được một đơn vị khác kiểm tra. Hãy giữ \
                         lại một cặp.",
                        list.join(", ")
                    ),
                );
            }
        }
    }

    // The load of each inspector.
    let loads: Vec<(i64, usize)> =
        members.iter().map(|m| (m.id, valid.iter().filter(|p| p.inspector == m.id).count())).collect();
    let mut warnings = Vec::new();
    let most = loads.iter().map(|l| l.1).max().unwrap_or(0);
    let least = loads.iter().map(|l| l.1).min().unwrap_or(0);
    let list =
        |k: usize| -> String { loads.iter().filter(|l| l.1 == k).map(|l| name(l.0)).collect::<Vec<_>>().join(", ") };
    if most > least + 1 {
        err(
            &mut errors,
            format!(
                "Phân công chưa đều: {} kiểm tra {most} đơn vị trong khi {} kiểm tra {least} đơn vị. Số đơn vị mỗi \
                 thành viên kiểm tra chỉ được chênh nhau tối đa 1; hãy chuyển bớt cặp sang thành viên kiểm tra ít.",
                list(most),
                list(least)
            ),
        );
    }

    // Repeats from last year.
    let old: HashSet<Pair> = last_year.iter().copied().collect();
    let mut warned = HashSet::new();
    for p in &valid {
        if old.contains(p) && warned.insert(*p) {
            warnings.push(format!(
                "{} kiểm tra {} lặp lại phân công của năm trước. Nên đổi nếu có thể.",
                name(p.inspector),
                name(p.inspected)
            ));
        }
    }

    if errors.is_empty() { Ok(warnings) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn members(n: usize) -> Vec<Member> {
        (0..n).map(|i| Member::new(100 + i as i64, format!("Đơn vị {}", i + 1))).collect()
    }

    /// The structural rules every generated plan meets.
    fn assert_sound(ms: &[Member], p: &Plan) {
        let ids: HashSet<i64> = ms.iter().map(|m| m.id).collect();
        assert_eq!(p.pairs.len(), ms.len());
        let set: HashSet<Pair> = p.pairs.iter().copied().collect();
        for q in &p.pairs {
            assert!(ids.contains(&q.inspector) && ids.contains(&q.inspected));
            assert_ne!(q.inspector, q.inspected, "self: {q:?}");
            assert!(!set.contains(&Pair::new(q.inspected, q.inspector)), "reciprocal: {q:?}");
        }
        for m in ms {
            assert_eq!(p.pairs.iter().filter(|q| q.inspected == m.id).count(), 1);
            assert_eq!(p.pairs.iter().filter(|q| q.inspector == m.id).count(), 1);
        }
        assert!(check(ms, &p.pairs, &[]).is_ok());
    }

    fn repeats(p: &[Pair], last: &[Pair]) -> usize {
        p.iter().filter(|q| last.contains(q)).count()
    }

    #[test]
    fn groups_of_one_or_two_are_refused() {
        for n in 0..3 {
            let e = plan(&members(n), &[], 1).unwrap_err();
            assert!(e.message.starts_with("Cụm, khối cần ít nhất 3 thành viên để kiểm tra chéo"), "{}", e.message);
            assert!(check(&members(n), &[], &[]).is_err());
        }
    }

    #[test]
    fn a_unit_listed_twice_is_refused() {
        let mut ms = members(4);
        ms.push(Member::new(101, "Đơn vị 2"));
        let e = plan(&ms, &[], 1).unwrap_err();
        assert!(e.message.contains("Đơn vị 2"), "{}", e.message);
    }

    #[test]
    fn three_members_get_one_of_the_two_rounds() {
        let ms = members(3);
        let mut seen = HashSet::new();
        for seed in 0..40 {
            let p = plan(&ms, &[], seed).unwrap();
            assert_sound(&ms, &p);
            assert!(p.notes.iter().any(|n| n.contains("chỉ có hai cách")));
            let mut v = p.pairs.clone();
            v.sort();
            seen.insert(v);
        }
        assert_eq!(seen.len(), 2, "both rounds are drawn by some seed");
    }

    #[test]
    fn three_members_avoid_last_year_with_the_other_round() {
        let ms = members(3);
        let last = plan(&ms, &[], 7).unwrap().pairs;
        for seed in 0..20 {
            let p = plan(&ms, &last, seed).unwrap();
            assert_sound(&ms, &p);
            assert_eq!(p.repeats_from_last_year, 0);
            assert_eq!(repeats(&p.pairs, &last), 0);
        }
    }

    #[test]
    fn sizes_with_and_without_last_year() {
        for n in [4, 5, 17] {
            let ms = members(n);
            let first = plan(&ms, &[], 3).unwrap();
            assert_sound(&ms, &first);
            assert_eq!(first.repeats_from_last_year, 0);
            assert!(first.notes.iter().any(|x| x.contains("Không có phân công của năm trước")));
            for seed in 0..10 {
                let p = plan(&ms, &first.pairs, seed).unwrap();
                assert_sound(&ms, &p);
                assert_eq!(p.repeats_from_last_year, 0, "n = {n}, seed = {seed}");
                assert_eq!(repeats(&p.pairs, &first.pairs), 0);
                assert!(p.notes.iter().any(|x| x.contains("Không cặp nào lặp lại")));
                let w = check(&ms, &p.pairs, &first.pairs).unwrap();
                assert!(w.is_empty(), "{w:?}");
            }
        }
    }

    #[test]
    fn unavoidable_repeats_are_reported() {
        // With 4 members, last year had every unit inspect every other one: nothing can be avoided.
        let ms = members(4);
        let mut last = Vec::new();
        for a in &ms {
            for b in &ms {
                if a.id != b.id {
                    last.push(Pair::new(a.id, b.id));
                }
            }
        }
        let p = plan(&ms, &last, 5).unwrap();
        assert_sound(&ms, &p);
        assert_eq!(p.repeats_from_last_year, 4);
        assert!(p.notes.iter().any(|x| x.contains("không thể tránh")), "{:?}", p.notes);
        let w = check(&ms, &p.pairs, &last).unwrap();
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn the_same_input_gives_the_same_plan() {
        let ms = members(17);
        let last = plan(&ms, &[], 11).unwrap().pairs;
        assert_eq!(plan(&ms, &last, 42).unwrap(), plan(&ms, &last, 42).unwrap());
        // The order of the members does not change the pairs.
        let mut rev = ms.clone();
        rev.reverse();
        let mut a = plan(&ms, &last, 42).unwrap().pairs;
        let mut b = plan(&rev, &last, 42).unwrap().pairs;
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_usually_give_different_plans() {
        for n in [5, 17] {
            let ms = members(n);
            let plans: HashSet<Vec<Pair>> = (0..10).map(|s| plan(&ms, &[], s).unwrap().pairs).collect();
            assert!(plans.len() >= 5, "n = {n}: only {} plans from 10 seeds", plans.len());
        }
    }

    #[test]
    fn the_notes_name_the_rounds() {
        let ms = members(4);
        let p = plan(&ms, &[], 2).unwrap();
        assert!(p.notes.iter().any(|x| x.starts_with("Vòng kiểm tra") && x.contains("Đơn vị 1")), "{:?}", p.notes);
    }

    #[test]
    fn check_names_every_broken_rule() {
        let ms = members(5);
        let (a, b, c, d, e) = (100, 101, 102, 103, 104);
        // Self, reciprocal, unknown, inspected twice, not inspected, imbalance.
        let pairs = [
            Pair::new(a, a),
            Pair::new(b, c),
            Pair::new(c, b),
            Pair::new(d, 999),
            Pair::new(e, b),
            Pair::new(e, d),
            Pair::new(e, c),
        ];
        let errors = check(&ms, &pairs, &[]).unwrap_err();
        let all: Vec<&str> = errors.iter().map(|x| x.message.as_str()).collect();
        let has = |s: &str| all.iter().any(|m| m.contains(s));
        assert!(has("Đơn vị 1 không được tự kiểm tra chính mình"), "{all:?}");
        assert!(has("Đơn vị 2 và Đơn vị 3 kiểm tra lẫn nhau"), "{all:?}");
        assert!(has("Đơn vị mã 999 không phải thành viên"), "{all:?}");
        assert!(has("Đơn vị 2 được 2 đơn vị kiểm tra"), "{all:?}");
        assert!(has("Đơn vị 1 chưa có đơn vị nào kiểm tra"), "{all:?}");
        assert!(has("Phân công chưa đều: Đơn vị 5 kiểm tra 3 đơn vị"), "{all:?}");
        assert_eq!(all.iter().filter(|m| m.contains("lẫn nhau")).count(), 1);
    }

    #[test]
    fn check_warns_about_repeats_and_refuses_uneven_load() {
        let ms = members(5);
        let (a, b, c, d, e) = (100, 101, 102, 103, 104);
        // One round of all five, with one pair of last year.
        let pairs = [Pair::new(a, b), Pair::new(b, c), Pair::new(c, d), Pair::new(d, e), Pair::new(e, a)];
        let w = check(&ms, &pairs, &[Pair::new(b, c)]).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("Đơn vị 2 kiểm tra Đơn vị 3 lặp lại"), "{w:?}");
        // One member inspects two units, another none, though everyone is inspected once: refused.
        let uneven = [Pair::new(a, b), Pair::new(b, c), Pair::new(c, d), Pair::new(c, e), Pair::new(e, a)];
        let errors = check(&ms, &uneven, &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("Đơn vị 3 kiểm tra 2 đơn vị trong khi Đơn vị 4 kiểm tra 0"), "{errors:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Every generated plan meets every rule, whatever last year was.
        #[test]
        fn every_plan_passes_the_check(
            n in 3usize..40,
            raw in proptest::collection::vec((0usize..40, 0usize..40), 0..80),
            seed in any::<u64>(),
        ) {
            let ms = members(n);
            let last: Vec<Pair> = raw
                .iter()
                .map(|&(a, b)| Pair::new(100 + (a % (n + 2)) as i64, 100 + (b % (n + 2)) as i64))
                .collect();
            let p = plan(&ms, &last, seed).unwrap();
            prop_assert!(check(&ms, &p.pairs, &last).is_ok());
            prop_assert_eq!(p.repeats_from_last_year, repeats(&p.pairs, &last));
            let set: HashSet<Pair> = p.pairs.iter().copied().collect();
            for q in &p.pairs {
                prop_assert_ne!(q.inspector, q.inspected);
                prop_assert!(!set.contains(&Pair::new(q.inspected, q.inspector)));
            }
            for m in &ms {
                prop_assert_eq!(p.pairs.iter().filter(|q| q.inspected == m.id).count(), 1);
                prop_assert_eq!(p.pairs.iter().filter(|q| q.inspector == m.id).count(), 1);
            }
        }

        /// Last year's plan is never repeated, not even in part, from 3 members up.
        #[test]
        fn last_years_plan_is_avoided(n in 3usize..40, s1 in any::<u64>(), s2 in any::<u64>()) {
            let ms = members(n);
            let last = plan(&ms, &[], s1).unwrap().pairs;
            let p = plan(&ms, &last, s2).unwrap();
            prop_assert_eq!(p.repeats_from_last_year, 0);
            prop_assert!(check(&ms, &p.pairs, &last).unwrap().is_empty());
        }

        /// The same input gives the same plan.
        #[test]
        fn plans_are_deterministic(n in 3usize..40, seed in any::<u64>()) {
            let ms = members(n);
            prop_assert_eq!(plan(&ms, &[], seed).unwrap(), plan(&ms, &[], seed).unwrap());
        }
    }
}
