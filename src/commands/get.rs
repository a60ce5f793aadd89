use anyhow::{Context, bail};
use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::{Value, json};

use crate::cli::target::Target;
use crate::cli::verbs::{GetArgs, GetCommand, GetFlags, GetOutput};
use crate::cluster::objects::{self, ObjectError};
use crate::cluster::reconnect::Reachability;
use crate::commands::Ctx;
use crate::error::ExitStatus;
use crate::kinds::{self, Column, Group, KindSpec};
use crate::output::table;
use crate::render::yaml;

/// Which columns a table shows, decided once per command.
struct Layout {
    all_namespaces: bool,
    wide: bool,
    show_source: bool,
    /// `get all` prefixes names with the lower-cased kind.
    kind_prefix: bool,
    no_header: bool,
}

impl Layout {
    fn columns(&self, spec: &KindSpec) -> Vec<Column> {
        let mut columns: Vec<Column> = Vec::new();
        let source = spec.columns.iter().find(|c| c.header == "Source" && c.wide);
        for column in spec.columns {
            let moved = self.show_source
                && source.is_some_and(|s| s.header == column.header && column.wide);
            if moved || (column.wide && !self.wide) {
                continue;
            }
            columns.push(*column);
            if column.header == "Name" && self.show_source {
                columns.extend(source.map(|s| Column { wide: false, ..*s }));
            }
        }
        columns
    }

    fn header(&self, columns: &[Column]) -> Vec<&'static str> {
        let mut header: Vec<&str> = columns.iter().map(|c| c.header).collect();
        if self.all_namespaces {
            header.insert(0, "Namespace");
        }
        header
    }

    fn row(&self, spec: &KindSpec, columns: &[Column], object: &Value) -> Vec<String> {
        let mut row: Vec<String> = columns.iter().map(|c| (c.cell)(object)).collect();
        if self.kind_prefix {
            row[0] = format!("{}/{}", spec.kind.to_lowercase(), row[0]);
        }
        if self.all_namespaces {
            row.insert(
                0,
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        row
    }

    fn render(&self, spec: &KindSpec, rows: &[Vec<String>]) -> String {
        let header = self.header(&self.columns(spec));
        table::render((!self.no_header).then_some(header.as_slice()), rows)
    }
}

/// What a list produced: table rows, or whole objects for `-o json|yaml`.
enum Listing {
    Rows(Vec<Vec<String>>),
    Items(Vec<Value>),
}

impl Listing {
    fn is_empty(&self) -> bool {
        match self {
            Self::Rows(rows) => rows.is_empty(),
            Self::Items(items) => items.is_empty(),
        }
    }
}

fn list_params(flags: &GetFlags, names: &[String]) -> ListParams {
    let mut params = ListParams::default();
    if let Some(selector) = &flags.label_selector {
        params = params.labels(selector);
    }
    if let [name] = names {
        params = params.fields(&format!("metadata.name={name}"));
    }
    params
}

fn scope(ctx: &Ctx, flags: &GetFlags) -> String {
    if flags.all_namespaces {
        "any namespace".into()
    } else {
        format!("{:?} namespace", ctx.global.namespace)
    }
}

/// Lists one kind with the command's filters applied. For tables, each
/// page is turned into rows as it arrives, so memory holds rows, not the
/// objects of a 10,000-item list.
async fn list_kind(
    ctx: &Ctx,
    spec: &'static KindSpec,
    flags: &GetFlags,
    names: &[String],
    layout: Option<&Layout>,
) -> Result<Listing, ObjectError> {
    let client = ctx
        .kube
        .client()
        .await
        .map_err(|e| ObjectError::Client(e.to_string()))?;
    let namespace = (!flags.all_namespaces).then_some(ctx.global.namespace.as_str());
    let api = objects::api(client, spec, namespace);
    let wanted = |o: &Value| {
        let named = names.len() < 2
            || o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| names.iter().any(|w| w == n));
        named
            && flags
                .status_selector
                .as_ref()
                .is_none_or(|s| s.matches(spec, o))
    };
    let params = list_params(flags, names);
    match layout {
        Some(layout) => {
            let columns = layout.columns(spec);
            let mut rows = Vec::new();
            objects::for_each_page(spec, &api, &params, |page| {
                rows.extend(
                    page.iter()
                        .filter(|o| wanted(o))
                        .map(|o| layout.row(spec, &columns, o)),
                );
            })
            .await?;
            Ok(Listing::Rows(rows))
        }
        None => {
            let mut items = objects::list(spec, &api, &params).await?;
            items.retain(wanted);
            Ok(Listing::Items(items))
        }
    }
}

/// A `List` like kubectl prints for `-o json|yaml`.
fn list_document(items: Vec<Value>, output: GetOutput) -> String {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
    match output {
        GetOutput::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&list).expect("JSON values serialise")
        ),
        _ => yaml::to_string(&list),
    }
}

fn check_show_source(spec: &KindSpec, args: &GetArgs) -> anyhow::Result<()> {
    if args.show_source && !spec.show_source {
        bail!("--show-source is only available for kustomizations and helmreleases");
    }
    Ok(())
}

pub async fn run(ctx: &Ctx, command: &GetCommand) -> anyhow::Result<ExitStatus> {
    let flags = &command.flags;
    let args = &command.target.args;
    let layout = Layout {
        all_namespaces: flags.all_namespaces,
        wide: flags.output == GetOutput::Wide,
        show_source: args.show_source,
        kind_prefix: matches!(command.target.target, Target::All(_)),
        no_header: flags.no_header,
    };
    match command.target.target {
        Target::Kind(spec) => {
            check_show_source(spec, args)?;
            if flags.watch {
                return watch(ctx, spec, flags, args, &layout).await;
            }
            let table = matches!(flags.output, GetOutput::Table | GetOutput::Wide);
            let listing =
                list_kind(ctx, spec, flags, &args.names, table.then_some(&layout)).await?;
            if listing.is_empty() && flags.status_selector.is_none() {
                match args.names.as_slice() {
                    [name] => bail!(
                        "{} object '{name}' not found in {}",
                        spec.kind,
                        scope(ctx, flags)
                    ),
                    _ => bail!("no {} objects found in {}", spec.kind, scope(ctx, flags)),
                }
            }
            let text = match listing {
                Listing::Items(items) => list_document(items, flags.output),
                Listing::Rows(rows) => layout.render(spec, &rows),
            };
            ctx.printer
                .out(&text)
                .context("unable to write to stdout")?;
            Ok(ExitStatus::Success)
        }
        Target::All(group) => {
            if flags.watch {
                bail!("expected a single resource type, but found all");
            }
            if args.show_source {
                bail!("--show-source is only available for kustomizations and helmreleases");
            }
            get_all(ctx, group, flags, args, &layout).await
        }
    }
}

/// Lists every kind of the group concurrently, then prints in registry order.
async fn get_all(
    ctx: &Ctx,
    group: Group,
    flags: &GetFlags,
    args: &GetArgs,
    layout: &Layout,
) -> anyhow::Result<ExitStatus> {
    let specs: Vec<&'static KindSpec> = kinds::all_in(group).collect();
    let table = matches!(flags.output, GetOutput::Table | GetOutput::Wide);
    let results = futures::future::join_all(
        specs
            .iter()
            .map(|spec| list_kind(ctx, spec, flags, &args.names, table.then_some(layout))),
    )
    .await;
    let mut all_items = Vec::new();
    for (spec, result) in specs.into_iter().zip(results) {
        match result {
            Ok(listing) if listing.is_empty() => {}
            Ok(Listing::Items(items)) => all_items.extend(items),
            Ok(Listing::Rows(rows)) => {
                ctx.printer
                    .out(&format!("{}\n", layout.render(spec, &rows)))
                    .context("unable to write to stdout")?;
            }
            // A kind whose CRD is not installed has nothing to show.
            Err(ObjectError::KindNotInstalled { .. }) => {}
            Err(err) => ctx.printer.failure(&err.to_string()),
        }
    }
    if !table {
        ctx.printer
            .out(&list_document(all_items, flags.output))
            .context("unable to write to stdout")?;
    }
    Ok(ExitStatus::Success)
}

/// Prints a row per change as the watch delivers it (the header once), or
/// the changed object with `-o json|yaml`.
async fn watch(
    ctx: &Ctx,
    spec: &'static KindSpec,
    flags: &GetFlags,
    args: &GetArgs,
    layout: &Layout,
) -> anyhow::Result<ExitStatus> {
    let client = ctx.kube.client().await?;
    let namespace = (!flags.all_namespaces).then_some(ctx.global.namespace.as_str());
    let api = objects::api(client, spec, namespace);
    let mut config = watcher::Config::default();
    if let Some(selector) = &flags.label_selector {
        config = config.labels(selector);
    }
    if let [name] = args.names.as_slice() {
        config = config.fields(&format!("metadata.name={name}"));
    }
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let columns = layout.columns(spec);
    let mut header_printed = flags.no_header;
    let mut reach = Reachability::default();
    while let Some(event) = reach.next(&mut stream).await? {
        let object = match event {
            Ok(Event::Apply(o) | Event::InitApply(o) | Event::Delete(o)) => {
                reach.answered();
                objects::to_value(o)
            }
            // Init comes before the list request is answered.
            Ok(Event::Init) => continue,
            Ok(Event::InitDone) => {
                reach.answered();
                continue;
            }
            // The watcher resumes by itself, with backoff.
            Err(err) => {
                reach.failed(ObjectError::from_watcher(spec, None, err))?;
                continue;
            }
        };
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if args.names.len() > 1 && !args.names.iter().any(|n| n == name) {
            continue;
        }
        if flags
            .status_selector
            .as_ref()
            .is_some_and(|s| !s.matches(spec, &object))
        {
            continue;
        }
        // -o json|yaml streams each object as it changes, as `kubectl get
        // -w -o json|yaml` does: one JSON document per event, or YAML
        // documents separated by `---`.
        let text = match flags.output {
            GetOutput::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&object).context("unable to encode the object")?
            ),
            GetOutput::Yaml => format!("---\n{}", yaml::to_string(&object)),
            GetOutput::Table | GetOutput::Wide => {
                let header = layout.header(&columns);
                let row = layout.row(spec, &columns, &object);
                let text = table::render((!header_printed).then_some(header.as_slice()), &[row]);
                header_printed = true;
                text
            }
        };
        ctx.printer
            .out(&text)
            .context("unable to write to stdout")?;
    }
    bail!("the watch closed before the timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            all_namespaces: false,
            wide: false,
            show_source: false,
            kind_prefix: false,
            no_header: false,
        }
    }

    #[test]
    fn show_source_puts_the_source_after_the_name() {
        let spec = kinds::by_kind("Kustomization").unwrap();
        let layout = Layout {
            show_source: true,
            ..layout()
        };
        let headers: Vec<_> = layout.columns(spec).iter().map(|c| c.header).collect();
        assert_eq!(
            headers,
            [
                "Name",
                "Source",
                "Revision",
                "Suspended",
                "Ready",
                "Message"
            ]
        );
    }

    #[test]
    fn wide_adds_columns_and_all_namespaces_leads_with_namespace() {
        let spec = kinds::by_kind("Kustomization").unwrap();
        let layout = Layout {
            wide: true,
            all_namespaces: true,
            ..layout()
        };
        let columns = layout.columns(spec);
        assert_eq!(
            layout.header(&columns),
            [
                "Namespace",
                "Name",
                "Revision",
                "Suspended",
                "Ready",
                "Message",
                "Source",
                "Path",
                "Last transition"
            ]
        );
    }

    #[test]
    fn get_all_prefixes_names_with_the_kind() {
        let spec = kinds::by_kind("GitRepository").unwrap();
        let layout = Layout {
            kind_prefix: true,
            ..layout()
        };
        let row = layout.row(
            spec,
            &layout.columns(spec),
            &json!({"metadata": {"name": "podinfo"}}),
        );
        assert_eq!(row[0], "gitrepository/podinfo");
    }

    #[test]
    fn lists_print_like_kubectl() {
        let text = list_document(vec![json!({"kind": "GitRepository"})], GetOutput::Yaml);
        assert_eq!(
            text,
            "apiVersion: v1\nitems:\n- kind: GitRepository\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
    }
}
