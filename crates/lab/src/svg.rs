//! Charts as standalone SVG (no scripts, no external fonts or files): line/scatter
//! charts with linear or logarithmic axes, and grouped bar charts.

use crate::table::html_escape;
use std::fmt::Write as _;

/// Okabe-Ito colours (distinguishable with colour-vision deficiencies).
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line with markers (measurements).
    Measured,
    /// A dashed line without markers (theory).
    Theory,
    /// A dotted line without markers (an alternative theory or approximation).
    Approximation,
    /// Markers only.
    Points,
}

/// One series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points; non-finite ones (and non-positive ones on log axes) are skipped.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
    /// Colour index into the palette (series with the same index share a colour).
    pub color: usize,
}

impl Series {
    /// A series.
    pub fn new(
        name: impl Into<String>,
        points: Vec<(f64, f64)>,
        style: Style,
        color: usize,
    ) -> Series {
        Series {
            name: name.into(),
            points,
            style,
            color,
        }
    }
}

/// A line chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Series.
    pub series: Vec<Series>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Force the y range to include 0 (linear axes).
    pub y_from_zero: bool,
}

const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const PLOT_W: f64 = 470.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;

/// Total width for a legend whose longest label has `chars` characters.
fn width_for(labels: impl Iterator<Item = usize>) -> f64 {
    let longest = labels.max().unwrap_or(0) as f64;
    LEFT + PLOT_W + 14.0 + 30.0 + 6.3 * longest + 12.0
}

impl Chart {
    /// An empty chart.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            log_x: false,
            log_y: false,
            y_from_zero: false,
        }
    }

    /// Adds a series.
    pub fn with(mut self, s: Series) -> Chart {
        self.series.push(s);
        self
    }

    fn visible(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|p| self.visible(*p))
            .collect();
        let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        let xa = Axis::new(&xs, self.log_x, false);
        let ya = Axis::new(&ys, self.log_y, self.y_from_zero);
        let pw = PLOT_W;
        let ph = H - TOP - BOTTOM;
        let px = |x: f64| LEFT + xa.frac(x) * pw;
        let py = |y: f64| TOP + (1.0 - ya.frac(y)) * ph;
        let w = width_for(self.series.iter().map(|s| s.name.chars().count()));
        let mut s = header(&self.title, w);
        // Grid and ticks.
        for t in &ya.ticks {
            let y = py(*t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                fmt_tick(*t)
            );
        }
        for t in &xa.ticks {
            let x = px(*t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eeeeee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"##,
                TOP + ph,
                TOP + ph + 16.0,
                fmt_tick(*t)
            );
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#555"/>"##
        );
        axis_labels(&mut s, &self.x_label, &self.y_label, pw, ph);
        // Series.
        for (k, ser) in self.series.iter().enumerate() {
            let color = PALETTE[ser.color % PALETTE.len()];
            let p: Vec<(f64, f64)> = ser
                .points
                .iter()
                .copied()
                .filter(|p| self.visible(*p))
                .map(|(x, y)| (px(x), py(y)))
                .collect();
            if ser.style != Style::Points && p.len() > 1 {
                let d: Vec<String> = p.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let dash = dash_of(ser.style);
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                    d.join(" ")
                );
            }
            if matches!(ser.style, Style::Measured | Style::Points) {
                for (x, y) in &p {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.2" fill="{color}"/>"#
                    );
                }
            }
            // Legend entry.
            let ly = TOP + 10.0 + 18.0 * k as f64;
            let lx = LEFT + pw + 14.0;
            let dash = dash_of(ser.style);
            if ser.style == Style::Points {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{ly:.1}" r="3.2" fill="{color}"/>"#,
                    lx + 12.0
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/>"#,
                    lx + 24.0
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                lx + 30.0,
                ly + 4.0,
                html_escape(&ser.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

/// A grouped bar chart: one group of bars per category, one bar per series.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Category labels (x axis).
    pub categories: Vec<String>,
    /// Series: name and one value per category.
    pub series: Vec<(String, Vec<f64>)>,
}

impl BarChart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|y| y.is_finite())
            .collect();
        let ya = Axis::new(&ys, false, true);
        let pw = PLOT_W;
        let ph = H - TOP - BOTTOM;
        let py = |y: f64| TOP + (1.0 - ya.frac(y)) * ph;
        let w = width_for(self.series.iter().map(|(n, _)| n.chars().count()));
        let mut s = header(&self.title, w);
        for t in &ya.ticks {
            let y = py(*t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                fmt_tick(*t)
            );
        }
        let groups = self.categories.len().max(1) as f64;
        let gw = pw / groups;
        let bars = self.series.len().max(1) as f64;
        let bw = gw * 0.8 / bars;
        for (c, label) in self.categories.iter().enumerate() {
            let gx = LEFT + gw * c as f64;
            for (k, (_, vals)) in self.series.iter().enumerate() {
                let Some(v) = vals.get(c).copied().filter(|v| v.is_finite()) else {
                    continue;
                };
                let x = gx + gw * 0.1 + bw * k as f64;
                let y = py(v);
                let base = py(ya.lo.max(0.0).min(ya.hi));
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                    y.min(base),
                    (bw - 1.0).max(1.0),
                    (base - y).abs(),
                    PALETTE[k % PALETTE.len()],
                    html_escape(&self.series[k].0),
                    fmt_tick(v)
                );
            }
            // Long labels are broken at hyphens, one part per line.
            let parts: Vec<&str> = label.split('-').collect();
            for (i, part) in parts.iter().enumerate() {
                let dash = if i + 1 < parts.len() { "-" } else { "" };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}{dash}</text>"#,
                    gx + gw / 2.0,
                    TOP + ph + 14.0 + 11.0 * i as f64,
                    html_escape(part)
                );
            }
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#555"/>"##
        );
        axis_labels(&mut s, "", &self.y_label, pw, ph);
        for (k, (name, _)) in self.series.iter().enumerate() {
            let ly = TOP + 10.0 + 18.0 * k as f64;
            let lx = LEFT + pw + 14.0;
            let _ = writeln!(
                s,
                r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                ly - 5.0,
                PALETTE[k % PALETTE.len()],
                lx + 20.0,
                ly + 4.0,
                html_escape(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn dash_of(style: Style) -> &'static str {
    match style {
        Style::Theory => r#" stroke-dasharray="6 4""#,
        Style::Approximation => r#" stroke-dasharray="1.5 3""#,
        Style::Measured | Style::Points => "",
    }
}

fn header(title: &str, w: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {H}" width="{w:.0}" height="{H}" font-family="Helvetica, Arial, sans-serif" role="img">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, html_escape(title));
    let _ = writeln!(s, r##"<rect width="{w:.0}" height="{H}" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        html_escape(title)
    );
    s
}

fn axis_labels(s: &mut String, x_label: &str, y_label: &str, pw: f64, ph: f64) {
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
        LEFT + pw / 2.0,
        TOP + ph + 40.0,
        html_escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" text-anchor="middle" font-size="12" transform="rotate(-90 16 {:.1})">{}</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        html_escape(y_label)
    );
}

/// An axis: range and ticks.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(values: &[f64], log: bool, from_zero: bool) -> Axis {
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        if !lo.is_finite() || !hi.is_finite() {
            (lo, hi) = if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let lo = 10f64.powf(lo.log10().floor());
            let mut hi = 10f64.powf(hi.log10().ceil());
            if hi <= lo {
                hi = lo * 10.0;
            }
            let mut ticks = Vec::new();
            let mut t = lo;
            while t <= hi * 1.0001 {
                ticks.push(t);
                t *= 10.0;
            }
            return Axis { lo, hi, log, ticks };
        }
        if from_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if hi - lo < 1e-12 {
            hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        }
        let raw = (hi - lo) / 6.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut k = 0.0;
        while lo + k * step <= hi + step * 1e-9 {
            ticks.push(lo + k * step);
            k += 1.0;
        }
        Axis {
            lo,
            hi,
            log: false,
            ticks,
        }
    }

    fn frac(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_self_contained_svg() {
        let c = Chart::new("t <1>", "x", "y")
            .with(Series::new(
                "a",
                vec![(0.1, 1.0), (0.2, 2.0), (0.3, f64::NAN)],
                Style::Measured,
                0,
            ))
            .with(Series::new(
                "b",
                vec![(0.1, 1.5), (0.3, 2.5)],
                Style::Theory,
                1,
            ));
        let s = c.to_svg();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("t &lt;1&gt;"));
        assert!(!s.contains("<script") && !s.contains("href"));
        assert_eq!(s.matches("<polyline").count(), 2);
        let mut log = c.clone();
        log.log_y = true;
        assert!(log.to_svg().contains(">1<"));
        let b = BarChart {
            title: "bars".into(),
            y_label: "epochs".into(),
            categories: vec!["a".into(), "b".into()],
            series: vec![("s".into(), vec![1.0, 2.0])],
        };
        assert_eq!(b.to_svg().matches("<rect").count(), 2 + 2 + 1);
        assert_eq!(fmt_tick(0.25), "0.25");
        assert_eq!(fmt_tick(2.0), "2");
    }
}
