//! Terraform's built-in functions that need nothing but their arguments.
//!
//! A function that cannot decide its result statically (an argument is unknown or a
//! reference, or the function depends on the deployment or on regular expressions) gives
//! [`Outcome::Unknown`]; one this evaluator does not implement gives [`Outcome::Unsupported`].
//! Either becomes an unknown value quoting the call, never a guess.

use std::collections::{BTreeMap, HashSet};

use super::value::{Val, number_text};

/// The widest padding `format` and `indent` produce.
const MAX_FORMAT_WIDTH: usize = 1024;

pub enum Outcome {
    Value(Val),
    Unknown,
    Unsupported,
    Error(String),
}

use Outcome::{Error, Unknown, Unsupported, Value};

fn err<T: Into<String>>(message: T) -> Outcome {
    Error(message.into())
}

/// Calls the pure function `name` on evaluated `args`; `budget` is how many values the
/// result may still hold.
pub fn call(name: &str, args: Vec<Val>, budget: usize) -> Outcome {
    // Conversions and markers that keep a pending value as it is.
    if matches!(
        name,
        "tostring" | "tonumber" | "tobool" | "tolist" | "tomap" | "sensitive" | "nonsensitive"
    ) && let [arg] = args.as_slice()
        && arg.is_pending()
    {
        return Value(arg.clone());
    }
    match name {
        "coalesce" => return coalesce(args),
        "coalescelist" => return coalescelist(args),
        "length" => return length(args),
        "concat" => return concat(args),
        "merge" => return merge(args),
        "lookup" => return lookup(args),
        "element" => return element(args),
        "keys" | "values" => return keys_values(name, args),
        "contains" => return contains(args),
        "one" => return one(args),
        "slice" => return slice(args),
        "reverse" => return reverse(args),
        "flatten" => return flatten(args),
        "zipmap" => return zipmap(args),
        "tolist" => return tolist(args),
        "tomap" => return tomap(args),
        _ => {}
    }
    // Everything else needs every argument fully known.
    if args.iter().any(|arg| !arg.is_wholly_known()) {
        return if is_supported(name) {
            Unknown
        } else {
            Unsupported
        };
    }
    match name {
        "lower" => string1(args, |s| s.to_lowercase()),
        "upper" => string1(args, |s| s.to_uppercase()),
        "title" => string1(args, |s| title(&s)),
        "trimspace" => string1(args, |s| s.trim().to_owned()),
        "chomp" => string1(args, |s| s.trim_end_matches(['\n', '\r']).to_owned()),
        "strrev" => string1(args, |s| s.chars().rev().collect()),
        "trim" => string2(args, |s, cut| {
            s.trim_matches(|c| cut.contains(c)).to_owned()
        }),
        "trimprefix" => string2(args, |s, p| {
            s.strip_prefix(p.as_str()).unwrap_or(&s).to_owned()
        }),
        "trimsuffix" => string2(args, |s, p| {
            s.strip_suffix(p.as_str()).unwrap_or(&s).to_owned()
        }),
        "startswith" => bool2(args, |s, p| s.starts_with(p.as_str())),
        "endswith" => bool2(args, |s, p| s.ends_with(p.as_str())),
        "strcontains" => bool2(args, |s, p| s.contains(p.as_str())),
        "join" => join(args),
        "split" => split(args),
        "replace" => replace(args),
        "substr" => substr(args),
        "format" => match args.split_first() {
            Some((Val::String(spec), rest)) => match format(spec, rest) {
                Ok(text) => Value(Val::String(text)),
                Err(e) => err(e),
            },
            _ => err("format needs a format string"),
        },
        "formatlist" => formatlist(args, budget),
        "indent" => indent(args),
        "tostring" => match args.as_slice() {
            [Val::Null] => Value(Val::Null),
            [arg] => arg.to_text().map_or_else(
                || err("cannot convert to string"),
                |s| Value(Val::String(s)),
            ),
            _ => err("tostring takes one argument"),
        },
        "tonumber" => match args.as_slice() {
            [Val::Null] => Value(Val::Null),
            [arg] => arg.to_number().map_or_else(
                || err("cannot convert to number"),
                |n| Value(Val::Number(n)),
            ),
            _ => err("tonumber takes one argument"),
        },
        "tobool" => match args.as_slice() {
            [Val::Null] => Value(Val::Null),
            [arg] => arg
                .to_bool()
                .map_or_else(|| err("cannot convert to bool"), |b| Value(Val::Bool(b))),
            _ => err("tobool takes one argument"),
        },
        "toset" => match args.as_slice() {
            [Val::List(items)] => Value(Val::List(set_of(items.clone()))),
            [Val::Null] => Value(Val::Null),
            _ => err("toset needs a list"),
        },
        "distinct" => match <[Val; 1]>::try_from(args) {
            Ok([Val::List(items)]) => Value(Val::List(distinct(items))),
            _ => err("distinct needs a list"),
        },
        "compact" => match args.as_slice() {
            [Val::List(items)] => Value(Val::List(
                items
                    .iter()
                    .filter(|item| {
                        !matches!(item, Val::Null) && **item != Val::String(String::new())
                    })
                    .cloned()
                    .collect(),
            )),
            _ => err("compact needs a list"),
        },
        "sort" => match args.as_slice() {
            [Val::List(items)] => {
                let mut texts: Vec<String> = Vec::new();
                for item in items {
                    match item.to_text() {
                        Some(text) => texts.push(text),
                        None => return err("sort needs a list of strings"),
                    }
                }
                texts.sort();
                Value(Val::List(texts.into_iter().map(Val::String).collect()))
            }
            _ => err("sort needs a list"),
        },
        "setunion" => {
            let mut all = Vec::new();
            for arg in args {
                match arg {
                    Val::List(items) => all.extend(items),
                    _ => return err("setunion needs sets"),
                }
            }
            Value(Val::List(set_of(all)))
        }
        "setintersection" | "setsubtract" => {
            let mut lists = Vec::new();
            for arg in args {
                match arg {
                    Val::List(items) => lists.push(items),
                    _ => return err(format!("{name} needs sets")),
                }
            }
            let Some((first, rest)) = lists.split_first() else {
                return err(format!("{name} needs sets"));
            };
            let others: Vec<HashSet<String>> = rest
                .iter()
                .map(|other| other.iter().map(identity).collect())
                .collect();
            let kept = first
                .iter()
                .filter(|item| {
                    let key = identity(item);
                    if name == "setsubtract" {
                        !others.iter().any(|other| other.contains(&key))
                    } else {
                        others.iter().all(|other| other.contains(&key))
                    }
                })
                .cloned()
                .collect();
            Value(Val::List(set_of(kept)))
        }
        "range" => range(args, budget),
        "sum" => numbers(args).map_or_else(err, |ns| {
            if ns.is_empty() {
                err("sum of an empty list")
            } else {
                Value(Val::Number(ns.iter().sum()))
            }
        }),
        "max" | "min" => {
            let ns = match args.as_slice() {
                [Val::List(items)] => numbers(vec![Val::List(items.clone())]),
                _ => numbers(vec![Val::List(args)]),
            };
            match ns {
                Ok(ns) if !ns.is_empty() => {
                    let fold = if name == "max" { f64::max } else { f64::min };
                    let first = ns.first().copied().unwrap_or(0.0);
                    Value(Val::Number(ns.into_iter().fold(first, fold)))
                }
                Ok(_) => err(format!("{name} needs at least one number")),
                Err(e) => err(e),
            }
        }
        "abs" => number1(args, f64::abs),
        "ceil" => number1(args, f64::ceil),
        "floor" => number1(args, f64::floor),
        "signum" => number1(args, f64::signum),
        "pow" => match args.as_slice() {
            [a, b] => match (a.to_number(), b.to_number()) {
                (Some(a), Some(b)) if a.powf(b).is_finite() => Value(Val::Number(a.powf(b))),
                _ => err("pow needs two numbers"),
            },
            _ => err("pow takes two arguments"),
        },
        "parseint" => match args.as_slice() {
            [Val::String(s), base] => match base.to_number() {
                // Terraform takes bases up to 62; the standard library stops at 36.
                Some(b) if (2.0..=36.0).contains(&b) => i64::from_str_radix(s, b as u32)
                    .map_or_else(
                        |_| err("not a number in that base"),
                        |n| Value(Val::Number(n as f64)),
                    ),
                Some(b) if (37.0..=62.0).contains(&b) => Unknown,
                _ => err("parseint needs a base from 2 to 62"),
            },
            _ => err("parseint needs a string and a base"),
        },
        "jsonencode" => match args.as_slice() {
            [arg] => Value(Val::String(arg.to_json().to_string())),
            _ => err("jsonencode takes one argument"),
        },
        "jsondecode" => match args.as_slice() {
            [Val::String(text)] => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(json) => {
                    let value = Val::from_json(&json);
                    if value.weight() > budget {
                        err("decoded JSON is too large")
                    } else {
                        Value(value)
                    }
                }
                Err(e) => err(format!("invalid JSON: {e}")),
            },
            _ => err("jsondecode needs a string"),
        },
        "base64encode" => string1(args, |s| base64(s.as_bytes())),
        "cidrsubnet" | "cidrhost" | "cidrnetmask" => cidr(name, &args),
        _ => Unsupported,
    }
}

/// True for functions implemented here or by the evaluator.
fn is_supported(name: &str) -> bool {
    matches!(
        name,
        "lower"
            | "upper"
            | "title"
            | "trimspace"
            | "chomp"
            | "strrev"
            | "trim"
            | "trimprefix"
            | "trimsuffix"
            | "startswith"
            | "endswith"
            | "strcontains"
            | "join"
            | "split"
            | "replace"
            | "substr"
            | "format"
            | "formatlist"
            | "indent"
            | "tostring"
            | "tonumber"
            | "tobool"
            | "toset"
            | "distinct"
            | "compact"
            | "sort"
            | "setunion"
            | "setintersection"
            | "setsubtract"
            | "range"
            | "sum"
            | "max"
            | "min"
            | "abs"
            | "ceil"
            | "floor"
            | "signum"
            | "pow"
            | "parseint"
            | "jsonencode"
            | "jsondecode"
            | "base64encode"
            | "cidrsubnet"
            | "cidrhost"
            | "cidrnetmask"
    )
}

fn string1(args: Vec<Val>, f: impl Fn(String) -> String) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::String(s)]) => Value(Val::String(f(s))),
        Ok([other]) => match other.to_text() {
            Some(s) => Value(Val::String(f(s))),
            None => err("expected a string"),
        },
        Err(_) => err("expected one argument"),
    }
}

fn string2(args: Vec<Val>, f: impl Fn(String, String) -> String) -> Outcome {
    match <[Val; 2]>::try_from(args) {
        Ok([a, b]) => match (a.to_text(), b.to_text()) {
            (Some(a), Some(b)) => Value(Val::String(f(a, b))),
            _ => err("expected two strings"),
        },
        Err(_) => err("expected two arguments"),
    }
}

fn bool2(args: Vec<Val>, f: impl Fn(String, String) -> bool) -> Outcome {
    match <[Val; 2]>::try_from(args) {
        Ok([a, b]) => match (a.to_text(), b.to_text()) {
            (Some(a), Some(b)) => Value(Val::Bool(f(a, b))),
            _ => err("expected two strings"),
        },
        Err(_) => err("expected two arguments"),
    }
}

fn number1(args: Vec<Val>, f: impl Fn(f64) -> f64) -> Outcome {
    match args.as_slice() {
        [arg] => arg
            .to_number()
            .map_or_else(|| err("expected a number"), |n| Value(Val::Number(f(n)))),
        _ => err("expected one argument"),
    }
}

fn numbers(args: Vec<Val>) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Val::List(items) => {
                for item in items {
                    out.push(item.to_number().ok_or("expected numbers")?);
                }
            }
            other => out.push(other.to_number().ok_or("expected numbers")?),
        }
    }
    Ok(out)
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// A set's elements: duplicates dropped, primitives in Terraform's order (strings
/// lexically, numbers by value).
fn set_of(items: Vec<Val>) -> Vec<Val> {
    let mut out = distinct(items);
    if out.iter().all(|v| matches!(v, Val::String(_))) {
        out.sort_by(|a, b| match (a, b) {
            (Val::String(a), Val::String(b)) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
    } else if out.iter().all(|v| matches!(v, Val::Number(_))) {
        out.sort_by(|a, b| match (a, b) {
            (Val::Number(a), Val::Number(b)) => a.total_cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
    }
    out
}

/// The value as a key for equality: its JSON text (numbers as Terraform compares them).
fn identity(value: &Val) -> String {
    value.to_json().to_string()
}

/// The first of each group of equal elements, in order, in linear time.
fn distinct(items: Vec<Val>) -> Vec<Val> {
    let mut seen = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|item| seen.insert(identity(item)))
        .collect()
}

fn coalesce(args: Vec<Val>) -> Outcome {
    for arg in args {
        match arg {
            Val::Null => {}
            Val::String(ref s) if s.is_empty() => {}
            arg if arg.is_pending() => return Unknown,
            arg => return Value(arg),
        }
    }
    err("coalesce: no non-null, non-empty argument")
}

fn coalescelist(args: Vec<Val>) -> Outcome {
    for arg in args {
        match arg {
            Val::List(items) if items.is_empty() => {}
            Val::List(items) => return Value(Val::List(items)),
            arg if arg.is_pending() => return Unknown,
            _ => return err("coalescelist needs lists"),
        }
    }
    err("coalescelist: every list is empty")
}

fn length(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [Val::List(items)] => Value(Val::Number(items.len() as f64)),
        [Val::Map(map)] => Value(Val::Number(map.len() as f64)),
        [Val::String(s)] => Value(Val::Number(s.chars().count() as f64)),
        [arg] if arg.is_pending() => Unknown,
        _ => err("length needs a collection or a string"),
    }
}

fn concat(args: Vec<Val>) -> Outcome {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Val::List(items) => out.extend(items),
            arg if arg.is_pending() => return Unknown,
            _ => return err("concat needs lists"),
        }
    }
    Value(Val::List(out))
}

fn merge(args: Vec<Val>) -> Outcome {
    let mut out = BTreeMap::new();
    for arg in args {
        match arg {
            Val::Null => {}
            Val::Map(map) => out.extend(map),
            arg if arg.is_pending() => return Unknown,
            _ => return err("merge needs maps or objects"),
        }
    }
    Value(Val::Map(out))
}

fn lookup(args: Vec<Val>) -> Outcome {
    let mut args = args.into_iter();
    let (Some(map), Some(key), default) = (args.next(), args.next(), args.next()) else {
        return err("lookup needs a map and a key");
    };
    if map.is_pending() || key.is_pending() {
        return Unknown;
    }
    let (Val::Map(map), Some(key)) = (map, key.to_text()) else {
        return err("lookup needs a map and a string key");
    };
    match map.get(&key) {
        Some(value) => Value(value.clone()),
        None => default.map_or_else(|| err(format!("no key {key:?}")), Value),
    }
}

fn element(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [Val::List(items), index] => match index.to_number() {
            Some(_) if items.is_empty() => err("element of an empty list"),
            Some(i) if i >= 0.0 => {
                let at = (i.floor() as usize) % items.len();
                items
                    .get(at)
                    .map_or_else(|| err("index out of range"), |v| Value(v.clone()))
            }
            Some(_) => err("negative index"),
            None if index.is_pending() => Unknown,
            None => err("element needs a number index"),
        },
        [list, _] if list.is_pending() => Unknown,
        _ => err("element needs a list and an index"),
    }
}

fn keys_values(name: &str, args: Vec<Val>) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::Map(map)]) => Value(Val::List(if name == "keys" {
            map.into_keys().map(Val::String).collect()
        } else {
            map.into_values().collect()
        })),
        Ok([arg]) if arg.is_pending() => Unknown,
        _ => err(format!("{name} needs a map")),
    }
}

fn contains(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [Val::List(items), value] if value.is_wholly_known() => {
            if items.contains(value) {
                Value(Val::Bool(true))
            } else if items.iter().all(Val::is_wholly_known) {
                Value(Val::Bool(false))
            } else {
                Unknown
            }
        }
        [list, value] if list.is_pending() || !value.is_wholly_known() => Unknown,
        _ => err("contains needs a list and a value"),
    }
}

fn one(args: Vec<Val>) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::List(items)]) => match <[Val; 1]>::try_from(items) {
            Ok([item]) => Value(item),
            Err(items) if items.is_empty() => Value(Val::Null),
            Err(_) => err("one: the list has more than one element"),
        },
        Ok([Val::Null]) => Value(Val::Null),
        Ok([arg]) if arg.is_pending() => Unknown,
        _ => err("one needs a list"),
    }
}

fn slice(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [Val::List(items), start, end] => match (start.to_number(), end.to_number()) {
            (Some(s), Some(e)) if s >= 0.0 && s <= e && (e as usize) <= items.len() => {
                Value(Val::List(
                    items
                        .get(s as usize..e as usize)
                        .unwrap_or_default()
                        .to_vec(),
                ))
            }
            _ if start.is_pending() || end.is_pending() => Unknown,
            _ => err("slice: indexes out of range"),
        },
        [list, _, _] if list.is_pending() => Unknown,
        _ => err("slice needs a list and two indexes"),
    }
}

fn reverse(args: Vec<Val>) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::List(mut items)]) => {
            items.reverse();
            Value(Val::List(items))
        }
        Ok([arg]) if arg.is_pending() => Unknown,
        _ => err("reverse needs a list"),
    }
}

fn flatten(args: Vec<Val>) -> Outcome {
    fn walk(items: Vec<Val>, out: &mut Vec<Val>) -> bool {
        for item in items {
            match item {
                Val::List(inner) => {
                    if !walk(inner, out) {
                        return false;
                    }
                }
                item if item.is_pending() => return false,
                item => out.push(item),
            }
        }
        true
    }
    match <[Val; 1]>::try_from(args) {
        Ok([Val::List(items)]) => {
            let mut out = Vec::new();
            if walk(items, &mut out) {
                Value(Val::List(out))
            } else {
                Unknown
            }
        }
        Ok([arg]) if arg.is_pending() => Unknown,
        _ => err("flatten needs a list"),
    }
}

fn zipmap(args: Vec<Val>) -> Outcome {
    match <[Val; 2]>::try_from(args) {
        Ok([Val::List(keys), Val::List(values)]) => {
            if keys.len() != values.len() {
                return err("zipmap: lists of different lengths");
            }
            let mut out = BTreeMap::new();
            for (key, value) in keys.into_iter().zip(values) {
                if key.is_pending() {
                    return Unknown;
                }
                let Some(key) = key.to_text() else {
                    return err("zipmap needs string keys");
                };
                out.insert(key, value);
            }
            Value(Val::Map(out))
        }
        Ok([a, b]) if a.is_pending() || b.is_pending() => Unknown,
        _ => err("zipmap needs two lists"),
    }
}

fn tolist(args: Vec<Val>) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::List(items)]) => Value(Val::List(items)),
        Ok([Val::Null]) => Value(Val::Null),
        _ => err("tolist needs a list or set"),
    }
}

fn tomap(args: Vec<Val>) -> Outcome {
    match <[Val; 1]>::try_from(args) {
        Ok([Val::Map(map)]) => Value(Val::Map(map)),
        Ok([Val::Null]) => Value(Val::Null),
        _ => err("tomap needs a map or object"),
    }
}

fn join(args: Vec<Val>) -> Outcome {
    let mut args = args.into_iter();
    let Some(separator) = args.next().and_then(|s| s.to_text()) else {
        return err("join needs a separator");
    };
    let mut texts = Vec::new();
    for list in args {
        let Val::List(items) = list else {
            return err("join needs lists");
        };
        for item in items {
            match item.to_text() {
                Some(text) => texts.push(text),
                None => return err("join needs lists of strings"),
            }
        }
    }
    Value(Val::String(texts.join(&separator)))
}

fn split(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [separator, text] => match (separator.to_text(), text.to_text()) {
            (Some(sep), Some(text)) if sep.is_empty() => Value(Val::List(
                text.chars().map(|c| Val::String(c.to_string())).collect(),
            )),
            (Some(sep), Some(text)) => Value(Val::List(
                text.split(sep.as_str())
                    .map(|s| Val::String(s.to_owned()))
                    .collect(),
            )),
            _ => err("split needs strings"),
        },
        _ => err("split takes two arguments"),
    }
}

fn replace(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [text, search, replacement] => {
            match (text.to_text(), search.to_text(), replacement.to_text()) {
                // `/…/` is a regular expression: not evaluated here.
                (Some(_), Some(search), Some(_))
                    if search.len() >= 2 && search.starts_with('/') && search.ends_with('/') =>
                {
                    Unknown
                }
                (Some(text), Some(search), Some(replacement)) if !search.is_empty() => {
                    Value(Val::String(text.replace(&search, &replacement)))
                }
                (Some(text), Some(_), Some(_)) => Value(Val::String(text)),
                _ => err("replace needs strings"),
            }
        }
        _ => err("replace takes three arguments"),
    }
}

fn substr(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [text, offset, length] => match (text.to_text(), offset.to_number(), length.to_number()) {
            (Some(text), Some(offset), Some(length)) => {
                let chars: Vec<char> = text.chars().collect();
                let count = chars.len() as f64;
                let start = if offset < 0.0 { count + offset } else { offset };
                if start < 0.0 || start > count {
                    return err("substr: offset out of range");
                }
                let end = if length < 0.0 {
                    count
                } else {
                    (start + length).min(count)
                };
                Value(Val::String(
                    chars
                        .get(start as usize..end.max(start) as usize)
                        .unwrap_or_default()
                        .iter()
                        .collect(),
                ))
            }
            _ => err("substr needs a string and two numbers"),
        },
        _ => err("substr takes three arguments"),
    }
}

fn indent(args: Vec<Val>) -> Outcome {
    match args.as_slice() {
        [spaces, text] => match (spaces.to_number(), text.to_text()) {
            (Some(n), Some(text)) if (0.0..=MAX_FORMAT_WIDTH as f64).contains(&n) => {
                let pad = " ".repeat(n as usize);
                let mut out = String::new();
                for (i, line) in text.split('\n').enumerate() {
                    if i > 0 {
                        out.push('\n');
                        if !line.is_empty() {
                            out.push_str(&pad);
                        }
                    }
                    out.push_str(line);
                }
                Value(Val::String(out))
            }
            _ => err("indent needs a number and a string"),
        },
        _ => err("indent takes two arguments"),
    }
}

fn range(args: Vec<Val>, budget: usize) -> Outcome {
    let numbers: Option<Vec<f64>> = args.iter().map(Val::to_number).collect();
    let Some(numbers) = numbers else {
        return err("range needs numbers");
    };
    let (start, end, step) = match numbers.as_slice() {
        [end] => (0.0, *end, 1.0),
        [start, end] => (*start, *end, if start <= end { 1.0 } else { -1.0 }),
        [start, end, step] => (*start, *end, *step),
        _ => return err("range takes one to three numbers"),
    };
    if step == 0.0 || (step > 0.0 && start > end) || (step < 0.0 && start < end) {
        return if start == end {
            Value(Val::List(Vec::new()))
        } else {
            err("range: the step does not lead to the end")
        };
    }
    let count = ((end - start) / step).ceil();
    if !count.is_finite() || count > budget as f64 || count > 1024.0 * 1024.0 {
        return err(format!(
            "range of {} numbers exceeds the node limit",
            number_text(count)
        ));
    }
    Value(Val::List(
        (0..count as usize)
            .map(|i| Val::Number(start + step * i as f64))
            .collect(),
    ))
}

fn formatlist(args: Vec<Val>, budget: usize) -> Outcome {
    let Some((Val::String(spec), rest)) = args.split_first() else {
        return err("formatlist needs a format string");
    };
    let mut length = None;
    for arg in rest {
        if let Val::List(items) = arg {
            match length {
                None => length = Some(items.len()),
                Some(n) if n != items.len() => {
                    return err("formatlist: lists of different lengths");
                }
                Some(_) => {}
            }
        }
    }
    let Some(length) = length else {
        return match format(spec, rest) {
            Ok(text) => Value(Val::List(vec![Val::String(text)])),
            Err(e) => err(e),
        };
    };
    if length > budget {
        return err("formatlist result exceeds the node limit");
    }
    let mut out = Vec::with_capacity(length);
    for i in 0..length {
        let row: Vec<Val> = rest
            .iter()
            .map(|arg| match arg {
                Val::List(items) => items.get(i).cloned().unwrap_or(Val::Null),
                other => other.clone(),
            })
            .collect();
        match format(spec, &row) {
            Ok(text) => out.push(Val::String(text)),
            Err(e) => return err(e),
        }
    }
    Value(Val::List(out))
}

/// Terraform's `format`: `%s %d %f %t %v %q %%`, flags `-+0 `, width and precision.
pub fn format(spec: &str, args: &[Val]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let (mut left, mut zero, mut plus) = (false, false, false);
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = 0usize;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = (width * 10 + d as usize).min(MAX_FORMAT_WIDTH);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = (p * 10 + d as usize).min(MAX_FORMAT_WIDTH);
                chars.next();
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            return Err("format string ends inside a verb".to_owned());
        };
        let arg = args
            .get(next)
            .ok_or_else(|| "format has more verbs than arguments".to_owned())?;
        next += 1;
        let text = match verb {
            's' => {
                let text = arg.to_text().ok_or("%s needs a string")?;
                match precision {
                    Some(p) => text.chars().take(p).collect(),
                    None => text,
                }
            }
            'v' => match arg {
                Val::List(_) | Val::Map(_) => arg.to_json().to_string(),
                Val::Null => "null".to_owned(),
                _ => arg.to_text().ok_or("%v needs a value")?,
            },
            'q' => serde_json::Value::String(arg.to_text().ok_or("%q needs a string")?).to_string(),
            't' => arg.to_bool().ok_or("%t needs a bool")?.to_string(),
            'd' => {
                let n = arg.to_number().ok_or("%d needs a number")?;
                if n.fract() != 0.0 {
                    return Err("%d needs a whole number".to_owned());
                }
                let text = number_text(n);
                if plus && n >= 0.0 {
                    format!("+{text}")
                } else {
                    text
                }
            }
            'f' | 'e' | 'g' => {
                let n = arg.to_number().ok_or("%f needs a number")?;
                let text = match verb {
                    'f' => format!("{:.*}", precision.unwrap_or(6), n),
                    'e' => format!("{:.*e}", precision.unwrap_or(6), n),
                    _ => number_text(n),
                };
                if plus && n >= 0.0 {
                    format!("+{text}")
                } else {
                    text
                }
            }
            'x' | 'X' | 'o' | 'b' => {
                let n = arg.to_number().ok_or("needs a number")?;
                let n = n as i64;
                match verb {
                    'x' => format!("{n:x}"),
                    'X' => format!("{n:X}"),
                    'o' => format!("{n:o}"),
                    _ => format!("{n:b}"),
                }
            }
            other => return Err(format!("unsupported format verb %{other}")),
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if zero && matches!(verb, 'd' | 'f' | 'e' | 'g' | 'x' | 'X' | 'o' | 'b') {
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(rest) => (&text[..1], rest),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(TABLE[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `cidrsubnet`, `cidrhost` and `cidrnetmask` for IPv4 prefixes; IPv6 is left unknown.
fn cidr(name: &str, args: &[Val]) -> Outcome {
    let Some(Val::String(prefix)) = args.first() else {
        return err(format!("{name} needs a CIDR prefix"));
    };
    let Some((address, length)) = prefix.split_once('/') else {
        return err("not a CIDR prefix");
    };
    if address.contains(':') {
        return Unknown;
    }
    let (Ok(address), Ok(length)) = (address.parse::<std::net::Ipv4Addr>(), length.parse::<u32>())
    else {
        return err("not a CIDR prefix");
    };
    if length > 32 {
        return err("prefix length over 32");
    }
    let mask = |len: u32| if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let base = u32::from(address) & mask(length);
    let number = |at: usize| args.get(at).and_then(Val::to_number);
    match name {
        "cidrnetmask" => Value(Val::String(
            std::net::Ipv4Addr::from(mask(length)).to_string(),
        )),
        "cidrhost" => {
            let Some(host) = number(1) else {
                return err("cidrhost needs a host number");
            };
            let size = 2f64.powi(32 - length as i32);
            let host = if host < 0.0 { size + host } else { host };
            if host < 0.0 || host >= size || host.fract() != 0.0 {
                return err("host number out of range");
            }
            let address = std::net::Ipv4Addr::from(base.wrapping_add(host as u32));
            Value(Val::String(address.to_string()))
        }
        _ => {
            let (Some(bits), Some(net)) = (number(1), number(2)) else {
                return err("cidrsubnet needs newbits and netnum");
            };
            if bits < 0.0 || bits.fract() != 0.0 || net < 0.0 || net.fract() != 0.0 {
                return err("cidrsubnet needs whole numbers");
            }
            let new_length = length + bits as u32;
            if bits > 32.0 || new_length > 32 || net >= 2f64.powi(bits as i32) {
                return err("cidrsubnet: the subnet does not fit");
            }
            let shift = 32 - new_length;
            let subnet = if shift >= 32 {
                base
            } else {
                base | ((net as u32) << shift)
            };
            Value(Val::String(format!(
                "{}/{new_length}",
                std::net::Ipv4Addr::from(subnet)
            )))
        }
    }
}
