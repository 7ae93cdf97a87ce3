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

#[tokio::test]
async fn one_head_per_group_year_is_enforced_by_the_database() {
    each_backend(|db| async move {
        use thidua_db::org;
        let mut tx = db.begin().await.expect("tx");
        let a = org::insert_authority(&mut tx, "Tỉnh Cao Bằng", "Cao Bằng", "province", None).await.expect("authority");
        org::insert_year(&mut tx, 2026).await.expect("year");
        let g = org::insert_group(&mut tx, "block", "Khối thi đua các cơ quan Đảng", a).await.expect("group");
        let gy = org::group_year(&mut tx, g, 2026).await.expect("group year");
        let mut ids = Vec::new();
        for name in ["Sở Tư pháp", "Sở Y tế"] {
            let u = org::UnitData {
                name: name.into(),
                short_name: name.into(),
                kind: "department".into(),
                authority_id: a,
                active_from: None,
                active_to: None,
            };
            ids.push(org::insert_unit(&mut tx, &u).await.expect("unit"));
        }
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
