//! Tables of results: built from any `Serialize` row type (columns in field order),
//! written as CSV, JSON or HTML.

use crate::error::Result;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt::Write as _;

/// A table: named columns and rows of JSON values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Value>>,
}

/// A JSON object with its keys in document order.
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Table {
    /// A table whose columns are the fields of `T` (in declaration order) and whose
    /// rows are `rows`.
    pub fn from_rows<T: Serialize>(rows: &[T]) -> Result<Table> {
        let mut t = Table::default();
        for r in rows {
            let Ordered(fields) = serde_json::from_str(&serde_json::to_string(r)?)?;
            if t.columns.is_empty() {
                t.columns = fields.iter().map(|(k, _)| k.clone()).collect();
            }
            t.rows.push(fields.into_iter().map(|(_, v)| v).collect());
        }
        Ok(t)
    }

    /// Keeps only the named columns, in the given order.
    pub fn select(&self, columns: &[&str]) -> Table {
        let idx: Vec<usize> = columns
            .iter()
            .filter_map(|c| self.columns.iter().position(|x| x == c))
            .collect();
        Table {
            columns: idx.iter().map(|i| self.columns[*i].clone()).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| idx.iter().map(|i| r[*i].clone()).collect())
                .collect(),
        }
    }

    /// The values of one column as numbers (NaN where not a number).
    pub fn column_f64(&self, name: &str) -> Vec<f64> {
        let Some(i) = self.columns.iter().position(|c| c == name) else {
            return Vec::new();
        };
        self.rows
            .iter()
            .map(|r| r[i].as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    /// CSV (RFC 4180 quoting), header first.
    pub fn to_csv(&self) -> String {
        let mut s = String::new();
        let line = |cells: Vec<String>| cells.join(",") + "\n";
        s.push_str(&line(self.columns.iter().map(|c| csv_field(c)).collect()));
        for r in &self.rows {
            s.push_str(&line(r.iter().map(|v| csv_field(&plain(v))).collect()));
        }
        s
    }

    /// A JSON array of objects, keys in column order.
    pub fn to_json(&self) -> String {
        let mut s = String::from("[\n");
        for (k, r) in self.rows.iter().enumerate() {
            s.push_str("  {");
            for (i, (c, v)) in self.columns.iter().zip(r).enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{}: {}", Value::String(c.clone()), v);
            }
            s.push('}');
            if k + 1 < self.rows.len() {
                s.push(',');
            }
            s.push('\n');
        }
        s.push(']');
        s.push('\n');
        s
    }

    /// An HTML table (numbers formatted for reading).
    pub fn to_html(&self) -> String {
        let mut s = String::from("<table>\n<thead><tr>");
        for c in &self.columns {
            let _ = write!(s, "<th>{}</th>", html_escape(&c.replace('_', " ")));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        for r in &self.rows {
            s.push_str("<tr>");
            for v in r {
                let class = if v.is_number() { " class=\"num\"" } else { "" };
                let text = match v {
                    Value::Bool(true) => "✓ yes".to_string(),
                    Value::Bool(false) => "✗ no".to_string(),
                    _ => pretty(v),
                };
                let _ = write!(s, "<td{class}>{}</td>", html_escape(&text));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody>\n</table>\n");
        s
    }
}

/// A value as plain text (strings unquoted, nested values as JSON).
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value formatted for people: floats with four decimals, `n/a` for null.
pub fn pretty(v: &Value) -> String {
    match v {
        Value::Null => "n/a".to_string(),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
                format!("{x:.3e}")
            } else if x.abs() >= 100.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.4}")
            }
        }
        other => plain(other),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        zeta: u64,
        alpha: f64,
        name: String,
        ok: bool,
        out: Option<u64>,
    }

    #[test]
    fn columns_keep_field_order_and_formats_round_trip() {
        let rows = vec![
            Row {
                zeta: 1,
                alpha: 0.5,
                name: "a,b".into(),
                ok: true,
                out: None,
            },
            Row {
                zeta: 2,
                alpha: 0.25,
                name: "c".into(),
                ok: false,
                out: Some(3),
            },
        ];
        let t = Table::from_rows(&rows).unwrap();
        assert_eq!(t.columns, vec!["zeta", "alpha", "name", "ok", "out"]);
        assert_eq!(
            t.to_csv(),
            "zeta,alpha,name,ok,out\n1,0.5,\"a,b\",true,\n2,0.25,c,false,3\n"
        );
        let back: Vec<serde_json::Value> = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(back[1]["out"], 3);
        assert!(t.to_json().find("zeta").unwrap() < t.to_json().find("alpha").unwrap());
        assert!(t.to_html().contains("<td class=\"num\">0.2500</td>"));
        assert_eq!(t.select(&["name", "zeta"]).columns, vec!["name", "zeta"]);
        assert_eq!(t.column_f64("alpha"), vec![0.5, 0.25]);
    }
}
