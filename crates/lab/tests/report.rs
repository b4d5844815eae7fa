//! The report: the quick suite runs, every check passes, and the HTML is
//! self-contained (no scripts, no external resources).

use ledger_lab::report::{render_html, run_suite, write_report, SuiteOptions};

#[test]
fn quick_suite_passes_every_check_and_writes_an_offline_report() {
    let opts = SuiteOptions {
        quick: true,
        ..SuiteOptions::default()
    };
    let mut calls = 0;
    let r = run_suite(&opts, &mut |done, total, _| {
        calls += 1;
        assert!(done <= total);
    })
    .unwrap();
    assert!(calls >= 2);
    for c in &r.checks {
        println!(
            "{} {}: {}",
            if c.passed { "pass" } else { "FAIL" },
            c.claim,
            c.detail
        );
    }
    assert!(r.checks.iter().all(|c| c.passed));
    let html = render_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing fetched"
    );
    assert!(html.matches("<svg").count() >= 10);
    let dir = std::env::temp_dir().join(format!("ledger-lab-report-{}", std::process::id()));
    let files = write_report(&r, &dir).unwrap();
    assert!(files.iter().any(|p| p.ends_with("index.html")));
    assert!(dir.join("charts/selfish-mining.svg").exists());
    assert!(dir.join("data/selfish-acceptance.csv").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    println!("quick suite: {:.1} s {:?}", r.elapsed_s, r.timings);
}
