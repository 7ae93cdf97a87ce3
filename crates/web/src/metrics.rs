//! Prometheus text metrics of this process (each server is scraped on its own).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    duration_micros_sum: AtomicU64,
    duration_count: AtomicU64,
    buckets: [AtomicU64; 8],
}

/// Upper bounds of the latency histogram, seconds.
const BOUNDS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

impl Metrics {
    pub fn observe(&self, method: &str, status: u16, micros: u64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), status)).or_default() += 1;
        }
        self.duration_micros_sum.fetch_add(micros, Ordering::Relaxed);
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        let secs = micros as f64 / 1e6;
        for (i, b) in BOUNDS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The exposition text; `db_up` is the result of a database ping.
    pub fn render(&self, db_up: bool) -> String {
        let mut out = String::new();
        out.push_str("# HELP thidua_http_requests_total HTTP requests served, by method and status.\n");
        out.push_str("# TYPE thidua_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, status), n) in m.iter() {
                out.push_str(&format!("thidua_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}\n"));
            }
        }
        out.push_str("# HELP thidua_http_request_duration_seconds Time to serve a request.\n");
        out.push_str("# TYPE thidua_http_request_duration_seconds histogram\n");
        for (i, b) in BOUNDS.iter().enumerate() {
            let n = self.buckets[i].load(Ordering::Relaxed);
            out.push_str(&format!("thidua_http_request_duration_seconds_bucket{{le=\"{b}\"}} {n}\n"));
        }
        let count = self.duration_count.load(Ordering::Relaxed);
        out.push_str(&format!("thidua_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"));
        let sum = self.duration_micros_sum.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!("thidua_http_request_duration_seconds_sum {sum}\n"));
        out.push_str(&format!("thidua_http_request_duration_seconds_count {count}\n"));
        out.push_str("# HELP thidua_database_up Whether the database answered the last scrape.\n");
        out.push_str("# TYPE thidua_database_up gauge\n");
        out.push_str(&format!("thidua_database_up {}\n", u8::from(db_up)));
        out
    }
}
