//! Output helpers: JSON documents and comfy-table tables.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use ledger_types::Decimal;
use serde::Serialize;

/// Prints one JSON document (pretty) on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode the output as JSON: {e}"),
    }
}

/// Prints one JSON document on one line (for streams).
pub fn print_json_line<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot encode the output as JSON: {e}"),
    }
}

/// A table with a header row.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.into_iter().map(|h| Cell::new(h.into())));
    t
}

/// Labelled values, one per line (`label:  value`), labels aligned. An empty label
/// continues the previous entry.
pub fn details(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (i, (k, v)) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let label = if k.is_empty() {
            String::new()
        } else {
            format!("{k}:")
        };
        out.push_str(&format!("{label:<width$}  {v}"));
    }
    out
}

/// Right-aligns the given columns (numbers).
pub fn align_right(t: &mut Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A decimal without trailing zeros.
pub fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// An optional value, or `-`.
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// `abcdef012345…` (the first 12 hex digits) for dense listings.
pub fn short(h: &impl ToString) -> String {
    let s = h.to_string();
    if s.len() > 16 {
        format!("{}…", &s[..12])
    } else {
        s
    }
}
