//! Values of the evaluator: JSON's, plus the two Terraform leaves a static scan meets, a value
//! not known until apply and a reference to another object's attribute.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

/// The most characters of an expression quoted in an unknown value.
const MAX_REASON_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Val>),
    Map(BTreeMap<String, Val>),
    /// Not known statically; the text says which expression, or why.
    Unknown(String),
    /// `aws_s3_bucket.logs.arn`: an attribute of another object, known after apply.
    Ref(String),
}

impl Val {
    pub fn unknown(reason: &str) -> Val {
        if reason.chars().count() <= MAX_REASON_CHARS {
            return Val::Unknown(reason.to_owned());
        }
        let mut cut: String = reason.chars().take(MAX_REASON_CHARS).collect();
        cut.push('…');
        Val::Unknown(cut)
    }

    /// True for a value not fully known here (an unknown or a reference).
    pub fn is_pending(&self) -> bool {
        matches!(self, Val::Unknown(_) | Val::Ref(_))
    }

    /// True when neither the value nor anything inside it is unknown or a reference.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Val::Unknown(_) | Val::Ref(_) => false,
            Val::List(items) => items.iter().all(Val::is_wholly_known),
            Val::Map(map) => map.values().all(Val::is_wholly_known),
            _ => true,
        }
    }

    /// How much a value weighs against the node budget: one per value, plus one per 64 bytes
    /// of string.
    pub fn weight(&self) -> usize {
        match self {
            Val::String(s) | Val::Unknown(s) | Val::Ref(s) => 1 + s.len() / 64,
            Val::List(items) => items
                .iter()
                .fold(1usize, |w, v| w.saturating_add(v.weight())),
            Val::Map(map) => map.iter().fold(1usize, |w, (k, v)| {
                w.saturating_add(v.weight()).saturating_add(k.len() / 64)
            }),
            _ => 1,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "bool",
            Val::Number(_) => "number",
            Val::String(_) => "string",
            Val::List(_) => "list",
            Val::Map(_) => "object",
            Val::Unknown(_) | Val::Ref(_) => "unknown",
        }
    }

    /// The value as a string the way Terraform converts primitives; `None` for others.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Val::String(s) => Some(s.clone()),
            Val::Number(n) => Some(number_text(*n)),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The value as a number, converting numeric strings as Terraform does.
    pub fn to_number(&self) -> Option<f64> {
        match self {
            Val::Number(n) => Some(*n),
            Val::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        }
    }

    /// The value as a bool, converting `"true"`/`"false"` as Terraform does.
    pub fn to_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::String(s) if s == "true" => Some(true),
            Val::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Val::Null => Json::Null,
            Val::Bool(b) => Json::Bool(*b),
            Val::Number(n) => number_json(*n),
            Val::String(s) => Json::String(s.clone()),
            Val::List(items) => Json::Array(items.iter().map(Val::to_json).collect()),
            Val::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<Map<String, Json>>(),
            ),
            Val::Unknown(reason) => marker("$unknown", reason),
            Val::Ref(target) => marker("$ref", target),
        }
    }

    /// Converts a JSON value read from a `.tfvars.json` file.
    pub fn from_json(json: &Json) -> Val {
        match json {
            Json::Null => Val::Null,
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => Val::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Val::String(s.clone()),
            Json::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            Json::Object(map) => Val::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            ),
        }
    }
}

fn marker(key: &str, text: &str) -> Json {
    let mut map = Map::new();
    map.insert(key.to_owned(), Json::String(text.to_owned()));
    Json::Object(map)
}

/// A number as JSON: integral values as integers, as Terraform prints them.
pub fn number_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// A number as Terraform writes it into a string.
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        let mut text = String::new();
        write!(text, "{n}").expect("writing to a String cannot fail");
        text
    }
}

/// The key of a resource instance in its address: `[0]` or `["a"]`.
pub fn instance_key(key: &Val) -> String {
    match key {
        Val::Number(n) => format!("[{}]", number_text(*n)),
        Val::String(s) => format!("[{}]", Json::String(s.clone())),
        _ => String::new(),
    }
}
