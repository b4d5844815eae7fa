//! The standard suite and its self-contained HTML report.
//!
//! [`run_suite`] runs every experiment of the lab (sized to finish in well under two
//! minutes on two cores), checks the textbook claims, and returns a [`Report`]:
//! sections of text, tables and charts, and a list of [`Check`]s. [`write_report`]
//! writes `index.html` (inline SVG and CSS, no scripts, nothing fetched), every chart
//! as its own `.svg` file, every table as CSV and JSON, and `summary.md` (the checks
//! as a Markdown table, which `docs/lab/README.md` quotes).
//!
//! The page leads with pictures: each section opens with its charts, each chart under
//! a one-line finding computed from the run; the checks and every table longer than
//! [`FOLD_ROWS`] rows are folded behind `<details>`.

use crate::complexity::{dolev_strong_sweep, randomized_sweep, streamlet_sweep};
use crate::dolev_strong::{run_dolev_strong, DsAdversary, DsRun, DsScenario};
use crate::error::{LabError, Result};
use crate::flp::{run_flp, FlpScenario, FlpScheduler};
use crate::nakamoto::{
    eyal_sirer_revenue, gkl_adversary_share_bound, nakamoto_double_spend, rosenfeld_double_spend,
    run_pow, selfish_full_stack, simulate_double_spend, simulate_selfish, stale_rate_first_order,
    stale_rate_formula, Delay, PowScenario,
};
use crate::randomized::{run_randomized, AbaAdversary, AbaScenario, AsyncNetwork, Inputs};
use crate::sig::SigMode;
use crate::streamlet::{streamlet_row, ADVERSARIES, NETWORKS};
use crate::svg::{BarChart, Chart, Series, Style};
use crate::table::{html_escape, Table};
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

/// Options of the standard suite.
#[derive(Clone, Copy, Debug)]
pub struct SuiteOptions {
    /// Base seed of every experiment.
    pub seed: u64,
    /// Smaller sweeps (for tests and quick looks).
    pub quick: bool,
    /// Worker threads.
    pub threads: usize,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            seed: 1,
            quick: false,
            threads: 2,
        }
    }
}

/// One item of a section.
#[derive(Clone, Debug)]
pub enum Item {
    /// A paragraph (HTML).
    Text(String),
    /// A chart.
    Chart {
        /// File name stem.
        name: String,
        /// The SVG document.
        svg: String,
        /// What the chart shows, in one line with the run's figures (HTML).
        finding: String,
        /// Caption (HTML).
        caption: String,
    },
    /// A table.
    Table {
        /// File name stem.
        name: String,
        /// The table.
        table: Table,
        /// Caption (HTML).
        caption: String,
    },
}

/// A section of the report.
#[derive(Clone, Debug)]
pub struct Section {
    /// Anchor id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Items in order.
    pub items: Vec<Item>,
}

impl Section {
    fn new(id: &str, title: &str) -> Section {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            items: Vec::new(),
        }
    }
    fn text(&mut self, html: impl Into<String>) {
        self.items.push(Item::Text(html.into()));
    }
    fn chart(
        &mut self,
        name: &str,
        svg: String,
        finding: impl Into<String>,
        caption: impl Into<String>,
    ) {
        self.items.push(Item::Chart {
            name: name.to_string(),
            svg,
            finding: finding.into(),
            caption: caption.into(),
        });
    }
    fn table<T: Serialize>(
        &mut self,
        name: &str,
        rows: &[T],
        caption: impl Into<String>,
    ) -> Result<()> {
        self.items.push(Item::Table {
            name: name.to_string(),
            table: Table::from_rows(rows)?,
            caption: caption.into(),
        });
        Ok(())
    }
}

/// A claim checked by the suite.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What is claimed.
    pub claim: String,
    /// Whether the run bore it out.
    pub passed: bool,
    /// The figures.
    pub detail: String,
}

fn check(claim: &str, passed: bool, detail: String) -> Check {
    Check {
        claim: claim.to_string(),
        passed,
        detail,
    }
}

/// The suite's result.
#[derive(Clone, Debug)]
pub struct Report {
    /// Sections in order.
    pub sections: Vec<Section>,
    /// Every check, in section order.
    pub checks: Vec<Check>,
    /// The options used.
    pub seed: u64,
    /// Whether the quick sizes were used.
    pub quick: bool,
    /// Wall-clock seconds the suite took.
    pub elapsed_s: f64,
    /// Wall-clock seconds of each experiment (they run on several threads).
    pub timings: Vec<(String, f64)>,
}

type TaskOut = Result<(Section, Vec<Check>)>;
type Timed = (TaskOut, f64);
type Task = Box<dyn FnOnce() -> TaskOut + Send>;

/// Runs the standard suite. `progress(done, total, label)` is called from the calling
/// thread as experiments finish.
pub fn run_suite(
    opts: &SuiteOptions,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Report> {
    let start = Instant::now();
    let o = *opts;
    // Heaviest first, so two workers finish together.
    let tasks: Vec<(&'static str, Task)> = vec![
        (
            "Nakamoto: selfish mining",
            Box::new(move || selfish_section(&o)),
        ),
        (
            "Nakamoto: stale rate and growth",
            Box::new(move || stale_section(&o)),
        ),
        (
            "Randomized agreement",
            Box::new(move || randomized_section(&o)),
        ),
        ("Dolev-Strong", Box::new(move || dolev_strong_section(&o))),
        ("Complexity", Box::new(move || complexity_section(&o))),
        ("FLP", Box::new(move || flp_section(&o))),
        ("Streamlet", Box::new(move || streamlet_section(&o))),
        (
            "Nakamoto: common prefix",
            Box::new(move || common_prefix_section(&o)),
        ),
        (
            "Nakamoto: double spending",
            Box::new(move || double_spend_section(&o)),
        ),
    ];
    // Report order: the sections with the most telling charts first (the first screen
    // shows a chart); Dolev-Strong, whose section is tables, last.
    let order = [
        "Nakamoto: selfish mining",
        "Nakamoto: double spending",
        "Randomized agreement",
        "FLP",
        "Streamlet",
        "Nakamoto: stale rate and growth",
        "Nakamoto: common prefix",
        "Complexity",
        "Dolev-Strong",
    ];
    let total = tasks.len();
    let labels: Vec<&'static str> = tasks.iter().map(|(l, _)| *l).collect();
    let queue: Mutex<VecDeque<(usize, Task)>> =
        Mutex::new(tasks.into_iter().map(|(_, t)| t).enumerate().collect());
    let (tx, rx) = mpsc::channel::<(usize, Timed)>();
    let mut results: Vec<Option<Timed>> = (0..total).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..o.threads.clamp(1, total) {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((i, task)) = next else { break };
                let t = Instant::now();
                let out = task();
                if tx.send((i, (out, t.elapsed().as_secs_f64()))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        progress(0, total, "starting");
        let mut done = 0;
        for (i, out) in rx {
            done += 1;
            progress(done, total, labels[i]);
            results[i] = Some(out);
        }
    });
    let mut sections = Vec::new();
    let mut checks = Vec::new();
    let mut timings = Vec::new();
    for name in order {
        let Some(i) = labels.iter().position(|l| *l == name) else {
            continue;
        };
        let Some((out, secs)) = results[i].take() else {
            return Err(LabError::invalid(
                "suite",
                format!("experiment `{name}` did not finish"),
            ));
        };
        timings.push((name.to_string(), secs));
        let (section, c) = out?;
        sections.push(section);
        checks.extend(c);
    }
    Ok(Report {
        sections,
        checks,
        seed: o.seed,
        quick: o.quick,
        elapsed_s: start.elapsed().as_secs_f64(),
        timings,
    })
}

// ----------------------------------------------------------------------------------
// Dolev-Strong

#[derive(Serialize)]
struct DsMatrixRow {
    n: usize,
    f: usize,
    adversary: &'static str,
    sender_honest: bool,
    outputs: String,
    consistent: bool,
    valid: Option<bool>,
    rounds: Option<u64>,
    messages: u64,
    honest_messages: u64,
    signatures: u64,
    bits: u64,
}

fn outputs_summary(r: &DsRun) -> String {
    let mut vals: Vec<String> = r
        .outputs
        .iter()
        .map(|o| o.value.map_or("⊥".to_string(), |v| v.to_string()))
        .collect();
    vals.dedup();
    format!("{} × {}", r.outputs.len(), vals.join("/"))
}

fn dolev_strong_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new("dolev-strong", "Dolev-Strong Byzantine broadcast");
    sec.text(
        "<p>A designated sender (node 0) broadcasts a value; up to <i>f</i> &lt; <i>n</i> nodes are corrupt. \
         A value is accepted in round <i>r</i> only with <i>r</i> valid signatures from distinct nodes, the sender's first; \
         every node relays its first two accepted values with its own signature appended, and after round <i>f</i>+1 outputs \
         the single accepted value, or the default ⊥. Real ed25519 signatures (<code>verify_strict</code>). \
         Adversaries: <b>equivocate</b> (corrupt sender signs different values for different halves), \
         <b>last-round</b> (corrupt sender releases a value signed by the whole coalition to a few honest nodes in round <i>f</i>, \
         the last round where <i>f</i> signatures suffice, and another in round <i>f</i>+1, too late), \
         <b>withhold</b> (honest sender; corrupt relays withhold, forward selectively and late, and send forged chains).</p>",
    );
    let mut rows = Vec::new();
    let mut all_ok = true;
    let mut count = 0;
    let ns: &[usize] = if o.quick { &[4, 8] } else { &[4, 8, 16] };
    for &n in ns {
        let mut fs = vec![0, 1, n / 3, n / 2, n - 1];
        fs.dedup();
        for f in fs {
            for adversary in DsAdversary::ALL {
                let r = run_dolev_strong(&DsScenario::new(
                    n,
                    f,
                    adversary,
                    o.seed + (n * 31 + f) as u64,
                ))?;
                all_ok &= r.consistent && r.valid != Some(false) && r.rounds == Some(f as u64 + 1);
                count += 1;
                rows.push(DsMatrixRow {
                    n,
                    f,
                    adversary: adversary.name(),
                    sender_honest: r.sender_honest,
                    outputs: outputs_summary(&r),
                    consistent: r.consistent,
                    valid: r.valid,
                    rounds: r.rounds,
                    messages: r.messages,
                    honest_messages: r.honest_messages,
                    signatures: r.signatures,
                    bits: r.bits,
                });
            }
        }
    }
    sec.table(
        "dolev-strong-runs",
        &rows,
        "Each run: honest outputs (count × distinct values), consistency, validity (honest sender only), rounds at which every honest node output.",
    )?;
    // Why f+1 rounds: the last-round attack against a protocol cut to f rounds.
    #[derive(Serialize)]
    struct Cut {
        n: usize,
        f: usize,
        rounds_run: u64,
        outputs: String,
        consistent: bool,
    }
    let mut cut = Vec::new();
    let n: usize = 10;
    let (mut broken, mut breakable) = (0, 0);
    for f in 1..n {
        let honest = n - f;
        if honest > honest.div_ceil(4).max(1) {
            breakable += 1;
        }
        for rounds in [f as u64, f as u64 + 1] {
            let mut s = DsScenario::new(n, f, DsAdversary::LastRound, o.seed + f as u64);
            s.rounds_override = Some(rounds);
            let r = run_dolev_strong(&s)?;
            if rounds == f as u64 && !r.consistent {
                broken += 1;
            }
            cut.push(Cut {
                n,
                f,
                rounds_run: rounds,
                outputs: outputs_summary(&r),
                consistent: r.consistent,
            });
        }
    }
    sec.text("<p><b>Why f+1 rounds.</b> The same last-round attack against the protocol stopped after <i>f</i> rounds: the few honest nodes that receive the coalition's chain in the last round cannot pass it on, and consistency breaks. With <i>f</i>+1 rounds they relay it and everyone outputs it.</p>");
    sec.table(
        "dolev-strong-rounds",
        &cut,
        "Last-round attack, n = 10: f rounds (inconsistent) against f+1 rounds (consistent).",
    )?;
    let checks = vec![
        check(
            "Dolev-Strong: consistency, validity and exactly f+1 rounds (ed25519, every adversary)",
            all_ok,
            format!("{count} runs, n ∈ {ns:?}, f from 0 to n−1"),
        ),
        check(
            "Dolev-Strong: f rounds are not enough (last-round attack)",
            broken == breakable && breakable > 0,
            format!("{broken} of {breakable} cut runs with more than a few honest nodes inconsistent (n = 10)"),
        ),
    ];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// Randomized agreement

fn randomized_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new(
        "randomized",
        "Randomized asynchronous binary agreement (MMR 2014)",
    );
    sec.text(
        "<p>Mostéfaoui, Moumen and Raynal's signature-free binary agreement with a common coin, <i>t</i> &lt; <i>n</i>/3: \
         BV-broadcast of the estimate (echo a value heard from <i>t</i>+1, accept it into <code>bin_values</code> from 2<i>t</i>+1), \
         AUX of a value in <code>bin_values</code>, wait for <i>n</i>−<i>t</i> AUX whose values are in <code>bin_values</code>; \
         a single value <i>v</i> becomes the estimate and is decided if it equals the round's coin, two values make the coin the estimate. \
         f = ⌊(n−1)/3⌋ Byzantine processes send B_VAL(0) and B_VAL(1) to everyone and AUX(0)/AUX(1) to alternate processes; \
         the FLP scheduler (below) delivers messages. The paper: \"the expected number of rounds to decide is four\".</p>",
    );
    let seeds = if o.quick { 200 } else { 1000 };
    #[derive(Serialize)]
    struct Row {
        n: usize,
        f: usize,
        inputs: &'static str,
        network: &'static str,
        seeds: u64,
        agreement: bool,
        validity: bool,
        terminated: bool,
        mean_rounds: f64,
        max_rounds: u64,
        mean_messages: f64,
    }
    let mut rows = Vec::new();
    let mut hist: Vec<Vec<u64>> = Vec::new();
    let mut all_ok = true;
    let mut worst_mean: f64 = 0.0;
    for (n, inputs, iname, network, nname) in [
        (
            4,
            Inputs::Random,
            "random",
            AsyncNetwork::Adversarial,
            "adversarial",
        ),
        (
            7,
            Inputs::Random,
            "random",
            AsyncNetwork::Adversarial,
            "adversarial",
        ),
        (
            10,
            Inputs::Random,
            "random",
            AsyncNetwork::Adversarial,
            "adversarial",
        ),
        (
            7,
            Inputs::Split,
            "split",
            AsyncNetwork::Adversarial,
            "adversarial",
        ),
        (
            7,
            Inputs::All(true),
            "all 1",
            AsyncNetwork::Adversarial,
            "adversarial",
        ),
        (7, Inputs::Random, "random", AsyncNetwork::Fair, "fair"),
        (
            7,
            Inputs::Random,
            "random",
            AsyncNetwork::PartialSynchrony,
            "partial-sync",
        ),
    ] {
        let (mut agree, mut valid, mut term) = (true, true, true);
        let (mut rounds, mut max, mut msgs) = (0u64, 0u64, 0u64);
        let mut h = vec![0u64; 16];
        for k in 0..seeds {
            let mut s = AbaScenario::new(n, o.seed.wrapping_mul(1_000_003).wrapping_add(k));
            s.inputs = inputs;
            s.network = network;
            let r = run_randomized(&s)?;
            agree &= r.agreement;
            valid &= r.validity
                && !matches!(inputs, Inputs::All(v) if r.decisions.iter().flatten().any(|d| d.0 != v));
            term &= r.terminated;
            rounds += r.rounds;
            max = max.max(r.rounds);
            msgs += r.messages;
            h[(r.rounds as usize).min(15)] += 1;
        }
        let mean = rounds as f64 / seeds as f64;
        if iname == "random" && nname == "adversarial" {
            worst_mean = worst_mean.max(mean);
            hist.push(h);
        }
        all_ok &= agree && valid && term;
        rows.push(Row {
            n,
            f: (n - 1) / 3,
            inputs: iname,
            network: nname,
            seeds,
            agreement: agree,
            validity: valid,
            terminated: term,
            mean_rounds: mean,
            max_rounds: max,
            mean_messages: msgs as f64 / seeds as f64,
        });
    }
    sec.table(
        "randomized-runs",
        &rows,
        "Rounds until the last honest process decides, over many seeds per line.",
    )?;
    let mut bc = BarChart {
        title: "MMR: rounds to the last honest decision".into(),
        y_label: "fraction of runs".into(),
        categories: (1..=12).map(|r| r.to_string()).collect(),
        series: Vec::new(),
    };
    for (h, n) in hist.iter().zip([4, 7, 10]) {
        bc.series.push((
            format!("n = {n}, f = {}", (n - 1) / 3),
            (1..=12).map(|r| h[r] as f64 / seeds as f64).collect(),
        ));
    }
    let runs: u64 = rows.iter().map(|r| r.seeds).sum();
    sec.chart(
        "randomized-rounds",
        bc.to_svg(),
        if all_ok {
            format!("Agreement, validity and termination in all {runs} runs; the last honest process decides after {worst_mean:.2} rounds on average at worst (the paper: 4 expected).")
        } else {
            format!("A property failed in the {runs} runs (see the table); mean rounds to the last decision up to {worst_mean:.2}.")
        },
        "Distribution of the number of rounds (adversarial scheduler, Byzantine processes, random inputs).",
    );
    let checks = vec![check(
        "Randomized agreement: agreement, validity, termination; mean rounds ≤ 4 (f = ⌊(n−1)/3⌋)",
        all_ok && worst_mean <= 4.0,
        format!("{seeds} seeds per line; largest mean {worst_mean:.3} rounds"),
    )];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// FLP

fn flp_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new("flp", "FLP in action");
    sec.text(
        "<p>The deterministic protocol: each round, broadcast the estimate and wait for <i>n</i>−<i>f</i> values; decide if they are all equal, \
         otherwise adopt the strict majority (keep the estimate on a tie). It is safe for <i>f</i> &lt; <i>n</i>/3 crashes — and FLP says some \
         admissible schedule keeps it undecided forever. The adversarial scheduler starts from split inputs and, every round, lets each process \
         hear promptly from exactly <i>n</i>−<i>f</i>−1 others: one or more with the other value, enough with its own for a strict majority; \
         everything else is delayed (finitely) past the round. Nobody crashes, no message is lost, and nobody ever decides. \
         Under a fair (random) scheduler the same protocol decides in a few rounds, and the randomized protocol decides under the adversarial one.</p>",
    );
    let rounds = if o.quick { 300 } else { 2000 };
    #[derive(Serialize)]
    struct Row {
        n: usize,
        f: usize,
        protocol: &'static str,
        scheduler: &'static str,
        rounds_run: u64,
        decided: String,
        decision_round: Option<u64>,
        messages: u64,
        held_back: u64,
    }
    let mut rows = Vec::new();
    let mut stuck_ok = true;
    let mut fair_ok = true;
    let mut random_ok = true;
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for n in [4usize, 7, 10] {
        let adv = run_flp(&FlpScenario::new(
            n,
            FlpScheduler::Adversarial,
            rounds,
            o.seed,
        ))?;
        let fair = run_flp(&FlpScenario::new(n, FlpScheduler::Fair, rounds, o.seed))?;
        let mut rs = AbaScenario::new(n, o.seed);
        rs.adversary = AbaAdversary::None;
        rs.f = 0;
        rs.inputs = Inputs::Split;
        rs.network = AsyncNetwork::Adversarial;
        let rnd = run_randomized(&rs)?;
        stuck_ok &= adv.undecided_throughout && adv.rounds_completed == rounds && adv.always_mixed;
        fair_ok &= fair.decisions.iter().all(|d| d.is_some()) && fair.agreement;
        random_ok &= rnd.terminated && rnd.agreement;
        let last = |d: &[Option<(bool, u64)>]| d.iter().flatten().map(|x| x.1).max();
        let decided = |d: &[Option<(bool, u64)>]| -> String {
            let c = d.iter().flatten().count();
            format!("{c} of {}", d.len())
        };
        rows.push(Row {
            n,
            f: adv.f,
            protocol: "deterministic majority",
            scheduler: "adversarial",
            rounds_run: adv.rounds_completed,
            decided: decided(&adv.decisions),
            decision_round: last(&adv.decisions),
            messages: adv.messages,
            held_back: adv.held_back,
        });
        rows.push(Row {
            n,
            f: fair.f,
            protocol: "deterministic majority",
            scheduler: "fair",
            rounds_run: fair.rounds_completed,
            decided: decided(&fair.decisions),
            decision_round: last(&fair.decisions),
            messages: fair.messages,
            held_back: 0,
        });
        rows.push(Row {
            n,
            f: (n - 1) / 3,
            protocol: "randomized (MMR, common coin)",
            scheduler: "adversarial",
            rounds_run: rnd.rounds,
            decided: decided(&rnd.decisions),
            decision_round: Some(rnd.rounds),
            messages: rnd.messages,
            held_back: 0,
        });
        if n == 7 {
            let frac = |d: &[Option<(bool, u64)>], r: u64| {
                d.iter().flatten().filter(|x| x.1 <= r).count() as f64 / d.len() as f64
            };
            for (name, d) in [
                ("deterministic, adversarial scheduler", &adv.decisions),
                ("deterministic, fair scheduler", &fair.decisions),
                ("randomized, adversarial scheduler", &rnd.decisions),
            ] {
                curves.push((
                    name.to_string(),
                    (1..=12).map(|r| (r as f64, frac(d, r))).collect(),
                ));
            }
        }
    }
    sec.table(
        "flp-runs",
        &rows,
        format!("Each deterministic run is bounded at {rounds} rounds."),
    )?;
    let mut chart = Chart::new(
        "FLP: fraction of processes decided (n = 7, f = 2)",
        "round",
        "decided",
    );
    chart.y_from_zero = true;
    for (k, (name, pts)) in curves.into_iter().enumerate() {
        chart = chart.with(Series::new(name, pts, Style::Measured, k));
    }
    sec.chart(
        "flp-decided",
        chart.to_svg(),
        if stuck_ok && fair_ok && random_ok {
            format!("Under the adversarial scheduler the deterministic protocol decides nothing in {rounds} rounds; a fair scheduler, or a common coin, ends it in a few.")
        } else {
            "The FLP demonstration did not come out as expected: see the checks.".to_string()
        },
        "The adversarial scheduler keeps the deterministic protocol at zero for the whole run.",
    );
    let checks = vec![
        check(
            "FLP: deterministic protocol undecided for the whole bounded run under the adversarial scheduler",
            stuck_ok,
            format!("n ∈ {{4, 7, 10}}, {rounds} rounds each, every process saw both values every round"),
        ),
        check("FLP: the same protocol decides under a fair scheduler", fair_ok, "n ∈ {4, 7, 10}".into()),
        check(
            "FLP: the randomized protocol decides under the adversarial scheduler",
            random_ok,
            "n ∈ {4, 7, 10}".into(),
        ),
    ];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// Streamlet

fn streamlet_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new("streamlet", "Streamlet (the node's consensus code)");
    sec.text(
        "<p>The consensus crate's Streamlet state machine on the simulator (epochs of 2Δ, Δ = 100 ms, echo of every new message), \
         f = ⌊(n−1)/3⌋ Byzantine validators. <b>sync</b>: delays ≤ Δ; <b>partial-sync</b>: adversarial delays before a random GST in the \
         first 12 epochs; <b>async</b>: adversarial finite delays up to 3 epochs with no GST (safety only). \
         Latency: finalization time at an honest node minus the start of the block's epoch.</p>",
    );
    let seeds = if o.quick { 2 } else { 5 };
    let mut rows = Vec::new();
    let mut safe = true;
    let mut live = true;
    for n in [4usize, 7] {
        for net in NETWORKS {
            for adv in ADVERSARIES {
                let r = streamlet_row(n, net, adv, seeds, 100, o.seed)?;
                safe &= r.safe;
                live &= r.live_runs == r.liveness_checked;
                rows.push(r);
            }
        }
    }
    let n4: Vec<_> = rows.iter().filter(|r| r.n == 4).collect();
    for (metric, title, ylabel, name) in [
        (
            "latency",
            "Streamlet finality latency (n = 4)",
            "epochs (mean)",
            "streamlet-latency",
        ),
        (
            "throughput",
            "Streamlet throughput (n = 4)",
            "final blocks per epoch",
            "streamlet-throughput",
        ),
    ] {
        let bc = BarChart {
            title: title.into(),
            y_label: ylabel.into(),
            categories: ADVERSARIES.iter().map(|s| s.to_string()).collect(),
            series: NETWORKS
                .iter()
                .map(|net| {
                    (
                        net.to_string(),
                        ADVERSARIES
                            .iter()
                            .map(|adv| {
                                n4.iter()
                                    .find(|r| r.network == *net && r.adversary == *adv)
                                    .map_or(f64::NAN, |r| {
                                        if metric == "latency" {
                                            r.latency_mean_epochs
                                        } else {
                                            r.final_blocks_per_epoch
                                        }
                                    })
                            })
                            .collect(),
                    )
                })
                .collect(),
        };
        let finite: Vec<&&crate::streamlet::StreamletRow> = n4
            .iter()
            .filter(|r| {
                let v = if metric == "latency" {
                    r.latency_mean_epochs
                } else {
                    r.final_blocks_per_epoch
                };
                v.is_finite()
            })
            .collect();
        let pick = |best: bool| {
            finite.iter().copied().reduce(|a, b| {
                let (va, vb) = if metric == "latency" {
                    (a.latency_mean_epochs, b.latency_mean_epochs)
                } else {
                    (a.final_blocks_per_epoch, b.final_blocks_per_epoch)
                };
                if (va <= vb) == best {
                    a
                } else {
                    b
                }
            })
        };
        let finding = match (pick(true), pick(false), metric) {
            (Some(lo), Some(hi), "latency") => format!(
                "A block is final {:.1} epochs after its epoch began at best ({}, {}) and {:.1} at worst ({}, {}); safety held in every run.",
                lo.latency_mean_epochs, lo.network, lo.adversary, hi.latency_mean_epochs, hi.network, hi.adversary
            ),
            (Some(lo), Some(hi), _) => format!(
                "From {:.2} final blocks per epoch ({}, {}) down to {:.2} ({}, {}).",
                hi.final_blocks_per_epoch, hi.network, hi.adversary, lo.final_blocks_per_epoch, lo.network, lo.adversary
            ),
            _ => "No finite figure to compare.".to_string(),
        };
        sec.chart(
            name,
            bc.to_svg(),
            finding,
            format!("{title}, by adversary and network model."),
        );
    }
    sec.table(
        "streamlet-runs",
        &rows,
        format!("{seeds} seeds × about 100 epochs per line."),
    )?;
    let checks = vec![
        check(
            "Streamlet: safe under every network model and adversary",
            safe,
            format!("{} configurations", rows.len()),
        ),
        check(
            "Streamlet: final within the liveness theorem's bound after GST",
            live,
            "every run with a GST and five honest leaders in a row".into(),
        ),
    ];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// Nakamoto

fn stale_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new(
        "stale",
        "Nakamoto: stale blocks and chain growth against delay",
    );
    sec.text(
        "<p>Ten honest miners running the node's Nakamoto state machine (Poisson block discovery, real nonce search at a tiny difficulty, \
         fixed difficulty), every block reaching every miner exactly Δ after it is found. λ = 1/T is the total block rate. \
         Analytic rate (renewal argument): after the chain first reaches a new height, the next comes from the finder's own next block \
         (rate λ/h) or from any block found once everyone has heard (rate λ): stale = 1 − 1/(h(1−e<sup>−λΔ/h</sup>) + e<sup>−λΔ/h</sup>), \
         λΔ/(1+λΔ) for many miners; to first order 1 − e<sup>−λΔ(h−1)/h</sup>.</p>",
    );
    let blocks = if o.quick { 1500 } else { 10_000 };
    let lds: &[f64] = &[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0];
    let mut rows = Vec::new();
    let mut worst_sigma: f64 = 0.0;
    for (k, ld) in lds.iter().enumerate() {
        let r = run_pow(&PowScenario::fixed(
            10,
            ld * 1000.0,
            blocks,
            o.seed + k as u64,
        ))?;
        if *ld <= 0.2 {
            worst_sigma =
                worst_sigma.max(((r.stale_rate - r.stale_formula) / r.stale_stderr).abs());
        }
        rows.push(r);
    }
    let grid: Vec<f64> = (0..=40)
        .map(|i| 10f64.powf(-2.0 + i as f64 * 2.5 / 40.0))
        .collect();
    let stale_chart = Chart {
        log_x: true,
        y_from_zero: true,
        ..Chart::new(
            "Stale-block rate against propagation delay (10 miners)",
            "λΔ (delay in block intervals)",
            "stale fraction of mined blocks",
        )
    }
    .with(Series::new(
        "simulated",
        rows.iter()
            .map(|r| (r.lambda_delta, r.stale_rate))
            .collect(),
        Style::Measured,
        0,
    ))
    .with(Series::new(
        "analytic (renewal, h = 10)",
        grid.iter()
            .map(|x| (*x, stale_rate_formula(*x, 10)))
            .collect(),
        Style::Theory,
        1,
    ))
    .with(Series::new(
        "first order 1 − e^(−λΔ(h−1)/h)",
        grid.iter()
            .map(|x| (*x, stale_rate_first_order(*x, 10)))
            .collect(),
        Style::Approximation,
        2,
    ))
    .with(Series::new(
        "λΔ/(1+λΔ) (many miners)",
        grid.iter().map(|x| (*x, x / (1.0 + x))).collect(),
        Style::Theory,
        3,
    ));
    let last = rows.last();
    sec.chart(
        "nakamoto-stale",
        stale_chart.to_svg(),
        format!(
            "Simulated stale rates stay within {worst_sigma:.1} standard errors of the renewal formula up to λΔ = 0.2, and reach {:.0}% at λΔ = {}.",
            last.map_or(0.0, |r| 100.0 * r.stale_rate),
            last.map_or(0.0, |r| r.lambda_delta)
        ),
        "Stale rate: simulation against the analytic rates.",
    );
    let growth_chart = Chart {
        log_x: true,
        y_from_zero: true,
        ..Chart::new(
            "Main-chain growth against propagation delay",
            "λΔ",
            "main-chain blocks per block interval",
        )
    }
    .with(Series::new(
        "simulated",
        rows.iter()
            .map(|r| (r.lambda_delta, r.growth_per_interval))
            .collect(),
        Style::Measured,
        0,
    ))
    .with(Series::new(
        "analytic 1 − stale (h = 10)",
        grid.iter()
            .map(|x| (*x, 1.0 - stale_rate_formula(*x, 10)))
            .collect(),
        Style::Theory,
        1,
    ))
    .with(Series::new(
        "1/(1+λΔ) (many miners)",
        grid.iter().map(|x| (*x, 1.0 / (1.0 + x))).collect(),
        Style::Theory,
        3,
    ));
    sec.chart(
        "nakamoto-growth",
        growth_chart.to_svg(),
        format!(
            "At λΔ = {} the main chain grows by {:.2} blocks per block interval: forks waste {:.0}% of the work.",
            last.map_or(0.0, |r| r.lambda_delta),
            last.map_or(0.0, |r| r.growth_per_interval),
            last.map_or(0.0, |r| 100.0 * (1.0 - r.growth_per_interval))
        ),
        "Chain growth: the longest chain grows more slowly as forks waste work.",
    );
    sec.table(
        "nakamoto-stale",
        &rows,
        format!("{blocks} main-chain blocks per line."),
    )?;
    let checks = vec![check(
        "Nakamoto: stale rate under a fixed delay matches the analytic rate (λΔ ≤ 0.2)",
        worst_sigma < 3.0,
        format!("largest deviation {worst_sigma:.2} standard errors"),
    )];
    Ok((sec, checks))
}

fn common_prefix_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new(
        "common-prefix",
        "Nakamoto: common prefix by depth and chain quality",
    );
    sec.text(
        "<p>Garay, Kiayias and Leonardos: \"the chain of an honest party without its last k blocks is a prefix of every later chain of every honest party\". \
         A violation is counted each time a tip adoption shows a fork deeper than k between two honest chains (or within one node's history). \
         Eight miners, delays uniform in [0, Δ]; and a partition of the miners into two halves for 30 block intervals.</p>",
    );
    let blocks = if o.quick { 800 } else { 3000 };
    #[derive(Serialize)]
    struct Row {
        scenario: String,
        stale_rate: f64,
        max_fork_depth: u64,
        violations_k1: u64,
        violations_k2: u64,
        violations_k3: u64,
        violations_k4: u64,
        violations_k6: u64,
        violations_k8: u64,
        violations_k10: u64,
    }
    let mut rows = Vec::new();
    let mut chart = Chart {
        log_y: true,
        ..Chart::new(
            "Common-prefix violations by depth k",
            "k (blocks)",
            "violations (log scale)",
        )
    };
    let mut monotone = true;
    for (k, (label, delay, partition)) in [
        ("Δ = 0.25 T", 250.0, 0u64),
        ("Δ = 0.5 T", 500.0, 0),
        ("Δ = T", 1000.0, 0),
        ("Δ = 2 T", 2000.0, 0),
        ("partition 30 T", 10.0, 30_000),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = PowScenario::fixed(8, 0.0, blocks, o.seed + 17 * k as u64);
        s.delay = Delay::Uniform(delay);
        s.partition_ms = partition;
        s.common_prefix = true;
        let r = run_pow(&s)?;
        let v = &r.cp_violations_by_depth;
        monotone &= v.windows(2).all(|w| w[0] >= w[1]);
        chart = chart.with(Series::new(
            label,
            v.iter()
                .enumerate()
                .map(|(i, c)| ((i + 1) as f64, *c as f64))
                .collect(),
            Style::Measured,
            k,
        ));
        rows.push(Row {
            scenario: label.to_string(),
            stale_rate: r.stale_rate,
            max_fork_depth: r.max_fork_depth,
            violations_k1: v[0],
            violations_k2: v[1],
            violations_k3: v[2],
            violations_k4: v[3],
            violations_k6: v[5],
            violations_k8: v[7],
            violations_k10: v[9],
        });
    }
    let bounded_depth = rows
        .iter()
        .filter(|r| !r.scenario.starts_with("partition"))
        .map(|r| r.max_fork_depth)
        .max()
        .unwrap_or(0);
    let partition_depth = rows
        .iter()
        .filter(|r| r.scenario.starts_with("partition"))
        .map(|r| r.max_fork_depth)
        .max()
        .unwrap_or(0);
    sec.chart(
        "nakamoto-common-prefix",
        chart.to_svg(),
        format!("With delays up to 2 T no fork went deeper than {bounded_depth} blocks; a 30 T partition forked {partition_depth} blocks deep."),
        "Violations fall off quickly with k under bounded delay; a partition breaks common prefix at any k below its depth.",
    );
    sec.table(
        "nakamoto-common-prefix",
        &rows,
        format!(
            "{blocks} blocks per line (points with no violation are not drawn on the log scale)."
        ),
    )?;

    // Chain quality under a selfish miner (full stack): adversary share vs GKL bound.
    sec.text(
        "<p><b>Chain quality.</b> GKL: the honest fraction of any long segment of an honest chain is at least μ = 1 − (1+δ)·α/(1−α). \
         A selfish miner (the simulator's full-stack adversary) pushes its share of the chain above α, up to the bound when it wins every tie.</p>",
    );
    #[derive(Serialize)]
    struct Q {
        alpha: f64,
        effective_gamma: f64,
        adversary_share: f64,
        eyal_sirer: f64,
        gkl_bound: f64,
        within_bound: bool,
    }
    let mut q = Vec::new();
    let qb = if o.quick { 800 } else { 2000 };
    let mut within = true;
    for alpha in [0.1, 0.2, 0.3, 0.4] {
        let r = selfish_full_stack(alpha, 1.0, 10, qb, o.seed + 5)?;
        let bound = gkl_adversary_share_bound(alpha);
        // Sampling slack: 3 standard errors of a share over qb blocks.
        let slack = 3.0 * (bound * (1.0 - bound) / qb as f64).sqrt();
        within &= r.revenue <= bound + slack;
        q.push(Q {
            alpha,
            effective_gamma: r.gamma,
            adversary_share: r.revenue,
            eyal_sirer: r.formula,
            gkl_bound: bound,
            within_bound: r.revenue <= bound + slack,
        });
    }
    sec.table(
        "nakamoto-chain-quality",
        &q,
        format!("{qb} main-chain blocks per line, 10 honest miners, the pool rushing to everyone."),
    )?;
    let checks = vec![
        check(
            "Nakamoto: common-prefix violations never increase with depth k",
            monotone,
            "Δ from 0.25 T to 2 T, and a partition".into(),
        ),
        check(
            "Nakamoto: a selfish miner's chain share stays within the GKL chain-quality bound α/(1−α)",
            within,
            "α ∈ {0.1, 0.2, 0.3, 0.4}".into(),
        ),
    ];
    Ok((sec, checks))
}

fn double_spend_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new(
        "double-spend",
        "Nakamoto: double spending by confirmation depth",
    );
    sec.text(
        "<p>An attacker with hash share q mines a private chain (with one pre-mined block) while the merchant waits for z confirmations, \
         then races until its chain is longer (success) or hopelessly behind. Simulated as the two Poisson mining processes, next to \
         Nakamoto's whitepaper estimate and Rosenfeld's exact formula r = 1 − Σ<sub>m=0..z</sub> C(m+z−1, m)(p<sup>z</sup>q<sup>m</sup> − p<sup>m</sup>q<sup>z</sup>).</p>",
    );
    let trials = if o.quick { 4000 } else { 20_000 };
    let mut rows = Vec::new();
    let mut chart = Chart {
        log_y: true,
        ..Chart::new(
            "Double-spend success by confirmations",
            "confirmations z",
            "success probability (log scale)",
        )
    };
    let mut worst: f64 = 0.0;
    for (k, q) in [0.1, 0.2, 0.3, 0.4].into_iter().enumerate() {
        let mut pts = Vec::new();
        for z in 1..=10u64 {
            let r = simulate_double_spend(q, z, trials, o.seed.wrapping_add(1000 * k as u64 + z))?;
            if r.rosenfeld * trials as f64 >= 20.0 {
                worst = worst.max(((r.rate - r.rosenfeld) / r.stderr).abs());
            }
            pts.push((z as f64, r.rate));
            rows.push(r);
        }
        chart = chart
            .with(Series::new(
                format!("q = {q}: simulated"),
                pts,
                Style::Points,
                k,
            ))
            .with(Series::new(
                format!("q = {q}: Rosenfeld"),
                (1..=10)
                    .map(|z| (z as f64, rosenfeld_double_spend(q, z)))
                    .collect(),
                Style::Theory,
                k,
            ))
            .with(Series::new(
                format!("q = {q}: Nakamoto"),
                (1..=10)
                    .map(|z| (z as f64, nakamoto_double_spend(q, z)))
                    .collect(),
                Style::Approximation,
                k,
            ));
    }
    let at = |q: f64, z: u64| {
        rows.iter()
            .find(|r| (r.q - q).abs() < 1e-9 && r.z == z)
            .map_or(0.0, |r| 100.0 * r.rate)
    };
    sec.chart(
        "nakamoto-double-spend",
        chart.to_svg(),
        format!(
            "After 6 confirmations a 10% attacker succeeded in {:.2}% of attacks and a 30% attacker in {:.1}%; within {worst:.1} standard errors of Rosenfeld throughout.",
            at(0.1, 6),
            at(0.3, 6)
        ),
        format!("{trials} simulated attacks per point; dashed: Rosenfeld's exact formula; dotted: Nakamoto's estimate."),
    );
    sec.table("nakamoto-double-spend", &rows, "Simulated rate, its standard error, Rosenfeld's exact and Nakamoto's approximate probabilities.")?;
    let checks = vec![check(
        "Nakamoto: double-spend success by depth agrees with Rosenfeld within sampling error",
        worst < 3.5,
        format!("largest deviation {worst:.2} standard errors over q ∈ {{0.1..0.4}}, z ∈ 1..10 ({trials} trials each)"),
    )];
    Ok((sec, checks))
}

fn selfish_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new("selfish", "Nakamoto: selfish mining");
    sec.text(
        "<p>Eyal and Sirer's selfish pool (share α) against honest miners who, in a tie, mine on the pool's block with probability γ. \
         Simulated block by block from one seed (Algorithm 1 against the longest-chain rule), next to the closed form \
         R = [α(1−α)²(4α+γ(1−2α)) − α³] / [1 − α(1+(2−α)α)]; and cross-checked with the full stack (the node's Nakamoto machines, \
         Poisson mining, the rushing network).</p>",
    );
    let blocks = if o.quick { 20_000 } else { 100_000 };
    let mut chart = Chart {
        y_from_zero: true,
        ..Chart::new(
            "Selfish mining: relative revenue against pool size",
            "pool hash share α",
            "pool's share of main-chain blocks",
        )
    };
    let mut grid_rows = Vec::new();
    for (k, gamma) in [0.0, 0.5, 1.0].into_iter().enumerate() {
        let mut pts = Vec::new();
        for i in 1..=18 {
            let alpha = 0.025 * i as f64;
            let r = simulate_selfish(
                alpha,
                gamma,
                blocks,
                o.seed.wrapping_add(100 * k as u64 + i),
            )?;
            pts.push((alpha, r.revenue));
            grid_rows.push(r);
        }
        chart = chart
            .with(Series::new(
                format!("γ = {gamma}: simulated"),
                pts,
                Style::Points,
                k,
            ))
            .with(Series::new(
                format!("γ = {gamma}: Eyal–Sirer"),
                (0..=45)
                    .map(|i| {
                        let a = 0.01 * i as f64;
                        (a, eyal_sirer_revenue(a, gamma).max(0.0))
                    })
                    .collect(),
                Style::Theory,
                k,
            ));
    }
    chart = chart.with(Series::new(
        "honest mining (revenue = α)",
        vec![(0.0, 0.0), (0.45, 0.45)],
        Style::Theory,
        6,
    ));
    let mut acc = Vec::new();
    let mut worst: f64 = 0.0;
    for gamma in [0.0, 0.5, 1.0] {
        for alpha in [0.1, 0.2, 0.25, 0.3, 0.35, 0.4] {
            let r = simulate_selfish(alpha, gamma, blocks.max(100_000), o.seed.wrapping_add(7))?;
            worst = worst.max(r.difference.abs());
            acc.push(r);
        }
    }
    let share = |alpha: f64, gamma: f64| {
        acc.iter()
            .find(|r| (r.alpha - alpha).abs() < 1e-9 && (r.gamma - gamma).abs() < 1e-9)
            .map_or(0.0, |r| 100.0 * r.revenue)
    };
    sec.chart(
        "selfish-mining",
        chart.to_svg(),
        format!(
            "A pool with 35% of the hash power earns {:.1}% of the blocks by mining selfishly (γ = 0.5), {:.1}% with γ = 0; the simulation stays within {:.2} points of Eyal and Sirer.",
            share(0.35, 0.5),
            share(0.35, 0.0),
            worst * 100.0
        ),
        format!(
            "{blocks} main-chain blocks per point; dashed: the closed form; black: honest mining."
        ),
    );
    sec.table(
        "selfish-acceptance",
        &acc,
        "The acceptance grid: at least 100,000 blocks per configuration.",
    )?;
    let fb = if o.quick { 800 } else { 5000 };
    let mut full = Vec::new();
    for gamma in [0.0, 1.0] {
        for alpha in [0.1, 0.2, 0.3, 0.4] {
            full.push(selfish_full_stack(
                alpha,
                gamma,
                10,
                fb,
                o.seed.wrapping_add(3),
            )?);
        }
    }
    sec.table(
        "selfish-full-stack",
        &full,
        format!("Full stack: 10 honest miners, {fb} blocks per line; γ is the effective γ(1 − 1/10) since the honest finder of a block mines on its own."),
    )?;
    sec.table(
        "selfish-grid",
        &grid_rows,
        format!("The chart's points ({blocks} blocks each)."),
    )?;
    let checks = vec![check(
        "Selfish mining: revenue within 2 points of Eyal–Sirer (α ∈ {0.1..0.4}, γ ∈ {0, 0.5, 1}, ≥ 100,000 blocks)",
        worst < 0.02,
        format!("largest difference {:.2} points", worst * 100.0),
    )];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// Complexity

fn complexity_section(o: &SuiteOptions) -> TaskOut {
    let mut sec = Section::new("complexity", "Complexity against theory");
    sec.text(
        "<p>Rounds, messages and bits measured over sweeps of n and f, next to the bounds. \
         Dolev-Strong (simulated signatures, the worst over every adversary): exactly f+1 rounds — optimal for deterministic protocols; \
         honest messages O(n²) with the two-value relay rule and signatures O(n²f); Dolev–Reischuk: some execution needs more than (f/2)² messages \
         and Ω(nf) signatures. MMR: expected constant rounds, O(n²) messages per round. Streamlet: O(n³) messages per epoch (echoes).</p>",
    );
    let ns: Vec<usize> = if o.quick {
        vec![4, 8, 16]
    } else {
        vec![4, 8, 16, 24, 32, 48]
    };
    let mut pairs = Vec::new();
    for &n in &ns {
        for f in [n / 4, n / 2, n - 1] {
            if !pairs.contains(&(n, f)) {
                pairs.push((n, f));
            }
        }
    }
    let ds = dolev_strong_sweep(&pairs, o.seed, SigMode::Simulated)?;
    let rounds_ok = ds.iter().all(|r| r.correct && r.rounds == r.rounds_bound);
    let bounds_ok = ds.iter().all(|r| {
        r.honest_messages <= r.messages_upper_bound
            && r.honest_signatures <= r.signatures_upper_bound
    });
    let full: Vec<_> = ds.iter().filter(|r| r.f == r.n / 2).collect();
    let rounds_chart = Chart {
        y_from_zero: true,
        ..Chart::new(
            "Dolev-Strong: rounds against f",
            "f (corrupt nodes)",
            "rounds",
        )
    }
    .with(Series::new(
        "measured",
        ds.iter().map(|r| (r.f as f64, r.rounds as f64)).collect(),
        Style::Points,
        0,
    ))
    .with(Series::new(
        "f + 1",
        {
            let fmax = ds.iter().map(|r| r.f).max().unwrap_or(1) as f64;
            vec![(0.0, 1.0), (fmax, fmax + 1.0)]
        },
        Style::Theory,
        1,
    ));
    sec.chart(
        "complexity-ds-rounds",
        rounds_chart.to_svg(),
        if rounds_ok {
            format!(
                "Exactly f + 1 rounds in all {} (n, f) pairs, n up to {}.",
                ds.len(),
                ns.last().copied().unwrap_or(0)
            )
        } else {
            "Some run did not take exactly f + 1 rounds: see the table.".to_string()
        },
        "Every honest node outputs at the end of round f+1 exactly.",
    );
    let msg_chart = Chart {
        log_x: true,
        log_y: true,
        ..Chart::new(
            "Dolev-Strong: honest messages and signatures (f = n/2)",
            "n",
            "count (log scale)",
        )
    }
    .with(Series::new(
        "honest messages",
        full.iter()
            .map(|r| (r.n as f64, r.honest_messages as f64))
            .collect(),
        Style::Measured,
        0,
    ))
    .with(Series::new(
        "upper bound (n−1)+2n(n−1)",
        full.iter()
            .map(|r| (r.n as f64, r.messages_upper_bound as f64))
            .collect(),
        Style::Theory,
        0,
    ))
    .with(Series::new(
        "Dolev–Reischuk max(n−1,(f/2)²)",
        full.iter()
            .map(|r| (r.n as f64, r.dolev_reischuk_messages))
            .collect(),
        Style::Theory,
        2,
    ))
    .with(Series::new(
        "honest signatures",
        full.iter()
            .map(|r| (r.n as f64, r.honest_signatures as f64))
            .collect(),
        Style::Measured,
        1,
    ))
    .with(Series::new(
        "O(n²f) bound",
        full.iter()
            .map(|r| (r.n as f64, r.signatures_upper_bound as f64))
            .collect(),
        Style::Theory,
        1,
    ))
    .with(Series::new(
        "Dolev–Reischuk n(f+1)/4 sigs",
        full.iter()
            .map(|r| (r.n as f64, r.dolev_reischuk_signatures))
            .collect(),
        Style::Theory,
        3,
    ));
    sec.chart(
        "complexity-ds-messages",
        msg_chart.to_svg(),
        match full.last() {
            Some(r) => format!(
                "At n = {}, f = {}: {} honest messages and {} signatures, {} the Dolev–Reischuk lower bounds and the upper bounds.",
                r.n,
                r.f,
                r.honest_messages,
                r.honest_signatures,
                if bounds_ok { "between" } else { "not always between" }
            ),
            None => "No run with f = n/2.".to_string(),
        },
        "Measured worst case over adversaries, between the lower and the upper bounds.",
    );
    sec.table(
        "complexity-dolev-strong",
        &ds,
        "Dolev-Strong, the worst over the four adversaries (simulated signatures).",
    )?;

    let seeds = if o.quick { 50 } else { 200 };
    let aba_ns: Vec<usize> = if o.quick {
        vec![4, 7, 10, 13]
    } else {
        vec![4, 7, 10, 13, 16, 22, 31]
    };
    let aba = randomized_sweep(&aba_ns, seeds, o.seed)?;
    let aba_ok = aba
        .iter()
        .all(|r| r.correct && r.messages_per_round <= r.messages_per_round_bound as f64);
    let rchart = Chart {
        y_from_zero: true,
        ..Chart::new("MMR: rounds against n (f = ⌊(n−1)/3⌋)", "n", "rounds")
    }
    .with(Series::new(
        "mean decision round of a process",
        aba.iter()
            .map(|r| (r.n as f64, r.mean_decision_round))
            .collect(),
        Style::Measured,
        0,
    ))
    .with(Series::new(
        "mean rounds to the last decision",
        aba.iter().map(|r| (r.n as f64, r.mean_rounds)).collect(),
        Style::Measured,
        3,
    ))
    .with(Series::new(
        "most rounds in a run",
        aba.iter()
            .map(|r| (r.n as f64, r.max_rounds as f64))
            .collect(),
        Style::Points,
        1,
    ))
    .with(Series::new(
        "paper: 4 expected",
        vec![
            (4.0, 4.0),
            (aba_ns.last().copied().unwrap_or(4) as f64, 4.0),
        ],
        Style::Theory,
        2,
    ));
    let lo = aba
        .iter()
        .map(|r| r.mean_rounds)
        .fold(f64::INFINITY, f64::min);
    let hi = aba.iter().map(|r| r.mean_rounds).fold(0.0, f64::max);
    sec.chart(
        "complexity-randomized-rounds",
        rchart.to_svg(),
        format!(
            "Mean rounds to the last decision stay between {lo:.2} and {hi:.2} from n = 4 to n = {}: constant in n, as the paper says.",
            aba_ns.last().copied().unwrap_or(4)
        ),
        format!("{seeds} seeds per n: the expected number of rounds does not grow with n."),
    );
    let mchart = Chart {
        log_x: true,
        log_y: true,
        ..Chart::new(
            "Messages per round (MMR) and per epoch (Streamlet)",
            "n",
            "messages (log scale)",
        )
    }
    .with(Series::new(
        "MMR per round",
        aba.iter()
            .map(|r| (r.n as f64, r.messages_per_round))
            .collect(),
        Style::Measured,
        0,
    ))
    .with(Series::new(
        "3n(n−1)",
        aba.iter()
            .map(|r| (r.n as f64, r.messages_per_round_bound as f64))
            .collect(),
        Style::Theory,
        0,
    ));
    let st = streamlet_sweep(&[4, 7, 10, 13, 16], 40, o.seed)?;
    let mchart = mchart
        .with(Series::new(
            "Streamlet per epoch",
            st.iter()
                .map(|r| (r.n as f64, r.messages_per_epoch))
                .collect(),
            Style::Measured,
            1,
        ))
        .with(Series::new(
            "n³",
            st.iter().map(|r| (r.n as f64, r.n_cubed as f64)).collect(),
            Style::Theory,
            1,
        ));
    let finding = match (aba.last(), st.last()) {
        (Some(a), Some(t)) => format!(
            "MMR sends {:.0} messages per round at n = {} (bound 3n(n−1) = {}); Streamlet {:.0} per epoch at n = {} (n³ = {}).",
            a.messages_per_round, a.n, a.messages_per_round_bound, t.messages_per_epoch, t.n, t.n_cubed
        ),
        _ => "No runs.".to_string(),
    };
    sec.chart(
        "complexity-messages",
        mchart.to_svg(),
        finding,
        "Quadratic per round for MMR (Byzantine processes add their own messages), cubic per epoch for Streamlet's echo rule.",
    );
    sec.table(
        "complexity-randomized",
        &aba,
        "MMR agreement: rounds and messages by n.",
    )?;
    sec.table(
        "complexity-streamlet",
        &st,
        "Streamlet: messages and bits per epoch by n.",
    )?;
    let checks =
        vec![
        check(
            "Complexity: Dolev-Strong takes exactly f+1 rounds for every (n, f) swept",
            rounds_ok,
            format!("{} (n, f) pairs up to n = {}", ds.len(), ns.last().copied().unwrap_or(0)),
        ),
        check(
            "Complexity: Dolev-Strong honest messages ≤ (n−1)+2n(n−1), signatures ≤ that × (f+1)",
            bounds_ok,
            "worst case over adversaries".into(),
        ),
        check(
            "Complexity: MMR correct for every n swept; at most 3n(n−1) messages per round",
            aba_ok,
            format!("n up to {}, {seeds} seeds each", aba_ns.last().copied().unwrap_or(0)),
        ),
    ];
    Ok((sec, checks))
}

// ----------------------------------------------------------------------------------
// Rendering

/// Tables with more rows than this are folded behind `<details>`.
pub const FOLD_ROWS: usize = 12;

const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;max-width:1180px;margin:1.2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{margin:.2em 0 .1em;font-size:1.7em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin:1.6em 0 .5em;font-size:1.3em}\
.lead{margin:.2em 0 .4em}\
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:12.5px;display:block;overflow-x:auto}\
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;white-space:nowrap}th{background:#f0f4f8}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:.6em 1.4em}\
figure{margin:.4em 0;max-width:780px}.finding{font-weight:bold;font-size:14px;margin:0 0 .3em}figcaption{font-size:12.5px;color:#555}\
details{margin:.4em 0 1em}summary{cursor:pointer;color:#0b5394}\
.pass{color:#087f23;font-weight:bold}.fail{color:#b00020;font-weight:bold}nav{font-size:13px}nav a{margin-right:.9em}\
.caption{font-size:13px;color:#555;margin-bottom:.2em}code{background:#f4f4f4;padding:0 3px}\
svg{max-width:100%;height:auto}";

fn checks_table(r: &Report) -> String {
    let mut s = String::from(
        "<table><thead><tr><th>claim</th><th>result</th><th>figures</th></tr></thead><tbody>\n",
    );
    for c in &r.checks {
        let (class, word) = if c.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
            html_escape(&c.claim),
            html_escape(&c.detail)
        );
    }
    s.push_str("</tbody></table>\n");
    s
}

/// The report as one self-contained HTML document: a short header, then every section
/// with its charts first (each under its one-line finding), its text, and its tables
/// (folded when long).
pub fn render_html(r: &Report) -> String {
    let mut s = String::new();
    let passed = r.checks.iter().filter(|c| c.passed).count();
    let verdict = if passed == r.checks.len() {
        format!(
            "<span class=\"pass\">all {} checks passed</span>",
            r.checks.len()
        )
    } else {
        format!(
            "<span class=\"fail\">{} of {} checks FAILED</span>",
            r.checks.len() - passed,
            r.checks.len()
        )
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ledger-sim protocol lab report</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>ledger-sim: protocol lab report</h1>\n<p class=\"lead\">The textbook protocols and the node's own consensus code on the deterministic simulator: \
         {verdict} (seed {seed}{quick}, {secs:.1} s; <code>ledger-sim report --out DIR --seed {seed}</code> reproduces every figure). \
         Each chart is headed by what it shows; tables are folded below.</p>\n<nav>",
        seed = r.seed,
        quick = if r.quick { ", quick sizes" } else { "" },
        secs = r.elapsed_s,
    );
    for sec in &r.sections {
        let _ = write!(s, "<a href=\"#{}\">{}</a>", sec.id, html_escape(&sec.title));
    }
    s.push_str("<a href=\"#checks\">Checks</a><a href=\"#timings\">Run times</a></nav>\n");
    for sec in &r.sections {
        let _ = writeln!(s, "<h2 id=\"{}\">{}</h2>", sec.id, html_escape(&sec.title));
        let charts: Vec<&Item> = sec
            .items
            .iter()
            .filter(|i| matches!(i, Item::Chart { .. }))
            .collect();
        if !charts.is_empty() {
            s.push_str("<div class=\"charts\">\n");
            for item in charts {
                if let Item::Chart {
                    name,
                    svg,
                    finding,
                    caption,
                } = item
                {
                    let _ = writeln!(
                        s,
                        "<figure id=\"{name}\">\n<p class=\"finding\">{finding}</p>\n{svg}<figcaption>{caption} <a href=\"charts/{name}.svg\">SVG</a></figcaption>\n</figure>"
                    );
                }
            }
            s.push_str("</div>\n");
        }
        for item in &sec.items {
            match item {
                Item::Text(t) => {
                    s.push_str(t);
                    s.push('\n');
                }
                Item::Chart { .. } => {}
                Item::Table {
                    name,
                    table,
                    caption,
                } => {
                    let links = format!(
                        "(<a href=\"data/{name}.csv\">CSV</a>, <a href=\"data/{name}.json\">JSON</a>)"
                    );
                    if table.rows.len() > FOLD_ROWS {
                        let _ = writeln!(
                            s,
                            "<details><summary>{caption} {} rows {links}</summary>",
                            table.rows.len()
                        );
                        s.push_str(&table.to_html());
                        s.push_str("</details>\n");
                    } else {
                        let _ = writeln!(s, "<p class=\"caption\">{caption} {links}</p>");
                        s.push_str(&table.to_html());
                    }
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "<h2 id=\"checks\">Checks</h2>\n<details{}><summary>{passed} of {} checks passed (<a href=\"checks.json\">JSON</a>)</summary>",
        if passed == r.checks.len() { "" } else { " open" },
        r.checks.len()
    );
    s.push_str(&checks_table(r));
    s.push_str("</details>\n");
    s.push_str("<h2 id=\"timings\">Run times</h2>\n<table><thead><tr><th>experiment</th><th>seconds</th></tr></thead><tbody>\n");
    for (name, secs) in &r.timings {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"num\">{secs:.2}</td></tr>",
            html_escape(name)
        );
    }
    s.push_str("</tbody></table>\n</body>\n</html>\n");
    s
}

/// The checks as a Markdown table (`summary.md`; `docs/lab/README.md` quotes it).
/// Figures only, no timings, so the same seed gives the same text.
pub fn render_summary_md(r: &Report) -> String {
    let mut s = format!(
        "| claim | result | figures (seed {}{}) |\n| --- | --- | --- |\n",
        r.seed,
        if r.quick { ", quick sizes" } else { "" }
    );
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    for c in &r.checks {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            cell(&c.claim),
            if c.passed { "pass" } else { "FAIL" },
            cell(&c.detail)
        );
    }
    s
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|source| LabError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes `index.html`, `charts/*.svg`, `data/*.csv`, `data/*.json`, `checks.json`
/// and `summary.md` under `dir`. Returns the paths written.
pub fn write_report(r: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for sub in ["", "charts", "data"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|source| LabError::Io {
            path: d.display().to_string(),
            source,
        })?;
    }
    for sec in &r.sections {
        for item in &sec.items {
            match item {
                Item::Chart { name, svg, .. } => {
                    let p = dir.join("charts").join(format!("{name}.svg"));
                    write_file(&p, svg)?;
                    written.push(p);
                }
                Item::Table { name, table, .. } => {
                    let p = dir.join("data").join(format!("{name}.csv"));
                    write_file(&p, &table.to_csv())?;
                    written.push(p);
                    let p = dir.join("data").join(format!("{name}.json"));
                    write_file(&p, &table.to_json())?;
                    written.push(p);
                }
                Item::Text(_) => {}
            }
        }
    }
    let p = dir.join("checks.json");
    write_file(&p, &serde_json::to_string_pretty(&r.checks)?)?;
    written.push(p);
    let p = dir.join("summary.md");
    write_file(&p, &render_summary_md(r))?;
    written.push(p);
    let p = dir.join("index.html");
    write_file(&p, &render_html(r))?;
    written.push(p);
    Ok(written)
}
