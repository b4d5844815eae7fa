//! JSON generators and structural JSON mutations for the fuzz tests of JSON decoders
//! (key files, wallet transactions, RPC parameters); included by `#[path]`.

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;

/// Arbitrary JSON values (nested up to 3 levels), with strings and numbers that look
/// like the API's: hex, decimal strings, selectors, big and negative numbers.
pub fn json_value() -> impl Strategy<Value = serde_json::Value> + Clone {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|v| json!(v)),
        any::<u64>().prop_map(|v| json!(v)),
        prop_oneof![
            Just(0.5f64),
            Just(-1.0),
            Just(1e300),
            Just(-0.0),
            Just(1.5e19),
            any::<f64>().prop_filter("finite", |f| f.is_finite())
        ]
        .prop_map(|v| json!(v)),
        "[0-9a-f]{0,70}".prop_map(Value::String),
        "-?[0-9]{0,30}(\\.[0-9]{0,30})?".prop_map(Value::String),
        prop_oneof![
            Just("latest"),
            Just("final"),
            Just("finalized"),
            Just("BTC/USD"),
            Just("ETH/BTC"),
            Just("limit"),
            Just("market"),
            Just("buy"),
            Just("sell"),
            Just("GTC"),
            Just("IOC"),
            Just("FOK"),
            Just("ALO"),
            Just("1m"),
            Just("1h"),
            Just("1d"),
            Just("open"),
            Just("final"),
            Just("included"),
            Just(""),
            Just("0x"),
            Just("\u{0}"),
            Just("é🦀")
        ]
        .prop_map(|s| Value::String(s.to_string())),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One structural edit of a JSON document.
#[derive(Clone, Debug)]
pub enum JsonMutation {
    /// Replace the node at a path with an arbitrary value.
    Replace(Index, serde_json::Value),
    /// Remove the node (an object key or an array element).
    Remove(Index),
    /// Add a key with an arbitrary value to an object node.
    AddKey(Index, String, serde_json::Value),
    /// Edit a string node: cut, extend or change a character.
    EditString(Index, Index, char, u8),
    /// Turn a number into a string or a string into a number.
    SwapKind(Index),
    /// Wrap the node in an array.
    Wrap(Index),
}

/// A strategy for one [`JsonMutation`].
pub fn json_mutation() -> impl Strategy<Value = JsonMutation> + Clone {
    prop_oneof![
        3 => (any::<Index>(), json_value()).prop_map(|(i, v)| JsonMutation::Replace(i, v)),
        2 => any::<Index>().prop_map(JsonMutation::Remove),
        1 => (any::<Index>(), "[a-z_]{1,12}", json_value()).prop_map(|(i, k, v)| JsonMutation::AddKey(i, k, v)),
        3 => (any::<Index>(), any::<Index>(), prop_oneof![Just('0'), Just('f'), Just('g'), Just('.'), Just('-'), any::<char>()], 0u8..3)
            .prop_map(|(i, j, c, op)| JsonMutation::EditString(i, j, c, op)),
        1 => any::<Index>().prop_map(JsonMutation::SwapKind),
        1 => any::<Index>().prop_map(JsonMutation::Wrap),
    ]
}

type Path = Vec<PathStep>;

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    At(usize),
}

fn paths(v: &serde_json::Value, here: &mut Path, out: &mut Vec<Path>) {
    out.push(here.clone());
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                here.push(PathStep::Key(k.clone()));
                paths(c, here, out);
                here.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                here.push(PathStep::At(i));
                paths(c, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(
    v: &'a mut serde_json::Value,
    path: &[PathStep],
) -> Option<&'a mut serde_json::Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::At(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Applies one structural edit to `doc`.
pub fn apply_json(doc: &mut serde_json::Value, m: &JsonMutation) {
    use serde_json::Value;
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match m {
        JsonMutation::Replace(i, v) => {
            if let Some(n) = node_mut(doc, &pick(i)) {
                *n = v.clone();
            }
        }
        JsonMutation::Remove(i) => {
            let p = pick(i);
            if let Some((last, parent)) = p.split_last() {
                match (node_mut(doc, parent), last) {
                    (Some(Value::Object(m)), PathStep::Key(k)) => {
                        m.remove(k);
                    }
                    (Some(Value::Array(a)), PathStep::At(i)) if *i < a.len() => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        JsonMutation::AddKey(i, k, v) => {
            if let Some(Value::Object(m)) = node_mut(doc, &pick(i)) {
                m.insert(k.clone(), v.clone());
            }
        }
        JsonMutation::EditString(i, j, c, op) => {
            if let Some(Value::String(s)) = node_mut(doc, &pick(i)) {
                let mut chars: Vec<char> = s.chars().collect();
                let at = j.index(chars.len() + 1);
                match op {
                    0 => chars.truncate(at),
                    1 => chars.insert(at, *c),
                    _ if at < chars.len() => chars[at] = *c,
                    _ => chars.push(*c),
                }
                *s = chars.into_iter().collect();
            }
        }
        JsonMutation::SwapKind(i) => {
            if let Some(n) = node_mut(doc, &pick(i)) {
                *n = match n.take() {
                    Value::Number(x) => Value::String(x.to_string()),
                    Value::String(s) => s
                        .parse::<serde_json::Number>()
                        .map(Value::Number)
                        .unwrap_or(Value::String(s)),
                    other => other,
                };
            }
        }
        JsonMutation::Wrap(i) => {
            if let Some(n) = node_mut(doc, &pick(i)) {
                *n = Value::Array(vec![n.take()]);
            }
        }
    }
}

/// A valid JSON document from `valid`, edited by 1 to 3 structural mutations.
pub fn mutated_json<S>(valid: S) -> impl Strategy<Value = serde_json::Value>
where
    S: Strategy<Value = serde_json::Value>,
{
    (valid, proptest::collection::vec(json_mutation(), 1..=3)).prop_map(|(mut doc, ops)| {
        for m in &ops {
            apply_json(&mut doc, m);
        }
        doc
    })
}
