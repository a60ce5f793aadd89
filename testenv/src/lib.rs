//! Local Kubernetes API server with simulated Flux controllers.
