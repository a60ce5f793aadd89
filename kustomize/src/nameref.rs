//! Name references: after names change (prefix, suffix, hash), fields that
//! refer to a resource by name follow it (a Deployment's ConfigMap volume,
//! a RoleBinding's roleRef and subjects, ...).

use crate::fieldspec::{FieldSpec, Visit, parse_specs, walk};
use crate::resource::{Resource, ResourceList, split_api_version};
use crate::yaml::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

struct Referral {
    group: Option<String>,
    kind: String,
    specs: Vec<FieldSpec>,
}

fn config() -> &'static [Referral] {
    static C: OnceLock<Vec<Referral>> = OnceLock::new();
    C.get_or_init(|| {
        let text = include_str!("namereference.yaml");
        let docs =
            crate::yaml::parse_documents(text).expect("built-in name references are valid YAML");
        let mut out: Vec<Referral> = Vec::new();
        for e in docs[0]
            .get("nameReference")
            .and_then(Value::as_seq)
            .into_iter()
            .flatten()
        {
            let kind = e
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let group = e.get("group").and_then(Value::as_str).map(str::to_string);
            let specs: Vec<FieldSpec> = e
                .get("fieldSpecs")
                .and_then(Value::as_seq)
                .map(|s| s.iter().filter_map(FieldSpec::from_value).collect())
                .unwrap_or_default();
            match out.iter_mut().find(|r| r.kind == kind && r.group == group) {
                Some(r) => r.specs.extend(specs),
                None => out.push(Referral { group, kind, specs }),
            }
        }
        let _ = parse_specs; // specs are read above
        out
    })
}

/// What a referrer sees of a candidate target.
#[derive(Clone)]
struct Candidate {
    names: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    orig_ns: String,
    ns: String,
    new_name: String,
    cluster_scoped: bool,
}

fn ns_key(s: &str) -> &str {
    if s.is_empty() { "default" } else { s }
}

/// Candidates of one referral kind, indexed by every name they had.
struct Cands {
    all: Vec<Candidate>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Cands {
    fn new(all: Vec<Candidate>) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in all.iter().enumerate() {
            for n in &c.names {
                let e = by_name.entry(n.clone()).or_default();
                if e.last() != Some(&i) {
                    e.push(i);
                }
            }
        }
        Cands { all, by_name }
    }
}

/// Whether the shorter list is the end of the longer one.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[a.len() - n..] == b[b.len() - n..]
}

/// The referrer's name prefixes and suffixes, in the order applied.
type Affixes<'a> = (&'a [String], &'a [String]);

fn pick<'a>(
    cands: &'a Cands,
    name: &str,
    referrer_ns: &str,
    referrer_cluster: bool,
    subject_ns: Option<&str>,
    affixes: Affixes<'_>,
) -> Option<&'a Candidate> {
    let mut found: Vec<&Candidate> = cands
        .by_name
        .get(name)?
        .iter()
        .map(|&i| &cands.all[i])
        .filter(|c| {
            subject_ns
                .is_none_or(|sns| ns_key(&c.orig_ns) == ns_key(sns) || ns_key(&c.ns) == ns_key(sns))
        })
        .collect();
    if found.len() > 1 && !referrer_cluster {
        let same: Vec<&Candidate> = found
            .iter()
            .copied()
            .filter(|c| c.cluster_scoped || ns_key(&c.ns) == ns_key(referrer_ns))
            .collect();
        if !same.is_empty() {
            found = same;
        }
    }
    if found.len() > 1 {
        // Several bases renamed the same name: keep those renamed like the
        // referrer (the same prefixes and suffixes), as kustomize does.
        let same: Vec<&Candidate> = found
            .iter()
            .copied()
            .filter(|c| same_ending(&c.prefixes, affixes.0) && same_ending(&c.suffixes, affixes.1))
            .collect();
        if !same.is_empty() {
            found = same;
        }
    }
    let first = found.first()?;
    if found.iter().all(|c| c.new_name == first.new_name) {
        Some(first)
    } else {
        None
    }
}

/// Updates every name reference in the list.
pub(crate) fn fix(list: &mut ResourceList) {
    // Index candidates by kind once: linear in the number of resources.
    let mut by_kind: HashMap<(String, String), Vec<Candidate>> = HashMap::new();
    for r in &list.items {
        if r.prev.is_empty() {
            continue; // never renamed: references to it stay as they are
        }
        let (group, _) = split_api_version(&r.api_version());
        let mut names: Vec<String> = r.prev.iter().map(|(n, _)| n.clone()).collect();
        names.push(r.name().to_string());
        by_kind
            .entry((r.kind().to_string(), group))
            .or_default()
            .push(Candidate {
                names,
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
                orig_ns: r.orig().1,
                ns: r.namespace().to_string(),
                new_name: r.name().to_string(),
                cluster_scoped: crate::fieldspec::is_cluster_scoped(&r.api_version(), &r.kind()),
            });
    }
    if by_kind.is_empty() {
        return;
    }
    for referral in config() {
        let cands: Vec<Candidate> = by_kind
            .iter()
            .filter(|((k, g), _)| {
                *k == referral.kind && referral.group.as_ref().is_none_or(|rg| rg == g)
            })
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        if cands.is_empty() {
            continue;
        }
        let cands = Cands::new(cands);
        for r in &mut list.items {
            fix_resource(r, referral, &cands);
        }
    }
}

fn fix_resource(r: &mut Resource, referral: &Referral, cands: &Cands) {
    let ns = r.namespace().to_string();
    let (prefixes, suffixes) = (r.prefixes.clone(), r.suffixes.clone());
    let affixes = (prefixes.as_slice(), suffixes.as_slice());
    let cluster = crate::fieldspec::is_cluster_scoped(&r.api_version(), &r.kind());
    let specs: Vec<FieldSpec> = referral
        .specs
        .iter()
        .filter(|s| s.matches(r))
        .cloned()
        .collect();
    for s in specs {
        let last = s.path.last().map(String::as_str).unwrap_or("");
        if last == "subjects" {
            walk(&mut r.obj, &s.path, false, &mut |v| {
                if let Visit::Found(Value::Seq(items)) = v {
                    for subj in items {
                        if subj.get("kind").and_then(Value::as_str) != Some(referral.kind.as_str())
                        {
                            continue;
                        }
                        let Some(name) =
                            subj.get("name").and_then(Value::as_str).map(str::to_string)
                        else {
                            continue;
                        };
                        let sns = subj
                            .get("namespace")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        if let Some(c) = pick(cands, &name, &sns, true, Some(&sns), affixes)
                            && let Value::Map(m) = subj
                        {
                            m.insert("name".into(), Value::Str(c.new_name.clone()));
                            if !c.ns.is_empty() {
                                m.insert("namespace".into(), Value::Str(c.ns.clone()));
                            }
                        }
                    }
                }
            });
            continue;
        }
        // roleRef names a Role or a ClusterRole: only follow the matching kind.
        let is_role_ref = s.path.len() >= 2 && s.path[s.path.len() - 2] == "roleRef";
        if is_role_ref && r.obj.get_str(&["roleRef", "kind"]) != Some(referral.kind.as_str()) {
            continue;
        }
        walk(&mut r.obj, &s.path, false, &mut |v| {
            if let Visit::Found(v) = v {
                match v {
                    Value::Str(name) => {
                        if let Some(c) = pick(cands, name, &ns, cluster, None, affixes) {
                            *name = c.new_name.clone();
                        }
                    }
                    Value::Seq(items) => {
                        for it in items {
                            if let Value::Str(name) = it
                                && let Some(c) = pick(cands, name, &ns, cluster, None, affixes)
                            {
                                *name = c.new_name.clone();
                            }
                        }
                    }
                    _ => {}
                }
            }
        });
    }
}
