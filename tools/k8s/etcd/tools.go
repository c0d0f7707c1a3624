//go:build tools

// Package tools names etcdctl, built from this module by scripts/kube-testenv
// (go build go.etcd.io/etcd/etcdctl/v3), so that go mod tidy keeps what it
// needs.
package tools

import _ "go.etcd.io/etcd/etcdctl/v3"
