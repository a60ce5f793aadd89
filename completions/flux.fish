# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_flux_global_optspecs
    string join \n v/version n/namespace= timeout= verbose= ns-follows-kube-context= kubeconfig= context= cluster= user= server= tls-server-name= insecure-skip-tls-verify= certificate-authority= client-certificate= client-key= token= as= as-group= as-uid= disable-compression= kube-api-qps= kube-api-burst= h/help
end

function __fish_flux_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_flux_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_flux_using_subcommand
    set -l cmd (__fish_flux_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c flux -n "__fish_flux_needs_command" -s n -l namespace -d 'The namespace scope for this operation [default: flux-system, or $FLUX_SYSTEM_NAMESPACE]' -r
complete -c flux -n "__fish_flux_needs_command" -l timeout -d 'Timeout for this operation, in Go duration syntax (e.g. 90s, 5m0s, 1h30m)' -r
complete -c flux -n "__fish_flux_needs_command" -l verbose -d 'Print the generated objects' -r
complete -c flux -n "__fish_flux_needs_command" -l ns-follows-kube-context -d 'Use the namespace of the current kubeconfig context when --namespace is not given' -r
complete -c flux -n "__fish_flux_needs_command" -l kubeconfig -d 'Path to the kubeconfig file' -r
complete -c flux -n "__fish_flux_needs_command" -l context -d 'The name of the kubeconfig context to use' -r
complete -c flux -n "__fish_flux_needs_command" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c flux -n "__fish_flux_needs_command" -l user -d 'The name of the kubeconfig user to use' -r
complete -c flux -n "__fish_flux_needs_command" -l server -d 'The address and port of the Kubernetes API server' -r
complete -c flux -n "__fish_flux_needs_command" -l tls-server-name -d 'Server name to use for server certificate validation' -r
complete -c flux -n "__fish_flux_needs_command" -l insecure-skip-tls-verify -d 'Do not verify the server\'s certificate (insecure)' -r
complete -c flux -n "__fish_flux_needs_command" -l certificate-authority -d 'Path to a CA certificate file for the API server' -r
complete -c flux -n "__fish_flux_needs_command" -l client-certificate -d 'Path to a client certificate file for TLS' -r
complete -c flux -n "__fish_flux_needs_command" -l client-key -d 'Path to a client key file for TLS' -r
complete -c flux -n "__fish_flux_needs_command" -l token -d 'Bearer token for authentication to the API server' -r
complete -c flux -n "__fish_flux_needs_command" -l as -d 'Username to impersonate for the operation' -r
complete -c flux -n "__fish_flux_needs_command" -l as-group -d 'Group to impersonate for the operation; repeat for several groups' -r
complete -c flux -n "__fish_flux_needs_command" -l as-uid -d 'UID to impersonate for the operation' -r
complete -c flux -n "__fish_flux_needs_command" -l disable-compression -d 'Disable response compression for requests to the server' -r
complete -c flux -n "__fish_flux_needs_command" -l kube-api-qps -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_needs_command" -l kube-api-burst -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_needs_command" -s v -l version -d 'Print the CLI version and exit'
complete -c flux -n "__fish_flux_needs_command" -s h -l help -d 'Print help'
complete -c flux -n "__fish_flux_needs_command" -f -a "install" -d 'Install or export the Flux components'
complete -c flux -n "__fish_flux_needs_command" -f -a "version" -d 'Print the version of the CLI and of the Flux components'
complete -c flux -n "__fish_flux_needs_command" -f -a "completion" -d 'Generate shell completion scripts'
complete -c flux -n "__fish_flux_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flux -n "__fish_flux_using_subcommand install" -l export -d 'Print the manifests to stdout instead of applying them (required in this release)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -s v -l version -d 'Flux version to render; this binary embeds one distribution (see `flux version --client`)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l components -d 'Controllers to install' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l components-extra -d 'Extra controllers to install: image-reflector-controller, image-automation-controller, source-watcher' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l registry -d 'Container registry to pull the controller images from' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l registry-creds -d 'Registry credentials as user:password, stored in the --image-pull-secret Secret on install' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l image-pull-secret -d 'Name of the Secret the controllers use to pull their images' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l watch-all-namespaces -d 'Make the controllers watch objects in every namespace (false: only their own namespace)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l network-policy -d 'Restrict network access to the Flux namespace with NetworkPolicies' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l log-level -d 'Log level of the controllers: debug, info or error' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l cluster-domain -d 'Internal domain name of the cluster' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l toleration-keys -d 'Taint keys the controllers tolerate (operator Exists)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -s n -l namespace -d 'The namespace scope for this operation [default: flux-system, or $FLUX_SYSTEM_NAMESPACE]' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l timeout -d 'Timeout for this operation, in Go duration syntax (e.g. 90s, 5m0s, 1h30m)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l verbose -d 'Print the generated objects' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l ns-follows-kube-context -d 'Use the namespace of the current kubeconfig context when --namespace is not given' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l kubeconfig -d 'Path to the kubeconfig file' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l context -d 'The name of the kubeconfig context to use' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l user -d 'The name of the kubeconfig user to use' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l server -d 'The address and port of the Kubernetes API server' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l tls-server-name -d 'Server name to use for server certificate validation' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l insecure-skip-tls-verify -d 'Do not verify the server\'s certificate (insecure)' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l certificate-authority -d 'Path to a CA certificate file for the API server' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l client-certificate -d 'Path to a client certificate file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l client-key -d 'Path to a client key file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l token -d 'Bearer token for authentication to the API server' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l as -d 'Username to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l as-group -d 'Group to impersonate for the operation; repeat for several groups' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l as-uid -d 'UID to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l disable-compression -d 'Disable response compression for requests to the server' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l kube-api-qps -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand install" -l kube-api-burst -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand install" -s h -l help -d 'Print help'
complete -c flux -n "__fish_flux_using_subcommand version" -l client -d 'Print only what is built into this binary; do not contact the cluster' -r
complete -c flux -n "__fish_flux_using_subcommand version" -s o -l output -d 'Output format' -r -f -a "yaml\t''
json\t''"
complete -c flux -n "__fish_flux_using_subcommand version" -s n -l namespace -d 'The namespace scope for this operation [default: flux-system, or $FLUX_SYSTEM_NAMESPACE]' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l timeout -d 'Timeout for this operation, in Go duration syntax (e.g. 90s, 5m0s, 1h30m)' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l verbose -d 'Print the generated objects' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l ns-follows-kube-context -d 'Use the namespace of the current kubeconfig context when --namespace is not given' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l context -d 'The name of the kubeconfig context to use' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l user -d 'The name of the kubeconfig user to use' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l server -d 'The address and port of the Kubernetes API server' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l tls-server-name -d 'Server name to use for server certificate validation' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l insecure-skip-tls-verify -d 'Do not verify the server\'s certificate (insecure)' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l certificate-authority -d 'Path to a CA certificate file for the API server' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l client-certificate -d 'Path to a client certificate file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l client-key -d 'Path to a client key file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l token -d 'Bearer token for authentication to the API server' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l as -d 'Username to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l as-group -d 'Group to impersonate for the operation; repeat for several groups' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l as-uid -d 'UID to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l disable-compression -d 'Disable response compression for requests to the server' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l kube-api-qps -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand version" -l kube-api-burst -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand version" -s h -l help -d 'Print help'
complete -c flux -n "__fish_flux_using_subcommand completion" -s n -l namespace -d 'The namespace scope for this operation [default: flux-system, or $FLUX_SYSTEM_NAMESPACE]' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l timeout -d 'Timeout for this operation, in Go duration syntax (e.g. 90s, 5m0s, 1h30m)' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l verbose -d 'Print the generated objects' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l ns-follows-kube-context -d 'Use the namespace of the current kubeconfig context when --namespace is not given' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l context -d 'The name of the kubeconfig context to use' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l user -d 'The name of the kubeconfig user to use' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l server -d 'The address and port of the Kubernetes API server' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l tls-server-name -d 'Server name to use for server certificate validation' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l insecure-skip-tls-verify -d 'Do not verify the server\'s certificate (insecure)' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l certificate-authority -d 'Path to a CA certificate file for the API server' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l client-certificate -d 'Path to a client certificate file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l client-key -d 'Path to a client key file for TLS' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l token -d 'Bearer token for authentication to the API server' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l as -d 'Username to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l as-group -d 'Group to impersonate for the operation; repeat for several groups' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l as-uid -d 'UID to impersonate for the operation' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l disable-compression -d 'Disable response compression for requests to the server' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l kube-api-qps -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -l kube-api-burst -d 'Accepted for compatibility with upstream scripts; flux-rs does not throttle requests' -r
complete -c flux -n "__fish_flux_using_subcommand completion" -s h -l help -d 'Print help'
complete -c flux -n "__fish_flux_using_subcommand help; and not __fish_seen_subcommand_from install version completion help" -f -a "install" -d 'Install or export the Flux components'
complete -c flux -n "__fish_flux_using_subcommand help; and not __fish_seen_subcommand_from install version completion help" -f -a "version" -d 'Print the version of the CLI and of the Flux components'
complete -c flux -n "__fish_flux_using_subcommand help; and not __fish_seen_subcommand_from install version completion help" -f -a "completion" -d 'Generate shell completion scripts'
complete -c flux -n "__fish_flux_using_subcommand help; and not __fish_seen_subcommand_from install version completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
