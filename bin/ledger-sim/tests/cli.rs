//! The `ledger-sim` binary: outcomes on stdout, errors on stderr with non-zero exit
//! codes, sweeps as CSV and JSON, the report written to a directory.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledger-sim"))
        .args(args)
        .output()
        .expect("ledger-sim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_prints_outcomes_and_figures() {
    let o = sim(&[
        "run",
        "dolev-strong",
        "--n",
        "7",
        "--f",
        "3",
        "--adversary",
        "last-round",
        "--seed",
        "4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("consistent: yes"), "{out}");
    assert!(out.contains("rounds: 4 (f+1 = 4)"), "{out}");
    assert!(out.contains("messages:") && out.contains("bits:"));
    assert!(stderr(&o).is_empty(), "nothing on stderr: {}", stderr(&o));

    for (protocol, extra, needle) in [
        ("randomized", vec!["--n", "7"], "agreement: yes"),
        (
            "flp",
            vec!["--n", "4", "--rounds", "100"],
            "undecided throughout: yes",
        ),
        (
            "streamlet",
            vec!["--n", "4", "--network", "sync"],
            "safe: yes",
        ),
        (
            "nakamoto",
            vec!["--blocks", "300", "--delay-ms", "50"],
            "stale rate",
        ),
        (
            "selfish-mining",
            vec!["--alpha", "0.3", "--gamma", "1", "--blocks", "20000"],
            "relative revenue",
        ),
        (
            "double-spend",
            vec!["--q", "0.2", "--depth", "3", "--trials", "2000"],
            "Rosenfeld",
        ),
    ] {
        let mut args = vec!["run", protocol];
        args.extend(extra);
        let o = sim(&args);
        assert!(o.status.success(), "{protocol}: {}", stderr(&o));
        assert!(stdout(&o).contains(needle), "{protocol}: {}", stdout(&o));
    }
}

#[test]
fn json_output_parses_and_runs_reproduce() {
    let args = ["run", "randomized", "--n", "10", "--seed", "9", "--json"];
    let a = sim(&args);
    let b = sim(&args);
    assert!(a.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["agreement"], true);
    assert_eq!(v["n"], 10);
    assert!(v["rounds"].as_u64().unwrap() >= 1);
    assert_eq!(stdout(&a), stdout(&b), "same seed, same output");
    let c = sim(&["run", "randomized", "--n", "10", "--seed", "10", "--json"]);
    assert_ne!(stdout(&a), stdout(&c));
}

#[test]
fn bad_flags_are_clear_errors_with_non_zero_exit() {
    for (args, needle) in [
        (
            vec!["run", "dolev-strong", "--n", "4", "--f", "4"],
            "f <= n-1",
        ),
        (
            vec!["run", "dolev-strong", "--adversary", "bogus"],
            "expected one of: none, equivocate, last-round, withhold",
        ),
        (
            vec!["run", "dolev-strong", "--network", "async"],
            "expected one of: sync",
        ),
        (
            vec!["run", "randomized", "--n", "4", "--f", "2"],
            "⌊(n-1)/3⌋",
        ),
        (
            vec!["run", "dolev-strong", "--alpha", "0.3"],
            "--alpha is not used",
        ),
        (
            vec!["run", "selfish-mining", "--alpha", "0.7"],
            "alpha < 0.5",
        ),
        (vec!["run", "nosuch"], "invalid value"),
        (vec!["run", "dolev-strong", "--n", "x"], "invalid value"),
        (vec!["sweep", "dolev-strong", "--n", "4..x"], "not a number"),
        (vec!["report"], "--out"),
    ] {
        let o = sim(&args);
        assert!(!o.status.success(), "{args:?} must fail");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: no data on stdout");
    }
}

#[test]
fn sweeps_write_csv_and_json() {
    let o = sim(&["sweep", "dolev-strong", "--n", "3..5", "--sig", "sim"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..8],
        [
            "n",
            "f",
            "adversary",
            "seed",
            "sender_honest",
            "outputs",
            "consistent",
            "valid"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // n = 3, 4, 5; f = 0..n-1; four adversaries.
    assert_eq!(rows.len(), (3 + 4 + 5) * 4);
    for r in &rows {
        assert_eq!(r[6], "true", "consistent: {r:?}");
        assert_ne!(r[7], "false", "valid: {r:?}");
        assert_eq!(
            r[8],
            (r[1].parse::<u64>().unwrap() + 1).to_string(),
            "f+1 rounds: {r:?}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds.json");
    let o = sim(&[
        "sweep",
        "double-spend",
        "--q",
        "0.1,0.3",
        "--depth",
        "1..3",
        "--trials",
        "1000",
        "--format",
        "json",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("wrote 6 rows"));
    let v: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v.len(), 6);
    assert!(v[0]["rosenfeld"].as_f64().unwrap() > 0.0);

    let o = sim(&[
        "sweep",
        "randomized",
        "--n",
        "4",
        "--seeds",
        "20",
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.len(), 20);
    assert!(v
        .iter()
        .all(|r| r["agreement"] == true && r["validity"] == true));
}

#[test]
fn quick_report_is_written_offline() {
    let dir = tempfile::tempdir().unwrap();
    let o = sim(&["report", "--out", dir.path().to_str().unwrap(), "--quick"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "the report is not data on stdout");
    assert!(stderr(&o).contains("checks passed"));
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"));
    assert!(dir.path().join("charts/selfish-mining.svg").exists());
    assert!(dir.path().join("summary.md").exists());
    assert_leads_with_a_chart(&html);
}

/// The report opens with charts: the first thing after the header is a section whose
/// first item is a chart under its one-line finding, and long tables are folded.
fn assert_leads_with_a_chart(html: &str) {
    let body = &html[html.find("</nav>").expect("a nav")..];
    let first_figure = body.find("<figure").expect("a chart");
    let first_table = body.find("<table").unwrap_or(usize::MAX);
    assert!(first_figure < first_table, "a chart comes before any table");
    assert!(
        body[first_figure..].starts_with("<figure")
            && body[first_figure..].contains("class=\"finding\""),
        "each chart has its finding"
    );
    assert_eq!(
        html.matches("<figure").count(),
        html.matches("<p class=\"finding\">").count(),
        "one finding per chart"
    );
    assert!(html.contains("<details>"), "long tables are folded");
}

#[test]
fn help_shows_examples() {
    let o = sim(&["--help"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("Examples:"), "{text}");
    for ex in [
        "ledger-sim report --out",
        "ledger-sim run dolev-strong",
        "ledger-sim sweep",
    ] {
        assert!(text.contains(ex), "--help lacks an example of {ex}");
    }
}

/// `docs/lab/README.md` quotes `summary.md` of the full report (seed 1) verbatim, and
/// the report leads with its charts. Runs the full suite (about 25-40 s on 2 cores).
#[test]
fn lab_readme_quotes_what_the_full_report_prints() {
    let dir = tempfile::tempdir().unwrap();
    let o = sim(&["report", "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    let readme_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lab/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let begin = "<!-- begin: summary.md of `ledger-sim report` (seed 1) -->\n";
    let quoted = readme
        .split(begin)
        .nth(1)
        .and_then(|r| r.split("<!-- end: summary.md -->").next())
        .expect("docs/lab/README.md holds the summary between its markers");
    assert_eq!(
        quoted, summary,
        "docs/lab/README.md's figures differ from what `ledger-sim report` prints: copy {}/summary.md between the markers",
        dir.path().display()
    );
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert_leads_with_a_chart(&html);
}
