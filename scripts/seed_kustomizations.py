#!/usr/bin/env python3
"""Creates N Kustomizations (with a Ready status) across 10 namespaces, for
benchmarks. Talks to the API server named in a kubeconfig written by
flux-testenv (bearer token + inline CA), over one keep-alive connection.

    python3 scripts/seed_kustomizations.py KUBECONFIG N
"""

import base64
import http.client
import json
import re
import ssl
import sys
import tempfile


def kubeconfig(path):
    text = open(path).read()
    server = re.search(r"server: https://([^\s]+)", text).group(1)
    ca = base64.b64decode(re.search(r"certificate-authority-data: (\S+)", text).group(1))
    token = re.search(r"token: (\S+)", text).group(1)
    return server, ca, token


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    server, ca, token = kubeconfig(path)
    host, port = server.rsplit(":", 1)
    with tempfile.NamedTemporaryFile(suffix=".pem") as ca_file:
        ca_file.write(ca)
        ca_file.flush()
        context = ssl.create_default_context(cafile=ca_file.name)
        conn = http.client.HTTPSConnection(host, int(port), context=context)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

        def send(method, url, body):
            conn.request(method, url, json.dumps(body), headers)
            response = conn.getresponse()
            data = response.read()
            if response.status >= 300 and response.status != 409:
                sys.exit("%s %s: %d %s" % (method, url, response.status, data[:200]))

        namespaces = ["bench-%d" % i for i in range(10)]
        for ns in namespaces:
            send("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        base = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/%s/kustomizations"
        revision = "main@sha1:" + "0123456789abcdef" * 2 + "01234567"
        for i in range(count):
            ns = namespaces[i % len(namespaces)]
            name = "app-%05d" % i
            send("POST", base % ns, {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"interval": "10m", "path": "./apps/" + name, "prune": True,
                         "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}},
            })
            send("PUT", (base % ns) + "/" + name + "/status", {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": ns},
                "status": {"observedGeneration": 1, "lastAppliedRevision": revision,
                           "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                           "message": "Applied revision: " + revision,
                                           "lastTransitionTime": "2026-11-01T00:00:00Z", "observedGeneration": 1}]},
            })


if __name__ == "__main__":
    main()
