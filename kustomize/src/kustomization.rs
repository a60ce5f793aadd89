//! Reading and checking a kustomization file.

use crate::error::{Error, Result};
use crate::yaml::{Map, Value};
use std::path::{Path, PathBuf};

pub(crate) const FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every field of kustomize v5.6.0's Kustomization type.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// Fields kustomize-rs refuses with a clear error.
const UNSUPPORTED_FIELDS: &[&str] = &[
    "openapi",
    "imageTags",
    "crds",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "configurations",
    "generators",
    "transformers",
    "validators",
];

#[derive(Debug, Default, Clone)]
pub(crate) struct Label {
    pub pairs: Vec<(String, String)>,
    pub fields: Vec<crate::fieldspec::FieldSpec>,
    pub include_selectors: bool,
    pub include_templates: bool,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Image {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    pub tag_suffix: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Target {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Patch {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Target>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct GeneratorArgs {
    pub name: String,
    pub namespace: Option<String>,
    pub behavior: Option<String>,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: Option<GeneratorOptions>,
    pub type_: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) enum SortOrder {
    Legacy {
        first: Option<Vec<String>>,
        last: Option<Vec<String>>,
    },
    Fifo,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Kustomization {
    pub is_component: bool,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub common_labels: Vec<(String, String)>,
    pub labels: Vec<Label>,
    pub common_annotations: Vec<(String, String)>,
    pub images: Vec<Image>,
    pub replicas: Vec<(String, Value)>,
    pub config_maps: Vec<GeneratorArgs>,
    pub secrets: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub patches: Vec<Patch>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub sort: Option<SortOrder>,
    /// `buildMetadata: [originAnnotations]`: say where each resource came from.
    pub origin_annotations: bool,
    pub replacements: Vec<Value>,
    pub vars: Vec<crate::vars::Var>,
}

/// Finds the kustomization file of a directory.
pub(crate) fn find_file(fs: &dyn crate::FileSystem, dir: &Path) -> Result<PathBuf> {
    let found: Vec<&str> = FILE_NAMES
        .iter()
        .copied()
        .filter(|n| fs.is_file(&dir.join(n)))
        .collect();
    match found.as_slice() {
        [] => Err(Error::NoKustomization {
            dir: dir.to_path_buf(),
        }),
        [one] => Ok(dir.join(one)),
        many => Err(Error::ManyKustomizations {
            dir: dir.to_path_buf(),
            found: many.join(", "),
        }),
    }
}

fn bad(file: &Path, message: impl Into<String>) -> Error {
    Error::Kustomization {
        path: file.to_path_buf(),
        message: message.into(),
    }
}

fn string_list(file: &Path, v: &Value, field: &str) -> Result<Vec<String>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s.clone()),
                other => other
                    .scalar_string()
                    .filter(|_| !matches!(other, Value::Null))
                    .ok_or_else(|| bad(file, format!("`{field}` must be a list of strings"))),
            })
            .collect(),
        _ => Err(bad(file, format!("`{field}` must be a list of strings"))),
    }
}

fn string_map(file: &Path, v: &Value, field: &str) -> Result<Vec<(String, String)>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Str(s) => Ok((k.clone(), s.clone())),
                Value::Null => Ok((k.clone(), String::new())),
                _ => Err(bad(
                    file,
                    format!(
                        "`{field}.{k}` must be a string (quote it: \"{}\")",
                        v.scalar_string().unwrap_or_default()
                    ),
                )),
            })
            .collect(),
        _ => Err(bad(file, format!("`{field}` must be a mapping of strings"))),
    }
}

fn opt_string(file: &Path, v: Option<&Value>, field: &str) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            file,
            format!("`{field}` must be a string, not a {}", other.kind_name()),
        )),
    }
}

fn opt_bool(file: &Path, v: Option<&Value>, field: &str) -> Result<Option<bool>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(file, format!("`{field}` must be true or false"))),
    }
}

fn check_fields(file: &Path, m: &Map, known: &[&str], what: &str) -> Result<()> {
    for k in m.keys() {
        if !known.contains(&k.as_str()) {
            return Err(bad(
                file,
                format!(
                    "unknown field `{k}` in {what}; known fields: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn parse_target(file: &Path, v: &Value) -> Result<Target> {
    let m = v
        .as_map()
        .ok_or_else(|| bad(file, "patch `target` must be a mapping"))?;
    check_fields(
        file,
        m,
        &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "labelSelector",
            "annotationSelector",
        ],
        "a patch target",
    )?;
    Ok(Target {
        group: opt_string(file, m.get("group"), "target.group")?,
        version: opt_string(file, m.get("version"), "target.version")?,
        kind: opt_string(file, m.get("kind"), "target.kind")?,
        name: opt_string(file, m.get("name"), "target.name")?,
        namespace: opt_string(file, m.get("namespace"), "target.namespace")?,
        label_selector: opt_string(file, m.get("labelSelector"), "target.labelSelector")?,
        annotation_selector: opt_string(
            file,
            m.get("annotationSelector"),
            "target.annotationSelector",
        )?,
    })
}

fn parse_options(file: &Path, v: &Value, field: &str) -> Result<GeneratorOptions> {
    let m = v
        .as_map()
        .ok_or_else(|| bad(file, format!("`{field}` must be a mapping")))?;
    check_fields(
        file,
        m,
        &[
            "labels",
            "annotations",
            "disableNameSuffixHash",
            "immutable",
        ],
        field,
    )?;
    Ok(GeneratorOptions {
        labels: m
            .get("labels")
            .map(|v| string_map(file, v, "labels"))
            .transpose()?
            .unwrap_or_default(),
        annotations: m
            .get("annotations")
            .map(|v| string_map(file, v, "annotations"))
            .transpose()?
            .unwrap_or_default(),
        disable_name_suffix_hash: opt_bool(
            file,
            m.get("disableNameSuffixHash"),
            "disableNameSuffixHash",
        )?,
        immutable: opt_bool(file, m.get("immutable"), "immutable")?,
    })
}

fn parse_generators(
    file: &Path,
    v: &Value,
    field: &str,
    secret: bool,
) -> Result<Vec<GeneratorArgs>> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Seq(s) => s,
        _ => return Err(bad(file, format!("`{field}` must be a list"))),
    };
    let mut out = Vec::new();
    for it in items {
        let m = it
            .as_map()
            .ok_or_else(|| bad(file, format!("each `{field}` entry must be a mapping")))?;
        let mut known = vec![
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
        ];
        if secret {
            known.push("type");
        }
        check_fields(file, m, &known, field)?;
        let mut envs = m
            .get("envs")
            .map(|v| string_list(file, v, "envs"))
            .transpose()?
            .unwrap_or_default();
        if let Some(env) = opt_string(file, m.get("env"), "env")? {
            envs.insert(0, env);
        }
        out.push(GeneratorArgs {
            name: opt_string(file, m.get("name"), "name")?.unwrap_or_default(),
            namespace: opt_string(file, m.get("namespace"), "namespace")?,
            behavior: opt_string(file, m.get("behavior"), "behavior")?,
            literals: m
                .get("literals")
                .map(|v| string_list(file, v, "literals"))
                .transpose()?
                .unwrap_or_default(),
            files: m
                .get("files")
                .map(|v| string_list(file, v, "files"))
                .transpose()?
                .unwrap_or_default(),
            envs,
            options: m
                .get("options")
                .map(|v| parse_options(file, v, "options"))
                .transpose()?,
            type_: opt_string(file, m.get("type"), "type")?,
        });
    }
    Ok(out)
}

fn parse_patches(file: &Path, v: &Value, field: &str) -> Result<Vec<Patch>> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Seq(s) => s,
        _ => return Err(bad(file, format!("`{field}` must be a list"))),
    };
    let mut out = Vec::new();
    for it in items {
        let m = it
            .as_map()
            .ok_or_else(|| bad(file, format!("each `{field}` entry must be a mapping")))?;
        check_fields(file, m, &["path", "patch", "target", "options"], field)?;
        let (mut allow_name_change, mut allow_kind_change) = (false, false);
        if let Some(Value::Map(o)) = m.get("options") {
            check_fields(
                file,
                o,
                &["allowNameChange", "allowKindChange"],
                "patch options",
            )?;
            allow_name_change =
                opt_bool(file, o.get("allowNameChange"), "allowNameChange")?.unwrap_or(false);
            allow_kind_change =
                opt_bool(file, o.get("allowKindChange"), "allowKindChange")?.unwrap_or(false);
        }
        let p = Patch {
            allow_name_change,
            allow_kind_change,
            path: opt_string(file, m.get("path"), "path")?,
            patch: opt_string(file, m.get("patch"), "patch")?,
            target: m
                .get("target")
                .filter(|t| !matches!(t, Value::Null))
                .map(|t| parse_target(file, t))
                .transpose()?,
        };
        if p.path.is_some() == p.patch.is_some() {
            return Err(bad(
                file,
                format!("each `{field}` entry needs exactly one of `path` or `patch`"),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// Parses a kustomization document.
pub(crate) fn parse(file: &Path, doc: &Value) -> Result<Kustomization> {
    let m = match doc {
        Value::Map(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(bad(file, "a kustomization must be a YAML mapping")),
    };
    for k in m.keys() {
        if !KNOWN_FIELDS.contains(&k.as_str()) {
            return Err(bad(
                file,
                format!(
                    "unknown field \"{k}\"; check its spelling against the kustomization reference"
                ),
            ));
        }
    }
    for f in UNSUPPORTED_FIELDS {
        if let Some(v) = m.get(*f)
            && !matches!(v, Value::Null)
        {
            return Err(Error::Unsupported {
                path: file.to_path_buf(),
                field: f.to_string(),
                value: crate::yaml::to_yaml(v).trim_end().replace('\n', " "),
            });
        }
    }
    let mut k = Kustomization::default();
    let api_version = opt_string(file, m.get("apiVersion"), "apiVersion")?;
    let kind = opt_string(file, m.get("kind"), "kind")?;
    match kind.as_deref() {
        None | Some("") | Some("Kustomization") => {
            if let Some(av) = api_version.as_deref()
                && !av.is_empty()
                && av != "kustomize.config.k8s.io/v1beta1"
            {
                return Err(bad(
                    file,
                    format!("apiVersion \"{av}\" is not kustomize.config.k8s.io/v1beta1"),
                ));
            }
        }
        Some("Component") => {
            if api_version.as_deref() != Some("kustomize.config.k8s.io/v1alpha1") {
                return Err(bad(
                    file,
                    "a Component needs apiVersion: kustomize.config.k8s.io/v1alpha1",
                ));
            }
            k.is_component = true;
        }
        Some(other) => {
            return Err(bad(
                file,
                format!("kind \"{other}\" is neither Kustomization nor Component"),
            ));
        }
    }
    let get = |f: &str| m.get(f).unwrap_or(&Value::Null);
    for f in [
        "labels",
        "images",
        "replicas",
        "replacements",
        "components",
        "resources",
    ] {
        if !matches!(get(f), Value::Null | Value::Seq(_)) {
            return Err(bad(file, format!("`{f}` must be a list")));
        }
    }
    k.resources = string_list(file, get("resources"), "resources")?;
    k.resources
        .extend(string_list(file, get("bases"), "bases")?);
    k.components = string_list(file, get("components"), "components")?;
    k.namespace = opt_string(file, m.get("namespace"), "namespace")?;
    k.name_prefix = opt_string(file, m.get("namePrefix"), "namePrefix")?;
    k.name_suffix = opt_string(file, m.get("nameSuffix"), "nameSuffix")?;
    k.common_labels = string_map(file, get("commonLabels"), "commonLabels")?;
    k.common_annotations = string_map(file, get("commonAnnotations"), "commonAnnotations")?;
    if let Value::Seq(items) = get("labels") {
        for it in items {
            let lm = it
                .as_map()
                .ok_or_else(|| bad(file, "each `labels` entry must be a mapping"))?;
            check_fields(
                file,
                lm,
                &["pairs", "includeSelectors", "includeTemplates", "fields"],
                "labels",
            )?;
            let mut fields = Vec::new();
            for f in lm
                .get("fields")
                .and_then(Value::as_seq)
                .into_iter()
                .flatten()
            {
                if let Some(fm) = f.as_map() {
                    check_fields(
                        file,
                        fm,
                        &["path", "group", "version", "kind", "create"],
                        "labels[].fields",
                    )?;
                }
                fields.push(
                    crate::fieldspec::FieldSpec::from_value(f)
                        .ok_or_else(|| bad(file, "each `labels[].fields` entry needs a `path`"))?,
                );
            }
            k.labels.push(Label {
                fields,
                pairs: string_map(
                    file,
                    lm.get("pairs").unwrap_or(&Value::Null),
                    "labels.pairs",
                )?,
                include_selectors: opt_bool(file, lm.get("includeSelectors"), "includeSelectors")?
                    .unwrap_or(false),
                include_templates: opt_bool(file, lm.get("includeTemplates"), "includeTemplates")?
                    .unwrap_or(false),
            });
        }
    }
    if let Value::Seq(items) = get("images") {
        for it in items {
            let im = it
                .as_map()
                .ok_or_else(|| bad(file, "each `images` entry must be a mapping"))?;
            check_fields(
                file,
                im,
                &["name", "newName", "newTag", "digest", "tagSuffix"],
                "images",
            )?;
            let tag = opt_string(file, im.get("newTag"), "images[].newTag")?;
            k.images.push(Image {
                name: opt_string(file, im.get("name"), "images[].name")?.unwrap_or_default(),
                new_name: opt_string(file, im.get("newName"), "images[].newName")?,
                new_tag: tag,
                digest: opt_string(file, im.get("digest"), "images[].digest")?,
                tag_suffix: opt_string(file, im.get("tagSuffix"), "images[].tagSuffix")?,
            });
        }
    }
    if let Value::Seq(items) = get("replicas") {
        for it in items {
            let rm = it
                .as_map()
                .ok_or_else(|| bad(file, "each `replicas` entry must be a mapping"))?;
            check_fields(file, rm, &["name", "count"], "replicas")?;
            let name = opt_string(file, rm.get("name"), "replicas[].name")?.unwrap_or_default();
            let count = match rm.get("count") {
                Some(v @ Value::Int(_)) => v.clone(),
                None | Some(Value::Null) => Value::Int(0),
                _ => return Err(bad(file, "`replicas[].count` must be an integer")),
            };
            k.replicas.push((name, count));
        }
    }
    k.config_maps = parse_generators(file, get("configMapGenerator"), "configMapGenerator", false)?;
    k.secrets = parse_generators(file, get("secretGenerator"), "secretGenerator", true)?;
    if let Some(o) = m
        .get("generatorOptions")
        .filter(|v| !matches!(v, Value::Null))
    {
        k.generator_options = Some(parse_options(file, o, "generatorOptions")?);
    }
    k.patches = parse_patches(file, get("patches"), "patches")?;
    k.vars = crate::vars::parse(file, get("vars"))?;
    k.replacements = match get("replacements") {
        Value::Null => Vec::new(),
        Value::Seq(items) => items.clone(),
        _ => return Err(bad(file, "`replacements` must be a list")),
    };
    k.patches_json6902 = parse_patches(file, get("patchesJson6902"), "patchesJson6902")?;
    for p in &k.patches_json6902 {
        if p.target.is_none() {
            return Err(bad(file, "each `patchesJson6902` entry needs a `target`"));
        }
    }
    k.patches_strategic_merge =
        string_list(file, get("patchesStrategicMerge"), "patchesStrategicMerge")?;
    for option in string_list(file, get("buildMetadata"), "buildMetadata")? {
        match option.as_str() {
            "originAnnotations" => k.origin_annotations = true,
            other => {
                return Err(Error::Unsupported {
                    path: file.to_path_buf(),
                    field: "buildMetadata".into(),
                    value: format!("{other} (only originAnnotations is supported)"),
                });
            }
        }
    }
    if let Some(so) = m.get("sortOptions").filter(|v| !matches!(v, Value::Null)) {
        let sm = so
            .as_map()
            .ok_or_else(|| bad(file, "`sortOptions` must be a mapping"))?;
        check_fields(file, sm, &["order", "legacySortOptions"], "sortOptions")?;
        k.sort = Some(match sm.get("order").and_then(Value::as_str) {
            Some("fifo") => {
                if sm.contains_key("legacySortOptions") {
                    return Err(bad(
                        file,
                        "legacySortOptions is only allowed with order: legacy",
                    ));
                }
                SortOrder::Fifo
            }
            Some("legacy") => {
                let lo = sm.get("legacySortOptions");
                // Given legacySortOptions, a list left out is empty (not the default).
                let list = |f: &str| -> Result<Option<Vec<String>>> {
                    match lo {
                        None | Some(Value::Null) => Ok(None),
                        Some(l) => Ok(Some(
                            l.get(f)
                                .map(|v| string_list(file, v, f))
                                .transpose()?
                                .unwrap_or_default(),
                        )),
                    }
                };
                SortOrder::Legacy {
                    first: list("orderFirst")?,
                    last: list("orderLast")?,
                }
            }
            other => {
                return Err(bad(
                    file,
                    format!("sortOptions.order must be legacy or fifo, not {other:?}"),
                ));
            }
        });
    }
    Ok(k)
}
