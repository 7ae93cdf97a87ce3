//! Storage tests. They run on SQLite; with THIDUA_TEST_POSTGRES set (a server
//! URL such as postgres://postgres@127.0.0.1:5432) they run on a fresh
//! PostgreSQL database as well, and fail if that server cannot be reached.

use thidua_db::audit::{self, Entry, Verdict};
use thidua_db::testing::{PgDatabase, SqliteDatabase};
use thidua_db::{Backend, Db, args};

/// A database with the guard that removes it.
struct TestDb {
    db: Db,
    _guard: Box<dyn std::any::Any>,
}

async fn sqlite() -> TestDb {
    let s = SqliteDatabase::new("thidua-db");
    TestDb { db: s.migrated().await, _guard: Box::new(s) }
}

async fn postgres() -> Option<TestDb> {
    let pg = PgDatabase::create("thidua_test").await?;
    Some(TestDb { db: pg.migrated().await, _guard: Box::new(pg) })
}

impl TestDb {
    async fn finish(self) {
        self.db.close().await;
    }
}

/// Runs a test body on SQLite, and on PostgreSQL when configured.
async fn each_backend<F, Fut>(f: F)
where
    F: Fn(Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let s = sqlite().await;
    f(s.db.clone()).await;
    s.finish().await;
    if let Some(p) = postgres().await {
        f(p.db.clone()).await;
        p.finish().await;
    }
}

fn entry(n: usize) -> Entry {
    Entry {
        actor_name: "kiem.thu".into(),
        action: "unit.update".into(),
        object_type: "unit".into(),
        object_id: n.to_string(),
        after: Some(serde_json::json!({ "name": format!("Đơn vị {n}") })),
        request_id: format!("req-{n}"),
        ..Default::default()
    }
}

/// The log's head and the count of what came after an id, by kind, in one
/// statement: what the cache of group-years asks on every read.
#[tokio::test]
async fn the_log_since_an_entry_is_counted_by_kind() {
    each_backend(|db| async move {
        let harmless = ["login", "logout"];
        let kept = ("score.save", "unit");
        let mut tx = db.read().await.expect("tx");
        let empty = audit::since(&mut tx, 0, 10, kept, &harmless).await.expect("since");
        assert_eq!(empty, audit::Since { head: 0, head_hash: String::new(), entries: 0, kept: 0, harmless: 0 });
        tx.rollback().await.expect("rollback");
        let mut tx = db.begin().await.expect("tx");
        let kinds = [
            ("login", "user"),
            ("score.save", "unit"),
            ("denied:view_sheet", "unit"),
            ("score.save", "group"),
            ("score.save", "unit"),
            ("logout", "user"),
            ("score.submit", "unit"),
        ];
        for (n, (action, object_type)) in kinds.iter().enumerate() {
            let mut e = entry(n);
            e.action = action.to_string();
            e.object_type = object_type.to_string();
            audit::append(&mut tx, e).await.expect("append");
        }
        tx.commit().await.expect("commit");
        let mut tx = db.read().await.expect("tx");
        let all = audit::since(&mut tx, 0, 10, kept, &harmless).await.expect("since");
        let (last_hash,): (String,) = tx.one("SELECT hash FROM audit_log WHERE id = 7", vec![]).await.expect("hash");
        assert_eq!(all.head_hash, last_hash, "the head kept by the database");
        let counts = |s: &audit::Since| (s.head, s.entries, s.kept, s.harmless);
        assert_eq!(counts(&all), (7, 7, 2, 3));
        assert_eq!(all.others(), 2, "the save on a group and the submission");
        assert!(!all.beyond(10) && all.beyond(6));
        // from entry 4 on: a save, a sign-out, a submission
        let later = audit::since(&mut tx, 4, 10, kept, &harmless).await.expect("since");
        assert_eq!(counts(&later), (7, 3, 1, 1));
        // at most the limit + 1 are looked at
        let few = audit::since(&mut tx, 0, 2, kept, &harmless).await.expect("since");
        assert_eq!(counts(&few), (7, 3, 1, 2));
        assert!(few.beyond(2));
        let none = audit::since(&mut tx, 7, 10, kept, &[]).await.expect("since");
        assert_eq!(counts(&none), (7, 0, 0, 0));
        tx.rollback().await.expect("rollback");
        // an entry appended after the head read in the same write transaction chains to it
        let mut tx = db.begin().await.expect("tx");
        let head = audit::since(&mut tx, 7, 10, kept, &harmless).await.expect("since");
        assert_eq!(audit::append_after(&mut tx, entry(8), &head).await.expect("append"), 8);
        tx.commit().await.expect("commit");
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(8));
        // after a head that is no longer the last (SQLite): refused, the chain does not fork
        if db.backend() == Backend::Sqlite {
            let mut tx = db.begin().await.expect("tx");
            assert!(audit::append_after(&mut tx, entry(9), &all).await.is_err());
            drop(tx);
            assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(8));
        }
    })
    .await;
}

#[tokio::test]
async fn both_schemas_have_the_same_tables_and_columns() {
    let s = sqlite().await;
    let lite = s.db.schema().await.expect("schema");
    assert!(lite.iter().any(|(t, c, not_null)| t == "audit_log" && c == "hash" && *not_null), "{lite:?}");
    assert!(lite.iter().any(|(t, c, not_null)| t == "units" && c == "active_to" && !*not_null), "{lite:?}");
    if let Some(p) = postgres().await {
        let pg = p.db.schema().await.expect("schema");
        for (l, p) in lite.iter().zip(pg.iter()) {
            assert_eq!(l, p, "SQLite and PostgreSQL schemas differ (table, column, not null)");
        }
        assert_eq!(lite.len(), pg.len(), "SQLite and PostgreSQL have different numbers of columns");
        p.finish().await;
    }
    s.finish().await;
}

#[tokio::test]
async fn audit_chain_verifies_and_detects_tampering() {
    each_backend(|db| async move {
        let mut tx = db.begin().await.expect("tx");
        for n in 0..5 {
            audit::append(&mut tx, entry(n)).await.expect("append");
        }
        tx.commit().await.expect("commit");
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(5));

        // the database refuses changes to the log
        let mut tx = db.begin().await.expect("tx");
        let refused = tx.exec("UPDATE audit_log SET reason = 'sửa' WHERE id = 3", vec![]).await;
        assert!(refused.is_err(), "an UPDATE of the audit log must be refused");
        drop(tx);
        let mut tx = db.begin().await.expect("tx");
        assert!(tx.exec("DELETE FROM audit_log WHERE id = 5", vec![]).await.is_err(), "DELETE must be refused");
        drop(tx);

        // someone with raw access drops the guard and edits row 3
        let mut tx = db.begin().await.expect("tx");
        match db.backend() {
            Backend::Sqlite => tx.exec("DROP TRIGGER audit_log_no_update", vec![]).await.expect("drop"),
            Backend::Postgres => tx.exec("DROP TRIGGER audit_log_no_update ON audit_log", vec![]).await.expect("drop"),
        };
        tx.exec("UPDATE audit_log SET after_json = $1 WHERE id = 3", args!["{\"name\":\"Khác\"}"])
            .await
            .expect("tamper");
        tx.commit().await.expect("commit");
        match audit::verify(&db).await.expect("verify") {
            Verdict::Broken { id, .. } => assert_eq!(id, 3),
            v => panic!("tampering not detected: {v:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn audit_verify_detects_rows_removed_from_the_end() {
    each_backend(|db| async move {
        let mut tx = db.begin().await.expect("tx");
        for n in 0..4 {
            audit::append(&mut tx, entry(n)).await.expect("append");
        }
        tx.commit().await.expect("commit");
        let mut tx = db.begin().await.expect("tx");
        match db.backend() {
            Backend::Sqlite => tx.exec("DROP TRIGGER audit_log_no_delete", vec![]).await.expect("drop"),
            Backend::Postgres => tx.exec("DROP TRIGGER audit_log_no_delete ON audit_log", vec![]).await.expect("drop"),
        };
        tx.exec("DELETE FROM audit_log WHERE id >= 3", vec![]).await.expect("delete");
        tx.commit().await.expect("commit");
        match audit::verify(&db).await.expect("verify") {
            Verdict::Broken { id, why } => {
                assert_eq!(id, 3);
                assert!(why.contains("đã bị xoá"), "{why}");
            }
            v => panic!("removal not detected: {v:?}"),
        }
        // and an emptied log
        let mut tx = db.begin().await.expect("tx");
        tx.exec("DELETE FROM audit_log", vec![]).await.expect("delete");
        tx.commit().await.expect("commit");
        assert!(matches!(audit::verify(&db).await.expect("verify"), Verdict::Broken { id: 1, .. }));
    })
    .await;
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    each_backend(|db| async move {
        let mut handles = Vec::new();
        for n in 0..20 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = db.begin().await.expect("tx");
                audit::append(&mut tx, entry(n)).await.expect("append");
                tx.commit().await.expect("commit");
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(20));
    })
    .await;
}

/// A province with a block for 2026 and these departments: (group-year, unit ids).
async fn block_2026(tx: &mut thidua_db::Tx, names: &[&str]) -> (i64, Vec<i64>) {
    use thidua_db::org;
    let a = org::insert_authority(tx, "Tỉnh Cao Bằng", "Cao Bằng", "province", None).await.expect("authority");
    org::insert_year(tx, 2026).await.expect("year");
    let g = org::insert_group(tx, "block", "Khối thi đua các cơ quan Đảng", a).await.expect("group");
    let gy = org::group_year(tx, g, 2026).await.expect("group year");
    let mut ids = Vec::new();
    for name in names {
        let u = org::UnitData {
            name: name.to_string(),
            short_name: name.to_string(),
            kind: "department".into(),
            authority_id: a,
            active_from: None,
            active_to: None,
        };
        ids.push(org::insert_unit(tx, &u).await.expect("unit"));
    }
    (gy, ids)
}

#[tokio::test]
async fn one_head_per_group_year_is_enforced_by_the_database() {
    each_backend(|db| async move {
        use thidua_db::org;
        let mut tx = db.begin().await.expect("tx");
        let (gy, ids) = block_2026(&mut tx, &["Sở Tư pháp", "Sở Y tế"]).await;
        org::insert_membership(&mut tx, gy, ids[0], "head").await.expect("head");
        let second = org::insert_membership(&mut tx, gy, ids[1], "head").await;
        assert!(matches!(second, Err(thidua_db::DbError::Conflict(_))), "{second:?}");
    })
    .await;
}

#[tokio::test]
async fn search_key_finds_vietnamese_without_marks() {
    each_backend(|db| async move {
        use thidua_db::org;
        let mut tx = db.begin().await.expect("tx");
        let a = org::insert_authority(&mut tx, "Thành phố Đà Nẵng", "Đà Nẵng", "province", None).await.expect("a");
        let u = org::UnitData {
            name: "Sở Nội vụ thành phố Đà Nẵng".into(),
            short_name: "SNV Đà Nẵng".into(),
            kind: "department".into(),
            authority_id: a,
            active_from: None,
            active_to: None,
        };
        org::insert_unit(&mut tx, &u).await.expect("unit");
        let q = org::UnitQuery {
            words: vec!["da".into(), "nang".into()],
            today: "2026-11-22".into(),
            limit: 10,
            ..Default::default()
        };
        let found = org::search_units(&mut tx, &q).await.expect("search");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "Sở Nội vụ thành phố Đà Nẵng");
    })
    .await;
}

/// Writers that arrive together share commits; one that gives up or fails
/// leaves nothing, and the others lose nothing; the audit chain stays one.
#[tokio::test]
async fn batched_writers_keep_their_own_work_only() {
    each_backend(|db| async move {
        let batcher = thidua_db::batch::Batcher::new(db.clone());
        let mut handles = Vec::new();
        for n in 0..60usize {
            let batcher = batcher.clone();
            handles.push(tokio::spawn(async move {
                let mut b = batcher.begin().await.expect("turn");
                audit::append_in(&mut b, entry(n)).await.expect("append");
                match n % 6 {
                    // changes its mind: nothing of it stays
                    1 => {
                        b.rollback().await.expect("rollback");
                        false
                    }
                    // gives up in the middle (a request dropped): nothing of it stays
                    2 => {
                        drop(b);
                        false
                    }
                    // fails on a statement: its own part is undone
                    3 => {
                        let bad = b.exec("INSERT INTO audit_head (id, last_id) VALUES (1, 0)", vec![]).await;
                        assert!(bad.is_err(), "the second head row must be refused");
                        b.rollback().await.expect("rollback");
                        false
                    }
                    _ => {
                        b.commit().await.expect("commit");
                        true
                    }
                }
            }));
        }
        let mut kept = 0;
        for h in handles {
            if h.await.expect("task") {
                kept += 1;
            }
        }
        // a dropped writer's part is rolled back by a task of its own: wait for the last turn
        let b = batcher.begin().await.expect("turn");
        b.rollback().await.expect("rollback");
        assert_eq!(kept, 30);
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(30));
        let mut tx = db.read().await.expect("read");
        let objects: Vec<(String,)> =
            tx.all("SELECT object_id FROM audit_log ORDER BY id", vec![]).await.expect("rows");
        tx.rollback().await.expect("end");
        let mut got: Vec<usize> = objects.iter().map(|o| o.0.parse().expect("number")).collect();
        got.sort();
        let want: Vec<usize> = (0..60).filter(|n| n % 6 == 0 || n % 6 >= 4).collect();
        assert_eq!(got, want);
        if db.backend() == Backend::Sqlite {
            let (commits, actions) = batcher.counts();
            assert_eq!(actions, 30);
            assert!(commits < actions, "writers arriving together share commits: {commits} commits for {actions}");
        }
    })
    .await;
}

/// Writers handed to the writes' own thread together (`Batcher::run`, as
/// saves are) share commits: each counts as waiting from the moment it is
/// handed over, though the writer before it runs to its commit without a
/// pause (its statements run right there, on the batch's own connection).
/// Counted only once it asked for its turn, each found nobody waiting and
/// committed alone (577 commits for 600 saves in the P3 benchmark).
#[tokio::test]
async fn writers_handed_over_together_share_commits() {
    each_backend(|db| async move {
        let batcher = thidua_db::batch::Batcher::with_window(db.clone(), std::time::Duration::from_secs(60));
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..40usize {
            let b = batcher.clone();
            writers.spawn(async move {
                let turn = b.clone();
                b.run(async move {
                    let mut part = turn.begin().await?;
                    audit::append_in(&mut part, entry(n)).await?;
                    part.commit().await
                })
                .await
            });
        }
        while let Some(done) = writers.join_next().await {
            done.expect("task").expect("run").expect("committed");
        }
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(40));
        assert_eq!(batcher.waiting(), 0, "nobody is left counted as waiting");
        if db.backend() == Backend::Sqlite {
            let (commits, actions) = batcher.counts();
            assert_eq!(actions, 40);
            assert!(commits <= 4, "writers handed over together share commits: {commits} commits for {actions}");
        }
    })
    .await;
}

/// Writers that write their part in one call (`Batch::write`, as a save
/// does): a call that fails halfway leaves nothing of it and the batch goes
/// on; a part given up after it was written takes its batch down with it,
/// and each writer of that batch is told. Whatever was acknowledged is
/// stored, nothing else is, and the audit chain stays one.
#[tokio::test]
async fn writers_writing_in_one_call_keep_their_own_work_only() {
    each_backend(|db| async move {
        use thidua_db::batch::{Batch, Batcher};
        use thidua_db::{scores, users};
        let mut tx = db.begin().await.expect("tx");
        let (gy, units) = block_2026(&mut tx, &["Sở Tư pháp"]).await;
        let unit = units[0];
        let user = users::insert_user(&mut tx, "cb.tuphap", "Cán bộ Sở Tư pháp", "x").await.expect("user");
        audit::append(&mut tx, entry(0)).await.expect("a first log entry");
        tx.commit().await.expect("commit");
        let sqlite = db.backend() == Backend::Sqlite;
        let lines = move |who: &str, unit_id: i64| {
            (1..=2)
                .map(|i| scores::NewEntry {
                    unit_id,
                    line_code: format!("{who}.{i}"),
                    stage: "self_assessment".into(),
                    value_json: format!("{{\"count\":{i}}}"),
                    reason: String::new(),
                    evidence_json: "[]".into(),
                    by_user: user,
                    by_unit: Some(unit),
                    at: "2026-11-22T10:00:00.000000Z".into(),
                })
                .collect::<Vec<_>>()
        };
        async fn since(b: &mut Batch) -> audit::Since {
            audit::since_in(b, 0, 1000, ("score.save", "unit"), &[]).await.expect("since")
        }
        // writes `who`'s lines and log entry (a stale head if asked: the log entry cannot follow)
        async fn write(
            b: &mut Batch,
            gy: i64,
            lines: Vec<scores::NewEntry>,
            since: audit::Since,
            who: &str,
        ) -> thidua_db::Result<(Vec<i64>, (i64, String))> {
            let mut e = entry(0);
            e.object_id = who.to_string();
            scores::append_logged(b, gy, &lines, e, &since).await
        }
        // a long window: what the test groups stays grouped on a slow machine
        let batcher = Batcher::with_window(db.clone(), std::time::Duration::from_secs(60));
        // waits until `n` writers wait for their turn
        async fn queued(batcher: &Batcher, n: usize) {
            for _ in 0..10_000 {
                if batcher.waiting() >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            panic!("{n} writers never queued");
        }

        // A writes and commits while B, C and D wait for their turn: B's
        // entries are refused (no such unit), C's log entry cannot follow
        // (SQLite: a stale head, undone to its savepoint; PostgreSQL: no such
        // unit), D commits; on SQLite all four share one commit
        let mut a = batcher.begin().await.expect("turn");
        let s = since(&mut a).await;
        write(&mut a, gy, lines("A", unit), s, "A").await.expect("A writes");
        // what a writer leaves for the next ones of its batch (SQLite only)
        match a.memo::<u32>() {
            Some(m) => *m = 7,
            None => assert!(!sqlite, "PostgreSQL: every writer has its own transaction"),
        }
        let b_ = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let mut b = batcher.begin().await.expect("turn");
                let s = since(&mut b).await;
                let refused = write(&mut b, gy, lines("B", unit + 1000), s, "B").await;
                assert!(refused.is_err(), "no such unit");
                b.rollback().await
            }
        });
        if sqlite {
            queued(&batcher, 1).await;
        }
        let c_ = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let mut c = batcher.begin().await.expect("turn");
                let s = since(&mut c).await;
                let refused = if sqlite {
                    let stale = audit::Since { head: s.head - 1, ..s };
                    write(&mut c, gy, lines("C", unit), stale, "C").await
                } else {
                    write(&mut c, gy, lines("C", unit + 1000), s, "C").await
                };
                assert!(refused.is_err(), "the log entry must not follow a stale head");
                c.rollback().await
            }
        });
        if sqlite {
            queued(&batcher, 2).await;
        }
        let d_ = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let mut d = batcher.begin().await.expect("turn");
                // A's memo is still there: B and C only read, or were undone to their savepoint
                assert_eq!(d.memo::<u32>().copied(), sqlite.then_some(7));
                let s = since(&mut d).await;
                write(&mut d, gy, lines("D", unit), s, "D").await.expect("D writes");
                d.commit().await
            }
        });
        if sqlite {
            queued(&batcher, 3).await;
        }
        a.commit().await.expect("A is committed");
        b_.await.expect("B").expect("B's own part is undone");
        c_.await.expect("C").expect("C's own part is undone");
        d_.await.expect("D").expect("D is committed");
        if sqlite {
            assert_eq!(batcher.counts(), (1, 2), "A and D in one commit");
        }

        // E writes and commits while F waits: F gives up its part after
        // writing it, which (SQLite) takes the batch down, E's part with it
        let mut e = batcher.begin().await.expect("turn");
        let s = since(&mut e).await;
        write(&mut e, gy, lines("E", unit), s, "E").await.expect("E writes");
        if let Some(m) = e.memo::<u32>() {
            *m = 9;
        }
        let f_ = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let mut f = batcher.begin().await.expect("turn");
                let s = since(&mut f).await;
                write(&mut f, gy, lines("F", unit), s, "F").await.expect("F writes");
                f.rollback().await
            }
        });
        if sqlite {
            queued(&batcher, 1).await;
        }
        let e_done = e.commit().await;
        f_.await.expect("F").expect("F's own part is undone");
        assert_eq!(e_done.is_ok(), !sqlite, "E shared F's batch on SQLite: {e_done:?}");

        // H writes and is dropped without ending its turn while I waits: its
        // part is undone (SQLite: with its batch) before I writes, and I commits
        let mut h = batcher.begin().await.expect("turn");
        let s = since(&mut h).await;
        write(&mut h, gy, lines("H", unit), s, "H").await.expect("H writes");
        let i_ = tokio::spawn({
            let batcher = batcher.clone();
            async move {
                let mut i = batcher.begin().await.expect("turn");
                assert_eq!(i.memo::<u32>().copied(), sqlite.then_some(0), "nothing left over from E's or H's batch");
                let s = since(&mut i).await;
                write(&mut i, gy, lines("I", unit), s, "I").await.expect("I writes");
                i.commit().await
            }
        });
        if sqlite {
            queued(&batcher, 1).await;
        }
        drop(h);
        i_.await.expect("I").expect("I is committed");

        let mut tx = db.read().await.expect("read");
        let rows = scores::entries(&mut tx, gy).await.expect("entries");
        let logged: Vec<(String,)> = tx.all("SELECT object_id FROM audit_log ORDER BY id", vec![]).await.expect("log");
        tx.rollback().await.expect("end");
        let mut stored: Vec<&str> = rows.iter().map(|r| r.line_code.as_str()).collect();
        stored.sort();
        let mut want = vec!["A.1", "A.2", "D.1", "D.2"];
        if !sqlite {
            want.extend(["E.1", "E.2"]);
        }
        want.extend(["I.1", "I.2"]);
        assert_eq!(stored, want, "exactly the acknowledged writers' entries");
        let log: Vec<&str> = logged.iter().map(|l| l.0.as_str()).collect();
        let want_log: Vec<&str> = ["0", "A", "D"].into_iter().chain((!sqlite).then_some("E")).chain(["I"]).collect();
        assert_eq!(log, want_log, "one log entry per acknowledged writer");
        assert_eq!(audit::verify(&db).await.expect("verify"), Verdict::Intact(want_log.len() as u64));
    })
    .await;
}

/// Entries appended together get ids in the order given, over several statements.
#[tokio::test]
async fn entries_appended_together_keep_their_order() {
    each_backend(|db| async move {
        use thidua_db::{scores, users};
        let mut tx = db.begin().await.expect("tx");
        let (gy, units) = block_2026(&mut tx, &["Sở Tư pháp"]).await;
        let unit = units[0];
        let user = users::insert_user(&mut tx, "cb.tuphap", "Cán bộ Sở Tư pháp", "x").await.expect("user");
        let one = |i: usize| scores::NewEntry {
            unit_id: unit,
            line_code: format!("I.{i}"),
            stage: "self_assessment".into(),
            value_json: if i.is_multiple_of(2) {
                format!("{{\"count\":{i}}}")
            } else {
                serde_json::to_string(&thidua_core::scoring::RawValue::Manual {
                    points: thidua_core::scoring::Points::from_hundredths(i as i64),
                    reason: format!("Lý do \"{i}\", có dấu"),
                })
                .expect("json")
            },
            reason: String::new(),
            evidence_json: "[]".into(),
            by_user: user,
            by_unit: Some(unit),
            at: "2026-11-22T10:00:00.000000Z".into(),
        };
        let first = scores::append(&mut tx, gy, &one(0)).await.expect("one");
        let many: Vec<scores::NewEntry> = (1..=scores::APPEND_CHUNK * 2 + 5).map(one).collect();
        let ids = scores::append_all(&mut tx, gy, &many).await.expect("many");
        tx.commit().await.expect("commit");
        assert_eq!(ids.len(), many.len());
        assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > first, "{ids:?}");
        let mut tx = db.read().await.expect("read");
        let rows = scores::entries(&mut tx, gy).await.expect("entries");
        tx.rollback().await.expect("end");
        assert_eq!(rows.len(), many.len() + 1);
        for (r, (id, e)) in rows[1..].iter().zip(ids.iter().zip(&many)) {
            assert_eq!((r.id, &r.line_code, &r.value_json), (*id, &e.line_code, &e.value_json));
        }
        // the same entries as figures read them, in one piece
        let mut tx = db.read().await.expect("read");
        let lean = scores::entries_for_figures(&mut tx, gy).await.expect("for figures");
        tx.rollback().await.expect("end");
        assert_eq!(lean.len(), rows.len());
        for (l, r) in lean.iter().zip(&rows) {
            let value: thidua_core::scoring::RawValue = serde_json::from_str(&r.value_json).expect("value");
            assert_eq!(
                (l.seq as i64, l.unit_id, &l.line_code, l.stage.code(), &l.value),
                (r.id, r.unit_id, &r.line_code, r.stage.as_str(), &value)
            );
        }
        // the log's count and the entries after one, in one statement: as read one by one
        let mut tx = db.begin().await.expect("tx");
        audit::append(&mut tx, entry(1)).await.expect("append");
        tx.commit().await.expect("commit");
        let mut tx = db.read().await.expect("read");
        let kept = ("score.save", "unit");
        let (since, after) =
            scores::since_and_entries_after(&mut tx, 0, 10, kept, &["login"], gy, first).await.expect("both");
        assert_eq!(since, audit::since(&mut tx, 0, 10, kept, &["login"]).await.expect("since"));
        assert_eq!((since.head, since.entries), (1, 1));
        let one_by_one = scores::entries_after(&mut tx, gy, first).await.expect("after");
        assert_eq!(after.len(), many.len());
        assert_eq!(format!("{after:?}"), format!("{one_by_one:?}"));
        let (_, none) = scores::since_and_entries_after(&mut tx, 1, 10, kept, &[], gy, *ids.last().expect("ids"))
            .await
            .expect("none");
        assert!(none.is_empty());
        tx.rollback().await.expect("end");
    })
    .await;
}

/// A batch left open for a writer that then gives up is still committed (by
/// its timer), and the writer that gave up leaves nothing.
#[tokio::test]
async fn a_batch_whose_next_writer_gives_up_is_committed_all_the_same() {
    each_backend(|db| async move {
        let batcher = thidua_db::batch::Batcher::new(db.clone());
        let mut a = batcher.begin().await.expect("turn");
        audit::append_in(&mut a, entry(1)).await.expect("append");
        // a second writer queues, then its request is given up
        let queued = {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                let mut b = batcher.begin().await.expect("turn");
                audit::append_in(&mut b, entry(2)).await.expect("append");
                b.commit().await
            })
        };
        tokio::task::yield_now().await;
        queued.abort();
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), a.commit()).await;
        assert!(matches!(done, Ok(Ok(()))), "the first writer is answered: {done:?}");
        // the lock is free again: another writer gets its turn and commits
        let mut c = batcher.begin().await.expect("turn");
        audit::append_in(&mut c, entry(3)).await.expect("append");
        c.commit().await.expect("commit");
        let mut tx = db.read().await.expect("read");
        let objects: Vec<(String,)> =
            tx.all("SELECT object_id FROM audit_log ORDER BY id", vec![]).await.expect("rows");
        tx.rollback().await.expect("end");
        let got: Vec<&str> = objects.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(got, ["1", "3"], "nothing of the writer that gave up");
        assert!(matches!(audit::verify(&db).await.expect("verify"), Verdict::Intact(_)));
    })
    .await;
}

/// The session and the log's head, read on the request's own thread on
/// SQLite (`hot`): each read sees what was committed before it, through
/// the pool or otherwise, exactly as a read on the pool does.
#[tokio::test]
async fn reads_on_the_calling_thread_see_every_commit() {
    each_backend(|db| async move {
        let (answered0, _) = db.hot_counts();
        let mut tx = db.begin().await.unwrap();
        let user = thidua_db::users::insert_user(&mut tx, "doc.nhanh", "Đọc Nhanh", "x").await.unwrap();
        let session = session_of(user, 'a');
        thidua_db::users::insert_session(&mut tx, &session).await.unwrap();
        tx.commit().await.unwrap();
        let head0 = audit::head_now(&db).await.unwrap();

        // the readers take turns: each is used before the commit below and after it
        const READS: usize = 64;
        for _ in 0..READS {
            let (s, u, grants) =
                thidua_db::users::signed_in(&db, &session.id_hash).await.unwrap().expect("the session");
            assert_eq!(
                (s.user_id, s.csrf_token.as_str(), s.user_agent.as_str()),
                (user, session.csrf_token.as_str(), "kiểm thử")
            );
            assert_eq!((u.username.as_str(), u.full_name.as_str(), u.disabled), ("doc.nhanh", "Đọc Nhanh", false));
            assert!(grants.is_empty());
        }

        // a commit made after a read is seen by the next
        let mut tx = db.begin().await.unwrap();
        let id = audit::append(&mut tx, entry(1)).await.unwrap();
        thidua_db::users::delete_session(&mut tx, &session.id_hash).await.unwrap();
        tx.commit().await.unwrap();
        assert!(id > head0);
        for _ in 0..READS {
            assert_eq!(audit::head_now(&db).await.unwrap(), id);
            assert!(thidua_db::users::signed_in(&db, &session.id_hash).await.unwrap().is_none());
        }

        // on SQLite these reads ran here, not on the pool; PostgreSQL has no such readers
        let (answered, handed_back) = db.hot_counts();
        match db.backend() {
            Backend::Sqlite => assert_eq!((answered - answered0, handed_back), (1 + 3 * READS, 0)),
            Backend::Postgres => assert_eq!((answered, handed_back), (0, 0)),
        }
    })
    .await;
}

/// The value that says whether a kept session is current, and the log's
/// head: on SQLite given again without running while nothing commits (ADR
/// 0006), and read again after every commit, through the pool or a grouped
/// commit on the writes' own connection.
#[tokio::test]
async fn the_epoch_and_head_are_read_again_after_every_commit() {
    each_backend(|db| async move {
        use thidua_db::users;
        let sqlite = db.backend() == Backend::Sqlite;
        let (epoch0, head0) = users::epoch_and_head(&db).await.unwrap();
        let kept0 = db.hot_kept_count();
        for _ in 0..10 {
            assert_eq!(users::epoch_and_head(&db).await.unwrap(), (epoch0, head0));
        }
        assert_eq!(db.hot_kept_count() - kept0, if sqlite { 10 } else { 0 });

        // a commit on the pool: a new head
        let mut tx = db.begin().await.unwrap();
        let id1 = audit::append(&mut tx, entry(1)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(users::epoch_and_head(&db).await.unwrap(), (epoch0, id1));

        // a session's user changed: a new epoch
        let mut tx = db.begin().await.unwrap();
        let user = users::insert_user(&mut tx, "doc.lai", "Đọc Lại", "x").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.exec("UPDATE users SET full_name = 'Đọc Lại Lần Nữa' WHERE id = $1", thidua_db::args![user]).await.unwrap();
        tx.commit().await.unwrap();
        let (epoch1, head1) = users::epoch_and_head(&db).await.unwrap();
        assert_ne!(epoch1, epoch0);
        assert_eq!(head1, id1);

        // a grouped commit (on SQLite, the writes' own connection)
        let batcher = thidua_db::batch::Batcher::with_window(db.clone(), std::time::Duration::from_millis(1));
        let turn = batcher.clone();
        let id2 = batcher
            .run(async move {
                let mut part = turn.begin().await?;
                let id = audit::append_in(&mut part, entry(2)).await?;
                part.commit().await?;
                Ok::<_, thidua_db::DbError>(id)
            })
            .await
            .expect("run")
            .expect("committed");
        assert!(id2 > id1);
        let kept1 = db.hot_kept_count();
        assert_eq!(users::epoch_and_head(&db).await.unwrap(), (epoch1, id2));
        assert_eq!(users::epoch_and_head(&db).await.unwrap(), (epoch1, id2));
        assert_eq!(db.hot_kept_count() - kept1, usize::from(sqlite), "read once after the commit, then kept");
    })
    .await;
}

/// A session of `user` whose id hash is `hash` 64 times, seen at 08:00 and
/// ending at 20:00 on 23/11/2026.
fn session_of(user: i64, hash: char) -> thidua_db::users::SessionRow {
    thidua_db::users::SessionRow {
        id_hash: hash.to_string().repeat(64),
        user_id: user,
        csrf_token: "t".repeat(64),
        created_at: "2026-11-23T08:00:00.000000Z".into(),
        last_seen_at: "2026-11-23T08:00:00.000000Z".into(),
        expires_at: "2026-11-23T20:00:00.000000Z".into(),
        ip: "127.0.0.1".into(),
        user_agent: "kiểm thử".into(),
    }
}

/// A block of 2026 with one unit, and a user signed in with the session of
/// hash 'a' (see [`session_of`]): (the unit's ids, the user's id).
async fn a_signed_in_user(tx: &mut thidua_db::Tx) -> (Vec<i64>, i64) {
    let (_, units) = block_2026(tx, &["Sở Tư pháp"]).await;
    let user = thidua_db::users::insert_user(tx, "doc.nhanh", "Đọc Nhanh", "x").await.unwrap();
    thidua_db::users::insert_session(tx, &session_of(user, 'a')).await.unwrap();
    (units, user)
}

/// The value a server keeps sessions by (migration 0009) changes with
/// every change to what `users::signed_in` reads, in the transaction that
/// makes it, and not with a session seen again or a new session or user.
#[tokio::test]
async fn the_signed_in_epoch_changes_with_what_a_session_reads() {
    each_backend(|db| async move {
        use thidua_core::policy::Role;
        use thidua_db::users;
        let mut tx = db.begin().await.unwrap();
        let (units, user) = a_signed_in_user(&mut tx).await;
        let session = |hash: char| session_of(user, hash);
        tx.commit().await.unwrap();
        let epoch = || async { users::epoch_and_head(&db).await.unwrap().0 };
        let a = "a".repeat(64);

        // each step: (what it does, whether the value changes)
        type Step = (&'static str, bool);
        let steps: Vec<Step> = vec![
            ("session seen later", false),
            ("session seen earlier", true),
            ("session expiry", true),
            ("another session", false),
            ("another user", false),
            ("user's name", true),
            ("user's password", true),
            ("user disabled", true),
            ("grant given", true),
            ("grant taken back", true),
            ("unit's search key", false),
            ("unit's name", true),
            ("unit moved", true),
            ("authority's name", true),
            ("authority's search key", false),
            ("grant changed", true),
            ("log entry", false),
            ("session ended", true),
            ("user deleted", true),
            ("unit deleted", true),
            ("authority deleted", true),
            ("every session ended", true),
            ("a change rolled back", false),
        ];
        let mut grant = 0;
        for (step, changes) in steps {
            let before = epoch().await;
            let mut tx = db.begin().await.unwrap();
            match step {
                "session seen later" => {
                    users::touch_session(&mut tx, &a, "2026-11-23T08:05:00.000000Z").await.unwrap();
                }
                "session seen earlier" => {
                    users::touch_session(&mut tx, &a, "2026-11-23T08:01:00.000000Z").await.unwrap();
                }
                "session expiry" => {
                    tx.exec("UPDATE sessions SET expires_at = $1", args!["2026-11-23T19:00:00.000000Z"]).await.unwrap();
                }
                "another session" => {
                    users::insert_session(&mut tx, &session('b')).await.unwrap();
                }
                "another user" => {
                    users::insert_user(&mut tx, "nguoi.khac", "Người Khác", "x").await.unwrap();
                }
                "user's name" => {
                    users::set_full_name(&mut tx, user, "Đọc Chậm").await.unwrap();
                }
                "user's password" => {
                    users::set_password(&mut tx, user, "y").await.unwrap();
                }
                "user disabled" => {
                    users::set_disabled(&mut tx, user, true).await.unwrap();
                }
                "grant given" => {
                    grant = users::insert_grant(&mut tx, user, Role::UnitOfficer, None, Some(units[0])).await.unwrap();
                }
                "grant taken back" => {
                    users::delete_grant(&mut tx, user, grant).await.unwrap();
                }
                "unit's search key" => {
                    tx.exec("UPDATE units SET search_key = $1", args!["khác"]).await.unwrap();
                }
                "unit's name" => {
                    tx.exec("UPDATE units SET name = $1", args!["Sở Tư pháp tỉnh Cao Bằng"]).await.unwrap();
                }
                "unit moved" => {
                    let other = thidua_db::org::insert_authority(&mut tx, "Tỉnh Bắc Kạn", "Bắc Kạn", "province", None)
                        .await
                        .unwrap();
                    // its new authority alone would not change the value: the move does
                    assert_eq!(epoch_in(&mut tx).await, before, "{step}: a new authority");
                    tx.exec("UPDATE units SET authority_id = $1 WHERE id = $2", args![other, units[0]]).await.unwrap();
                }
                "authority's name" => {
                    tx.exec("UPDATE authorities SET name = name || ' mới'", args![]).await.unwrap();
                }
                "authority's search key" => {
                    tx.exec("UPDATE authorities SET search_key = $1", args!["khác"]).await.unwrap();
                }
                "grant changed" => {
                    grant = users::insert_grant(&mut tx, user, Role::Viewer, None, Some(units[0])).await.unwrap();
                    tx.commit().await.unwrap();
                    let before = epoch().await;
                    let mut tx = db.begin().await.unwrap();
                    tx.exec("UPDATE role_grants SET role = $1 WHERE id = $2", args!["unit_officer", grant])
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    assert_ne!(epoch().await, before, "{step}");
                    continue;
                }
                "user deleted" => {
                    tx.exec("DELETE FROM users WHERE username = $1", args!["nguoi.khac"]).await.unwrap();
                }
                "unit deleted" => {
                    let u = thidua_db::org::UnitData {
                        name: "Sở tạm".into(),
                        short_name: "Sở tạm".into(),
                        kind: "department".into(),
                        authority_id: thidua_db::org::authorities(&mut tx).await.unwrap()[0].id,
                        active_from: None,
                        active_to: None,
                    };
                    let id = thidua_db::org::insert_unit(&mut tx, &u).await.unwrap();
                    tx.commit().await.unwrap();
                    let before = epoch().await;
                    let mut tx = db.begin().await.unwrap();
                    tx.exec("DELETE FROM units WHERE id = $1", args![id]).await.unwrap();
                    tx.commit().await.unwrap();
                    assert_ne!(epoch().await, before, "{step}");
                    continue;
                }
                "authority deleted" => {
                    let id =
                        thidua_db::org::insert_authority(&mut tx, "Tỉnh tạm", "Tạm", "province", None).await.unwrap();
                    tx.commit().await.unwrap();
                    let before = epoch().await;
                    let mut tx = db.begin().await.unwrap();
                    tx.exec("DELETE FROM authorities WHERE id = $1", args![id]).await.unwrap();
                    tx.commit().await.unwrap();
                    assert_ne!(epoch().await, before, "{step}");
                    continue;
                }
                "every session ended" => match db.backend() {
                    // TRUNCATE fires no row trigger: a trigger of its own
                    Backend::Postgres => {
                        tx.exec("TRUNCATE sessions", args![]).await.unwrap();
                    }
                    Backend::Sqlite => {
                        tx.exec("DELETE FROM sessions", args![]).await.unwrap();
                    }
                },
                "log entry" => {
                    audit::append(&mut tx, entry(1)).await.unwrap();
                }
                "session ended" => {
                    users::delete_session(&mut tx, &a).await.unwrap();
                }
                _ => {
                    users::set_full_name(&mut tx, user, "Không lưu").await.unwrap();
                    tx.rollback().await.unwrap();
                    assert_eq!(epoch().await, before, "{step}");
                    continue;
                }
            }
            tx.commit().await.unwrap();
            assert_eq!(epoch().await != before, changes, "{step}");
        }
        // the value's row stays
        let mut tx = db.begin().await.unwrap();
        assert!(tx.exec("DELETE FROM signed_in_epoch", args![]).await.is_err());
        tx.rollback().await.unwrap();
        assert!(epoch().await.is_some());
    })
    .await;
}

/// The value as `tx` sees it.
async fn epoch_in(tx: &mut thidua_db::Tx) -> Option<i64> {
    let v: i64 = tx.scalar("SELECT value FROM signed_in_epoch WHERE id = 1", args![]).await.unwrap();
    Some(v)
}

/// Changes that give the value a new one, beside others that take the
/// same rows or the log's lock in another order: on PostgreSQL the value's
/// row is changed at the commit (migration 0009), the last lock a
/// transaction takes, so none waits for another forever and all commit.
#[tokio::test]
async fn a_change_to_sessions_and_an_append_never_deadlock() {
    each_backend(|db| async move {
        use thidua_db::users;
        let mut tx = db.begin().await.unwrap();
        let (units, user) = a_signed_in_user(&mut tx).await;
        let session = session_of(user, 'a');
        tx.commit().await.unwrap();
        let (started, go) = tokio::sync::oneshot::channel::<()>();
        // a sign-out: the session first, then its entry in the log
        let sign_out = async {
            let mut tx = db.begin().await.unwrap();
            users::delete_session(&mut tx, &session.id_hash).await.unwrap();
            started.send(()).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            audit::append(&mut tx, entry(1)).await.unwrap();
            tx.commit().await.unwrap();
        };
        // an import: an entry in the log, then a unit renamed
        let import = async {
            go.await.unwrap();
            let mut tx = db.begin().await.unwrap();
            audit::append(&mut tx, entry(2)).await.unwrap();
            tx.exec("UPDATE units SET name = $1 WHERE id = $2", args!["Sở Tư pháp mới", units[0]]).await.unwrap();
            tx.commit().await.unwrap();
        };
        both_commit(sign_out, import).await;

        // an account locked (the user, then its sessions) beside one of its
        // sessions ended meanwhile (the session, then the log)
        let mut tx = db.begin().await.unwrap();
        for c in ['b', 'c'] {
            users::insert_session(&mut tx, &session_of(user, c)).await.unwrap();
        }
        tx.commit().await.unwrap();
        let (started, go) = tokio::sync::oneshot::channel::<()>();
        let lock_account = async {
            let mut tx = db.begin().await.unwrap();
            users::set_disabled(&mut tx, user, true).await.unwrap();
            started.send(()).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            users::delete_sessions_except(&mut tx, user, None).await.unwrap();
            audit::append(&mut tx, entry(4)).await.unwrap();
            tx.commit().await.unwrap();
        };
        let sign_out = async {
            go.await.unwrap();
            let mut tx = db.begin().await.unwrap();
            users::delete_session(&mut tx, &"b".repeat(64)).await.unwrap();
            audit::append(&mut tx, entry(3)).await.unwrap();
            tx.commit().await.unwrap();
        };
        both_commit(sign_out, lock_account).await;
        let mut tx = db.begin().await.unwrap();
        let left: i64 = tx.scalar("SELECT COUNT(*) FROM sessions", args![]).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(left, 0);
        assert!(matches!(audit::verify(&db).await.expect("verify"), Verdict::Intact(_)));
    })
    .await;
}

/// Runs two writers side by side; both must commit within 20 s (a deadlock
/// fails one of them, a wait that never ends fails the test).
async fn both_commit(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(20), async { tokio::join!(a, b) }).await.expect("both commit");
}

/// A units import (one unit's entry appended, then the next unit renamed)
/// beside an edit of that next unit (renamed, then its entry appended): on
/// PostgreSQL the edit held the unit's row while it waited for the log's
/// lock, which the import held while it waited for the row (40P01). Every
/// writer now takes the log's lock first.
#[tokio::test]
async fn a_units_import_and_a_unit_edit_never_deadlock() {
    each_backend(|db| async move {
        let mut tx = db.begin().await.unwrap();
        let (_, units) = block_2026(&mut tx, &["Sở Tư pháp", "Sở Y tế"]).await;
        tx.commit().await.unwrap();
        let (started, go) = tokio::sync::oneshot::channel::<()>();
        let import = async {
            let mut tx = db.begin().await.unwrap();
            tx.exec("UPDATE units SET name = $1 WHERE id = $2", args!["Sở Tư pháp (nhập)", units[0]]).await.unwrap();
            audit::append(&mut tx, entry(1)).await.unwrap();
            started.send(()).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            tx.exec("UPDATE units SET name = $1 WHERE id = $2", args!["Sở Y tế (nhập)", units[1]]).await.unwrap();
            audit::append(&mut tx, entry(2)).await.unwrap();
            tx.commit().await.unwrap();
        };
        let edit = async {
            go.await.unwrap();
            let mut tx = db.begin().await.unwrap();
            tx.exec("UPDATE units SET name = $1 WHERE id = $2", args!["Sở Y tế (sửa)", units[1]]).await.unwrap();
            audit::append(&mut tx, entry(3)).await.unwrap();
            tx.commit().await.unwrap();
        };
        both_commit(import, edit).await;
        let mut tx = db.read().await.unwrap();
        let (name,): (String,) = tx.one("SELECT name FROM units WHERE id = $1", args![units[1]]).await.unwrap();
        tx.rollback().await.unwrap();
        // the edit began after the import, so it waited for it and came last
        assert_eq!(name, "Sở Y tế (sửa)");
        assert!(matches!(audit::verify(&db).await.expect("verify"), Verdict::Intact(_)));
    })
    .await;
}

/// A session's activity (`Db::begin_unlogged`) does not wait on PostgreSQL
/// for a writer that holds the audit log's lock (a long import, say), so
/// signed-in requests go on meanwhile; on SQLite every writer waits its turn.
#[tokio::test]
async fn a_session_seen_does_not_wait_for_the_logs_writers_on_postgres() {
    each_backend(|db| async move {
        let mut tx = db.begin().await.unwrap();
        let (_, user) = a_signed_in_user(&mut tx).await;
        tx.commit().await.unwrap();
        let order = std::sync::Mutex::new(Vec::new());
        let (started, go) = tokio::sync::oneshot::channel::<()>();
        let import = async {
            let mut tx = db.begin().await.unwrap();
            audit::append(&mut tx, entry(1)).await.unwrap();
            started.send(()).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            tx.commit().await.unwrap();
            order.lock().unwrap().push("import");
        };
        let seen = async {
            go.await.unwrap();
            let mut tx = db.begin_unlogged().await.unwrap();
            thidua_db::users::touch_session(&mut tx, &"a".repeat(64), "2026-11-23T09:00:00.000000Z").await.unwrap();
            tx.commit().await.unwrap();
            order.lock().unwrap().push("seen");
        };
        both_commit(import, seen).await;
        let expected = match db.backend() {
            Backend::Postgres => ["seen", "import"],
            Backend::Sqlite => ["import", "seen"],
        };
        assert_eq!(*order.lock().unwrap(), expected, "user {user}");
    })
    .await;
}
