//! Expression evaluation: references, operators, templates, `for` expressions and function
//! calls, over the values of [`super::value`].
//!
//! Every recursion (nested expressions and the variables, locals and outputs they refer to)
//! counts against [`crate::Limits::max_depth`], and every value produced against
//! [`crate::Limits::max_nodes`], so hostile input ends in a diagnostic, not a stack overflow
//! or an exhausted machine. Variables, locals and outputs are evaluated once, when first used;
//! one that refers back to itself is reported as a cycle and is unknown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use hcl_edit::expr::{BinaryOperator, UnaryOperator};

use super::functions::{self, Outcome};
use super::syntax::{Call, Expr, For, Key, Kind, LineIndex, Lower, Op, Part};
use super::value::{Val, instance_key};
use super::{Bindings, Expansion, ModuleDef, Slot, SourceFile, Tree};

/// Why an evaluation produced no value.
#[derive(Debug, Clone)]
pub enum Fail {
    /// The configuration is wrong here (Terraform would reject it); `try` and `can` catch it.
    Error,
    /// A limit was exceeded (already reported); nothing catches it.
    Limit,
}

type R = Result<Val, Fail>;

/// A configuration error; the message documents the cause where it is raised (Terraform
/// reports it, a static scan only needs to know the value is not there).
fn error<T>(_message: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Error)
}

/// Kinds of named values an instance evaluates lazily.
const VAR: usize = 0;
const LOCAL: usize = 1;
const OUTPUT: usize = 2;

const KIND_NAMES: [&str; 3] = ["var", "local", "output"];

/// Functions whose result depends on the time, randomness or the deployment.
const IMPURE: [&str; 7] = [
    "timestamp",
    "uuid",
    "bcrypt",
    "plantimestamp",
    "uuidv5",
    "ephemeralasnull",
    "filebase64sha256",
];

/// Where an expression is evaluated.
pub struct Scope<'d> {
    /// The module instance; `usize::MAX` when there is none (tfvars, template files).
    pub inst: usize,
    pub def: &'d ModuleDef,
    /// The file of `def` the expression is in.
    pub file: usize,
    pub bindings: Bindings,
    /// Names bound by `for` expressions, template `for` directives and `dynamic` iterators.
    pub vars: Vec<(String, Val)>,
}

impl<'d> Scope<'d> {
    pub fn new(inst: usize, def: &'d ModuleDef, file: usize, bindings: Bindings) -> Self {
        Scope {
            inst,
            def,
            file,
            bindings,
            vars: Vec::new(),
        }
    }

    /// A scope without a module: references are unknown.
    pub fn constant(def: &'d ModuleDef) -> Self {
        Scope::new(usize::MAX, def, 0, Bindings::default())
    }

    pub fn display(&self) -> &str {
        self.def
            .files
            .get(self.file)
            .map_or(self.def.display.as_str(), |f| f.display.as_str())
    }
}

impl Tree<'_> {
    /// Evaluates an attribute's expression; what cannot be known is an unknown value.
    pub fn eval_top(&mut self, scope: &mut Scope<'_>, expr: &Expr) -> Val {
        match self.eval(scope, expr) {
            Ok(value) => value,
            Err(Fail::Error) => Val::unknown(scope.def.text(scope.file, expr)),
            Err(Fail::Limit) => Val::unknown("exceeds the evaluation limits"),
        }
    }

    pub fn eval(&mut self, scope: &mut Scope<'_>, expr: &Expr) -> R {
        if self.depth >= self.limits.max_depth {
            if !self.deep_reported {
                self.deep_reported = true;
                let max = self.limits.max_depth;
                let display = scope.display().to_owned();
                self.report(
                    &display,
                    Some(expr.at.line),
                    format!(
                        "expressions and the values they refer to nest deeper than {max} \
                         levels; left unknown"
                    ),
                );
            }
            return Err(Fail::Limit);
        }
        self.depth += 1;
        let result = self.eval_kind(scope, expr);
        self.depth -= 1;
        match result {
            Ok(Val::Unknown(_)) if !expr.text.is_empty() => {
                Ok(Val::unknown(scope.def.text(scope.file, expr)))
            }
            result => result,
        }
    }

    fn eval_kind(&mut self, scope: &mut Scope<'_>, expr: &Expr) -> R {
        match &expr.kind {
            Kind::Null => Ok(Val::Null),
            Kind::Bool(b) => Ok(Val::Bool(*b)),
            Kind::Number(n) => Ok(Val::Number(*n)),
            Kind::String(s) => Ok(Val::String(s.clone())),
            Kind::Invalid => error("invalid expression"),
            Kind::Template(parts) => {
                let mut out = String::new();
                if self.render(scope, parts, &mut out)? {
                    self.charge(1 + out.len() / 64)?;
                    Ok(Val::String(out))
                } else {
                    Ok(Val::Unknown(String::new()))
                }
            }
            Kind::Array(items) => {
                self.charge(items.len())?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(scope, item)?);
                }
                Ok(Val::List(out))
            }
            Kind::Object(entries) => {
                self.charge(entries.len())?;
                let mut out = BTreeMap::new();
                let mut pending = false;
                for (key, value) in entries {
                    let key = match key {
                        Key::Name(name, _) => name.clone(),
                        Key::Expr(expr) => {
                            let key = self.eval(scope, expr)?;
                            if key.is_pending() {
                                pending = true;
                                continue;
                            }
                            match key.to_text() {
                                Some(key) => key,
                                None => return error("object keys must be strings"),
                            }
                        }
                    };
                    let value = self.eval(scope, value)?;
                    out.insert(key, value);
                }
                if pending {
                    Ok(Val::Unknown(String::new()))
                } else {
                    Ok(Val::Map(out))
                }
            }
            Kind::Variable(name) => match lookup_var(scope, name) {
                Some(value) => Ok(value),
                None => error(format!("unknown name {name}")),
            },
            Kind::Traversal(root, ops) => self.traversal(scope, root, ops),
            Kind::Call(call) => self.call(scope, call, expr.at.line),
            Kind::Conditional(parts) => {
                let (cond, then, otherwise) = parts.as_ref();
                let cond = self.eval(scope, cond)?;
                if cond.is_pending() {
                    return Ok(Val::Unknown(String::new()));
                }
                match cond.to_bool() {
                    Some(true) => self.eval(scope, then),
                    Some(false) => self.eval(scope, otherwise),
                    None => error("the condition is not a bool"),
                }
            }
            Kind::Unary(op, operand) => {
                let value = self.eval(scope, operand)?;
                if value.is_pending() {
                    return Ok(Val::Unknown(String::new()));
                }
                match op {
                    UnaryOperator::Neg => match value.to_number() {
                        Some(n) => Ok(Val::Number(-n)),
                        None => error("`-` needs a number"),
                    },
                    UnaryOperator::Not => match value.to_bool() {
                        Some(b) => Ok(Val::Bool(!b)),
                        None => error("`!` needs a bool"),
                    },
                }
            }
            Kind::Binary(op, operands) => {
                let left = self.eval(scope, &operands.0)?;
                let right = self.eval(scope, &operands.1)?;
                binary(*op, &left, &right)
            }
            Kind::For(for_expr) => self.for_expr(scope, for_expr),
        }
    }

    /// Renders template parts into `out`; `false` when a part is not known.
    fn render(
        &mut self,
        scope: &mut Scope<'_>,
        parts: &[Part],
        out: &mut String,
    ) -> Result<bool, Fail> {
        for part in parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Interpolation(expr) => {
                    let value = self.eval(scope, expr)?;
                    if value.is_pending() {
                        return Ok(false);
                    }
                    match value.to_text() {
                        Some(text) => out.push_str(&text),
                        None if value == Val::Null => return error("null in a template"),
                        None => {
                            return error("a template can only hold strings, numbers and bools");
                        }
                    }
                }
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let cond = self.eval(scope, cond)?;
                    if cond.is_pending() {
                        return Ok(false);
                    }
                    let branch = match cond.to_bool() {
                        Some(true) => then,
                        Some(false) => otherwise,
                        None => return error("the condition is not a bool"),
                    };
                    if !self.render(scope, branch, out)? {
                        return Ok(false);
                    }
                }
                Part::For {
                    key_var,
                    value_var,
                    collection,
                    body,
                } => {
                    let collection = self.eval(scope, collection)?;
                    let Some(items) = iterate(collection)? else {
                        return Ok(false);
                    };
                    self.charge(items.len())?;
                    let mark = scope.vars.len();
                    let mut known = true;
                    for (key, value) in items {
                        if let Some(key_var) = key_var {
                            scope.vars.push((key_var.clone(), key));
                        }
                        scope.vars.push((value_var.clone(), value));
                        let rendered = self.render(scope, body, out);
                        scope.vars.truncate(mark);
                        if !rendered? {
                            known = false;
                            break;
                        }
                        if out.len() / 64 > self.budget {
                            self.charge(out.len() / 64)?;
                        }
                    }
                    if !known {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    fn for_expr(&mut self, scope: &mut Scope<'_>, for_expr: &For) -> R {
        let collection = self.eval(scope, &for_expr.collection)?;
        let Some(items) = iterate(collection)? else {
            return Ok(Val::Unknown(String::new()));
        };
        self.charge(items.len())?;
        let mark = scope.vars.len();
        let result = self.for_items(scope, for_expr, items);
        scope.vars.truncate(mark);
        result
    }

    fn for_items(&mut self, scope: &mut Scope<'_>, for_expr: &For, items: Vec<(Val, Val)>) -> R {
        let mark = scope.vars.len();
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Val> = BTreeMap::new();
        for (key, value) in items {
            scope.vars.truncate(mark);
            if let Some(key_var) = &for_expr.key_var {
                scope.vars.push((key_var.clone(), key));
            }
            scope.vars.push((for_expr.value_var.clone(), value));
            if let Some(cond) = &for_expr.cond {
                let keep = self.eval(scope, cond)?;
                if keep.is_pending() {
                    return Ok(Val::Unknown(String::new()));
                }
                match keep.to_bool() {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return error("a `for` condition must be a bool"),
                }
            }
            let value = self.eval(scope, &for_expr.value)?;
            match &for_expr.key {
                None => list.push(value),
                Some(key_expr) => {
                    let key = self.eval(scope, key_expr)?;
                    if key.is_pending() {
                        return Ok(Val::Unknown(String::new()));
                    }
                    let Some(key) = key.to_text() else {
                        return error("`for` object keys must be strings");
                    };
                    if for_expr.grouping {
                        match map.entry(key).or_insert_with(|| Val::List(Vec::new())) {
                            Val::List(group) => group.push(value),
                            _ => return error("`for` grouping"),
                        }
                    } else if map.insert(key.clone(), value).is_some() {
                        return error(format!("duplicate key {key:?} in a `for` expression"));
                    }
                }
            }
        }
        Ok(if for_expr.key.is_some() {
            Val::Map(map)
        } else {
            Val::List(list)
        })
    }

    fn traversal(&mut self, scope: &mut Scope<'_>, root: &Expr, ops: &[Op]) -> R {
        let Kind::Variable(name) = &root.kind else {
            let value = self.eval(scope, root)?;
            return self.apply_ops(scope, value, ops);
        };
        if let Some(value) = lookup_var(scope, name) {
            return self.apply_ops(scope, value, ops);
        }
        let first = match ops.first() {
            Some(Op::Attr(first)) => Some(first.as_str()),
            _ => None,
        };
        let rest = ops.get(1..).unwrap_or_default();
        let constant = scope.inst == usize::MAX;
        match (name.as_str(), first) {
            ("var", Some(var)) if !constant => {
                let value = self.item(scope.inst, VAR, var)?;
                self.apply_ops(scope, value, rest)
            }
            ("local", Some(local)) if !constant => {
                let value = self.item(scope.inst, LOCAL, local)?;
                self.apply_ops(scope, value, rest)
            }
            ("module", Some(call)) if !constant => self.module_ref(scope, call, rest),
            ("count", Some("index")) => match &scope.bindings.count_index {
                Some(index) => {
                    let index = index.clone();
                    self.apply_ops(scope, index, rest)
                }
                None => error("count.index outside a block with count"),
            },
            ("each", Some(which @ ("key" | "value"))) => match &scope.bindings.each {
                Some((key, value)) => {
                    let value = if which == "key" {
                        key.clone()
                    } else {
                        value.clone()
                    };
                    self.apply_ops(scope, value, rest)
                }
                None => error("each outside a block with for_each"),
            },
            ("path", Some(which @ ("module" | "root" | "cwd"))) => {
                let shown = if which == "module" {
                    &scope.def.display
                } else {
                    &self.root_display
                };
                let shown = if shown.is_empty() {
                    "."
                } else {
                    shown.as_str()
                };
                self.apply_ops(scope, Val::String(shown.to_owned()), rest)
            }
            ("terraform", Some("workspace")) => {
                self.apply_ops(scope, Val::String("default".to_owned()), rest)
            }
            ("self", _) | ("var" | "local" | "module", _) => Ok(Val::Unknown(String::new())),
            ("data", Some(rtype)) => match rest.split_first() {
                Some((Op::Attr(rname), rest)) if !constant => {
                    let base = format!("data.{rtype}.{rname}");
                    self.reference(scope, base, rest)
                }
                Some(_) if constant => Ok(Val::Unknown(String::new())),
                _ => error("a data source reference needs a type and a name"),
            },
            (rtype, Some(rname)) if !constant => {
                let base = format!("{rtype}.{rname}");
                self.reference(scope, base, rest)
            }
            _ if constant => Ok(Val::Unknown(String::new())),
            _ => error(format!("unknown name {name}")),
        }
    }

    /// A reference to another object's attribute: `{"$ref": "<prefix><base>[key].attr"}`.
    fn reference(&mut self, scope: &mut Scope<'_>, base: String, ops: &[Op]) -> R {
        // A resource of this module whose instances are known: the whole resource is a list
        // (count) or map (for_each) of instance references, so indexes, splats and `for`
        // expressions over it work.
        if let Some(&index) = scope.def.resource_index.get(&base) {
            let prefix = self
                .instances
                .get(scope.inst)
                .map(|i| i.prefix.clone())
                .unwrap_or_default();
            let address = format!("{prefix}{base}");
            match &*self.resource_expansion(scope.inst, index) {
                Expansion::Keys(keys) => {
                    self.charge(keys.len())?;
                    let for_each = keys.first().is_some_and(|(_, v)| v.is_some());
                    let refs = keys
                        .iter()
                        .map(|(key, _)| Val::Ref(format!("{address}{}", instance_key(key))));
                    let whole = if for_each {
                        Val::Map(
                            keys.iter()
                                .map(|(key, _)| key.to_text().unwrap_or_default())
                                .zip(refs)
                                .collect(),
                        )
                    } else {
                        Val::List(refs.collect())
                    };
                    return self.apply_ops(scope, whole, ops);
                }
                Expansion::Single if matches!(ops.first(), Some(Op::AttrSplat | Op::FullSplat)) => {
                    return self.apply_ops(scope, Val::List(vec![Val::Ref(address)]), ops);
                }
                Expansion::Single | Expansion::Unknown(_) => {}
            }
        }
        let prefix = self
            .instances
            .get(scope.inst)
            .map(|i| i.prefix.as_str())
            .unwrap_or("");
        let mut path = format!("{prefix}{base}");
        for op in ops {
            match op {
                Op::Attr(attr) => {
                    path.push('.');
                    path.push_str(attr);
                }
                Op::Index(expr) => {
                    let key = self.eval(scope, expr)?;
                    match key {
                        Val::Number(_) | Val::String(_) => path.push_str(&instance_key(&key)),
                        key if key.is_pending() => return Ok(Val::Unknown(String::new())),
                        _ => return error("an index must be a number or a string"),
                    }
                }
                Op::AttrSplat | Op::FullSplat => return Ok(Val::Unknown(String::new())),
            }
        }
        Ok(Val::Ref(path))
    }

    fn apply_ops(&mut self, scope: &mut Scope<'_>, mut value: Val, ops: &[Op]) -> R {
        for (at, op) in ops.iter().enumerate() {
            value = match op {
                Op::Attr(attr) => match value {
                    Val::Map(mut map) => match map.remove(attr) {
                        Some(member) => member,
                        None => return error(format!("no attribute {attr:?}")),
                    },
                    Val::Ref(mut path) => {
                        path.push('.');
                        path.push_str(attr);
                        Val::Ref(path)
                    }
                    Val::Unknown(_) => return Ok(Val::Unknown(String::new())),
                    other => {
                        return error(format!("cannot read {attr:?} of a {}", other.type_name()));
                    }
                },
                Op::Index(expr) => {
                    let key = self.eval(scope, expr)?;
                    index(value, &key)?
                }
                Op::AttrSplat | Op::FullSplat => {
                    let rest = ops.get(at + 1..).unwrap_or_default();
                    return match value {
                        Val::List(items) => {
                            let mut out = Vec::with_capacity(items.len());
                            for item in items {
                                out.push(self.apply_ops(scope, item, rest)?);
                            }
                            Ok(Val::List(out))
                        }
                        Val::Null => Ok(Val::List(Vec::new())),
                        value if value.is_pending() => Ok(Val::Unknown(String::new())),
                        value => Ok(Val::List(vec![self.apply_ops(scope, value, rest)?])),
                    };
                }
            };
        }
        Ok(value)
    }

    /// `module.<call>…`: a module output, evaluated in the module's instance.
    fn module_ref(&mut self, scope: &mut Scope<'_>, call: &str, ops: &[Op]) -> R {
        let Some(&index) = scope.def.module_index.get(call) else {
            return error(format!("no module call {call:?}"));
        };
        let state = self.module_call(scope.inst, index);
        let (expansion, children) = (&state.0, &state.1);
        match expansion {
            Expansion::Single => {
                let child = children.first().copied().flatten();
                self.module_value(scope, child, ops)
            }
            Expansion::Unknown(_) => Ok(Val::Unknown(String::new())),
            Expansion::Keys(keys) => match ops.split_first() {
                Some((Op::Index(expr), rest)) => {
                    let key = self.eval(scope, expr)?;
                    if key.is_pending() {
                        return Ok(Val::Unknown(String::new()));
                    }
                    let Some(position) =
                        keys.iter().position(|(k, _)| k.to_text() == key.to_text())
                    else {
                        return error(format!(
                            "module.{call} has no instance {}",
                            instance_key(&key)
                        ));
                    };
                    let child = children.get(position).copied().flatten();
                    self.module_value(scope, child, rest)
                }
                _ => {
                    let for_each = keys.first().is_some_and(|(_, v)| v.is_some());
                    let mut list = Vec::new();
                    let mut map = BTreeMap::new();
                    for ((key, _), child) in keys.iter().zip(children) {
                        let value = self.module_value(scope, *child, &[])?;
                        if for_each {
                            map.insert(key.to_text().unwrap_or_default(), value);
                        } else {
                            list.push(value);
                        }
                    }
                    let whole = if for_each {
                        Val::Map(map)
                    } else {
                        Val::List(list)
                    };
                    self.apply_ops(scope, whole, ops)
                }
            },
        }
    }

    fn module_value(&mut self, scope: &mut Scope<'_>, child: Option<usize>, ops: &[Op]) -> R {
        let Some(child) = child else {
            return Ok(Val::Unknown(String::new()));
        };
        match ops.split_first() {
            Some((Op::Attr(output), rest)) => {
                let value = self.item(child, OUTPUT, output)?;
                self.apply_ops(scope, value, rest)
            }
            _ => {
                let Some(def) = self.instances.get(child).map(|i| i.def.clone()) else {
                    return Ok(Val::Unknown(String::new()));
                };
                let mut names: Vec<&String> = def.outputs.keys().collect();
                names.sort();
                let mut map = BTreeMap::new();
                for name in names {
                    map.insert(name.clone(), self.item(child, OUTPUT, name)?);
                }
                self.apply_ops(scope, Val::Map(map), ops)
            }
        }
    }

    /// A variable, local or output of instance `inst`, evaluated once.
    fn item(&mut self, inst: usize, kind: usize, name: &str) -> R {
        let Some(instance) = self.instances.get(inst) else {
            return Ok(Val::Unknown(String::new()));
        };
        match instance.cache.get(kind).and_then(|cache| cache.get(name)) {
            Some(Slot::Done(value, weight)) => {
                let (value, weight) = (value.clone(), *weight);
                self.charge(weight)?;
                return value;
            }
            Some(Slot::InProgress) => {
                self.report_cycle(inst, kind, name);
                return Ok(Val::unknown("cycle"));
            }
            None => {}
        }
        let def = instance.def.clone();
        if let Some(cache) = self
            .instances
            .get_mut(inst)
            .and_then(|i| i.cache.get_mut(kind))
        {
            cache.insert(name.to_owned(), Slot::InProgress);
        }
        self.stack.push((inst, kind as u8, name.to_owned(), false));
        let result = match kind {
            VAR => self.variable(inst, &def, name),
            LOCAL => match def.locals.get(name) {
                Some((file, attr)) => {
                    let mut scope = Scope::new(inst, &def, *file, Bindings::default());
                    self.eval(&mut scope, &attr.expr)
                }
                None => error(format!("no local value {name:?}")),
            },
            _ => match def.outputs.get(name) {
                Some((file, block)) => match block.body.attr("value") {
                    Some(attr) => {
                        let mut scope = Scope::new(inst, &def, *file, Bindings::default());
                        self.eval(&mut scope, &attr.expr)
                    }
                    None => Ok(Val::Null),
                },
                None => error(format!("no output {name:?}")),
            },
        };
        let poisoned = self.stack.pop().is_some_and(|frame| frame.3);
        let result = match result {
            _ if poisoned => Ok(Val::unknown("cycle")),
            // A limit is not a property of the value: do not remember it.
            Err(Fail::Limit) => {
                if let Some(cache) = self
                    .instances
                    .get_mut(inst)
                    .and_then(|i| i.cache.get_mut(kind))
                {
                    cache.remove(name);
                }
                return Err(Fail::Limit);
            }
            result => result,
        };
        let weight = result.as_ref().map_or(1, Val::weight);
        if let Some(cache) = self
            .instances
            .get_mut(inst)
            .and_then(|i| i.cache.get_mut(kind))
        {
            cache.insert(name.to_owned(), Slot::Done(result.clone(), weight));
        }
        result
    }

    fn variable(&mut self, inst: usize, def: &Rc<ModuleDef>, name: &str) -> R {
        let Some((file, block)) = def.variables.get(name) else {
            return error(format!("no variable {name:?}"));
        };
        let sensitive = block
            .body
            .attr("sensitive")
            .is_some_and(|attr| matches!(attr.expr.kind, Kind::Bool(true)));
        if sensitive {
            return Ok(Val::unknown("sensitive"));
        }
        let parent = self.instances.get(inst).and_then(|i| i.parent.clone());
        match parent {
            None => {
                if let Some(value) = self.instances.get(inst).and_then(|i| i.tfvars.get(name)) {
                    return Ok(value.clone());
                }
            }
            Some((parent, call, bindings)) => {
                let parent_def = self.instances.get(parent).map(|i| i.def.clone());
                if let Some(parent_def) = parent_def
                    && let Some((call_file, call_block)) = parent_def.modules.get(call)
                    && let Some(attr) = call_block.body.attr(name)
                {
                    let mut scope = Scope::new(parent, &parent_def, *call_file, bindings);
                    let value = self.eval(&mut scope, &attr.expr)?;
                    // `nullable = false`: a null input means the default.
                    let nullable = !block
                        .body
                        .attr("nullable")
                        .is_some_and(|attr| matches!(attr.expr.kind, Kind::Bool(false)));
                    if value != Val::Null || nullable {
                        return Ok(value);
                    }
                }
            }
        }
        match block.body.attr("default") {
            Some(attr) => {
                let mut scope = Scope::constant(def);
                scope.file = *file;
                self.eval(&mut scope, &attr.expr)
            }
            None => Ok(Val::unknown("no value")),
        }
    }

    fn item_name(&self, inst: usize, kind: usize, name: &str) -> String {
        let prefix = self.instances.get(inst).map_or("", |i| i.prefix.as_str());
        let kind = KIND_NAMES.get(kind).copied().unwrap_or("value");
        format!("{prefix}{kind}.{name}")
    }

    fn report_cycle(&mut self, inst: usize, kind: usize, name: &str) {
        let Some(start) = self
            .stack
            .iter()
            .rposition(|(i, k, n, _)| *i == inst && usize::from(*k) == kind && n == name)
        else {
            return;
        };
        let mut path = Vec::new();
        for frame in self.stack.iter_mut().skip(start) {
            frame.3 = true;
        }
        for (i, k, n, _) in self.stack.iter().skip(start + 1) {
            path.push(self.item_name(*i, usize::from(*k), n));
        }
        let this = self.item_name(inst, kind, name);
        let message = if path.is_empty() {
            format!("{this} refers to itself")
        } else {
            format!(
                "{this} refers to itself through {} → {this}",
                path.join(" → ")
            )
        };
        let (display, line) = self.definition(inst, kind, name);
        self.report(&display, line, format!("{message}; its value is unknown"));
    }

    /// The file and line where a named value is defined.
    fn definition(&self, inst: usize, kind: usize, name: &str) -> (String, Option<u32>) {
        let Some(def) = self.instances.get(inst).map(|i| &i.def) else {
            return (self.root_display.clone(), None);
        };
        let found = match kind {
            VAR => def.variables.get(name).map(|(f, b)| (*f, b.at.line)),
            LOCAL => def.locals.get(name).map(|(f, a)| (*f, a.at.line)),
            _ => def.outputs.get(name).map(|(f, b)| (*f, b.at.line)),
        };
        match found {
            Some((file, line)) => (
                def.files
                    .get(file)
                    .map(|f| f.display.clone())
                    .unwrap_or_default(),
                Some(line),
            ),
            None => (def.display.clone(), None),
        }
    }

    fn call(&mut self, scope: &mut Scope<'_>, call: &Call, line: u32) -> R {
        let name = call.name.as_str();
        if call.namespaced || IMPURE.contains(&name) {
            return Ok(Val::Unknown(String::new()));
        }
        match name {
            "try" => {
                for arg in &call.args {
                    match self.eval(scope, arg) {
                        Ok(value) => return Ok(value),
                        Err(Fail::Error) => {}
                        Err(Fail::Limit) => return Err(Fail::Limit),
                    }
                }
                return error("no argument of try could be evaluated");
            }
            "can" => {
                let Some(arg) = call.args.first() else {
                    return error("can takes one argument");
                };
                return match self.eval(scope, arg) {
                    Ok(value) if value.is_wholly_known() => Ok(Val::Bool(true)),
                    Ok(_) => Ok(Val::Unknown(String::new())),
                    Err(Fail::Error) => Ok(Val::Bool(false)),
                    Err(Fail::Limit) => Err(Fail::Limit),
                };
            }
            _ => {}
        }
        let mut args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            args.push(self.eval(scope, arg)?);
        }
        if call.expand_final {
            match args.pop() {
                Some(Val::List(items)) => args.extend(items),
                Some(value) if value.is_pending() => return Ok(Val::Unknown(String::new())),
                _ => return error("only a list can be expanded with `...`"),
            }
        }
        match name {
            "file" | "templatefile" | "fileexists" => {
                return self.file_function(scope, name, args, line);
            }
            "abspath" | "pathexpand" | "dirname" | "basename" => {
                return match args.as_slice() {
                    [Val::String(path)] => Ok(Val::String(path_function(name, path))),
                    [arg] if arg.is_pending() => Ok(Val::Unknown(String::new())),
                    _ => error(format!("{name} needs a path")),
                };
            }
            _ => {}
        }
        match functions::call(name, args, self.budget) {
            Outcome::Value(value) => {
                self.charge(value.weight())?;
                Ok(value)
            }
            Outcome::Unknown | Outcome::Unsupported => Ok(Val::Unknown(String::new())),
            Outcome::Error(message) => error(format!("{name}: {message}")),
        }
    }

    /// `file`, `fileexists` and `templatefile`, reading only inside the scanned tree.
    fn file_function(&mut self, scope: &mut Scope<'_>, name: &str, args: Vec<Val>, line: u32) -> R {
        let mut args = args.into_iter();
        let path = match args.next() {
            Some(Val::String(path)) => path,
            Some(value) if value.is_pending() => return Ok(Val::Unknown(String::new())),
            _ => return error(format!("{name} needs a path")),
        };
        let Some(scan_root) = self.scan_root.clone() else {
            return Ok(Val::Unknown(String::new()));
        };
        let display = scope.display().to_owned();
        let Some(resolved) = resolve_file(&scan_root, scope.def, &path) else {
            if name == "fileexists" {
                return Ok(Val::Bool(false));
            }
            self.report(
                &display,
                Some(line),
                format!("{name}({path:?}): no such file inside the scanned tree; left unknown"),
            );
            return Ok(Val::Unknown(String::new()));
        };
        if name == "fileexists" {
            return Ok(Val::Bool(resolved.is_file()));
        }
        let shown = resolved
            .strip_prefix(&scan_root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| path.clone());
        let Some(text) = self.read_text(&resolved, &shown, false) else {
            return Ok(Val::Unknown(String::new()));
        };
        self.charge(1 + text.len() / 64)?;
        if name == "file" {
            return Ok(Val::String(text));
        }
        let vars = match args.next() {
            Some(Val::Map(vars)) => vars,
            Some(value) if !value.is_wholly_known() => return Ok(Val::Unknown(String::new())),
            _ => return error("templatefile needs a path and an object of variables"),
        };
        let template = match hcl_edit::parser::parse_template(&text) {
            Ok(template) => template,
            Err(parse_error) => {
                let line = u32::try_from(parse_error.location().line()).unwrap_or(1);
                self.report(
                    &shown,
                    Some(line),
                    format!("invalid template: {}", parse_error.message()),
                );
                return Ok(Val::Unknown(String::new()));
            }
        };
        let lines = LineIndex::new(&text);
        let parts = Lower::new(&text, &lines).template_parts(&template);
        let mut def = ModuleDef::new(PathBuf::new(), scope.def.display.clone());
        def.files.push(SourceFile {
            display: shown,
            source: text,
        });
        let mut inner = Scope::constant(&def);
        inner.vars = vars.into_iter().collect();
        let mut out = String::new();
        if self.render(&mut inner, &parts, &mut out)? {
            self.charge(1 + out.len() / 64)?;
            Ok(Val::String(out))
        } else {
            Ok(Val::Unknown(String::new()))
        }
    }
}

/// Resolves a `file()` path: relative to the module, or to the scan root when it starts with
/// the module's display path (`"${path.module}/policy.json"`); `None` outside the scan root.
fn resolve_file(scan_root: &Path, def: &ModuleDef, path: &str) -> Option<PathBuf> {
    let candidate = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else if !def.display.is_empty()
        && (path == def.display || path.starts_with(&format!("{}/", def.display)))
    {
        scan_root.join(path)
    } else {
        def.dir.join(path)
    };
    let canonical = candidate.canonicalize().ok()?;
    canonical.starts_with(scan_root).then_some(canonical)
}

fn path_function(name: &str, path: &str) -> String {
    match name {
        "dirname" => match path.rfind('/') {
            Some(0) => "/".to_owned(),
            Some(cut) => path[..cut].to_owned(),
            None => ".".to_owned(),
        },
        "basename" => path.rsplit('/').next().unwrap_or(path).to_owned(),
        _ => path.to_owned(),
    }
}

fn lookup_var(scope: &Scope<'_>, name: &str) -> Option<Val> {
    scope
        .vars
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The (key, value) pairs a `for` iterates; `None` when the collection is not known.
fn iterate(collection: Val) -> Result<Option<Vec<(Val, Val)>>, Fail> {
    match collection {
        Val::List(items) => Ok(Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Val::Number(i as f64), v))
                .collect(),
        )),
        Val::Map(map) => Ok(Some(
            map.into_iter().map(|(k, v)| (Val::String(k), v)).collect(),
        )),
        value if value.is_pending() => Ok(None),
        Val::Null => error("cannot iterate over null"),
        other => error(format!("cannot iterate over a {}", other.type_name())),
    }
}

fn index(value: Val, key: &Val) -> R {
    if key.is_pending() {
        return Ok(Val::Unknown(String::new()));
    }
    match value {
        Val::List(mut items) => {
            let Some(n) = key.to_number() else {
                return error("a list index must be a number");
            };
            if n < 0.0 || n.fract() != 0.0 || n as usize >= items.len() {
                return error("index out of range");
            }
            Ok(items.swap_remove(n as usize))
        }
        Val::Map(mut map) => {
            let Some(key) = key.to_text() else {
                return error("a map key must be a string");
            };
            match map.remove(&key) {
                Some(value) => Ok(value),
                None => error(format!("no key {key:?}")),
            }
        }
        Val::Ref(mut path) => match key {
            Val::Number(_) | Val::String(_) => {
                path.push_str(&instance_key(key));
                Ok(Val::Ref(path))
            }
            _ => error("an index must be a number or a string"),
        },
        Val::Unknown(_) => Ok(Val::Unknown(String::new())),
        other => error(format!("cannot index a {}", other.type_name())),
    }
}

fn binary(op: BinaryOperator, left: &Val, right: &Val) -> R {
    use BinaryOperator as B;
    match op {
        B::And | B::Or => {
            let (l, r) = (left.to_bool(), right.to_bool());
            let absorbing = op == B::Or;
            if l == Some(absorbing) || r == Some(absorbing) {
                return Ok(Val::Bool(absorbing));
            }
            if left.is_pending() || right.is_pending() {
                return Ok(Val::Unknown(String::new()));
            }
            match (l, r) {
                (Some(l), Some(r)) => Ok(Val::Bool(if op == B::And { l && r } else { l || r })),
                _ => error("logical operators need bools"),
            }
        }
        B::Eq | B::NotEq => {
            if !left.is_wholly_known() || !right.is_wholly_known() {
                return Ok(Val::Unknown(String::new()));
            }
            let equal = left == right;
            Ok(Val::Bool(if op == B::Eq { equal } else { !equal }))
        }
        _ => {
            if left.is_pending() || right.is_pending() {
                return Ok(Val::Unknown(String::new()));
            }
            let (Some(l), Some(r)) = (left.to_number(), right.to_number()) else {
                return error(format!("`{}` needs numbers", op.as_str()));
            };
            let value = match op {
                B::Less => return Ok(Val::Bool(l < r)),
                B::LessEq => return Ok(Val::Bool(l <= r)),
                B::Greater => return Ok(Val::Bool(l > r)),
                B::GreaterEq => return Ok(Val::Bool(l >= r)),
                B::Plus => l + r,
                B::Minus => l - r,
                B::Mul => l * r,
                B::Div if r == 0.0 => return error("division by zero"),
                B::Div => l / r,
                B::Mod if r == 0.0 => return error("modulo by zero"),
                B::Mod => l % r,
                _ => return error("unsupported operator"),
            };
            if value.is_finite() {
                Ok(Val::Number(value))
            } else {
                error("the result is not a finite number")
            }
        }
    }
}
