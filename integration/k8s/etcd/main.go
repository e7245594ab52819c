// Command etcd is etcd, built from its Go module for tests that need a real
// cluster API on loopback.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
