// Command etcd is etcd's server, as etcd's own main package (the root module
// go.etcd.io/etcd/v3, which the Go module proxy does not serve) builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
