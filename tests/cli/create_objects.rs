//! `flux create kustomization|helmrelease|alert|alert-provider|receiver|
//! image …|tenant --export`. Upstream's goldens for these kinds are not in
//! the shared subset; the expected documents below follow the field tables
//! of the spec (section 7) and upstream's invocations (section 18.3).

use crate::common::run;
use crate::create_source::export;

fn parse<T: serde::de::DeserializeOwned>(doc: &str) -> T {
    flux_rs::render::yaml::from_str(doc.trim_start_matches("---\n")).expect("typed object")
}

#[test]
fn kustomization_with_health_checks_and_dependencies() {
    let out = export(
        "create ks podinfo --source=tkfg --path=deploy/overlays/dev --prune=true --interval=5m --health-check=Deployment/frontend.dev --health-check=HelmRelease/backend.dev --health-check-timeout=3m --depends-on infra/controllers@ready --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  dependsOn:\n  - name: controllers\n    namespace: infra\n  healthChecks:\n  - kind: Deployment\n    name: frontend\n    namespace: dev\n  - apiVersion: helm.toolkit.fluxcd.io/v2\n    kind: HelmRelease\n    name: backend\n    namespace: dev\n  interval: 5m0s\n  path: ./deploy/overlays/dev\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: tkfg\n  timeout: 3m0s\n"
    );
    let ks: flux_api::Kustomization = parse(&out);
    assert!(ks.spec.prune);
}

#[test]
fn kustomization_defaults_write_path_and_prune() {
    let out = export(
        "create kustomization apps --source=OCIRepository/apps.flux-system --wait --health-check=Deployment/x.y --decryption-provider=sops --decryption-secret=sops-age --target-namespace=apps --retry-interval=30s --export",
    );
    assert!(out.contains("  path: ./\n  prune: false\n"), "{out}");
    assert!(out.contains("  wait: true\n"), "{out}");
    assert!(
        !out.contains("healthChecks"),
        "--wait ignores health checks: {out}"
    );
    assert!(out.contains("  timeout: 2m0s\n"), "{out}");
    assert!(
        out.contains("  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "  sourceRef:\n    kind: OCIRepository\n    name: apps\n    namespace: flux-system\n"
        ),
        "{out}"
    );
    assert!(out.contains("  retryInterval: 30s\n"), "{out}");
    let _: flux_api::Kustomization = parse(&out);
}

#[test]
fn kustomization_validation_flag_prints_deprecation_on_stdout() {
    let out = run(&[
        "create",
        "ks",
        "apps",
        "--source=apps",
        "--validation=client",
        "--export",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Flag --validation has been deprecated"),
        "{}",
        out.stdout
    );
}

#[test]
fn helmrelease_basic_chart_and_chart_refs() {
    let ns = "flux-system-2";
    let out = export(&format!(
        "create helmrelease podinfo --source Helmrepository/podinfo --chart podinfo --interval=1m0s --export -n {ns}"
    ));
    assert_eq!(
        out,
        format!(
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  interval: 1m0s\n"
        )
    );
    let _: flux_api::HelmRelease = parse(&out);
    for kind in ["OCIRepository", "HelmChart"] {
        let out = export(&format!(
            "create hr podinfo --chart-ref {kind}/podinfo --interval=1m0s --export -n {ns}"
        ));
        assert_eq!(
            out,
            format!(
                "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: {ns}\nspec:\n  chartRef:\n    kind: {kind}\n    name: podinfo\n  interval: 1m0s\n"
            )
        );
    }
}

#[test]
fn helmrelease_values_are_merged_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &a,
        "replicaCount: 1\nimage:\n  tag: v1\n  pullPolicy: Always\n",
    )
    .unwrap();
    std::fs::write(&b, "image:\n  tag: v2\n").unwrap();
    let out = export(&format!(
        "create hr podinfo --source=GitRepository/podinfo.apps --chart=./charts/podinfo --values={},{} --values-from=configmap/extra --target-namespace=web --create-target-namespace --crds=CreateReplace --depends-on=infra/db --export",
        a.display(),
        b.display()
    ));
    assert!(
        out.contains(
            "  values:\n    image:\n      pullPolicy: Always\n      tag: v2\n    replicaCount: 1\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  valuesFrom:\n  - kind: ConfigMap\n    name: extra\n"),
        "{out}"
    );
    assert!(
        out.contains("  storageNamespace: web\n  targetNamespace: web\n"),
        "{out}"
    );
    assert!(
        out.contains("  install:\n    crds: Create\n    createNamespace: true\n"),
        "{out}"
    );
    assert!(
        out.contains("  upgrade:\n    crds: CreateReplace\n"),
        "{out}"
    );
    assert!(out.contains("        namespace: apps\n"), "{out}");
    let hr: flux_api::HelmRelease = parse(&out);
    assert_eq!(
        hr.spec.depends_on.unwrap()[0].namespace.as_deref(),
        Some("infra")
    );
}

#[test]
fn alert_provider_and_receiver() {
    let out = export(
        "create alert-provider slack --type slack --channel general --secret-ref slack-url --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\n  namespace: flux-system\nspec:\n  channel: general\n  secretRef:\n    name: slack-url\n  type: slack\n"
    );
    let _: flux_api::Provider = parse(&out);
    let out = export(
        "create alert apps --provider-ref slack --event-source GitRepository/*,Kustomization/apps.flux-system --event-severity error --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  eventSeverity: error\n  eventSources:\n  - kind: GitRepository\n    name: '*'\n  - kind: Kustomization\n    name: apps\n    namespace: flux-system\n  providerRef:\n    name: slack\n"
    );
    let _: flux_api::Alert = parse(&out);
    let out = export(
        "create receiver github --type github --event ping,push --secret-ref token --resource GitRepository/webapp --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata:\n  name: github\n  namespace: flux-system\nspec:\n  events:\n  - ping\n  - push\n  resources:\n  - kind: GitRepository\n    name: webapp\n  secretRef:\n    name: token\n  type: github\n"
    );
    let _: flux_api::Receiver = parse(&out);
}

#[test]
fn image_repository_and_policy() {
    let out = export(
        "create image repository podinfo --image=ghcr.io/stefanprodan/podinfo --interval=10m --scan-timeout=1m --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  image: ghcr.io/stefanprodan/podinfo\n  interval: 10m0s\n  timeout: 1m0s\n"
    );
    let _: flux_api::ImageRepository = parse(&out);
    let out = export(
        "create image policy podinfo-semver --image-ref=podinfo --interval=10m --reflect-digest=Always --select-semver=5.0.x --export",
    );
    assert_eq!(
        out,
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: podinfo-semver\n  namespace: flux-system\nspec:\n  digestReflectionPolicy: Always\n  imageRepositoryRef:\n    name: podinfo\n  interval: 10m0s\n  policy:\n    semver:\n      range: 5.0.x\n"
    );
    let _: flux_api::ImagePolicy = parse(&out);
    // A regex alone still writes `extract: ""`.
    let out = export(
        "create image policy podinfo-regex --image-ref=podinfo --select-numeric=asc --filter-regex=^main-(?P<ts>[0-9]+)$ --export",
    );
    assert!(
        out.contains("  filterTags:\n    extract: \"\"\n    pattern: ^main-(?P<ts>[0-9]+)$\n"),
        "{out}"
    );
    assert!(
        out.contains("  policy:\n    numerical:\n      order: asc\n"),
        "{out}"
    );
    // Upstream quirk: semver with a sort order gives an empty policy.
    let out = export(
        "create image policy p1 --image-ref=podinfo --select-semver=1.x --select-alpha=asc --export",
    );
    assert!(out.contains("  policy: {}\n"), "{out}");
}

#[test]
fn image_update_goldens_by_spec() {
    let base = "create image update flux-system --git-repo-ref=flux-system --checkout-branch=main --author-name=flux --author-email=flux@example.com --interval=1m0s --namespace=flux-system";
    let head = "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  git:\n    checkout:\n      ref:\n        branch: main\n    commit:\n      author:\n        email: flux@example.com\n        name: flux\n";
    let tail = "  interval: 1m0s\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    assert_eq!(export(&format!("{base} --export")), format!("{head}{tail}"));
    assert_eq!(
        export(&format!("{base} --signing-key-secret=my-key --export")),
        format!("{head}      signingKey:\n        secretRef:\n          name: my-key\n{tail}")
    );
    let out = export(&format!(
        "{base} --signing-key-secret=my-deploy-key --signing-key-type=ssh --export"
    ));
    assert_eq!(
        out,
        format!(
            "{head}      signingKey:\n        secretRef:\n          name: my-deploy-key\n        type: ssh\n{tail}"
        )
    );
    let _: flux_api::ImageUpdateAutomation = parse(&out);
    let out = export(&format!(
        "{base} --git-repo-path=./clusters/prod --push-branch=auto --commit-template=bump --export"
    ));
    assert!(out.contains("      messageTemplate: bump\n"), "{out}");
    assert!(out.contains("    push:\n      branch: auto\n"), "{out}");
    assert!(
        out.contains("  update:\n    path: ./clusters/prod\n    strategy: Setters\n"),
        "{out}"
    );
}

const TENANT_NAMESPACE: &str = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\n  name: apps\n";

fn tenant_rest(account: &str, role: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\n  name: {account}\n  namespace: apps\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\n  name: dev-team-reconciler\n  namespace: apps\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {role}\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: gotk:apps:reconciler\n- kind: ServiceAccount\n  name: {account}\n  namespace: apps\n"
    )
}

#[test]
fn tenant_goldens_by_spec() {
    let base = "create tenant dev-team --with-namespace=apps";
    assert_eq!(
        export(&format!("{base} --cluster-role=cluster-admin --export")),
        format!(
            "{TENANT_NAMESPACE}{}",
            tenant_rest("dev-team", "cluster-admin")
        )
    );
    assert_eq!(
        export(&format!(
            "{base} --cluster-role=cluster-admin --with-service-account=flux-tenant --export"
        )),
        format!(
            "{TENANT_NAMESPACE}{}",
            tenant_rest("flux-tenant", "cluster-admin")
        )
    );
    assert_eq!(
        export(&format!("{base} --cluster-role=custom-role --export")),
        format!(
            "{TENANT_NAMESPACE}{}",
            tenant_rest("dev-team", "custom-role")
        )
    );
    let out = export(&format!(
        "{base} --cluster-role=cluster-admin --skip-namespace --export"
    ));
    assert_eq!(out, tenant_rest("dev-team", "cluster-admin"));
    let docs: Vec<serde_json::Value> = flux_rs::render::yaml::from_str_multi(&out).unwrap();
    let binding: k8s_openapi::api::rbac::v1::RoleBinding =
        serde_json::from_value(docs[1].clone()).unwrap();
    assert_eq!(binding.subjects.unwrap().len(), 2);
}

#[test]
fn kubeconfig_secret_ref_targets_a_remote_cluster() {
    for args in [
        "create ks podinfo --source=tkfg --kubeconfig-secret-ref=prod-kubeconfig --export",
        "create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --kubeconfig-secret-ref=prod-kubeconfig --export",
    ] {
        let out = export(args);
        assert!(
            out.contains("  kubeConfig:\n    secretRef:\n      name: prod-kubeconfig\n"),
            "{args}: {out}"
        );
        assert!(!export(&args.replace("prod-kubeconfig", "")).contains("kubeConfig"));
    }
}
