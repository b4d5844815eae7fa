//! Small inline SVG charts (line and dot series on shared axes, horizontal bars) for the
//! self-contained dashboard: no scripts, no fonts or files fetched.

use std::fmt::Write;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A polyline.
    Line,
    /// A step line (holds each value until the next).
    Step,
    /// Filled dots.
    Dots,
    /// Hollow dots.
    Rings,
    /// A dashed horizontal reference line at the first point's y.
    Reference,
}

/// One series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
}

/// A chart on x/y axes.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// Width in pixels.
    pub width: f64,
    /// Height in pixels.
    pub height: f64,
}

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A compact number for axis labels.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.5}")
    }
}

impl Chart {
    /// A chart with the default size.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            width: 880.0,
            height: 260.0,
        }
    }

    /// Adds a series.
    pub fn series(
        mut self,
        name: &str,
        color: &str,
        style: Style,
        points: Vec<(f64, f64)>,
    ) -> Chart {
        self.series.push(Series {
            name: name.into(),
            color: color.into(),
            points,
            style,
        });
        self
    }

    /// The SVG element.
    pub fn render(&self) -> String {
        let (w, h) = (self.width, self.height);
        // The title on the first line, the legend on the second, the plot below.
        let (l, r, t, b) = (70.0, 20.0, 44.0, 44.0);
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/><text x="{l}" y="18" font-size="14" font-weight="bold" fill="#222">{}</text>"##,
            esc(&self.title),
            esc(&self.title)
        );
        if x0 > x1 {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" font-size="13" fill="#888">no data</text></svg>"##,
                w / 2.0 - 30.0,
                h / 2.0
            );
            return out;
        }
        if (x1 - x0).abs() < 1e-12 {
            x0 -= 1.0;
            x1 += 1.0;
        }
        if (y1 - y0).abs() < 1e-12 {
            let pad = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.01 };
            y0 -= pad;
            y1 += pad;
        } else {
            let pad = (y1 - y0) * 0.05;
            y0 -= pad;
            y1 += pad;
        }
        let px = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
        let py = |y: f64| t + (1.0 - (y - y0) / (y1 - y0)) * (h - t - b);
        // Axes and grid.
        for i in 0..=4 {
            let fy = y0 + (y1 - y0) * i as f64 / 4.0;
            let yy = py(fy);
            let _ = write!(
                out,
                r##"<line x1="{l}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                w - r,
                l - 6.0,
                yy + 4.0,
                fmt_num(fy)
            );
            let fx = x0 + (x1 - x0) * i as f64 / 4.0;
            let xx = px(fx);
            let _ = write!(
                out,
                r##"<line x1="{xx:.1}" y1="{t}" x2="{xx:.1}" y2="{:.1}" stroke="#f3f3f3"/><text x="{xx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                h - b,
                h - b + 15.0,
                fmt_num(fx)
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{l}" y="{t}" width="{:.1}" height="{:.1}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#333">{}</text><text x="14" y="{:.1}" font-size="11" fill="#333" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"##,
            w - l - r,
            h - t - b,
            l + (w - l - r) / 2.0,
            h - 8.0,
            esc(&self.x_label),
            t + (h - t - b) / 2.0,
            t + (h - t - b) / 2.0,
            esc(&self.y_label)
        );
        // Series.
        for s in &self.series {
            let c = esc(&s.color);
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            match s.style {
                Style::Line | Style::Step => {
                    if pts.is_empty() {
                        continue;
                    }
                    let mut d = String::new();
                    let mut prev: Option<(f64, f64)> = None;
                    for &(x, y) in &pts {
                        match (s.style, prev) {
                            (Style::Step, Some((_, py0))) => {
                                let _ = write!(
                                    d,
                                    " L{:.1},{:.1} L{:.1},{:.1}",
                                    px(x),
                                    py(py0),
                                    px(x),
                                    py(y)
                                );
                            }
                            (_, None) => {
                                let _ = write!(d, "M{:.1},{:.1}", px(x), py(y));
                            }
                            _ => {
                                let _ = write!(d, " L{:.1},{:.1}", px(x), py(y));
                            }
                        }
                        prev = Some((x, y));
                    }
                    let _ = write!(
                        out,
                        r##"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.6"/>"##
                    );
                }
                Style::Dots | Style::Rings => {
                    for &(x, y) in &pts {
                        let fill = if s.style == Style::Dots {
                            c.as_str()
                        } else {
                            "none"
                        };
                        let _ = write!(
                            out,
                            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{fill}" stroke="{c}" stroke-width="1.4"/>"##,
                            px(x),
                            py(y)
                        );
                    }
                }
                Style::Reference => {
                    if let Some(&(_, y)) = pts.first() {
                        if y >= y0 && y <= y1 {
                            let _ = write!(
                                out,
                                r##"<line x1="{l}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-dasharray="5,4"/>"##,
                                py(y),
                                w - r,
                                py(y)
                            );
                        }
                    }
                }
            }
        }
        // Legend.
        let mut lx = l;
        for s in &self.series {
            let _ = write!(
                out,
                r##"<rect x="{lx:.1}" y="25" width="10" height="10" fill="{}"/><text x="{:.1}" y="34" font-size="11" fill="#333">{}</text>"##,
                esc(&s.color),
                lx + 14.0,
                esc(&s.name)
            );
            lx += 24.0 + 6.5 * s.name.len() as f64;
        }
        out.push_str("</svg>");
        out
    }
}

/// Horizontal bars: one per (label, value, colour), scaled to the largest value.
pub fn bars(title: &str, rows: &[(String, f64, String)], width: f64) -> String {
    let row_h = 16.0;
    let h = 30.0 + row_h * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-12);
    let (label_w, val_w) = (110.0, 80.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img"><title>{}</title><rect x="0" y="0" width="{width}" height="{h}" fill="#fff"/><text x="6" y="18" font-size="13" font-weight="bold" fill="#222">{}</text>"##,
        esc(title),
        esc(title)
    );
    for (i, (label, v, color)) in rows.iter().enumerate() {
        let y = 28.0 + row_h * i as f64;
        let bw = (v / max) * (width - label_w - val_w - 12.0);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#333">{}</text><rect x="{label_w}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            label_w - 6.0,
            y + 11.0,
            esc(label),
            row_h - 3.0,
            esc(color),
            label_w + bw + 4.0,
            y + 11.0,
            fmt_num(*v)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_self_contained_svg() {
        let c = Chart::new("p <&> q", "s", "USD")
            .series("a", "#1f77b4", Style::Line, vec![(0.0, 1.0), (1.0, 2.0)])
            .series("b", "#d62728", Style::Step, vec![(0.0, 1.5), (1.0, 1.0)])
            .series("t", "#000", Style::Dots, vec![(0.5, 1.2)])
            .series("min", "#999", Style::Reference, vec![(0.0, 1.4)])
            .render();
        assert!(c.starts_with("<svg") && c.ends_with("</svg>"));
        assert!(c.contains("p &lt;&amp;&gt; q"));
        assert!(c.contains("<path") && c.contains("<circle") && c.contains("stroke-dasharray"));
        assert!(!c.contains("<script") && !c.contains("href"));
        let empty = Chart::new("e", "x", "y").render();
        assert!(empty.contains("no data"));
        let b = bars("depth", &[("100".into(), 2.0, "green".into())], 400.0);
        assert!(b.contains("<rect") && b.ends_with("</svg>"));
    }
}
